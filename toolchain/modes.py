"""Operation modes and chains: one registry of steps, each chain a sequence of them.

`run_mode(loaded)` runs the steps of `operation_mode` (schema.MODE_STEPS) in one MLflow run,
passing each step's product (the trained .keras model, the int8 .tflite) to the next, so every
step of a chain records its figures in one metrics.json.

Adding a step = one function registered here with `@STEPS.register("name")` and one line in
`MODE_STEPS`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from toolchain.config.loader import LoadedConfig
from toolchain.errors import ConfigError
from toolchain.registry import Registry

log = logging.getLogger(__name__)


@dataclass
class ChainState:
    """What the steps of one run have produced so far."""

    float_model: Path | None = None
    int8_model: Path | None = None
    evaluated: set[Path] = field(default_factory=set)
    results: dict[str, object] = field(default_factory=dict)


class Step(Protocol):
    def __call__(self, loaded: LoadedConfig, state: ChainState) -> None: ...


STEPS: Registry[Step] = Registry("operation step")


def _configured_model(loaded: LoadedConfig) -> Path | None:
    path = loaded.cfg.model.model_path
    if not path:
        return None
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"model.model_path: {path} does not exist")
    return path


def _is_int8(path: Path) -> bool:
    return path.suffix == ".tflite"


#: The dataset folders each step reads (checked up front when set).
STEP_FOLDERS: dict[str, tuple[str, ...]] = {
    "training": ("training_path", "validation_path"),
    "quantization": ("quantization_path", "training_path"),
    "evaluation": ("test_query_path", "test_gallery_path"),
    "prediction": ("prediction_query_path", "prediction_gallery_path"),
}


def _require_dirs(loaded: LoadedConfig, *keys: str) -> None:
    """Each dataset.<key> that is set must be an existing folder (named when it is not)."""
    missing = []
    for key in dict.fromkeys(keys):
        value = getattr(loaded.cfg.dataset, key)
        if value and not Path(value).is_dir():
            missing.append(f"dataset.{key} = {value}")
    if missing:
        raise ConfigError(f"folder not found: {'; '.join(missing)}")


def preflight(loaded: LoadedConfig) -> None:
    """Check, before any work, that the folders and the model file every step needs exist."""
    steps = loaded.cfg.steps
    for step in steps:
        STEPS.get(step)
    _require_dirs(loaded, *(key for step in steps for key in STEP_FOLDERS.get(step, ())))
    if steps[0] != "training":
        _configured_model(loaded)


@STEPS.register("training")
def _training(loaded: LoadedConfig, state: ChainState) -> None:
    from toolchain.training.trainer import train

    _require_dirs(loaded, "training_path", "validation_path")
    state.float_model = Path(train(loaded.cfg, loaded.run))


@STEPS.register("quantization")
def _quantization(loaded: LoadedConfig, state: ChainState) -> None:
    from toolchain.quantization.quantizer import quantize

    _require_dirs(loaded, "quantization_path", "training_path")
    model = state.float_model or _configured_model(loaded)
    if model is None or _is_int8(model):
        raise ConfigError(f"quantization needs a float .keras model; model.model_path is {model}")
    result = quantize(loaded.cfg, loaded.run, model_path=model)
    state.int8_model = Path(result.int8_path)


@STEPS.register("evaluation")
def _evaluation(loaded: LoadedConfig, state: ChainState) -> None:
    from toolchain.evaluation.evaluator import evaluate

    _require_dirs(loaded, "test_query_path", "test_gallery_path")
    target = loaded.cfg.evaluation.target
    if target.startswith("stedgeai"):  # the zoo's stedgeai_host / stedgeai_n6
        from toolchain import stedgeai

        model = state.int8_model or _configured_model(loaded)
        cfg = loaded.cfg
        board = "STM32N6570-DK" if target == "stedgeai_n6" else cfg.deployment.board
        stedgeai.validate(
            model, loaded.run.root, board=board, mode="target" if target == "stedgeai_n6" else "host",
            baud=cfg.evaluation.baud, port=cfg.evaluation.port,
            path_to_stedgeai=cfg.tools.stedgeai.path_to_stedgeai,
        )
        return
    if target == "board":
        from host.device_eval import hil_eval

        hil_eval(loaded)
        return
    models = [m for m in (state.float_model, state.int8_model) if m and m not in state.evaluated]
    if not models and not state.evaluated:
        models = [_configured_model(loaded)]
    for model in models:
        evaluate(loaded.cfg, loaded.run, model_path=model)
        state.evaluated.add(model)


@STEPS.register("prediction")
def _prediction(loaded: LoadedConfig, state: ChainState) -> None:
    from toolchain.evaluation.predict import predict

    _require_dirs(loaded, "prediction_query_path", "prediction_gallery_path")
    predict(loaded.cfg, loaded.run, model_path=state.int8_model or _configured_model(loaded))


@STEPS.register("benchmarking")
def _benchmarking(loaded: LoadedConfig, state: ChainState) -> None:
    model = state.int8_model or _configured_model(loaded)
    if model is None or not _is_int8(model):
        raise ConfigError(
            f"benchmarking needs an int8 .tflite model (quantize first); model.model_path is {model}"
        )
    from toolchain.codegen.benchmark import benchmark

    benchmark(loaded.cfg, loaded.run, model_path=model)


@STEPS.register("deployment")
def _deployment(loaded: LoadedConfig, state: ChainState) -> None:
    from toolchain.boards.deploy import deploy

    model = state.int8_model or _configured_model(loaded)
    if model is None or not _is_int8(model):
        raise ConfigError(
            f"deployment needs an int8 .tflite model (quantize first); model.model_path is {model}"
        )
    cfg = loaded.cfg
    if cfg.operation_mode == "chain_tqed":  # the chain ends with the on-device evaluation
        cfg = cfg.model_copy(
            update={"deployment": cfg.deployment.model_copy(update={"evaluate_on_device": True})}
        )
    from toolchain.codegen.benchmark import benchmark_model

    loaded.run.update_metrics("benchmark", benchmark_model(model))  # weights and arena bytes
    state.results["deployment"] = deploy(cfg, loaded.run, model_path=model)


def run_mode(loaded: LoadedConfig) -> ChainState:
    """Run every step of `operation_mode` in one MLflow run; returns what they produced."""
    from toolchain import tracking

    preflight(loaded)
    steps = loaded.cfg.steps
    state = ChainState()
    with tracking.mlflow_run(loaded):
        for i, step in enumerate(steps, 1):
            log.info("step %d/%d: %s", i, len(steps), step)
            STEPS.get(step)(loaded, state)
    return state


__all__ = ["STEPS", "ChainState", "run_mode"]
