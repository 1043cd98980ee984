"""AVERAGE_POOL_2D, int8 (kernel `average_pool_2d_s8`): the sum of each window clipped to the
image divided by the taps read, rounding half away from zero, as the oracle does (padding is
not counted); no requantization (see `_pool_common`)."""

from __future__ import annotations

from toolchain.codegen.ops._pool_common import Pool2D
from toolchain.codegen.ops.base import OPS


@OPS.register("AVERAGE_POOL_2D")
class AveragePool2D(Pool2D):
    kernels = ("average_pool_2d",)
    function = "average_pool_2d_s8"
