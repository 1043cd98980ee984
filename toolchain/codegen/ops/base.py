"""The op emitter base class, the `OPS` registry and the generation context.

Every supported TFLite op is one `OpEmitter` subclass in its own module, registered in `OPS`
under the builtin op name at its definition site. An emitter has the same few hooks:
`prepare` (Python, at generation time: checks types and shapes, computes padding,
multipliers, shifts and tables, and puts constants into the weights blob), `emit` (the C
statements calling its kernel), `macs` and `aliases_input` (for the planner).

Example:
    @OPS.register("RELU")
    class Relu(OpEmitter): ...
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from toolchain.codegen.graph import Graph, Op, Tensor
from toolchain.errors import CodegenError
from toolchain.registry import Registry

OPS: Registry[type[OpEmitter]] = Registry("codegen op")

KERNELS_DIR = Path(__file__).resolve().parents[3] / "firmware_templates" / "kernels"


def kernel_define(kernel: str, macro: str) -> int:
    """The integer value of `#define MACRO N` in firmware_templates/kernels/<kernel>.h: the C
    headers are the one source of such sizes (e.g. CONV_2D_SCRATCH_BYTES)."""
    match = re.search(rf"#define {macro} (\d+)", (KERNELS_DIR / f"{kernel}.h").read_text())
    if match is None:
        raise CodegenError(f"kernels/{kernel}.h defines no {macro}")
    return int(match.group(1))


# Element type codes of the generated C interface (same as the protocol's INFO reply).
TYPE_CODES = {np.dtype(np.int8): 0, np.dtype(np.uint8): 1, np.dtype(np.float32): 2}
C_TYPES = {
    np.dtype(np.int8): "int8_t",
    np.dtype(np.uint8): "uint8_t",
    np.dtype(np.float32): "float",
    np.dtype(np.int32): "int32_t",
    np.dtype(np.int16): "int16_t",
}
INT8 = np.dtype(np.int8)
UINT8 = np.dtype(np.uint8)
FLOAT32 = np.dtype(np.float32)
INT32 = np.dtype(np.int32)


class WeightsBlob:
    """The constant blob: each entry 16-byte aligned, identical contents stored once."""

    ALIGN = 16

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self._seen: dict[bytes, int] = {}

    def add(self, data: bytes) -> int:
        """Append `data` (little-endian bytes) and return its offset in the blob."""
        key = hashlib.sha256(data).digest() + len(data).to_bytes(8, "little")
        if key in self._seen:
            return self._seen[key]
        pad = (-self.size) % self.ALIGN
        if pad:
            self.chunks.append(b"\0" * pad)
            self.size += pad
        offset = self.size
        self.chunks.append(data)
        self.size += len(data)
        self._seen[key] = offset
        return offset

    def tobytes(self) -> bytes:
        data = b"".join(self.chunks)
        return data + b"\0" * ((-len(data)) % self.ALIGN)


class Context:
    """What emitters share: the graph, the weights blob and (after planning) tensor storage."""

    def __init__(self, graph: Graph, name: str, helium: bool = False):
        self.graph = graph
        self.name = name
        self.helium = helium  # the target runs the Helium kernels (their scratch is planned)
        self.weights = WeightsBlob()
        self.offsets: dict[int, int] = {}  # arena offsets, filled by the planner
        self.scratch_offsets: dict[int, int] = {}  # op position → arena offset of its scratch
        self.const_offsets: dict[int, int] = {}  # blob offsets of constant tensors

    def scratch(self, op: Op) -> str:
        """C expression for op's kernel scratch in the arena, or NULL when none is planned."""
        position = self.graph.ops.index(op)
        if position not in self.scratch_offsets:
            return "NULL"
        return f"(void *)(arena + {self.scratch_offsets[position]})"

    def const(self, array: np.ndarray, ctype: str) -> str:
        """Put `array` into the blob; return a C expression pointing at it."""
        arr = np.ascontiguousarray(array)
        offset = self.weights.add(arr.astype(arr.dtype.newbyteorder("<")).tobytes())
        return f"(const {ctype} *)({self.name}_weights + {offset})"

    def ptr(self, index: int, const: bool = False) -> str:
        """C expression for tensor `index`'s storage (graph input/output, arena or blob)."""
        t = self.graph.tensors[index]
        ctype = C_TYPES[t.dtype]
        if t.is_const:
            if index not in self.const_offsets:
                self.const_offsets[index] = self.weights.add(
                    np.ascontiguousarray(t.value).astype(t.dtype.newbyteorder("<")).tobytes()
                )
            return f"(const {ctype} *)({self.name}_weights + {self.const_offsets[index]})"
        qual = "const " if const else ""
        if index == self.graph.inputs[0]:
            return f"({qual}{ctype} *)in"
        if index == self.graph.outputs[0]:
            return f"({ctype} *)out"
        return f"({qual}{ctype} *)(arena + {self.offsets[index]})"


def c_struct(ctype: str, fields: dict[str, object]) -> str:
    """`static const TYPE p = {.a = 1, ...};` with floats printed exactly (hex floats)."""
    parts = []
    for key, value in fields.items():
        if isinstance(value, (list, tuple)):
            text = "{" + ", ".join(_c_value(v) for v in value) + "}"
        else:
            text = _c_value(value)
        parts.append(f".{key} = {text}")
    return f"static const {ctype} p = {{{', '.join(parts)}}};"


def _c_value(v: object) -> str:
    if isinstance(v, (float, np.floating)):
        f = np.float32(v)
        return f"{float(f).hex()}f"
    iv = int(v)  # type: ignore[arg-type]
    if iv == -(1 << 31):
        return "(-2147483647 - 1)"
    return str(iv)


class OpEmitter:
    """One op of the schedule; subclasses implement `prepare`, `emit` and maybe `macs`.

    Args:
        ctx: the shared generation context.
        op: the op to translate.
    """

    #: kernel sources (basenames in firmware_templates/kernels) the emitted code calls.
    kernels: tuple[str, ...] = ()
    #: True when the kernel reads output element i's full-shape inputs at index i before it
    #: writes element i (elementwise ops): the output may then overwrite such an input.
    elementwise: bool = False

    def __init__(self, ctx: Context, op: Op):
        self.ctx = ctx
        self.op = op
        self.inputs: list[Tensor | None] = [
            ctx.graph.tensors[i] if i >= 0 else None for i in op.inputs
        ]
        self.outputs: list[Tensor] = [ctx.graph.tensors[i] for i in op.outputs]

    # -- hooks ---------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Check types and shapes, compute parameters, store constants."""

    def emit(self) -> str:
        """C statements (without the surrounding comment) running this op."""
        raise CodegenError(f"{self.where()}: no C emitter")

    def macs(self) -> int:
        return 0

    def scratch_bytes(self) -> int:
        """Bytes of arena scratch the op's Helium kernel uses (planned only for Helium
        targets, live during this op only); 0: none."""
        return 0

    def aliases_input(self) -> bool:
        """True when the output may share the first input's storage (RESHAPE, SQUEEZE)."""
        return False

    def overlap_bytes(self) -> int | None:
        """For row-streaming kernels: S such that the output may start S bytes before the
        first input's storage when nobody reads that input afterwards (the planner decides;
        see `planner.streaming_overlap`). None: the output needs its own storage."""
        return None

    def in_place_inputs(self) -> list[int]:
        """Tensor indices of inputs the output may overwrite if they are not read afterwards
        (the planner decides): for elementwise ops, the inputs of the output's shape and type."""
        if not self.elementwise:
            return []
        y = self.outputs[0]
        return [
            i
            for i, t in zip(self.op.inputs, self.inputs, strict=True)
            if t is not None
            and not t.is_const
            and tuple(t.shape) == tuple(y.shape)
            and t.dtype.itemsize == y.dtype.itemsize
        ]

    # -- helpers -------------------------------------------------------------------------------
    def where(self) -> str:
        out = self.outputs[0] if self.outputs else None
        name = f"'{out.name}'" if out else "(no output)"
        return f"op {self.op.index} {self.op.name} (output {name})"

    def fail(self, message: str) -> CodegenError:
        return CodegenError(f"{self.where()}: {message}")

    def need_inputs(self, low: int, high: int | None = None) -> None:
        high = low if high is None else high
        n = len(self.inputs)
        if not low <= n <= high or any(t is None for t in self.inputs[:low]):
            raise self.fail(f"expected {low}..{high} inputs, received {n}")
        if len(self.outputs) != 1:
            raise self.fail(f"expected 1 output, received {len(self.outputs)}")

    def need_dtype(self, t: Tensor | None, *dtypes: np.dtype) -> Tensor:
        if t is None:
            raise self.fail("a required input is missing")
        if t.dtype not in dtypes:
            raise self.fail(
                f"{t.describe()}: expected type {' or '.join(map(str, dtypes))}, received {t.dtype}"
            )
        return t

    def need_per_tensor(self, t: Tensor) -> None:
        if len(t.scales) != 1 or len(t.zero_points) != 1:
            raise self.fail(
                f"{t.describe()}: expected per-tensor quantization (one scale and "
                f"zero point), received {len(t.scales)} scales"
            )
        if not t.scale > 0 or not np.isfinite(t.scale):
            raise self.fail(f"{t.describe()}: expected a positive finite scale, received {t.scale}")

    def need_const(self, t: Tensor | None, what: str) -> np.ndarray:
        if t is None or t.value is None:
            raise self.fail(f"{what} must be a constant tensor")
        return t.value

    def call(self, struct_type: str, fields: dict[str, object], call: str) -> str:
        return f"{c_struct(struct_type, fields)}\n{call}"
