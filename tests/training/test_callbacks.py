"""Callback building, the CSV log, the collapse guard and the training state, on real models."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from toolchain.errors import ConfigError
from toolchain.training.callbacks import (
    CollapseGuard,
    EpochCSVLogger,
    TrainingState,
    build_user_callbacks,
    embedding_spread,
    logged_metrics,
    read_log,
    read_state,
    truncate_log,
)
from toolchain.training.training_model import ReidTrainingModel

# The callback blocks of the seed's training_config.yaml and README_TRAINING.md §2.7.
SEED_BLOCKS = [
    {
        "ReduceLROnPlateau": {
            "monitor": "val_loss",
            "mode": "min",
            "factor": 0.7,
            "patience": 40,
            "min_lr": 1.0e-05,
        },
        "EarlyStopping": {
            "monitor": "val_loss",
            "mode": "min",
            "restore_best_weights": True,
            "patience": 100,
        },
    },
    {
        "ReduceLROnPlateau": {"monitor": "val_accuracy", "factor": 0.5, "patience": 10},
        "EarlyStopping": {"monitor": "val_accuracy", "patience": 60},
    },
]


@pytest.mark.parametrize("block", SEED_BLOCKS)
def test_seed_callback_blocks_build(block):
    built = build_user_callbacks(block, logged_metrics(has_validation=True))
    assert [type(c).__name__ for c in built] == list(block)


def test_val_monitor_needs_validation():
    with pytest.raises(ConfigError, match="val_loss"):
        build_user_callbacks(SEED_BLOCKS[0], logged_metrics(has_validation=False))


def _tiny_model(constant: bool = False) -> ReidTrainingModel:
    inp = keras.Input((6,))
    init = "zeros" if constant else "glorot_uniform"
    dense = keras.layers.Dense(
        8, kernel_initializer=init, bias_initializer="ones", name="embedding_fc"
    )
    dense.trainable = not constant  # a collapsed embedding stays collapsed
    emb = dense(inp)
    logits = keras.layers.Dense(3, name="logits")(emb)
    model = ReidTrainingModel(inp, {"embedding": emb, "logits": logits})
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    return model


def test_embedding_spread_by_hand():
    e = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], np.float64)
    assert embedding_spread(e) == pytest.approx(0.5)  # std of (1,0,1,0) = .5 per dim
    assert embedding_spread(np.ones((5, 4))) == pytest.approx(0.0)


def test_collapse_guard_stops_a_collapsed_model():
    x = np.random.default_rng(0).normal(size=(16, 6)).astype(np.float32)
    y = np.arange(16) % 3
    guard = CollapseGuard(x, patience=3)
    hist = _tiny_model(constant=True).fit(x, y, epochs=6, verbose=0, callbacks=[guard])
    assert guard.message and "collapsed" in guard.message and "semi_hard" in guard.message
    assert len(hist.history["loss"]) == 3, "stops after `patience` collapsed epochs"

    healthy = CollapseGuard(x)
    hist = _tiny_model().fit(x, y, epochs=2, verbose=0, callbacks=[healthy])
    assert healthy.message is None and len(hist.history["embedding_spread"]) == 2
    assert hist.history["embedding_spread"][0] > 0.05


def _stale_bn_model(momentum: float) -> ReidTrainingModel:
    """Dense → BatchNormalization whose moving mean is far off → ReLU6: saturated (one vector
    for every input) in inference mode, spread on the batch's own statistics."""
    inp = keras.Input((6,))
    x = keras.layers.Dense(8, name="fc")(inp)
    bn = keras.layers.BatchNormalization(momentum=momentum, name="bn")
    emb = keras.layers.ReLU(max_value=6.0)(bn(x))
    logits = keras.layers.Dense(3, name="logits")(emb)
    model = ReidTrainingModel(inp, {"embedding": emb, "logits": logits})
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    bn.moving_mean.assign(np.full(8, -1000.0, np.float32))
    return model


def test_collapse_guard_does_not_stop_on_lagging_batchnorm_statistics():
    # MobileNetV2 from scratch on TGC2020 was stopped at epoch 3 this way while its
    # training-mode embeddings had spread·√D 0.76.
    x = np.random.default_rng(0).normal(size=(32, 6)).astype(np.float32)
    y = np.arange(32) % 3
    model = _stale_bn_model(momentum=1.0)  # the moving statistics never catch up
    guard = CollapseGuard(x, patience=2)
    hist = model.fit(x, y, epochs=4, verbose=0, callbacks=[guard])
    assert max(hist.history["embedding_spread"]) < 1e-6, "inference mode is saturated"
    assert guard.message is None and len(hist.history["loss"]) == 4

    # the check in training mode leaves the model's statistics as they were
    model = _stale_bn_model(momentum=0.0)  # one training-mode call would overwrite them
    guard = CollapseGuard(x, patience=1)
    guard.set_model(model)
    guard.on_train_begin()
    guard.on_epoch_end(0, {})
    assert guard.message is None
    np.testing.assert_array_equal(model.get_layer("bn").moving_mean.numpy(), -1000.0)


def test_csv_log_appends_and_truncates(tmp_path):
    path = tmp_path / "logs" / "training_log.csv"
    logger = EpochCSVLogger(path)
    for epoch in range(3):
        logger.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1), "val_loss": 2.0})
    logger.on_epoch_end(2, {"loss": 9.0, "val_loss": 9.0})  # a re-run epoch after a crash
    assert [r["epoch"] for r in read_log(path)] == ["0", "1", "2", "2"]
    rows = truncate_log(path, 1)
    assert [r["epoch"] for r in rows] == ["0", "1"] == [r["epoch"] for r in read_log(path)]
    EpochCSVLogger(path).on_epoch_end(2, {"loss": 0.3, "val_loss": 1.0})
    assert [float(r["loss"]) for r in read_log(path)] == pytest.approx([1.0, 0.5, 0.3])


def test_training_state_round_trip(tmp_path):
    x = np.random.default_rng(1).normal(size=(12, 6)).astype(np.float32)
    y = np.arange(12) % 3
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=50)
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=50)
    path = tmp_path / "training_state.json"
    model = _tiny_model()
    model.fit(
        x, y, epochs=2, verbose=0, callbacks=[stop, plateau, TrainingState(path, [stop, plateau])]
    )
    state = read_state(path)
    assert state["epoch"] == 1 and state["learning_rate"] == pytest.approx(0.1)
    assert state["callbacks"]["0:EarlyStopping"]["best"] == pytest.approx(stop.best)

    stop2 = keras.callbacks.EarlyStopping(monitor="loss", patience=50)
    plateau2 = keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=50)
    stop2.set_model(model)
    restorer = TrainingState(tmp_path / "other.json", [stop2, plateau2], restore=state)
    restorer.set_model(model)
    for cb in (stop2, plateau2, restorer):
        cb.on_train_begin()
    assert stop2.best == pytest.approx(stop.best) and stop2.wait == stop.wait
    assert plateau2.best == pytest.approx(plateau.best)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ConfigError, match="bad.json"):
        read_state(tmp_path / "bad.json")
    assert math.isfinite(state["callbacks"]["1:ReduceLROnPlateau"]["best"])
