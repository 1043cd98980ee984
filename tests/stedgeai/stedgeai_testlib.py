"""Shared by the stedgeai tests: the tiny int8 model's shape and its builder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

H, W, OUT = 16, 8, 16


def make_tiny_model(path: Path) -> Path:
    """uint8 16x8x3 in (scale 1, zero point 0), int8 16 out: Rescaling, conv, pooling, dense."""
    import tensorflow as tf

    inp = tf.keras.Input((H, W, 3))
    x = tf.keras.layers.Rescaling(1 / 127.5, -1.0)(inp)
    x = tf.keras.layers.Conv2D(4, 3, strides=2, padding="same")(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    model = tf.keras.Model(inp, tf.keras.layers.Dense(OUT)(x))

    def rep():
        for v in (0, 255):
            yield [np.full((1, H, W, 3), v, np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.uint8
    conv.inference_output_type = tf.int8
    path.write_bytes(conv.convert())
    return path
