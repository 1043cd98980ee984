"""The backbone registry: lookup, registration rules and builder argument checks."""

from __future__ import annotations

import pytest

keras = pytest.importorskip("keras")

from toolchain.errors import ConfigError, UnknownNameError  # noqa: E402
from toolchain.models import MODELS, build_backbone, register_model  # noqa: E402


def test_unknown_model_lists_valid_names():
    with pytest.raises(UnknownNameError) as err:
        MODELS.get("mobilenetv2_a35")
    message = str(err.value)
    assert "mobilenetv2_a035" in message and "tinynet" in message and "osnet_a025" in message


def test_duplicate_registration_is_rejected():
    with pytest.raises(ValueError, match="already registered"):
        register_model("tinynet")(lambda input_shape, **kw: None)


def test_imagenet_flags_follow_keras():
    with_weights = {n for n, b in MODELS.items() if b.has_imagenet_weights}
    assert with_weights == {
        *(f"mobilenetv2_a{a}" for a in ("035", "050", "075", "100", "130", "140")),
        *(f"mobilenetv1_a{a}" for a in ("025", "050", "075", "100")),
        "resnet50v2",
    }
    assert MODELS.get("mobilenetv2_a035").imagenet_file((256, 128, 3)) == (
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
    )
    assert (
        MODELS.get("mobilenetv1_a025").imagenet_file((128, 128, 3))
        == "mobilenet_2_5_128_tf_no_top.h5"
    )


@pytest.mark.parametrize("shape", [(64, 32), (64, 0, 3), ("a", 32, 3)])
def test_bad_input_shape_names_the_key(shape):
    with pytest.raises(ConfigError, match="model.input_shape"):
        build_backbone("tinynet", shape)


def test_input_smaller_than_the_architecture_accepts():
    with pytest.raises(ConfigError, match="at least 32"):
        build_backbone("mobilenetv2_a035", (16, 16, 3))


def test_alpha_must_agree_with_the_name():
    with pytest.raises(ConfigError, match="model.alpha"):
        build_backbone("osnet_a025", (32, 16, 3), alpha=0.5)
    model = build_backbone(
        "osnet_a025", (32, 16, 3), alpha=0.25
    )  # a repeated, agreeing alpha is fine
    assert model.output.shape[-1] == 128


def test_zoo_models_reject_unknown_keys():
    with pytest.raises(ConfigError, match="width"):
        build_backbone("tinynet", (64, 32, 3), width=2)


def test_backbones_output_a_feature_map():
    model = build_backbone("tinynet", (64, 32, 3))
    assert tuple(model.output.shape) == (None, 8, 4, 64)
    model = build_backbone("osnet_a025", (64, 32, 3))
    assert tuple(model.output.shape) == (None, 4, 2, 128)
    names = [layer.name for layer in model.layers]
    assert any(n.endswith("_gate_sigmoid") for n in names)
    assert not any(isinstance(layer, keras.layers.Dense) for layer in model.layers)


def test_osnet_gate_is_shared_by_the_four_streams():
    model = build_backbone("osnet_a025", (32, 16, 3))
    gate = model.get_layer("conv2_0_gate_fc1")
    assert len(gate._inbound_nodes) == 4


def test_custom_model_receives_extra_keys():
    narrow = build_backbone("custom_model", (32, 16, 3), alpha=0.5)
    assert narrow.output.shape[-1] == 32
    with pytest.raises(ConfigError, match="depth"):
        build_backbone("custom_model", (32, 16, 3), depth=3)
