"""QUANTIZE: uint8/int8 → uint8/int8 requantization or float32 → int8/uint8 (kernel `quantize`).

Integer input: multiplier `double(s_in) / double(s_out)` (the oracle's Requantize); float
input: `round(x / s_out) + zp` in float32.
"""

from __future__ import annotations

from toolchain.codegen.ops.base import FLOAT32, INT8, OPS, UINT8, OpEmitter
from toolchain.codegen.quant import DTYPE_RANGE, quantize_multiplier


@OPS.register("QUANTIZE")
class Quantize(OpEmitter):
    kernels = ("quantize",)

    def prepare(self) -> None:
        self.need_inputs(1)
        x = self.need_dtype(self.inputs[0], INT8, UINT8, FLOAT32)
        y = self.need_dtype(self.outputs[0], INT8, UINT8)
        self.need_per_tensor(y)
        if x.size != y.size:
            raise self.fail(f"{x.describe()} and {y.describe()} differ in size")
        lo, hi = DTYPE_RANGE[y.dtype]
        self.params = {
            "input_zero_point": 0,
            "output_zero_point": y.zero_point,
            "multiplier": 0,
            "shift": 0,
            "output_min": lo,
            "output_max": hi,
            "output_scale": float(y.scale),
        }
        if x.dtype != FLOAT32:
            self.need_per_tensor(x)
            m, s = quantize_multiplier(float(x.scale) / float(y.scale))
            self.params.update(input_zero_point=x.zero_point, multiplier=m, shift=s)

    def emit(self) -> str:
        x, y = self.inputs[0], self.outputs[0]
        src = self.ctx.ptr(self.op.inputs[0], True)
        dst = self.ctx.ptr(self.op.outputs[0])
        out_u8 = int(y.dtype == UINT8)
        if x.dtype == FLOAT32:
            call = f"quantize_float(&p, {src}, {dst}, {out_u8}, {x.size});"
        else:
            call = f"quantize_int(&p, {src}, {int(x.dtype == UINT8)}, {dst}, {out_u8}, {x.size});"
        return self.call("quantize_params_t", self.params, call)

    def macs(self) -> int:
        return self.outputs[0].size
