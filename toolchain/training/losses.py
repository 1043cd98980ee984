"""Training losses: cross-entropy with label smoothing on the logits, triplet loss on the embedding.

A ReID embedder is trained as a classifier (one class per identity) whose penultimate feature is
pulled together for the same identity and pushed apart for different ones by a triplet loss.
The triplet loss works on L2-normalised embeddings, so the cosine distance (1 − cos, clipped to
[0, 2]) and the euclidean distance (in [0, 2]) share one scale and one margin. The three mining
strategies of ST's model zoo (`hard`, `semi_hard`, `simple`) are a registry, so adding one is
one decorated function.

Example:
    loss = TripletLoss(margin=0.3, strategy="hard", distance_metric="cosine")
    value = loss(labels, embeddings)
"""

from __future__ import annotations

import keras
import tensorflow as tf

from toolchain.errors import ConfigError
from toolchain.registry import Registry

#: Mining strategies: name -> fn(dist, positive_mask, negative_mask, margin) -> scalar;
#: the three matrices are (B, B).
TRIPLET_STRATEGIES: Registry = Registry("triplet strategy")
#: Distance functions on L2-normalised embeddings: name -> fn(embeddings (B, D)) -> (B, B).
DISTANCES: Registry = Registry("triplet distance metric")


@DISTANCES.register("cosine")
def cosine_distance(embeddings: tf.Tensor) -> tf.Tensor:
    """Pairwise 1 − cos between L2-normalised rows, clipped to [0, 2]."""
    return tf.clip_by_value(1.0 - tf.matmul(embeddings, embeddings, transpose_b=True), 0.0, 2.0)


@DISTANCES.register("euclidean")
def euclidean_distance(embeddings: tf.Tensor) -> tf.Tensor:
    """Pairwise euclidean distance between rows; the gradient of sqrt at 0 is kept finite."""
    sq = tf.reduce_sum(tf.square(embeddings), axis=1)
    d2 = sq[:, None] - 2.0 * tf.matmul(embeddings, embeddings, transpose_b=True) + sq[None, :]
    d2 = tf.maximum(d2, 0.0)
    zero = tf.cast(tf.equal(d2, 0.0), d2.dtype)
    return tf.sqrt(d2 + zero * 1e-16) * (1.0 - zero)


@TRIPLET_STRATEGIES.register("hard")
def hard_triplet(dist, pos, neg, margin):
    """Batch-hard: per anchor the farthest positive and the nearest negative; mean over anchors
    that have at least one positive and one negative."""
    big = tf.reduce_max(dist) + 1.0
    hardest_pos = tf.reduce_max(tf.where(pos, dist, 0.0), axis=1)
    hardest_neg = tf.reduce_min(tf.where(neg, dist, big), axis=1)
    valid = tf.logical_and(tf.reduce_any(pos, axis=1), tf.reduce_any(neg, axis=1))
    per_anchor = tf.maximum(hardest_pos - hardest_neg + margin, 0.0)
    valid_f = tf.cast(valid, dist.dtype)
    return tf.math.divide_no_nan(tf.reduce_sum(per_anchor * valid_f), tf.reduce_sum(valid_f))


@TRIPLET_STRATEGIES.register("semi_hard")
def semi_hard_triplet(dist, pos, neg, margin):
    """Semi-hard: for each (anchor, positive) the nearest negative farther than the positive, or
    the farthest negative when none is; hinge; summed and divided by the number of triplets whose
    loss is positive (0 when there is none)."""
    big = tf.reduce_max(dist) + 1.0
    d_ap = dist[:, :, None]  # (a, p, 1)
    d_an = dist[:, None, :]  # (a, 1, n)
    outside = tf.logical_and(neg[:, None, :], d_an > d_ap)  # (a, p, n)
    nearest_outside = tf.reduce_min(tf.where(outside, d_an, big), axis=2)
    farthest_neg = tf.reduce_max(tf.where(neg, dist, -1.0), axis=1)[:, None]
    has_outside = tf.reduce_any(outside, axis=2)
    chosen = tf.where(has_outside, nearest_outside, tf.broadcast_to(farthest_neg, tf.shape(dist)))
    valid = tf.logical_and(pos, tf.reduce_any(neg, axis=1)[:, None])
    loss = tf.where(valid, tf.maximum(dist - chosen + margin, 0.0), 0.0)
    num_positive = tf.reduce_sum(tf.cast(loss > 1e-16, dist.dtype))
    return tf.math.divide_no_nan(tf.reduce_sum(loss), num_positive)


@TRIPLET_STRATEGIES.register("simple")
def simple_triplet(dist, pos, neg, margin):
    """All valid triplets (a, p ≠ a with a's identity, n of another identity): mean hinge."""
    valid = tf.logical_and(pos[:, :, None], neg[:, None, :])
    hinge = tf.maximum(dist[:, :, None] - dist[:, None, :] + margin, 0.0)
    valid_f = tf.cast(valid, dist.dtype)
    return tf.math.divide_no_nan(tf.reduce_sum(hinge * valid_f), tf.reduce_sum(valid_f))


def _label_masks(labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    labels = tf.reshape(labels, [-1])
    same = tf.equal(labels[:, None], labels[None, :])
    eye = tf.eye(tf.shape(labels)[0], dtype=tf.bool)
    return tf.logical_and(same, tf.logical_not(eye)), tf.logical_not(same)


def triplet_loss(
    labels, embeddings, margin: float = 0.3, strategy: str = "hard", distance_metric: str = "cosine"
) -> tf.Tensor:
    """The triplet loss of a batch (a scalar).

    Args:
        labels: (B,) or (B, 1) integer identities.
        embeddings: (B, D) raw embeddings; they are L2-normalised here.
        margin: the hinge margin.
        strategy: a name of `TRIPLET_STRATEGIES` (hard, semi_hard, simple).
        distance_metric: a name of `DISTANCES` (cosine, euclidean).
    """
    embeddings = tf.math.l2_normalize(tf.cast(embeddings, tf.float32), axis=1)
    dist = DISTANCES.get(distance_metric)(embeddings)
    pos, neg = _label_masks(labels)
    return TRIPLET_STRATEGIES.get(strategy)(dist, pos, neg, tf.constant(margin, tf.float32))


@keras.saving.register_keras_serializable(package="reidtool")
class TripletLoss(keras.losses.Loss):
    """`triplet_loss` as a Keras loss taking (identities, embeddings).

    Args:
        margin: hinge margin, in distance units (both metrics range over [0, 2]).
        strategy: hard | semi_hard | simple.
        distance_metric: cosine | euclidean.
    """

    def __init__(
        self,
        margin: float = 0.3,
        strategy: str = "hard",
        distance_metric: str = "cosine",
        name: str = "triplet_loss",
        **kwargs,
    ):
        kwargs.pop("reduction", None)
        super().__init__(name=name, reduction="none", **kwargs)
        TRIPLET_STRATEGIES.canonical(strategy)
        DISTANCES.canonical(distance_metric)
        if not 0.0 <= float(margin) <= 2.0:
            raise ConfigError(f"training.triplet_loss.margin must be in [0, 2]; received {margin}")
        self.margin = float(margin)
        self.strategy = strategy
        self.distance_metric = distance_metric

    def call(self, y_true, y_pred):
        return triplet_loss(y_true, y_pred, self.margin, self.strategy, self.distance_metric)

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "margin": self.margin,
            "strategy": self.strategy,
            "distance_metric": self.distance_metric,
        }


@keras.saving.register_keras_serializable(package="reidtool")
class SmoothedCrossEntropy(keras.losses.Loss):
    """Softmax cross-entropy on logits against integer identities, with label smoothing.

    Label smoothing (Szegedy et al.) keeps the classifier from becoming over-confident on the
    few images of each training identity, which in ReID generalises better to unseen ones.

    Args:
        label_smoothing: the probability mass spread evenly over all classes (0 = none).
    """

    def __init__(self, label_smoothing: float = 0.1, name: str = "classification_loss", **kwargs):
        kwargs.pop("reduction", None)
        super().__init__(name=name, reduction="none", **kwargs)
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise ConfigError(
                f"training.label_smoothing must be in [0, 1); received {label_smoothing}"
            )
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        logits = tf.cast(y_pred, tf.float32)
        labels = tf.cast(tf.reshape(y_true, [-1]), tf.int32)
        onehot = tf.one_hot(labels, tf.shape(logits)[-1], dtype=logits.dtype)
        n = tf.cast(tf.shape(logits)[-1], logits.dtype)
        target = onehot * (1.0 - self.label_smoothing) + self.label_smoothing / n
        return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(target, logits))

    def get_config(self) -> dict:
        return {"name": self.name, "label_smoothing": self.label_smoothing}
