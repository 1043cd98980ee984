"""Network backends: who turns the int8 `.tflite` into the C network of a firmware project.

`builtin` is reidtool's own code generator (bit-exact against the oracle, runs everywhere);
`stedgeai` is ST's ST Edge AI Core (`stedgeai generate`), where the user has installed it. Both
end in the same project: the application, serial protocol and board support of
`firmware_templates/`, behind the C interface of docs/architecture.md, so the host harness and
on-device evaluation work unchanged whichever backend made the network.

Example:
    generate_project_with_backend("m_int8.tflite", "out/fw", board="qemu-m55", backend="stedgeai",
                                  stedgeai=StEdgeAiOptions(path_to_stedgeai="/opt/ST/.../stedgeai"))
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from toolchain.registry import Registry
from toolchain.stedgeai import StEdgeAiOptions


class Backend(Protocol):
    """`generate(tflite_path, out_dir, *, board, name, command, stedgeai) -> project folder`."""

    def __call__(
        self,
        tflite_path: Path,
        out_dir: Path,
        *,
        board: str,
        name: str,
        command: str | None,
        stedgeai: StEdgeAiOptions,
    ) -> Path: ...


BACKENDS: Registry[Backend] = Registry("backend")


def _load_all() -> None:
    """Import the backend modules so their decorators fill `BACKENDS`."""
    from toolchain.backends import builtin, stedgeai  # noqa: F401


def backend_names() -> list[str]:
    """The registered backend names (`builtin`, `stedgeai`)."""
    _load_all()
    return BACKENDS.names()


def generate_project_with_backend(
    tflite_path: str | Path,
    out_dir: str | Path,
    *,
    board: str = "qemu-m55",
    backend: str = "builtin",
    name: str = "reid",
    stedgeai: StEdgeAiOptions | None = None,
    command: str | None = None,
) -> Path:
    """Generate the firmware project for `tflite_path` into `out_dir` with `backend`'s network.

    Args:
        tflite_path: the int8 model (copied to `out_dir/model.tflite`).
        out_dir: the project folder (created).
        board: a registered board name or alias.
        backend: `builtin` or `stedgeai` (unknown names list the valid ones, exit 2).
        name: the network's C name prefix (also ST's `--name`).
        stedgeai: the `tools.stedgeai` options (`StEdgeAiOptions.from_config(cfg.tools.stedgeai)`);
            ignored by `builtin`.
        command: the command line, printed into generated headers.

    Returns:
        `out_dir`, a project `reidtool build` compiles.

    Raises:
        UnknownNameError: `backend` is not registered.
        ToolMissingError: `stedgeai` is asked for and not installed (exit 2, names it).
        NotAvailableError: `tools.stedgeai.on_cloud: True`, or a part that cannot be built here.
    """
    _load_all()
    generate = BACKENDS.get(backend)
    return generate(
        Path(tflite_path),
        Path(out_dir),
        board=board,
        name=name,
        command=command,
        stedgeai=stedgeai or StEdgeAiOptions(),
    )
