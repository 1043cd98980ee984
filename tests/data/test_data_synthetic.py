"""toolchain.data.synthetic / `reidtool make-dataset`: the built-in sports-player ReID set."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from toolchain.data.dataset import scan_folder
from toolchain.data.synthetic import SUBFOLDERS, make_dataset
from toolchain.errors import UsageError
from toolchain.evaluation.metrics import compute_metrics

CAMERA = r"_c(\d+)_"
REIDTOOL = [sys.executable, "-m", "toolchain.cli"]


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under root, by relative path, with its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    """`make-dataset --identities 30 --seed 1` through the function, at difficulty 0, 1 and 2."""
    root = tmp_path_factory.mktemp("synthetic")
    return {
        d: make_dataset(root / f"d{d}", identities=30, seed=1, difficulty=d)
        for d in (0.0, 1.0, 2.0)
    }


def test_cli_and_function_write_byte_identical_folders(sets, tmp_path):
    out = tmp_path / "cli"
    cmd = [*REIDTOOL, "make-dataset", str(out), "--identities", "30", "--seed", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "train_images 210" in done.stderr and "query_images 9" in done.stderr
    reference = _tree(Path(sets[1.0]["out"]))
    assert len(reference) == 301  # 300 crops + synthetic_dataset.json
    assert _tree(out) == reference

    # A second run into the same folder refuses to mix sets: one line, exit 2 (bad usage).
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2
    assert re.search(r"^error: make-dataset: .*reid_train already holds files", again.stderr, re.M)
    assert "Traceback" not in again.stderr

    other = make_dataset(tmp_path / "seed2", identities=30, seed=2)
    assert _tree(Path(other["out"])) != reference


def test_layout_counts_and_disjoint_test_identities(sets):
    summary = sets[1.0]
    root = Path(summary["out"])
    assert sorted(p.name for p in root.iterdir()) == [
        "reid_test",
        "reid_train",
        "synthetic_dataset.json",
    ]
    train, query, gallery = (scan_folder(root / sub, CAMERA) for sub in SUBFOLDERS)
    assert (len(train), len(query), len(gallery)) == (210, 9, 81)
    assert summary | {"out": None} == json.loads((root / "synthetic_dataset.json").read_text())
    assert all(re.fullmatch(r"\d{4}_c[1-4]_\d+\.jpg", r.path.name) for r in train + query + gallery)

    train_ids = {r.identity for r in train}
    test_ids = {r.identity for r in query}
    assert len(train_ids) == summary["train_identities"] == 21
    assert len(test_ids) == summary["test_identities"] == 9
    assert not train_ids & test_ids
    assert {r.identity for r in gallery} == test_ids
    for ident in train_ids:
        assert sum(r.identity == ident for r in train) == 10
    # Every query has gallery images of its identity, all from other cameras.
    for q in query:
        same = [g for g in gallery if g.identity == q.identity]
        assert len(same) == 9 and all(g.camera != q.camera for g in same)

    with Image.open(train[0].path) as im:
        assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (64, 128))


def _mean_colour(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), np.float64).reshape(-1, 3).mean(0)


def _colour_histogram(path: Path) -> np.ndarray:
    pixels = np.asarray(Image.open(path).convert("RGB"))
    return np.concatenate(
        [np.histogram(pixels[..., c], bins=8, range=(0, 256))[0] for c in range(3)]
    ).astype(np.float64)


@pytest.mark.parametrize("feature", [_mean_colour, _colour_histogram])
def test_colour_alone_does_not_solve_it(sets, feature):
    # Team-mates share a kit: a colour-only embedding ranks them alike.
    root = Path(sets[1.0]["out"])
    query = scan_folder(root / "reid_test/query", CAMERA)
    gallery = scan_folder(root / "reid_test/gallery", CAMERA)
    metrics = compute_metrics(
        np.stack([feature(r.path) for r in query]),
        [r.identity for r in query],
        np.stack([feature(r.path) for r in gallery]),
        [r.identity for r in gallery],
        query_cams=[r.camera for r in query],
        gallery_cams=[r.camera for r in gallery],
    )
    assert metrics["num_query"] == 9 and metrics["num_query_skipped"] == 0
    assert metrics["mAP"] < 0.4, metrics["mAP"]


def _identity_spread(root: Path) -> float:
    """Mean over training identities of the per-pixel std across that identity's images."""
    by_id = defaultdict(list)
    for rec in scan_folder(root / "reid_train"):
        by_id[rec.identity].append(np.asarray(Image.open(rec.path), np.float64))
    return float(np.mean([np.stack(v).std(axis=0).mean() for v in by_id.values()]))


def test_difficulty_scales_the_nuisances(sets):
    trees = {d: _tree(Path(s["out"]) / "reid_train") for d, s in sets.items()}
    assert trees[0.0].keys() == trees[2.0].keys()  # same players, cameras and names
    assert all(trees[0.0][k] != trees[2.0][k] for k in trees[0.0])
    spread = {d: _identity_spread(Path(s["out"])) for d, s in sets.items()}
    # Measured with seed 1: about 18 (clean), 46, 55 levels.
    assert spread[0.0] * 1.5 < spread[1.0] < spread[2.0], spread


@pytest.mark.parametrize(
    "kwargs, option",
    [
        (dict(identities=1), "--identities"),
        (dict(images_per_id=3, query_per_id=3), "--query-per-id"),
        (dict(test_fraction=1.0), "--test-fraction"),
        (dict(height=20), "--height/--width"),
        (dict(difficulty=4), "--difficulty"),
    ],
)
def test_bad_arguments_name_the_option(tmp_path, kwargs, option):
    with pytest.raises(UsageError, match=f"make-dataset {re.escape(option)}: expected"):
        make_dataset(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()
