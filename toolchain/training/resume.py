"""Resuming an interrupted training (seed README §5.2).

`training.resume_training_from: True` with `model.model_path` naming a
`best_augmented_model.keras` or `last_augmented_model.keras` (or `resume_training_from` set to
that path) reloads the model with its optimizer state and continues at the epoch after the last
completed one, read from the `training_state.json` beside the file (callback state and sampler
RNG included). `training.epochs` is the total. Changes to dropout, frozen layers or the
optimizer are ignored with a warning (the saved model carries them); batch size and callbacks
follow the current config. `best_model.keras` (no preprocessing layers) cannot be resumed.

A run killed mid-epoch (even by SIGKILL) resumes from the last completed epoch: models and
state are written atomically, state last, and `training_log.csv` is cut back to the completed
epochs before new rows are appended, so the final history has every epoch once.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolchain.errors import ConfigError
from toolchain.training.callbacks import LOG_NAME, STATE_NAME, read_state, truncate_log

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumed training starts.

    Attributes:
        model_path: the augmented model to load.
        initial_epoch: the first epoch to run (0-based), = saved epoch + 1.
        state: the saved training_state.json content.
    """

    model_path: Path
    initial_epoch: int
    state: dict[str, Any]


def resume_model_path(cfg: Any) -> Path | None:
    """The model file to resume from, or None when the config does not ask to resume."""
    training = getattr(cfg, "training", None)
    flag = getattr(training, "resume_training_from", None) if training is not None else None
    if flag in (None, False, "", "None", "False", "false"):
        return None
    if flag is True or str(flag).lower() == "true":
        model = getattr(cfg, "model", None)
        path = getattr(model, "model_path", None) if model is not None else None
        if not path:
            raise ConfigError(
                "training.resume_training_from: True needs model.model_path to name the "
                "'last_augmented_model.keras' of the interrupted training"
            )
        return Path(str(path))
    return Path(str(flag))


def not_resumable_error(path: Path) -> ConfigError:
    return ConfigError(
        "The model does not include preprocessing layers (rescaling, data augmentation). "
        f"Received model path: {path}. Training can only be resumed from the "
        "'best_augmented_model.keras' or 'last_augmented_model.keras' model files saved in the "
        "'saved_models_dir' directory during a previous training run."
    )


def find_resume_point(cfg: Any) -> ResumePoint | None:
    """The resume point asked for by `cfg`, checked before anything is loaded."""
    path = resume_model_path(cfg)
    if path is None:
        return None
    if not path.is_file():
        raise ConfigError(
            f"model.model_path: {path} does not exist; expected the "
            "'last_augmented_model.keras' of the training to resume"
        )
    if not path.name.endswith("_augmented_model.keras"):
        raise not_resumable_error(path)
    state_path = path.parent / STATE_NAME
    if not state_path.is_file():
        raise ConfigError(
            f"{state_path} is missing: reidtool resumes from a saved-models folder "
            f"holding {path.name} and {STATE_NAME}"
        )
    state = read_state(state_path)
    return ResumePoint(path, int(state["epoch"]) + 1, state)


def carry_history(
    point: ResumePoint, logs_dir: Path, previous_logs_dir: Path | None = None
) -> None:
    """Make `logs_dir/training_log.csv` hold exactly the completed epochs before appending.

    When the resumed run writes to a new run directory, the previous run's log (from
    `previous_logs_dir`) is copied first, so the new log holds the whole history.
    """
    target = Path(logs_dir) / LOG_NAME
    if previous_logs_dir is not None:
        source = Path(previous_logs_dir) / LOG_NAME
        if source.is_file() and source.resolve() != target.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    truncate_log(target, point.initial_epoch - 1)


def warn_ignored_changes(cfg: Any, model, saved: dict[str, Any]) -> list[str]:
    """Warn about dropout / frozen layers / optimizer settings that differ from the saved run."""
    from toolchain.training.optimizers import parse_optimizer

    training = cfg.training
    notes = []
    previous = saved.get("settings") or {}
    current = {
        "dropout": getattr(training, "dropout", None),
        "frozen_layers": None
        if getattr(training, "frozen_layers", None) in (None, "None")
        else str(training.frozen_layers),
        "optimizer": list(parse_optimizer(training.optimizer)),
    }
    for key, value in current.items():
        if key in previous and _jsonish(previous[key]) != _jsonish(value):
            notes.append(
                f"training.{key} changed from {previous[key]!r} to {value!r}: ignored when "
                "resuming (the saved model keeps its original setting)"
            )
    for note in notes:
        log.warning(note)
    return notes


def _jsonish(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))
