"""Training callbacks: the user's (any Keras callback or zoo scheduler, by name) and the built-in
ones (atomic checkpoints, appended CSV log, TensorBoard, training state, collapse guard).

The user's `training.callbacks` are checked before any work starts: the built-in names
(ModelCheckpoint, TensorBoard, CSVLogger) cannot be redefined, at most one callback may drive
the learning rate, and every `monitor` must name a metric the training logs (`val_loss`,
`val_accuracy`, ...), so a typo fails at start rather than warning mid-run. Built-ins keep the
run resumable: every save is atomic, `training_log.csv` gets one row per completed epoch, and
`training_state.json` — written last, after the models — is the commit point of an epoch.

Example:
    user = build_user_callbacks({"EarlyStopping": {"monitor": "val_loss", "patience": 5}},
                                logged_metrics(has_validation=True))
"""

from __future__ import annotations

import csv
import inspect
import io
import json
import logging
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from toolchain.errors import ConfigError
from toolchain.files import atomic_write, atomic_write_json, atomic_write_text
from toolchain.training.schedulers import SCHEDULERS, build_scheduler
from toolchain.training.training_model import TRAIN_METRICS

log = logging.getLogger(__name__)

BUILT_IN = ("ModelCheckpoint", "TensorBoard", "CSVLogger")
LR_DRIVERS = ("ReduceLROnPlateau", "LearningRateScheduler")
#: Callback attributes saved in training_state.json and restored on resume.
STATE_ATTRS = ("best", "wait", "stopped_epoch", "cooldown_counter", "best_epoch", "current_lr")
LOG_NAME = "training_log.csv"
STATE_NAME = "training_state.json"
EXTRA_METRICS = ("embedding_spread", "lr", "learning_rate", "epoch_seconds")


def logged_metrics(has_validation: bool) -> list[str]:
    """The metric names a training logs each epoch (what a `monitor` may name)."""
    names = list(TRAIN_METRICS) + list(EXTRA_METRICS)
    if has_validation:
        names += [f"val_{m}" for m in TRAIN_METRICS]
    return names


def _keras_callback_classes() -> dict[str, type]:
    return {
        n: c
        for n, c in vars(keras.callbacks).items()
        if inspect.isclass(c)
        and issubclass(c, keras.callbacks.Callback)
        and n not in ("Callback", "CallbackList", "History", "ProgbarLogger")
    }


def build_user_callbacks(
    section: dict[str, dict[str, Any] | None] | None, logged: Sequence[str]
) -> list[keras.callbacks.Callback]:
    """The `training.callbacks` mapping {name: kwargs} as callback objects, in order.

    Raises:
        ConfigError: a built-in or unknown name, bad arguments, more than one LR scheduler, or a
            `monitor` naming a metric the training does not log.
    """
    keras_classes = _keras_callback_classes()
    found, drivers = [], []
    for name, kwargs in (section or {}).items():
        kwargs = dict(kwargs or {})
        where = f"training.callbacks.{name}"
        if name in BUILT_IN:
            raise ConfigError(
                f"{where}: the `{name}` callback is built in and can't be redefined; "
                "remove it from training.callbacks"
            )
        monitor = kwargs.get("monitor")
        if monitor is not None and monitor not in logged:
            raise ConfigError(
                f"{where}.monitor: '{monitor}' is not a metric this training logs; "
                f"valid: {', '.join(logged)}"
            )
        if name in SCHEDULERS:
            callback = build_scheduler(name, kwargs)
        elif name in keras_classes:
            try:
                callback = keras_classes[name](**kwargs)
            except (TypeError, ValueError) as err:
                raise ConfigError(f"{where}: invalid arguments {kwargs} ({err})") from err
        else:
            valid = sorted(set(keras_classes) - set(BUILT_IN)) + SCHEDULERS.names()
            raise ConfigError(f"{where}: unknown callback '{name}'; valid: {', '.join(valid)}")
        if name in SCHEDULERS or name in LR_DRIVERS:
            drivers.append(name)
        found.append(callback)
    if len(drivers) > 1:
        raise ConfigError(
            f"training.callbacks: at most one learning rate scheduler; received "
            f"{', '.join(drivers)}"
        )
    return found


# --------------------------------------------------------------------------- training_log.csv


def read_log(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a training_log.csv (empty when the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def truncate_log(path: str | os.PathLike, last_epoch: int) -> list[dict[str, str]]:
    """Keep only rows of epochs <= `last_epoch` (0-based) and one row per epoch; atomic."""
    rows, seen = [], set()
    path = Path(path)
    if not path.exists():
        return rows
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        for row in reader:
            try:
                epoch = int(row["epoch"])
            except (KeyError, TypeError, ValueError):
                continue
            if epoch <= last_epoch and epoch not in seen:
                seen.add(epoch)
                rows.append(row)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, out.getvalue())
    return rows


class EpochCSVLogger(keras.callbacks.Callback):
    """Append one row per completed epoch to training_log.csv, flushed to disk.

    Columns are fixed by the file's header (or by the first epoch written); `epoch` is 0-based
    like Keras's.
    """

    def __init__(self, path: str | os.PathLike):
        super().__init__()
        self.path = Path(path)

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: _plain(v) for k, v in (logs or {}).items()}
        fields = None
        if self.path.exists() and self.path.stat().st_size:
            with self.path.open(newline="") as f:
                fields = next(csv.reader(f), None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", newline="") as f:
            if not fields:
                fields = ["epoch", *sorted(logs)]
                csv.writer(f, lineterminator="\n").writerow(fields)
            row = {"epoch": epoch, **logs}
            csv.writer(f, lineterminator="\n").writerow([row.get(k, "") for k in fields])
            f.flush()
            os.fsync(f.fileno())


def _plain(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


# --------------------------------------------------------------------------- checkpoints


def save_keras_atomic(model: keras.Model, path: str | os.PathLike) -> Path:
    """`model.save` through a temporary file and `os.replace`."""
    return atomic_write(path, lambda tmp: model.save(tmp), suffix=".keras")


class Checkpointer(keras.callbacks.Callback):
    """Save last_augmented_model.keras each epoch; on improvement of `monitor` also
    best_augmented_model.keras, best_model.keras (the edge embedder) and
    best_model_classification.keras (raw pixels → logits).

    Args:
        saved_models_dir: the run's saved-models folder.
        export: training model → edge embedder (`toolchain.models.export.export_embedder`).
        monitor: the metric deciding "best" (val_loss, or loss without validation); mode min.
    """

    def __init__(
        self,
        saved_models_dir: str | os.PathLike,
        export: Callable[[keras.Model], keras.Model],
        monitor: str = "val_loss",
    ):
        super().__init__()
        self.dir = Path(saved_models_dir)
        self.export = export
        self.monitor = monitor
        self.best = math.inf
        self.best_epoch = -1

    def on_train_begin(self, logs=None):
        self.best, self.best_epoch = math.inf, -1

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        value = math.inf if value is None else float(value)
        if value < self.best or self.best_epoch < 0:
            self.best, self.best_epoch = value, int(epoch)
            save_keras_atomic(self.model, self.dir / "best_augmented_model.keras")
            save_keras_atomic(self.export(self.model), self.dir / "best_model.keras")
            classifier = keras.Model(
                self.model.input, self.model.output["logits"], name="reid_classification_model"
            )
            save_keras_atomic(classifier, self.dir / "best_model_classification.keras")
        save_keras_atomic(self.model, self.dir / "last_augmented_model.keras")


# --------------------------------------------------------------------------- collapse guard


def embedding_spread(embeddings: np.ndarray) -> float:
    """Mean per-dimension standard deviation of the L2-normalised embeddings."""
    e = np.asarray(embeddings, np.float64).reshape(len(embeddings), -1)
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    return float(e.std(axis=0).mean())


class CollapseGuard(keras.callbacks.Callback):
    """Log `embedding_spread` each epoch and stop the training when the embeddings collapse.

    For unit vectors the per-dimension variances sum to 1 − |mean|², so the spread of D-dim
    embeddings is at most about 1/√D; a collapse (every image mapped to one vector, seen with
    softmax + hard triplet from scratch) drives it to 0. A freshly initialised network also
    starts with a low spread (ReLU features are all positive), so the run stops only when
    spread·√D stays below `threshold` for `patience` epochs without growing; `message` then
    says why and what to change. The probe runs in inference mode, where BatchNormalization uses
    its moving statistics; early in a from-scratch training these lag the weights and can map
    every image to one vector (ReLU6 saturated: MobileNetV2 on TGC2020) while the network itself
    has not collapsed. So a low spread is confirmed on the probe's own batch statistics
    (training mode, every variable restored afterwards) before the run is stopped.

    Args:
        images: a fixed batch of validation images (raw pixels).
        threshold: limit on spread·√D (default 0.02).
        patience: consecutive low, non-growing epochs before stopping (default 3).
    """

    def __init__(self, images: np.ndarray, threshold: float = 0.02, patience: int = 3):
        super().__init__()
        self.images = images
        self.threshold = float(threshold)
        self.patience = max(1, int(patience))
        self.message: str | None = None
        self.history: list[float] = []

    def on_train_begin(self, logs=None):
        self.message = None
        self.history = []

    def on_epoch_end(self, epoch, logs=None):
        if self.images is None or len(self.images) < 2:
            return
        out = self.model.predict(self.images, batch_size=min(64, len(self.images)), verbose=0)
        emb = np.asarray(out["embedding"])
        spread = embedding_spread(emb)
        if logs is not None:
            logs["embedding_spread"] = spread
        self.history.append(spread * math.sqrt(emb.shape[-1]))
        recent = self.history[-self.patience :]
        low = len(recent) == self.patience and max(recent) < self.threshold
        if low and recent[-1] <= recent[0]:
            batch = self._batch_statistics_spread()
            if batch >= self.threshold:
                log.warning(
                    "epoch %d: embeddings nearly constant in inference mode (spread·√D %.2e) "
                    "but not on the batch's own statistics (%.3f): BatchNormalization moving "
                    "statistics lag the weights; training goes on",
                    epoch + 1,
                    recent[-1],
                    batch,
                )
                return
            self.message = (
                f"Training stopped at epoch {epoch + 1}: the embeddings collapsed (embedding "
                f"spread {spread:.2e} for {self.patience} epochs: every validation image maps to "
                "nearly the same vector). Likely cause: the triplet loss pulling everything "
                "together early in training (typical of strategy 'hard' from scratch) or a "
                "too-high learning rate. Fix: use training.triplet_loss.strategy: semi_hard (or "
                "simple), lower the learning rate, or lower training.loss_weights.triplet "
                "(e.g. 0 for the first epochs)."
            )
            log.error(self.message)
            self.model.stop_training = True

    def _batch_statistics_spread(self) -> float:
        """spread·√D of the probe in training mode; the model's variables are left unchanged."""
        variables = self.model.non_trainable_variables
        saved = [v.numpy() for v in variables]
        try:
            out = self.model(self.images, training=True)
        finally:
            for v, value in zip(variables, saved, strict=True):
                v.assign(value)
        emb = np.asarray(out["embedding"])
        return embedding_spread(emb) * math.sqrt(emb.shape[-1])


# --------------------------------------------------------------------------- training state


class TrainingState(keras.callbacks.Callback):
    """Write training_state.json after each epoch (epoch, learning rate, every callback's state,
    the sampler's RNG) and restore a saved state at the start of a resumed training.

    Place it last: its `on_train_begin` must run after the other callbacks reset themselves,
    and its `on_epoch_end` after they updated their state.

    Args:
        path: training_state.json.
        callbacks: the callbacks whose state is saved (matched by position and class on restore).
        sampler: the P×K sampler (`get_state`/`set_state`), or None.
        restore: a previous state to restore, or None.
        extra: more JSON values saved with the state (e.g. the run's class names).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        callbacks: Sequence[keras.callbacks.Callback],
        sampler: Any = None,
        restore: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__()
        self.path = Path(path)
        self.tracked = list(callbacks)
        self.sampler = sampler
        self.restore = restore
        self.extra = dict(extra or {})

    @staticmethod
    def _key(index: int, callback: keras.callbacks.Callback) -> str:
        return f"{index}:{type(callback).__name__}"

    def snapshot(self, epoch: int) -> dict[str, Any]:
        states = {}
        for i, cb in enumerate(self.tracked):
            state = {}
            for attr in STATE_ATTRS:
                if hasattr(cb, attr):
                    value = _plain(getattr(cb, attr)) if getattr(cb, attr) is not None else None
                    if not isinstance(value, str):
                        state[attr] = value
            states[self._key(i, cb)] = state
        lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        return {
            "epoch": int(epoch),
            "learning_rate": lr,
            "callbacks": states,
            "sampler": self.sampler.get_state() if self.sampler is not None else None,
            **self.extra,
        }

    def on_train_begin(self, logs=None):
        if not self.restore:
            return
        saved = self.restore.get("callbacks") or {}
        for i, cb in enumerate(self.tracked):
            for attr, value in (saved.get(self._key(i, cb)) or {}).items():
                if hasattr(cb, attr):
                    setattr(cb, attr, value)
        if self.restore.get("learning_rate") is not None:
            self.model.optimizer.learning_rate = float(self.restore["learning_rate"])

    def on_epoch_end(self, epoch, logs=None):
        atomic_write_json(self.path, self.snapshot(epoch))


def read_state(path: str | os.PathLike) -> dict[str, Any]:
    """A training_state.json as a dict; a malformed file is a ConfigError naming it."""
    try:
        state = json.loads(Path(path).read_text())
        int(state["epoch"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ConfigError(
            f"{path}: not a valid training state ({err}); expected the "
            f"{STATE_NAME} written by a reidtool training"
        ) from err
    return state
