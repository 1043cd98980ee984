"""The footprint of an int8 model as reidtool's generator lays it out (operation mode
`benchmarking`, CONTRACTS §3 "benchmark"): parameters, MACs per layer and in all, weights bytes,
arena bytes beside the liveness lower bound, I/O bytes, and the firmware's sections for a board.

The figures come from the same code generation that builds the firmware (`generate_network`),
so what is reported is what is flashed.
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from toolchain.codegen.emit import generate_network
from toolchain.errors import BoardError, ConfigError, ToolMissingError

log = logging.getLogger(__name__)

DEFAULT_BOARD = "qemu-m55"
NAME_LIMIT = 60  # characters of a layer name in the table


def benchmark_model(tflite_path: str | Path, helium: bool = True) -> dict[str, Any]:
    """The `benchmark` block of metrics.json for one int8 `.tflite` (no firmware part);
    `helium`: the arena includes the Helium kernels' scratch (Cortex-M55 boards)."""
    with tempfile.TemporaryDirectory(prefix="reidtool-bench-") as tmp:
        info = generate_network(tflite_path, tmp, helium=helium)
    return {
        "model": str(tflite_path),
        "params": int(info.params),
        "macs": int(info.macs),
        "weights_bytes": int(info.weights_size),
        "arena_bytes": int(info.arena_size),
        "arena_lower_bound_bytes": int(info.arena_lower_bound),
        "io_bytes": int(info.io_bytes),
        "macs_per_layer": [
            {"name": layer["name"], "op": layer["op"], "macs": int(layer["macs"])}
            for layer in info.layers
        ],
    }


def firmware_block(tflite_path: str | Path, project: Path, board: str) -> dict[str, Any] | None:
    """Sections of the firmware built for `board` in `project` (built here if not yet).

    Returns None, with a warning naming the cause, when the board's compiler is not installed
    or the build fails (an application limit such as the largest reply the protocol carries).
    """
    from toolchain.boards.build import build_project
    from toolchain.boards.project import generate_project

    report_file = project / "build_report.json"
    if report_file.is_file():
        report = json.loads(report_file.read_text())
        if report.get("board") and _same_board(report["board"], board):
            return {k: report[k] for k in ("board", "text", "rodata", "data", "bss") if k in report}
    try:
        generate_project(tflite_path, project, board=board, command="reidtool benchmark")
        return build_project(project).firmware_block()
    except ToolMissingError as err:
        log.warning("firmware sections not reported: %s", err)
        return None
    except BoardError as err:  # e.g. the application's limits; the footprint still stands
        lines = str(err).splitlines()
        cause = next((ln.strip() for ln in lines[1:] if "error:" in ln), "")
        log.warning("firmware sections not reported: %s %s", lines[0] if lines else err, cause)
        return None


def _same_board(a: str, b: str) -> bool:
    from toolchain.boards.base import canonical_board_name

    return canonical_board_name(a) == canonical_board_name(b)


def footprint_table(block: dict[str, Any]):
    """The footprint as a rich `Table`: one row per layer (name, op, MACs), then the totals."""
    from rich.table import Table

    table = Table(title=f"Footprint of {Path(block.get('model', 'model')).name}")
    table.add_column("layer", no_wrap=True)
    table.add_column("op", no_wrap=True)
    table.add_column("MACs", justify="right", no_wrap=True)
    for layer in block.get("macs_per_layer", []):
        table.add_row(short_name(layer["name"]), layer["op"], f"{layer['macs']:,}")
    table.add_section()
    ratio = block["arena_bytes"] / max(1, block["arena_lower_bound_bytes"])
    rows = [
        ("parameters", f"{block['params']:,}"),
        ("MACs", f"{block['macs']:,}"),
        ("weights bytes", f"{block['weights_bytes']:,}"),
        ("arena bytes", f"{block['arena_bytes']:,}"),
        ("arena lower bound", f"{block['arena_lower_bound_bytes']:,} (arena = {ratio:.3f} ×)"),
        ("I/O bytes", f"{block['io_bytes']:,}"),
    ]
    for key, value in (block.get("firmware") or {}).items():
        if key != "board":
            rows.append((f"firmware {key} ({block['firmware']['board']})", f"{value:,}"))
    for label, value in rows:
        table.add_row(label, "", value)
    return table


def short_name(name: str, limit: int = NAME_LIMIT) -> str:
    """A layer's name for the table: the converter joins the names of fused layers with ';'
    (hundreds of characters); the first one, its end kept if still longer than `limit`."""
    first = name.split(";")[0]
    return first if len(first) <= limit else "…" + first[-(limit - 1) :]


def format_table(block: dict[str, Any]) -> str:
    """The footprint table as plain text (what `reidtool benchmark` prints)."""
    from rich.console import Console

    console = Console(width=NAME_LIMIT + 60, record=True, color_system=None, file=io.StringIO())
    console.print(footprint_table(block))
    return console.export_text()


def model_path_of(cfg: Any, model_path: str | Path | None = None) -> Path:
    """The int8 model to measure: `model_path`, else `model.model_path`, else
    `general.model_path` of the config (attribute access; missing sections are skipped).

    Raises:
        ConfigError: no path is given, the file does not exist or is not a `.tflite`.
    """
    candidates = [
        ("model_path", model_path),
        ("model.model_path", getattr(getattr(cfg, "model", None), "model_path", None)),
        ("general.model_path", getattr(getattr(cfg, "general", None), "model_path", None)),
    ]
    for key, value in candidates:
        if value:
            path = Path(value)
            if not path.is_file():
                raise ConfigError(f"{key}: {path} does not exist")
            if path.suffix != ".tflite":
                raise ConfigError(
                    f"{key}: benchmarking needs an int8 .tflite model, received {path.name}"
                )
            return path
    raise ConfigError(
        "benchmarking needs an int8 .tflite model: set model.model_path (or general.model_path)"
    )


def benchmark(cfg: Any, run: Any, model_path: str | Path | None = None) -> dict[str, Any]:
    """Operation mode `benchmarking`: measure, write metrics.json["benchmark"], print the table.

    The model is `model_path`, else `model.model_path`, else `general.model_path`. The board is
    `benchmarking.board`, else `deployment.board`, else qemu-m55; its firmware is built in the
    run's `firmware/` folder (kept for `reidtool flash`) unless a build for that board is already
    there, and its sections join the block (skipped, with a warning, without the board's
    compiler).
    """
    path = model_path_of(cfg, model_path)
    board = (
        getattr(getattr(cfg, "benchmarking", None), "board", None)
        or getattr(getattr(cfg, "deployment", None), "board", None)
        or DEFAULT_BOARD
    )
    from toolchain.boards import get_board

    block = benchmark_model(path, helium=get_board(board).facts.helium)
    firmware = firmware_block(path, Path(run.firmware_dir), board)
    if firmware is not None:
        block["firmware"] = firmware
    run.update_metrics("benchmark", block)
    print(format_table(block), end="")
    return block
