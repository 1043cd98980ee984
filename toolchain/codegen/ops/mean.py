"""MEAN: int8 mean over constant axes (kernel `mean_s8`), the pinned oracle's arithmetic.

The pinned interpreter's reference MEAN (LiteRT reduce.cc → QuantizedMeanOrSum) uses one
integer path for every int8 case: `QuantizeMultiplier(s_in / s_out)`, then folds 1/n into it
(`shift_n = min(floor(log2 n), 32, 31 + shift)`, `m' = (m << shift_n) / n` truncating,
`shift' = shift - shift_n`) and requantizes `sum(x - zp_in)`. (Older TFLite builds had three
paths, integer / truncating / float; they do not match this interpreter.)
"""

from __future__ import annotations

import numpy as np

from toolchain.codegen.ops.base import INT8, OPS, OpEmitter
from toolchain.codegen.quant import quantize_multiplier


@OPS.register("MEAN")
class Mean(OpEmitter):
    kernels = ("mean",)

    def prepare(self) -> None:
        self.need_inputs(2)
        x = self.need_dtype(self.inputs[0], INT8)
        y = self.need_dtype(self.outputs[0], INT8)
        self.need_per_tensor(x)
        self.need_per_tensor(y)
        axes = self.need_const(self.inputs[1], "the axes").reshape(-1).astype(int)
        rank = len(x.shape)
        if rank > 4 or rank == 0:
            raise self.fail(f"{x.describe()}: expected rank 1..4, received rank {rank}")
        resolved = []
        for a in axes:
            if not -rank <= a < rank:
                raise self.fail(f"axis {a} is out of range for {x.describe()}")
            a = int(a) % rank
            if a not in resolved:
                resolved.append(a)
        m, s = quantize_multiplier(float(x.scale) / float(y.scale))
        n = int(np.prod([x.shape[a] for a in resolved]))
        if n > (1 << 23):
            raise self.fail(f"reducing {n} elements could overflow the int32 sum")
        if n > 0:
            # Fold 1/n into the multiplier as the oracle's QuantizedMeanOrSum does.
            fold = min(n.bit_length() - 1, 32, 31 + s)
            m = (m << fold) // n if fold >= 0 else m
            s = s - fold if fold >= 0 else s
        pad = 4 - rank
        dims = [1] * pad + list(x.shape)
        reduced = [0] * pad + [1 if k in resolved else 0 for k in range(rank)]
        if y.size != int(np.prod([d for d, r in zip(dims, reduced, strict=True) if not r])):
            raise self.fail(f"output {y.shape} does not match reducing {x.shape} over {resolved}")
        self.params = {
            "dims": dims,
            "reduced": reduced,
            "input_zero_point": x.zero_point,
            "output_zero_point": y.zero_point,
            "multiplier": int(m),
            "shift": int(s),
        }

    def emit(self) -> str:
        return self.call(
            "mean_params_t",
            self.params,
            f"mean_s8(&p, {self.ctx.ptr(self.op.inputs[0], True)}, "
            f"{self.ctx.ptr(self.op.outputs[0])});",
        )

    def macs(self) -> int:
        return self.inputs[0].size
