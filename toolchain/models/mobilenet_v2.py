"""MobileNetV2 backbones (`mobilenetv2_a035` … `mobilenetv2_a140`), from keras.applications.

The zoo's default ReID backbone: inverted residual blocks with linear bottlenecks and ReLU6,
all of which quantize to int8 TFLite builtins (CONV_2D, DEPTHWISE_CONV_2D, ADD, PAD). Built
with `include_top=False`, so the output is the last 1x1 convolution's feature map (1280
channels for alpha ≤ 1.0, as keras does). ImageNet weights exist for every alpha.
keras builds its BatchNormalization layers with momentum 0.999; the builder sets
`batch_norm.BN_MOMENTUM` (0.99) instead, so the moving statistics used in inference mode
follow training ten times faster (see `toolchain.models.batch_norm`).

Example:
    backbone = MODELS.get("mobilenetv2_a035")((256, 128, 3))
"""

from __future__ import annotations

import keras

from toolchain.models.batch_norm import set_batchnorm_momentum
from toolchain.models.registry import fixed_alpha, register_model, reject_unknown


def _imagenet_file(alpha: float):
    """Keras' cache file name of the no-top ImageNet weights (224 rows unless square 96..224)."""

    def file_name(input_shape) -> str:
        rows, cols = int(input_shape[0]), int(input_shape[1])
        if rows != cols or rows not in (96, 128, 160, 192, 224):
            rows = 224
        return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}_no_top.h5"

    return file_name


def _mobilenet_v2(
    name: str, alpha_of_name: float, input_shape, input_tensor, weights, alpha, kwargs
):
    reject_unknown(name, kwargs)
    alpha = fixed_alpha(name, alpha_of_name, alpha)
    backbone = keras.applications.MobileNetV2(
        input_shape=tuple(input_shape),
        alpha=alpha,
        include_top=False,
        weights=weights,
        input_tensor=input_tensor,
        name=name,
    )
    return set_batchnorm_momentum(backbone)  # keras' 0.999 lags training: batch_norm.py


@register_model("mobilenetv2_a035", imagenet=_imagenet_file(0.35), min_size=32)
def mobilenetv2_a035(input_shape, *, input_tensor=None, weights=None, alpha=None, **kwargs):
    """MobileNetV2 with width multiplier 0.35 (the seed's default model)."""
    return _mobilenet_v2(
        "mobilenetv2_a035", 0.35, input_shape, input_tensor, weights, alpha, kwargs
    )


@register_model("mobilenetv2_a050", imagenet=_imagenet_file(0.5), min_size=32)
def mobilenetv2_a050(input_shape, *, input_tensor=None, weights=None, alpha=None, **kwargs):
    """MobileNetV2 with width multiplier 0.5."""
    return _mobilenet_v2("mobilenetv2_a050", 0.5, input_shape, input_tensor, weights, alpha, kwargs)


@register_model("mobilenetv2_a075", imagenet=_imagenet_file(0.75), min_size=32)
def mobilenetv2_a075(input_shape, *, input_tensor=None, weights=None, alpha=None, **kwargs):
    """MobileNetV2 with width multiplier 0.75."""
    return _mobilenet_v2(
        "mobilenetv2_a075", 0.75, input_shape, input_tensor, weights, alpha, kwargs
    )


@register_model("mobilenetv2_a100", imagenet=_imagenet_file(1.0), min_size=32)
def mobilenetv2_a100(input_shape, *, input_tensor=None, weights=None, alpha=None, **kwargs):
    """MobileNetV2 with width multiplier 1.0."""
    return _mobilenet_v2("mobilenetv2_a100", 1.0, input_shape, input_tensor, weights, alpha, kwargs)


@register_model("mobilenetv2_a130", imagenet=_imagenet_file(1.3), min_size=32)
def mobilenetv2_a130(input_shape, *, input_tensor=None, weights=None, alpha=None, **kwargs):
    """MobileNetV2 with width multiplier 1.3."""
    return _mobilenet_v2("mobilenetv2_a130", 1.3, input_shape, input_tensor, weights, alpha, kwargs)


@register_model("mobilenetv2_a140", imagenet=_imagenet_file(1.4), min_size=32)
def mobilenetv2_a140(input_shape, *, input_tensor=None, weights=None, alpha=None, **kwargs):
    """MobileNetV2 with width multiplier 1.4."""
    return _mobilenet_v2("mobilenetv2_a140", 1.4, input_shape, input_tensor, weights, alpha, kwargs)
