"""Geometric augmentations: flips, translation, rotation, shear, zoom (Keras preprocessing
layers, seeded) and random crops resized back to the input size."""

from __future__ import annotations

import keras
import tensorflow as tf

from toolchain.errors import ConfigError
from toolchain.training.augmentations.base import REQUIRED, augmentation, value_range

FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")
_AFFINE = dict(fill_mode="reflect", interpolation="bilinear", fill_value=0.0)


@augmentation("random_flip", own_rate=True, mode=REQUIRED, change_rate=0.5)
def random_flip(args, rng):
    """Mirror each image with probability change_rate, per axis for horizontal_and_vertical."""
    mode = args["mode"]
    if mode not in FLIP_MODES:
        raise ConfigError(
            f"data_augmentation.random_flip.mode: expected one of {', '.join(FLIP_MODES)}; "
            f"received {mode!r}"
        )
    rate = float(args["change_rate"])
    axes = {"horizontal": [2], "vertical": [1], "horizontal_and_vertical": [2, 1]}[mode]

    def op(images):
        for axis in axes:
            flip = rng.per_image(images, 0.0, 1.0) < rate
            images = tf.where(flip, tf.reverse(images, axis=[axis]), images)
        return images

    return op


def _keras_layer(layer):
    return lambda images: layer(images, training=True)


def _affine_kwargs(args):
    return dict(
        fill_mode=args["fill_mode"],
        interpolation=args["interpolation"],
        fill_value=float(args["fill_value"]),
    )


@augmentation("random_translation", width_factor=REQUIRED, height_factor=REQUIRED, **_AFFINE)
def random_translation(args, rng):
    """Shift by up to width_factor / height_factor of the image size (keras RandomTranslation)."""
    return _keras_layer(
        keras.layers.RandomTranslation(
            height_factor=args["height_factor"],
            width_factor=args["width_factor"],
            seed=rng.layer_seed(),
            **_affine_kwargs(args),
        )
    )


@augmentation("random_rotation", factor=REQUIRED, **_AFFINE)
def random_rotation(args, rng):
    """Rotate by up to factor·2π (keras RandomRotation)."""
    return _keras_layer(
        keras.layers.RandomRotation(
            factor=args["factor"], seed=rng.layer_seed(), **_affine_kwargs(args)
        )
    )


def _shear(axis):
    def make(args, rng):
        factor = args["factor"]
        x = factor if axis in ("x", "xy") else 0.0
        y = factor if axis in ("y", "xy") else 0.0
        return _keras_layer(
            keras.layers.RandomShear(
                x_factor=x, y_factor=y, seed=rng.layer_seed(), **_affine_kwargs(args)
            )
        )

    make.__doc__ = f"Shear along {axis} by up to `factor` (keras RandomShear)."
    return make


augmentation("random_shear", factor=REQUIRED, **_AFFINE)(_shear("xy"))
augmentation("random_shear_x", factor=REQUIRED, **_AFFINE)(_shear("x"))
augmentation("random_shear_y", factor=REQUIRED, **_AFFINE)(_shear("y"))


@augmentation("random_zoom", width_factor=None, height_factor=REQUIRED, **_AFFINE)
def random_zoom(args, rng):
    """Zoom by up to height_factor / width_factor (width follows height if unset)."""
    return _keras_layer(
        keras.layers.RandomZoom(
            height_factor=args["height_factor"],
            width_factor=args["width_factor"],
            seed=rng.layer_seed(),
            **_affine_kwargs(args),
        )
    )


@augmentation(
    "random_crop",
    crop_center_x=(0.25, 0.75),
    crop_center_y=(0.25, 0.75),
    crop_width=(0.6, 0.9),
    crop_height=(0.6, 0.9),
    interpolation="bilinear",
    change_rate=0.9,
)
def random_crop(args, rng):
    """Crop a box (centre and size drawn as fractions of the image) and resize it back."""
    name = "random_crop"
    cx = value_range(name, "crop_center_x", args["crop_center_x"])
    cy = value_range(name, "crop_center_y", args["crop_center_y"])
    cw = value_range(name, "crop_width", args["crop_width"])
    ch = value_range(name, "crop_height", args["crop_height"])
    if args["interpolation"] not in ("bilinear", "nearest"):
        raise ConfigError(
            f"data_augmentation.random_crop.interpolation: expected bilinear or nearest; "
            f"received {args['interpolation']!r}"
        )

    def op(images):
        n = tf.shape(images)[0]
        x, y = rng.uniform((n,), *cx), rng.uniform((n,), *cy)
        w, h = rng.uniform((n,), *cw), rng.uniform((n,), *ch)
        boxes = tf.clip_by_value(
            tf.stack([y - h / 2, x - w / 2, y + h / 2, x + w / 2], axis=1), 0.0, 1.0
        )
        size = tf.shape(images)[1:3]
        return tf.image.crop_and_resize(
            images, boxes, tf.range(n), size, method=args["interpolation"]
        )

    return op
