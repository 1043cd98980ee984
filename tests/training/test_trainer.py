"""train(cfg, run) on a tiny real image set: run directory, logs, checkpoints, options, errors."""

from __future__ import annotations

import csv
import json

import keras
import numpy as np
import pytest
from conftest import run_dir

from toolchain.errors import ConfigError
from toolchain.training.schedulers import build_scheduler
from toolchain.training.trainer import (
    apply_frozen_layers,
    network_layers,
    parse_frozen_layers,
    train,
)


def _rows(run):
    with (run.logs_dir / "training_log.csv").open() as f:
        return list(csv.DictReader(f))


def test_train_writes_the_run_directory(cfg_factory, tmp_path):
    sched = {"initial_lr": 0.004, "hold_steps": 1, "decay_steps": 2, "end_lr": 0.001}
    cfg = cfg_factory(
        epochs=3,
        callbacks={
            "EarlyStopping": {"monitor": "val_accuracy", "mode": "max", "patience": 5},
            "LRCosineDecay": sched,
        },
    )
    run = run_dir(tmp_path / "run")
    best = train(cfg, run)
    assert best == run.saved_models_dir / "best_model.keras"
    for name in (
        "best_augmented_model.keras",
        "last_augmented_model.keras",
        "best_model_classification.keras",
        "training_state.json",
    ):
        assert (run.saved_models_dir / name).is_file(), name
    assert (run.root / "training_curves.png").read_bytes()[:4] == b"\x89PNG"
    assert list((run.logs_dir / "train").glob("events.out.tfevents.*")), "no TensorBoard events"

    rows = _rows(run)
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    expected_lr = [build_scheduler("LRCosineDecay", sched).schedule(e) for e in range(3)]
    assert [float(r["lr"]) for r in rows] == pytest.approx(expected_lr, rel=1e-5)
    for key in (
        "loss",
        "accuracy",
        "triplet_loss",
        "classification_loss",
        "val_loss",
        "val_accuracy",
        "embedding_spread",
    ):
        assert np.isfinite(float(rows[-1][key])), key
    # the training loss goes down on this learnable set
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])

    state = json.loads((run.saved_models_dir / "training_state.json").read_text())
    assert state["epoch"] == 2 and state["sampler"]["epoch"] == 3
    assert state["callbacks"]["0:EarlyStopping"]["wait"] >= 0
    assert len(state["class_names"]) == 12

    edge = keras.saving.load_model(best)
    assert tuple(edge.input.shape) == (1, 32, 16, 3)
    emb = np.asarray(edge(np.full((1, 32, 16, 3), 128, np.float32)))
    assert emb.shape[0] == 1 and np.all(np.isfinite(emb))
    classifier = keras.saving.load_model(run.saved_models_dir / "best_model_classification.keras")
    assert classifier.output.shape[-1] == 12


def test_dryrun_limits_steps_per_epoch(cfg_factory, tmp_path):
    run = run_dir(tmp_path / "run")
    train(cfg_factory(epochs=1, dryrun=1, data_augmentation=None), run)
    model = keras.saving.load_model(run.saved_models_dir / "last_augmented_model.keras")
    assert int(model.optimizer.iterations) == 1


def test_callback_errors_are_raised_before_training(cfg_factory, tmp_path):
    run = run_dir(tmp_path / "run")
    cases = [
        ({"EarlyStopping": {"monitor": "val_acc"}}, "val_acc.*not a metric.*val_accuracy"),
        ({"ModelCheckpoint": {"filepath": "x.keras"}}, "built in"),
        (
            {
                "ReduceLROnPlateau": {"monitor": "val_loss"},
                "LRStepDecay": {"initial_lr": 0.1, "step_size": 2, "decay_rate": 0.5},
            },
            "at most one",
        ),
        ({"EarlyStoping": {}}, "unknown callback 'EarlyStoping'.*EarlyStopping"),
        ({"EarlyStopping": {"patiense": 3}}, "invalid arguments"),
    ]
    for callbacks, message in cases:
        with pytest.raises(ConfigError, match=message):
            train(cfg_factory(callbacks=callbacks), run)
    assert not list(run.saved_models_dir.glob("*.keras"))


def test_frozen_layers_syntax():
    assert parse_frozen_layers("(0:-1)", 5) == [0, 1, 2, 3]
    assert parse_frozen_layers("(8, 2:4, -1)", 10) == [2, 3, 8, 9]
    assert parse_frozen_layers("(3:)", 5) == [3, 4]
    assert parse_frozen_layers("None", 5) == [] and parse_frozen_layers(None, 5) == []
    with pytest.raises(ConfigError, match="out of range"):
        parse_frozen_layers("(12)", 5)
    with pytest.raises(ConfigError, match="cannot parse 'a:b'"):
        parse_frozen_layers("(a:b)", 5)


def test_frozen_layers_only_train_the_rest(cfg_factory, tmp_path):
    cfg = cfg_factory(epochs=1, dryrun=2, frozen_layers="(0:-1)", data_augmentation=None)
    run = run_dir(tmp_path / "run")
    train(cfg, run)
    model = keras.saving.load_model(run.saved_models_dir / "last_augmented_model.keras")
    layers = network_layers(model)
    assert [layer.trainable for layer in layers if layer.weights][-1] is True
    assert not any(layer.trainable for layer in layers[:-1] if layer.weights)
    apply_frozen_layers(model, None)
    assert all(layer.trainable for layer in network_layers(model))


def test_unknown_optimizer_is_named(cfg_factory, tmp_path):
    with pytest.raises(ConfigError, match="unknown optimizer 'Adamm'.*Adam"):
        train(cfg_factory(optimizer="Adamm"), run_dir(tmp_path / "run"))
    with pytest.raises(ConfigError, match="SGD: unknown argument.*lr.*learning_rate"):
        train(cfg_factory(optimizer={"SGD": {"lr": 0.1}}), run_dir(tmp_path / "run"))


def test_deterministic_ops_repeat_exactly(cfg_factory, tmp_path):
    general = {}
    weights = []
    for name in ("a", "b"):
        cfg = cfg_factory(epochs=1, dryrun=2)
        cfg.general.deterministic_ops = True
        run = run_dir(tmp_path / name)
        train(cfg, run)
        general[name] = _rows(run)[0]["loss"]
        model = keras.saving.load_model(run.saved_models_dir / "last_augmented_model.keras")
        weights.append(model.get_weights())
    assert general["a"] == general["b"]
    for wa, wb in zip(weights[0], weights[1], strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_multi_step_training_from_a_previous_model(cfg_factory, tmp_path):
    first = run_dir(tmp_path / "step1")
    step1 = train(cfg_factory(epochs=1, dryrun=2), first)
    cfg = cfg_factory(epochs=1, dryrun=2, frozen_layers="(0:-1)")
    cfg.model.model_name, cfg.model.model_path = None, str(step1)
    second = run_dir(tmp_path / "step2")
    train(cfg, second)
    edge = keras.saving.load_model(second.saved_models_dir / "best_model.keras")
    assert tuple(edge.input.shape) == (1, 32, 16, 3)


def test_training_ends_with_a_float_evaluation(cfg_factory, tiny_reid_set, tmp_path):
    from conftest import write_identities

    test_dir = tmp_path / "test"
    write_identities(test_dir / "all", identities=4, per_id=4, seed=9)
    (test_dir / "query").mkdir()
    (test_dir / "gallery").mkdir()
    for path in sorted((test_dir / "all").iterdir()):
        target = "query" if path.stem.endswith("_0") else "gallery"
        path.rename(test_dir / target / path.name)
    cfg = cfg_factory(epochs=1, dryrun=2)
    cfg.dataset.test_query_path = str(test_dir / "query")
    cfg.dataset.test_gallery_path = str(test_dir / "gallery")
    run = run_dir(tmp_path / "run")
    train(cfg, run)
    metrics = json.loads(run.metrics_path.read_text())["float"]
    assert metrics["num_query"] == 4 and metrics["num_gallery"] == 12
    assert 0.0 <= metrics["mAP"] <= 1.0 and len(metrics["cmc"]) >= 1


def test_large_sets_stream_from_files(cfg_factory, tmp_path, monkeypatch):
    from toolchain.training import trainer

    monkeypatch.setattr(trainer, "IN_MEMORY_BYTES", 0)  # as if the set did not fit in memory
    run = run_dir(tmp_path / "run")
    train(cfg_factory(epochs=2, dryrun=2), run)
    assert [int(r["epoch"]) for r in _rows(run)] == [0, 1]
    model = keras.saving.load_model(run.saved_models_dir / "last_augmented_model.keras")
    assert int(model.optimizer.iterations) == 4
