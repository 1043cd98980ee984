"""Every registered augmentation runs on a real batch, changes it, keeps shape and range; the
layer is training-only, serializable, and rejects unknown names and arguments."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from toolchain.errors import ConfigError, UnknownNameError
from toolchain.training.augmentation import (
    DataAugmentation,
    build_augmentation,
    normalize_steps,
    register_custom_augmentation,
)
from toolchain.training.augmentations.base import AUGMENTATIONS

# Minimal arguments per function (change_rate 1 so every image is affected).
ARGS = {
    "random_contrast": {"factor": 0.5},
    "random_brightness": {"factor": 0.3},
    "random_gamma": {"gamma": (0.3, 0.6)},
    "random_hue": {"delta": 0.3},
    "random_saturation": {"delta": (0.1, 0.3)},
    "random_value": {"delta": (0.3, 0.6)},
    "random_hsv": {"hue_delta": 0.2, "saturation_delta": 0.5, "value_delta": 0.3},
    "random_rgb_to_hsv": {},
    "random_rgb_to_grayscale": {},
    "random_sharpness": {"factor": (2.0, 3.0)},
    "random_posterize": {"bits": (2, 3)},
    "random_invert": {},
    "random_solarize": {},
    "random_autocontrast": {"cutoff": 5},
    "random_blur": {"filter_size": (3, 5)},
    "random_gaussian_noise": {"stddev": 0.1},
    "random_crop": {},
    "random_jpeg_quality": {"jpeg_quality": (10, 20)},
    "random_flip": {"mode": "horizontal_and_vertical"},
    "random_translation": {"width_factor": 0.3, "height_factor": 0.3},
    "random_rotation": {"factor": 0.2},
    "random_shear": {"factor": 0.4},
    "random_shear_x": {"factor": 0.4},
    "random_shear_y": {"factor": 0.4},
    "random_zoom": {"width_factor": 0.3, "height_factor": 0.3},
    "random_rectangle_erasing": {"nrec": (1, 2), "area": (0.2, 0.3)},
}


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    base = np.linspace(20, 230, 16 * 8, dtype=np.float32).reshape(16, 8, 1)
    images = np.concatenate([base, base[::-1], np.full_like(base, 90)], axis=-1)[None].repeat(6, 0)
    return images + rng.uniform(-10, 10, images.shape).astype(np.float32)


def test_every_registered_function_is_covered():
    assert sorted(ARGS) == AUGMENTATIONS.names()


@pytest.mark.parametrize("name", sorted(ARGS))
def test_function_changes_images_within_range(name, batch):
    args = {**ARGS[name], "change_rate": 1.0}
    layer = DataAugmentation([{"name": name, "args": args}], seed=3)
    out = np.asarray(layer(batch, training=True))
    assert out.shape == batch.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 255.0
    assert np.abs(out - batch).mean() > 0.5, f"{name} left the batch unchanged"
    np.testing.assert_array_equal(np.asarray(layer(batch, training=False)), batch)


def test_yaml_order_and_change_rate(batch):
    # invert then solarize differs from solarize then invert
    a = DataAugmentation(
        [
            {"name": "random_invert", "args": {"change_rate": 1.0}},
            {"name": "random_solarize", "args": {"change_rate": 1.0}},
        ],
        seed=1,
    )
    b = DataAugmentation(
        [
            {"name": "random_solarize", "args": {"change_rate": 1.0}},
            {"name": "random_invert", "args": {"change_rate": 1.0}},
        ],
        seed=1,
    )
    np.testing.assert_allclose(
        np.asarray(a(batch, training=True)),
        np.where(255 - batch >= 128, batch, 255 - batch),
        atol=1e-4,
    )
    assert not np.allclose(np.asarray(a(batch, training=True)), np.asarray(b(batch, training=True)))
    none = DataAugmentation([{"name": "random_invert", "args": {"change_rate": 0.0}}], seed=1)
    np.testing.assert_array_equal(np.asarray(none(batch, training=True)), batch)
    big = np.repeat(batch, 50, axis=0)
    half = np.asarray(
        DataAugmentation([{"name": "random_invert", "args": {"change_rate": 0.5}}], seed=2)(
            big, training=True
        )
    )
    changed = np.mean(np.abs(half - big).reshape(len(big), -1).max(1) > 1)
    assert 0.35 < changed < 0.65


def test_unknown_function_and_argument_are_named():
    with pytest.raises(UnknownNameError, match="random_fipl.*random_flip"):
        DataAugmentation([{"name": "random_fipl", "args": {"mode": "horizontal"}}])
    with pytest.raises(ConfigError, match="random_flip: unknown argument.*modes.*valid: mode"):
        DataAugmentation([{"name": "random_flip", "args": {"modes": "horizontal"}}])
    with pytest.raises(ConfigError, match="random_rotation: missing argument.*factor"):
        DataAugmentation([{"name": "random_rotation", "args": {}}])
    with pytest.raises(ConfigError, match="pixels_range"):
        DataAugmentation([{"name": "random_invert", "args": {"pixels_range": (0, 1)}}])
    with pytest.raises(ConfigError, match="mode"):
        DataAugmentation([{"name": "random_flip", "args": {"mode": "diagonal"}}])
    with pytest.raises(ConfigError, match="needs RGB"):
        DataAugmentation([{"name": "random_hue", "args": {"delta": 0.1}}])(
            np.zeros((1, 8, 4, 1), np.float32), training=True
        )


def test_seed_mapping_and_config_list_forms():
    seed_style = {"random_contrast": {"factor": 0.4}, "random_flip": {"mode": "horizontal"}}
    assert normalize_steps(seed_style) == [
        {"name": "random_contrast", "args": {"factor": 0.4}},
        {"name": "random_flip", "args": {"mode": "horizontal"}},
    ]

    class Item:
        def __init__(self, name, args):
            self.name, self.args = name, args

    assert normalize_steps([Item("random_invert", None)]) == [{"name": "random_invert", "args": {}}]


def test_custom_function_by_registered_name(batch):
    @register_custom_augmentation("test_halve")
    def halve(images, config=None, pixels_range=None):
        return images * config["factor"]

    class Cfg:
        data_augmentation = None
        custom_data_augmentation = {"function_name": "test_halve", "config": {"factor": 0.5}}

    layer = build_augmentation(Cfg())
    np.testing.assert_allclose(np.asarray(layer(batch, training=True)), batch * 0.5, rtol=1e-6)
    with pytest.raises(ConfigError, match="no_such_fn"):
        DataAugmentation([], custom={"function_name": "no_such_fn"})


def test_saved_inside_a_model_and_reloaded(tmp_path, batch):
    steps = [
        {"name": "random_flip", "args": {"mode": "horizontal"}},
        {"name": "random_rectangle_erasing", "args": {}},
    ]
    inp = keras.Input(batch.shape[1:])
    x = DataAugmentation(steps, seed=5, name="data_augmentation")(inp)
    model = keras.Model(inp, keras.layers.Rescaling(1 / 127.5, -1)(x))
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    layer = again.get_layer("data_augmentation")
    assert layer.steps == steps and layer.seed == 5
    np.testing.assert_allclose(
        np.asarray(again(batch, training=False)), batch / 127.5 - 1, atol=1e-6
    )
    assert not np.allclose(np.asarray(again(tf.constant(batch), training=True)), batch / 127.5 - 1)
