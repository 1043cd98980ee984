"""Evaluation figures: CMC curves, the same/different distance histogram, ranked retrievals.

Figures are written to files with matplotlib's Agg backend (no display needed, safe in CI and
on headless machines). They read numbers computed elsewhere (`compute_metrics`, the evaluator's
embeddings) and never compute metrics themselves.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from toolchain.files import atomic_write

#: Border colours of ranked-retrieval tiles.
GREEN, RED, GREY = (0, 170, 0), (220, 0, 0), (128, 128, 128)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    plt = _pyplot()
    atomic_write(
        path,
        lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"),
        suffix=".png",
    )
    plt.close(fig)
    return path


def plot_cmc(
    blocks: Mapping[str, Mapping[str, Any]], path: str | os.PathLike, max_rank: int = 50
) -> Path:
    """CMC curves of several metrics blocks on one figure, mAP in each legend entry."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, block in blocks.items():
        cmc = np.asarray(block["cmc"], dtype=float)[:max_rank]
        ax.plot(
            np.arange(1, len(cmc) + 1),
            100.0 * cmc,
            marker=".",
            label=f"{name}: rank-1 {100 * block['rank1']:.1f} %, mAP {100 * block['mAP']:.1f} %",
        )
    ax.set_xlabel("rank")
    ax.set_ylabel("matching rate (%)")
    ax.set_ylim(0, 101)
    ax.grid(alpha=0.3)
    ax.set_title("CMC curve")
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, Path(path))


def plot_distance_histogram(
    same: np.ndarray, diff: np.ndarray, threshold: float, path: str | os.PathLike, title: str = ""
) -> Path:
    """Histograms of same- and different-identity distances with the match threshold."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    values = np.concatenate([np.asarray(same, float), np.asarray(diff, float)])
    bins = np.linspace(values.min(), values.max() + 1e-9, 50) if len(values) else 10
    ax.hist(diff, bins=bins, alpha=0.6, density=True, label=f"different identity ({len(diff)})")
    ax.hist(same, bins=bins, alpha=0.6, density=True, label=f"same identity ({len(same)})")
    if np.isfinite(threshold):
        ax.axvline(threshold, color="k", linestyle="--", label=f"threshold {threshold:.4f}")
    ax.set_xlabel("distance")
    ax.set_ylabel("density")
    ax.set_title(f"Query-gallery distances {title}".strip())
    ax.legend(fontsize=8)
    return _save(fig, Path(path))


def tile(pixels: np.ndarray, border: tuple[int, int, int], width: int = 3) -> np.ndarray:
    """An RGB uint8 crop with a coloured border (grayscale/RGBA crops are shown as RGB)."""
    img = np.asarray(pixels, dtype=np.uint8)
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[-1] == 1:
        img = np.repeat(img, 3, axis=-1)
    img = img[..., :3]
    out = np.empty((img.shape[0] + 2 * width, img.shape[1] + 2 * width, 3), np.uint8)
    out[:] = border
    out[width:-width, width:-width] = img
    return out


def strip(images: Sequence[np.ndarray], gap: int = 6) -> np.ndarray:
    """Tiles side by side on a white background (heights padded to the tallest)."""
    h = max(i.shape[0] for i in images)
    w = sum(i.shape[1] for i in images) + gap * (len(images) - 1)
    canvas = np.full((h, w, 3), 255, np.uint8)
    x = 0
    for img in images:
        canvas[: img.shape[0], x : x + img.shape[1]] = img
        x += img.shape[1] + gap
    return canvas


def save_strip(images: Sequence[np.ndarray], path: str | os.PathLike, scale: int = 2) -> Path:
    """Write a strip of tiles as PNG (nearest-neighbour upscaled for small crops)."""
    from PIL import Image

    canvas = strip(images)
    img = Image.fromarray(canvas).resize(
        (canvas.shape[1] * scale, canvas.shape[0] * scale), Image.NEAREST
    )
    return atomic_write(Path(path), lambda tmp: img.save(tmp, format="PNG"), suffix=".png")


def save_ranked(
    result: Any,
    query_records: Sequence[Any],
    gallery_records: Sequence[Any],
    input_fn: Callable[[Path], np.ndarray],
    out_dir: str | os.PathLike,
    num_queries: int = 10,
    top_k: int = 10,
) -> list[Path]:
    """For the first `num_queries` queries (evenly spaced), the query (grey border) and its
    top-k gallery matches: green border for the right identity, red otherwise."""
    from toolchain.evaluation.metrics import distance_matrix

    out_dir = Path(out_dir)
    n = min(int(num_queries), len(query_records))
    rows = np.unique(np.linspace(0, len(query_records) - 1, n).round().astype(int)) if n else []
    written = []
    for i in rows:
        d = distance_matrix(result.query_emb[i : i + 1], result.gallery_emb, result.metric)[0]
        if result.query_cams is not None:  # hide junk (same identity, same camera)
            junk = (result.gallery_ids == result.query_ids[i]) & (
                result.gallery_cams == result.query_cams[i]
            )
            d = np.where(junk, np.inf, d)
        order = np.argsort(d, kind="stable")[:top_k]
        tiles = [tile(input_fn(Path(query_records[i].path)), GREY)]
        for j in order:
            ok = result.gallery_ids[j] == result.query_ids[i]
            tiles.append(tile(input_fn(Path(gallery_records[j].path)), GREEN if ok else RED))
        name = f"query_{i:04d}_{Path(query_records[i].path).stem}.png"
        written.append(save_strip(tiles, out_dir / name))
    return written
