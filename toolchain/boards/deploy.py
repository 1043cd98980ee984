"""The `deployment` operation mode: generate, build and flash the run's int8 model.

One function the chains call: it renders the project into the run's `firmware/` folder, builds
it for `deployment.board` (default qemu-m55), copies the size report into
metrics.json["benchmark"]["firmware"], starts or flashes the board and, when
`deployment.evaluate_on_device` is set and test paths are given, runs the on-device evaluation
(`host.device_eval.hil_eval`) against the started board, then stops it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from toolchain.boards.base import canonical_board_name, get_board
from toolchain.boards.build import build_project
from toolchain.boards.project import generate_project
from toolchain.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_BOARD = "qemu-m55"
STARTABLE = ("qemu-m55", "host")


def _value(cfg: Any, dotted: str, default: Any = None) -> Any:
    """`cfg.a.b` for a pydantic/namespace/dict config; `default` when any level is absent."""
    node = cfg
    for key in dotted.split("."):
        if node is None:
            return default
        node = node.get(key) if isinstance(node, dict) else getattr(node, key, None)
    return default if node is None else node


def _model_of(cfg: Any, run: Any, model_path: str | Path | None) -> Path:
    """The int8 model to deploy: the argument, else the run's quantized model, else model_path."""
    candidates: list[Path] = []
    if model_path is not None:
        candidates.append(Path(model_path))
    quantized = Path(run.quantized_models_dir) if hasattr(run, "quantized_models_dir") else None
    if quantized is not None and quantized.is_dir():
        candidates += sorted(quantized.glob("*_int8.tflite"))
    for key in ("model.model_path", "general.model_path"):
        value = _value(cfg, key)
        if value and str(value).endswith(".tflite"):
            candidates.append(Path(str(value)))
    for path in candidates:
        if path.is_file():
            return path
    raise ConfigError(
        "deployment needs an int8 .tflite model: give model.model_path or run quantization first; "
        f"looked at {', '.join(map(str, candidates)) or 'nothing'}"
    )


def deploy(cfg: Any, run: Any, model_path: str | Path | None = None) -> dict:
    """Generate, build and flash `deployment.board`; returns {firmware, project, url, device}.

    A started board (qemu-m55, host) is stopped after the on-device evaluation; without one it
    keeps running (its URL is printed and returned) until `reidtool board stop`.

    Args:
        cfg: the validated configuration (`ReidConfig`).
        run: the `RunDir`.
        model_path: the int8 model (default: the run's quantized model or model.model_path).
    """
    board_name = canonical_board_name(str(_value(cfg, "deployment.board", DEFAULT_BOARD)))
    model = _model_of(cfg, run, model_path)
    project = Path(run.firmware_dir)
    generate_project(model, project, board=board_name, command="reidtool deploy")
    report = build_project(project, echo=True)
    run.update_metrics("benchmark", {"firmware": report.firmware_block()})
    result: dict[str, Any] = {"firmware": report.firmware_block(), "project": str(project)}
    board = get_board(board_name)
    if board_name not in STARTABLE:
        from toolchain.boards.flash import flash

        flash(project, board_name)
        return result
    url = board.start(project)
    result["url"] = url
    evaluate = bool(_value(cfg, "deployment.evaluate_on_device", False))
    has_test = _value(cfg, "dataset.test_query_path") and _value(cfg, "dataset.test_gallery_path")
    if not (evaluate and has_test):
        if evaluate:
            log.warning("deployment.evaluate_on_device is set but dataset.test_*_path are not")
        # The board keeps running for `reidtool hil-eval --port URL`; `reidtool board stop` ends it.
        print(url)
        return result
    try:
        from host.device_eval import hil_eval

        result["device"] = hil_eval(SimpleNamespace(cfg=cfg, run=run), board_url=url)
    finally:
        board.stop()
    return result
