"""BatchNormalization momentum of the zoo's keras.applications backbones: `BN_MOMENTUM` = 0.99.

A BatchNormalization layer normalizes with the batch's statistics in training mode and with its
moving averages in inference mode (evaluation, export, the board). After each training step
`moving = momentum · moving + (1 − momentum) · batch`, so after `n` steps a fraction
`momentum ** n` of the initial statistics (mean 0, variance 1) is left. keras.applications
builds MobileNetV2 with momentum 0.999 (the ImageNet recipe, hundreds of thousands of steps):
trained from scratch for 24 epochs of 31 steps on TGC2020, 0.999 ** 744 ≈ 0.47 of the initial
statistics remained, every crop mapped to one vector in inference mode and the figures were
chance (docs/results.md). Keras' own default, 0.99 (PyTorch's and torchreid's `momentum=0.1`
counts the other way: Keras 0.9), leaves 0.99 ** 744 ≈ 6e-4.

The zoo's keras.applications builders (MobileNetV1, MobileNetV2, ResNet50V2) therefore set
`BN_MOMENTUM` on every BatchNormalization layer after construction: the weights and moving
statistics are untouched, so ImageNet or local pretrained weights still load, and only how fast
the statistics follow training changes. MobileNetV1 and ResNet50V2 already use 0.99 in keras
(so nothing changes for them today); the zoo's own models (OSNet, tinynet, custom_model) use
keras' default 0.99 already and are not touched. A user model (`model.model_path`) keeps its own.

Example:
    backbone = keras.applications.MobileNetV2(input_shape=(256, 128, 3), weights=None)
    set_batchnorm_momentum(backbone)      # 52 layers: 0.999 → 0.99
"""

from __future__ import annotations

import keras

from toolchain.errors import ModelError

#: Momentum of every BatchNormalization layer in a zoo backbone built from keras.applications
#: (keras' default; PyTorch / torchreid's 0.1 is keras' 0.9).
BN_MOMENTUM = 0.99


def batchnorm_layers(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    """Every BatchNormalization layer of `model`, nested models included, in layer order."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        elif isinstance(layer, keras.Model):
            found.extend(batchnorm_layers(layer))
    return found


def set_batchnorm_momentum(model: keras.Model, momentum: float = BN_MOMENTUM) -> keras.Model:
    """Set `momentum` on every BatchNormalization layer of `model` (in place) and return it.

    Set it before the model is compiled and trained: keras reads the attribute when it traces
    the training step. The layer config (and so a saved `.keras` file) records the new value.

    Args:
        model: a built keras model, e.g. a keras.applications backbone.
        momentum: the moving-average momentum, in [0, 1).

    Returns:
        `model`, for chaining in a builder's `return`.

    Raises:
        ModelError: `momentum` outside [0, 1).
    """
    if not 0.0 <= float(momentum) < 1.0:
        raise ModelError(
            f"BatchNormalization momentum of {model.name}: expected a value in [0, 1), "
            f"received {momentum}"
        )
    for layer in batchnorm_layers(model):
        layer.momentum = float(momentum)
    return model
