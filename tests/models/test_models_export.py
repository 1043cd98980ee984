"""The edge export: batch-1, raw pixels in, BNNeck folded, equal to training, int8-ready."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from models_helpers import convert_int8, int8_report, randomize_batchnorm  # noqa: E402

from toolchain.errors import ModelError  # noqa: E402
from toolchain.models import build_training_model, export_embedder, inference_embedding  # noqa: E402
from toolchain.models.export import bn_affine  # noqa: E402

SHAPE = (64, 32, 3)


def _assert_same_embedding(training_model, edge, x):
    ref = inference_embedding(training_model)(x, training=False).numpy()
    got = np.concatenate([edge(x[i : i + 1], training=False).numpy() for i in range(len(x))])
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(ref).max())))


@pytest.mark.parametrize(
    "embedding_dim,bnneck", [(None, False), (None, True), (24, False), (24, True)]
)
def test_export_equals_training_inference_embedding(embedding_dim, bnneck):
    rng = np.random.default_rng(0)
    model = build_training_model(
        {"model_name": "tinynet"},
        SHAPE,
        5,
        dropout=0.5,
        embedding_dim=embedding_dim,
        bnneck=bnneck,
        augmentation_layers=[
            keras.layers.RandomFlip("horizontal"),
            keras.layers.RandomContrast(0.3),
        ],
    )
    randomize_batchnorm(model, rng)
    edge = export_embedder(model)
    x = rng.uniform(0, 255, (4, *SHAPE)).astype(np.float32)
    _assert_same_embedding(model, edge, x)

    assert tuple(edge.inputs[0].shape) == (1, *SHAPE)
    assert tuple(edge.outputs[0].shape) == (1, embedding_dim or 64)
    kinds = {type(layer).__name__ for layer in edge.layers}
    assert not kinds & {"RandomFlip", "RandomContrast", "Dropout", "BatchNormalization"}
    assert edge.get_layer("rescaling").scale == pytest.approx(1 / 127.5)
    names = {layer.name for layer in edge.layers}
    assert ("logits" not in names) and ("pool_reshape" in names or embedding_dim)
    # BNNeck folded where documented: the embedding Dense, else one 1x1 depthwise affine.
    assert ("bnneck_folded" in names) == (bnneck and not embedding_dim)


def test_folded_affine_matches_batchnorm_formula():
    bn = keras.layers.BatchNormalization(epsilon=1e-3)
    bn.build((None, 3))
    bn.set_weights(
        [
            np.array([2.0, 1.0, 0.5]),
            np.array([0.1, -0.2, 0.0]),
            np.array([1.0, 0.0, -1.0]),
            np.array([4.0, 1.0, 0.25]),
        ]
    )
    a, b = bn_affine(bn)
    x = np.array([[1.0, 2.0, 3.0]], np.float32)
    np.testing.assert_allclose(a * x + b, bn(x, training=False).numpy(), rtol=1e-6)


def test_export_copies_weights():
    model = build_training_model({"model_name": "tinynet"}, SHAPE, 3)
    edge = export_embedder(model)
    x = np.random.default_rng(1).uniform(0, 255, (1, *SHAPE)).astype(np.float32)
    before = edge(x).numpy()
    for w in model.get_layer("stem_conv").weights:
        w.assign(w.numpy() * 0.0)
    np.testing.assert_array_equal(edge(x).numpy(), before)


def test_export_of_a_reloaded_training_model_and_its_save_round_trip(tmp_path):
    model = build_training_model(
        {"model_name": "tinynet"},
        SHAPE,
        3,
        bnneck=True,
        augmentation_layers=[keras.layers.RandomFlip("horizontal")],
    )
    randomize_batchnorm(model, np.random.default_rng(2))
    model.save(tmp_path / "last_augmented_model.keras")
    reloaded = keras.saving.load_model(tmp_path / "last_augmented_model.keras", compile=False)
    edge = export_embedder(reloaded, None)
    edge.save(tmp_path / "best_model.keras")
    loaded = keras.saving.load_model(tmp_path / "best_model.keras", compile=False, safe_mode=True)
    x = np.random.default_rng(3).uniform(0, 255, (2, *SHAPE)).astype(np.float32)
    _assert_same_embedding(model, loaded, x)


def test_export_with_a_2d_feature_and_bnneck(tmp_path):
    """model_path features ending in a 2-D vector: BNNeck still folds into a per-channel affine."""
    inputs = keras.Input(SHAPE)
    x = keras.layers.Conv2D(6, 3, strides=4, name="c")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="g")(x)
    keras.Model(inputs, x).save(tmp_path / "f.keras")
    model = build_training_model({"model_path": str(tmp_path / "f.keras")}, None, 3, bnneck=True)
    randomize_batchnorm(model, np.random.default_rng(4))
    edge = export_embedder(model)
    assert "bnneck_folded" in {layer.name for layer in edge.layers}
    x = np.random.default_rng(5).uniform(0, 255, (2, *SHAPE)).astype(np.float32)
    _assert_same_embedding(model, edge, x)


def test_export_needs_a_training_model():
    plain = keras.Sequential([keras.Input(SHAPE), keras.layers.Conv2D(4, 3)])
    with pytest.raises(ModelError, match="rescaling"):
        export_embedder(plain)


def test_int8_export_matches_float_and_uses_pixel_input_bytes():
    """The converted tinynet embedder: uint8 pixels in (scale 1, zero point 0), close to float."""
    rng = np.random.default_rng(6)
    model = build_training_model({"model_name": "tinynet"}, SHAPE, 3, bnneck=True, embedding_dim=16)
    randomize_batchnorm(model, rng)
    edge = export_embedder(model)
    names, dtypes, oracle = int8_report(convert_int8(edge, SHAPE, rng, n_calibration=16))
    assert names == {
        "QUANTIZE",
        "MUL",
        "ADD",
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "MEAN",
        "FULLY_CONNECTED",
    }
    assert oracle.input_quantization == (1.0, 0)
    pixels = rng.integers(0, 256, (4, *SHAPE), dtype=np.uint8)
    q = oracle.run(pixels).astype(np.float64)
    scale, zero = oracle.output_quantization
    deq = (q - zero) * scale
    ref = np.concatenate([edge(pixels[i : i + 1].astype(np.float32)).numpy() for i in range(4)])
    cos = np.sum(deq * ref, 1) / (np.linalg.norm(deq, axis=1) * np.linalg.norm(ref, axis=1))
    assert cos.min() > 0.95, cos
