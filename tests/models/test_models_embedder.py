"""The training model: graph, heads, BNNeck, config handling and `model.model_path` (seed §5.1)."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from toolchain.errors import ConfigError, ModelError  # noqa: E402
from toolchain.models import build_training_model, export_embedder, inference_embedding  # noqa: E402
from toolchain.models.embedder import build_from_config  # noqa: E402

SHAPE = (32, 16, 3)


def _layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


def test_graph_order_and_heads():
    model = build_training_model(
        {"model_name": "tinynet"},
        SHAPE,
        7,
        rescaling=(1 / 255.0, 0.0),
        dropout=0.3,
        embedding_dim=16,
        bnneck=True,
        augmentation_layers=[keras.layers.RandomFlip("horizontal")],
    )
    names = [layer.name for layer in model.layers]
    assert names[:3] == ["image", names[1], "rescaling"] and names[1].startswith("random_flip")
    assert names.index("pool") < names.index("pool_reshape") < names.index("embedding_fc")
    assert (
        names.index("embedding_fc")
        < names.index("bnneck")
        < names.index("dropout")
        < names.index("logits")
    )
    assert model.get_layer("pool").keepdims is True
    assert model.get_layer("rescaling").scale == pytest.approx(1 / 255.0)
    assert model.get_layer("logits").use_bias is False  # BNNeck: classifier without bias
    x = np.random.default_rng(0).uniform(0, 255, (3, *SHAPE)).astype(np.float32)
    out = model(x, training=False)
    assert set(out) == {"embedding", "logits"}
    assert tuple(out["embedding"].shape) == (3, 16) and tuple(out["logits"].shape) == (3, 7)
    # The "embedding" output is the pre-BN feature; inference uses the post-BN one.
    pre = model.get_layer("embedding_fc").output
    assert model.output["embedding"] is pre
    post = inference_embedding(model)(x, training=False).numpy()
    bn = model.get_layer("bnneck")
    expected = bn(out["embedding"], training=False).numpy()
    np.testing.assert_allclose(post, expected, rtol=1e-5, atol=1e-5)


def test_backbone_layers_are_flat_in_the_training_model():
    model = build_training_model({"model_name": "mobilenetv2_a035"}, (32, 32, 3), 3)
    assert not any(isinstance(layer, keras.Model) for layer in model.layers)
    assert "Conv1" in [
        layer.name for layer in model.layers
    ]  # keras' MobileNetV2 stem, frozen_layers indexes it


def test_defaults_without_bnneck_or_embedding_layer():
    model = build_training_model({"model_name": "tinynet", "input_shape": [64, 32, 3]}, None, 5)
    names = {layer.name for layer in model.layers}
    assert not names & {"bnneck", "embedding_fc", "dropout"}
    assert model.get_layer("logits").use_bias is True
    assert tuple(model.output["embedding"].shape) == (None, 64)


def test_config_keys_embedding_dim_and_bnneck_and_extras():
    model = build_training_model(
        {
            "model_name": "custom_model",
            "input_shape": SHAPE,
            "embedding_dim": 8,
            "bnneck": True,
            "alpha": 0.5,
            "pretrained": False,
            "framework": "tf",
        },
        None,
        3,
    )
    assert tuple(model.output["embedding"].shape) == (None, 8)
    assert model.get_layer("custom_conv2").filters == 32  # alpha 0.5 reached custom_model


@pytest.mark.parametrize(
    "section,kwargs,match",
    [
        (
            {"model_name": "tinynet", "model_path": "x.keras"},
            {},
            "exactly one of model_name and model_path",
        ),
        ({}, {}, "exactly one of model_name and model_path"),
        ({"model_name": "tinynet"}, {}, "model.input_shape"),
        ({"model_name": "tinynet", "input_shape": SHAPE}, {"num_classes": 0}, "num_classes"),
        ({"model_name": "tinynet", "input_shape": SHAPE}, {"dropout": 1.5}, "training.dropout"),
    ],
)
def test_config_errors_name_the_key(section, kwargs, match):
    kwargs = {"num_classes": 3, **kwargs}
    with pytest.raises(ConfigError, match=match):
        build_training_model(section, None, kwargs.pop("num_classes"), **kwargs)


def test_build_from_config_reads_sections():
    class Section:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    cfg = Section(
        model=Section(
            model_name="tinynet", input_shape=(64, 32, 3), bnneck=True, embedding_dim=None
        ),
        preprocessing=Section(rescaling=Section(scale=1 / 255.0, offset=0.0)),
        training=Section(dropout=0.2),
    )
    model = build_from_config(cfg, 4)
    assert model.get_layer("rescaling").scale == pytest.approx(1 / 255.0)
    assert model.get_layer("dropout").rate == pytest.approx(0.2)
    assert "bnneck" in {layer.name for layer in model.layers}


# --- model.model_path (seed README §5.1) ---------------------------------------------------


def _user_classifier(path, *, dropout_layer: bool, frozen: bool = True):
    """A user's own classifier: conv features → GAP → [Dropout] → Dense softmax."""
    inputs = keras.Input(SHAPE)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", name="user_conv")(inputs)
    x = keras.layers.ReLU(name="user_relu")(x)
    x = keras.layers.GlobalAveragePooling2D(name="user_gap")(x)
    if dropout_layer:
        x = keras.layers.Dropout(0.5, name="user_dropout")(x)
    x = keras.layers.Dense(10, activation="softmax", name="user_classifier")(x)
    model = keras.Model(inputs, x)
    if frozen:
        model.get_layer("user_conv").trainable = False
    model.save(path)
    return model


def test_model_path_cuts_the_classifier_and_appends_a_head(tmp_path):
    path = tmp_path / "user.keras"
    user = _user_classifier(path, dropout_layer=True)
    model = build_training_model({"model_path": str(path)}, None, 4, dropout=0.25)
    names = [layer.name for layer in model.layers]
    assert "user_classifier" not in names and "logits" in names
    assert model.get_layer("logits").units == 4
    assert model.get_layer("dropout").rate == pytest.approx(0.25)
    # Layers reset to trainable; the file's dropout takes training.dropout's rate.
    features = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    assert features.get_layer("user_conv").trainable is True
    assert all(
        layer.rate == pytest.approx(0.25)
        for layer in features.layers
        if isinstance(layer, keras.layers.Dropout)
    )
    # The kept features are the user's: same GAP output as the file (after our Rescaling).
    x = np.random.default_rng(1).uniform(0, 255, (2, *SHAPE)).astype(np.float32)
    gap = keras.Model(user.inputs[0], user.get_layer("user_gap").output)
    expected = gap((x / 127.5 - 1.0), training=False).numpy()
    np.testing.assert_allclose(
        model(x, training=False)["embedding"].numpy(), expected, rtol=1e-5, atol=1e-5
    )


def test_model_path_dropout_rules(tmp_path):
    with_dropout, without = tmp_path / "with.keras", tmp_path / "without.keras"
    _user_classifier(with_dropout, dropout_layer=True)
    _user_classifier(without, dropout_layer=False)
    with pytest.raises(ConfigError, match="user_dropout.*training.dropout is not set"):
        build_training_model({"model_path": str(with_dropout)}, None, 3)
    with pytest.raises(ConfigError, match="has no Dropout layer"):
        build_training_model({"model_path": str(without)}, None, 3, dropout=0.2)
    model = build_training_model({"model_path": str(without)}, None, 3)
    assert "dropout" not in {layer.name for layer in model.layers}


def test_model_path_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="'.keras'"):
        build_training_model({"model_path": str(tmp_path / "m.h5")}, None, 3)
    with pytest.raises(ModelError, match="not found"):
        build_training_model({"model_path": str(tmp_path / "missing.keras")}, None, 3)
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="cannot load"):
        build_training_model({"model_path": str(bad)}, None, 3)


def test_multi_step_training_from_an_exported_embedder(tmp_path):
    """best_model.keras of step 1 (Rescaling inside) is the backbone of step 2, rescaled once."""
    step1 = build_training_model({"model_name": "tinynet"}, SHAPE, 3, bnneck=True)
    path = tmp_path / "step_1.keras"
    export_embedder(step1).save(path)
    step2 = build_training_model({"model_path": str(path)}, None, 5)
    x = np.random.default_rng(2).uniform(0, 255, (3, *SHAPE)).astype(np.float32)
    expected = inference_embedding(step1)(x, training=False).numpy()
    np.testing.assert_allclose(
        step2(x, training=False)["embedding"].numpy(), expected, rtol=1e-4, atol=1e-4
    )
    assert step2.get_layer("logits").units == 5
