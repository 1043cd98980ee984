"""The `evaluation` operation mode: embeddings of the test query/gallery crops → metrics.json.

One path for every model form: crops are made by the host function of CONTRACTS §5, an
`EmbeddingSource` embeds them, `compute_metrics` scores them. The block of metrics.json follows
the source (`float` for Keras, `int8` for TFLite with the interpreter recorded, `device` for a
board source plugged in by the harness), so a chain's evaluations sit side by side.

Example:
    metrics = evaluate(cfg, run)                        # best_model.keras -> metrics.json["float"]
    metrics = evaluate(cfg, run, "q/reid_int8.tflite")  # -> metrics.json["int8"]
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from toolchain.errors import ConfigError, EvaluationError
from toolchain.evaluation.metrics import compute_metrics, metrics_from_distances, pair_distances

log = logging.getLogger(__name__)

#: Crops embedded per call of `source.embed`.
EMBED_BATCH = 64

InputFn = Callable[[Path], np.ndarray]


def cfg_value(cfg: Any, dotted: str, default: Any = None) -> Any:
    """`cfg.a.b` for dotted="a.b" (pydantic config, namespace or dicts); None → `default`."""
    value = cfg
    for part in dotted.split("."):
        if value is None:
            return default
        value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
    return default if value is None else value


def _records_cameras(records: Sequence[Any]) -> np.ndarray | None:
    cams = [getattr(r, "camera", None) for r in records]
    return None if any(c is None for c in cams) else np.asarray(cams)


def embed_records(
    source: Any, records: Sequence[Any], input_fn: InputFn, batch_size: int = EMBED_BATCH
) -> np.ndarray:
    """Embeddings (N, D) of records' images: `source.embed_files` if the source looks files up
    (precomputed embeddings), else crops from `input_fn` fed to `source.embed` in batches."""
    paths = [Path(r.path) for r in records]
    if hasattr(source, "embed_files"):
        return np.asarray(source.embed_files(paths))
    outs = []
    for start in range(0, len(paths), batch_size):
        crops = np.stack([input_fn(p) for p in paths[start : start + batch_size]])
        outs.append(np.asarray(source.embed(crops)).reshape(len(crops), -1))
    if not outs:
        raise EvaluationError("no images to embed")
    return np.concatenate(outs)


@dataclass
class Evaluation:
    """Everything one evaluation produced: metrics plus what the plots need."""

    metrics: dict
    query_emb: np.ndarray
    gallery_emb: np.ndarray
    query_ids: np.ndarray
    gallery_ids: np.ndarray
    query_cams: np.ndarray | None
    gallery_cams: np.ndarray | None
    metric: str


def evaluate_embeddings(
    query_emb,
    gallery_emb,
    query_records,
    gallery_records,
    metric: str = "cosine",
    re_ranking: bool = False,
) -> Evaluation:
    """Score embeddings of records (identities and cameras read from the records)."""
    qids = np.asarray([r.identity for r in query_records])
    gids = np.asarray([r.identity for r in gallery_records])
    qcams, gcams = _records_cameras(query_records), _records_cameras(gallery_records)
    if qcams is None or gcams is None:
        qcams = gcams = None
    if re_ranking:
        from toolchain.evaluation.reranking import re_rank

        distmat = re_rank(query_emb, gallery_emb, metric=metric)
        metrics = metrics_from_distances(distmat, qids, gids, qcams, gcams)
        metrics["re_ranking"] = True
    else:
        metrics = compute_metrics(
            query_emb, qids, gallery_emb, gids, metric=metric, query_cams=qcams, gallery_cams=gcams
        )
    return Evaluation(
        metrics, np.asarray(query_emb), np.asarray(gallery_emb), qids, gids, qcams, gcams, metric
    )


def evaluate_source(
    source: Any,
    query_records: Sequence[Any],
    gallery_records: Sequence[Any],
    input_fn: InputFn,
    metric: str = "cosine",
    *,
    re_ranking: bool = False,
    batch_size: int = EMBED_BATCH,
    details: bool = False,
) -> dict | Evaluation:
    """Embed query and gallery with `source` and compute the metrics block.

    Args:
        source: an `EmbeddingSource` (or a source with `embed_files`).
        query_records, gallery_records: `ImageRecord`s (path, identity, camera).
        input_fn: image file → uint8 (H, W, C) input bytes (`load_input_bytes` with the run's
            preprocessing).
        metric: cosine | euclidean.
        re_ranking: k-reciprocal re-ranking (small sets only).
        details: return the whole `Evaluation` (embeddings included) instead of the dict.

    Returns:
        The METRICS dict of CONTRACTS §3 (or an `Evaluation` when `details`).
    """
    q = embed_records(source, query_records, input_fn, batch_size)
    g = embed_records(source, gallery_records, input_fn, batch_size)
    result = evaluate_embeddings(q, g, query_records, gallery_records, metric, re_ranking)
    return result if details else result.metrics


def model_path_of(cfg: Any, run: Any, model_path: str | os.PathLike | None = None) -> Path:
    """The model to evaluate: the argument, `model.model_path`, `general.model_path`, or the
    run's `best_model.keras`."""
    for candidate in (
        model_path,
        cfg_value(cfg, "model.model_path"),
        cfg_value(cfg, "general.model_path"),
    ):
        if candidate not in (None, "", "None"):
            return Path(candidate)
    best = Path(run.saved_models_dir) / "best_model.keras"
    if best.is_file():
        return best
    raise ConfigError(
        f"nothing to evaluate: set model.model_path (or general.model_path), or train first so "
        f"{best} exists"
    )


def input_fn_for(cfg: Any, input_shape: Sequence[int]) -> InputFn:
    """image file → input bytes with the run's `preprocessing` and the model's input shape."""
    from toolchain.data.images import load_input_bytes

    shape = tuple(int(d) for d in (cfg_value(cfg, "model.input_shape") or input_shape))
    kwargs = dict(
        color_mode=str(cfg_value(cfg, "preprocessing.color_mode", "rgb")),
        interpolation=str(cfg_value(cfg, "preprocessing.resizing.interpolation", "bilinear")),
        aspect_ratio=str(cfg_value(cfg, "preprocessing.resizing.aspect_ratio", "fit")),
    )
    return lambda path: load_input_bytes(path, shape, **kwargs)


def load_test_records(cfg: Any) -> tuple[list, list]:
    """Query and gallery records of `dataset.test_query_path` / `test_gallery_path`."""
    from toolchain.data.dataset import scan_folder

    qpath = cfg_value(cfg, "dataset.test_query_path")
    gpath = cfg_value(cfg, "dataset.test_gallery_path")
    if not qpath or not gpath:
        raise ConfigError(
            "evaluation needs dataset.test_query_path and dataset.test_gallery_path; received "
            f"test_query_path={qpath!r}, test_gallery_path={gpath!r}"
        )
    regex = cfg_value(cfg, "dataset.camera_regex")
    query = scan_folder(qpath, regex, key="dataset.test_query_path")
    gallery = scan_folder(gpath, regex, key="dataset.test_gallery_path")
    return query, gallery


def make_source(cfg: Any, path: Path) -> tuple[Any, str]:
    """The source for a model file and the metrics.json block it writes."""
    from toolchain.evaluation.sources import KerasSource, source_for_path

    fast = bool(cfg_value(cfg, "evaluation.fast_interpreter", False))
    threads = int(cfg_value(cfg, "general.num_threads_tflite", 1))
    source = source_for_path(path, reference=not fast, num_threads=threads)
    if isinstance(source, KerasSource) and not has_rescaling(source.model):
        # A user model without its own Rescaling layer expects rescaled pixels.
        scale = cfg_value(cfg, "preprocessing.rescaling.scale")
        offset = cfg_value(cfg, "preprocessing.rescaling.offset", 0.0)
        if scale is not None:
            source.rescaling = (float(_number(scale)), float(_number(offset)))
    return source, getattr(source, "kind", "float")


def has_rescaling(model: Any) -> bool:
    """True for models that rescale raw pixels themselves (reidtool's exported embedders)."""
    import keras

    return any(isinstance(layer, keras.layers.Rescaling) for layer in model.layers[:4])


def _number(value: Any) -> float:
    """A config number, also written as a fraction string like the seed's '1/127.5'."""
    if isinstance(value, str) and "/" in value:
        num, den = value.split("/", 1)
        return float(num) / float(den)
    return float(value)


def evaluate(
    cfg: Any,
    run: Any,
    model_path: str | os.PathLike | None = None,
    *,
    source: Any = None,
    block: str | None = None,
    plots: bool = True,
) -> dict:
    """Run the `evaluation` operation mode and return the metrics block it wrote.

    Args:
        cfg: the run's `ReidConfig`.
        run: its `RunDir`.
        model_path: overrides the configured model (chains pass the model they just made).
        source: an already-built `EmbeddingSource` (the harness passes its board source).
        block: metrics.json block; default from the source (float, int8, device, precomputed).
        plots: write cmc_curve.png, distance_histogram.png and ranked/.

    Returns:
        The metrics block (CONTRACTS §3 METRICS, plus `interpreter` for TFLite).
    """
    from toolchain.evaluation import plots as plotting
    from toolchain.evaluation.report import print_metrics

    if source is None:
        path = model_path_of(cfg, run, model_path)
        source, kind = make_source(cfg, path)
    else:
        kind = getattr(source, "kind", "device")
    block = block or kind
    query, gallery = load_test_records(cfg)
    input_shape = getattr(source, "input_shape", None) or cfg_value(cfg, "model.input_shape")
    if not input_shape:
        raise ConfigError("model.input_shape is needed: the model does not state its input shape")
    input_fn = input_fn_for(cfg, input_shape)
    metric = str(cfg_value(cfg, "evaluation.reid_distance_metric", "cosine"))
    re_ranking = bool(cfg_value(cfg, "evaluation.re_ranking", False))
    result = evaluate_source(
        source, query, gallery, input_fn, metric, re_ranking=re_ranking, details=True
    )
    metrics = dict(result.metrics)
    described = source.describe() if hasattr(source, "describe") else {}
    if "interpreter" in described:
        metrics["interpreter"] = described["interpreter"]
    metrics["model"] = described.get("path")
    run.update_metrics(block, metrics)
    if plots:
        root = Path(run.root)
        all_blocks = run.read_metrics()
        curves = {
            name: b
            for name, b in all_blocks.items()
            if isinstance(b, dict) and isinstance(b.get("cmc"), list)
        }
        plotting.plot_cmc(curves, root / "cmc_curve.png")
        same, diff = pair_distances(
            result.query_emb,
            result.query_ids,
            result.gallery_emb,
            result.gallery_ids,
            metric,
            result.query_cams,
            result.gallery_cams,
        )
        plotting.plot_distance_histogram(
            same, diff, metrics["match_threshold"], root / "distance_histogram.png", title=block
        )
        n_vis = int(cfg_value(cfg, "evaluation.visualize_queries", 10))
        if n_vis > 0:
            plotting.save_ranked(result, query, gallery, input_fn, root / "ranked" / block, n_vis)
    print_metrics(block, metrics)
    return metrics
