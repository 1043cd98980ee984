"""Every operation mode and chain on tiny data (issue 10), reusing the session's trained
quickstart model: one metrics.json and one MLflow run per reidtool run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from toolchain.config import load_config
from toolchain.errors import ConfigError
from toolchain.modes import run_mode

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "configs" / "quickstart.yaml"


def run(tmp_path, tq, mode: str, *overrides: str, model: Path | None = None):
    import os

    os.environ["DATA_DIR"] = str(tq.data_dir)
    model_overrides = ["++model.model_name=null", f"++model.model_path={model}"] if model else []
    loaded = load_config(
        QUICKSTART,
        overrides=[
            f"hydra.run.dir={tmp_path / mode}",
            f"mlflow.uri={tmp_path / 'mlruns'}",
            "deployment.board=host",
            *model_overrides,
            *overrides,
        ],
        operation_mode=mode,
    )
    run_mode(loaded)
    return loaded.run, loaded.run.read_metrics()


def mlflow_runs(tmp_path):
    import mlflow

    from toolchain.tracking import tracking_uri

    client = mlflow.MlflowClient(tracking_uri(tmp_path / "mlruns"))
    experiment = client.get_experiment_by_name("quickstart")
    return client.search_runs([experiment.experiment_id])


def test_evaluation_of_float_and_int8(trained_quickstart, tmp_path):
    tq = trained_quickstart
    _, metrics = run(tmp_path, tq, "evaluation", model=tq.keras_path)
    assert metrics["float"]["mAP"] == pytest.approx(tq.float_metrics["mAP"], abs=1e-6)
    _, metrics = run(
        tmp_path, tq, "evaluation", "hydra.run.dir=" + str(tmp_path / "e8"), model=tq.int8_path
    )
    assert metrics["int8"]["mAP"] == tq.int8_metrics["mAP"]  # the oracle is deterministic
    assert metrics["int8"]["interpreter"]["kernels"] == "reference"


def test_chain_eqe_records_every_step_in_one_run(trained_quickstart, tmp_path):
    tq = trained_quickstart
    run_dir, metrics = run(tmp_path, tq, "chain_eqe", model=tq.keras_path)
    assert {"float", "int8", "quantization"} <= set(metrics)
    assert metrics["quantization"]["mean_cosine_float_int8"] > 0.95
    assert sorted(p.name for p in run_dir.quantized_models_dir.glob("*.tflite"))
    (one,) = mlflow_runs(tmp_path)
    assert one.info.status == "FINISHED"
    assert one.data.metrics["float.mAP"] == pytest.approx(metrics["float"]["mAP"])
    assert one.data.metrics["int8.rank1"] == pytest.approx(metrics["int8"]["rank1"])
    assert one.data.params["operation_mode"] == "chain_eqe"


def test_quantization_alone(trained_quickstart, tmp_path):
    run_dir, metrics = run(
        tmp_path, trained_quickstart, "quantization", model=trained_quickstart.keras_path
    )
    (int8,) = run_dir.quantized_models_dir.glob("*_int8.tflite")
    assert int8.read_bytes() == trained_quickstart.int8_path.read_bytes()  # deterministic
    assert metrics["quantization"]["size_bytes"] == int8.stat().st_size


def test_prediction(trained_quickstart, tmp_path):
    data = trained_quickstart.data_dir / "reid_test"
    run_dir, _ = run(
        tmp_path,
        trained_quickstart,
        "prediction",
        f"+dataset.prediction_query_path={data / 'query'}",
        f"+dataset.prediction_gallery_path={data / 'gallery'}",
        model=trained_quickstart.int8_path,
    )
    assert (run_dir.root / "predictions.csv").read_text().count("\n") > 1


def test_chain_qb_and_benchmarking(trained_quickstart, tmp_path):
    _, metrics = run(tmp_path, trained_quickstart, "chain_qb", model=trained_quickstart.keras_path)
    bench = metrics["benchmark"]
    assert (
        bench["weights_bytes"] > 0 and bench["arena_bytes"] >= bench["arena_lower_bound_bytes"] > 0
    )
    assert bench["macs"] == sum(layer["macs"] for layer in bench["macs_per_layer"])


def test_chain_qd_deploys_and_evaluates_on_the_host_board(trained_quickstart, tmp_path):
    _, metrics = run(
        tmp_path,
        trained_quickstart,
        "chain_qd",
        "deployment.evaluate_on_device=True",
        model=trained_quickstart.keras_path,
    )
    assert metrics["device"]["exact_match_fraction"] == 1.0
    assert metrics["device"]["mAP"] == trained_quickstart.int8_metrics["mAP"]  # same int8 bytes
    assert metrics["benchmark"]["firmware"]["board"] == "host"


def test_mode_checks_its_inputs_up_front(trained_quickstart, tmp_path):
    with pytest.raises(ConfigError, match="model.model_path: .*missing.keras does not exist"):
        run(tmp_path, trained_quickstart, "evaluation", model=tmp_path / "missing.keras")
    with pytest.raises(ConfigError, match="benchmarking needs an int8 .tflite"):
        run(tmp_path, trained_quickstart, "benchmarking", model=trained_quickstart.keras_path)
    (failed,) = [r for r in mlflow_runs(tmp_path) if r.info.status == "FAILED"]
    assert failed.data.params["operation_mode"] == "benchmarking"


def test_chain_tqed_on_the_host_board(trained_quickstart, tmp_path):
    """The demo's chain, 1 epoch, on the host board: every block in one metrics.json."""
    run_dir, metrics = run(tmp_path, trained_quickstart, "chain_tqed", "training.epochs=1")
    assert {"float", "int8", "quantization", "device", "benchmark"} <= set(metrics)
    assert metrics["device"]["mAP"] == metrics["int8"]["mAP"]
    assert metrics["benchmark"]["arena_bytes"] > 0 and metrics["benchmark"]["firmware"]["text"] > 0
    assert (run_dir.saved_models_dir / "best_model.keras").is_file()
    assert (run_dir.logs_dir / "training_log.csv").is_file()
    shutil.rmtree(run_dir.root)
