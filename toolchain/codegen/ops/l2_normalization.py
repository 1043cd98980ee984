"""L2_NORMALIZATION over the last dimension, int8 (kernel `l2_normalization_s8`).

The oracle's prepare demands output scale 1/128, zero point 0 and no fused activation; its
int8 kernel is integer only (sum of squares, an inverse square root by fixed-point
Newton-Raphson, one requantization per element), reproduced step for step in C. Nothing is
precomputed: the multiplier depends on each vector's sum.
"""

from __future__ import annotations

import numpy as np

from toolchain.codegen.ops.base import INT8, OPS, OpEmitter

MAX_DEPTH = 1 << 16  # (x - zp)^2 <= 255^2 summed 2^16 times still fits int32


@OPS.register("L2_NORMALIZATION")
class L2Normalization(OpEmitter):
    kernels = ("l2_normalization",)
    #: each vector is read whole before its first write, then element i is read before it is
    #: written: the output may overwrite the input.
    elementwise = True

    def prepare(self) -> None:
        self.need_inputs(1)
        x = self.need_dtype(self.inputs[0], INT8)
        y = self.need_dtype(self.outputs[0], INT8)
        self.need_per_tensor(x)
        self.need_per_tensor(y)
        if tuple(x.shape) != tuple(y.shape) or not x.shape:
            raise self.fail(f"{x.describe()} and {y.describe()}: expected one shape of rank >= 1")
        if np.float32(y.scale) != np.float32(1 / 128) or y.zero_point != 0:
            raise self.fail(
                f"{y.describe()}: expected scale 1/128 and zero point 0, received "
                f"{y.scale:g} and {y.zero_point} (the oracle demands them)"
            )
        if self.op.options.get("activation", 0) != 0:
            raise self.fail(
                f"fused activation {self.op.options['activation']} is not supported "
                "(the oracle refuses it too)"
            )
        depth = int(x.shape[-1])
        if not 1 <= depth <= MAX_DEPTH:
            raise self.fail(f"{x.describe()}: the last dimension must be 1..{MAX_DEPTH}")
        self.params = {"outer": x.size // depth, "depth": depth, "input_zero_point": x.zero_point}

    def emit(self) -> str:
        return self.call(
            "l2_normalization_params_t",
            self.params,
            f"l2_normalization_s8(&p, {self.ctx.ptr(self.op.inputs[0], True)}, "
            f"{self.ctx.ptr(self.op.outputs[0])});",
        )

    def macs(self) -> int:
        return 2 * self.inputs[0].size
