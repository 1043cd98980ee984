"""Streaming `tf.data` input pipelines for training and evaluation.

Images are decoded where they are needed (parallel `map`, prefetch), never all loaded into RAM:
a dataset of file paths and labels, a PIL decode (`images.decode_image`) wrapped in
`tf.numpy_function`, and the same `images.resize_image` op the host uses, so the pixels a model
trains on are byte for byte the bytes the board receives (CONTRACTS §5). A bad file found
mid-stream surfaces as TensorFlow's error; `dataset_errors()` / `dataset_error_from()` turn it
back into the one-line `DatasetError` naming the file. Training batches follow
a `PKSampler`: each pass over the dataset is one sampler epoch. The optional cache keeps decoded,
resized images in a memory-mapped file on disk (filled lazily during the first epoch).

Pixels are raw 0..255 values (uint8, or float32 for Keras); rescaling is inside the model.

Example:
    sampler = PKSampler.from_batch_size(labels, 32, 4, seed=123)
    ds = make_train_dataset(records, labels, sampler, (64, 32, 3))
    model.fit(ds, epochs=10)
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from toolchain.data.dataset import ImageRecord
from toolchain.data.images import (
    check_preprocessing,
    decode_image,
    preprocessing_from_config,
    resize_image,
)
from toolchain.data.sampler import PKSampler
from toolchain.errors import ConfigError, DatasetError

log = logging.getLogger(__name__)

#: How TensorFlow's error text carries a `DatasetError` raised inside `tf.numpy_function`.
_CARRIED = re.compile(r"\bDatasetError: ([^\n]+)")


def dataset_error_from(exc: BaseException) -> DatasetError | None:
    """The `DatasetError` a failed `tf.data` pipeline carried, else None.

    TensorFlow re-raises a Python exception of `tf.numpy_function` as its own error
    (`UnknownError`, `InvalidArgumentError`) whose text holds the original traceback. This
    recovers the one-line message naming the file, so whoever runs the pipeline (the trainer
    around `model.fit`, the CLI) can report it without a TensorFlow traceback.

    Example:
        try:
            model.fit(ds)
        except tf.errors.OpError as exc:
            raise (dataset_error_from(exc) or exc) from None
    """
    if isinstance(exc, DatasetError):
        return exc
    match = _CARRIED.search(str(getattr(exc, "message", None) or exc))
    return DatasetError(match.group(1).strip()) if match else None


@contextlib.contextmanager
def dataset_errors() -> Iterator[None]:
    """Run a block that iterates a pipeline; image errors come out as one-line `DatasetError`s.

    Wrap `model.fit`/`predict` or a loop over a dataset of this module in it: a bad file found
    mid-stream (truncated JPEG, a file deleted since the scan) is reported by name, and any
    other TensorFlow failure of the pipeline by the first line of its message.
    """
    import tensorflow as tf

    try:
        yield
    except tf.errors.OpError as exc:
        carried = dataset_error_from(exc)
        if carried is not None:
            raise carried from None
        first = (exc.message or str(exc)).strip().splitlines()[0]
        raise DatasetError(f"The input pipeline failed: {first}") from None


def _decode_py(path: bytes, color_mode: bytes) -> np.ndarray:
    return decode_image(path.decode(), color_mode.decode())


class _ImageCache:
    """Decoded, resized images of N records in a memory-mapped uint8 file (N, H, W, C).

    Rows are filled the first time they are read; the file lives in `folder` (a temporary
    folder, removed when the cache is garbage-collected, when `folder` is None).
    """

    def __init__(
        self,
        records: Sequence[ImageRecord],
        shape: tuple[int, int, int],
        folder: str | os.PathLike | None,
        **preprocessing: str,
    ):
        own_folder = folder is None
        folder = Path(tempfile.mkdtemp(prefix="reidtool-cache-") if own_folder else folder)
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(suffix=".u8", dir=folder)
        os.close(fd)
        self._finalizer = weakref.finalize(
            self, _remove, Path(name), folder if own_folder else None
        )
        self.paths = [str(r.path) for r in records]
        self.shape = shape
        self.preprocessing = preprocessing
        self.data = np.memmap(name, dtype=np.uint8, mode="w+", shape=(len(records), *shape))
        self.filled = np.zeros(len(records), dtype=bool)
        self._lock = threading.Lock()

    def get(self, index: int) -> np.ndarray:
        index = int(index)
        if not self.filled[index]:
            import tensorflow as tf

            pixels = decode_image(self.paths[index], self.preprocessing["color_mode"])
            resized = resize_image(
                tf.constant(pixels),
                self.shape[0],
                self.shape[1],
                interpolation=self.preprocessing["interpolation"],
                aspect_ratio=self.preprocessing["aspect_ratio"],
            ).numpy()
            with self._lock:
                self.data[index] = resized
                self.filled[index] = True
            return resized
        return np.array(self.data[index])


def _remove(file: Path, folder: Path | None) -> None:
    file.unlink(missing_ok=True)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _loader(
    records: Sequence[ImageRecord],
    shape: tuple[int, int, int],
    color_mode: str,
    interpolation: str,
    aspect_ratio: str,
    cache: bool | str | os.PathLike,
):
    """A function index (int64 tensor) → uint8 (H, W, C) image tensor, for `Dataset.map`."""
    import tensorflow as tf

    height, width, channels = shape
    if cache:
        store = _ImageCache(
            records,
            shape,
            None if cache is True else cache,
            color_mode=color_mode,
            interpolation=interpolation,
            aspect_ratio=aspect_ratio,
        )

        def load(index):
            image = tf.numpy_function(store.get, [index], tf.uint8, stateful=False)
            image.set_shape((height, width, channels))
            return image

        return load

    paths = tf.constant([str(r.path) for r in records])
    mode = tf.constant(color_mode)

    def load(index):
        image = tf.numpy_function(
            _decode_py, [tf.gather(paths, index), mode], tf.uint8, stateful=False
        )
        image.set_shape((None, None, channels))
        image = resize_image(
            image, height, width, interpolation=interpolation, aspect_ratio=aspect_ratio
        )
        image.set_shape((height, width, channels))
        return image

    return load


def _cast(dtype: str):
    import tensorflow as tf

    if dtype not in ("float32", "uint8"):
        raise ConfigError(f"pipeline dtype: expected 'float32' or 'uint8'. Received: {dtype!r}")
    target = tf.uint8 if dtype == "uint8" else tf.float32

    def cast(image):
        return tf.cast(image, target)

    return cast


def make_train_dataset(
    records: Sequence[ImageRecord],
    labels: Sequence[int] | np.ndarray,
    sampler: PKSampler,
    input_shape: Sequence[int],
    *,
    color_mode: str = "rgb",
    interpolation: str = "bilinear",
    aspect_ratio: str = "fit",
    dtype: str = "float32",
    cache: bool | str | os.PathLike = False,
):
    """P×K training batches `(images, labels)` streamed from files.

    Each iteration over the returned dataset draws one new sampler epoch (`len(sampler)`
    batches of `sampler.batch_size`), so `model.fit(ds, epochs=E)` sees E different epochs.

    Args:
        records: training images.
        labels: int label per record (`splits.identity_labels`).
        sampler: the batch sampler built on the same labels.
        input_shape: (H, W, C).
        color_mode, interpolation, aspect_ratio: `preprocessing.*` (see `images`).
        dtype: "float32" (raw 0..255 values for Keras) or "uint8".
        cache: False; True (a temporary memory-mapped file); or a folder for the cache file.

    Returns:
        tf.data.Dataset of (images (B, H, W, C), labels (B,) int32).
    """
    import tensorflow as tf

    labels = np.asarray(labels, dtype=np.int32)
    if len(labels) != len(records):
        raise DatasetError(f"make_train_dataset: {len(records)} records but {len(labels)} labels.")
    shape = check_preprocessing(input_shape, color_mode, interpolation, aspect_ratio)
    load = _loader(records, shape, color_mode, interpolation, aspect_ratio, cache)
    cast = _cast(dtype)
    label_table = tf.constant(labels)

    def batches():
        yield from sampler

    ds = tf.data.Dataset.from_generator(
        batches, output_signature=tf.TensorSpec(shape=(sampler.batch_size,), dtype=tf.int64)
    )
    ds = ds.unbatch()
    ds = ds.map(
        lambda i: (cast(load(i)), tf.gather(label_table, i)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    ds = ds.batch(sampler.batch_size, drop_remainder=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def make_eval_dataset(
    records: Sequence[ImageRecord],
    input_shape: Sequence[int],
    *,
    labels: Sequence[int] | np.ndarray | None = None,
    batch_size: int = 32,
    color_mode: str = "rgb",
    interpolation: str = "bilinear",
    aspect_ratio: str = "fit",
    dtype: str = "float32",
    cache: bool | str | os.PathLike = False,
):
    """Batches of images in record order (with labels when given), streamed from files.

    Returns:
        tf.data.Dataset of images (B, H, W, C), or (images, labels) if `labels` is given.
    """
    import tensorflow as tf

    if not records:
        raise DatasetError("make_eval_dataset: no records to evaluate.")
    shape = check_preprocessing(input_shape, color_mode, interpolation, aspect_ratio)
    load = _loader(records, shape, color_mode, interpolation, aspect_ratio, cache)
    cast = _cast(dtype)
    ds = tf.data.Dataset.range(len(records))
    if labels is None:
        ds = ds.map(
            lambda i: cast(load(i)), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )
    else:
        table = tf.constant(np.asarray(labels, dtype=np.int32))
        if int(table.shape[0]) != len(records):
            raise DatasetError(
                f"make_eval_dataset: {len(records)} records but {int(table.shape[0])} labels."
            )
        ds = ds.map(
            lambda i: (cast(load(i)), tf.gather(table, i)),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    return ds.batch(int(batch_size)).prefetch(tf.data.AUTOTUNE)


def _config_value(cfg: Any, section: str, key: str, default: Any) -> Any:
    value = getattr(getattr(cfg, section, None), key, None)
    return default if value is None else value


def train_dataset_from_config(
    cfg: Any,
    records: Sequence[ImageRecord],
    labels: Sequence[int] | np.ndarray,
    *,
    dtype: str = "float32",
    cache: bool | str | os.PathLike = False,
) -> tuple[Any, PKSampler]:
    """`make_train_dataset` with a `PKSampler` from `training.batch_size`,
    `dataset.instances_per_identity` and `dataset.seed`. Returns (dataset, sampler); save
    `sampler.get_state()` with the training state to resume exactly."""
    sampler = PKSampler.from_batch_size(
        labels,
        int(_config_value(cfg, "training", "batch_size", 32)),
        int(_config_value(cfg, "dataset", "instances_per_identity", 4)),
        seed=int(_config_value(cfg, "dataset", "seed", 123)),
    )
    kwargs = preprocessing_from_config(cfg)
    ds = make_train_dataset(
        records, labels, sampler, kwargs.pop("input_shape"), dtype=dtype, cache=cache, **kwargs
    )
    return ds, sampler


def eval_dataset_from_config(
    cfg: Any,
    records: Sequence[ImageRecord],
    *,
    labels: Sequence[int] | np.ndarray | None = None,
    batch_size: int | None = None,
    dtype: str = "float32",
    cache: bool | str | os.PathLike = False,
):
    """`make_eval_dataset` with the preprocessing of a `ReidConfig` (batch size defaults to
    `training.batch_size`, else 32)."""
    kwargs = preprocessing_from_config(cfg)
    size = batch_size or int(_config_value(cfg, "training", "batch_size", 32))
    return make_eval_dataset(
        records,
        kwargs.pop("input_shape"),
        labels=labels,
        batch_size=size,
        dtype=dtype,
        cache=cache,
        **kwargs,
    )
