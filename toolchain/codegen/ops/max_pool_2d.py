"""MAX_POOL_2D, int8 (kernel `max_pool_2d_s8`): the largest tap of each window clipped to the
image, no requantization (input and output share one quantization; see `_pool_common`)."""

from __future__ import annotations

from toolchain.codegen.ops._pool_common import Pool2D
from toolchain.codegen.ops.base import OPS


@OPS.register("MAX_POOL_2D")
class MaxPool2D(Pool2D):
    kernels = ("max_pool_2d",)
    function = "max_pool_2d_s8"
