"""RESHAPE and SQUEEZE: the bytes stay, only the shape changes (kernel `reshape_copy`).

The planner lets the output share the input's arena storage, so no copy runs unless the
input or output is the network's own input/output buffer.
"""

from __future__ import annotations

from toolchain.codegen.ops.base import OPS, OpEmitter


@OPS.register("RESHAPE")
class Reshape(OpEmitter):
    kernels = ("reshape",)

    def prepare(self) -> None:
        if not self.inputs or self.inputs[0] is None or len(self.outputs) != 1:
            raise self.fail("expected a data input and one output")
        x, y = self.inputs[0], self.outputs[0]
        if x.nbytes != y.nbytes or x.dtype != y.dtype:
            raise self.fail(f"{x.describe()} and {y.describe()} differ in size or type")
        if (
            x.dtype != y.dtype
            or list(x.scales) != list(y.scales)
            or list(x.zero_points) != list(y.zero_points)
        ):
            raise self.fail(f"{x.describe()} and {y.describe()} differ in quantization")

    def aliases_input(self) -> bool:
        return True

    def emit(self) -> str:
        return (
            f"reshape_copy({self.ctx.ptr(self.op.outputs[0])}, "
            f"{self.ctx.ptr(self.op.inputs[0], True)}, {self.outputs[0].nbytes});"
        )


@OPS.register("SQUEEZE")
class Squeeze(Reshape):
    pass
