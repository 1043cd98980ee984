"""MUL: int8 multiplication with broadcasting (kernel `mul_s8`).

One combined multiplier `double(s1) * double(s2) / double(s_out)` (it may exceed 1). This is
also how the converter expresses a Rescaling layer (`x * 1/127.5`).
"""

from __future__ import annotations

from toolchain.codegen.ops._elementwise import broadcast_shape, check_binary, emit_binary
from toolchain.codegen.ops.base import OPS, OpEmitter
from toolchain.codegen.quant import activation_range, quantize_multiplier


@OPS.register("MUL")
class Mul(OpEmitter):
    kernels = ("mul",)
    elementwise = True

    def prepare(self) -> None:
        check_binary(self)
        self.shape = broadcast_shape(self)
        a, b, y = self.inputs[0], self.inputs[1], self.outputs[0]
        m, s = quantize_multiplier(float(a.scale) * float(b.scale) / float(y.scale))
        lo, hi = activation_range(
            self.op.options.get("activation", 0), y.scale, y.zero_point, y.dtype, self.where()
        )
        self.params = {
            "input1_offset": -a.zero_point,
            "input2_offset": -b.zero_point,
            "output_offset": y.zero_point,
            "output_multiplier": m,
            "output_shift": s,
            "act_min": lo,
            "act_max": hi,
        }

    def emit(self) -> str:
        return emit_binary(self, "mul_params_t", "mul_s8")

    def macs(self) -> int:
        return self.outputs[0].size
