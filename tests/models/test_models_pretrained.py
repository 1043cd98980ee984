"""Pretrained weights: a local file, keras' ImageNet cache and the offline error, never the network.

Every test blocks the network (DNS and connect raise, and each attempt is recorded) and points
keras' cache at an empty temporary folder (`KERAS_HOME`, and keras' value read at import), so
no real download can happen.
"""

from __future__ import annotations

import socket

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from toolchain.errors import ModelError  # noqa: E402
from toolchain.models import build_backbone, build_training_model, load_pretrained  # noqa: E402
from toolchain.models.pretrained import OFFLINE_ENV, keras_cache_dir  # noqa: E402


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """Empty keras cache; any DNS lookup or connection is recorded and refused."""
    attempts: list[str] = []

    def refuse(*args, **kwargs):
        attempts.append(repr(args[:2]))
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    home = tmp_path / "keras_home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    # keras reads KERAS_HOME once at import: point its cached value at the empty folder too.
    import keras.src.backend.config as keras_config

    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(home))
    monkeypatch.delenv(OFFLINE_ENV, raising=False)
    return attempts


def _weighted(model):
    return [layer for layer in model.layers if layer.weights]


def _assert_backbone_weights_in(training_model, source):
    by_name = {layer.name: layer for layer in training_model.layers}
    for layer in _weighted(source):
        for a, b in zip(layer.get_weights(), by_name[layer.name].get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)


def test_local_weights_file(no_network, tmp_path):
    source = build_backbone("mobilenetv1_a025", (32, 32, 3))
    for w in source.weights:  # distinctive values, not an initializer's
        w.assign(np.random.default_rng(0).normal(size=w.shape).astype("float32"))
    path = tmp_path / "mine.weights.h5"
    source.save_weights(path)
    model = build_training_model(
        {"model_name": "mobilenetv1_a025", "pretrained_weights": str(path)}, (32, 32, 3), 3
    )
    _assert_backbone_weights_in(model, source)
    assert no_network == []


def test_local_weights_file_for_a_model_without_imagenet_weights(no_network, tmp_path):
    source = build_backbone("tinynet", (64, 32, 3))
    for w in source.weights:
        w.assign(np.full(w.shape, 0.125, "float32"))
    path = tmp_path / "tiny.weights.h5"
    source.save_weights(path)
    model = build_training_model(
        {"model_name": "tinynet", "pretrained_weights": str(path)}, (64, 32, 3), 3
    )
    _assert_backbone_weights_in(model, source)


def test_cached_imagenet_weights_load_without_network(no_network):
    """A file in keras' cache under keras' own name is used: proves the names match keras'."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    shape = (32, 32, 3)
    source = build_backbone("mobilenetv2_a035", shape)
    for w in source.weights:
        w.assign(np.random.default_rng(1).normal(size=w.shape).astype("float32"))
    cached = (
        keras_cache_dir() / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
    )
    cached.parent.mkdir(parents=True)
    with h5py.File(cached, "w") as f:  # the legacy layout of keras' ImageNet files
        legacy_h5_format.save_weights_to_hdf5_group(f, source)
    model = build_training_model({"model_name": "mobilenetv2_a035", "pretrained": True}, shape, 3)
    _assert_backbone_weights_in(model, source)
    assert no_network == []


def test_offline_without_file_names_where_to_put_the_weights(no_network):
    with pytest.raises(ModelError) as err:
        load_pretrained("mobilenetv2_a035", (256, 128, 3), pretrained=True)
    message = str(err.value)
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5" in message
    assert str(keras_cache_dir()) in message and "model.pretrained_weights" in message
    assert no_network, "the download was attempted (and refused by the test)"


def test_offline_env_raises_before_any_socket(no_network, monkeypatch):
    monkeypatch.setenv(OFFLINE_ENV, "1")
    with pytest.raises(ModelError, match="resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5"):
        build_training_model({"model_name": "resnet50v2", "pretrained": True}, (32, 32, 3), 3)
    assert no_network == []


def test_pretrained_for_a_model_without_imagenet_weights(no_network):
    with pytest.raises(ModelError, match="no ImageNet weights for osnet_a025.*mobilenetv2_a035"):
        load_pretrained("osnet_a025", (32, 16, 3), pretrained=True)
    assert no_network == []


def test_weights_file_errors(no_network, tmp_path):
    with pytest.raises(ModelError, match="file not found"):
        load_pretrained("tinynet", (64, 32, 3), weights_path=tmp_path / "missing.weights.h5")
    other = build_backbone("custom_model", (64, 32, 3))
    path = tmp_path / "other.weights.h5"
    other.save_weights(path)
    with pytest.raises(ModelError, match="does not hold weights for tinynet"):
        load_pretrained("tinynet", (64, 32, 3), weights_path=path)


def test_nothing_requested_builds_nothing(no_network):
    assert load_pretrained("mobilenetv2_a035", (32, 32, 3)) is None


def test_keras_imagenet_file_given_as_pretrained_weights(no_network, tmp_path):
    """The documented offline route: keras' ImageNet .h5 (legacy layout) downloaded by hand."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    shape = (64, 32, 3)
    source = build_backbone("mobilenetv1_a025", shape)
    for w in source.weights:
        w.assign(np.random.default_rng(2).normal(size=w.shape).astype("float32"))
    path = tmp_path / "mobilenet_2_5_224_tf_no_top.h5"
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, source)
    model = build_training_model(
        {"model_name": "mobilenetv1_a025", "pretrained": True, "pretrained_weights": str(path)},
        shape,
        3,
    )
    _assert_backbone_weights_in(model, source)
    assert no_network == []
