"""FULLY_CONNECTED: int8, per-tensor or per-channel filters (kernel `fully_connected_s8`)."""

from __future__ import annotations

import numpy as np

from toolchain.codegen.ops.base import INT8, INT32, OPS, OpEmitter
from toolchain.codegen.quant import activation_range


@OPS.register("FULLY_CONNECTED")
class FullyConnected(OpEmitter):
    """Input flattened to [batches, accum_depth]; filter [out_depth, accum_depth]."""

    kernels = ("fully_connected",)

    def prepare(self) -> None:
        self.need_inputs(2, 3)
        x = self.need_dtype(self.inputs[0], INT8)
        w = self.need_dtype(self.inputs[1], INT8)
        y = self.need_dtype(self.outputs[0], INT8)
        self.need_per_tensor(x)
        self.need_per_tensor(y)
        self.need_const(w, "the filter")
        if self.op.options.get("weights_format", 0) != 0:
            raise self.fail("only the DEFAULT weights format is supported")
        if len(w.shape) != 2:
            raise self.fail(f"{w.describe()}: expected a rank-2 filter")
        out_depth, depth = w.shape
        if depth == 0 or x.size % depth:
            raise self.fail(f"input {x.shape} does not flatten to rows of {depth}")
        batches = x.size // depth
        if y.size != batches * out_depth:
            raise self.fail(f"output {y.shape} should hold {batches} x {out_depth} values")
        if len(self.inputs) > 2 and self.inputs[2] is not None:
            self.need_dtype(self.inputs[2], INT32)
            self.need_const(self.inputs[2], "the bias")
        if np.any(w.zero_points != 0) and len(w.scales) > 1:
            raise self.fail(f"{w.describe()}: per-channel filters need zero points of 0")
        per_channel = len(w.scales) > 1
        if per_channel and len(w.scales) != out_depth:
            raise self.fail(
                f"{w.describe()}: expected 1 or {out_depth} scales, received {len(w.scales)}"
            )
        # The oracle's FC output is acc * (s_in * s_w / s_out) in double, rounded half away
        # from zero (not a Q31 multiplier: measured, docs/codegen.md); one scale per channel.
        scale = np.array([float(x.scale) * float(s) / float(y.scale) for s in w.scales])
        if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise self.fail(f"the output scale factors {scale.tolist()} must be positive")
        lo, hi = activation_range(
            self.op.options.get("activation", 0), y.scale, y.zero_point, y.dtype, self.where()
        )
        self.params = {
            "batches": batches,
            "accum_depth": depth,
            "out_depth": out_depth,
            "input_offset": -x.zero_point,
            "filter_offset": -w.zero_point,
            "output_offset": y.zero_point,
            "act_min": lo,
            "act_max": hi,
            "per_channel": int(per_channel),
        }
        self.scale = self.ctx.const(scale.astype(np.float64), "double")

    def emit(self) -> str:
        b = self.inputs[2] if len(self.inputs) > 2 else None
        bias = self.ctx.ptr(b.index) if b is not None else "NULL"
        return self.call(
            "fully_connected_params_t",
            self.params,
            f"fully_connected_s8(&p, {self.ctx.ptr(self.op.inputs[0], True)}, "
            f"{self.ctx.ptr(self.op.inputs[1])}, {bias}, {self.scale}, "
            f"{self.ctx.ptr(self.op.outputs[0])});",
        )

    def macs(self) -> int:
        p = self.params
        return p["batches"] * p["accum_depth"] * p["out_depth"]
