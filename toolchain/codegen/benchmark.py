"""The footprint of an int8 model as reidtool's generator lays it out (operation mode
`benchmarking`, CONTRACTS §3 "benchmark"): parameters, MACs per layer and in all, weights bytes,
arena bytes beside the liveness lower bound, I/O bytes, and the firmware's sections for a board.

The figures come from the same code generation that builds the firmware (`generate_network`),
so what is reported is what is flashed.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from toolchain.codegen.emit import generate_network
from toolchain.errors import ToolMissingError

log = logging.getLogger(__name__)

DEFAULT_BOARD = "qemu-m55"


def benchmark_model(tflite_path: str | Path) -> dict[str, Any]:
    """The `benchmark` block of metrics.json for one int8 `.tflite` (no firmware part)."""
    with tempfile.TemporaryDirectory(prefix="reidtool-bench-") as tmp:
        info = generate_network(tflite_path, tmp)
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

    Returns None, with a warning, when the board's compiler is not installed.
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


def _same_board(a: str, b: str) -> bool:
    from toolchain.boards.base import canonical_board_name

    return canonical_board_name(a) == canonical_board_name(b)


def format_table(block: dict[str, Any]):
    """A rich table of the footprint, layers first, totals last."""
    from rich.table import Table

    table = Table(title=f"Footprint of {Path(block.get('model', 'model')).name}")
    table.add_column("layer")
    table.add_column("op")
    table.add_column("MACs", justify="right")
    for layer in block.get("macs_per_layer", []):
        table.add_row(layer["name"], layer["op"], f"{layer['macs']:,}")
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


def benchmark(cfg: Any, run: Any, model_path: str | Path) -> dict[str, Any]:
    """Operation mode `benchmarking`: measure, write metrics.json["benchmark"], print the table.

    The board is `benchmarking.board`, else `deployment.board`; its firmware is built in the
    run's `firmware/` folder (kept for `reidtool flash`).
    """
    from rich.console import Console

    board = cfg.benchmarking.board or cfg.deployment.board or DEFAULT_BOARD
    block = benchmark_model(model_path)
    firmware = firmware_block(model_path, Path(run.firmware_dir), board)
    if firmware is not None:
        block["firmware"] = firmware
    run.update_metrics("benchmark", block)
    Console().print(format_table(block))
    return block
