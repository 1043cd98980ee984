"""A thin typed wrapper around ST's `stedgeai` command line (ST Edge AI Core / STM32Cube.AI).

reidtool never downloads ST's tools. `find_stedgeai` looks for the executable in
`tools.stedgeai.path_to_stedgeai`, then on PATH, and raises `ToolMissingError` (exit 2) naming
the tool, the version the model zoo used and where to get it. The exact command lines are built
here (`generate`, `analyze`, `validate --mode host|target`), the way ST's model zoo builds them
(`common/stm32ai_local`, `common/deployment`), and ST's reports (`<name>_c_info.json`,
`<name>_generate_report.txt`) are parsed into the `benchmark` block of metrics.json. What was
verified without the tool (command construction, report parsing, the wiring through a stand-in
executable) and what was not (running it) is written down in docs/st-tools.md.

Example:
    tool = find_stedgeai(cfg.tools.stedgeai.path_to_stedgeai)
    cmd = generate_command(tool, "m.tflite", target="stm32n6", out_dir="out/st_ai_output")
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolchain.errors import NotAvailableError, ReidtoolError, ToolMissingError, UsageError

TOOL = "stedgeai"
#: Versions of ST's tools the model zoo used (the error messages name them).
ZOO_VERSIONS = {
    "stedgeai": "ST Edge AI Core 3.0",
    "STM32_Programmer_CLI": "STM32CubeProgrammer 2.18",
    "STM32_SigningTool_CLI": "STM32CubeProgrammer 2.18 (STM32_SigningTool_CLI)",
}
WHERE = {
    "stedgeai": "https://www.st.com/en/development-tools/stedgeai-core.html (install it, then put "
    ".../STEdgeAI/<version>/Utilities/<os> on PATH or set tools.stedgeai.path_to_stedgeai)",
    "STM32_Programmer_CLI": "https://www.st.com/en/development-tools/stm32cubeprog.html (its bin/ "
    "folder on PATH)",
    "STM32_SigningTool_CLI": "https://www.st.com/en/development-tools/stm32cubeprog.html "
    "(installed with STM32CubeProgrammer, bin/ folder on PATH)",
}
#: Board → stedgeai target. Every board is a Cortex-M55, i.e. ST's `stm32n6` series (ST's docs:
#: "all STM32N6xx devices with an Arm Cortex M55 core including or not the Neural-ART
#: accelerator"); plain `stm32` would mean stm32h7 (Cortex-M7).
TARGETS = {"STM32N6570-DK": "stm32n6", "qemu-m55": "stm32n6", "host": "stm32n6"}
#: Boards whose network runs on the Neural-ART NPU (`--st-neural-art <profile>@<file>`).
NEURAL_ART_BOARDS = frozenset({"STM32N6570-DK"})
OPTIMIZATIONS = ("balanced", "time", "ram")
VALIDATE_MODES = ("host", "target")
#: Numpy dtype name → stedgeai `--input-data-type` / `--output-data-type` value.
DATA_TYPES = {"int8": "int8", "uint8": "uint8", "float32": "float32"}
#: Inside ST's install root: headers, the Cortex-M55 runtime library, the NPU runtime sources.
INC_DIR = Path("Middlewares/ST/AI/Inc")
CM55_LIB_DIR = Path("Middlewares/ST/AI/Lib/GCC/ARMCortexM55")
CM55_LIB_GLOB = "NetworkRuntime*_CM55_GCC.a"
NPU_DIR = Path("Middlewares/ST/AI/Npu/ll_aton")


def missing_tool(tool: str) -> ToolMissingError:
    """The error for a missing ST tool: its name, the zoo's version and where to get it."""
    return ToolMissingError(
        tool,
        f"reidtool never downloads it; the model zoo used {ZOO_VERSIONS[tool]}: "
        f"get it from {WHERE[tool]}.",
    )


@dataclass(frozen=True)
class StEdgeAi:
    """A found `stedgeai` executable, its version (None when unknown) and install root.

    `root` is `.../STEdgeAI/<version>` when the executable sits in ST's layout
    (`<root>/Utilities/<os>/stedgeai`), where `Middlewares/ST/AI/...` holds the runtime.
    """

    path: str
    version: str | None
    root: Path | None = None


@dataclass(frozen=True)
class StEdgeAiOptions:
    """The `tools.stedgeai` configuration keys (CONTRACTS §4) plus the N6 Neural-ART profile.

    Args:
        optimization: `balanced`, `time` or `ram` (`-O`, MCU code generator only).
        on_cloud: ST's Developer Cloud; refused (it needs an ST account).
        path_to_stedgeai: the executable, else `stedgeai` on PATH.
        neural_art: the Neural-ART profile file (`user_neuralart_STM32N6570-DK.json` in ST's
            STM32N6 application code) for the N6's NPU.
        profile: the profile's name inside that file (`default`, as the zoo uses).
    """

    optimization: str = "balanced"
    on_cloud: bool = False
    path_to_stedgeai: str | None = None
    neural_art: str | None = None
    profile: str = "default"

    @classmethod
    def from_config(cls, section: Any) -> StEdgeAiOptions:
        """From `cfg.tools.stedgeai` (attributes or a dict); unknown keys are ignored."""
        get = section.get if isinstance(section, dict) else lambda k, d=None: getattr(section, k, d)
        return cls(
            optimization=get("optimization", None) or "balanced",
            on_cloud=bool(get("on_cloud", False)),
            path_to_stedgeai=get("path_to_stedgeai", None) or None,
            neural_art=get("neural_art", None) or None,
            profile=get("profile", None) or "default",
        )

    def check(self) -> None:
        """Refuse the cloud and unknown optimization names before any work starts."""
        if self.on_cloud:
            raise NotAvailableError(
                "tools.stedgeai.on_cloud: True asks for ST's Developer Cloud, which needs an ST "
                "account and is not supported by reidtool (the model zoo refuses it for the N6 "
                "too); install ST Edge AI Core locally and set on_cloud: False"
            )
        if self.optimization not in OPTIMIZATIONS:
            raise UsageError(
                f"tools.stedgeai.optimization: expected one of {', '.join(OPTIMIZATIONS)}; "
                f"received {self.optimization!r}"
            )


def version_from_path(path: str | os.PathLike) -> str | None:
    """'.../STEdgeAI/3.0/Utilities/linux/stedgeai' → '3.0' (ST's install layout)."""
    match = re.search(r"STEdgeAI[/\\](\d+(?:\.\d+)+)[/\\]Utilities", str(path), re.IGNORECASE)
    return match.group(1) if match else None


def version_from_output(text: str) -> str | None:
    """'ST Edge AI Core v2.1.0-20194 329b0e98d' → '2.1.0'."""
    match = re.search(r"ST Edge AI Core v(\d+(?:\.\d+)+)", text)
    return match.group(1) if match else None


def root_from_path(path: str | os.PathLike) -> Path | None:
    """`<root>/Utilities/<os>/stedgeai` → `<root>` when that layout holds, else None."""
    exe = Path(path)
    if len(exe.parents) >= 3 and exe.parents[1].name == "Utilities":
        return exe.parents[2]
    return None


def find_stedgeai(path_to_stedgeai: str | None = None) -> StEdgeAi:
    """The configured executable, else `stedgeai` on PATH; ToolMissingError when neither exists.

    The version comes from the install layout, else from `stedgeai --version`.
    """
    candidates = [path_to_stedgeai] if path_to_stedgeai else []
    candidates.append(TOOL)
    for candidate in candidates:
        found = shutil.which(str(candidate))
        if found:
            version = version_from_path(candidate) or version_from_path(found)
            if version is None:
                proc = subprocess.run(
                    [found, "--version"], capture_output=True, text=True, timeout=60
                )
                version = version_from_output(proc.stdout + proc.stderr)
            return StEdgeAi(found, version, root_from_path(found))
    raise missing_tool(TOOL)


def require(tool: str) -> str:
    """The path of ST tool `tool` on PATH, else the missing-tool error."""
    found = shutil.which(tool)
    if not found:
        raise missing_tool(tool)
    return found


def target_for(board: str) -> str:
    """The stedgeai `--target` for a reidtool board (aliases accepted)."""
    from toolchain.boards.base import canonical_board_name

    name = canonical_board_name(board)
    if name not in TARGETS:
        raise UsageError(f"no stedgeai target for board {board}; boards: {', '.join(TARGETS)}")
    return TARGETS[name]


def uses_neural_art(board: str) -> bool:
    """True when `board`'s network runs on the N6's Neural-ART NPU."""
    from toolchain.boards.base import canonical_board_name

    return canonical_board_name(board) in NEURAL_ART_BOARDS


def model_io_types(model: str | Path) -> tuple[str, str]:
    """The model's input and output element types as stedgeai names them."""
    from toolchain.oracle import Oracle

    oracle = Oracle(model)
    names = []
    for dtype in (oracle.input_dtype, oracle.output_dtype):
        if dtype.name not in DATA_TYPES:
            raise UsageError(f"{model}: stedgeai I/O type {dtype.name} is not int8/uint8/float32")
        names.append(DATA_TYPES[dtype.name])
    return names[0], names[1]


def _common(tool: StEdgeAi, command: str, model: str | Path, target: str, name: str, out: Path):
    return [
        tool.path,
        command,
        "--model",
        str(model),
        "--target",
        target,
        "--name",
        name,
        "--output",
        str(out),
        "--workspace",
        str(out / "workspace"),
    ]


def generate_command(
    tool: StEdgeAi,
    model: str | Path,
    *,
    target: str,
    out_dir: str | Path,
    name: str = "network",
    optimization: str = "balanced",
    neural_art: str | Path | None = None,
    profile: str = "default",
    io_types: tuple[str, str] | None = None,
) -> list[str]:
    """`stedgeai generate` as the model zoo runs it, with the st-ai C API.

    Input/output data types are the model's (uint8 pixels in, int8 embedding out for reidtool's
    models), channels last, the output buffer given by the application
    (`--no-outputs-allocation`, as the zoo's re-identification deployment does). With
    `neural_art` (the N6's NPU): `--st-neural-art <profile>@<file>`; without it ST's MCU code
    generator with `-O <optimization>` and the input placed inside the activations buffer.
    """
    if optimization not in OPTIMIZATIONS:
        raise UsageError(
            f"tools.stedgeai.optimization: expected one of {', '.join(OPTIMIZATIONS)}; "
            f"received {optimization!r}"
        )
    in_type, out_type = io_types or model_io_types(model)
    cmd = _common(tool, "generate", model, target, name, Path(out_dir))
    cmd += [
        "--c-api",
        "st-ai",
        "--input-data-type",
        in_type,
        "--output-data-type",
        out_type,
        "--inputs-ch-position",
        "chlast",
        "--outputs-ch-position",
        "chlast",
        "--no-outputs-allocation",
    ]
    if neural_art is not None:
        cmd += ["--st-neural-art", f"{profile}@{neural_art}"]
    else:
        cmd += ["-O", optimization, "--allocate-inputs"]
    return cmd


def analyze_command(
    tool: StEdgeAi,
    model: str | Path,
    *,
    target: str,
    out_dir: str | Path,
    name: str = "network",
    optimization: str = "balanced",
) -> list[str]:
    """`stedgeai analyze`: footprint and MACC without generating code."""
    return _common(tool, "analyze", model, target, name, Path(out_dir)) + ["-O", optimization]


def validate_command(
    tool: StEdgeAi,
    model: str | Path,
    *,
    target: str,
    mode: str,
    out_dir: str | Path,
    inputs: str | Path | None = None,
    baud: int = 921600,
    name: str = "network",
    port: str | None = None,
) -> list[str]:
    """`stedgeai validate --mode host|target` (target: the board over serial, `-d serial:BAUD`)."""
    if mode not in VALIDATE_MODES:
        raise UsageError(f"stedgeai validate mode {mode!r}: expected host or target")
    cmd = _common(tool, "validate", model, target, name, Path(out_dir)) + ["--mode", mode]
    if mode == "target":
        cmd += ["-d", f"serial:{port}:{baud}" if port else f"serial:{baud}"]
    if inputs is not None:
        cmd += ["-vi", str(inputs)]
    return cmd


# --------------------------------------------------------------------------- reports

_SIZE = r"([\d,]+)\s*B\b"


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def parse_report(text: str) -> dict[str, Any]:
    """The `benchmark` block (CONTRACTS §3) from `<name>_generate_report.txt` /
    `_analyze_report.txt`: params, MACs, weights and activations bytes, and the tool version.

    Raises:
        ReidtoolError: the text has none of the summary lines (not a stedgeai report).
    """
    fields = {
        "params": r"^params #\s*:\s*([\d,]+) items",
        "macs": r"^macc\s*:\s*([\d,]+)",
        "weights_bytes": r"^weights \(ro\)\s*:\s*" + _SIZE,
        "arena_bytes": r"^activations \(rw\)\s*:\s*" + _SIZE,
        "ram_total_bytes": r"^ram \(total\)\s*:\s*" + _SIZE,
    }
    block: dict[str, Any] = {}
    for key, pattern in fields.items():
        match = re.search(pattern, text, re.MULTILINE)
        if match:
            block[key] = _int(match.group(1))
    if not block:
        raise ReidtoolError(
            "not a stedgeai report: no 'macc', 'weights (ro)' or 'activations (rw)' line"
        )
    version = version_from_output(text)
    block["backend"] = {"tool": "stedgeai", "version": version}
    return block


def parse_c_info(data: dict[str, Any], source: str = "c_info.json") -> dict[str, Any]:
    """The `benchmark` block from `<name>_c_info.json` (schema 2.0, the keys ST's model zoo
    reads in `common/stm32ai_local/c_info_loader.py`): MACs summed over `graphs[0].nodes`,
    `memory_footprint` weights / activations / io, and the tool version.

    Raises:
        ReidtoolError: the schema version is not 2.0 or a key is missing (names the key).
    """
    version = data.get("json_schema_version")
    if version != "2.0":
        raise ReidtoolError(f"{source}: json_schema_version {version!r}, expected '2.0'")
    try:
        nodes = data["graphs"][0]["nodes"]
        footprint = data["memory_footprint"]
        layers = [
            {"name": str(node["name"]), "op": str(node.get("type", "")), "macs": int(node["macc"])}
            for node in nodes
        ]
        io = [int(v) for v in footprint.get("io", [])]
        block: dict[str, Any] = {
            "macs": sum(layer["macs"] for layer in layers),
            "weights_bytes": int(footprint["weights"]),
            "arena_bytes": int(footprint["activations"]),
            "io_bytes": sum(io),
            "macs_per_layer": layers,
        }
        tool_version = data["environment"]["tools"][0].get("version")
    except (KeyError, IndexError, TypeError, ValueError) as err:
        raise ReidtoolError(f"{source}: missing or malformed key {err}") from None
    if isinstance(tool_version, dict):  # {"major": 3, "minor": 0, "micro": 0, ...}
        tool_version = ".".join(str(tool_version[k]) for k in ("major", "minor", "micro"))
    block["backend"] = {"tool": "stedgeai", "version": tool_version}
    return block


def read_reports(out_dir: str | Path, name: str) -> dict[str, Any]:
    """The benchmark block from what `stedgeai generate` wrote into `out_dir`: the JSON c-info
    where present, completed by the text report (`params`, `ram_total_bytes`)."""
    out = Path(out_dir)
    info, report = out / f"{name}_c_info.json", out / f"{name}_generate_report.txt"
    block: dict[str, Any] = {}
    if report.is_file():
        block = parse_report(report.read_text(errors="replace"))
    if info.is_file():
        try:
            data = json.loads(info.read_text())
        except ValueError as err:
            raise ReidtoolError(f"{info} is not valid JSON: {err}") from None
        from_json = parse_c_info(data, str(info))
        if block.get("backend", {}).get("version") and not from_json["backend"]["version"]:
            from_json["backend"] = block["backend"]
        block.update(from_json)
    if not block:
        raise ReidtoolError(f"stedgeai wrote neither {info.name} nor {report.name} in {out}")
    return block


# --------------------------------------------------------------------------- operations


def run(cmd: list[str], what: str) -> None:
    """Run one stedgeai command; a failure names the command and quotes its last lines."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        raise ReidtoolError(f"stedgeai {what} failed ({proc.returncode}): {' | '.join(tail)}")


def generate_commands(
    model: str | Path,
    out_dir: str | Path,
    *,
    board: str,
    name: str = "network",
    options: StEdgeAiOptions | None = None,
    tool: StEdgeAi | None = None,
) -> list[list[str]]:
    """The exact commands `generate` runs for `board` (for `--dry-run` and the tests)."""
    options = options or StEdgeAiOptions()
    options.check()
    tool = tool or find_stedgeai(options.path_to_stedgeai)
    neural_art = None
    if uses_neural_art(board):
        if not options.neural_art:
            raise UsageError(
                f"board {board}: the Neural-ART NPU needs a profile file (tools.stedgeai."
                "neural_art, e.g. user_neuralart_STM32N6570-DK.json from ST's STM32N6 "
                "application code, used as --st-neural-art default@<file>)"
            )
        neural_art = options.neural_art
    return [
        generate_command(
            tool,
            model,
            target=target_for(board),
            out_dir=Path(out_dir) / "st_ai_output",
            name=name,
            optimization=options.optimization,
            neural_art=neural_art,
            profile=options.profile,
        )
    ]


def generate(
    model: str | Path,
    out_dir: str | Path,
    *,
    board: str,
    name: str = "network",
    optimization: str = "balanced",
    path_to_stedgeai: str | None = None,
    on_cloud: bool = False,
    neural_art: str | Path | None = None,
    options: StEdgeAiOptions | None = None,
) -> dict[str, Any]:
    """Run `stedgeai generate` for `board` into `out_dir/st_ai_output`; returns the parsed
    benchmark block (`read_reports`)."""
    options = options or StEdgeAiOptions(
        optimization=optimization,
        on_cloud=on_cloud,
        path_to_stedgeai=path_to_stedgeai,
        neural_art=str(neural_art) if neural_art else None,
    )
    for cmd in generate_commands(model, out_dir, board=board, name=name, options=options):
        run(cmd, "generate")
    return read_reports(Path(out_dir) / "st_ai_output", name)


def validate(
    model: str | Path,
    out_dir: str | Path,
    *,
    board: str,
    mode: str,
    inputs: str | Path | None = None,
    baud: int = 921600,
    port: str | None = None,
    path_to_stedgeai: str | None = None,
) -> Path:
    """Run `stedgeai validate`; returns the folder holding its report."""
    tool = find_stedgeai(path_to_stedgeai)
    out = Path(out_dir) / "st_ai_validation"
    run(
        validate_command(
            tool,
            model,
            target=target_for(board),
            mode=mode,
            out_dir=out,
            inputs=inputs,
            baud=baud,
            port=port,
        ),
        "validate",
    )
    return out
