"""LOOKUP_TABLE: a chain of elementwise ops folded into one 256-entry table by the pass
`toolchain.codegen.tables.fuse_lookup_tables` (not a TFLite builtin: only that pass makes it).

Inputs: the 8-bit activation and the table (a constant int8 tensor of 256 entries, already in
`lut_s8`'s order); the C only looks up (kernel `lut_s8`, in place allowed).
"""

from __future__ import annotations

from toolchain.codegen.ops.base import INT8, OPS, UINT8, OpEmitter


@OPS.register("LOOKUP_TABLE")
class LookupTableOp(OpEmitter):
    kernels = ("lut",)
    elementwise = True

    def prepare(self) -> None:
        self.need_inputs(2)
        x = self.need_dtype(self.inputs[0], INT8, UINT8)
        y = self.need_dtype(self.outputs[0], INT8, UINT8)
        table = self.need_const(self.inputs[1], "the table")
        if table.shape != (256,) or x.size != y.size:
            raise self.fail(f"expected a 256-entry table and equal sizes, received {table.shape}")

    def emit(self) -> str:
        return (
            f"lut_s8({self.ctx.ptr(self.op.inputs[1], True)}, "
            f"(const int8_t *){self.ctx.ptr(self.op.inputs[0], True)}, "
            f"(int8_t *){self.ctx.ptr(self.op.outputs[0])}, {self.outputs[0].size});"
        )

    def macs(self) -> int:
        return self.outputs[0].size
