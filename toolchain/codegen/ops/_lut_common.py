"""What the table ops share: int8 → int8 through a 256-entry lookup table (kernel `lut_s8`).

LOGISTIC, TANH, HARD_SWISH, RELU, RELU6 and RELU_N1_TO_1 map each int8 input to one int8
output given the input and output quantization. The table is built at generation time by
running the oracle itself on a one-op model with exactly this op and quantization over all
256 inputs, so every entry is the oracle's byte (its reference kernels mix fixed-point and
float32 arithmetic that would otherwise have to be reproduced op by op). The C side only
looks up.
"""

from __future__ import annotations

import functools

import numpy as np

from toolchain.codegen.ops.base import INT8, OpEmitter


@functools.lru_cache(maxsize=256)
def oracle_table(op_name: str, in_q: tuple[float, int], out_q: tuple[float, int]) -> np.ndarray:
    """The oracle's int8 outputs of `op_name` for inputs -128..127 with these quantizations
    (cached per process: a model's gates often share one quantization; read-only array)."""
    from toolchain.codegen.tflite_writer import TensorSpec, single_op_model
    from toolchain.oracle import Oracle

    model = single_op_model(
        op_name,
        [TensorSpec((1, 256), "int8", in_q[0], in_q[1])],
        TensorSpec((1, 256), "int8", out_q[0], out_q[1]),
    )
    inputs = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
    table = Oracle(model).invoke(inputs).reshape(256).astype(np.int8)
    table.setflags(write=False)
    return table


class LookupTable(OpEmitter):
    """An elementwise op computed as `table[x + 128]`, the table probed from the oracle."""

    kernels = ("lut",)
    elementwise = True

    def prepare(self) -> None:
        self.need_inputs(1)
        x = self.need_dtype(self.inputs[0], INT8)
        y = self.need_dtype(self.outputs[0], INT8)
        self.need_per_tensor(x)
        self.need_per_tensor(y)
        if x.size != y.size:
            raise self.fail(f"{x.describe()} and {y.describe()} differ in size")
        self.table = oracle_table(self.op.name, (x.scale, x.zero_point), (y.scale, y.zero_point))

    def emit(self) -> str:
        table = self.ctx.const(self.table, "int8_t")
        return (
            f"lut_s8({table}, {self.ctx.ptr(self.op.inputs[0], True)}, "
            f"{self.ctx.ptr(self.op.outputs[0])}, {self.outputs[0].size});"
        )

    def macs(self) -> int:
        return self.outputs[0].size
