"""toolchain.data.pipeline: streaming tf.data input (decode on demand, P×K batches, cache)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from types import SimpleNamespace as NS

import numpy as np
import pytest
import tensorflow as tf
from data_helpers import write_rgb, write_truncated_jpeg

from toolchain.data import pipeline
from toolchain.data.dataset import ImageRecord, scan_folder
from toolchain.data.images import load_input_bytes
from toolchain.data.sampler import PKSampler
from toolchain.data.splits import identity_labels
from toolchain.errors import ConfigError, DatasetError

SHAPE = (16, 8, 3)


def _folder(folder: Path, identities: int, per_id: int) -> list[ImageRecord]:
    """Random-noise crops (every file distinct), mixed sizes and formats, scanned back."""
    for ident in range(identities):
        for n in range(per_id):
            suffix = (".jpg", ".png", ".bmp")[(ident + n) % 3]
            write_rgb(
                folder / f"{ident:03d}_c{n % 2}_{n}{suffix}",
                20 + ident % 5,
                10 + n % 4,
                seed=ident * 100 + n,
            )
    return scan_folder(folder)


def _host_bytes(records, **kwargs) -> np.ndarray:
    return np.stack([load_input_bytes(r.path, SHAPE, **kwargs) for r in records])


def _eval_images(ds) -> np.ndarray:
    return np.concatenate([batch.numpy() for batch in ds])


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(interpolation="bicubic", aspect_ratio="crop"),
        dict(interpolation="nearest", aspect_ratio="padding"),
    ],
)
def test_eval_dataset_yields_the_host_bytes_in_record_order(tmp_path, kwargs):
    records = _folder(tmp_path, 4, 3)
    labels, _ = identity_labels(records)
    ds = pipeline.make_eval_dataset(
        records, SHAPE, labels=labels, batch_size=5, dtype="uint8", **kwargs
    )
    batches = list(ds)
    assert [int(x.shape[0]) for x, _ in batches] == [5, 5, 2]
    images = np.concatenate([x.numpy() for x, _ in batches])
    assert images.dtype == np.uint8
    # Byte for byte what the board path gets for the same file (CONTRACTS §5).
    np.testing.assert_array_equal(images, _host_bytes(records, **kwargs))
    np.testing.assert_array_equal(np.concatenate([y.numpy() for _, y in batches]), labels)
    as_float = _eval_images(pipeline.make_eval_dataset(records, SHAPE, batch_size=4, **kwargs))
    assert as_float.dtype == np.float32
    np.testing.assert_array_equal(as_float, images.astype(np.float32))  # raw 0..255, no rescale


def test_train_batches_are_p_by_k_and_follow_the_sampler(tmp_path):
    records = _folder(tmp_path, 6, 5)
    labels, _ = identity_labels(records)
    host = _host_bytes(records)
    sampler = PKSampler(labels, p=3, k=4, seed=7)
    ds = pipeline.make_train_dataset(records, labels, sampler, SHAPE, dtype="uint8")
    replay = PKSampler(labels, p=3, k=4, seed=7)
    for _ in range(2):  # each pass over the dataset is one new sampler epoch
        expected = replay.epoch_batches()
        got = list(ds)
        assert len(got) == len(sampler) == len(expected) == 3
        for (images, batch_labels), indices in zip(got, expected, strict=True):
            batch_labels = batch_labels.numpy()
            assert images.shape == (12, *SHAPE)
            counts = Counter(batch_labels.tolist())
            assert len(counts) == 3 and set(counts.values()) == {4}  # P identities, K each
            assert (batch_labels.reshape(3, 4) == batch_labels.reshape(3, 4)[:, :1]).all()
            np.testing.assert_array_equal(batch_labels, labels[indices])
            np.testing.assert_array_equal(images.numpy(), host[indices])
    assert sampler.epoch == 2


def test_files_are_read_when_iterated_not_when_built(tmp_path):
    # The dataset holds paths only: building it over files that do not exist yet works, and an
    # uncached pipeline re-reads every epoch (a changed file shows up), a cached one does not.
    paths = [tmp_path / f"001_{n}.png" for n in range(4)]
    records = [ImageRecord(p, "001") for p in paths]
    plain = pipeline.make_eval_dataset(records, SHAPE, batch_size=2, dtype="uint8")
    cached = pipeline.make_eval_dataset(records, SHAPE, batch_size=2, dtype="uint8", cache=True)
    for n, path in enumerate(paths):
        write_rgb(path, 16, 8, seed=n)
    first = _host_bytes(records)
    np.testing.assert_array_equal(_eval_images(plain), first)
    np.testing.assert_array_equal(_eval_images(cached), first)
    write_rgb(paths[2], 16, 8, seed=99)
    second = _host_bytes(records)
    assert not np.array_equal(first[2], second[2])
    np.testing.assert_array_equal(_eval_images(plain), second)
    np.testing.assert_array_equal(_eval_images(cached), first)  # served from the cache


def test_cache_file_survives_deleted_sources(tmp_path):
    records = _folder(tmp_path / "imgs", 3, 4)
    labels, _ = identity_labels(records)
    cache_dir = tmp_path / "cache"
    ds = pipeline.make_eval_dataset(
        records, SHAPE, labels=labels, batch_size=4, dtype="uint8", cache=cache_dir
    )
    host = _host_bytes(records)
    np.testing.assert_array_equal(np.concatenate([x.numpy() for x, _ in ds]), host)
    files = list(cache_dir.iterdir())
    assert len(files) == 1 and files[0].stat().st_size == len(records) * int(np.prod(SHAPE))
    for rec in records:
        rec.path.unlink()
    np.testing.assert_array_equal(np.concatenate([x.numpy() for x, _ in ds]), host)


def test_streaming_matches_in_memory_when_the_threshold_is_lowered(tmp_path, monkeypatch):
    # The trainer holds small sets in memory and streams larger ones through this pipeline;
    # with its threshold below the set's size, the streamed batches are the in-memory ones.
    from toolchain.training import trainer

    records = _folder(tmp_path, 5, 4)
    labels, _ = identity_labels(records)
    cfg = NS(
        model=NS(input_shape=SHAPE),
        preprocessing=NS(
            color_mode="rgb", resizing=NS(interpolation="bilinear", aspect_ratio="fit")
        ),
        training=NS(batch_size=8),
        dataset=NS(instances_per_identity=4, seed=5),
    )
    memory_ds, memory_sampler = trainer._train_dataset(cfg, records, labels)
    streamed_calls = []

    def spy(*args, **kwargs):  # the real pipeline, recording that the trainer chose it
        streamed_calls.append(kwargs)
        return real(*args, **kwargs)

    real = pipeline.train_dataset_from_config
    monkeypatch.setattr(pipeline, "train_dataset_from_config", spy)
    trainer._train_dataset(cfg, records, labels)
    assert streamed_calls == []  # 20 crops of 384 bytes fit under the default threshold
    monkeypatch.setattr(trainer, "IN_MEMORY_BYTES", len(records) * int(np.prod(SHAPE)) - 1)
    stream_ds, stream_sampler = trainer._train_dataset(cfg, records, labels)
    assert len(streamed_calls) == 1
    for _ in range(2):
        streamed, held = list(stream_ds), list(memory_ds)
        assert len(streamed) == len(held) == len(stream_sampler) == 3
        for (xs, ys), (xm, ym) in zip(streamed, held, strict=True):
            np.testing.assert_array_equal(xs.numpy(), xm.numpy())
            np.testing.assert_array_equal(ys.numpy(), ym.numpy())
    assert stream_sampler.get_state() == memory_sampler.get_state()


def test_bad_file_mid_stream_names_the_file(tmp_path):
    records = _folder(tmp_path, 2, 3)
    cut = write_truncated_jpeg(tmp_path / "001_c0_9.jpg")  # header fine: found only on decode
    records = records + [ImageRecord(cut, "001")]
    for cache in (False, True):
        ds = pipeline.make_eval_dataset(records, SHAPE, batch_size=2, cache=cache)
        first = next(iter(ds))  # streaming: the good files come through first
        assert first.shape == (2, *SHAPE)
        with pytest.raises(tf.errors.OpError) as raw:  # what a bare loop (or model.fit) sees
            list(ds)
        assert "Traceback" in str(raw.value)
        carried = pipeline.dataset_error_from(raw.value)
        assert isinstance(carried, DatasetError)
        assert str(carried).startswith(f"Image file {cut} is corrupt or truncated (")
        assert "\n" not in str(carried)
        with pytest.raises(DatasetError, match=r"001_c0_9.jpg is corrupt or truncated") as err:
            with pipeline.dataset_errors():
                list(ds)
        assert "Traceback" not in str(err.value) and "\n" not in str(err.value)
        assert str(err.value) == str(carried)


def test_other_pipeline_failures_are_one_line_too(tmp_path):
    records = [ImageRecord(write_rgb(tmp_path / "001_a.png", 16, 8), "001")]
    # A Python step that fails at run time: a TensorFlow error, but not an image error.

    def fail(pixels):
        raise ValueError("pixels are never negative")

    ds = pipeline.make_eval_dataset(records, SHAPE, batch_size=1).map(
        lambda x: tf.numpy_function(fail, [x], tf.float32)
    )
    with pytest.raises(tf.errors.OpError) as raw:
        list(ds)
    assert pipeline.dataset_error_from(raw.value) is None  # not an image error
    with pytest.raises(DatasetError, match=r"^The input pipeline failed: .*never negative"):
        with pipeline.dataset_errors():
            list(ds)


def test_from_config_and_bad_arguments(tmp_path):
    records = _folder(tmp_path, 4, 4)
    labels, _ = identity_labels(records)
    cfg = NS(
        model=NS(input_shape=SHAPE),
        preprocessing=NS(
            color_mode="rgb", resizing=NS(interpolation="nearest", aspect_ratio="fit")
        ),
        training=NS(batch_size=8),
        dataset=NS(instances_per_identity=2, seed=3),
    )
    ds, sampler = pipeline.train_dataset_from_config(cfg, records, labels, dtype="uint8")
    assert (sampler.p, sampler.k) == (4, 2)
    host = _host_bytes(records, interpolation="nearest")
    images, batch_labels = next(iter(ds))
    for image, label in zip(images.numpy(), batch_labels.numpy(), strict=True):
        assert any(np.array_equal(image, host[i]) for i in np.flatnonzero(labels == label))
    evald = pipeline.eval_dataset_from_config(cfg, records, dtype="uint8")
    np.testing.assert_array_equal(_eval_images(evald), host)
    assert int(next(iter(evald)).shape[0]) == 8  # training.batch_size

    with pytest.raises(ConfigError, match="training.batch_size=6 must be a multiple"):
        pipeline.train_dataset_from_config(
            NS(
                **{
                    **vars(cfg),
                    "training": NS(batch_size=6),
                    "dataset": NS(instances_per_identity=4, seed=3),
                }
            ),
            records,
            labels,
        )
    with pytest.raises(ConfigError, match="dtype.*'int8'"):
        pipeline.make_eval_dataset(records, SHAPE, dtype="int8")
    with pytest.raises(DatasetError, match="16 records but 3 labels"):
        pipeline.make_train_dataset(records, labels[:3], sampler, SHAPE)
    with pytest.raises(DatasetError, match="no records"):
        pipeline.make_eval_dataset([], SHAPE)
