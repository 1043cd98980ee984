"""Terminal summaries of evaluation results: one rich table per metrics block.

Kept apart from the metrics (pure numbers) and the plots (files), so the CLI, the chains and
the harness print the same table for float, int8 and device figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Rows of the table: metrics.json key → label. Rates are fractions, shown as percentages.
ROWS = (
    ("rank1", "rank-1"),
    ("rank5", "rank-5"),
    ("rank10", "rank-10"),
    ("mAP", "mAP"),
    ("mINP", "mINP"),
)


def metrics_table(blocks: Mapping[str, Mapping[str, Any]], title: str = "Re-identification"):
    """A `rich.table.Table` with one column per block (float, int8, device...)."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric")
    for name in blocks:
        table.add_column(name, justify="right")
    for key, label in ROWS:
        cells = [f"{100.0 * float(b[key]):.2f} %" if key in b else "-" for b in blocks.values()]
        table.add_row(label, *cells)
    for key in ("match_threshold",):
        cells = [f"{float(b[key]):.4f}" if key in b else "-" for b in blocks.values()]
        table.add_row("match threshold", *cells)
    for key in ("num_query", "num_gallery", "num_query_skipped"):
        cells = [str(b.get(key, "-")) for b in blocks.values()]
        table.add_row(key.replace("num_", "").replace("_", " "), *cells)
    return table


def print_metrics(block: str, metrics: Mapping[str, Any]) -> None:
    """Print one block's table on the terminal (stderr-safe, no colour when not a tty)."""
    from rich.console import Console

    Console().print(metrics_table({block: metrics}, title=f"Re-identification ({block})"))
