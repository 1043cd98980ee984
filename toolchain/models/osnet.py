"""OSNet backbones (`osnet_a025` … `osnet_a100`): omni-scale residual blocks in Keras.

OSNet (Zhou et al., "Omni-Scale Feature Learning for Person Re-Identification", ICCV 2019) is
the ReID-specific architecture of the zoo. Each block runs four streams of 1, 2, 3 and 4
"lite" 3x3 convolutions (1x1 conv → depthwise 3x3 → BN → ReLU) over a 1x1 reduction, and fuses
them with the unified aggregation gate: one channel gate, its weights shared by the four
streams, scales each stream before they are summed.

Built only from layers that convert to int8 TFLite builtins: the gate is
GlobalAveragePooling2D(keepdims=True) → 1x1 conv → ReLU → 1x1 conv → sigmoid → multiply
(MEAN, CONV_2D, LOGISTIC, MUL), the stem's max pooling is MAX_POOL_2D and the transitions'
2x2 average pooling is AVERAGE_POOL_2D. The network downsamples by 16 (stem conv, max pool,
two transitions), so it accepts inputs from 16x16 up.

Channel widths follow torchreid and the seed: alpha 1.0 → (64, 256, 384, 512), scaled
linearly for 0.75, 0.5 and 0.25; two blocks per stage.

Example:
    backbone = MODELS.get("osnet_a025")((256, 128, 3))    # output (None, 16, 8, 128)
"""

from __future__ import annotations

import keras
from keras import layers

from toolchain.models.registry import fixed_alpha, register_model, reject_unknown

_BASE_CHANNELS = (64, 256, 384, 512)
_BLOCKS_PER_STAGE = (2, 2, 2)
_GATE_REDUCTION = 16


def _conv_bn_relu(x, filters: int, kernel: int, name: str, stride: int = 1, relu: bool = True):
    x = layers.Conv2D(
        filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv"
    )(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def _light_conv3x3(x, filters: int, name: str):
    """1x1 conv (linear) → depthwise 3x3 → BN → ReLU (torchreid's LightConv3x3)."""
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_pw")(x)
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


class _ChannelGate:
    """The unified aggregation gate: one set of layers applied to every stream (shared weights)."""

    def __init__(self, channels: int, name: str):
        hidden = max(1, channels // _GATE_REDUCTION)
        self.pool = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_pool")
        self.fc1 = layers.Conv2D(hidden, 1, use_bias=True, name=f"{name}_fc1")
        self.relu = layers.ReLU(name=f"{name}_relu")
        self.fc2 = layers.Conv2D(channels, 1, use_bias=True, name=f"{name}_fc2")
        self.sigmoid = layers.Activation("sigmoid", name=f"{name}_sigmoid")
        self.name = name

    def __call__(self, x, stream: int):
        g = self.sigmoid(self.fc2(self.relu(self.fc1(self.pool(x)))))
        return layers.Multiply(name=f"{self.name}_mul{stream}")([x, g])


def _os_block(x, in_channels: int, out_channels: int, name: str):
    """One omni-scale residual block (torchreid's OSBlock with the unified aggregation gate)."""
    mid = max(1, out_channels // 4)
    residual = x
    x1 = _conv_bn_relu(x, mid, 1, f"{name}_reduce")
    gate = _ChannelGate(mid, f"{name}_gate")
    streams = []
    for depth in range(1, 5):  # streams of 1, 2, 3 and 4 lite convolutions
        s = x1
        for k in range(depth):
            s = _light_conv3x3(s, mid, f"{name}_s{depth}_{k}")
        streams.append(gate(s, depth))
    fused = layers.Add(name=f"{name}_fuse")(streams)
    out = _conv_bn_relu(fused, out_channels, 1, f"{name}_expand", relu=False)
    if in_channels != out_channels:
        residual = _conv_bn_relu(residual, out_channels, 1, f"{name}_downsample", relu=False)
    out = layers.Add(name=f"{name}_add")([out, residual])
    return layers.ReLU(name=f"{name}_out_relu")(out)


def build_osnet(name: str, alpha: float, input_shape, input_tensor=None) -> keras.Model:
    """Build OSNet with width multiplier `alpha` (channels scaled from torchreid's x1.0)."""
    channels = [max(4, int(round(c * alpha))) for c in _BASE_CHANNELS]
    inputs = keras.Input(shape=input_shape, name="image") if input_tensor is None else input_tensor
    x = _conv_bn_relu(inputs, channels[0], 7, "conv1", stride=2)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="conv1_maxpool")(x)
    in_ch = channels[0]
    for stage, num_blocks in enumerate(_BLOCKS_PER_STAGE):
        out_ch = channels[stage + 1]
        for b in range(num_blocks):
            x = _os_block(x, in_ch, out_ch, f"conv{stage + 2}_{b}")
            in_ch = out_ch
        if stage < len(_BLOCKS_PER_STAGE) - 1:  # transition: 1x1 conv + 2x2 average pooling
            x = _conv_bn_relu(x, out_ch, 1, f"conv{stage + 2}_transition")
            x = layers.AveragePooling2D(2, strides=2, name=f"conv{stage + 2}_avgpool")(x)
    x = _conv_bn_relu(x, channels[-1], 1, "conv5")
    sources = [inputs] if input_tensor is None else keras.utils.get_source_inputs(input_tensor)
    return keras.Model(sources, x, name=name)


@register_model("osnet_a025", min_size=16)
def osnet_a025(input_shape, *, input_tensor=None, alpha=None, **kwargs):
    """OSNet x0.25: channels (16, 64, 96, 128)."""
    reject_unknown("osnet_a025", kwargs)
    return build_osnet(
        "osnet_a025", fixed_alpha("osnet_a025", 0.25, alpha), input_shape, input_tensor
    )


@register_model("osnet_a050", min_size=16)
def osnet_a050(input_shape, *, input_tensor=None, alpha=None, **kwargs):
    """OSNet x0.5: channels (32, 128, 192, 256)."""
    reject_unknown("osnet_a050", kwargs)
    return build_osnet(
        "osnet_a050", fixed_alpha("osnet_a050", 0.5, alpha), input_shape, input_tensor
    )


@register_model("osnet_a075", min_size=16)
def osnet_a075(input_shape, *, input_tensor=None, alpha=None, **kwargs):
    """OSNet x0.75: channels (48, 192, 288, 384)."""
    reject_unknown("osnet_a075", kwargs)
    return build_osnet(
        "osnet_a075", fixed_alpha("osnet_a075", 0.75, alpha), input_shape, input_tensor
    )


@register_model("osnet_a100", min_size=16)
def osnet_a100(input_shape, *, input_tensor=None, alpha=None, **kwargs):
    """OSNet x1.0: channels (64, 256, 384, 512)."""
    reject_unknown("osnet_a100", kwargs)
    return build_osnet(
        "osnet_a100", fixed_alpha("osnet_a100", 1.0, alpha), input_shape, input_tensor
    )
