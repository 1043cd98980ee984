"""The seed's dataset path state machine: which folders feed training, validation, test and
quantization calibration.

Rules (ST model zoo, re_identification `load_dataset`, made explicit):
- `training_path` gives the training images.
- `validation_path` gives the validation images; without it, `validation_split` of the training
  images are held out, split per image and stratified by identity (every identity keeps at least
  one training image), reproducibly from `dataset.seed`.
- `test_query_path` and `test_gallery_path` give the evaluation sets (both or neither).
- `quantization_path` gives the calibration images; else `quantization_split` of the training
  images (seeded); else all training images.
- Class names are `dataset.class_names` when given, else the sorted training identities.

Example:
    splits = build_splits(cfg)
    labels, names = identity_labels(splits.train, splits.class_names)
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from toolchain.data.dataset import (
    ImageRecord,
    check_query_gallery,
    check_training_identities,
    scan_folder,
)
from toolchain.errors import ConfigError, DatasetError, format_file_list

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Splits:
    """The record lists of one run; an unconfigured set is an empty list."""

    train: list[ImageRecord] = field(default_factory=list)
    val: list[ImageRecord] = field(default_factory=list)
    query: list[ImageRecord] = field(default_factory=list)
    gallery: list[ImageRecord] = field(default_factory=list)
    quantization: list[ImageRecord] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        """Image counts per set, for logs."""
        return {
            name: len(getattr(self, name))
            for name in ("train", "val", "query", "gallery", "quantization")
        }


def identity_labels(
    records: Sequence[ImageRecord], class_names: Sequence[str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """Integer class labels for records.

    Args:
        records: the images.
        class_names: the label order; None: the sorted identities of `records`.

    Returns:
        (labels int32 of len(records), class_names).

    Raises:
        DatasetError: an identity is not among `class_names` (names the files).
    """
    names = list(class_names) if class_names else sorted({r.identity for r in records})
    index = {name: i for i, name in enumerate(names)}
    unknown = [r.path.name for r in records if r.identity not in index]
    if unknown:
        raise DatasetError(
            f"{len(unknown)} image(s) have an identity missing from dataset.class_names: "
            f"{format_file_list(unknown)}. Add the identities to class_names or leave "
            "class_names unset to take them from the training folder."
        )
    labels = np.fromiter((index[r.identity] for r in records), dtype=np.int32, count=len(records))
    return labels, names


def stratified_split(
    records: Sequence[ImageRecord], fraction: float, seed: int
) -> tuple[list[ImageRecord], list[ImageRecord]]:
    """Split records per image, stratified by identity: (kept, held_out).

    About `fraction` of all images are held out, spread over identities in proportion to their
    image counts (largest remainders get the extra images, ties broken by the seeded RNG), and
    every identity keeps at least one image. Deterministic for a given seed and record list.
    """
    if not 0.0 <= fraction < 1.0:
        raise ConfigError(
            f"dataset.validation_split: expected 0 <= value < 1. Received: {fraction}"
        )
    by_id: dict[str, list[ImageRecord]] = defaultdict(list)
    for rec in sorted(records, key=lambda r: str(r.path)):
        by_id[rec.identity].append(rec)
    ids = sorted(by_id)
    rng = np.random.default_rng(seed)
    sizes = np.array([len(by_id[i]) for i in ids])
    ideal = sizes * fraction
    take = np.minimum(np.floor(ideal).astype(int), sizes - 1)
    target = min(int(round(len(records) * fraction)), int((sizes - 1).sum()))
    remainder = ideal - take
    order = np.lexsort((rng.permutation(len(ids)), -remainder))
    for i in order:
        if take.sum() >= target:
            break
        if take[i] < sizes[i] - 1:
            take[i] += 1
    kept, held = [], []
    for ident, n_held in zip(ids, take, strict=True):
        items = by_id[ident]
        perm = rng.permutation(len(items))
        held.extend(items[j] for j in sorted(perm[:n_held]))
        kept.extend(items[j] for j in sorted(perm[n_held:]))
    return kept, held


def random_subset(
    records: Sequence[ImageRecord],
    fraction: float,
    seed: int,
    key: str = "dataset.quantization_split",
) -> list[ImageRecord]:
    """A seeded random `fraction` of records (at least one), in their original order."""
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"{key}: expected 0 < value <= 1. Received: {fraction}")
    n = max(1, int(math.ceil(len(records) * fraction)))
    pick = np.sort(np.random.default_rng(seed).permutation(len(records))[:n])
    return [records[i] for i in pick]


def make_splits(
    *,
    training_path: str | None = None,
    validation_path: str | None = None,
    validation_split: float | None = 0.2,
    test_query_path: str | None = None,
    test_gallery_path: str | None = None,
    quantization_path: str | None = None,
    quantization_split: float | None = None,
    class_names: Sequence[str] | None = None,
    seed: int = 123,
    camera_regex: str | None = None,
    check_image_files: bool = False,
) -> Splits:
    """`build_splits` with explicit arguments (the `dataset.*` keys of CONTRACTS §4)."""
    if bool(test_query_path) != bool(test_gallery_path):
        raise ConfigError(
            "dataset.test_query_path and dataset.test_gallery_path go together: set both or "
            f"neither. Received: test_query_path={test_query_path!r}, "
            f"test_gallery_path={test_gallery_path!r}"
        )

    def scan(path: str, key: str) -> list[ImageRecord]:
        return scan_folder(path, camera_regex, check_image_files, key=key)

    train: list[ImageRecord] = []
    val: list[ImageRecord] = []
    if training_path:
        train = scan(training_path, "dataset.training_path")
        check_training_identities(train)
        if validation_path:
            val = scan(validation_path, "dataset.validation_path")
        elif validation_split:
            train, val = stratified_split(train, float(validation_split), seed)
    elif validation_path:
        val = scan(validation_path, "dataset.validation_path")

    names = list(class_names) if class_names else sorted({r.identity for r in train})
    if train and class_names:
        identity_labels(train, names)
    if val and names:
        identity_labels(val, names)

    query: list[ImageRecord] = []
    gallery: list[ImageRecord] = []
    if test_query_path:
        query = scan(test_query_path, "dataset.test_query_path")
        gallery = scan(test_gallery_path, "dataset.test_gallery_path")
        check_query_gallery(query, gallery)

    if quantization_path:
        quant = scan(quantization_path, "dataset.quantization_path")
    elif training_path and quantization_split:
        quant = random_subset(train + val, float(quantization_split), seed)
    else:
        quant = list(train + val)

    splits = Splits(train, val, query, gallery, quant, names)
    log.info("dataset splits: %s", splits.summary())
    return splits


def build_splits(cfg: Any) -> Splits:
    """The run's record lists from `cfg.dataset.*` (see the module docstring for the rules)."""
    ds = getattr(cfg, "dataset", None)
    if ds is None:
        raise ConfigError("The dataset section is required to build the dataset splits.")

    def get(name: str, default: Any = None) -> Any:
        value = getattr(ds, name, default)
        return default if value is None else value

    return make_splits(
        training_path=_path_or_none(get("training_path")),
        validation_path=_path_or_none(get("validation_path")),
        validation_split=get("validation_split", 0.2),
        test_query_path=_path_or_none(get("test_query_path")),
        test_gallery_path=_path_or_none(get("test_gallery_path")),
        quantization_path=_path_or_none(get("quantization_path")),
        quantization_split=get("quantization_split"),
        class_names=get("class_names"),
        seed=int(get("seed", 123)),
        camera_regex=get("camera_regex"),
        check_image_files=bool(get("check_image_files", False)),
    )


def _path_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "", "None") else None
