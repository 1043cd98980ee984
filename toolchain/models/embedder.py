"""The training model: raw pixels → backbone → pooled feature → embedding + classifier logits.

ReID training needs two heads on one feature (seed README, "Training"): the triplet loss pulls
embeddings of one identity together, the classifier (cross-entropy) separates identities. With
BNNeck (Luo et al., "Bag of Tricks", `model.bnneck`, default off as in ST's zoo) a
BatchNormalization sits between them: the triplet loss takes the pre-BN feature, the
classifier (no bias) the post-BN feature, and inference uses the post-BN feature.

Graph (layer names are fixed; `export.export_embedder` and the trainer find layers by them)::

    image (raw pixels, float32 0..255, shape input_shape)
      → [augmentation layers, active in training only]
      → rescaling        Rescaling(scale, offset)
      → backbone layers  (flat: each backbone layer is a layer of this model)
      → pool             GlobalAveragePooling2D(keepdims=True)   (TFLite's integer MEAN path)
      → pool_reshape     Reshape((C,))
      → [embedding_fc]   Dense(embedding_dim)                    (model.embedding_dim)
      = output "embedding" (pre-BN feature, for the triplet loss)
      → [bnneck]         BatchNormalization                      (model.bnneck)
      → [dropout]        Dropout(training.dropout)
      → logits           Dense(num_classes, no bias with BNNeck) = output "logits" (raw logits)

The outputs are a dict `{"embedding": ..., "logits": ...}`; losses and metrics can be keyed
by those names. `model.model_path` (seed README §5.1) replaces the backbone by a user `.keras`
model; see `toolchain.models.model_file`.

Example:
    model = build_training_model(cfg.model, (64, 32, 3), num_classes=24,
                                 rescaling=(1 / 127.5, -1.0), bnneck=True, embedding_dim=128)
    out = model(images, training=False)   # {"embedding": (N, 128), "logits": (N, 24)}
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import keras
from keras import layers

from toolchain.errors import ConfigError, ModelError
from toolchain.models.model_file import load_feature_extractor
from toolchain.models.pretrained import load_pretrained
from toolchain.models.registry import build_backbone

log = logging.getLogger(__name__)

# model.* keys reidtool consumes itself; any other key goes to the backbone builder.
RESERVED_KEYS = frozenset(
    {
        "framework",
        "model_path",
        "model_name",
        "pretrained",
        "input_shape",
        "embedding_dim",
        "bnneck",
        "pretrained_weights",
        "model_type",
    }
)

INPUT_NAME = "image"
RESCALING_NAME = "rescaling"
POOL_NAME = "pool"
POOL_RESHAPE_NAME = "pool_reshape"
EMBEDDING_NAME = "embedding_fc"
BNNECK_NAME = "bnneck"
DROPOUT_NAME = "dropout"
LOGITS_NAME = "logits"


def model_section_dict(model_cfg: Any) -> dict[str, Any]:
    """The `model` config section as a plain dict (pydantic model, OmegaConf, mapping or None)."""
    if model_cfg is None:
        return {}
    if hasattr(model_cfg, "model_dump"):
        return {k: v for k, v in model_cfg.model_dump().items()}
    if isinstance(model_cfg, Mapping):
        return dict(model_cfg)
    try:  # OmegaConf DictConfig
        from omegaconf import DictConfig, OmegaConf

        if isinstance(model_cfg, DictConfig):
            return dict(OmegaConf.to_container(model_cfg, resolve=True))
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        pass
    return {k: v for k, v in vars(model_cfg).items() if not k.startswith("_")}


def _builder_kwargs(section: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in section.items() if k not in RESERVED_KEYS and v is not None}


def _copy_weights(src: keras.Model, dst: keras.Model, name: str) -> None:
    """Copy weights layer by layer between two builds of the same backbone (same layer order)."""
    src_layers = [layer for layer in src.layers if layer.weights]
    dst_layers = [layer for layer in dst.layers if layer.weights]
    if len(src_layers) != len(dst_layers):
        raise ModelError(
            f"model.model_name={name}: pretrained backbone has {len(src_layers)} weighted layers, "
            f"the training graph {len(dst_layers)}"
        )
    for a, b in zip(src_layers, dst_layers, strict=True):
        b.set_weights(a.get_weights())


def build_training_model(
    model_cfg: Any,
    input_shape=None,
    num_classes: int | None = None,
    *,
    rescaling: tuple[float, float] = (1.0 / 127.5, -1.0),
    dropout: float | None = None,
    embedding_dim: int | None = None,
    bnneck: bool | None = None,
    augmentation_layers: Iterable[keras.layers.Layer] | None = None,
    name: str = "reid_training_model",
) -> keras.Model:
    """Build the two-headed training model (see the module docstring for its graph).

    Args:
        model_cfg: the `model` config section (pydantic object, dict or OmegaConf): uses
            `model_name` or `model_path`, `pretrained`, `pretrained_weights`, `input_shape`,
            `embedding_dim`, `bnneck`; other keys (e.g. `alpha`) go to the backbone builder.
        input_shape: (height, width, channels); defaults to `model_cfg.input_shape`, or to the
            file's input shape with `model_path`.
        num_classes: number of training identities (classifier width).
        rescaling: (scale, offset) of the Rescaling layer (`preprocessing.rescaling`).
        dropout: `training.dropout`: rate of a Dropout layer before the classifier.
        embedding_dim: width of a Dense embedding layer after pooling; defaults to
            `model_cfg.embedding_dim`; None/0 = no embedding layer (the pooled feature).
        bnneck: add BNNeck; defaults to `model_cfg.bnneck` (False when unset).
        augmentation_layers: keras layers applied to the raw pixels, in order, before
            Rescaling; they must be identities when `training=False`.
        name: the keras model's name.

    Returns:
        A `keras.Model` taking float32 raw pixels and returning
        `{"embedding": pre-BN feature, "logits": classifier logits}`.

    Raises:
        ConfigError: missing/contradictory keys (`model_name` xor `model_path`,
            `num_classes`, `dropout` range, `embedding_dim`).
        ModelError: the backbone or the model file cannot be built/loaded.
    """
    section = model_section_dict(model_cfg)
    model_name, model_path = section.get("model_name"), section.get("model_path")
    if bool(model_name) == bool(model_path):
        raise ConfigError(
            "model: exactly one of model_name and model_path must be set, received "
            f"model_name={model_name!r}, model_path={model_path!r}"
        )
    if num_classes is None or int(num_classes) < 1:
        raise ConfigError(
            f"num_classes: expected a positive number of identities, received {num_classes!r}"
        )
    if dropout is not None and not 0.0 <= float(dropout) < 1.0:
        raise ConfigError(f"training.dropout: expected a rate in [0, 1), received {dropout}")
    if embedding_dim is None:
        embedding_dim = section.get("embedding_dim")
    if embedding_dim is not None and int(embedding_dim) < 0:
        raise ConfigError(
            f"model.embedding_dim: expected a positive width, received {embedding_dim}"
        )
    if bnneck is None:
        bnneck = bool(section.get("bnneck") or False)
    scale, offset = (float(v) for v in rescaling)

    if input_shape is None:
        input_shape = section.get("input_shape")
    if model_path:
        feature_model, file_shape, file_dropout = load_feature_extractor(model_path, dropout)
        if input_shape is not None and tuple(int(v) for v in input_shape) != file_shape:
            raise ConfigError(
                f"model.input_shape: {model_path} takes {file_shape}, received {tuple(input_shape)}"
            )
        input_shape = file_shape
        dropout = file_dropout
    elif input_shape is None:
        raise ConfigError("model.input_shape: required with model.model_name, received nothing")
    input_shape = tuple(int(v) for v in input_shape)

    inputs = keras.Input(shape=input_shape, name=INPUT_NAME, dtype="float32")
    x = inputs
    for layer in augmentation_layers or ():
        x = layer(x)
    x = layers.Rescaling(scale, offset, name=RESCALING_NAME)(x)

    if model_path:
        features = feature_model(x)
    else:
        kwargs = _builder_kwargs(section)
        pretrained_backbone = load_pretrained(
            model_name,
            input_shape,
            pretrained=bool(section.get("pretrained")),
            weights_path=section.get("pretrained_weights"),
            **kwargs,
        )
        backbone = build_backbone(model_name, input_shape, input_tensor=x, **kwargs)
        if pretrained_backbone is not None:
            _copy_weights(pretrained_backbone, backbone, model_name)
        features = backbone.output

    if len(features.shape) == 4:
        pooled = layers.GlobalAveragePooling2D(keepdims=True, name=POOL_NAME)(features)
        feature = layers.Reshape((int(features.shape[-1]),), name=POOL_RESHAPE_NAME)(pooled)
    elif len(features.shape) == 2:
        feature = features
    else:
        raise ModelError(
            f"model: the backbone must output a 4-D feature map or a 2-D feature, "
            f"received shape {tuple(features.shape)}"
        )
    if embedding_dim:
        feature = layers.Dense(int(embedding_dim), name=EMBEDDING_NAME)(feature)
    pre_bn = feature
    post_bn = layers.BatchNormalization(name=BNNECK_NAME)(pre_bn) if bnneck else pre_bn
    head = layers.Dropout(float(dropout), name=DROPOUT_NAME)(post_bn) if dropout else post_bn
    logits = layers.Dense(int(num_classes), use_bias=not bnneck, name=LOGITS_NAME)(head)
    return keras.Model(inputs, {"embedding": pre_bn, "logits": logits}, name=name)


def build_from_config(cfg: Any, num_classes: int, *, augmentation_layers=None) -> keras.Model:
    """`build_training_model` with every argument read from a full `ReidConfig`.

    Reads `cfg.model`, `cfg.preprocessing.rescaling.{scale, offset}` and `cfg.training.dropout`
    (each optional), so callers holding the whole configuration need one line.
    """
    rescaling = (1.0 / 127.5, -1.0)
    prep = getattr(cfg, "preprocessing", None)
    resc = getattr(prep, "rescaling", None) if prep is not None else None
    if resc is not None:
        rescaling = (float(resc.scale), float(resc.offset))
    training = getattr(cfg, "training", None)
    dropout = getattr(training, "dropout", None) if training is not None else None
    model_section = cfg.model
    return build_training_model(
        model_section,
        getattr(model_section, "input_shape", None),
        num_classes,
        rescaling=rescaling,
        dropout=dropout,
        augmentation_layers=augmentation_layers,
    )


def inference_embedding(training_model: keras.Model) -> keras.Model:
    """A view of `training_model` returning the inference embedding (post-BN with BNNeck).

    Same input (raw pixels) and shared weights; call it with `training=False`. This is what
    `export.export_embedder` reproduces exactly in its edge-friendly form.
    """
    try:
        out = training_model.get_layer(BNNECK_NAME).output
    except ValueError:
        out = training_model.output["embedding"]
    return keras.Model(training_model.inputs[0], out, name="inference_embedding")
