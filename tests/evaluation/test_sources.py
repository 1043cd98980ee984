"""Embedding sources: Keras, TFLite through the oracle (input bytes, quantized inputs, output
dequantization) and precomputed .npz / .npy embeddings."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace as NS

import numpy as np
import pytest

from toolchain.errors import EvaluationError
from toolchain.evaluation.evaluator import evaluate_source
from toolchain.evaluation.metrics import compute_metrics
from toolchain.evaluation.sources import (
    EmbeddingSource,
    KerasSource,
    NpzSource,
    TFLiteSource,
    source_for_path,
)
from toolchain.oracle import Oracle

SHAPE = (16, 8, 3)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    import keras
    from keras import layers

    from toolchain.quantization.calibration import representative_dataset
    from toolchain.quantization.quantizer import convert, make_converter

    root = tmp_path_factory.mktemp("sources")
    keras.utils.set_random_seed(2)
    inp = keras.Input(SHAPE, batch_size=1, name="image")
    x = layers.Rescaling(1 / 127.5, -1, name="rescaling")(inp)
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="c1")(x)
    x = layers.GlobalAveragePooling2D(keepdims=True, name="gap")(x)
    x = layers.Reshape((8,), name="flatten")(x)
    x = layers.Dense(6, name="embedding")(x)
    model = keras.Model(inp, x, name="srcnet")
    model.save(root / "srcnet.keras")
    crops = np.random.default_rng(0).integers(0, 256, size=(8, *SHAPE), dtype=np.uint8)
    paths = {"keras": root / "srcnet.keras"}
    for name, in_type, out_type in (
        ("u8", "uint8", "int8"),
        ("i8", "int8", "int8"),
        ("f", "float", "float"),
    ):
        data = convert(make_converter(model, representative_dataset(crops), in_type, out_type))
        paths[name] = root / f"srcnet_{name}.tflite"
        paths[name].write_bytes(data)
    paths["float"] = root / "srcnet_float.tflite"
    paths["float"].write_bytes(convert(make_converter(model)))
    return paths


def _crops(n=5, seed=1):
    return np.random.default_rng(seed).integers(0, 256, size=(n, *SHAPE), dtype=np.uint8)


def test_sources_follow_the_protocol(models):
    for src in (
        KerasSource(models["keras"]),
        TFLiteSource(models["u8"]),
        NpzSource(models["keras"].parent),
    ):
        assert isinstance(src, EmbeddingSource)
        assert isinstance(src.describe(), dict)


def test_uint8_model_gets_raw_bytes_and_int8_model_gets_quantized_pixels(models):
    crops = _crops()
    u8 = TFLiteSource(models["u8"])
    assert u8.raw_bytes_input
    assert np.array_equal(u8.model_input(crops), crops)
    i8 = TFLiteSource(models["i8"])
    assert i8.oracle.input_quantization == (1.0, -128)
    assert np.array_equal(i8.model_input(crops), (crops.astype(np.int16) - 128).astype(np.int8))
    # Both int8 models see the same pixels, so their embeddings agree closely.
    a, b = u8.embed(crops), i8.embed(crops)
    cos = np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert cos.min() > 0.99
    f = TFLiteSource(models["f"])  # int8 inside, float input and output
    assert np.array_equal(f.model_input(crops), crops.astype(np.float32))
    c = f.embed(crops)
    assert c.dtype == np.float32
    cos = np.sum(a * c, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(c, axis=1))
    assert cos.min() > 0.99


def test_outputs_are_dequantized_or_kept_raw(models):
    crops = _crops()
    raw = TFLiteSource(models["u8"], dequantize=False).embed(crops)
    assert raw.dtype == np.int8
    src = TFLiteSource(models["u8"])
    scale, zp = src.oracle.output_quantization
    np.testing.assert_array_equal(
        src.embed(crops), (raw.astype(np.float32) - zp) * np.float32(scale)
    )
    # The raw bytes are the oracle's own output for the same input tensor.
    oracle = Oracle(models["u8"])
    np.testing.assert_array_equal(raw, oracle.run(crops).reshape(len(crops), -1))


def test_keras_source_matches_float_tflite(models):
    crops = _crops()
    k = KerasSource(models["keras"]).embed(crops)
    float_src = TFLiteSource(models["float"])
    assert float_src.kind == "float_tflite" and TFLiteSource(models["u8"]).kind == "int8"
    assert TFLiteSource(models["f"]).kind == "int8"  # int8 inside, float interface
    f = float_src.embed(crops)
    assert k.shape == (5, 6) and k.dtype == np.float32
    np.testing.assert_allclose(k, f, rtol=1e-4, atol=1e-4)


def test_wrong_crops_are_rejected(models):
    with pytest.raises(EvaluationError, match=r"expected crops of shape \(16, 8, 3\)"):
        KerasSource(models["keras"]).embed(np.zeros((1, 8, 8, 3), np.uint8))
    with pytest.raises(EvaluationError, match="uint8"):
        TFLiteSource(models["u8"]).embed(np.zeros((1, *SHAPE), np.float32))
    with pytest.raises(EvaluationError, match="suffix '.onnx'"):
        source_for_path(models["keras"].with_suffix(".onnx"))


def test_npz_and_npy_folder_sources(tmp_path):
    rng = np.random.default_rng(4)
    names = [f"{i % 4:04d}_c{(i // 4) % 3}_{i}.jpg" for i in range(12)]
    emb = rng.normal(size=(12, 5)).astype(np.float32)
    npz = tmp_path / "emb.npz"
    np.savez(npz, embeddings=emb, names=np.array(names))
    folder = tmp_path / "npy"
    folder.mkdir()
    for n, e in zip(names, emb, strict=True):
        np.save(folder / f"{Path(n).stem}.npy", e)
    records = [NS(path=Path("/any") / n, identity=n[:4], camera=n.split("_")[1]) for n in names]
    query, gallery = records[:4], records[4:]
    expected = compute_metrics(
        emb[:4],
        [r.identity for r in query],
        emb[4:],
        [r.identity for r in gallery],
        query_cams=[r.camera for r in query],
        gallery_cams=[r.camera for r in gallery],
    )
    for src in (source_for_path(npz), source_for_path(folder)):
        assert isinstance(src, NpzSource)
        got = evaluate_source(src, query, gallery, input_fn=None)
        assert got == expected
    with pytest.raises(EvaluationError, match="no embedding named"):
        NpzSource(npz).embed_files([Path("9999_c1_0.jpg")])


def test_npz_with_pickled_objects_is_refused(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(
        bad, embeddings=np.array([object(), object()], dtype=object), names=np.array(["a", "b"])
    )
    with pytest.raises(EvaluationError, match="without pickles"):
        NpzSource(bad)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, feats=np.zeros((2, 3)))
    with pytest.raises(EvaluationError, match="'embeddings' and 'names'"):
        NpzSource(wrong)
