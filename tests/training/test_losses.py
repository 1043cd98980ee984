"""Triplet and cross-entropy losses against hand-computed values and a numpy loop reference."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf

from toolchain.errors import ConfigError, UnknownNameError
from toolchain.training.losses import SmoothedCrossEntropy, TripletLoss, triplet_loss

# Batch A: unit vectors; cosine distances d01=1, d02=.2, d03=.4, d12=.4, d13=.2, d23=.04.
BATCH_A = np.array([[1, 0], [0, 1], [0.8, 0.6], [0.6, 0.8]], np.float32)
# Batch B: d01=.4, d02=1, d03=1.6, d12=.2, d13=.72, d23=.2.
BATCH_B = np.array([[1, 0], [0.6, 0.8], [0, 1], [-0.6, 0.8]], np.float32)
LABELS = np.array([0, 0, 1, 1])


def _value(emb, strategy, margin, metric="cosine", labels=LABELS):
    return float(triplet_loss(tf.constant(labels), tf.constant(emb), margin, strategy, metric))


def test_hard_by_hand():
    # anchors: max(1-.2+.3,0)=1.1, 1.1, max(.04-.2+.3,0)=.14, .14 -> mean .62
    assert _value(BATCH_A, "hard", 0.3) == pytest.approx(0.62, abs=1e-5)
    # batch B: 0, .4-.2+.3=.5, .2-.2+.3=.3, 0 -> .2
    assert _value(BATCH_B, "hard", 0.3) == pytest.approx(0.2, abs=1e-5)


def test_semi_hard_by_hand():
    # (0,1),(1,0): no negative farther than d_ap=1 -> farthest negative .4: 1-.4+.3=.9 each;
    # (2,3),(3,2): nearest negative beyond .04 is .2: .04-.2+.3=.14 each. 2.08 / 4 positive.
    assert _value(BATCH_A, "semi_hard", 0.3) == pytest.approx(0.52, abs=1e-5)
    # batch B, margin .5: only (1,0) is positive: .4-.72+.5=.18, divided by 1 triplet.
    assert _value(BATCH_B, "semi_hard", 0.5) == pytest.approx(0.18, abs=1e-5)


def test_simple_by_hand():
    # 8 triplets: 1.1, .9, .9, 1.1, .14, 0, 0, .14 -> 4.28 / 8
    assert _value(BATCH_A, "simple", 0.3) == pytest.approx(0.535, abs=1e-5)


def _numpy_reference(emb, labels, margin, strategy, metric):
    e = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    if metric == "cosine":
        d = np.clip(1 - e @ e.T, 0, 2)
    else:
        d = np.sqrt(np.maximum(((e[:, None] - e[None]) ** 2).sum(-1), 0))
    n = len(labels)
    pos = lambda a: [p for p in range(n) if p != a and labels[p] == labels[a]]  # noqa: E731
    neg = lambda a: [q for q in range(n) if labels[q] != labels[a]]  # noqa: E731
    if strategy == "hard":
        vals = [
            max(max(d[a, p] for p in pos(a)) - min(d[a, q] for q in neg(a)) + margin, 0)
            for a in range(n)
        ]
        return np.mean(vals)
    if strategy == "simple":
        vals = [
            max(d[a, p] - d[a, q] + margin, 0) for a in range(n) for p in pos(a) for q in neg(a)
        ]
        return np.mean(vals)
    vals = []
    for a in range(n):
        for p in pos(a):
            farther = [d[a, q] for q in neg(a) if d[a, q] > d[a, p]]
            dn = min(farther) if farther else max(d[a, q] for q in neg(a))
            vals.append(max(d[a, p] - dn + margin, 0))
    vals = np.array(vals)
    return vals.sum() / max((vals > 0).sum(), 1)


@pytest.mark.parametrize(
    "strategy,metric", itertools.product(["hard", "semi_hard", "simple"], ["cosine", "euclidean"])
)
def test_matches_numpy_loops(strategy, metric):
    rng = np.random.default_rng(7)
    labels = np.repeat(np.arange(4), 3)
    emb = rng.normal(size=(12, 5)).astype(np.float32)
    got = _value(emb, strategy, 0.3, metric, labels)
    assert got == pytest.approx(_numpy_reference(emb, labels, 0.3, strategy, metric), abs=1e-5)
    assert got > 0


def test_euclidean_gradient_finite_on_duplicates():
    emb = tf.Variable(np.array([[1, 0], [1, 0], [0, 1], [0, 1]], np.float32))
    with tf.GradientTape() as tape:
        loss = triplet_loss(tf.constant(LABELS), emb, 0.3, "hard", "euclidean")
    grad = tape.gradient(loss, emb)
    assert np.all(np.isfinite(grad.numpy()))


def test_keras_loss_round_trip_and_errors():
    loss = TripletLoss(margin=0.2, strategy="simple", distance_metric="euclidean")
    again = TripletLoss.from_config(loss.get_config())
    assert float(again(LABELS, BATCH_A)) == pytest.approx(float(loss(LABELS, BATCH_A)))
    with pytest.raises(UnknownNameError, match="semi_hard"):
        TripletLoss(strategy="hardest")
    with pytest.raises(ConfigError, match="margin"):
        TripletLoss(margin=-1)


def test_label_smoothing_cross_entropy_by_hand():
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32)
    labels = np.array([0, 2])
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    target = np.full((2, 3), 0.1 / 3)
    target[0, 0] += 0.9
    target[1, 2] += 0.9
    expected = -(target * logp).sum(1).mean()
    loss = SmoothedCrossEntropy(label_smoothing=0.1)
    assert float(loss(labels, logits)) == pytest.approx(expected, abs=1e-5)
    assert float(SmoothedCrossEntropy(0.0)(labels, logits)) == pytest.approx(
        -(logp[0, 0] + logp[1, 2]) / 2, abs=1e-5
    )
