"""One emitter module per TFLite op; importing this package fills the `OPS` registry."""

from toolchain.codegen.ops import (  # noqa: F401
    add,
    concatenation,
    conv_2d,
    depthwise_conv_2d,
    dequantize,
    fully_connected,
    l2_normalization,
    lut,
    mean,
    mul,
    pad,
    pool,
    quantize,
    reshape,
    sub,
)
from toolchain.codegen.ops.base import OPS

__all__ = ["OPS"]
