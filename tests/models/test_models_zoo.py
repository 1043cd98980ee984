"""Family-wide driver: every model family builds, trains one step, exports and converts to int8.

Like keras' `run_layer_test`, each registered family goes through the same checks at a small
input: the training model's two heads have the right shapes, one optimizer step changes the
weights, the export equals the training model's inference embedding, and the export converts to
a full-int8 TFLite model (uint8 input with scale 1.0 / zero point 0, int8 output) holding only
builtin int8 ops, read back from the flatbuffer by the oracle interpreter.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from models_helpers import convert_int8, int8_report, randomize_batchnorm  # noqa: E402

from toolchain.models import MODELS, build_training_model, export_embedder, inference_embedding  # noqa: E402

NUM_CLASSES = 4
# One member per family in the default run (name, input shape, embedding_dim, bnneck).
FAMILIES = [
    ("tinynet", (64, 32, 3), None, True),
    ("mobilenetv2_a035", (64, 32, 3), 32, True),
    ("mobilenetv1_a025", (64, 32, 3), None, False),
    ("osnet_a025", (32, 16, 3), None, True),
    ("resnet50v2", (32, 32, 3), 16, False),
    ("custom_model", (32, 16, 3), None, True),
]
OTHER_MEMBERS = sorted(set(MODELS.names()) - {f[0] for f in FAMILIES})
# Ops the code generator supports first (tinynet must use only these), plus the converter's
# input QUANTIZE (uint8 -> int8).
SKELETON_OPS = {
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "ADD",
    "MUL",
    "MEAN",
    "RESHAPE",
    "FULLY_CONNECTED",
    "QUANTIZE",
}


def run_model_family_test(name, input_shape, embedding_dim, bnneck, *, seed=0):
    rng = np.random.default_rng(seed)
    model = build_training_model(
        {"model_name": name},
        input_shape,
        NUM_CLASSES,
        bnneck=bnneck,
        embedding_dim=embedding_dim,
        dropout=0.1,
        augmentation_layers=[keras.layers.RandomFlip("horizontal")],
    )
    x = rng.uniform(0, 255, (2 * NUM_CLASSES, *input_shape)).astype(np.float32)
    y = np.repeat(np.arange(NUM_CLASSES), 2)

    out = model(x[:2], training=False)
    dim = embedding_dim or int(model.get_layer("pool").output.shape[-1])
    assert tuple(out["embedding"].shape) == (2, dim)
    assert tuple(out["logits"].shape) == (2, NUM_CLASSES)
    assert model.get_layer("logits").use_bias is (not bnneck)

    # One real training step with cross-entropy on the logits.
    model.compile(
        optimizer=keras.optimizers.SGD(0.05),
        loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
        run_eagerly=True,  # one step: tracing a graph would cost more than it saves
    )
    before = [w.copy() for w in model.get_layer("logits").get_weights()]
    loss = model.train_on_batch(x, {"logits": y})
    assert np.all(np.isfinite(loss))
    after = model.get_layer("logits").get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(before, after, strict=True))

    randomize_batchnorm(model, rng)
    edge = export_embedder(model)
    assert tuple(edge.inputs[0].shape) == (1, *input_shape)
    assert not any(isinstance(layer, keras.layers.RandomFlip) for layer in edge.layers)
    ref = inference_embedding(model)(x[:3], training=False).numpy()
    got = np.concatenate([edge(x[i : i + 1], training=False).numpy() for i in range(3)])
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(ref).max())))

    names, dtypes, oracle = int8_report(convert_int8(edge, input_shape, rng))
    assert "DELEGATE" not in names and "CUSTOM" not in names and "FlexDelegate" not in names
    assert dtypes <= {"int8", "int32", "uint8"}, f"{name}: non-int8 tensors {dtypes}"
    assert oracle.input_dtype == np.uint8 and oracle.input_quantization == (1.0, 0)
    assert oracle.output_dtype == np.int8 and oracle.output_shape == (1, dim)
    emb = oracle.invoke(x[:1].round().astype(np.uint8))
    assert emb.shape == (1, dim) and emb.dtype == np.int8
    return names


@pytest.mark.parametrize(
    "name,input_shape,embedding_dim,bnneck", FAMILIES, ids=[f[0] for f in FAMILIES]
)
def test_family_builds_trains_exports_and_converts(name, input_shape, embedding_dim, bnneck):
    ops = run_model_family_test(name, input_shape, embedding_dim, bnneck)
    if name == "tinynet":
        assert ops <= SKELETON_OPS, (
            f"tinynet uses ops the code generator lacks: {ops - SKELETON_OPS}"
        )
        assert {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MUL", "MEAN"} <= ops


@pytest.mark.slow
@pytest.mark.parametrize("name", OTHER_MEMBERS)
def test_every_other_member(name):
    shape = (32, 16, 3) if name.startswith("osnet") else (64, 32, 3)
    run_model_family_test(name, shape, None, True)


def test_every_registered_model_is_covered():
    covered = {f[0] for f in FAMILIES} | set(OTHER_MEMBERS)
    assert covered == set(MODELS.names())
    assert {"tinynet", "resnet50v2", "custom_model"} <= covered
    for alpha in ("a035", "a050", "a075", "a100", "a130", "a140"):
        assert f"mobilenetv2_{alpha}" in MODELS
    for alpha in ("a025", "a050", "a075", "a100"):
        assert f"mobilenetv1_{alpha}" in MODELS and f"osnet_{alpha}" in MODELS
