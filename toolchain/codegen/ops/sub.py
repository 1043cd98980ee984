"""SUB: int8 subtraction with broadcasting (kernel `sub_s8`), same prepare as ADD."""

from __future__ import annotations

from toolchain.codegen.ops._elementwise import broadcast_shape, check_binary, emit_binary
from toolchain.codegen.ops.add import add_sub_params
from toolchain.codegen.ops.base import OPS, OpEmitter


@OPS.register("SUB")
class Sub(OpEmitter):
    kernels = ("sub",)
    elementwise = True

    def prepare(self) -> None:
        check_binary(self)
        self.shape = broadcast_shape(self)
        self.params = add_sub_params(self)

    def emit(self) -> str:
        return emit_binary(self, "sub_params_t", "sub_s8")

    def macs(self) -> int:
        return self.outputs[0].size
