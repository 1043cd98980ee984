"""Resuming (seed README §5.2): a training killed with SIGKILL mid-epoch resumes from the last
completed epoch with optimizer, callback and sampler state, and its history has every epoch once."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import pytest
from conftest import make_cfg, run_dir

from toolchain.errors import ConfigError
from toolchain.training.callbacks import read_log
from toolchain.training.trainer import train

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

# Trains 4 epochs; in epoch KILL_EPOCH (0-based) after one batch it writes a marker and sleeps,
# so the parent's SIGKILL lands mid-epoch.
CHILD = r"""
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import keras
from conftest import make_cfg, run_dir
from toolchain.training import callbacks as cbs
from toolchain.training.trainer import train

data, run = Path(sys.argv[2]), Path(sys.argv[3])
kill_epoch, marker = int(sys.argv[4]), Path(sys.argv[5])

class Stall(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == kill_epoch and batch == 1:
            marker.write_text("mid-epoch")
            time.sleep(120)

original = cbs.build_user_callbacks
cbs.build_user_callbacks = lambda section, logged: [*original(section, logged), Stall()]
plateau = {"ReduceLROnPlateau": {"monitor": "val_loss", "patience": 1}}
train(make_cfg(data, epochs=4, callbacks=plateau),
      run_dir(run))
"""


@pytest.fixture(scope="module")
def killed_run(tiny_reid_set, tmp_path_factory):
    """A training SIGKILLed in the middle of its third epoch (epochs 0 and 1 completed)."""
    base = tmp_path_factory.mktemp("killed")
    run, marker = base / "run", base / "marker"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(HERE), str(tiny_reid_set), str(run), "2", str(marker)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 300
    while not marker.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"training exited early:\n{proc.stdout.read().decode()[-3000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("training never reached the kill point")
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    return run


def _resume_cfg(data, run: Path, **training):
    cfg = make_cfg(data, resume_training_from=True, **training)
    cfg.model.model_name = None
    cfg.model.model_path = str(run / "saved_models" / "last_augmented_model.keras")
    return cfg


def test_killed_training_resumes_with_every_epoch_once(killed_run, tiny_reid_set, tmp_path):
    state = json.loads((killed_run / "saved_models" / "training_state.json").read_text())
    assert state["epoch"] == 1, "the last completed epoch before the kill"
    assert [r["epoch"] for r in read_log(killed_run / "logs" / "training_log.csv")] == ["0", "1"]

    run = run_dir(tmp_path / "resumed")
    train(
        _resume_cfg(
            tiny_reid_set,
            killed_run,
            epochs=4,
            callbacks={"ReduceLROnPlateau": {"monitor": "val_loss", "patience": 1}},
        ),
        run,
    )
    rows = read_log(run.logs_dir / "training_log.csv")
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]
    model = keras.saving.load_model(run.saved_models_dir / "last_augmented_model.keras")
    assert int(model.optimizer.iterations) == 4 * 5  # 72 images / 16 per batch -> 5 steps
    resumed = json.loads((run.saved_models_dir / "training_state.json").read_text())
    assert resumed["epoch"] == 3 and resumed["sampler"]["epoch"] == 4
    assert (
        resumed["callbacks"]["0:ReduceLROnPlateau"]["best"]
        <= state["callbacks"]["0:ReduceLROnPlateau"]["best"]
    )


def test_changes_follow_the_seed_rules(killed_run, tiny_reid_set, tmp_path, caplog):
    run = run_dir(tmp_path / "changed")
    cfg = _resume_cfg(
        tiny_reid_set,
        killed_run,
        epochs=3,
        batch_size=32,
        dropout=0.5,
        frozen_layers="(0:2)",
        optimizer={"SGD": {"learning_rate": 0.5}},
        callbacks={"EarlyStopping": {"monitor": "val_loss", "patience": 4}},
    )
    with caplog.at_level(logging.WARNING):
        train(cfg, run)
    text = caplog.text
    for key in ("training.dropout", "training.frozen_layers", "training.optimizer"):
        assert f"{key} changed" in text and "ignored" in text
    model = keras.saving.load_model(run.saved_models_dir / "last_augmented_model.keras")
    assert type(model.optimizer).__name__ == "Adam"  # optimizer change ignored
    assert all(layer.trainable for layer in model.layers)  # frozen change ignored
    assert int(model.optimizer.iterations) == 2 * 5 + 3  # batch 32 honoured: 3 steps
    assert [int(r["epoch"]) for r in read_log(run.logs_dir / "training_log.csv")] == [0, 1, 2]
    state = json.loads((run.saved_models_dir / "training_state.json").read_text())
    assert "0:EarlyStopping" in state["callbacks"]  # callback change honoured


def test_best_model_cannot_be_resumed(killed_run, tiny_reid_set, tmp_path):
    cfg = _resume_cfg(tiny_reid_set, killed_run, epochs=3)
    cfg.model.model_path = str(killed_run / "saved_models" / "best_model.keras")
    with pytest.raises(
        ConfigError, match="does not include preprocessing layers.*best_model.keras"
    ):
        train(cfg, run_dir(tmp_path / "r"))
