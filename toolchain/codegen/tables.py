"""Fold chains of one-input elementwise ops into one 256-entry lookup table (op LOOKUP_TABLE).

An 8-bit tensor has 256 possible values, so any chain of elementwise ops that reads one
activation tensor (every other operand a one-element constant) is a function of one byte: a
table. The converter writes the input Rescaling of every zoo model as such a chain
(uint8 input → QUANTIZE → MUL by a constant → ADD a constant), which the per-op kernels pay
three requantizations per pixel for; the table costs one load.

Each entry is the oracle's own byte: every op of the chain runs on the oracle as a one-op
model over all 256 inputs (with its quantization, options and constant), and the tables are
composed, which is exact because each op maps every element independently. A uint8 input
(the graph input) is indexed like an int8 one by the C kernel (`lut_s8`: table[(int8)b + 128]),
so its table is stored permuted: entry i holds the value for byte i ^ 0x80.

The pass runs on the typed graph before preparation (`compile_graph`): it returns a new graph
with the chain replaced by one op `LOOKUP_TABLE` (inputs: the activation, the table as a new
constant tensor) and leaves everything it does not recognise alone. Chains of one op stay as
they are (a lone table op already is a table; the other ops keep their kernels).
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np

from toolchain.codegen.graph import Graph, Op, Tensor

#: ops computed as a table of the oracle (see ops/_lut_common.py): one input, no constant.
UNARY = frozenset({"LOGISTIC", "TANH", "HARD_SWISH", "RELU", "RELU6", "RELU_N1_TO_1"})
#: ops foldable when one operand is a one-element constant.
WITH_CONSTANT = frozenset({"ADD", "SUB", "MUL"})
#: ops foldable with an integer input (requantization).
REQUANTIZE = frozenset({"QUANTIZE"})

FUSED_OP = "LOOKUP_TABLE"
_BYTES = (np.dtype(np.int8), np.dtype(np.uint8))


def fuse_lookup_tables(graph: Graph) -> Graph:
    """Replace every chain of >= 2 foldable ops (see module doc) by one LOOKUP_TABLE op."""
    consumers = graph.consumers()
    producers = graph.producers()
    keep_outputs = set(graph.outputs)
    chains: list[list[int]] = []
    in_chain: set[int] = set()
    for k in range(len(graph.ops)):
        if k in in_chain or _activation_input(graph, graph.ops[k]) is None:
            continue
        # start only where the activation does not come from a foldable op with one consumer
        x = _activation_input(graph, graph.ops[k])
        prev = producers.get(x)
        if (
            prev is not None
            and _activation_input(graph, graph.ops[prev]) is not None
            and len(consumers.get(x, [])) == 1
            and x not in keep_outputs
        ):
            continue
        chain = [k]
        while True:
            y = graph.ops[chain[-1]].outputs[0]
            nxt = consumers.get(y, [])
            if y in keep_outputs or len(nxt) != 1:
                break
            if _activation_input(graph, graph.ops[nxt[0]]) != y:
                break
            chain.append(nxt[0])
        if len(chain) >= 2:
            chains.append(chain)
            in_chain.update(chain)
    if not chains:
        return graph
    tensors = list(graph.tensors)
    ops = list(graph.ops)
    drop: set[int] = set()
    for chain in chains:
        first, last = graph.ops[chain[0]], graph.ops[chain[-1]]
        x = _activation_input(graph, first)
        table = chain_table(graph, chain)
        t_index = len(tensors)
        tensors.append(
            Tensor(
                index=t_index,
                name=f"{graph.tensors[last.outputs[0]].name}/table",
                shape=(256,),
                dtype=np.dtype(np.int8),
                scales=np.zeros(0, np.float32),
                zero_points=np.zeros(0, np.int64),
                value=table,
            )
        )
        ops[chain[-1]] = Op(
            index=last.index,
            name=FUSED_OP,
            inputs=(x, t_index),
            outputs=last.outputs,
            options={"fused": len(chain)},
        )
        drop.update(chain[:-1])
    return replace(graph, tensors=tensors, ops=[op for i, op in enumerate(ops) if i not in drop])


def chain_table(graph: Graph, chain: list[int]) -> np.ndarray:
    """The chain's output byte for each input byte, in `lut_s8`'s order: entry i is for the
    byte whose int8 view is i - 128, i.e. byte i ^ 0x80."""
    x = graph.tensors[_activation_input(graph, graph.ops[chain[0]])]
    current = np.arange(256, dtype=np.uint8).view(x.dtype)  # the value of each byte
    for k in chain:
        current = _op_table(graph, graph.ops[k])[_index(current)]
    out = current.view(np.uint8)[np.arange(256) ^ 0x80].view(np.int8)
    out.setflags(write=False)
    return out


def _index(values: np.ndarray) -> np.ndarray:
    """Table index of 8-bit values: the byte itself for uint8, value + 128 for int8."""
    return values.astype(np.int64) + (128 if values.dtype == np.dtype(np.int8) else 0)


def _op_table(graph: Graph, op: Op) -> np.ndarray:
    """The op's output for every input value (indexed like `_index`), from the oracle."""
    x = graph.tensors[_activation_input(graph, op)]
    y = graph.tensors[op.outputs[0]]
    consts = tuple(
        (pos, _spec(graph.tensors[i]))
        for pos, i in enumerate(op.inputs)
        if i >= 0 and graph.tensors[i].is_const
    )
    return _oracle_table(
        op.name,
        _qspec(x),
        _qspec(y),
        consts,
        tuple(sorted((k, v) for k, v in op.options.items() if k == "activation")),
    )


def _qspec(t: Tensor) -> tuple[str, float, int]:
    return (str(t.dtype), float(t.scale), int(t.zero_point))


def _spec(t: Tensor) -> tuple[str, float, int, int]:
    return (
        str(t.dtype),
        float(t.scale),
        int(t.zero_point),
        int(np.asarray(t.value).reshape(-1)[0]),
    )


@functools.lru_cache(maxsize=256)
def _oracle_table(
    name: str,
    x: tuple[str, float, int],
    y: tuple[str, float, int],
    consts: tuple[tuple[int, tuple[str, float, int, int]], ...],
    options: tuple[tuple[str, int], ...],
) -> np.ndarray:
    from toolchain.codegen.tflite_writer import TensorSpec, single_op_model
    from toolchain.oracle import Oracle

    specs: list[TensorSpec] = [TensorSpec((1, 256), x[0], x[1], x[2])]
    for pos, (dtype, scale, zp, value) in consts:
        specs.insert(pos, TensorSpec((1,), dtype, scale, zp, np.array([value], dtype=dtype)))
    model = single_op_model(name, specs, TensorSpec((1, 256), y[0], y[1], y[2]), dict(options))
    inputs = np.arange(256, dtype=np.int64) - (128 if x[0] == "int8" else 0)
    out = Oracle(model).invoke(inputs.astype(x[0]).reshape(1, 256)).reshape(256)
    out.setflags(write=False)
    return out


def _activation_input(graph: Graph, op: Op) -> int | None:
    """The one activation tensor a foldable op reads, or None when the op is not foldable."""
    if len(op.outputs) != 1:
        return None
    y = graph.tensors[op.outputs[0]]
    if y.dtype not in _BYTES or not _per_tensor(y):
        return None
    ins = [i for i in op.inputs if i >= 0]
    acts = [i for i in ins if not graph.tensors[i].is_const]
    if len(acts) != 1:
        return None
    x = graph.tensors[acts[0]]
    if x.dtype not in _BYTES or not _per_tensor(x) or x.size != y.size:
        return None
    if op.name in UNARY or op.name in REQUANTIZE:
        return acts[0] if len(ins) == 1 else None
    if op.name in WITH_CONSTANT and len(ins) == 2:
        c = graph.tensors[next(i for i in ins if i != acts[0])]
        if c.size == 1 and c.dtype in _BYTES and _per_tensor(c):
            return acts[0]
    return None


def _per_tensor(t: Tensor) -> bool:
    return len(t.scales) == 1 and len(t.zero_points) == 1 and float(t.scales[0]) > 0
