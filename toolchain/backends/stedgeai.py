"""The `stedgeai` backend: ST Edge AI Core's network and runtime behind reidtool's application.

`stedgeai generate` (exact command line: `toolchain.stedgeai.generate_commands`) writes ST's C
network (st-ai API) into `<project>/st_ai_output`; this module copies what the firmware needs
into the project (ST's generated `.c/.h`, the headers of `Middlewares/ST/AI/Inc`, the Cortex-M55
runtime library `NetworkRuntime*_CM55_GCC.a`), writes `<name>_network.h/.c`, the C interface
of docs/architecture.md implemented on ST's `stai_<name>_*` functions, and renders the same
application, protocol and board support as the builtin backend. So `reidtool build`, `flash`,
`hil-eval` and `validate` work unchanged. The report (`<name>_c_info.json`, else the text
report) becomes `stedgeai_report.json`, in the CONTRACTS §3 `benchmark` keys.

The N6's Neural-ART path (`--st-neural-art`) also needs the NPU runtime (`ll_aton`) and the
NPU, cache, RIF and XSPI2 bring-up from ST's STM32CubeN6, which this repository does not hold:
that project is assembled and then refused with a NotAvailableError naming what is missing.
ST's tools cannot be installed here: docs/st-tools.md says what was verified and how.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import jinja2

from toolchain import __version__
from toolchain import stedgeai as st
from toolchain.backends import BACKENDS
from toolchain.boards.base import Board, get_board
from toolchain.boards.project import TEMPLATES, check_reply_fits, model_hash, render_project
from toolchain.errors import BoardError, NotAvailableError, UsageError
from toolchain.files import atomic_write_json, atomic_write_text

ADAPTER_DIR = TEMPLATES / "stedgeai"
#: Where the project keeps ST's runtime (relative paths: the project stays self-contained).
ST_DIR = "st_ai"
#: Boards ST's runtime library can be linked for (Cortex-M55); the host has none.
RUNTIME_BOARDS = ("qemu-m55", "STM32N6570-DK")
#: NPU weights (`<name>_atonbuf.xSPI2.raw`) go to the N6570-DK's external flash here.
N6_WEIGHTS_FILE = "{name}_weights_xspi2.bin"
TYPE_CODES = {"int8": 0, "uint8": 1, "float32": 2}


@BACKENDS.register("stedgeai")
def generate_stedgeai(
    tflite_path: Path,
    out_dir: Path,
    *,
    board: str,
    name: str,
    command: str | None = None,
    stedgeai: st.StEdgeAiOptions | None = None,
) -> Path:
    """Run `stedgeai generate` for `board` and assemble the firmware project in `out_dir`.

    Raises:
        NotAvailableError: `on_cloud`, or the N6 NPU project (assembled, not buildable here).
        UsageError: a board ST's runtime cannot run on (`host`), a bad name or optimization.
        ToolMissingError: `stedgeai` is not installed (exit 2, names it and where to get it).
        ReidtoolError: stedgeai failed (quotes its last lines) or its report is unreadable.
    """
    options = stedgeai or st.StEdgeAiOptions()
    options.check()
    the_board = get_board(board)
    if the_board.name not in RUNTIME_BOARDS:
        raise UsageError(
            f"--backend stedgeai: board {the_board.name} cannot link ST's Cortex-M55 runtime "
            f"library; boards: {', '.join(RUNTIME_BOARDS)} (or use --backend builtin)"
        )
    if not name.isidentifier():
        raise UsageError(f"--name must be a C identifier; received {name!r}")
    tool = st.find_stedgeai(options.path_to_stedgeai)
    tflite_path, out_dir = Path(tflite_path), Path(out_dir)
    if not tflite_path.is_file():
        raise BoardError(f"model file {tflite_path} does not exist")
    out_dir.mkdir(parents=True, exist_ok=True)
    model = out_dir / "model.tflite"
    if tflite_path.resolve() != model.resolve():
        shutil.copyfile(tflite_path, model)

    for cmd in st.generate_commands(
        model, out_dir, board=the_board.name, name=name, options=options, tool=tool
    ):
        st.run(cmd, "generate")
    generated = out_dir / "st_ai_output"
    benchmark = st.read_reports(generated, name)
    atomic_write_json(out_dir / "stedgeai_report.json", benchmark)

    npu = st.uses_neural_art(the_board.name)
    runtime = collect_runtime(tool, generated, out_dir, name, npu=npu)
    network = network_facts(model, benchmark, name, runtime)
    write_adapter(out_dir, name, network, runtime, command)
    check_reply_fits(network)
    render_project(
        out_dir,
        board=board_with_runtime(the_board, runtime),
        name=name,
        network=network,
        digest=network["model_hash"],
        command=command,
    )
    if npu:
        raise NotAvailableError(
            f"stedgeai compiled the network for the Neural-ART NPU into {out_dir} (ST's "
            f"{runtime['header']}, ll_aton in {ST_DIR}/ll_aton, weights in "
            f"{runtime['weights_file']} for the external flash), but the NPU, cache, RIF and "
            "XSPI2 bring-up and STM32CubeN6's device headers it needs are not part of reidtool: "
            "see docs/stedgeai.md; the CPU-only project is --board qemu-m55, the N6 project "
            "without ST's tools is --backend builtin"
        )
    return out_dir


def collect_runtime(
    tool: st.StEdgeAi, generated: Path, out_dir: Path, name: str, *, npu: bool
) -> dict[str, Any]:
    """Copy ST's generated network and runtime into the project; returns what the adapter,
    the Makefile flags and project.json need (`header`, `library`, `runtime`, `files`)."""
    root = tool.root
    if root is None or not (root / st.INC_DIR).is_dir():
        raise BoardError(
            f"ST's runtime was not found next to {tool.path}: expected ST's layout "
            f"<root>/Utilities/<os>/stedgeai with <root>/{st.INC_DIR.as_posix()}"
        )
    ours = {f"{name}_network.h", f"{name}_network.c"}
    files = []
    for path in sorted(generated.glob("*.[ch]")):
        if path.name in ours:
            raise BoardError(f"stedgeai wrote {path}, which would overwrite reidtool's adapter")
        shutil.copyfile(path, out_dir / path.name)
        files.append(path.name)
    header = f"stai_{name}.h" if npu else f"{name}.h"
    if header not in files:
        raise BoardError(f"stedgeai wrote no {header} in {generated} (st-ai API, --c-api st-ai)")
    inc = out_dir / ST_DIR / "Inc"
    if inc.exists():
        shutil.rmtree(inc)
    shutil.copytree(root / st.INC_DIR, inc)
    libs = sorted((root / st.CM55_LIB_DIR).glob(st.CM55_LIB_GLOB))
    if not libs:
        raise BoardError(
            f"no {st.CM55_LIB_GLOB} in {root / st.CM55_LIB_DIR}: ST's Cortex-M55 runtime library"
        )
    lib = out_dir / ST_DIR / "Lib" / libs[-1].name
    lib.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(libs[-1], lib)
    runtime: dict[str, Any] = {
        "tool": tool.path,
        "version": tool.version,
        "header": header,
        "library": lib.relative_to(out_dir).as_posix(),
        "runtime": f"runtime {libs[-1].name}",
        "files": files,
        "weights_file": None,
    }
    if npu:
        npu_src = root / st.NPU_DIR
        if npu_src.is_dir():
            target = out_dir / ST_DIR / "ll_aton"
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(npu_src, target)
        raws = sorted(generated.glob(f"{name}_atonbuf.*.raw"))
        if raws:
            weights = out_dir / N6_WEIGHTS_FILE.format(name=name)
            shutil.copyfile(raws[0], weights)
            runtime["weights_file"] = weights.name
        runtime["runtime"] += " + ll_aton (Neural-ART)"
    return runtime


def network_facts(
    model: Path, benchmark: dict[str, Any], name: str, runtime: dict[str, Any]
) -> dict[str, Any]:
    """The NetworkInfo-like facts of the project (project.json, the adapter's header): I/O from
    the model through the oracle, sizes and MACs from stedgeai's report."""
    from toolchain.oracle import Oracle

    oracle = Oracle(model)
    facts: dict[str, Any] = {"backend": "stedgeai", "stedgeai": runtime}
    for side, shape, dtype, (scale, zero) in (
        ("input", oracle.input_shape, oracle.input_dtype, oracle.input_quantization),
        ("output", oracle.output_shape, oracle.output_dtype, oracle.output_quantization),
    ):
        if dtype.name not in TYPE_CODES:
            raise UsageError(f"{model}: {side} type {dtype.name} is not int8, uint8 or float32")
        facts[f"{side}_shape"] = list(shape)
        facts[f"{side}_dtype"] = dtype.name
        facts[f"{side}_scale"] = scale
        facts[f"{side}_zero_point"] = zero
        facts[f"{side}_size"] = int(dtype.itemsize * max(1, _prod(shape)))
    arena = int(benchmark.get("arena_bytes", 0))
    facts.update(
        name=name,
        arena_size=arena,
        weights_size=int(benchmark.get("weights_bytes", 0)),
        macs=int(benchmark.get("macs", 0)),
        layers=[
            {"name": f"stedgeai {name}", "op": "STEDGEAI", "macs": int(benchmark.get("macs", 0))}
        ],
        model_hash=model_hash(model),
    )
    return facts


def _prod(shape) -> int:
    total = 1
    for d in shape:
        total *= int(d)
    return total


def _hwc(shape: list[int]) -> tuple[int, int, int]:
    if len(shape) == 4:
        return shape[1], shape[2], shape[3]
    return 1, 1, _prod(shape[1:]) if len(shape) > 1 else _prod(shape)


#: The arena is ST's activations plus room to align them (ST_(ACTIVATION_1_ALIGNMENT) <= 64).
ARENA_SLACK = 64


def write_adapter(
    out_dir: Path, name: str, network: dict[str, Any], runtime: dict[str, Any], command: str | None
) -> list[Path]:
    """Render `<name>_network.h/.c` (firmware_templates/stedgeai) from the computed facts."""
    h, w, c = _hwc(network["input_shape"])
    defines = [
        ("NUM_LAYERS", len(network["layers"])),
        ("ARENA_SIZE", network["arena_size"] + ARENA_SLACK),
        ("WEIGHTS_SIZE", network["weights_size"]),
        ("MACS", f"{network['macs']}ULL"),
        ("INPUT_SIZE", network["input_size"]),
        ("INPUT_H", h),
        ("INPUT_W", w),
        ("INPUT_C", c),
        ("INPUT_TYPE", TYPE_CODES[network["input_dtype"]]),
        ("INPUT_SCALE", f"{float(network['input_scale']).hex()}f"),
        ("INPUT_ZERO_POINT", network["input_zero_point"]),
        ("OUTPUT_SIZE", network["output_size"]),
        ("OUTPUT_TYPE", TYPE_CODES[network["output_dtype"]]),
        ("OUTPUT_SCALE", f"{float(network['output_scale']).hex()}f"),
        ("OUTPUT_ZERO_POINT", network["output_zero_point"]),
    ]
    digest = bytes.fromhex(network["model_hash"])
    context = {
        "name": name,
        "NAME": name.upper(),
        "reidtool_version": __version__,
        "command": command or "",
        "model_hash": network["model_hash"],
        "defines": defines,
        "hash_bytes": ", ".join(f"0x{b:02x}" for b in digest),
        "layers": [{**layer, "macs": min(layer["macs"], 2**32 - 1)} for layer in network["layers"]],
        "st": runtime,
    }
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    written = []
    for template, target in (
        ("network.h.j2", f"{name}_network.h"),
        ("network.c.j2", f"{name}_network.c"),
    ):
        text = env.from_string((ADAPTER_DIR / template).read_text()).render(**context)
        atomic_write_text(out_dir / target, text)
        written.append(out_dir / target)
    return written


def board_with_runtime(board: Board, runtime: dict[str, Any]) -> Board:
    """`board` whose Makefile also searches ST's headers (as system headers: ST's code, not
    ours, so our -Werror does not judge them) and links ST's runtime library."""
    facts = board.facts
    toolchain = dataclasses.replace(
        facts.toolchain,
        cflags=(*facts.toolchain.cflags, "-isystem", f"{ST_DIR}/Inc"),
        ldlibs=(runtime["library"], *facts.toolchain.ldlibs),
    )
    patched = type(board)()
    patched.facts = dataclasses.replace(facts, toolchain=toolchain)
    return patched
