"""The custom step: logged names, loss weights, config round trip with the loss settings."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from toolchain.errors import ConfigError
from toolchain.training.losses import SmoothedCrossEntropy, triplet_loss
from toolchain.training.training_model import ReidTrainingModel, loss_config_from


def _model(loss_config=None):
    inp = keras.Input((5,))
    emb = keras.layers.Dense(4, name="embedding_fc")(inp)
    logits = keras.layers.Dense(3, name="logits")(emb)
    return ReidTrainingModel(inp, {"embedding": emb, "logits": logits}, loss_config=loss_config)


def test_loss_config_defaults_and_checks():
    cfg = loss_config_from(
        {"triplet_loss": {"strategy": "simple"}, "loss_weights": {"triplet": 0.5}}
    )
    assert cfg == {
        "label_smoothing": 0.1,
        "loss_weights": {"classification": 1.0, "triplet": 0.5},
        "triplet_loss": {"margin": 0.3, "strategy": "simple", "distance_metric": "cosine"},
    }
    with pytest.raises(ConfigError, match="loss_weights: unknown key.*center"):
        loss_config_from({"loss_weights": {"center": 1.0}})
    with pytest.raises(ConfigError, match="not all 0"):
        loss_config_from({"loss_weights": {"classification": 0, "triplet": 0}})


def test_evaluate_reports_weighted_sum_under_zoo_names(tmp_path):
    config = loss_config_from(
        {
            "loss_weights": {"classification": 0.5, "triplet": 2.0},
            "triplet_loss": {"strategy": "hard"},
            "label_smoothing": 0.0,
        }
    )
    model = _model(config)
    model.compile(optimizer="sgd")
    x = np.random.default_rng(0).normal(size=(8, 5)).astype(np.float32)
    y = np.array([0, 0, 1, 1, 2, 2, 0, 1])
    logs = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy", "classification_loss", "triplet_loss"}
    out = model(x, training=False)
    ce = float(SmoothedCrossEntropy(0.0)(y, out["logits"]))
    tri = float(triplet_loss(y, out["embedding"], 0.3, "hard"))
    assert logs["classification_loss"] == pytest.approx(ce, rel=1e-5)
    assert logs["triplet_loss"] == pytest.approx(tri, rel=1e-5)
    assert logs["loss"] == pytest.approx(0.5 * ce + 2.0 * tri, rel=1e-5)
    assert logs["accuracy"] == pytest.approx(np.mean(np.argmax(out["logits"], 1) == y))

    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(again, ReidTrainingModel) and again.loss_config == config
