"""toolchain.data.splits: the seed's path state machine and stratified validation split."""

from __future__ import annotations

import types
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from data_helpers import write_rgb

from toolchain.data.dataset import DatasetWarning, ImageRecord
from toolchain.data.splits import build_splits, identity_labels, make_splits, stratified_split
from toolchain.errors import ConfigError, DatasetError


def _records(sizes):
    return [
        ImageRecord(Path(f"/x/{i:03d}_{n}.jpg"), f"{i:03d}")
        for i, size in enumerate(sizes)
        for n in range(size)
    ]


def test_stratified_split_per_identity():
    sizes = [2, 3, 4, 5, 10, 10, 1, 7]
    recs = _records(sizes)
    train, val = stratified_split(recs, 0.25, seed=11)
    assert sorted(map(str, (r.path for r in train + val))) == sorted(str(r.path) for r in recs)
    assert not {r.path for r in train} & {r.path for r in val}
    assert len(val) == round(len(recs) * 0.25)
    tr, va = Counter(r.identity for r in train), Counter(r.identity for r in val)
    for ident, size in zip(sorted(tr), sizes, strict=True):
        assert tr[ident] >= 1  # every identity keeps a training image
        assert abs(va[ident] - size * 0.25) < 1  # proportional (largest remainder)
    again = stratified_split(recs, 0.25, seed=11)
    assert [r.path for r in again[1]] == [r.path for r in val]
    assert [r.path for r in stratified_split(recs, 0.25, seed=12)[1]] != [r.path for r in val]


def test_identity_labels():
    recs = _records([2, 1, 3])
    labels, names = identity_labels(recs)
    assert names == ["000", "001", "002"] and labels.dtype == np.int32
    assert labels.tolist() == [0, 0, 1, 2, 2, 2]
    labels, _ = identity_labels(recs, ["002", "001", "000"])
    assert labels.tolist() == [2, 2, 1, 0, 0, 0]
    with pytest.raises(DatasetError, match="missing from dataset.class_names: 001_0.jpg"):
        identity_labels(recs, ["000", "002"])


def _tree(tmp_path):
    for ident, n in [("a", 5), ("b", 5), ("c", 4), ("d", 1)]:
        for i in range(n):
            write_rgb(tmp_path / "train" / f"{ident}_c{i % 2}_{i}.jpg", 16, 8, seed=i)
    for ident in ("x", "y"):
        write_rgb(tmp_path / "query" / f"{ident}_c0_0.jpg", 16, 8)
        for i in range(3):
            write_rgb(tmp_path / "gallery" / f"{ident}_c1_{i}.jpg", 16, 8, seed=i)
    write_rgb(tmp_path / "calib" / "q_0.jpg", 16, 8)
    return tmp_path


def _cfg(**dataset):
    return types.SimpleNamespace(dataset=types.SimpleNamespace(**dataset))


def test_build_splits_state_machine(tmp_path):
    root = _tree(tmp_path)
    with pytest.warns(DatasetWarning, match="single image: d_c0_0.jpg"):
        s = build_splits(
            _cfg(
                training_path=str(root / "train"),
                validation_split=0.2,
                seed=1,
                test_query_path=root / "query",
                test_gallery_path=root / "gallery",
                camera_regex=r"_c(\d)_",
                validation_path=None,
                quantization_path=None,
                quantization_split=None,
            )
        )
    assert s.class_names == ["a", "b", "c", "d"]
    assert len(s.train) + len(s.val) == 15 and len(s.val) == 3
    assert {r.identity for r in s.val} <= {"a", "b", "c"}  # "d" has one image: stays in train
    assert len(s.query) == 2 and len(s.gallery) == 6 and s.query[0].camera == "0"
    assert len(s.quantization) == 15  # no quantization_path/split: all training images

    with pytest.warns(DatasetWarning):
        s = build_splits(
            _cfg(
                training_path=root / "train",
                validation_path=root / "gallery",
                quantization_split=0.4,
                seed=2,
                class_names=["a", "b", "c", "d", "x", "y"],
            )
        )
    assert len(s.train) == 15 and len(s.val) == 6 and len(s.quantization) == 9
    assert s.class_names[-1] == "y" and s.query == [] and s.gallery == []

    s = build_splits(
        _cfg(
            quantization_path=root / "calib",
            test_query_path=root / "query",
            test_gallery_path=root / "gallery",
        )
    )
    assert s.train == [] and s.val == [] and [r.path.name for r in s.quantization] == ["q_0.jpg"]


def test_build_splits_config_errors(tmp_path):
    root = _tree(tmp_path)
    with pytest.raises(
        ConfigError, match="test_query_path and dataset.test_gallery_path go together"
    ):
        make_splits(test_query_path=str(root / "query"))
    with pytest.raises(
        ConfigError, match="validation_split: expected 0 <= value < 1. Received: 1.5"
    ):
        with pytest.warns(DatasetWarning):
            make_splits(training_path=str(root / "train"), validation_split=1.5)
    with pytest.raises(ConfigError, match="dataset section is required"):
        build_splits(types.SimpleNamespace())
    with pytest.raises(DatasetError, match="dataset.test_gallery_path=.*nope does not exist"):
        make_splits(test_query_path=str(root / "query"), test_gallery_path=str(root / "nope"))
