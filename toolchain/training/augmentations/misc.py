"""Degradations: blur, gaussian noise, JPEG artefacts and random rectangle erasing."""

from __future__ import annotations

import tensorflow as tf

from toolchain.errors import ConfigError
from toolchain.training.augmentations.base import PIXEL_MAX, REQUIRED, augmentation, value_range

PADDINGS = {"reflect": "REFLECT", "symmetric": "SYMMETRIC", "constant": "CONSTANT"}
FILL_METHODS = ("random", "uniform", "black", "mosaic", "color")


def _int_range(name, key, value):
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    low, high = value_range(name, key, value)
    return int(low), int(high)


@augmentation("random_blur", filter_size=REQUIRED, padding="reflect", constant_values=0)
def random_blur(args, rng):
    """Box blur with a k×k mean filter, k drawn in `filter_size` (int or pair) once per batch."""
    low, high = _int_range("random_blur", "filter_size", args["filter_size"])
    if low < 1:
        raise ConfigError(
            "data_augmentation.random_blur.filter_size must be >= 1; "
            f"received {args['filter_size']}"
        )
    if args["padding"] not in PADDINGS:
        raise ConfigError(
            f"data_augmentation.random_blur.padding: expected one of {', '.join(PADDINGS)}; "
            f"received {args['padding']!r}"
        )
    pad = high // 2
    coords = tf.range(high, dtype=tf.float32) - (high - 1) / 2.0

    def op(images):
        k = tf.floor(rng.uniform((), low, high + 1 - 1e-6))
        inside = tf.cast(tf.abs(coords) <= (k - 1) / 2.0 + 1e-6, tf.float32)
        kernel = inside[:, None] * inside[None, :]
        kernel = kernel / tf.reduce_sum(kernel)
        channels = images.shape[-1]
        kernel = tf.tile(kernel[:, :, None, None], [1, 1, channels, 1])
        padded = tf.pad(
            images,
            [[0, 0], [pad, high - 1 - pad], [pad, high - 1 - pad], [0, 0]],
            mode=PADDINGS[args["padding"]],
            constant_values=float(args["constant_values"]),
        )
        return tf.nn.depthwise_conv2d(padded, kernel, [1, 1, 1, 1], "VALID")

    return op


@augmentation("random_gaussian_noise", stddev=REQUIRED)
def random_gaussian_noise(args, rng):
    """Add N(0, σ·255) noise, σ drawn per image in `stddev` (a number = (0, stddev), or a pair)."""
    stddev = args["stddev"]
    low, high = (
        (0.0, float(stddev))
        if isinstance(stddev, int | float)
        else value_range("random_gaussian_noise", "stddev", stddev)
    )
    return lambda images: (
        images + rng.normal(tf.shape(images)) * rng.per_image(images, low, high) * PIXEL_MAX
    )


@augmentation("random_jpeg_quality", jpeg_quality=REQUIRED)
def random_jpeg_quality(args, rng):
    """Encode and decode as JPEG at a quality drawn in `jpeg_quality` (an int or a pair, 0..100)."""
    low, high = _int_range("random_jpeg_quality", "jpeg_quality", args["jpeg_quality"])
    if not 0 <= low <= high <= 100:
        raise ConfigError(
            "data_augmentation.random_jpeg_quality.jpeg_quality must be within 0..100; "
            f"received {args['jpeg_quality']!r}"
        )

    def one(item):
        image, quality = item
        pixels = tf.cast(tf.clip_by_value(tf.round(image), 0, PIXEL_MAX), tf.uint8)
        encoded = tf.io.encode_jpeg(pixels, quality=quality)
        decoded = tf.io.decode_jpeg(encoded, channels=image.shape[-1])
        return tf.cast(decoded, tf.float32)

    def op(images):
        if images.shape[-1] not in (1, 3):
            raise ConfigError(
                "data_augmentation.random_jpeg_quality needs 1 or 3 channels; "
                f"received {images.shape[-1]}"
            )
        qualities = tf.cast(
            tf.floor(rng.uniform((tf.shape(images)[0],), low, high + 1 - 1e-6)), tf.int32
        )
        return tf.map_fn(one, (images, qualities), fn_output_signature=tf.float32)

    return op


@augmentation(
    "random_rectangle_erasing",
    nrec=(0, 3),
    area=(0.05, 0.2),
    wh_ratio=(0.2, 1.5),
    fill_method="random",
    color=None,
    mode="image",
)
def random_rectangle_erasing(args, rng):
    """Erase up to `nrec` rectangles (area fraction and width/height ratio drawn in ranges), filled
    with noise (random), one random colour (uniform), black, a coarse mosaic or `color`. In mode
    `image` each image gets its own rectangles; in mode `batch` the batch shares them."""
    name = "random_rectangle_erasing"
    n_low, n_high = _int_range(name, "nrec", args["nrec"])
    area = value_range(name, "area", args["area"])
    ratio = value_range(name, "wh_ratio", args["wh_ratio"])
    fill, mode = args["fill_method"], args["mode"]
    if fill not in FILL_METHODS:
        raise ConfigError(
            f"data_augmentation.{name}.fill_method: expected one of {', '.join(FILL_METHODS)}; "
            f"received {fill!r}"
        )
    if mode not in ("image", "batch"):
        raise ConfigError(
            f"data_augmentation.{name}.mode: expected image or batch; received {mode!r}"
        )
    if fill == "color" and args["color"] is None:
        raise ConfigError(f"data_augmentation.{name}: fill_method 'color' needs `color`")

    def op(images):
        shape = tf.shape(images)
        n, h, w = shape[0], tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
        draws = 1 if mode == "batch" else n
        count = tf.floor(rng.uniform((draws,), n_low, n_high + 1 - 1e-6))
        ys = tf.range(h)[None, :, None]
        xs = tf.range(w)[None, None, :]
        for r in range(n_high):
            a = rng.uniform((draws,), *area) * h * w
            q = rng.uniform((draws,), *ratio)
            rw, rh = tf.minimum(tf.sqrt(a * q), w), tf.minimum(tf.sqrt(a / q), h)
            x0, y0 = rng.uniform((draws,)) * (w - rw), rng.uniform((draws,)) * (h - rh)
            box = (
                (ys >= y0[:, None, None])
                & (ys < (y0 + rh)[:, None, None])
                & (xs >= x0[:, None, None])
                & (xs < (x0 + rw)[:, None, None])
                & (float(r) < count)[:, None, None]
            )
            box = box[..., None]
            if fill == "random":
                value = rng.uniform(shape, 0.0, PIXEL_MAX)
            elif fill == "uniform":
                value = rng.uniform((n, 1, 1, shape[3]), 0.0, PIXEL_MAX)
            elif fill == "black":
                value = tf.zeros_like(images)
            elif fill == "mosaic":
                small = tf.image.resize(images, [4, 4], method="area")
                value = tf.image.resize(small, shape[1:3], method="nearest")
            else:
                value = tf.broadcast_to(tf.constant(args["color"], tf.float32), shape)
            images = tf.where(box, value, images)
        return images

    return op
