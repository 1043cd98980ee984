"""What a `.tflite` file holds: its ops, their tensor types, and whether it is builtin int8 only.

The quantizer must refuse a model the code generator and the boards cannot run: one float op
left by the converter (a "float fallback") or one Flex/custom op is enough to break the chain
far downstream. Reading the flatbuffer directly (with the schema shipped by the pinned
interpreter package) works even for models the interpreter would refuse to load, so the error
can name the op, its output tensor and the Keras layer it came from.

Example:
    ops = read_ops(Path("reid_int8.tflite").read_bytes())
    op_histogram(ops)              # {"CONV_2D": 7, "DEPTHWISE_CONV_2D": 3, ...}
    check_builtin_int8(ops, layer_names=[l.name for l in model.layers])
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from toolchain.errors import QuantizationError

#: Ops that legitimately touch float tensors at the model's edges: a float input is quantized
#: by QUANTIZE, a float output dequantized by DEQUANTIZE.
BOUNDARY_OPS = ("QUANTIZE", "DEQUANTIZE")
#: Tensor element types of an integer-only graph (int32 for biases and shapes, bool for masks).
INTEGER_TYPES = ("INT8", "UINT8", "INT16", "INT32", "INT64", "BOOL")
#: How the converter names the tensors of the traced call's outputs (the model's outputs).
GRAPH_OUTPUT_PREFIX = "StatefulPartitionedCall"


def _schema():
    from ai_edge_litert import schema_py_generated as schema

    return schema


def _names(enum_cls) -> dict[int, str]:
    return {v: k for k, v in vars(enum_cls).items() if not k.startswith("_") and isinstance(v, int)}


@dataclass(frozen=True)
class TensorInfo:
    """One tensor an op reads or writes."""

    index: int
    name: str
    dtype: str  # schema TensorType name: INT8, FLOAT32...
    shape: tuple[int, ...]
    is_constant: bool


@dataclass(frozen=True)
class OpInfo:
    """One operator of the main subgraph, in execution order."""

    index: int
    name: str  # BUILTIN operator name, or "CUSTOM:<code>" / "FLEX:<code>"
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]

    @property
    def is_custom(self) -> bool:
        return self.name.startswith(("CUSTOM:", "FLEX:"))


def read_ops(model_bytes: bytes) -> list[OpInfo]:
    """The ops of the first subgraph of a TFLite flatbuffer.

    Raises:
        QuantizationError: the bytes are not a TFLite model.
    """
    schema = _schema()
    if len(model_bytes) < 8 or model_bytes[4:8] != b"TFL3":
        raise QuantizationError(
            f"not a TFLite flatbuffer: expected identifier 'TFL3' at bytes 4..7, received "
            f"{bytes(model_bytes[4:8])!r}"
        )
    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    if not model.subgraphs:
        raise QuantizationError("TFLite model has no subgraph")
    op_names = _names(schema.BuiltinOperator)
    type_names = _names(schema.TensorType)
    graph = model.subgraphs[0]

    def tensor(i: int) -> TensorInfo | None:
        if i < 0:
            return None
        t = graph.tensors[i]
        buf = model.buffers[t.buffer] if t.buffer and t.buffer < len(model.buffers) else None
        has_data = bool(buf is not None and buf.data is not None and len(buf.data)) or bool(
            buf is not None and getattr(buf, "size", 0)
        )
        name = t.name.decode() if isinstance(t.name, bytes) else str(t.name or "")
        shape = tuple(int(d) for d in t.shape) if t.shape is not None else ()
        return TensorInfo(i, name, type_names.get(t.type, str(t.type)), shape, has_data)

    ops = []
    for k, op in enumerate(graph.operators or []):
        code = model.operatorCodes[op.opcodeIndex]
        builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
        name = op_names.get(builtin, f"OP_{builtin}")
        if name == "CUSTOM":
            custom = (
                code.customCode.decode()
                if isinstance(code.customCode, bytes)
                else str(code.customCode)
            )
            name = f"FLEX:{custom[4:]}" if custom.startswith("Flex") else f"CUSTOM:{custom}"
        ins = tuple(
            t for t in (tensor(i) for i in (op.inputs if op.inputs is not None else [])) if t
        )
        outs = tuple(
            t for t in (tensor(i) for i in (op.outputs if op.outputs is not None else [])) if t
        )
        ops.append(OpInfo(k, name, ins, outs))
    return ops


def op_histogram(ops: Iterable[OpInfo]) -> dict[str, int]:
    """Operator name → count, most frequent first (ties by name)."""
    counts = Counter(op.name for op in ops)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def keras_layer_of(
    tensor_name: str, layer_names: Sequence[str], output_layer: str | None = None
) -> str | None:
    """The Keras layer a converted tensor came from, read from the tensor's name.

    The converter names tensors after the traced ops, e.g. `tiny_1/block1_conv_1/convolution`
    (Keras 3 appends `_1` to each scope) or several fused names joined by `;`. The deepest
    scope that is (after stripping that suffix) a layer of the model wins. The model's output
    tensor is named after the traced call (`StatefulPartitionedCall_1:0`): it comes from
    `output_layer`, the layer producing the model's output.
    """
    known = set(layer_names)
    found = None
    if output_layer and tensor_name.startswith(GRAPH_OUTPUT_PREFIX):
        return output_layer
    for part in re.split(r"[;]", tensor_name):
        for scope in part.split("/"):
            for candidate in (scope, re.sub(r"_\d+$", "", scope)):
                if candidate in known:
                    found = candidate
                    break
    return found


def float_ops(ops: Iterable[OpInfo], allow_float_io: bool = True) -> list[OpInfo]:
    """Ops that compute in float (or are Flex/custom): what an int8-only model must not hold.

    Args:
        ops: the model's ops.
        allow_float_io: a QUANTIZE reading the float input or a DEQUANTIZE writing the float
            output is the model's interface (`quantization_input_type: float`), not a fallback.
    """
    bad = []
    for op in ops:
        if op.is_custom:
            bad.append(op)
            continue
        tensors = [t for t in op.inputs + op.outputs]
        has_float = any(t.dtype not in INTEGER_TYPES for t in tensors)
        if has_float and not (allow_float_io and op.name in BOUNDARY_OPS):
            bad.append(op)
    return bad


def check_builtin_int8(
    ops: Sequence[OpInfo],
    layer_names: Sequence[str] = (),
    model_name: str = "model",
    output_layer: str | None = None,
) -> None:
    """Raise `QuantizationError` naming each float or Flex/custom op and its Keras layer.

    Example message: "reid_int8.tflite holds 1 op(s) that are not builtin int8: op 4 MEAN
    (output 'tiny_1/gap_1/Mean', FLOAT32) from Keras layer 'gap'".
    """
    bad = float_ops(ops)
    if not bad:
        return
    parts = []
    for op in bad[:10]:
        out = op.outputs[0] if op.outputs else None
        layer = keras_layer_of(out.name, layer_names, output_layer) if out else None
        what = "a Flex/custom op" if op.is_custom else "float"
        dtypes = ",".join(sorted({t.dtype for t in op.inputs + op.outputs}))
        parts.append(
            f"op {op.index} {op.name} ({what}; output {out.name if out else '?'!r}, types {dtypes})"
            + (f" from Keras layer '{layer}'" if layer else "")
        )
    more = f" (and {len(bad) - 10} more)" if len(bad) > 10 else ""
    raise QuantizationError(
        f"{model_name} holds {len(bad)} op(s) that are not builtin int8: "
        + "; ".join(parts)
        + more
        + ". Expected only TFLite builtin int8 ops: replace those layers with supported ones."
    )


def io_types(model_bytes: bytes) -> tuple[str, str]:
    """The element types of the model's (first) input and output tensors."""
    schema = _schema()
    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    graph = model.subgraphs[0]
    type_names = _names(schema.TensorType)
    return (
        type_names[graph.tensors[graph.inputs[0]].type],
        type_names[graph.tensors[graph.outputs[0]].type],
    )
