"""DEQUANTIZE: int8/uint8 → float32 as `(float)(double(scale) * (x - zp))` (kernel `dequantize`)."""

from __future__ import annotations

from toolchain.codegen.ops.base import FLOAT32, INT8, OPS, UINT8, OpEmitter


@OPS.register("DEQUANTIZE")
class Dequantize(OpEmitter):
    kernels = ("dequantize",)

    def prepare(self) -> None:
        self.need_inputs(1)
        x = self.need_dtype(self.inputs[0], INT8, UINT8)
        self.need_dtype(self.outputs[0], FLOAT32)
        self.need_per_tensor(x)

    def emit(self) -> str:
        x = self.inputs[0]
        return (
            f"dequantize_to_float({self.ctx.ptr(self.op.inputs[0], True)}, "
            f"{int(x.dtype == UINT8)}, {x.zero_point}, {float(x.scale).hex()}, "
            f"{self.ctx.ptr(self.op.outputs[0])}, {x.size});"
        )

    def macs(self) -> int:
        return self.outputs[0].size
