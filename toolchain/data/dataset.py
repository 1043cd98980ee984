"""A flat folder of person crops → (path, identity, camera) records.

The seed's layout (ST model zoo, re_identification): one folder of images, identity = the
file-name text before the first underscore (`0007_c2_3.jpg` → `0007`). A camera token is read
with `dataset.camera_regex` when given, for the cross-camera rule of the metrics. Folders are
checked before any training starts, so a bad file is reported by name with how to fix it,
never as a TensorFlow traceback halfway through an epoch.

Example:
    records = scan_folder("data/reid_train", camera_regex=r"_c(\\d+)_")
    records[0]      # ImageRecord(path=.../0001_c1_0.jpg, identity='0001', camera='1')
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from toolchain.data.images import decode_image, probe_image
from toolchain.errors import ConfigError, DatasetError, format_file_list

log = logging.getLogger(__name__)

#: File endings taken as images (case-insensitive); anything else in the folder is ignored.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")

LAYOUT_HINT = (
    "Expected a flat folder of images named <identity>_<anything>.jpg "
    "(e.g. 0007_c2_3.jpg); jpg, jpeg, png and bmp files are read."
)


class DatasetWarning(UserWarning):
    """Something in a dataset folder that reidtool converts or tolerates, named by file."""


@dataclass(frozen=True)
class ImageRecord:
    """One image of a dataset: its file, its identity and (if known) its camera."""

    path: Path
    identity: str
    camera: str | None = None


def compile_camera_regex(camera_regex: str | re.Pattern | None) -> re.Pattern | None:
    """Compile `dataset.camera_regex`; a bad pattern is a `ConfigError` naming the key."""
    if camera_regex is None or isinstance(camera_regex, re.Pattern):
        return camera_regex
    try:
        return re.compile(camera_regex)
    except re.error as exc:
        raise ConfigError(
            f"dataset.camera_regex: {camera_regex!r} is not a valid regular expression ({exc})."
        ) from None


def list_image_files(path: str | os.PathLike, key: str | None = None) -> list[Path]:
    """The image files of a flat folder, sorted by name.

    Raises `DatasetError` if the folder is missing, not a folder, or holds no image files (naming
    sub-folders if that is what it holds instead: a class-per-folder layout is not the seed's).
    """
    folder = Path(path)
    where = f"{key}={folder}" if key else str(folder)
    if not folder.exists():
        raise DatasetError(f"Dataset folder {where} does not exist. {LAYOUT_HINT}")
    if not folder.is_dir():
        raise DatasetError(f"Dataset folder {where} is not a folder. {LAYOUT_HINT}")
    files, subdirs = [], []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            subdirs.append(entry)
        elif entry.suffix.lower() in IMAGE_SUFFIXES and entry.is_file():
            files.append(entry)
    if not files:
        extra = ""
        if subdirs:
            extra = (
                f" It holds sub-folders ({format_file_list([d.name for d in subdirs])}): "
                "images must sit directly in the folder, not one folder per identity."
            )
        raise DatasetError(f"Dataset folder {where} holds no image files.{extra} {LAYOUT_HINT}")
    return files


def scan_folder(
    path: str | os.PathLike,
    camera_regex: str | re.Pattern | None = None,
    check_image_files: bool = False,
    *,
    key: str | None = None,
) -> list[ImageRecord]:
    """Turn a flat image folder into records, checking names and image headers.

    Every file's header is read (cheap: format, size, mode), so unreadable files and huge images
    are reported before training; with `check_image_files` every image is fully decoded too,
    which also finds truncated files. Files that are not 8-bit RGB (grayscale, palette, alpha,
    16-bit) give one `DatasetWarning`: they are converted on load.

    Args:
        path: the folder.
        camera_regex: a pattern searched in the file name; its first group (or the whole match)
            is the camera. None: cameras are unknown.
        check_image_files: decode every image (the seed's `dataset.check_image_files`).
        key: the config key naming the folder, for messages (`dataset.training_path`).

    Returns:
        Records sorted by file name.

    Raises:
        DatasetError: missing or empty folder, names without an underscore, names the camera
            pattern does not match, unreadable/corrupt files or huge images; the message names
            the files (first 10, then a count).
    """
    files = list_image_files(path, key)
    where = f"{key}={path}" if key else str(path)
    pattern = compile_camera_regex(camera_regex)

    no_underscore = [f for f in files if "_" not in f.name or f.name.startswith("_")]
    if no_underscore:
        raise DatasetError(
            f"In {where}, {len(no_underscore)} file name(s) have no identity prefix "
            "(text before the first underscore): "
            f"{format_file_list(f.name for f in no_underscore)}. "
            "Rename them <identity>_<anything>.<ext>."
        )

    records, no_camera = [], []
    for f in files:
        camera = None
        if pattern is not None:
            match = pattern.search(f.name)
            if match is None:
                no_camera.append(f.name)
                continue
            camera = match.group(1) if pattern.groups else match.group(0)
        records.append(ImageRecord(f, f.name.split("_", 1)[0], camera))
    if no_camera:
        raise DatasetError(
            f"In {where}, dataset.camera_regex={pattern.pattern!r} does not match "
            f"{len(no_camera)} file name(s): {format_file_list(no_camera)}. "
            "Fix the pattern or the names, or unset dataset.camera_regex."
        )

    check_records(records, where, decode=check_image_files)
    return records


def check_records(records: Sequence[ImageRecord], where: str, decode: bool = False) -> None:
    """Read every record's header (and decode it if `decode`); raise or warn naming files."""
    bad: list[str] = []
    reasons: list[str] = []
    converted: dict[str, list[str]] = defaultdict(list)
    for rec in records:
        try:
            info = probe_image(rec.path)
            if decode:
                decode_image(rec.path, "rgb")
        except DatasetError as exc:
            bad.append(rec.path.name)
            reasons.append(str(exc))
            continue
        if info.needs_conversion:
            converted[_mode_label(info.mode)].append(rec.path.name)
    if bad:
        raise DatasetError(
            f"In {where}, {len(bad)} image file(s) cannot be used: {format_file_list(bad)}. "
            f"First problem: {reasons[0]} Remove or replace these files."
        )
    for label, names in sorted(converted.items()):
        warnings.warn(
            f"In {where}, {len(names)} image file(s) are {label}, not 8-bit RGB: "
            f"{format_file_list(names)}. They are converted to the configured "
            "preprocessing.color_mode when loaded; re-save them as RGB to silence this warning.",
            DatasetWarning,
            stacklevel=3,
        )


def _mode_label(mode: str) -> str:
    if mode in ("L", "1"):
        return "grayscale"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return "with an alpha channel (dropped)"
    if mode == "P":
        return "palette images"
    if mode.startswith("I") or mode == "F":
        return "16-bit or wider (scaled to 8 bits)"
    return f"mode {mode}"


def identities_of(records: Iterable[ImageRecord]) -> Counter:
    """How many images each identity has."""
    return Counter(r.identity for r in records)


def check_query_gallery(
    query: Sequence[ImageRecord],
    gallery: Sequence[ImageRecord],
    query_key: str = "dataset.test_query_path",
    gallery_key: str = "dataset.test_gallery_path",
) -> None:
    """Warn about query identities absent from the gallery; raise if no query has a match.

    Such queries are skipped by the metrics (`num_query_skipped`), as in the seed; if every
    query would be skipped there is nothing to evaluate.
    """
    gallery_ids = {r.identity for r in gallery}
    missing = [r for r in query if r.identity not in gallery_ids]
    if not missing:
        return
    names = format_file_list(r.path.name for r in missing)
    if len(missing) == len(query):
        raise DatasetError(
            f"None of the {len(query)} query identities in {query_key} appears in {gallery_key}: "
            f"{names}. Query and gallery must share identities (same name prefix)."
        )
    warnings.warn(
        f"{len(missing)} query image(s) in {query_key} have an identity absent from "
        f"{gallery_key}: {names}. They are skipped in rank-1/mAP; add gallery images of these "
        "identities or remove the queries.",
        DatasetWarning,
        stacklevel=2,
    )


def check_training_identities(
    records: Sequence[ImageRecord], key: str = "dataset.training_path"
) -> None:
    """Single-image identities cannot form a positive pair for the triplet loss.

    Some of them: a warning naming them (they still train the classification head, as in the
    seed). All of them: a `DatasetError`, since no positive pair exists at all.
    """
    counts = identities_of(records)
    singles = [r.path.name for r in records if counts[r.identity] == 1]
    if not singles:
        return
    if len(singles) == len(records):
        raise DatasetError(
            f"Every identity in {key} has a single image ({format_file_list(singles)}); "
            "metric learning needs at least 2 images per identity. Add images or check that the "
            "identity is the text before the first underscore."
        )
    warnings.warn(
        f"{len(singles)} identit(y/ies) in {key} have a single image: {format_file_list(singles)}. "
        "They give no positive pair for the triplet loss; add images or remove them.",
        DatasetWarning,
        stacklevel=2,
    )
