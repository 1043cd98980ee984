"""Photometric augmentations: contrast, brightness, gamma, HSV jitter, grayscale, sharpness,
posterize, invert, solarize, autocontrast. Each draws its parameter once per image."""

from __future__ import annotations

import tensorflow as tf

from toolchain.training.augmentations.base import (
    PIXEL_MAX,
    REQUIRED,
    augmentation,
    from_unit,
    to_unit,
    value_range,
)


@augmentation("random_contrast", factor=REQUIRED)
def random_contrast(args, rng):
    """Scale each channel's deviation from its mean by c ∈ [1−factor, 1+factor] (or the pair)."""
    low, high = value_range("random_contrast", "factor", args["factor"], around=1.0)

    def op(images):
        mean = tf.reduce_mean(images, axis=[1, 2], keepdims=True)
        return (images - mean) * rng.per_image(images, max(low, 0.0), high) + mean

    return op


@augmentation("random_brightness", factor=REQUIRED)
def random_brightness(args, rng):
    """Add δ·255 with δ ∈ [−factor, factor] (or the pair), a fraction of the pixel range."""
    low, high = value_range("random_brightness", "factor", args["factor"])
    return lambda images: images + rng.per_image(images, low, high) * PIXEL_MAX


@augmentation("random_gamma", gamma=REQUIRED)
def random_gamma(args, rng):
    """255·(x/255)^γ with γ ∈ [1−g, 1+g] (or the pair)."""
    low, high = value_range("random_gamma", "gamma", args["gamma"], around=1.0)
    low = max(low, 1e-3)
    return lambda images: from_unit(
        tf.pow(tf.maximum(to_unit(images), 0.0), rng.per_image(images, low, high))
    )


def _hsv_jitter(rng, hue=None, saturation=None, value=None):
    """An op shifting hue by δ (fraction of the circle) and scaling saturation and value."""

    def op(images):
        hsv = tf.image.rgb_to_hsv(tf.clip_by_value(to_unit(images), 0.0, 1.0))
        h, s, v = hsv[..., 0:1], hsv[..., 1:2], hsv[..., 2:3]
        if hue is not None:
            h = tf.math.floormod(h + rng.per_image(images, *hue), 1.0)
        if saturation is not None:
            s = tf.clip_by_value(
                s * rng.per_image(images, max(saturation[0], 0.0), saturation[1]), 0, 1
            )
        if value is not None:
            v = tf.clip_by_value(v * rng.per_image(images, max(value[0], 0.0), value[1]), 0, 1)
        return from_unit(tf.image.hsv_to_rgb(tf.concat([h, s, v], axis=-1)))

    return op


@augmentation("random_hue", needs_rgb=True, delta=REQUIRED)
def random_hue(args, rng):
    """Rotate the hue by δ ∈ [−delta, delta] (fractions of the hue circle)."""
    return _hsv_jitter(rng, hue=value_range("random_hue", "delta", args["delta"]))


@augmentation("random_saturation", needs_rgb=True, delta=REQUIRED)
def random_saturation(args, rng):
    """Scale the saturation by s ∈ [1−delta, 1+delta] (or the pair)."""
    return _hsv_jitter(
        rng, saturation=value_range("random_saturation", "delta", args["delta"], 1.0)
    )


@augmentation("random_value", needs_rgb=True, delta=REQUIRED)
def random_value(args, rng):
    """Scale the HSV value by v ∈ [1−delta, 1+delta] (or the pair)."""
    return _hsv_jitter(rng, value=value_range("random_value", "delta", args["delta"], 1.0))


@augmentation("random_hsv", needs_rgb=True, hue_delta=None, saturation_delta=None, value_delta=None)
def random_hsv(args, rng):
    """random_hue, random_saturation and random_value in one conversion; absent deltas skip."""
    name = "random_hsv"
    hue = None if args["hue_delta"] is None else value_range(name, "hue_delta", args["hue_delta"])
    sat = (
        None
        if args["saturation_delta"] is None
        else value_range(name, "saturation_delta", args["saturation_delta"], 1.0)
    )
    val = (
        None
        if args["value_delta"] is None
        else value_range(name, "value_delta", args["value_delta"], 1.0)
    )
    return _hsv_jitter(rng, hue, sat, val)


@augmentation("random_rgb_to_hsv", needs_rgb=True, change_rate=0.25)
def random_rgb_to_hsv(args, rng):
    """Replace the image by its HSV planes scaled to 0..255."""
    return lambda images: from_unit(
        tf.image.rgb_to_hsv(tf.clip_by_value(to_unit(images), 0.0, 1.0))
    )


@augmentation("random_rgb_to_grayscale", needs_rgb=True, change_rate=0.25)
def random_rgb_to_grayscale(args, rng):
    """Replace the image by its luma, repeated on the 3 channels."""
    return lambda images: tf.tile(tf.image.rgb_to_grayscale(images), [1, 1, 1, 3])


@augmentation("random_sharpness", factor=REQUIRED)
def random_sharpness(args, rng):
    """Blend with a smoothed copy: f = 1 leaves the image, f < 1 blurs, f > 1 sharpens;
    f ∈ [1−factor, 1+factor] (or the pair)."""
    low, high = value_range("random_sharpness", "factor", args["factor"], around=1.0)
    kernel = tf.constant([[1, 1, 1], [1, 5, 1], [1, 1, 1]], tf.float32) / 13.0

    def op(images):
        channels = images.shape[-1]
        k = tf.tile(kernel[:, :, None, None], [1, 1, channels, 1])
        padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
        smooth = tf.nn.depthwise_conv2d(padded, k, [1, 1, 1, 1], "VALID")
        return smooth + rng.per_image(images, max(low, 0.0), high) * (images - smooth)

    return op


@augmentation("random_posterize", bits=REQUIRED)
def random_posterize(args, rng):
    """Keep the b most significant bits of each pixel, b drawn in `bits` (int or pair, 1..8)."""
    bits = args["bits"]
    low, high = (
        (bits, bits) if isinstance(bits, int) else value_range("random_posterize", "bits", bits)
    )
    low, high = int(max(1, min(8, low))), int(max(1, min(8, high)))

    def op(images):
        b = tf.floor(rng.per_image(images, low, high + 1 - 1e-6))
        step = tf.pow(2.0, 8.0 - b)
        return tf.floor(tf.clip_by_value(images, 0.0, PIXEL_MAX) / step) * step

    return op


@augmentation("random_invert", change_rate=0.25)
def random_invert(args, rng):
    """255 − x."""
    return lambda images: PIXEL_MAX - images


@augmentation("random_solarize", change_rate=0.25)
def random_solarize(args, rng):
    """Invert the pixels at or above mid-range (128)."""
    return lambda images: tf.where(images >= 128.0, PIXEL_MAX - images, images)


@augmentation("random_autocontrast", cutoff=10, change_rate=0.25)
def random_autocontrast(args, rng):
    """Stretch each channel so its `cutoff`-th and (100−cutoff)-th percentiles map to 0 and 255."""
    cutoff = float(args["cutoff"])
    if not 0.0 <= cutoff < 50.0:
        from toolchain.errors import ConfigError

        raise ConfigError(
            f"data_augmentation.random_autocontrast.cutoff must be in [0, 50); received {cutoff}"
        )

    def op(images):
        shape = tf.shape(images)
        flat = tf.sort(tf.reshape(images, [shape[0], -1, shape[3]]), axis=1)
        n = tf.cast(tf.shape(flat)[1] - 1, tf.float32)
        lo_i = tf.cast(tf.round(n * cutoff / 100.0), tf.int32)
        hi_i = tf.cast(tf.round(n * (1.0 - cutoff / 100.0)), tf.int32)
        lo = flat[:, lo_i][:, None, None, :]
        hi = flat[:, hi_i][:, None, None, :]
        scale = tf.math.divide_no_nan(PIXEL_MAX, hi - lo)
        return tf.where(hi > lo, (images - lo) * scale, images)

    return op
