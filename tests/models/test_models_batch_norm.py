"""BatchNormalization momentum of the zoo: keras.applications backbones get `BN_MOMENTUM` (0.99).

keras.applications.MobileNetV2 builds its BatchNormalization layers with momentum 0.999; trained
from scratch for a few hundred steps, its moving statistics stayed near their initial values and
every crop mapped to one vector in inference mode (docs/results.md, TGC2020). These tests check
that every zoo backbone, the flat training graph and a model loaded with pretrained weights carry
`BN_MOMENTUM`, and (slow) that the moving statistics then catch up with training mode where
keras' 0.999 leaves the inference-mode embeddings collapsed.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from toolchain.errors import ModelError  # noqa: E402
from toolchain.models import MODELS, build_backbone, build_training_model  # noqa: E402
from toolchain.models.batch_norm import (  # noqa: E402
    BN_MOMENTUM,
    batchnorm_layers,
    set_batchnorm_momentum,
)

# (name, input shape): one member per family; MobileNetV2 is the family keras builds with 0.999.
FAMILIES = [
    ("mobilenetv2_a035", (32, 32, 3)),
    ("mobilenetv1_a025", (32, 32, 3)),
    ("resnet50v2", (32, 32, 3)),
    ("osnet_a025", (32, 16, 3)),
    ("tinynet", (32, 16, 3)),
    ("custom_model", (32, 16, 3)),
]


def test_families_cover_the_zoo():
    families = {name.split("_a")[0] for name in MODELS.names()}
    assert families == {name.split("_a")[0] for name, _ in FAMILIES}


@pytest.mark.parametrize(("name", "input_shape"), FAMILIES)
def test_every_backbone_batchnorm_has_bn_momentum(name, input_shape):
    backbone = build_backbone(name, input_shape)
    bns = batchnorm_layers(backbone)
    assert bns, f"{name} has no BatchNormalization layer"
    assert {layer.momentum for layer in bns} == {BN_MOMENTUM}
    assert {layer.get_config()["momentum"] for layer in bns} == {BN_MOMENTUM}


def test_keras_mobilenet_v2_itself_uses_0999():
    """The reason for the fix: were keras to change its default, this test says so."""
    stock = keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None)
    assert {layer.momentum for layer in batchnorm_layers(stock)} == {0.999}


def test_training_graph_and_saved_model_keep_bn_momentum(tmp_path):
    model = build_training_model(
        {"model_name": "mobilenetv2_a035"}, (32, 32, 3), 3, bnneck=True, embedding_dim=16
    )
    bns = batchnorm_layers(model)
    assert len(bns) == 52 + 1  # the backbone's, flat in the training graph, and BNNeck
    assert {layer.momentum for layer in bns} == {BN_MOMENTUM}
    path = tmp_path / "m.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, compile=False)
    assert {layer.momentum for layer in batchnorm_layers(reloaded)} == {BN_MOMENTUM}


def test_pretrained_weights_still_load(tmp_path):
    """Momentum is set after construction: a weights file of keras' own layout still loads."""
    stock = keras.applications.MobileNetV2(
        input_shape=(32, 32, 3), alpha=0.35, include_top=False, weights=None
    )
    rng = np.random.default_rng(0)
    for w in stock.weights:  # distinctive values, moving statistics included
        w.assign(rng.uniform(0.5, 1.5, w.shape).astype("float32"))
    path = tmp_path / "stock.weights.h5"
    stock.save_weights(path)
    model = build_training_model(
        {"model_name": "mobilenetv2_a035", "pretrained_weights": str(path)}, (32, 32, 3), 3
    )
    loaded = batchnorm_layers(model)
    assert {layer.momentum for layer in loaded} == {BN_MOMENTUM}
    for src, dst in zip(batchnorm_layers(stock), loaded, strict=True):
        for a, b in zip(src.get_weights(), dst.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)


def test_momentum_out_of_range_names_the_model():
    backbone = build_backbone("tinynet", (32, 16, 3))
    with pytest.raises(ModelError, match=r"tinynet.*\[0, 1\).*received 1\.0"):
        set_batchnorm_momentum(backbone, 1.0)


def _embedding_gap(backbone, x, steps: int) -> tuple[float, float]:
    """After `steps` training-mode passes over `x`: (min cosine training vs inference embedding,
    inference-mode spread across the batch relative to training mode's)."""
    step = tf.function(lambda t: backbone(t, training=True))
    for _ in range(steps):
        step(x)
    pool = keras.layers.GlobalAveragePooling2D()
    a = np.asarray(pool(backbone(x, training=True)))
    b = np.asarray(pool(backbone(x, training=False)))
    cos = np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)
    return float(cos.min()), float(b.std(0).mean() / a.std(0).mean())


@pytest.mark.slow
def test_inference_mode_catches_up_with_training_mode():
    """Same random MobileNetV2-0.35 weights and batch, same number of training-mode passes: with
    BN_MOMENTUM the inference embeddings match training mode's, with keras' 0.999 they collapse
    to one vector (the TGC2020 symptom). Weights stay fixed so the moving statistics are the only
    thing that changes; at random initialisation deep layers' batch variances are tiny, so the
    initial variance 1 must decay far (about 1 000 steps at 0.99) before inference mode agrees."""
    x = np.random.default_rng(0).uniform(-1, 1, (16, 32, 32, 3)).astype("float32")
    keras.utils.set_random_seed(0)
    ours = build_backbone("mobilenetv2_a035", (32, 32, 3))
    stock = keras.models.clone_model(ours)
    stock.set_weights(ours.get_weights())
    set_batchnorm_momentum(stock, 0.999)
    cos_ours, spread_ours = _embedding_gap(ours, x, 1200)
    cos_stock, spread_stock = _embedding_gap(stock, x, 1200)
    assert cos_ours > 0.95 and 0.8 < spread_ours < 1.2
    assert spread_stock < 0.01
