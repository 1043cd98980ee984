"""Suite-wide fixtures: one synthetic dataset and one trained + quantized quickstart model,
shared by every test (and every xdist worker) that needs them, and board clean-up.

The trained model is built once per test session: the first worker to ask takes a file lock,
trains and quantizes; the others wait and reuse the files (CONTRACTS: later stages share one
session-scoped trained quickstart model, not one training per test).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "configs" / "quickstart.yaml"
# Small enough for the virtual board's UART (~20-30 kB/s): 64x32 crops, few identities.
TINY_DATASET = dict(
    identities=24, images_per_id=6, query_per_id=1, test_fraction=0.5, seed=3, height=64, width=32
)


QEMU_TOOLS = ("qemu-system-arm", "arm-none-eabi-gcc")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    """Tests marked `qemu` (the virtual Cortex-M55 board) share one xdist group and are
    skipped, naming what is missing, where the board's tools are not installed (make setup)."""
    missing = [tool for tool in QEMU_TOOLS if shutil.which(tool) is None]
    for item in items:
        if item.get_closest_marker("qemu") is not None:
            item.add_marker(pytest.mark.xdist_group("qemu"))
            if missing:
                item.add_marker(pytest.mark.skip(reason=f"needs {', '.join(missing)} (make setup)"))


def _shared_dir(tmp_path_factory, name: str) -> Path:
    """A folder shared by all xdist workers of this session."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    path = base / name
    path.mkdir(parents=True, exist_ok=True)
    return path


class _Lock:
    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        self.fd = open(self.path, "w")
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.fd.close()


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """A small synthetic player set in the seed layout (reid_train, reid_test/{query,gallery})."""
    shared = _shared_dir(tmp_path_factory, "tiny_dataset")
    with _Lock(shared / ".lock"):
        data = shared / "data"
        if not (shared / "done").exists():
            from toolchain.data.synthetic import make_dataset

            if data.exists():
                shutil.rmtree(data)
            make_dataset(data, **TINY_DATASET)
            (shared / "done").write_text("ok")
    return data


@dataclass(frozen=True)
class TrainedQuickstart:
    """Artifacts of one quickstart training + quantization on the tiny dataset."""

    data_dir: Path
    run_dir: Path
    keras_path: Path
    int8_path: Path
    float_metrics: dict
    int8_metrics: dict


@pytest.fixture(scope="session")
def trained_quickstart(tmp_path_factory, tiny_dataset) -> TrainedQuickstart:
    """configs/quickstart.yaml trained a few steps on the tiny set, then quantized to int8."""
    shared = _shared_dir(tmp_path_factory, "trained_quickstart")
    run_dir = shared / "run"
    with _Lock(shared / ".lock"):
        if not (shared / "done").exists():
            if run_dir.exists():
                shutil.rmtree(run_dir)
            env = dict(os.environ, DATA_DIR=str(tiny_dataset))
            cmd = [
                str(ROOT / ".venv" / "bin" / "reidtool")
                if (ROOT / ".venv").exists()
                else "reidtool",
                "run",
                str(QUICKSTART),
                "operation_mode=chain_tqe",
                f"hydra.run.dir={run_dir}",
                f"mlflow.uri={shared / 'mlruns'}",
                "training.epochs=3",
            ]
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
            if proc.returncode != 0:
                raise RuntimeError(
                    f"quickstart training failed ({proc.returncode}):\n"
                    f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
                )
            (shared / "done").write_text("ok")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    int8 = sorted((run_dir / "quantized_models").glob("*_int8.tflite"))
    return TrainedQuickstart(
        data_dir=tiny_dataset,
        run_dir=run_dir,
        keras_path=run_dir / "saved_models" / "best_model.keras",
        int8_path=int8[0],
        float_metrics=metrics.get("float", {}),
        int8_metrics=metrics.get("int8", {}),
    )


def have_cross_toolchain() -> bool:
    return bool(shutil.which("arm-none-eabi-gcc")) and bool(shutil.which("qemu-system-arm"))
