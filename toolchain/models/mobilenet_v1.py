"""MobileNetV1 backbones (`mobilenetv1_a025` … `mobilenetv1_a100`), from keras.applications.

Depthwise-separable convolutions with ReLU6; quantizes to CONV_2D, DEPTHWISE_CONV_2D and PAD.
Built with `include_top=False` (output: the last pointwise convolution's feature map, 1024·α
channels). ImageNet weights exist for α 0.25, 0.5, 0.75 and 1.0.

Example:
    backbone = MODELS.get("mobilenetv1_a025")((256, 128, 3))
"""

from __future__ import annotations

import keras

from toolchain.models.batch_norm import set_batchnorm_momentum
from toolchain.models.registry import fixed_alpha, register_model, reject_unknown


def _imagenet_file(alpha_text: str):
    """Keras' cache file name of the no-top ImageNet weights (224 rows unless square 128..224)."""

    def file_name(input_shape) -> str:
        rows, cols = int(input_shape[0]), int(input_shape[1])
        if rows != cols or rows not in (128, 160, 192, 224):
            rows = 224
        return f"mobilenet_{alpha_text}_{rows}_tf_no_top.h5"

    return file_name


def _mobilenet_v1(
    name: str, alpha_of_name: float, input_shape, input_tensor, weights, alpha, kwargs
):
    reject_unknown(name, kwargs)
    alpha = fixed_alpha(name, alpha_of_name, alpha)
    backbone = keras.applications.MobileNet(
        input_shape=tuple(input_shape),
        alpha=alpha,
        include_top=False,
        weights=weights,
        input_tensor=input_tensor,
        name=name,
    )
    return set_batchnorm_momentum(backbone)  # BN_MOMENTUM whatever keras uses: batch_norm.py


@register_model("mobilenetv1_a025", imagenet=_imagenet_file("2_5"), min_size=32)
def mobilenetv1_a025(input_shape, *, input_tensor=None, weights=None, alpha=None, **kwargs):
    """MobileNetV1 with width multiplier 0.25."""
    return _mobilenet_v1(
        "mobilenetv1_a025", 0.25, input_shape, input_tensor, weights, alpha, kwargs
    )


@register_model("mobilenetv1_a050", imagenet=_imagenet_file("5_0"), min_size=32)
def mobilenetv1_a050(input_shape, *, input_tensor=None, weights=None, alpha=None, **kwargs):
    """MobileNetV1 with width multiplier 0.5."""
    return _mobilenet_v1("mobilenetv1_a050", 0.5, input_shape, input_tensor, weights, alpha, kwargs)


@register_model("mobilenetv1_a075", imagenet=_imagenet_file("7_5"), min_size=32)
def mobilenetv1_a075(input_shape, *, input_tensor=None, weights=None, alpha=None, **kwargs):
    """MobileNetV1 with width multiplier 0.75."""
    return _mobilenet_v1(
        "mobilenetv1_a075", 0.75, input_shape, input_tensor, weights, alpha, kwargs
    )


@register_model("mobilenetv1_a100", imagenet=_imagenet_file("1_0"), min_size=32)
def mobilenetv1_a100(input_shape, *, input_tensor=None, weights=None, alpha=None, **kwargs):
    """MobileNetV1 with width multiplier 1.0."""
    return _mobilenet_v1("mobilenetv1_a100", 1.0, input_shape, input_tensor, weights, alpha, kwargs)
