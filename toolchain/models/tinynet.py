"""TinyNet: the walking skeleton's tiny embedder, a few MobileNet-style blocks.

It exists to exercise the whole chain (train → int8 → generated C → board) in seconds at
64x32 inputs, so it uses only the ops the code generator supports first. After conversion to
int8 TFLite it holds CONV_2D, DEPTHWISE_CONV_2D and ADD (the one residual connection), with
ReLU6 fused into the convolutions and BatchNormalization folded into their weights; the
embedder adds MEAN, RESHAPE and optionally FULLY_CONNECTED, and the Rescaling layer becomes
MUL/ADD. Stride-2 convolutions use "same" padding so no PAD op appears.

Example:
    backbone = tinynet((64, 32, 3))      # output (None, 8, 4, 64)
"""

from __future__ import annotations

import keras
from keras import layers

from toolchain.models.registry import register_model, reject_unknown


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, relu: bool = True):
    x = layers.Conv2D(
        filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv"
    )(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu6")(x) if relu else x


def _dw_bn(x, stride: int, name: str):
    x = layers.DepthwiseConv2D(
        3, strides=stride, padding="same", use_bias=False, name=f"{name}_dw"
    )(x)
    x = layers.BatchNormalization(name=f"{name}_dw_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_dw_relu6")(x)


@register_model("tinynet", min_size=8)
def tinynet(input_shape, *, input_tensor=None, channels=(16, 32, 64), **kwargs) -> keras.Model:
    """Build TinyNet: stem conv, one residual block, two downsampling separable blocks.

    Args:
        input_shape: (height, width, channels) of the rescaled image.
        input_tensor: optional upstream tensor to build on.
        channels: output channels of the stem and the two downsampling blocks
            (`model.channels` in the config).

    Returns:
        A model mapping (H, W, C) to an (H/8, W/8, channels[-1]) feature map.
    """
    reject_unknown("tinynet", kwargs)
    if len(channels) != 3 or any(int(c) <= 0 for c in channels):
        raise ValueError(f"channels must be 3 positive integers, received {channels!r}")
    c0, c1, c2 = (int(c) for c in channels)
    inputs = keras.Input(shape=input_shape, name="image") if input_tensor is None else input_tensor
    x = _conv_bn(inputs, c0, 3, 2, "stem")
    # Residual block (linear bottleneck, as in MobileNetV2): dw 3x3 -> 1x1 conv, then ADD.
    y = _dw_bn(x, 1, "block1")
    y = _conv_bn(y, c0, 1, 1, "block1_project", relu=False)
    x = layers.Add(name="block1_add")([x, y])
    x = _dw_bn(x, 2, "block2")
    x = _conv_bn(x, c1, 1, 1, "block2_project")
    x = _dw_bn(x, 2, "block3")
    x = _conv_bn(x, c2, 1, 1, "block3_project")
    sources = [inputs] if input_tensor is None else keras.utils.get_source_inputs(input_tensor)
    return keras.Model(sources, x, name="tinynet")
