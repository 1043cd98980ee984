"""The edge embedder: what `best_model.keras` holds and the int8 quantizer converts.

The training model (`embedder.build_training_model`) is built for training: any batch size,
augmentation layers, a classifier and BNNeck as a separate BatchNormalization. The board needs
something else (CONTRACTS §5, issue 4 "Export for the edge"):

- a batch-1 input signature of raw pixels (float32 0..255; the int8 model's uint8 input then
  has scale 1.0 / zero point 0), with the Rescaling layer inside (it becomes int8 MUL/ADD);
- no augmentation layers, no dropout, no classifier;
- global average pooling with `keepdims=True` followed by a Reshape: TFLite's integer MEAN
  path (`keepdims=False` takes a float path in the reference kernels);
- BNNeck folded into the weights of the layer before it, so it costs nothing and quantizes
  exactly: into the embedding Dense layer when there is one (W' = W·a, b' = b·a + β − μ·a with
  a = γ/√(σ²+ε)); otherwise into a 1x1 DepthwiseConv2D on the pooled 1x1xC map (a per-channel
  affine: kernel a, bias β − μ·a), which int8 quantizes with per-channel scales, so the
  folded scale costs no precision; it adds one DEPTHWISE_CONV_2D op of C MACs.
- output: the inference embedding (post-BN with BNNeck), shape (1, D).

The result is numerically equal (allclose) to `embedder.inference_embedding(training_model)`.

Example:
    edge = export_embedder(training_model)
    edge.save("best_model.keras")
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from toolchain.errors import ModelError
from toolchain.models.embedder import (
    BNNECK_NAME,
    EMBEDDING_NAME,
    INPUT_NAME,
    POOL_NAME,
    POOL_RESHAPE_NAME,
    RESCALING_NAME,
)

FOLDED_BNNECK_NAME = "bnneck_folded"


def _layer(model: keras.Model, name: str):
    try:
        return model.get_layer(name)
    except ValueError:
        return None


def bn_affine(bn: keras.layers.BatchNormalization) -> tuple[np.ndarray, np.ndarray]:
    """The inference-time per-channel affine of a BatchNormalization: y = a·x + b.

    Returns:
        (a, b) as float64 arrays: a = γ/√(σ²+ε), b = β − μ·a (γ = 1, β = 0 when disabled).
    """
    mean = np.asarray(bn.moving_mean, dtype=np.float64)
    var = np.asarray(bn.moving_variance, dtype=np.float64)
    gamma = np.asarray(bn.gamma, dtype=np.float64) if bn.gamma is not None else np.ones_like(mean)
    beta = np.asarray(bn.beta, dtype=np.float64) if bn.beta is not None else np.zeros_like(mean)
    a = gamma / np.sqrt(var + float(bn.epsilon))
    return a, beta - mean * a


def export_embedder(
    training_model: keras.Model, cfg=None, *, name: str = "reid_embedder"
) -> keras.Model:
    """Turn a training model into the batch-1 edge embedder (see the module docstring).

    Args:
        training_model: a model from `embedder.build_training_model` (or one loaded from
            `*_augmented_model.keras`): layers are found by their fixed names.
        cfg: accepted for the `export_embedder(model, cfg)` call form of docs/architecture.md;
            unused, the training model carries everything the export needs.
        name: the exported model's name.

    Returns:
        A `keras.Model`, input `image` (1, H, W, C) float32 raw pixels, output the (1, D)
        inference embedding. Its weights are copies: training further does not change it.

    Raises:
        ModelError: `training_model` lacks the `rescaling` layer or its embedding layers are
            not in the expected form.
    """
    rescaling = _layer(training_model, RESCALING_NAME)
    if not isinstance(rescaling, keras.layers.Rescaling):
        raise ModelError(
            f"export: expected a training model with a Rescaling layer named '{RESCALING_NAME}' "
            f"(from embedder.build_training_model), received model '{training_model.name}'"
        )
    pool = _layer(training_model, POOL_NAME)
    dense = _layer(training_model, EMBEDDING_NAME)
    bn = _layer(training_model, BNNECK_NAME)
    if pool is not None:
        feature_end = pool.output
    elif dense is not None:
        feature_end = dense.input
    else:
        feature_end = bn.input if bn is not None else training_model.output["embedding"]

    # The backbone part, from the rescaled image to the pooled feature, as an independent copy.
    features = keras.Model(rescaling.output, feature_end, name="features")
    features_copy = keras.models.clone_model(features)
    features_copy.set_weights(features.get_weights())
    features_copy.trainable = False

    input_shape = tuple(int(d) for d in training_model.inputs[0].shape[1:])
    scale, offset = rescaling.scale, rescaling.offset
    inputs = keras.Input(shape=input_shape, batch_size=1, name=INPUT_NAME, dtype="float32")
    x = layers.Rescaling(scale, offset, name=RESCALING_NAME)(inputs)
    x = features_copy(x, training=False)
    if len(x.shape) == 2 and bn is not None and dense is None:
        x = layers.Reshape((1, 1, int(x.shape[-1])), name="feature_reshape")(x)
    channels = int(x.shape[-1])

    if bn is not None and dense is None:  # fold BNNeck into a per-channel affine (1x1 depthwise)
        a, b = bn_affine(bn)
        affine = layers.DepthwiseConv2D(1, use_bias=True, name=FOLDED_BNNECK_NAME)
        x = affine(x)
        affine.set_weights([a.reshape(1, 1, channels, 1).astype(np.float32), b.astype(np.float32)])
    if len(x.shape) == 4:
        x = layers.Reshape((channels,), name=POOL_RESHAPE_NAME)(x)

    if dense is not None:
        kernel = np.asarray(dense.kernel, dtype=np.float64)
        bias = np.asarray(dense.bias, dtype=np.float64) if dense.use_bias else np.zeros(dense.units)
        if bn is not None:  # fold BNNeck into the embedding layer
            a, b = bn_affine(bn)
            kernel, bias = kernel * a[None, :], bias * a + b
        folded = layers.Dense(dense.units, use_bias=True, name=EMBEDDING_NAME)
        x = folded(x)
        folded.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])

    return keras.Model(inputs, x, name=name)
