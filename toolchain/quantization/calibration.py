"""The calibration set of post-training quantization: which images, turned into which bytes.

The converter picks every activation's int8 range from the representative data, so those data
must be exactly what the model will see on the board: they come from the one host function
that makes input bytes (`toolchain.data.images.load_input_bytes`, CONTRACTS §5). Two synthetic
images, all 0 and all 255, are always added: a uint8 input then spans 0..255 exactly and gets
scale 1.0 / zero point 0, so the raw pixel bytes are the input tensor (measured: calibrating on
pixels up to 200 gave scale 0.784). Images that fail to load are reported, never dropped
silently.

Which images (the seed's rules, see `toolchain.data.splits`): `dataset.quantization_path`, else
a seeded `dataset.quantization_split` of the training set, else the whole training set.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from toolchain.errors import DatasetError, QuantizationError, ReidtoolError, format_file_list

log = logging.getLogger(__name__)

#: At most this many calibration images are loaded (a seeded subset beyond it); the converter's
#: ranges settle long before, and loading is the slow part.
MAX_CALIBRATION_IMAGES = 400


@dataclass
class CalibrationSet:
    """Calibration crops as uint8 input bytes, with where they came from and what failed.

    Attributes:
        images: uint8 (N, H, W, C), the successfully loaded crops (extremes not included).
        paths: the files of `images`, in order.
        failed: (file, reason) of every image that could not be loaded.
        source: the config key the images came from.
        available: how many images the source held before the `MAX_CALIBRATION_IMAGES` cap.
    """

    images: np.ndarray
    paths: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    source: str = ""
    available: int = 0

    def summary(self) -> dict[str, Any]:
        """The report's `calibration` entry."""
        return {
            "source": self.source,
            "images": int(len(self.images)),
            "available": int(self.available),
            "extremes_added": ["all-0", "all-255"],
            "failed": [{"file": str(p), "reason": r} for p, r in self.failed],
        }


def calibration_source(cfg: Any) -> tuple[list[Path], str]:
    """The calibration image files of a config and the key they came from."""
    from toolchain.data.dataset import list_image_files
    from toolchain.data.splits import build_splits

    ds = getattr(cfg, "dataset", None)
    qpath = getattr(ds, "quantization_path", None)
    if qpath not in (None, "", "None"):
        # Calibration needs no identities: any image file of the folder, checked when loaded
        # (a file that fails is reported by `load_calibration`).
        key = "dataset.quantization_path"
        return list_image_files(qpath, key), key
    if getattr(ds, "quantization_split", None):
        key = "dataset.quantization_split"
    elif getattr(ds, "training_path", None):
        key = "dataset.training_path"
    else:
        raise QuantizationError(
            "no calibration images: set dataset.quantization_path, or dataset.training_path "
            "(optionally with dataset.quantization_split)"
        )
    records = build_splits(cfg).quantization
    return [Path(r.path) for r in records], key


def load_calibration(
    paths: Sequence[Path],
    input_shape: Sequence[int],
    *,
    color_mode: str = "rgb",
    interpolation: str = "bilinear",
    aspect_ratio: str = "fit",
    source: str = "",
    seed: int = 123,
    max_images: int = MAX_CALIBRATION_IMAGES,
) -> CalibrationSet:
    """Load calibration crops with `load_input_bytes`, collecting failures instead of dropping them.

    Args:
        paths: image files.
        input_shape: (H, W, C) of the model input.
        color_mode, interpolation, aspect_ratio: `preprocessing` settings.
        source: the config key, for the report.
        seed: picks the subset when there are more than `max_images` files.
        max_images: the cap.

    Raises:
        QuantizationError: no image could be loaded (the message names the failures).
    """
    from toolchain.data.images import load_input_bytes

    paths = [Path(p) for p in paths]
    available = len(paths)
    if available > max_images:
        pick = np.sort(np.random.default_rng(seed).permutation(available)[:max_images])
        paths = [paths[i] for i in pick]
    images, ok, failed = [], [], []
    for path in paths:
        try:
            images.append(
                load_input_bytes(
                    path,
                    tuple(input_shape),
                    color_mode=color_mode,
                    interpolation=interpolation,
                    aspect_ratio=aspect_ratio,
                )
            )
            ok.append(path)
        except (ReidtoolError, OSError, ValueError) as err:
            failed.append((path, str(err)))
    if failed:
        log.warning(
            "%d calibration image(s) failed to load and were left out: %s",
            len(failed),
            format_file_list(f"{p} ({r})" for p, r in failed),
        )
    if not images:
        raise QuantizationError(
            f"none of the {len(paths)} calibration images from {source or 'the calibration set'} "
            f"could be loaded: {format_file_list(f'{p} ({r})' for p, r in failed)}"
        )
    return CalibrationSet(np.stack(images), ok, failed, source, available)


def extremes(input_shape: Sequence[int]) -> np.ndarray:
    """The two images always added to the calibration data: all 0 and all 255, uint8."""
    shape = tuple(int(d) for d in input_shape)
    return np.stack([np.zeros(shape, np.uint8), np.full(shape, 255, np.uint8)])


def representative_dataset(
    images: np.ndarray, *, add_extremes: bool = True, scale: float = 1.0, offset: float = 0.0
) -> Callable[[], Iterator[list[np.ndarray]]]:
    """The converter's `representative_dataset`: one float32 batch-1 sample at a time.

    Args:
        images: uint8 (N, H, W, C) crops.
        add_extremes: prepend the all-0 and all-255 images (always, for reidtool models).
        scale, offset: applied to the pixels first; 1 / 0 for reidtool's models (Rescaling is
            inside), `preprocessing.rescaling` for a user model without its own rescaling.
    """
    data = np.asarray(images)
    if data.dtype != np.uint8 or data.ndim != 4:
        raise DatasetError(
            f"calibration images: expected uint8 (N, H, W, C), received {data.dtype} {data.shape}"
        )
    if add_extremes:
        data = np.concatenate([extremes(data.shape[1:]), data])

    def generate() -> Iterator[list[np.ndarray]]:
        for image in data:
            x = image[None].astype(np.float32)
            if scale != 1.0 or offset != 0.0:
                x = x * np.float32(scale) + np.float32(offset)
            yield [x]

    return generate
