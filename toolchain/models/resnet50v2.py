"""ResNet50V2 backbone (`resnet50v2`), from keras.applications.

The zoo's large reference model: pre-activation bottleneck residual blocks (CONV_2D, ADD,
MAX_POOL_2D, PAD after int8 conversion). Built with `include_top=False`: the output is the
2048-channel map after the final BatchNormalization + ReLU. ImageNet weights exist.

Example:
    backbone = MODELS.get("resnet50v2")((256, 128, 3))
"""

from __future__ import annotations

import keras

from toolchain.models.batch_norm import set_batchnorm_momentum
from toolchain.models.registry import register_model, reject_unknown


@register_model(
    "resnet50v2",
    imagenet=lambda input_shape: "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
    min_size=32,
)
def resnet50v2(input_shape, *, input_tensor=None, weights=None, **kwargs):
    """ResNet50V2 without its classifier."""
    reject_unknown("resnet50v2", kwargs)
    backbone = keras.applications.ResNet50V2(
        include_top=False,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=tuple(input_shape),
        name="resnet50v2",
    )
    return set_batchnorm_momentum(backbone)  # BN_MOMENTUM whatever keras uses: batch_norm.py
