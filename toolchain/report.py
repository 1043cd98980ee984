"""The table a run ends on: float, int8-host and on-device figures side by side, then the
deployment figures (exact match, weights and arena bytes, instructions per inference, crops/s).

Read from metrics.json only, so what is printed is what was recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toolchain.evaluation.report import metrics_table

#: metrics.json blocks compared in the accuracy table, in this order.
ACCURACY_BLOCKS = ("float", "int8", "device")


def _dig(data: Mapping[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


#: (label, dotted key into metrics.json, format)
DEPLOYMENT_ROWS = (
    ("board", "device.board", "{}"),
    ("exact-match fraction (device vs oracle)", "device.exact_match_fraction", "{:.4f}"),
    ("max abs diff", "device.max_abs_diff", "{}"),
    ("weights (flash) bytes", "benchmark.weights_bytes", "{:,}"),
    ("arena (RAM) bytes", "benchmark.arena_bytes", "{:,}"),
    ("firmware text bytes", "benchmark.firmware.text", "{:,}"),
    ("firmware rodata bytes", "benchmark.firmware.rodata", "{:,}"),
    ("firmware bss bytes", "benchmark.firmware.bss", "{:,}"),
    ("MACs per inference", "benchmark.macs", "{:,}"),
    ("inference, mean", "device.inference.mean", "{:,.0f}"),
    ("inference unit", "device.inference.unit", "{}"),
    ("crops/s over the link", "device.crops_per_s", "{:.2f}"),
    ("float→int8 mean cosine", "quantization.mean_cosine_float_int8", "{:.5f}"),
)


def deployment_table(metrics: Mapping[str, Any]):
    from rich.table import Table

    table = Table(title="Deployment")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for label, key, fmt in DEPLOYMENT_ROWS:
        value = _dig(metrics, key)
        if value is not None:
            table.add_row(label, fmt.format(value))
    return table


def print_run_summary(run: Any) -> None:
    """Print the run's accuracy table (float / int8 / device) and deployment table."""
    from rich.console import Console

    metrics = run.read_metrics()
    console = Console()
    blocks = {
        name: metrics[name] for name in ACCURACY_BLOCKS if isinstance(metrics.get(name), Mapping)
    }
    if blocks:
        console.print(metrics_table(blocks, title=f"Re-identification ({run.root})"))
    if any(_dig(metrics, key) is not None for _, key, _ in DEPLOYMENT_ROWS):
        console.print(deployment_table(metrics))
    console.print(f"metrics: {run.metrics_path}")
