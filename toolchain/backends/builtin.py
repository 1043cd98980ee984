"""The `builtin` backend: reidtool's own code generator (`toolchain.codegen`), through
`toolchain.boards.project.generate_project`, which it only names in the `BACKENDS` table."""

from __future__ import annotations

from pathlib import Path

from toolchain.backends import BACKENDS
from toolchain.stedgeai import StEdgeAiOptions


@BACKENDS.register("builtin")
def generate_builtin(
    tflite_path: Path,
    out_dir: Path,
    *,
    board: str,
    name: str,
    command: str | None = None,
    stedgeai: StEdgeAiOptions | None = None,
) -> Path:
    """reidtool's generator: bit-exact C for every board (`stedgeai` options are not used)."""
    from toolchain.boards.project import generate_project

    return generate_project(
        tflite_path, out_dir, board=board, backend="builtin", name=name, command=command
    )
