"""`model.model_path`: a user's `.keras` model as the feature extractor (seed README §5.1).

The seed lets users train their own Keras model instead of a zoo model. reidtool loads the
file, resets every layer to trainable (`training.frozen_layers` re-freezes what the user
wants), keeps the part of the graph that computes features and lets the embedder append
pooling (for a 4-D output), the optional embedding layer / BNNeck, a dropout and the Dense
classifier head.

What is kept of the file's graph:
- a leading Rescaling layer is dropped (the embedder adds its own from
  `preprocessing.rescaling`), so a previous reidtool export (`best_model.keras`) can be
  trained further (multi-step training, seed README §5.3.3);
- a reidtool training model (dict outputs `embedding`/`logits`) keeps its inference
  embedding (post-BNNeck when present);
- a classifier at the end (a Dense layer with softmax/sigmoid activation, or named `logits`)
  and a Dropout right before it are removed: the embedder appends a new head for the training
  identities.

The seed's dropout rules hold, with its errors: `training.dropout` set while the file has no
Dropout layer is an error, and a file with a Dropout layer needs `training.dropout` set (its
rate replaces the file's rates).

Example:
    features, input_shape, dropout = load_feature_extractor("my_model.keras", dropout=0.2)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import keras

from toolchain.errors import ConfigError, ModelError

log = logging.getLogger(__name__)

_CLASSIFIER_ACTIVATIONS = ("softmax", "sigmoid")


def _is_classifier(layer) -> bool:
    if not isinstance(layer, keras.layers.Dense):
        return False
    activation = getattr(layer.activation, "__name__", str(layer.activation))
    return layer.name == "logits" or activation in _CLASSIFIER_ACTIVATIONS


def load_feature_extractor(
    model_path: str | os.PathLike, dropout: float | None
) -> tuple[keras.Model, tuple[int, int, int], float | None]:
    """Load `model_path` and return (feature model, input shape, dropout rate for the head).

    Args:
        model_path: `model.model_path`, a `.keras` file.
        dropout: `training.dropout`.

    Returns:
        The feature model (input: rescaled image; output: a 4-D map or a 2-D feature), the
        file's input shape (H, W, C), and the dropout rate the embedder's head should use.

    Raises:
        ConfigError: wrong extension, or the seed's dropout rules are broken.
        ModelError: the file is missing or keras cannot load it.
    """
    path = Path(model_path).expanduser()
    if path.suffix != ".keras":
        raise ConfigError(f"model.model_path: expected a '.keras' file, received {path}")
    if not path.is_file():
        raise ModelError(f"model.model_path: file not found: {path}")
    try:
        model = keras.saving.load_model(str(path), compile=False, safe_mode=True)
    except Exception as err:  # keras raises ValueError/TypeError/OSError for unusable files
        raise ModelError(f"model.model_path: keras cannot load {path}: {err}") from err
    if not isinstance(model, keras.Model) or len(model.inputs) != 1:
        raise ModelError(f"model.model_path: {path} must be a keras model with one image input")
    input_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    if len(input_shape) != 3:
        raise ModelError(
            f"model.model_path: {path} must take (height, width, channels) images, "
            f"received input shape {input_shape}"
        )

    dropouts = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    if dropout is not None and dropout > 0 and not dropouts:
        raise ConfigError(
            f"training.dropout={dropout} is set but {path} has no Dropout layer; "
            f"remove training.dropout or add a Dropout layer to the model"
        )
    if dropouts and (dropout is None or dropout == 0):
        raise ConfigError(
            f"{path} has Dropout layer(s) {', '.join(dropouts)} but training.dropout is not set; "
            f"set training.dropout to the rate to train with"
        )
    model.trainable = True
    for layer in model.layers:
        layer.trainable = True
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = float(dropout)

    start = model.inputs[0]
    for layer in model.layers:  # a Rescaling preceded only by weightless layers (augmentation)
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.layers.Rescaling):
            start = layer.output
            log.info(
                "model.model_path: dropping %s's Rescaling layer '%s' (the embedder adds its own)",
                path,
                layer.name,
            )
            break
        if layer.weights:
            break

    outputs = model.outputs
    if isinstance(model.output, dict) and "embedding" in model.output:
        names = {layer.name for layer in model.layers}
        end = model.get_layer("bnneck").output if "bnneck" in names else model.output["embedding"]
    elif len(outputs) == 1:
        end = outputs[0]
        last = end._keras_history.operation if hasattr(end, "_keras_history") else None
        if last is not None and _is_classifier(last):
            end = last.input
            before = end._keras_history.operation
            if isinstance(before, keras.layers.Dropout):
                end = before.input
    else:
        raise ModelError(
            f"model.model_path: {path} has {len(outputs)} outputs; expected one feature output "
            f"or a reidtool training model"
        )
    feature_model = keras.Model(start, end, name="model_file_features")
    return feature_model, input_shape, dropout
