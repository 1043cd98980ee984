"""Write the generated network: `<name>_network.h/.c`, the weights blob and its `.S`, kernels.

`generate_network` is the code generator's entry point: read the `.tflite` bytes, fold
lowered dilated convolutions back, prepare one emitter per op, plan the arena and print a
straight-line C schedule. Generated files state the reidtool version, the command and the
model's SHA-256. Kernel sources are copied into `out_dir/kernels/` so the folder is a
self-contained library; `NetworkInfo.files` lists every file written (the project renderer
needs only to compile the `.c`/`.S` files with `-I out_dir`, for `.incbin`).

Example:
    info = generate_network("model_int8.tflite", "build/net")
    info.arena_size, info.weights_size, info.macs
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import toolchain
from toolchain.codegen import ops as _ops  # noqa: F401  (registers every emitter)
from toolchain.codegen.graph import Graph, fuse_dilated_convs
from toolchain.codegen.ops.base import KERNELS_DIR, OPS, TYPE_CODES, Context, OpEmitter
from toolchain.codegen.planner import Buffer, Plan, graph_buffers, plan_arena, scratch_key
from toolchain.codegen.tables import fuse_lookup_tables
from toolchain.codegen.tflite_model import read_tflite
from toolchain.errors import CodegenError
from toolchain.files import atomic_write_bytes, atomic_write_text

WEIGHTS_SECTION = ".reid_weights"


def shared_headers() -> list[str]:
    """Kernel headers without a .c of their own (requantization, broadcasting, the Helium
    kernels...): every generated project gets all of them, so a new one needs no edit here."""
    return sorted(h.name for h in KERNELS_DIR.glob("*.h") if not h.with_suffix(".c").exists())


@dataclass
class NetworkInfo:
    """What `generate_network` produced (the same facts as the generated header)."""

    name: str
    input_shape: tuple[int, ...]
    input_dtype: str
    input_scale: float
    input_zero_point: int
    output_shape: tuple[int, ...]
    output_dtype: str
    output_scale: float
    output_zero_point: int
    arena_size: int
    arena_lower_bound: int
    weights_size: int
    macs: int
    params: int
    layers: list[dict] = field(default_factory=list)
    model_hash: str = ""
    files: list[Path] = field(default_factory=list)

    @property
    def io_bytes(self) -> int:
        return (
            int(np.prod(self.input_shape)) * np.dtype(self.input_dtype).itemsize
            + int(np.prod(self.output_shape)) * np.dtype(self.output_dtype).itemsize
        )


@dataclass
class Compiled:
    """A graph with its prepared emitters, arena plan and weights (before any file is written)."""

    graph: Graph
    ctx: Context
    emitters: list[OpEmitter]
    plan: Plan
    model_hash: bytes


def compile_graph(
    data: bytes, name: str = "reid", what: str = "<model>", helium: bool = False
) -> Compiled:
    """Parse, prepare every op and plan the arena; no files are written.

    `helium`: the target runs the Helium (MVE) kernels (Cortex-M55 boards): ops whose fast
    path needs scratch memory (im2col rows, repacked weights, row rings, tables) get it in the
    arena, planned like a tensor that lives for that op only (`OpEmitter.scratch_bytes`).

    Raises:
        CodegenError: an unsupported op (named with its index and output tensor), a bad type,
            shape or quantization, or a malformed file.
    """
    graph = fuse_lookup_tables(fuse_dilated_convs(read_tflite(data, what)))
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise CodegenError(
            f"{what}: expected one input and one output tensor, received "
            f"{len(graph.inputs)} inputs and {len(graph.outputs)} outputs"
        )
    if graph.inputs[0] == graph.outputs[0]:
        raise CodegenError(f"{what}: the input tensor is also the output; there is nothing to run")
    ctx = Context(graph, name, helium=helium)
    emitters: list[OpEmitter] = []
    for op in graph.ops:
        if op.name not in OPS:
            out = graph.tensors[op.outputs[0]].name if op.outputs else "(none)"
            raise CodegenError(
                f"{what}: op {op.index} {op.name} (output '{out}') is not supported by the code "
                f"generator; supported ops: {', '.join(OPS.names())}"
            )
        em = OPS.get(op.name)(ctx, op)
        em.prepare()
        emitters.append(em)
    aliases = {em.op.outputs[0]: em.op.inputs[0] for em in emitters if em.aliases_input()}
    in_place = {em.op.outputs[0]: em.in_place_inputs() for em in emitters if em.in_place_inputs()}
    plan, keys, inner = best_plan(graph, emitters, aliases, in_place)
    ctx.offsets = {t: plan.offsets[k] + inner[t] for t, k in keys.items()}
    ctx.scratch_offsets = {
        k: plan.offsets[scratch_key(k)]
        for k in range(len(emitters))
        if scratch_key(k) in plan.offsets
    }
    return Compiled(graph, ctx, emitters, plan, hashlib.sha256(data).digest())


def scratch_buffers(emitters: list[OpEmitter]) -> list[Buffer]:
    """Arena buffers of the Helium kernels' scratch (Helium targets only): one per op that
    needs it, alive during that op only."""
    return [
        Buffer(scratch_key(k), em.scratch_bytes(), k, k)
        for k, em in enumerate(emitters)
        if em.ctx.helium and em.scratch_bytes() > 0
    ]


def best_plan(
    graph: Graph,
    emitters: list[OpEmitter],
    aliases: dict[int, int],
    in_place: dict[int, list[int]],
) -> tuple[Plan, dict[int, int], dict[int, int]]:
    """The smallest arena of a few placements: streaming overlaps taken for every op that
    allows them, for the downsampling ones only, or for none.

    A merged buffer is reserved for the union of its tensors' lifetimes, so an overlap that
    saves bytes at one step can cost more elsewhere (osnet_a025 at 256x128: 288 KiB without,
    321.5 KiB with every overlap); mobilenetv2_a035 gains 30 KiB from them.
    """
    allowed = {
        em.op.outputs[0]: (em.op.inputs[0], em.overlap_bytes(), em.outputs[0].nbytes)
        for em in emitters
        if em.overlap_bytes() is not None
    }
    choices = [
        {t: (i, s) for t, (i, s, _) in allowed.items()},
        {t: (i, s) for t, (i, s, n) in allowed.items() if n < graph.tensors[i].nbytes},
        {},
    ]
    best = None
    scratch = scratch_buffers(emitters)
    for overlap in choices:
        buffers, keys, inner = graph_buffers(graph, aliases, in_place, overlap)
        plan = plan_arena(buffers + scratch)
        if best is None or plan.arena_size < best[0].arena_size:
            best = (plan, keys, inner)
    return best


def _c_string(text: str) -> str:
    safe = "".join(c if 32 <= ord(c) < 127 and c not in '"\\?' else "_" for c in text)
    return f'"{safe}"'


def _comment(text: str) -> str:
    return re.sub(r"[^ -~]", "_", text).replace("*/", "*_")


def _dtype_name(dt: np.dtype) -> str:
    return np.dtype(dt).name


def generate_network(
    tflite_path: str | Path,
    out_dir: str | Path,
    name: str = "reid",
    command: str | None = None,
    helium: bool = False,
) -> NetworkInfo:
    """Translate an int8 `.tflite` into portable C99 in `out_dir`.

    Args:
        tflite_path: the model file.
        out_dir: folder to write into (created); `kernels/` inside it receives the kernels.
        name: the C prefix (`<name>_network_run`, `NAME_ARENA_SIZE`...); a C identifier.
        command: the command line to record in the generated files' header.
        helium: plan the Helium kernels' scratch in the arena (Cortex-M55 boards; see
            `compile_graph`).

    Returns:
        `NetworkInfo`: I/O shapes and quantization, arena size and lower bound, weights size,
        MACs, per-layer list, model hash and the files written.
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise CodegenError(f"network name '{name}' must be a C identifier ([A-Za-z_][A-Za-z0-9_]*)")
    path = Path(tflite_path)
    if not path.is_file():
        raise CodegenError(f"TFLite model not found: {path}")
    data = path.read_bytes()
    comp = compile_graph(data, name, str(path), helium=helium)
    out = Path(out_dir)
    (out / "kernels").mkdir(parents=True, exist_ok=True)
    graph, ctx = comp.graph, comp.ctx
    x = graph.tensors[graph.inputs[0]]
    y = graph.tensors[graph.outputs[0]]
    for t in (x, y):
        if t.dtype not in TYPE_CODES:
            raise CodegenError(f"{path}: network {t.describe()} must be int8, uint8 or float32")
    # The body is printed first: printing registers the remaining constants in the blob.
    body = _run_body(comp)
    weights = ctx.weights.tobytes()
    layers = [
        {"name": graph.tensors[em.op.outputs[0]].name, "op": em.op.name, "macs": em.macs()}
        for em in comp.emitters
    ]
    macs = sum(layer["macs"] for layer in layers)
    hexhash = comp.model_hash.hex()
    cmd = command or f"generate_network({path.name!r}, name={name!r})"
    header = (
        f"/* Generated by reidtool {toolchain.__version__}: do not edit.\n"
        f" * command: {_comment(cmd)}\n * model: {_comment(path.name)} sha256 {hexhash}\n */\n"
    )
    up = name.upper()
    files: list[Path] = []

    def shape_hwc(t) -> tuple[int, int, int]:
        s = list(t.shape)
        if len(s) == 4:
            return s[1], s[2], s[3]
        rest = int(np.prod(s[1:])) if len(s) > 1 else (s[0] if s else 1)
        return 1, 1, rest

    h, w, c = shape_hwc(x)
    defs = {
        "NUM_LAYERS": len(layers),
        "ARENA_SIZE": comp.plan.arena_size,
        "WEIGHTS_SIZE": len(weights),
        "MACS": f"{macs}ULL",
        "INPUT_SIZE": x.nbytes,
        "INPUT_H": h,
        "INPUT_W": w,
        "INPUT_C": c,
        "INPUT_TYPE": TYPE_CODES[x.dtype],
        "INPUT_SCALE": f"{float(x.scale).hex()}f",
        "INPUT_ZERO_POINT": x.zero_point,
        "OUTPUT_SIZE": y.nbytes,
        "OUTPUT_TYPE": TYPE_CODES[y.dtype],
        "OUTPUT_SCALE": f"{float(y.scale).hex()}f",
        "OUTPUT_ZERO_POINT": y.zero_point,
    }
    guard = f"{up}_NETWORK_H"
    h_text = header + (
        f"#ifndef {guard}\n#define {guard}\n\n#include <stdint.h>\n\n"
        + "".join(f"#define {up}_{k} ({v})\n" for k, v in defs.items())
        + f"\n/* element types: 0 = int8, 1 = uint8, 2 = float32 */\n"
        f"typedef struct {{ const char *name; const char *op; uint32_t macs; }} {name}_layer_t;\n\n"
        f"extern const uint8_t {name}_model_hash[32];\n"
        f"extern const {name}_layer_t {name}_layers[{up}_NUM_LAYERS];\n"
        f"extern const uint8_t {name}_weights[];\n\n"
        f"/* Runs the network: `in` holds {up}_INPUT_SIZE bytes, `out` receives {up}_OUTPUT_SIZE\n"
        f" * bytes, `arena` is {up}_ARENA_SIZE bytes of scratch (16-byte aligned). 0 = ok. */\n"
        f"int {name}_network_run(const void *in, void *out, uint8_t *arena);\n\n"
        f"#ifdef {up}_PROFILING\n/* Implemented by the application. */\n"
        f"void {name}_profile_begin(int layer);\nvoid {name}_profile_end(int layer);\n#endif\n\n"
        f"#endif /* {guard} */\n"
    )
    kernels = sorted({k for em in comp.emitters for k in em.kernels})
    includes = "".join(f'#include "kernels/{k}.h"\n' for k in kernels)
    hash_bytes = ", ".join(f"0x{b:02x}" for b in comp.model_hash)
    layer_rows = ",\n".join(
        f"    {{{_c_string(layer['name'])}, {_c_string(layer['op'])}, "
        f"{min(layer['macs'], 2**32 - 1)}u}}"
        for layer in layers
    )
    c_text = header + (
        f'#include <stddef.h>\n#include <stdint.h>\n#include "{name}_network.h"\n{includes}\n'
        f"const uint8_t {name}_model_hash[32] = {{{hash_bytes}}};\n\n"
        f"const {name}_layer_t {name}_layers[{up}_NUM_LAYERS] = {{\n{layer_rows}\n}};\n\n"
        f"#ifdef {up}_PROFILING\n#define PROFILE_BEGIN(i) {name}_profile_begin(i)\n"
        f"#define PROFILE_END(i) {name}_profile_end(i)\n#else\n"
        f"#define PROFILE_BEGIN(i) ((void)0)\n#define PROFILE_END(i) ((void)0)\n#endif\n\n"
        f"int {name}_network_run(const void *in, void *out, uint8_t *arena)\n{{\n"
        f"    if (in == NULL || out == NULL || (arena == NULL && {up}_ARENA_SIZE > 0)) {{\n"
        f"        return -1;\n    }}\n    (void)arena;\n{body}    return 0;\n}}\n"
    )
    s_text = (
        f"/* Generated by reidtool {toolchain.__version__}: weights of model sha256 {hexhash}. */\n"
        f'    .section {WEIGHTS_SECTION}, "a"\n    .balign 16\n'
        f"    .global {name}_weights\n    .type {name}_weights, %object\n"
        f'{name}_weights:\n    .incbin "{name}_weights.bin"\n'
        f"    .size {name}_weights, . - {name}_weights\n"
        f'    .section .note.GNU-stack, "", %progbits\n'
    )
    files.append(atomic_write_text(out / f"{name}_network.h", h_text))
    files.append(atomic_write_text(out / f"{name}_network.c", c_text))
    files.append(atomic_write_bytes(out / f"{name}_weights.bin", weights or b"\0" * 16))
    files.append(atomic_write_text(out / f"{name}_weights.S", s_text))
    for k in kernels:
        for ext in (".c", ".h"):
            src = KERNELS_DIR / f"{k}{ext}"
            shutil.copyfile(src, out / "kernels" / src.name)
            files.append(out / "kernels" / src.name)
    for hdr in shared_headers():
        shutil.copyfile(KERNELS_DIR / hdr, out / "kernels" / hdr)
        files.append(out / "kernels" / hdr)
    params = sum(
        t.size for t in graph.tensors if t.is_const and t.dtype != np.dtype(np.int32)
    ) + sum(
        graph.tensors[em.op.inputs[2]].size
        for em in comp.emitters
        if len(em.op.inputs) > 2
        and em.op.inputs[2] >= 0
        and em.op.name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
    )
    return NetworkInfo(
        name=name,
        input_shape=tuple(x.shape),
        input_dtype=_dtype_name(x.dtype),
        input_scale=x.scale,
        input_zero_point=x.zero_point,
        output_shape=tuple(y.shape),
        output_dtype=_dtype_name(y.dtype),
        output_scale=y.scale,
        output_zero_point=y.zero_point,
        arena_size=comp.plan.arena_size,
        arena_lower_bound=comp.plan.lower_bound,
        weights_size=len(weights),
        macs=macs,
        params=int(params),
        layers=layers,
        model_hash=hexhash,
        files=files,
    )


def _run_body(comp: Compiled) -> str:
    lines = []
    for k, em in enumerate(comp.emitters):
        out = comp.graph.tensors[em.op.outputs[0]].name
        lines.append(f'    /* layer {k}: op {em.op.index} {em.op.name} -> "{_comment(out)}" */')
        lines.append(f"    PROFILE_BEGIN({k});")
        stmt = em.emit()
        lines.append("    {")
        lines.extend(f"        {line}" for line in stmt.splitlines())
        lines.append("    }")
        lines.append(f"    PROFILE_END({k});")
    return "\n".join(lines) + "\n"
