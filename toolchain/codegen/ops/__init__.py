"""One emitter module per TFLite op; importing this package fills the `OPS` registry.

Modules starting with `_` hold what several ops share (broadcasting, pooling windows, table
probing, conv geometry); each op's own module registers it under its builtin name.
"""

from toolchain.codegen.ops import (  # noqa: F401
    add,
    average_pool_2d,
    concatenation,
    conv_2d,
    depthwise_conv_2d,
    dequantize,
    fully_connected,
    hard_swish,
    l2_normalization,
    logistic,
    lookup_table,
    max_pool_2d,
    mean,
    mul,
    pad,
    padv2,
    quantize,
    relu,
    relu6,
    relu_n1_to_1,
    reshape,
    sub,
    tanh,
)
from toolchain.codegen.ops.base import OPS

__all__ = ["OPS"]
