"""The walking skeleton (issue 3), end to end on both virtual boards.

Synthetic crops → trained tiny embedder → full-int8 TFLite → generated C → firmware on the
`host` board and on `qemu-m55` → the harness streams every query and gallery crop → on-device
rank-1/mAP. Every device embedding must be byte-identical to the oracle's (checked here again,
independently of the harness, from device_embeddings.log) and the device metrics must equal the
host int8 metrics exactly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "configs" / "quickstart.yaml"

pytestmark = pytest.mark.xdist_group("qemu")

REIDTOOL = str(ROOT / ".venv" / "bin" / "reidtool") if (ROOT / ".venv").exists() else "reidtool"
METRIC_KEYS = ("rank1", "rank5", "rank10", "mAP", "mINP", "cmc", "num_query", "num_gallery")


def assert_device_bytes_are_the_oracles(run_dir: Path, int8: Path, data_dir: Path) -> int:
    """Re-derive every crop's input bytes and oracle output; compare with the board's log."""
    from host.device_eval import model_hash
    from host.embedding_log import EmbeddingLog
    from toolchain.config import load_config
    from toolchain.data.images import input_bytes_from_config
    from toolchain.evaluation.evaluator import load_test_records
    from toolchain.oracle import Oracle

    os.environ["DATA_DIR"] = str(data_dir)
    cfg = load_config(QUICKSTART, create_run_dir=False).cfg
    oracle = Oracle(int8)
    query, gallery = load_test_records(cfg)
    records = [*query, *gallery]
    size = int(np.prod(oracle.output_shape[1:])) * oracle.output_dtype.itemsize
    with EmbeddingLog.open(run_dir / "device_embeddings.log", model_hash(int8), size) as log:
        assert sorted(log.records) == list(range(len(records)))
        for i, record in enumerate(records):
            expected = oracle.invoke(input_bytes_from_config(record.path, cfg)).tobytes()
            assert log.records[i].output == expected, f"crop {i} ({record.path})"
    return len(records)


def assert_device_equals_int8(metrics: dict, int8_metrics: dict) -> None:
    device = metrics["device"]
    assert device["exact_match_fraction"] == 1.0 and device["max_abs_diff"] == 0
    for key in METRIC_KEYS:
        assert device[key] == int8_metrics[key], key


def test_host_board(trained_quickstart, tmp_path):
    tq = trained_quickstart
    run_dir = tmp_path / "run"
    proc = subprocess.run(
        [
            REIDTOOL,
            "deploy",
            str(QUICKSTART),
            "++model.model_name=null",
            f"++model.model_path={tq.int8_path}",
            "deployment.board=host",
            "deployment.evaluate_on_device=True",
            f"hydra.run.dir={run_dir}",
            f"mlflow.uri={tmp_path / 'mlruns'}",
        ],
        env={**os.environ, "DATA_DIR": str(tq.data_dir)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert_device_equals_int8(metrics, tq.int8_metrics)
    assert metrics["device"]["board"] == "host"
    assert metrics["benchmark"]["firmware"]["text"] > 0
    n = assert_device_bytes_are_the_oracles(run_dir, tq.int8_path, tq.data_dir)
    assert n == tq.int8_metrics["num_query"] + tq.int8_metrics["num_gallery"]


@pytest.mark.qemu
def test_qemu_m55_through_the_ci_script(trained_quickstart, tmp_path):
    """scripts/hil.sh, as the CI job runs it, with a gate on the device mAP."""
    tq = trained_quickstart
    run_dir = tmp_path / "hil"
    floor = max(0.0, tq.int8_metrics["mAP"] - 1e-9)
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "hil.sh"), "qemu-m55"],
        env={
            **os.environ,
            "DATA_DIR": str(tq.data_dir),
            "MODEL": str(tq.int8_path),
            "RUN_DIR": str(run_dir),
            "CONFIG": str(QUICKSTART),
            "REIDTOOL": REIDTOOL,
            "GATES": f"device.mAP={floor}",
            "XDG_RUNTIME_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert_device_equals_int8(metrics, tq.int8_metrics)
    device = metrics["device"]
    assert device["board"] == "qemu-m55"
    assert device["inference"]["counter"] == "icount" and device["inference"]["mean"] > 0
    assert_device_bytes_are_the_oracles(run_dir, tq.int8_path, tq.data_dir)


def test_a_failed_gate_exits_1(trained_quickstart, tmp_path):
    """hil-eval on the host board with an impossible gate: exit 1 and one line naming it."""
    tq = trained_quickstart
    run_dir = tmp_path / "gate"
    proc = subprocess.run(
        [
            REIDTOOL,
            "hil-eval",
            str(QUICKSTART),
            f"hydra.run.dir={run_dir}",
            "++model.model_name=null",
            f"++model.model_path={tq.int8_path}",
            "deployment.board=host",
            f"mlflow.uri={tmp_path / 'mlruns'}",
            "--fail-under",
            "device.mAP=1.01",
        ],
        env={**os.environ, "DATA_DIR": str(tq.data_dir)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines()[-1].startswith("error: gate failed: device.mAP = ")


@pytest.mark.skipif(
    not shutil.which("arm-none-eabi-gcc"), reason="needs arm-none-eabi-gcc (make setup)"
)
def test_quickstart_firmware_builds_for_the_n6(trained_quickstart, tmp_path):
    """The STM32N6570-DK firmware of the quickstart model compiles and links (no board here)."""
    from toolchain.boards.build import build_project
    from toolchain.boards.project import generate_project

    project = generate_project(trained_quickstart.int8_path, tmp_path / "n6", board="STM32N6")
    report = build_project(project)
    assert report.board == "STM32N6570-DK"
    assert report.weights > 0 and report.text > 0
    assert (project / report.image).is_file()
