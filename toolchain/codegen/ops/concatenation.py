"""CONCATENATION along one axis (kernel `concatenation_u8`): a byte copy.

The oracle's prepare refuses int8 inputs whose scale or zero point differ from the output's
(and a fused activation), so the reference kernel only moves bytes; uint8 inputs with
different quantizations would take its float rescaling path, which the generator refuses
too (no converter of ours produces it). The axis may be negative.

Example (two NHWC maps of one quantization, joined on channels):
    CONCATENATION(axis=-1): (1, 8, 4, 16) + (1, 8, 4, 8) -> (1, 8, 4, 24)
"""

from __future__ import annotations

import numpy as np

from toolchain.codegen.ops.base import C_TYPES, OPS, OpEmitter


@OPS.register("CONCATENATION")
class Concatenation(OpEmitter):
    kernels = ("concatenation",)

    def prepare(self) -> None:
        if not self.inputs or any(t is None for t in self.inputs) or len(self.outputs) != 1:
            raise self.fail(
                f"expected >= 1 inputs and 1 output, received {len(self.inputs)} "
                f"inputs and {len(self.outputs)} outputs"
            )
        y = self.outputs[0]
        if y.dtype not in C_TYPES:
            raise self.fail(f"{y.describe()}: unsupported type {y.dtype}")
        if self.op.options.get("activation", 0) != 0:
            raise self.fail(
                f"fused activation {self.op.options['activation']} is not supported "
                "(the oracle refuses it too)"
            )
        rank = len(y.shape)
        axis = int(self.op.options.get("axis", 0))
        if not -rank <= axis < rank:
            raise self.fail(f"axis {axis} is out of range for {y.describe()}")
        axis %= rank
        total = 0
        for x in self.inputs:
            self.need_dtype(x, y.dtype)
            if len(x.shape) != rank or any(
                a != b for k, (a, b) in enumerate(zip(x.shape, y.shape, strict=True)) if k != axis
            ):
                raise self.fail(
                    f"{x.describe()}: expected the output's shape {y.shape} except on axis {axis}"
                )
            if len(y.scales) or len(x.scales):
                self.need_per_tensor(x)
                self.need_per_tensor(y)
                if (x.scale, x.zero_point) != (y.scale, y.zero_point):
                    raise self.fail(
                        f"{x.describe()} has scale {x.scale:g} and zero point "
                        f"{x.zero_point}, expected the output's ({y.scale:g}, "
                        f"{y.zero_point}): rescaling concatenation is not supported"
                    )
            total += x.shape[axis]
        if total != y.shape[axis]:
            raise self.fail(f"{y.describe()}: the inputs add up to {total} on axis {axis}")
        inner = int(np.prod(y.shape[axis + 1 :], dtype=np.int64)) * y.dtype.itemsize
        self.outer = int(np.prod(y.shape[:axis], dtype=np.int64))
        self.copy_bytes = [int(x.shape[axis]) * inner for x in self.inputs]

    def emit(self) -> str:
        c = self.ctx
        sizes = ", ".join(map(str, self.copy_bytes))
        ins = ", ".join(f"(const uint8_t *){c.ptr(i, True)}" for i in self.op.inputs)
        return (
            f"static const int32_t copy_bytes[{len(self.copy_bytes)}] = {{{sizes}}};\n"
            f"const uint8_t *const inputs[{len(self.copy_bytes)}] = {{{ins}}};\n"
            f"static const concatenation_params_t p = {{.num_inputs = {len(self.copy_bytes)}, "
            f".outer = {self.outer}, .copy_bytes = copy_bytes}};\n"
            f"concatenation_u8(&p, inputs, (uint8_t *){c.ptr(self.op.outputs[0])});"
        )
