"""The typed graph the code generator works on, and graph → graph passes.

`tflite_model.read_tflite` builds it from bytes; the emitters, the planner and `emit` only
read it. Passes (`fuse_dilated_convs`) take a graph and return a new one, so no pass hangs
state on a shared object.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from toolchain.errors import CodegenError


@dataclass
class Tensor:
    """One tensor: shape, dtype, quantization and, for constants, its value."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    scales: np.ndarray
    zero_points: np.ndarray
    quantized_dimension: int = 0
    value: np.ndarray | None = None

    @property
    def is_const(self) -> bool:
        return self.value is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def scale(self) -> float:
        """The per-tensor scale (float32 value as a Python float); 0.0 when unquantized."""
        return float(self.scales[0]) if len(self.scales) else 0.0

    @property
    def zero_point(self) -> int:
        return int(self.zero_points[0]) if len(self.zero_points) else 0

    def describe(self) -> str:
        return f"tensor {self.index} '{self.name}' {self.shape} {self.dtype}"


@dataclass
class Op:
    """One operator: builtin name, input/output tensor indices (-1 = optional absent), options."""

    index: int
    name: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict[str, int] = field(default_factory=dict)


@dataclass
class Graph:
    """Tensors and the ops in execution order (the schedule)."""

    tensors: list[Tensor]
    ops: list[Op]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]

    def producers(self) -> dict[int, int]:
        """Tensor index → position in `ops` of the op writing it."""
        return {t: k for k, op in enumerate(self.ops) for t in op.outputs}

    def consumers(self) -> dict[int, list[int]]:
        """Tensor index → positions in `ops` of the ops reading it."""
        out: dict[int, list[int]] = {}
        for k, op in enumerate(self.ops):
            for t in op.inputs:
                if t >= 0:
                    out.setdefault(t, []).append(k)
        return out


def fuse_dilated_convs(graph: Graph) -> Graph:
    """Fold SPACE_TO_BATCH_ND → CONV_2D/DEPTHWISE_CONV_2D → BATCH_TO_SPACE_ND into one dilated conv.

    The TFLite converter lowers a dilated convolution with VALID inner padding into this
    triple. With block (d, d), zero paddings and crops matching, the triple equals one conv
    with dilation d and SAME (or VALID when paddings and crops are zero) padding. Patterns that
    do not match exactly are left alone (and then fail as unsupported ops, naming them).
    """
    consumers = graph.consumers()
    drop: set[int] = set()
    new_ops = list(graph.ops)
    for k, s2b in enumerate(graph.ops):
        if s2b.name != "SPACE_TO_BATCH_ND" or len(s2b.inputs) != 3:
            continue
        mid = consumers.get(s2b.outputs[0], [])
        if len(mid) != 1:
            continue
        conv = graph.ops[mid[0]]
        if conv.name not in ("CONV_2D", "DEPTHWISE_CONV_2D") or conv.inputs[0] != s2b.outputs[0]:
            continue
        after = consumers.get(conv.outputs[0], [])
        if len(after) != 1:
            continue
        b2s = graph.ops[after[0]]
        if b2s.name != "BATCH_TO_SPACE_ND" or len(b2s.inputs) != 3:
            continue
        block = graph.tensors[s2b.inputs[1]].value
        pads = graph.tensors[s2b.inputs[2]].value
        block2 = graph.tensors[b2s.inputs[1]].value
        crops = graph.tensors[b2s.inputs[2]].value
        if any(v is None for v in (block, pads, block2, crops)):
            continue
        if block.shape != (2,) or not np.array_equal(block, block2) or block[0] != block[1]:
            continue
        if (
            conv.options.get("padding") != 1
            or conv.options.get("dilation_h", 1) != 1
            or conv.options.get("dilation_w", 1) != 1
            or conv.options.get("stride_h") != 1
            or conv.options.get("stride_w") != 1
        ):
            continue
        x = graph.tensors[s2b.inputs[0]]
        y = graph.tensors[b2s.outputs[0]]
        filt = graph.tensors[conv.inputs[1]]
        d = int(block[0])
        fh, fw = filt.shape[1], filt.shape[2]
        h, w = x.shape[1], x.shape[2]
        # SAME padding of a dilated conv with stride 1 keeps H, W; VALID shrinks them.
        if y.shape[1:3] == (h, w):
            padding = 0
            pad_h = max((fh - 1) * d, 0)
            pad_w = max((fw - 1) * d, 0)
            if int(pads[0, 0]) != pad_h // 2 or int(pads[1, 0]) != pad_w // 2:
                continue
        elif y.shape[1:3] == (h - (fh - 1) * d, w - (fw - 1) * d) and not pads[:, 0].any():
            padding = 1
        else:
            continue
        opts = dict(conv.options, padding=padding, dilation_h=d, dilation_w=d)
        new_ops[mid[0]] = replace(
            conv, inputs=(s2b.inputs[0], *conv.inputs[1:]), outputs=b2s.outputs, options=opts
        )
        drop.update({k, after[0]})
    if not drop:
        return graph
    return replace(graph, ops=[op for i, op in enumerate(new_ops) if i not in drop])


def check_shape(op: Op, tensor: Tensor, rank: int | tuple[int, ...]) -> None:
    """Raise `CodegenError` unless `tensor` has the given rank(s)."""
    ranks = (rank,) if isinstance(rank, int) else rank
    if len(tensor.shape) not in ranks:
        raise CodegenError(
            f"op {op.index} {op.name}: {tensor.describe()} expected rank "
            f"{' or '.join(map(str, ranks))}, received rank {len(tensor.shape)}"
        )
