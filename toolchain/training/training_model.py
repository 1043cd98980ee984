"""The trained model: the functional ReID graph with a custom train/test step.

Only the step is custom (torchreid's `forward_backward` idea); the loop stays `model.fit`, so
checkpoints, schedulers, early stopping and logging remain ordinary callbacks. The step adds
the smoothed cross-entropy on the logits and the triplet loss on the embedding, weighted by
`training.loss_weights`, and logs exactly `loss`, `accuracy`, `classification_loss` and
`triplet_loss` (and their `val_` twins) — the names the zoo's callbacks monitor. The loss
settings are part of the model's config, so a saved `*_augmented_model.keras` reloads ready to
resume, optimizer state included.

Example:
    model = ReidTrainingModel(base.input, base.output, loss_config=loss_config_from(cfg))
    model.compile(optimizer=build_optimizer("adam"))
    model.fit(train_ds, validation_data=val_ds, epochs=10)
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from toolchain.errors import ConfigError
from toolchain.training.losses import SmoothedCrossEntropy, TripletLoss

#: Metrics every training logs (validation adds the `val_` twins of the first four).
TRAIN_METRICS = ("loss", "accuracy", "classification_loss", "triplet_loss")

DEFAULT_LOSS_CONFIG = {
    "label_smoothing": 0.1,
    "loss_weights": {"classification": 1.0, "triplet": 1.0},
    "triplet_loss": {"margin": 0.3, "strategy": "hard", "distance_metric": "cosine"},
}


def _section(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if isinstance(value, dict):
        return dict(value)
    return {k: v for k, v in vars(value).items() if not k.startswith("_")}


def loss_config_from(training: Any) -> dict[str, Any]:
    """The loss settings of a `training` section, defaults filled in (CONTRACTS §4)."""
    training = _section(training)
    triplet = {
        **DEFAULT_LOSS_CONFIG["triplet_loss"],
        **{k: v for k, v in _section(training.get("triplet_loss")).items() if v is not None},
    }
    weights = {
        **DEFAULT_LOSS_CONFIG["loss_weights"],
        **{k: v for k, v in _section(training.get("loss_weights")).items() if v is not None},
    }
    unknown = set(weights) - {"classification", "triplet"}
    if unknown:
        raise ConfigError(
            f"training.loss_weights: unknown key(s) {', '.join(sorted(unknown))}; "
            "valid: classification, triplet"
        )
    if any(float(w) < 0 for w in weights.values()) or not any(
        float(w) > 0 for w in weights.values()
    ):
        raise ConfigError(
            f"training.loss_weights: expected non-negative weights, not all 0; received {weights}"
        )
    smoothing = training.get("label_smoothing")
    return {
        "label_smoothing": float(
            DEFAULT_LOSS_CONFIG["label_smoothing"] if smoothing is None else smoothing
        ),
        "loss_weights": {k: float(v) for k, v in weights.items()},
        "triplet_loss": {
            "margin": float(triplet["margin"]),
            "strategy": str(triplet["strategy"]),
            "distance_metric": str(triplet["distance_metric"]),
        },
    }


@keras.saving.register_keras_serializable(package="reidtool")
class ReidTrainingModel(keras.Model):
    """A functional model `{"embedding", "logits"}` trained with CE + triplet by a custom step.

    Build it from another functional model's tensors: `ReidTrainingModel(base.input,
    base.output, loss_config=...)`.

    Args:
        loss_config: `loss_config_from(cfg.training)`; defaults to `DEFAULT_LOSS_CONFIG`.
    """

    def __init__(self, *args, loss_config: dict[str, Any] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.classification_tracker = keras.metrics.Mean(name="classification_loss")
        self.triplet_tracker = keras.metrics.Mean(name="triplet_loss")
        self.accuracy_metric = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.set_loss_config(loss_config or DEFAULT_LOSS_CONFIG)

    def set_loss_config(self, loss_config: dict[str, Any]) -> None:
        """Replace the loss settings (a resumed training takes the current config's)."""
        self.loss_config = {
            "label_smoothing": float(loss_config["label_smoothing"]),
            "loss_weights": dict(loss_config["loss_weights"]),
            "triplet_loss": dict(loss_config["triplet_loss"]),
        }
        self._ce = SmoothedCrossEntropy(self.loss_config["label_smoothing"])
        self._triplet = TripletLoss(**self.loss_config["triplet_loss"])

    @property
    def metrics(self):
        return [
            self.loss_tracker,
            self.accuracy_metric,
            self.classification_tracker,
            self.triplet_tracker,
        ]

    def _reid_losses(self, labels, outputs):
        labels = tf.reshape(labels, [-1])
        weights = self.loss_config["loss_weights"]
        ce = self._ce(labels, outputs["logits"])
        triplet = self._triplet(labels, outputs["embedding"])
        total = weights["classification"] * ce + weights["triplet"] * triplet
        if self.losses:  # weight regularisers of the backbone
            total = total + tf.add_n(self.losses)
        return total, ce, triplet

    def _update(self, labels, outputs, total, ce, triplet):
        self.loss_tracker.update_state(total)
        self.classification_tracker.update_state(ce)
        self.triplet_tracker.update_state(triplet)
        self.accuracy_metric.update_state(tf.reshape(labels, [-1]), outputs["logits"])
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        images, labels = data[0], data[1]
        with tf.GradientTape() as tape:
            outputs = self(images, training=True)
            total, ce, triplet = self._reid_losses(labels, outputs)
            # Gradients are summed over replicas: scale so the update is the global mean.
            scaled = total / tf.cast(tf.distribute.get_strategy().num_replicas_in_sync, total.dtype)
        grads = tape.gradient(scaled, self.trainable_weights)
        self.optimizer.apply(grads, self.trainable_weights)
        return self._update(labels, outputs, total, ce, triplet)

    def test_step(self, data):
        images, labels = data[0], data[1]
        outputs = self(images, training=False)
        total, ce, triplet = self._reid_losses(labels, outputs)
        return self._update(labels, outputs, total, ce, triplet)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "loss_config": self.loss_config}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        loss_config = config.pop("loss_config", None)
        model = super().from_config(config, custom_objects)
        if loss_config:
            model.set_loss_config(loss_config)
        return model
