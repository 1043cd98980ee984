"""`train(cfg, run)`: the training stage (operation_mode `training`, first step of the chains).

The loop is Keras's `model.fit` over identity-balanced P×K batches; the only custom piece is
the step (`training_model.ReidTrainingModel`: cross-entropy + triplet). Everything else is a
callback: the user's (`training.callbacks`) then the built-ins — collapse guard, checkpoints,
training_log.csv, TensorBoard, MLflow, and training_state.json last. Training ends with
`training_curves.png` and, when the test query/gallery paths are set, a float evaluation whose
figures go to metrics.json["float"].

Example:
    loaded = load_config("configs/quickstart.yaml")
    best = train(loaded.cfg, loaded.run)     # run/saved_models/best_model.keras
"""

from __future__ import annotations

import logging
import math
import re
import time
import warnings
from pathlib import Path
from typing import Any

import keras
import numpy as np

from toolchain.errors import ConfigError, TrainingError
from toolchain.rundir import RunDir

log = logging.getLogger(__name__)

VALIDATION_PROBE_IMAGES = 128
#: Training/validation sets up to this size (decoded uint8) are held in memory.
IN_MEMORY_BYTES = 512 * 2**20


def _get(obj: Any, dotted: str, default: Any = None) -> Any:
    """`obj.a.b` (attributes or mapping keys), or `default` when any part is missing or None."""
    for part in dotted.split("."):
        if obj is None:
            return default
        obj = obj.get(part) if isinstance(obj, dict) else getattr(obj, part, None)
    return default if obj is None else obj


# --------------------------------------------------------------------------- frozen layers

_ITEM = re.compile(r"^\s*(-?\d+)?\s*(:)?\s*(-?\d+)?\s*$")


def parse_frozen_layers(spec: Any, num_layers: int) -> list[int]:
    """Layer indices named by the zoo's `frozen_layers` syntax: "(0:-1)", "(10:120)", "(150:)",
    "(8, 110:121, -1)" (Python indexing; None/"None" = nothing frozen).

    Raises:
        ConfigError: unparsable text or an index out of range (the layer count is given).
    """
    if spec in (None, "", "None", "none"):
        return []
    if isinstance(spec, int):
        items = [str(spec)]
    elif isinstance(spec, list | tuple):
        items = [str(s) for s in spec]
    else:
        items = str(spec).strip().strip("()[]").split(",")
    chosen: list[int] = []
    for item in items:
        if not item.strip():
            continue
        match = _ITEM.match(item)
        if not match or (
            match.group(1) is None and match.group(2) is None and match.group(3) is None
        ):
            raise ConfigError(
                f"training.frozen_layers: cannot parse '{item.strip()}' in {spec!r}; "
                "expected Python indices/slices such as (0:-1) or (8, 110:121, -1)"
            )
        start, colon, stop = match.groups()
        if colon:
            chosen.extend(
                range(num_layers)[slice(int(start) if start else None, int(stop) if stop else None)]
            )
        else:
            index = int(start)
            if not -num_layers <= index < num_layers:
                raise ConfigError(
                    f"training.frozen_layers: index {index} is out of range for a model "
                    f"with {num_layers} layers"
                )
            chosen.append(index % num_layers)
    return sorted(set(chosen))


def network_layers(model) -> list:
    """The layers `frozen_layers` indexes: the network after the input, augmentation and
    rescaling layers (backbone, pooling, embedding, BNNeck, dropout, classifier)."""
    import keras

    from toolchain.training.augmentation import DataAugmentation

    return [
        layer
        for layer in model.layers
        if not isinstance(
            layer, keras.layers.InputLayer | DataAugmentation | keras.layers.Rescaling
        )
    ]


def apply_frozen_layers(model, spec: Any) -> list[str]:
    """Make every network layer trainable, then freeze those `spec` names; returns their names."""
    layers = network_layers(model)
    for layer in layers:
        layer.trainable = True
    frozen = [layers[i] for i in parse_frozen_layers(spec, len(layers))]
    for layer in frozen:
        layer.trainable = False
    return [layer.name for layer in frozen]


# --------------------------------------------------------------------------- setup helpers


def set_determinism(cfg: Any) -> None:
    """Seed Python, NumPy and TensorFlow with general.global_seed; with general.deterministic_ops
    also ask TensorFlow for deterministic ops (warn and continue where it cannot)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(int(_get(cfg, "general.global_seed", 123)))
    if _get(cfg, "general.deterministic_ops", False):
        try:
            tf.config.experimental.enable_op_determinism()
        except Exception as err:  # noqa: BLE001 - any backend refusal is a warning, not a failure
            warnings.warn(
                f"general.deterministic_ops: op determinism unavailable ({err}); continuing "
                "without it",
                stacklevel=2,
            )


def _tracking():
    """toolchain.tracking if present (MLflow logging; no-ops without an active run)."""
    try:
        from toolchain import tracking
    except ImportError:
        return None
    return tracking


def _settings(cfg: Any) -> dict[str, Any]:
    from toolchain.training.optimizers import parse_optimizer

    frozen = _get(cfg, "training.frozen_layers")
    return {
        "dropout": _get(cfg, "training.dropout"),
        "frozen_layers": None if frozen in (None, "None") else str(frozen),
        "optimizer": list(parse_optimizer(_get(cfg, "training.optimizer"))),
    }


def _probe_images(dataset, limit: int) -> np.ndarray | None:
    """Up to `limit` images from a (images, labels) dataset, for the collapse guard."""
    chunks, count = [], 0
    for images, _ in dataset:
        chunks.append(np.asarray(images))
        count += len(chunks[-1])
        if count >= limit:
            break
    return np.concatenate(chunks)[:limit] if chunks else None


def _decoded_bytes(cfg: Any, count: int) -> int:
    from toolchain.data.images import preprocessing_from_config

    return int(np.prod(preprocessing_from_config(cfg)["input_shape"])) * int(count)


def _load_all(cfg: Any, records) -> np.ndarray:
    from toolchain.data.images import load_input_batch, preprocessing_from_config

    kwargs = preprocessing_from_config(cfg)
    return load_input_batch([r.path for r in records], kwargs.pop("input_shape"), **kwargs)


def _train_dataset(cfg: Any, records, labels):
    """(P×K dataset of (float32 raw pixels, int32 labels), sampler).

    Sets that fit in `IN_MEMORY_BYTES` once decoded are held in memory and each batch is one
    gather of the sampler's indices, which keeps per-image Python work out of the training
    loop; larger sets stream from files through the data stage's cached pipeline.
    """
    import tensorflow as tf

    from toolchain.data.pipeline import train_dataset_from_config
    from toolchain.data.sampler import PKSampler

    if _decoded_bytes(cfg, len(records)) > IN_MEMORY_BYTES:
        return train_dataset_from_config(cfg, records, labels, cache=True)
    sampler = PKSampler.from_batch_size(
        labels,
        int(_get(cfg, "training.batch_size")),
        int(_get(cfg, "dataset.instances_per_identity", 4)),
        seed=int(_get(cfg, "dataset.seed", 123)),
    )
    images = tf.constant(_load_all(cfg, records))
    table = tf.constant(np.asarray(labels, np.int32))

    def batches():
        yield from sampler

    spec = tf.TensorSpec(shape=(sampler.batch_size,), dtype=tf.int64)
    ds = tf.data.Dataset.from_generator(batches, output_signature=spec)
    ds = ds.map(lambda i: (tf.cast(tf.gather(images, i), tf.float32), tf.gather(table, i)))
    return ds.prefetch(2), sampler


def _eval_dataset(cfg: Any, records, labels):
    """Validation batches (float32 raw pixels, labels), in memory when small (see above)."""
    import tensorflow as tf

    from toolchain.data.pipeline import eval_dataset_from_config

    if _decoded_bytes(cfg, len(records)) > IN_MEMORY_BYTES:
        return eval_dataset_from_config(cfg, records, labels=labels, cache=True)
    images = _load_all(cfg, records)
    ds = tf.data.Dataset.from_tensor_slices((images, np.asarray(labels, np.int32)))
    size = int(_get(cfg, "training.batch_size", 32))
    return ds.batch(size).map(lambda x, y: (tf.cast(x, tf.float32), y)).prefetch(2)


def _callbacks_section(cfg: Any) -> dict[str, Any]:
    from toolchain.training.schedulers import _as_dict

    return _as_dict(_get(cfg, "training.callbacks"))


# --------------------------------------------------------------------------- train


def train(cfg: Any, run: RunDir) -> Path:
    """Train the model `cfg` describes and save it in `run` (CONTRACTS §2).

    Args:
        cfg: the loaded configuration (`ReidConfig`).
        run: the run directory.

    Returns:
        The path of `best_model.keras` (the edge embedder) in `run.saved_models_dir`.

    Raises:
        ConfigError: a bad training section, detected before any epoch runs.
        TrainingError: the embeddings collapsed (the message names cause and fix).
    """
    import keras

    from toolchain.data.splits import build_splits, identity_labels
    from toolchain.training import callbacks as cbs
    from toolchain.training.distribution import check_batch_split, get_strategy
    from toolchain.training.optimizers import build_optimizer
    from toolchain.training.resume import carry_history, find_resume_point
    from toolchain.training.training_model import loss_config_from

    for key in ("batch_size", "epochs", "optimizer"):
        if _get(cfg, f"training.{key}") is None:
            raise ConfigError(f"training.{key} is mandatory; received nothing")
    epochs = int(_get(cfg, "training.epochs"))
    dryrun = _get(cfg, "training.dryrun")
    dryrun = int(dryrun) if dryrun not in (None, False, 0) else None
    loss_config = loss_config_from(_get(cfg, "training"))
    point = find_resume_point(cfg)

    set_determinism(cfg)
    strategy = get_strategy(_get(cfg, "training.distribution"))

    splits = build_splits(cfg)
    class_names = list(point.state.get("class_names") or []) if point else None
    labels, class_names = identity_labels(
        splits.train, class_names or _get(cfg, "dataset.class_names")
    )
    train_ds, sampler = _train_dataset(cfg, splits.train, labels)
    check_batch_split(strategy, sampler.p)
    has_val = bool(splits.val)
    val_ds = None
    if has_val:
        val_labels, _ = identity_labels(splits.val, class_names)
        val_ds = _eval_dataset(cfg, splits.val, val_labels)
    import tensorflow as tf

    steps = min(dryrun, len(sampler)) if dryrun else len(sampler)
    # A known length: Keras then neither probes the first epoch nor warns at its end.
    train_ds = train_ds.take(steps).apply(tf.data.experimental.assert_cardinality(steps))
    if dryrun and val_ds is not None:
        val_ds = val_ds.take(dryrun)

    # Check the user's callbacks before building anything heavy.
    logged = cbs.logged_metrics(has_val)
    user_callbacks = cbs.build_user_callbacks(_callbacks_section(cfg), logged)

    run.saved_models_dir.mkdir(parents=True, exist_ok=True)
    run.logs_dir.mkdir(parents=True, exist_ok=True)
    with strategy.scope():
        if point:
            model = _load_for_resume(point, cfg, loss_config, class_names)
        else:
            model = _build_new(cfg, loss_config, len(class_names))
            model.compile(optimizer=build_optimizer(_get(cfg, "training.optimizer")))

    if point:
        carry_history(
            point,
            run.logs_dir,
            point.model_path.parent.parent / _get(cfg, "general.logs_dir", "logs"),
        )
        saved_sampler = point.state.get("sampler") or {}
        if saved_sampler and (saved_sampler.get("p"), saved_sampler.get("k")) == (
            sampler.p,
            sampler.k,
        ):
            sampler.set_state(saved_sampler)
        elif saved_sampler:
            log.warning(
                "training.batch_size changed since the saved run (P×K %sx%s -> %dx%d): the "
                "batch sampler starts afresh",
                saved_sampler.get("p"),
                saved_sampler.get("k"),
                sampler.p,
                sampler.k,
            )
        log.info("resuming %s at epoch %d of %d", point.model_path, point.initial_epoch + 1, epochs)

    probe = _probe_images(val_ds if val_ds is not None else train_ds, VALIDATION_PROBE_IMAGES)
    guard = cbs.CollapseGuard(probe)
    export = _exporter(cfg)
    checkpoint = cbs.Checkpointer(run.saved_models_dir, export, "val_loss" if has_val else "loss")
    tracked = [*user_callbacks, checkpoint]
    state_cb = cbs.TrainingState(
        run.saved_models_dir / cbs.STATE_NAME,
        tracked,
        sampler,
        restore=point.state if point else None,
        extra={
            "class_names": class_names,
            "settings": _settings(cfg) if not point else point.state.get("settings", {}),
        },
    )
    callback_list = [
        _EpochTimer(),
        *user_callbacks,
        guard,
        _LRLogger(),
        checkpoint,
        cbs.EpochCSVLogger(run.logs_dir / cbs.LOG_NAME),
        keras.callbacks.TensorBoard(log_dir=str(run.logs_dir), write_graph=False, profile_batch=0),
        _TrackingLogger(),
        state_cb,
    ]

    tracking = _tracking()
    if tracking is not None:
        tracking.log_params(_flat_params(cfg, len(class_names), sampler))

    initial_epoch = point.initial_epoch if point else 0
    if initial_epoch < epochs:
        model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=epochs,
            initial_epoch=initial_epoch,
            callbacks=callback_list,
            verbose=2,
            shuffle=False,
        )
    else:
        log.warning(
            "training.epochs=%d: the resumed training already completed %d epochs; nothing to do",
            epochs,
            initial_epoch,
        )

    rows = cbs.read_log(run.logs_dir / cbs.LOG_NAME)
    curves = plot_training_curves(rows, run.root / "training_curves.png")
    best = run.saved_models_dir / "best_model.keras"
    if tracking is not None:
        for path in (curves, best, run.logs_dir / cbs.LOG_NAME):
            if path and Path(path).exists():
                tracking.log_artifact(str(path))
    if guard.message:
        raise TrainingError(guard.message)
    if not best.exists():
        raise TrainingError(
            f"training ended without saving {best}; see {run.logs_dir / cbs.LOG_NAME}"
        )

    if _get(cfg, "dataset.test_query_path") and _get(cfg, "dataset.test_gallery_path"):
        _evaluate(cfg, run, best)
    return best


def _build_new(cfg: Any, loss_config: dict[str, Any], num_classes: int):
    from toolchain.models.embedder import build_from_config
    from toolchain.training.augmentation import build_augmentation
    from toolchain.training.training_model import ReidTrainingModel

    augmentation = build_augmentation(cfg)
    base = build_from_config(
        cfg, num_classes, augmentation_layers=[augmentation] if augmentation else None
    )
    frozen = apply_frozen_layers(base, _get(cfg, "training.frozen_layers"))
    if frozen:
        log.info("frozen layers: %s", ", ".join(frozen))
    return ReidTrainingModel(
        base.input, base.output, loss_config=loss_config, name="augmented_model"
    )


def _load_for_resume(point, cfg: Any, loss_config: dict[str, Any], class_names: list[str]):
    import keras

    from toolchain.training import augmentation  # noqa: F401  (registers DataAugmentation)
    from toolchain.training.resume import not_resumable_error, warn_ignored_changes
    from toolchain.training.training_model import ReidTrainingModel

    try:
        model = keras.saving.load_model(point.model_path)
    except Exception as err:  # noqa: BLE001 - any load failure is reported with the file named
        reason = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
        raise ConfigError(f"model.model_path: cannot load {point.model_path} ({reason})") from err
    if not isinstance(model, ReidTrainingModel):
        raise not_resumable_error(point.model_path)
    classes = int(model.output["logits"].shape[-1])
    if classes != len(class_names):
        raise ConfigError(
            f"{point.model_path} classifies {classes} identities but the training set "
            f"has {len(class_names)}; resume with the same dataset"
        )
    warn_ignored_changes(cfg, model, point.state)
    model.set_loss_config(loss_config)
    return model


def _exporter(cfg: Any):
    from toolchain.models.export import export_embedder

    return lambda model: export_embedder(model, cfg)


def _evaluate(cfg: Any, run: RunDir, best: Path) -> None:
    from toolchain.evaluation.evaluator import evaluate

    evaluate(cfg, run, model_path=best)  # writes metrics.json["float"] and the plots


def _flat_params(cfg: Any, num_classes: int, sampler) -> dict[str, Any]:
    from toolchain.training.optimizers import parse_optimizer

    name, kwargs = parse_optimizer(_get(cfg, "training.optimizer"))
    params = {
        "model_name": _get(cfg, "model.model_name"),
        "model_path": _get(cfg, "model.model_path"),
        "input_shape": str(_get(cfg, "model.input_shape")),
        "num_classes": num_classes,
        "batch_size": _get(cfg, "training.batch_size"),
        "P": sampler.p,
        "K": sampler.k,
        "epochs": _get(cfg, "training.epochs"),
        "optimizer": name,
        "dropout": _get(cfg, "training.dropout"),
        "frozen_layers": _get(cfg, "training.frozen_layers"),
        "label_smoothing": _get(cfg, "training.label_smoothing", 0.1),
        "triplet_strategy": _get(cfg, "training.triplet_loss.strategy", "hard"),
        "triplet_margin": _get(cfg, "training.triplet_loss.margin", 0.3),
        "triplet_distance": _get(cfg, "training.triplet_loss.distance_metric", "cosine"),
    }
    params.update({f"optimizer.{k}": v for k, v in kwargs.items()})
    return {k: v for k, v in params.items() if v is not None}


def plot_training_curves(rows: list[dict[str, str]], out: Path) -> Path | None:
    """Loss and accuracy per epoch (train and validation) from training_log.csv rows."""
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from toolchain.files import atomic_write

    def series(key):
        values = [float(r[key]) if r.get(key) not in (None, "") else math.nan for r in rows]
        return values if any(not math.isnan(v) for v in values) else None

    epochs = [int(r["epoch"]) + 1 for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        for key, style in ((metric, "-"), (f"val_{metric}", "--")):
            values = series(key)
            if values:
                ax.plot(epochs, values, style, label=key)
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    atomic_write(out, lambda tmp: fig.savefig(tmp, format="png", dpi=100), suffix=".png")
    plt.close(fig)
    return out


class _EpochTimer(keras.callbacks.Callback):
    """Log `epoch_seconds`: wall time of the epoch's training and validation steps (first in the
    list, so it excludes the checkpoint writes of the built-in callbacks)."""

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self.start


class _LRLogger(keras.callbacks.Callback):
    """Record as `lr` the learning rate the epoch ran with (set at its start by any scheduler;
    ReduceLROnPlateau lowers it only at the epoch's end)."""

    def on_epoch_begin(self, epoch, logs=None):
        self.lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = self.lr


class _TrackingLogger(keras.callbacks.Callback):
    """Send each epoch's logs to MLflow through toolchain.tracking (no-op without a run)."""

    def on_epoch_end(self, epoch, logs=None):
        tracking = _tracking()
        if tracking is not None and logs:
            tracking.log_metrics({k: float(v) for k, v in logs.items()}, step=int(epoch))
