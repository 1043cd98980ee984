"""`custom_model`: the backbone users edit to bring their own architecture (seed README §5.4).

Select it with `model.model_name: custom_model`; every other key of the `model` section that
reidtool does not use itself (for example `alpha`) is passed to `custom_model()` as a keyword
argument. To add an argument, add it to the function's signature below; unknown keys are
rejected with an error naming them, so a misspelt key never passes silently.

Rules for your edits:
- Return a `keras.Model` whose output is a 4-D feature map (batch, height, width, channels).
  reidtool adds the rest: Rescaling in front, global average pooling, the optional embedding
  layer and BNNeck, and the classifier for training.
- Build on `input_tensor` when it is given (see the two lines marked below) so the training
  model stays one flat graph.
- Use layers that quantize to int8 TFLite builtins (Conv2D, DepthwiseConv2D, BatchNormalization,
  ReLU/ReLU6, Add, Multiply, MaxPooling2D, AveragePooling2D, ...); the code generator runs the
  result on the board.

Example (config):
    model:
      model_name: custom_model
      input_shape: (256, 128, 3)
      alpha: 0.5
"""

from __future__ import annotations

import keras
from keras import layers

from toolchain.models.registry import register_model, reject_unknown


@register_model("custom_model", min_size=8)
def custom_model(input_shape, *, input_tensor=None, alpha: float = 1.0, **kwargs) -> keras.Model:
    """A small VGG-like backbone: three conv + BN + ReLU stages with max pooling. Edit me.

    Args:
        input_shape: (height, width, channels) of the rescaled image.
        input_tensor: upstream tensor to build on, or None for a stand-alone model.
        alpha: width multiplier applied to the stage widths (16, 32, 64).
        **kwargs: any other `model.*` key; rejected until you add it to the signature.

    Returns:
        A model mapping (H, W, C) to an (H/8, W/8, 64·alpha) feature map.
    """
    reject_unknown("custom_model", kwargs)
    if float(alpha) <= 0:
        raise ValueError(f"alpha must be positive, received alpha={alpha}")
    widths = [max(4, int(round(w * float(alpha)))) for w in (16, 32, 64)]
    inputs = (
        keras.Input(shape=input_shape, name="image") if input_tensor is None else input_tensor
    )  # keep
    x = inputs
    for i, width in enumerate(widths):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"custom_conv{i}")(x)
        x = layers.BatchNormalization(name=f"custom_bn{i}")(x)
        x = layers.ReLU(name=f"custom_relu{i}")(x)
        x = layers.MaxPooling2D(2, name=f"custom_pool{i}")(x)
    sources = (
        [inputs] if input_tensor is None else keras.utils.get_source_inputs(input_tensor)
    )  # keep
    return keras.Model(sources, x, name="custom_model")
