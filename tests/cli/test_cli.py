"""The `reidtool` command line: exit codes and one-line errors (CONTRACTS §1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from toolchain.errors import UsageError
from toolchain.gates import GateFailedError, check_fail_under

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "configs" / "quickstart.yaml"


def reidtool(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "toolchain.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd or ROOT,
        env={**os.environ, "DATA_DIR": "/nonexistent/data", **env},
    )


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


@pytest.mark.parametrize(
    "override,named",
    [
        ("+training.bogus=1", "training.bogus"),
        ("training.epochs=many", "training.epochs"),
        ("~mlflow", "mlflow"),
        ("++model.model_path=m.keras", "model.model_path"),
    ],
)
def test_bad_config_exits_2_with_one_line(tmp_path, override, named):
    proc = reidtool("run", str(QUICKSTART), override, f"hydra.run.dir={tmp_path / 'run'}")
    assert proc.returncode == 2, proc.stderr
    assert named in one_line_error(proc)
    assert not (tmp_path / "run").exists()  # nothing is created for a bad config


def test_debug_shows_the_traceback(tmp_path):
    proc = reidtool("--debug", "run", str(QUICKSTART), "+training.bogus=1")
    assert proc.returncode == 2 and "Traceback" in proc.stderr and "training.bogus" in proc.stderr


def test_missing_dataset_folder_is_named(tmp_path):
    proc = reidtool(
        "train",
        str(QUICKSTART),
        f"hydra.run.dir={tmp_path / 'run'}",
        f"mlflow.uri={tmp_path / 'ml'}",
    )
    assert proc.returncode == 2
    assert "/nonexistent/data/reid_train" in one_line_error(proc)


def test_help_everywhere():
    commands = [
        [],
        ["run"],
        ["train"],
        ["evaluate"],
        ["quantize"],
        ["predict"],
        ["benchmark"],
        ["deploy"],
        ["make-dataset"],
        ["augment-preview"],
        ["plot-lr"],
        ["config", "schema"],
        ["generate"],
        ["build"],
        ["flash"],
        ["board", "stop"],
        ["hil-eval"],
        ["validate"],
    ]
    for command in commands:
        proc = reidtool(*command, "--help")
        assert proc.returncode == 0, (command, proc.stderr)
        assert "Usage" in proc.stdout


def test_usage_errors_exit_2(tmp_path):
    assert reidtool("run").returncode == 2
    assert reidtool("no-such-command").returncode == 2
    proc = reidtool("generate", str(tmp_path / "missing.tflite"), "--out", str(tmp_path / "p"))
    assert proc.returncode == 2 and "missing.tflite" in one_line_error(proc)
    proc = reidtool("make-dataset", str(tmp_path / "d"), "--identities", "1")
    assert proc.returncode == 2


def test_config_schema_lists_every_section():
    proc = reidtool("config", "schema")
    assert proc.returncode == 0
    for key in (
        "training.triplet_loss.strategy",
        "dataset.camera_regex",
        "deployment.board",
        "mlflow.uri",
    ):
        assert f"\n{key}\n" in proc.stdout


METRICS = {"device": {"mAP": 0.62, "rank1": 0.8, "exact_match_fraction": 1.0}, "int8": {"mAP": 0.7}}


def test_gates_pass_and_fail():
    check_fail_under(
        METRICS, ["mAP=0.6", "device.exact_match_fraction=1.0", "int8.mAP=0.7"], block="device"
    )
    with pytest.raises(GateFailedError) as info:
        check_fail_under(METRICS, ["mAP=0.7", "rank1=0.5"], block="device")
    assert str(info.value) == "gate failed: mAP = 0.6200 < 0.7"
    assert info.value.exit_code == 1
    with pytest.raises(UsageError, match="no device.recall"):
        check_fail_under(METRICS, ["device.recall=0.1"])
    with pytest.raises(UsageError, match="KEY=NUMBER"):
        check_fail_under(METRICS, ["mAP>0.1"])


def test_bad_file_found_while_streaming_is_one_line(tiny_dataset, tmp_path, monkeypatch, capsys):
    """The streaming training path (sets too big for memory): TensorFlow meets the bad file
    mid-epoch; the user still gets one line naming it, no traceback."""
    import shutil

    from toolchain import cli
    from toolchain.training import trainer

    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    bad = sorted((data / "reid_train").glob("*.jpg"))[5]
    bad.write_bytes(bad.read_bytes()[:200])  # truncated JPEG
    monkeypatch.setattr(trainer, "IN_MEMORY_BYTES", 0)
    monkeypatch.setenv("DATA_DIR", str(data))
    code = cli.main([
        "run", str(QUICKSTART), "operation_mode=training", "training.epochs=1",
        f"hydra.run.dir={tmp_path / 'run'}", f"mlflow.uri={tmp_path / 'ml'}",
    ])
    err = capsys.readouterr().err
    assert code in (1, 2)
    assert "Traceback" not in err
    (line,) = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert bad.name in line
