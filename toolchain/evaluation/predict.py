"""The `prediction` operation mode: the closest gallery images of each query image.

Prediction sets need no identity labels: every image of `dataset.prediction_query_path` is
embedded (by the same sources as evaluation) and compared with every image of
`dataset.prediction_gallery_path`. For each query, one picture shows it beside its `TOP_K`
closest gallery images, and `predictions.csv` lists them with their distances.

Example:
    rows = predict(cfg, run)     # run.root/predictions/<query>.png and predictions.csv
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from toolchain.errors import ConfigError
from toolchain.evaluation.evaluator import (
    cfg_value,
    embed_records,
    input_fn_for,
    make_source,
    model_path_of,
)
from toolchain.evaluation.metrics import distance_matrix
from toolchain.evaluation.plots import GREY, save_strip, tile
from toolchain.files import atomic_write_text

#: Gallery images shown and listed per query.
TOP_K = 5
#: Border of gallery tiles (identities are unknown in prediction).
BLUE = (40, 90, 220)
#: Columns of predictions.csv.
COLUMNS = ("query", "rank", "gallery", "distance")


def _records(folder: str, key: str) -> list[SimpleNamespace]:
    from toolchain.data.dataset import list_image_files

    return [
        SimpleNamespace(path=p, identity=p.name.split("_", 1)[0], camera=None)
        for p in list_image_files(folder, key)
    ]


def predict(cfg: Any, run: Any, model_path: str | None = None, top_k: int = TOP_K) -> list[dict]:
    """Rank the prediction gallery for every prediction query image.

    Args:
        cfg: the run's `ReidConfig` (`dataset.prediction_query_path`, `_gallery_path`).
        run: its `RunDir`.
        model_path: the model (default as in evaluation).
        top_k: gallery images per query.

    Returns:
        The rows of predictions.csv as dicts.
    """
    qpath = cfg_value(cfg, "dataset.prediction_query_path")
    gpath = cfg_value(cfg, "dataset.prediction_gallery_path")
    if not qpath or not gpath:
        raise ConfigError(
            "prediction needs dataset.prediction_query_path and dataset.prediction_gallery_path; "
            f"received prediction_query_path={qpath!r}, prediction_gallery_path={gpath!r}"
        )
    query = _records(str(qpath), "dataset.prediction_query_path")
    gallery = _records(str(gpath), "dataset.prediction_gallery_path")
    source, _ = make_source(cfg, model_path_of(cfg, run, model_path))
    input_shape = getattr(source, "input_shape", None) or cfg_value(cfg, "model.input_shape")
    if not input_shape:
        raise ConfigError("model.input_shape is needed: the model does not state its input shape")
    input_fn = input_fn_for(cfg, input_shape)
    metric = str(cfg_value(cfg, "evaluation.reid_distance_metric", "cosine"))
    q_emb = embed_records(source, query, input_fn)
    g_emb = embed_records(source, gallery, input_fn)
    k = min(int(top_k), len(gallery))
    out_dir = Path(run.root) / "predictions"
    rows: list[dict] = []
    for i, rec in enumerate(query):
        d = distance_matrix(q_emb[i : i + 1], g_emb, metric)[0]
        order = np.argsort(d, kind="stable")[:k]
        tiles = [tile(input_fn(rec.path), GREY)]
        for rank, j in enumerate(order, start=1):
            tiles.append(tile(input_fn(gallery[j].path), BLUE))
            rows.append(
                {
                    "query": rec.path.name,
                    "rank": rank,
                    "gallery": gallery[j].path.name,
                    "distance": float(d[j]),
                }
            )
        save_strip(tiles, out_dir / f"{rec.path.stem}.png")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(Path(run.root) / "predictions.csv", buffer.getvalue())
    return rows
