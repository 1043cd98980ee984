"""PAD for int8/uint8 tensors of rank <= 4 (kernel `pad_u8`); PADV2 extends it (padv2.py).

The padded value is the output zero point for PAD (a real 0) and the given constant for
PADV2, as in the oracle; input and output share one quantization.
"""

from __future__ import annotations

import numpy as np

from toolchain.codegen.ops.base import INT8, OPS, UINT8, OpEmitter


@OPS.register("PAD")
class Pad(OpEmitter):
    kernels = ("pad",)

    def prepare(self) -> None:
        self.need_inputs(2, 3)
        x = self.need_dtype(self.inputs[0], INT8, UINT8)
        y = self.need_dtype(self.outputs[0], x.dtype)
        self.need_per_tensor(x)
        self.need_per_tensor(y)
        if (x.scale, x.zero_point) != (y.scale, y.zero_point):
            raise self.fail(f"{x.describe()} and {y.describe()}: expected the same quantization")
        rank = len(x.shape)
        if not 1 <= rank <= 4:
            raise self.fail(f"{x.describe()}: expected rank 1..4")
        pads = np.asarray(self.need_const(self.inputs[1], "the paddings")).astype(np.int64)
        if pads.shape != (rank, 2) or np.any(pads < 0):
            raise self.fail(f"paddings {pads.tolist()}: expected {rank}x2 non-negative values")
        out_shape = tuple(int(d + a + b) for d, (a, b) in zip(x.shape, pads, strict=True))
        if tuple(y.shape) != out_shape:
            raise self.fail(f"{y.describe()}: expected shape {out_shape}")
        value = y.zero_point
        if len(self.inputs) > 2 and self.inputs[2] is not None:
            constant = self.need_const(self.inputs[2], "the pad value")
            value = int(np.asarray(constant).reshape(-1)[0])
        lead = 4 - rank
        self.params = {
            "in_dims": [1] * lead + list(x.shape),
            "out_dims": [1] * lead + list(out_shape),
            "before": [0] * lead + [int(a) for a, _ in pads],
            "pad_value": int(np.array(value).astype(x.dtype).view(np.uint8)),
        }

    def emit(self) -> str:
        return self.call(
            "pad_params_t",
            self.params,
            f"pad_u8(&p, (const uint8_t *){self.ctx.ptr(self.op.inputs[0], True)}, "
            f"(uint8_t *){self.ctx.ptr(self.op.outputs[0])});",
        )
