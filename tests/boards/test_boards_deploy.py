"""The deployment mode: project in the run's firmware/, build report into metrics.json, board
started (and left running for hil-eval when no on-device evaluation is asked)."""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import pytest
from boards_testlib import infer_all, random_inputs, standin_network, write_standin_network

import toolchain.boards.deploy as deploy_mod
from toolchain.boards.process import PID_FILE, stop_boards
from toolchain.boards.project import render_project
from toolchain.errors import ConfigError
from toolchain.rundir import RunDir


def _standin_generate(model, out, *, board, command=None, **kwargs):
    """The code generator's part done by the stand-in network (toolchain.codegen is E's)."""
    digest = write_standin_network(out, model.read_bytes())
    return render_project(out, board=board, digest=digest.hex(), command=command)


def _cfg(board, model):
    return SimpleNamespace(
        deployment=SimpleNamespace(board=board, evaluate_on_device=False),
        model=SimpleNamespace(model_path=str(model)),
        general=SimpleNamespace(model_path=None),
        dataset=SimpleNamespace(test_query_path=None, test_gallery_path=None),
    )


def test_deploy_host_builds_reports_and_starts(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(deploy_mod, "generate_project", _standin_generate)
    run = RunDir(tmp_path / "run").create()
    model = tmp_path / "m_int8.tflite"
    model.write_bytes(b"deploy-test-model")
    try:
        result = deploy_mod.deploy(_cfg("host", model), run)
        metrics = json.loads(run.metrics_path.read_text())
        report = json.loads((run.firmware_dir / "build_report.json").read_text())
        assert metrics["benchmark"]["firmware"] == {
            "board": "host",
            **{k: report[k] for k in ("text", "rodata", "data", "bss")},
        }
        assert result["url"] in capsys.readouterr().out.splitlines()
        assert (run.firmware_dir / PID_FILE).is_file()
        xs = random_inputs(1)
        _, outputs, _ = infer_all(
            result["url"], hashlib.sha256(b"deploy-test-model").digest(), [xs[0].tobytes()]
        )
        assert outputs == [standin_network(xs[0])]
    finally:
        stop_boards(run.firmware_dir)
    assert not (run.firmware_dir / PID_FILE).exists()


def test_deploy_without_a_model_names_what_it_looked_for(tmp_path):
    run = RunDir(tmp_path / "run").create()
    with pytest.raises(ConfigError, match="int8 .tflite"):
        deploy_mod.deploy(_cfg("host", tmp_path / "absent.tflite"), run)
