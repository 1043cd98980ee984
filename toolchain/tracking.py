"""MLflow tracking: one MLflow run per reidtool run, in a SQLite store (CONTRACTS §2).

`mlflow.uri` names a folder; the store is `sqlite:///<uri>/mlflow.db` and artifacts go to
`<uri>/artifacts` (MLflow >= 3.13 refuses the plain file store). Stages log through the three
functions below, which do nothing when no run is active (a stage called from a test or a
notebook needs no MLflow).

    mlflow ui --backend-store-uri sqlite:///experiments_outputs/mlruns/mlflow.db
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_EXPERIMENT = "reidtool"
#: Files of the run directory logged as artifacts when the run ends.
RUN_ARTIFACTS = ("config.yaml", "metrics.json", "*.png")


def tracking_uri(uri: str | os.PathLike) -> str:
    """The SQLite store URI for the folder `uri` (created)."""
    folder = Path(uri).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def _mlflow():
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in ("mlflow", "alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    import mlflow

    return mlflow


@contextlib.contextmanager
def mlflow_run(loaded: Any) -> Iterator[None]:
    """One MLflow run around a reidtool run: config as params, metrics.json and plots at the end.

    The run is marked FAILED when the body raises; the exception propagates.
    """
    mlflow = _mlflow()
    cfg, run = loaded.cfg, loaded.run
    folder = Path(cfg.mlflow.uri).expanduser().resolve()
    mlflow.set_tracking_uri(tracking_uri(folder))
    name = cfg.general.project_name or DEFAULT_EXPERIMENT
    if mlflow.get_experiment_by_name(name) is None:
        mlflow.create_experiment(name, artifact_location=(folder / "artifacts").as_uri())
    mlflow.set_experiment(name)
    status = "FAILED"
    with mlflow.start_run(run_name=Path(run.root).name) as active:
        try:
            mlflow.set_tags(
                {"operation_mode": cfg.operation_mode, "run_dir": str(Path(run.root).resolve())}
            )
            log_params(
                {"operation_mode": cfg.operation_mode, **flatten(loaded.raw, skip=("hydra",))}
            )
            yield
            status = "FINISHED"
        finally:
            metrics = run.read_metrics()
            log_metrics(flatten(metrics))
            for pattern in RUN_ARTIFACTS:
                for path in sorted(Path(run.root).glob(pattern)):
                    log_artifact(path)
            mlflow.end_run(status=status)
            log.info("MLflow run %s (%s) in %s", active.info.run_id, status, folder)


def flatten(
    data: Mapping[str, Any], prefix: str = "", skip: tuple[str, ...] = ()
) -> dict[str, Any]:
    """{'a': {'b': 1}} → {'a.b': 1}; lists are kept whole."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in skip:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _active():
    mlflow = _mlflow()
    return mlflow if mlflow.active_run() is not None else None


def log_params(params: Mapping[str, Any]) -> None:
    """Log parameters (values as text, at most 6000 characters) to the active run, if any."""
    mlflow = _active()
    if mlflow is None:
        return
    mlflow.log_params({k: str(v)[:6000] for k, v in params.items() if v is not None})


def log_metrics(metrics: Mapping[str, Any], step: int | None = None) -> None:
    """Log the finite numbers of `metrics` (others are skipped) to the active run, if any."""
    mlflow = _active()
    if mlflow is None:
        return
    numbers = {
        k.replace("@", "_"): float(v)
        for k, v in metrics.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))
    }
    if numbers:
        mlflow.log_metrics(numbers, step=step)


def log_artifact(path: str | os.PathLike) -> None:
    """Copy a file into the active run's artifacts, if any."""
    mlflow = _active()
    if mlflow is None:
        return
    mlflow.log_artifact(str(path))
