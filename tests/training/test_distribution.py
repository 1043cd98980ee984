"""distribution: mirrored trains under MirroredStrategy on two logical CPU devices (subprocess,
since logical devices must be configured before TensorFlow initialises)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from toolchain.errors import ConfigError
from toolchain.training.distribution import check_batch_split, get_strategy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

CHILD = r"""
import json, sys
from pathlib import Path
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, sys.argv[1])
import keras
from conftest import make_cfg, run_dir
from toolchain.training import distribution
from toolchain.training.trainer import train

seen = {}
original = distribution.get_strategy
def spy(name):
    strategy = original(name)
    seen["replicas"] = strategy.num_replicas_in_sync
    seen["type"] = type(strategy).__name__
    return strategy
distribution.get_strategy = spy
run = run_dir(Path(sys.argv[3]))
train(make_cfg(Path(sys.argv[2]), epochs=2, dryrun=2, distribution="mirrored"), run)
model = keras.saving.load_model(run.saved_models_dir / "last_augmented_model.keras")
seen["iterations"] = int(model.optimizer.iterations)
print("RESULT " + json.dumps(seen))
"""


def test_mirrored_two_cpu_replicas(tiny_reid_set, tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(HERE), str(tiny_reid_set), str(tmp_path / "run")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    seen = json.loads(line[len("RESULT ") :])
    assert seen == {"replicas": 2, "type": "MirroredStrategy", "iterations": 4}
    rows = (tmp_path / "run" / "logs" / "training_log.csv").read_text().splitlines()
    assert len(rows) == 3  # header + 2 epochs


def test_strategy_names_and_batch_split():
    assert type(get_strategy(None)).__name__ in (
        "_DefaultDistributionStrategy",
        "DefaultDistributionStrategy",
    )
    with pytest.raises(ConfigError, match="mirrored"):
        get_strategy("horovod")

    class Two:
        num_replicas_in_sync = 2

    check_batch_split(Two(), 4)
    with pytest.raises(ConfigError, match="multiple of 2"):
        check_batch_split(Two(), 3)
