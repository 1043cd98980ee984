"""A thin typed wrapper around ST's `stedgeai` command line (ST Edge AI Core / STM32Cube.AI).

reidtool never downloads ST's tools. `find_stedgeai` looks for the executable in
`tools.stedgeai.path_to_stedgeai`, then on PATH, and raises `ToolMissingError` (exit 2) naming
the tool, the version the model zoo used and where to get it. The command lines are built here
(`generate`, `analyze`, `validate --mode host|target`) and its text report is parsed into the
`benchmark` block of metrics.json. What was verified without the tool (command construction,
report parsing) and what was not (running it) is written down in docs/st-tools.md.

    tool = find_stedgeai(cfg.tools.stedgeai.path_to_stedgeai)
    subprocess.run(generate_command(tool, model, target="stm32n6", out_dir=out), check=True)
"""

from __future__ import annotations

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
    "STM32_SigningTool_CLI": "https://www.st.com/en/development-tools/stm32cubeprog.html (installed "
    "with STM32CubeProgrammer, bin/ folder on PATH)",
}
#: Board → stedgeai target. The N6's Neural-ART NPU needs a profile file (--st-neural-art).
TARGETS = {"STM32N6570-DK": "stm32n6", "qemu-m55": "stm32", "host": "stm32"}
OPTIMIZATIONS = ("balanced", "time", "ram")


def missing_tool(tool: str) -> ToolMissingError:
    """The error for a missing ST tool: its name, the zoo's version and where to get it."""
    return ToolMissingError(
        tool,
        f"reidtool never downloads it; the model zoo used {ZOO_VERSIONS[tool]}: "
        f"get it from {WHERE[tool]}.",
    )


@dataclass(frozen=True)
class StEdgeAi:
    """A found `stedgeai` executable and its version (None when unknown)."""

    path: str
    version: str | None


def version_from_path(path: str | os.PathLike) -> str | None:
    """'.../STEdgeAI/3.0/Utilities/linux/stedgeai' → '3.0' (ST's install layout)."""
    match = re.search(r"STEdgeAI[/\\](\d+(?:\.\d+)+)[/\\]Utilities", str(path), re.IGNORECASE)
    return match.group(1) if match else None


def version_from_output(text: str) -> str | None:
    """'ST Edge AI Core v2.1.0-20194 329b0e98d' → '2.1.0'."""
    match = re.search(r"ST Edge AI Core v(\d+(?:\.\d+)+)", text)
    return match.group(1) if match else None


def find_stedgeai(path_to_stedgeai: str | None = None) -> StEdgeAi:
    """The configured executable, else `stedgeai` on PATH; ToolMissingError when neither exists."""
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
            return StEdgeAi(found, version)
    raise missing_tool(TOOL)


def require(tool: str) -> str:
    """The path of ST tool `tool` on PATH, else the missing-tool error."""
    found = shutil.which(tool)
    if not found:
        raise missing_tool(tool)
    return found


def target_for(board: str) -> str:
    from toolchain.boards.base import canonical_board_name

    name = canonical_board_name(board)
    if name not in TARGETS:
        raise UsageError(f"no stedgeai target for board {board}; boards: {', '.join(TARGETS)}")
    return TARGETS[name]


def _io_types(model: Path) -> tuple[str, str]:
    from toolchain.oracle import Oracle

    oracle = Oracle(model)
    names = {"int8": "int8", "uint8": "uint8", "float32": "float32"}
    return names[oracle.input_dtype.name], names[oracle.output_dtype.name]


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
    """`stedgeai generate` as the model zoo runs it.

    N6 (`target='stm32n6'`): the Neural-ART compiler with `--st-neural-art <profile>@<file>`;
    MCU targets: `--target stm32` with `-O <optimization>`. Input/output data types are the
    model's (uint8 pixels in, int8 embedding out for reidtool's models).
    """
    if optimization not in OPTIMIZATIONS:
        raise UsageError(
            f"tools.stedgeai.optimization {optimization!r}: expected one of {', '.join(OPTIMIZATIONS)}"
        )
    model = Path(model)
    in_type, out_type = io_types or _io_types(model)
    out_dir = Path(out_dir)
    cmd = [
        tool.path,
        "generate",
        "--model",
        str(model),
        "--target",
        target,
        "--name",
        name,
        "--input-data-type",
        in_type,
        "--output-data-type",
        out_type,
        "--inputs-ch-position",
        "chlast",
        "--outputs-ch-position",
        "chlast",
        "--output",
        str(out_dir),
        "--workspace",
        str(out_dir / "workspace"),
    ]
    if target == "stm32n6":
        if neural_art is None:
            raise UsageError("the STM32N6 target needs a Neural-ART profile file (--st-neural-art)")
        cmd += ["--st-neural-art", f"{profile}@{neural_art}"]
    else:
        cmd += ["-O", optimization, "--allocate-inputs", "--no-outputs-allocation"]
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
    return [
        tool.path,
        "analyze",
        "--model",
        str(model),
        "--target",
        target,
        "--name",
        name,
        "-O",
        optimization,
        "--output",
        str(out_dir),
        "--workspace",
        str(Path(out_dir) / "workspace"),
    ]


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
    """`stedgeai validate --mode host|target` (target: the board over serial, `-d serial:<baud>`)."""
    if mode not in ("host", "target"):
        raise UsageError(f"stedgeai validate mode {mode!r}: expected host or target")
    cmd = [
        tool.path,
        "validate",
        "--model",
        str(model),
        "--target",
        target,
        "--mode",
        mode,
        "--name",
        name,
        "--output",
        str(out_dir),
        "--workspace",
        str(Path(out_dir) / "workspace"),
    ]
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


# --------------------------------------------------------------------------- operations


def run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        raise ReidtoolError(f"stedgeai {what} failed ({proc.returncode}): {' | '.join(tail)}")


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
) -> dict[str, Any]:
    """Run `stedgeai generate` for `board` into `out_dir/st_ai_output`; returns the parsed report."""
    if on_cloud:
        raise NotAvailableError(
            "tools.stedgeai.on_cloud: ST's Developer Cloud needs an ST account "
            "and is not supported; install ST Edge AI Core locally"
        )
    tool = find_stedgeai(path_to_stedgeai)
    target = target_for(board)
    out = Path(out_dir) / "st_ai_output"
    run(
        generate_command(
            tool,
            model,
            target=target,
            out_dir=out,
            name=name,
            optimization=optimization,
            neural_art=neural_art,
        ),
        "generate",
    )
    reports = sorted(out.glob(f"{name}_generate_report.txt")) or sorted(out.glob("*_report.txt"))
    if not reports:
        raise ReidtoolError(f"stedgeai generate wrote no report in {out}")
    return parse_report(reports[0].read_text(errors="replace"))


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
