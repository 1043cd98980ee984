"""Helpers shared by the model tests: int8 conversion as the quantizer does it, op/dtype report."""

from __future__ import annotations

import numpy as np


def randomize_batchnorm(model, rng) -> None:
    """Give every BatchNormalization non-trivial statistics so BN folding is really exercised."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = int(layer.moving_mean.shape[0])
            values = [
                rng.uniform(0.5, 1.5, n),
                rng.uniform(-0.5, 0.5, n),
                rng.uniform(-0.5, 0.5, n),
                rng.uniform(0.5, 2.0, n),
            ]
            if not layer.scale:
                values.pop(0)
            if not layer.center:
                values.pop(1 if layer.scale else 0)
            layer.set_weights(values)


def convert_int8(model, input_shape, rng, n_calibration: int = 4) -> bytes:
    """Full-int8 conversion: uint8 in, int8 out, calibration with an all-0 and an all-255 image."""
    import tensorflow as tf

    def representative():
        yield [np.zeros((1, *input_shape), np.float32)]
        yield [np.full((1, *input_shape), 255.0, np.float32)]
        for _ in range(n_calibration):
            yield [rng.uniform(0, 255, (1, *input_shape)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.int8
    return converter.convert()


def int8_report(model_bytes: bytes):
    """(op names, dtypes of every tensor an op reads or writes, Oracle) of a TFLite model.

    The ops are read from the model loaded in the oracle interpreter (reference kernels, no
    delegate), so they are exactly the flatbuffer's operators.
    """
    from toolchain.oracle import Oracle

    oracle = Oracle(model_bytes)
    interp = oracle._interp
    ops = interp._get_ops_details()
    names = {op["op_name"] for op in ops}
    tensors = {t["index"]: t for t in interp.get_tensor_details()}
    dtypes = set()
    for op in ops:
        for idx in list(op["inputs"]) + list(op["outputs"]):
            if idx >= 0:
                dtypes.add(np.dtype(tensors[idx]["dtype"]).name)
    return names, dtypes, oracle
