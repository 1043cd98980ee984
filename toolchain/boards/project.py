"""Render a self-contained firmware project: model copy, generated network, application,
board support and a Makefile.

The templates under `firmware_templates/app/` and `firmware_templates/boards/<board>/` only
substitute and loop over one context dict that Python computes here (CONTRACTS §6; STYLE:
templates). Plain sources are copied; `*.j2` are rendered with `StrictUndefined`, so a
template naming a value the context lacks fails the generation instead of printing nothing.
The project needs nothing outside itself: a user can copy the folder away and run `make`.

Example:
    generate_project("model_int8.tflite", "out/fw", board="qemu-m55")
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from toolchain import __version__
from toolchain.boards.base import Board, get_board
from toolchain.errors import BoardError, CodegenError, NotAvailableError
from toolchain.files import atomic_write_text

TEMPLATES = Path(__file__).resolve().parents[2] / "firmware_templates"
APP_DIR = TEMPLATES / "app"
BOARDS_DIR = TEMPLATES / "boards"
PROJECT_FILE = "project.json"
BACKENDS = ("builtin", "stedgeai")


def model_hash(path: str | Path) -> str:
    """SHA-256 of the model file, hex (what the firmware reports and the harness checks)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def network_as_dict(info: Any) -> dict[str, Any]:
    """The code generator's `NetworkInfo` as plain data for templates and project.json."""
    if dataclasses.is_dataclass(info):
        data = dataclasses.asdict(info)
    elif isinstance(info, dict):
        data = dict(info)
    else:
        data = dict(vars(info))
    return json.loads(json.dumps(data, default=_plain))


def _plain(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, bytes):
        return obj.hex()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


#: PROTO_MAX_PAYLOAD by default: a 1024-byte DATA chunk and its u32 offset (docs/protocol.md).
DEFAULT_MAX_PAYLOAD = 1032
#: the frame's u16 length field
FRAME_LENGTH_LIMIT = 0xFFFF


def max_payload(network: dict[str, Any]) -> int:
    """The firmware's PROTO_MAX_PAYLOAD: 1032, or the output tensor plus the INFER reply's u64
    counter when that is larger (a 1280-d embedding needs 1288)."""
    shape, dtype = network.get("output_shape"), network.get("output_dtype")
    if shape is None or dtype is None:
        return DEFAULT_MAX_PAYLOAD
    return max(DEFAULT_MAX_PAYLOAD, int(np.prod(shape)) * np.dtype(dtype).itemsize + 8)


def check_reply_fits(network: dict[str, Any]) -> None:
    """Raise `BoardError` unless the network's output fits one INFER reply (u16 length)."""
    if max_payload(network) > FRAME_LENGTH_LIMIT:
        raise BoardError(
            f"the network's output ({max_payload(network) - 8} bytes, shape "
            f"{list(network['output_shape'])} {network['output_dtype']}) does not fit one INFER "
            f"reply of the board protocol (at most {FRAME_LENGTH_LIMIT - 8} bytes); reduce "
            "model.embedding_dim"
        )


def build_context(
    board: Board, name: str, network: dict[str, Any], digest: str, command: str | None
) -> dict[str, Any]:
    """The one context dict every template sees."""
    return {
        "max_payload": max_payload(network),
        "name": name,
        "NAME": name.upper(),
        "board": board.name,
        "facts": board.facts.as_context(),
        "network": network,
        "reidtool_version": __version__,
        "command": command or "",
        "model_hash": digest,
    }


def _render_tree(env: jinja2.Environment, src: Path, out_dir: Path, context: dict) -> list[Path]:
    """Copy plain files and render `*.j2` from `src` (flat) into `out_dir`."""
    written = []
    for path in sorted(src.iterdir()):
        if not path.is_file() or path.name.startswith(".") or path.suffix in (".py", ".pyc"):
            continue
        if path.suffix == ".j2":
            target = out_dir / path.name[: -len(".j2")]
            try:
                text = env.from_string(path.read_text()).render(**context)
            except jinja2.TemplateError as err:
                raise BoardError(f"template {path} failed to render: {err}") from err
            atomic_write_text(target, text)
        else:
            target = out_dir / path.name
            shutil.copyfile(path, target)
        written.append(target)
    return written


def render_project(
    out_dir: str | Path,
    *,
    board: str | Board = "qemu-m55",
    name: str = "reid",
    network: dict[str, Any] | None = None,
    digest: str = "",
    command: str | None = None,
) -> Path:
    """Render app, board support, linker script and Makefile into `out_dir` (network C files
    are expected there already, from the code generator). Returns `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    the_board = get_board(board)
    context = build_context(the_board, name, network or {}, digest, command)
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    board_dir = BOARDS_DIR / the_board.facts.template_dir
    for folder in (APP_DIR, BOARDS_DIR / "common", board_dir):
        if not folder.is_dir():
            raise BoardError(f"template folder {folder} is missing from the installation")
        _render_tree(env, folder, out_dir, context)
    if the_board.facts.memory:  # a host executable needs no linker script
        script = env.from_string((BOARDS_DIR / "linker.ld.j2").read_text()).render(**context)
        atomic_write_text(out_dir / "linker.ld", script)
    makefile = env.from_string((TEMPLATES / "Makefile.j2").read_text()).render(**context)
    atomic_write_text(out_dir / "Makefile", makefile)
    record = {
        "board": the_board.name,
        "name": name,
        "model_hash": digest,
        "reidtool_version": __version__,
        "command": command or "",
        "network": network or {},
    }
    atomic_write_text(out_dir / PROJECT_FILE, json.dumps(record, indent=1, default=_plain))
    return out_dir


def _copy_network_files(info: Any, out_dir: Path) -> None:
    """Copy any file the generator lists outside `out_dir` (kernels) into `out_dir/kernels`."""
    files = getattr(info, "files", None) or (info.get("files") if isinstance(info, dict) else None)
    for item in files or ():
        path = Path(item)
        if not path.is_absolute():
            path = out_dir / path
        try:
            path.resolve().relative_to(out_dir.resolve())
            continue
        except ValueError:
            pass
        if not path.is_file():
            raise CodegenError(f"the code generator listed {path}, which does not exist")
        target = out_dir / "kernels" / path.name
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(path, target)


def generate_project(
    model_path: str | Path,
    out_dir: str | Path,
    *,
    board: str = "qemu-m55",
    backend: str = "builtin",
    name: str = "reid",
    command: str | None = None,
) -> Path:
    """Generate the firmware project for `model_path` into `out_dir`.

    Args:
        model_path: the int8 `.tflite` model (copied to `out_dir/model.tflite`).
        out_dir: the project folder (created).
        board: a registered board name or alias (`qemu-m55`, `host`, `STM32N6570-DK`/`STM32N6`).
        backend: `builtin` (reidtool's code generator) or `stedgeai` (toolchain.backends).
        name: the network's C name prefix.
        command: the command line, printed into the generated headers.

    Returns:
        `out_dir`.
    """
    if backend not in BACKENDS:
        raise BoardError(f"backend must be one of {', '.join(BACKENDS)}; received {backend!r}")
    if backend != "builtin":
        # Other networks (ST's stedgeai) come from the BACKENDS table, behind the same templates.
        from toolchain.backends import generate_project_with_backend

        return generate_project_with_backend(
            model_path, out_dir, board=board, backend=backend, name=name, command=command
        )
    model_path = Path(model_path)
    if not model_path.is_file():
        raise BoardError(f"model file {model_path} does not exist")
    if not name.isidentifier():
        raise BoardError(f"--name must be a C identifier; received {name!r}")
    the_board = get_board(board)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_copy = out_dir / "model.tflite"
    if model_path.resolve() != model_copy.resolve():
        shutil.copyfile(model_path, model_copy)
    try:
        from toolchain.codegen import generate_network
    except ImportError as err:
        raise NotAvailableError(
            f"the code generator (toolchain.codegen) is missing: {err}"
        ) from err
    info = generate_network(
        model_copy, out_dir, name=name, command=command, helium=the_board.facts.helium
    )
    _copy_network_files(info, out_dir)
    network = network_as_dict(info)
    check_reply_fits(network)
    return render_project(
        out_dir,
        board=the_board,
        name=name,
        network=network,
        digest=model_hash(model_copy),
        command=command,
    )


def read_project(project: str | Path) -> dict[str, Any]:
    """The project's `project.json` (board, name, model hash...)."""
    path = Path(project) / PROJECT_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise BoardError(
            f"{path} not found: {project} is not a generated project (run `reidtool generate`)"
        ) from None
    except ValueError as err:
        raise BoardError(f"{path} is not valid JSON: {err}") from err
