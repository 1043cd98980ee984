"""A bounds-checked `.tflite` flatbuffer reader that returns a typed graph.

The code generator reads untrusted model files, so every offset, vector length, index and
buffer size is checked before use; a malformed file raises `CodegenError` naming the table,
field, op index or tensor at fault instead of crashing or reading out of bounds. Only the
parts of the schema the generator needs are read (one subgraph, tensors, quantization,
operators and their builtin options). The op code is `max(deprecated_builtin_code,
builtin_code)` as the schema's comment requires.

Example:
    graph = read_tflite(Path("model_int8.tflite").read_bytes())
    for op in graph.ops: print(op.index, op.name, op.outputs)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from toolchain.codegen.graph import Graph, Op, Tensor
from toolchain.errors import CodegenError

# TensorType enum of the schema → numpy dtype (only those the generator can meet).
TENSOR_TYPES: dict[int, np.dtype] = {
    0: np.dtype(np.float32),
    2: np.dtype(np.int32),
    3: np.dtype(np.uint8),
    4: np.dtype(np.int64),
    6: np.dtype(np.bool_),
    7: np.dtype(np.int16),
    9: np.dtype(np.int8),
}


def _builtin_names() -> dict[int, str]:
    """Builtin op code → name, from the schema module shipped with the pinned interpreter."""
    from ai_edge_litert import schema_py_generated as schema

    return {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


BUILTIN_NAMES = _builtin_names()

# (builtin name) → (field name, field id, struct format, default) of its options table.
_PADDING = ("padding", 0, "b", 0)
OPTION_FIELDS: dict[str, tuple[tuple[str, int, str, int], ...]] = {
    "CONV_2D": (
        _PADDING,
        ("stride_w", 1, "i", 0),
        ("stride_h", 2, "i", 0),
        ("activation", 3, "b", 0),
        ("dilation_w", 4, "i", 1),
        ("dilation_h", 5, "i", 1),
    ),
    "DEPTHWISE_CONV_2D": (
        _PADDING,
        ("stride_w", 1, "i", 0),
        ("stride_h", 2, "i", 0),
        ("depth_multiplier", 3, "i", 0),
        ("activation", 4, "b", 0),
        ("dilation_w", 5, "i", 1),
        ("dilation_h", 6, "i", 1),
    ),
    "FULLY_CONNECTED": (
        ("activation", 0, "b", 0),
        ("weights_format", 1, "b", 0),
        ("keep_num_dims", 2, "B", 0),
    ),
    "ADD": (("activation", 0, "b", 0),),
    "SUB": (("activation", 0, "b", 0),),
    "MUL": (("activation", 0, "b", 0),),
    "MEAN": (("keep_dims", 0, "B", 0),),
    "AVERAGE_POOL_2D": (
        _PADDING,
        ("stride_w", 1, "i", 0),
        ("stride_h", 2, "i", 0),
        ("filter_w", 3, "i", 0),
        ("filter_h", 4, "i", 0),
        ("activation", 5, "b", 0),
    ),
    "MAX_POOL_2D": (
        _PADDING,
        ("stride_w", 1, "i", 0),
        ("stride_h", 2, "i", 0),
        ("filter_w", 3, "i", 0),
        ("filter_h", 4, "i", 0),
        ("activation", 5, "b", 0),
    ),
    "CONCATENATION": (("axis", 0, "i", 0), ("activation", 1, "b", 0)),
    "L2_NORMALIZATION": (("activation", 0, "b", 0),),
}


class _Buf:
    """Checked little-endian reads from the model bytes."""

    def __init__(self, data: bytes, what: str):
        self.data = memoryview(data)
        self.what = what

    def read(self, fmt: str, pos: int, ctx: str):
        size = struct.calcsize("<" + fmt)
        if pos < 0 or pos + size > len(self.data):
            raise CodegenError(
                f"{self.what}: {ctx} reads {size} bytes at offset {pos}, beyond the file "
                f"({len(self.data)} bytes): the flatbuffer is truncated or corrupt"
            )
        return struct.unpack_from("<" + fmt, self.data, pos)[0]


@dataclass
class _Table:
    buf: _Buf
    pos: int
    name: str
    _vt: int = field(init=False)
    _vt_len: int = field(init=False)

    def __post_init__(self) -> None:
        self._vt = self.pos - self.buf.read("i", self.pos, f"{self.name} vtable offset")
        self._vt_len = self.buf.read("H", self._vt, f"{self.name} vtable size")
        if self._vt_len < 4 or self._vt_len % 2:
            raise CodegenError(f"{self.buf.what}: {self.name} has a bad vtable size {self._vt_len}")

    def _field(self, fid: int) -> int:
        """Absolute position of field `fid`, or 0 when absent."""
        slot = 4 + 2 * fid
        if slot + 2 > self._vt_len:
            return 0
        rel = self.buf.read("H", self._vt + slot, f"{self.name} field {fid}")
        return self.pos + rel if rel else 0

    def scalar(self, fid: int, fmt: str, default=0):
        p = self._field(fid)
        return self.buf.read(fmt, p, f"{self.name} field {fid}") if p else default

    def _indirect(self, fid: int) -> int:
        p = self._field(fid)
        if not p:
            return 0
        return p + self.buf.read("I", p, f"{self.name} field {fid} offset")

    def table(self, fid: int, name: str) -> _Table | None:
        p = self._indirect(fid)
        return _Table(self.buf, p, name) if p else None

    def _vector(self, fid: int, elem: int, ctx: str) -> tuple[int, int]:
        p = self._indirect(fid)
        if not p:
            return 0, 0
        n = self.buf.read("I", p, f"{ctx} length")
        if p + 4 + n * elem > len(self.buf.data):
            raise CodegenError(
                f"{self.buf.what}: {ctx} claims {n} elements of {elem} bytes at offset {p + 4}, "
                f"beyond the file ({len(self.buf.data)} bytes)"
            )
        return p + 4, n

    def array(self, fid: int, dtype: str, ctx: str) -> np.ndarray:
        dt = np.dtype(dtype).newbyteorder("<")
        start, n = self._vector(fid, dt.itemsize, f"{self.name}.{ctx}")
        if not n:
            return np.zeros(0, dt)
        return np.frombuffer(self.buf.data, dt, n, start).copy()

    def raw(self, fid: int, ctx: str) -> bytes | None:
        start, n = self._vector(fid, 1, f"{self.name}.{ctx}")
        return bytes(self.buf.data[start : start + n]) if start else None

    def string(self, fid: int, ctx: str) -> str:
        data = self.raw(fid, ctx)
        return data.decode("utf-8", "replace") if data else ""

    def tables(self, fid: int, name: str) -> list[_Table]:
        start, n = self._vector(fid, 4, f"{self.name}.{name}s")
        out = []
        for i in range(n):
            p = start + 4 * i
            out.append(_Table(self.buf, p + self.buf.read("I", p, f"{name}[{i}]"), f"{name}[{i}]"))
        return out


def read_tflite(data: bytes, what: str = "<model>") -> Graph:
    """Parse `.tflite` bytes into a `Graph` (first subgraph only).

    Args:
        data: the file's bytes (untrusted).
        what: the file name used in error messages.

    Returns:
        A `Graph` whose tensors carry shapes, dtypes, quantization and constant data, and
        whose ops carry the builtin name and parsed options.

    Raises:
        CodegenError: the bytes are not a valid model, or name an unknown type or buffer.
    """
    if len(data) < 8 or bytes(data[4:8]) != b"TFL3":
        raise CodegenError(
            f"{what}: expected a .tflite flatbuffer with identifier 'TFL3' at byte 4, "
            f"received {bytes(data[4:8])!r}"
        )
    buf = _Buf(bytes(data), what)
    model = _Table(buf, buf.read("I", 0, "root offset"), "Model")
    buffers = model.tables(4, "Buffer")
    codes = []
    for oc in model.tables(1, "OperatorCode"):
        code = max(int(oc.scalar(0, "b", 0)), int(oc.scalar(3, "i", 0)))
        codes.append(
            BUILTIN_NAMES.get(code, f"BUILTIN_{code}")
            if code != 32
            else f"CUSTOM:{oc.string(1, 'custom_code')}"
        )
    subgraphs = model.tables(2, "SubGraph")
    if not subgraphs:
        raise CodegenError(f"{what}: the model has no subgraph")
    sg = subgraphs[0]

    tensors: list[Tensor] = []
    for i, t in enumerate(sg.tables(0, "Tensor")):
        name = t.string(3, "name") or f"tensor_{i}"
        ttype = int(t.scalar(1, "b", 0))
        if ttype not in TENSOR_TYPES:
            raise CodegenError(
                f"{what}: tensor {i} '{name}' has type code {ttype}; supported: "
                f"{sorted(TENSOR_TYPES)} (float32, int32, uint8, int64, bool, int16, int8)"
            )
        shape = tuple(int(d) for d in t.array(0, "i4", "shape"))
        if any(d < 0 for d in shape):
            raise CodegenError(
                f"{what}: tensor {i} '{name}' has a dynamic shape {shape}; "
                "expected static dimensions"
            )
        dtype = TENSOR_TYPES[ttype]
        bidx = int(t.scalar(2, "I", 0))
        if bidx >= len(buffers):
            raise CodegenError(
                f"{what}: tensor {i} '{name}' names buffer {bidx}, "
                f"but the model has {len(buffers)} buffers"
            )
        const = _buffer_bytes(buf, buffers[bidx], bidx, what) if bidx else None
        value = None
        if const:
            count = int(np.prod(shape)) if shape else 1
            if len(const) != count * dtype.itemsize:
                raise CodegenError(
                    f"{what}: tensor {i} '{name}' shape {shape} {dtype} needs "
                    f"{count * dtype.itemsize} bytes, its buffer {bidx} holds {len(const)}"
                )
            value = np.frombuffer(const, dtype.newbyteorder("<")).astype(dtype).reshape(shape)
        scales = np.zeros(0, np.float32)
        zps = np.zeros(0, np.int64)
        qdim = 0
        q = t.table(4, f"Tensor[{i}].quantization")
        if q is not None:
            scales = q.array(2, "f4", "scale").astype(np.float32)
            zps = q.array(3, "i8", "zero_point").astype(np.int64)
            qdim = int(q.scalar(6, "i", 0))
            if len(zps) not in (0, len(scales)):
                raise CodegenError(
                    f"{what}: tensor {i} '{name}' has {len(scales)} scales "
                    f"but {len(zps)} zero points"
                )
        tensors.append(Tensor(i, name, shape, dtype, scales, zps, qdim, value))

    def _check_indices(arr: np.ndarray, ctx: str, allow_optional: bool) -> tuple[int, ...]:
        for v in arr:
            if not (0 <= v < len(tensors) or (allow_optional and v == -1)):
                raise CodegenError(
                    f"{what}: {ctx} names tensor {int(v)}, "
                    f"but the subgraph has {len(tensors)} tensors"
                )
        return tuple(int(v) for v in arr)

    inputs = _check_indices(sg.array(1, "i4", "inputs"), "subgraph inputs", False)
    outputs = _check_indices(sg.array(2, "i4", "outputs"), "subgraph outputs", False)
    ops: list[Op] = []
    for k, o in enumerate(sg.tables(3, "Operator")):
        oci = int(o.scalar(0, "I", 0))
        if oci >= len(codes):
            raise CodegenError(
                f"{what}: op {k} uses opcode index {oci}, "
                f"but the model has {len(codes)} operator codes"
            )
        name = codes[oci]
        ins = _check_indices(o.array(1, "i4", "inputs"), f"op {k} ({name}) inputs", True)
        outs = _check_indices(o.array(2, "i4", "outputs"), f"op {k} ({name}) outputs", False)
        options: dict[str, int] = {}
        spec = OPTION_FIELDS.get(name)
        if spec:
            opt = o.table(4, f"Operator[{k}].options")
            for fname, fid, fmt, default in spec:
                options[fname] = int(opt.scalar(fid, fmt, default)) if opt else default
        ops.append(Op(k, name, ins, outs, options))
    return Graph(tensors, ops, inputs, outputs)


def _buffer_bytes(buf: _Buf, b: _Table, bidx: int, what: str) -> bytes | None:
    data = b.raw(0, "data")
    if data:
        return data
    offset = int(b.scalar(1, "Q", 0))
    size = int(b.scalar(2, "Q", 0))
    if offset > 1 and size:
        if offset + size > len(buf.data):
            raise CodegenError(
                f"{what}: buffer {bidx} lies at offset {offset} size {size}, "
                f"beyond the file ({len(buf.data)} bytes)"
            )
        return bytes(buf.data[offset : offset + size])
    return None
