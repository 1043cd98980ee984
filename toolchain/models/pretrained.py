"""Pretrained backbone weights: ImageNet from keras (downloaded or cached) or a local file.

`model.pretrained: True` loads the ImageNet weights keras ships for MobileNet v1/v2 and
ResNet50V2. keras downloads them once into its cache (`$KERAS_HOME/models`, by default
`~/.keras/models`; keras reads `KERAS_HOME` when it is imported); on a machine without
network the download fails, and reidtool turns that into a `ModelError` naming the file and
where to put it. `model.pretrained_weights` names a
local weights file instead (a keras `.h5` / `.weights.h5` file for the same architecture),
which works offline and for every model, including those without ImageNet weights.
Setting the environment variable `REIDTOOL_OFFLINE=1` skips the download attempt entirely.

The weights are loaded into a stand-alone backbone (the exact topology keras' files expect);
`embedder.build_training_model` then copies them into its flat training graph.

Example:
    backbone = load_pretrained("mobilenetv2_a035", (256, 128, 3), pretrained=True)
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

from toolchain.errors import ModelError
from toolchain.models.registry import MODELS, build_backbone

log = logging.getLogger(__name__)

OFFLINE_ENV = "REIDTOOL_OFFLINE"


def keras_cache_dir() -> Path:
    """Where keras keeps downloaded weights: `$KERAS_HOME/models`, else `~/.keras/models`.

    keras reads `KERAS_HOME` once, when it is imported; we ask keras for that folder so the
    message names the folder keras really looks in. keras falls back to `/tmp/.keras` when the
    base folder is not writable; so do we.
    """
    try:
        from keras.src.backend.config import keras_home

        base = Path(keras_home())
    except ImportError:  # a keras without that helper: its documented default
        base = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    base = base.expanduser()
    if not os.access(base, os.W_OK):
        base = Path("/tmp") / ".keras"
    return base / "models"


def _offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def load_pretrained(
    name: str,
    input_shape,
    *,
    pretrained: bool = False,
    weights_path: str | os.PathLike | None = None,
    **kwargs,
):
    """A stand-alone backbone `name` holding the requested weights, or None when none are asked.

    Args:
        name: registered model name.
        input_shape: (height, width, channels).
        pretrained: `model.pretrained`: load keras' ImageNet weights.
        weights_path: `model.pretrained_weights`: a local weights file (wins over `pretrained`).
        **kwargs: extra `model.*` keys for the builder.

    Returns:
        The backbone with weights loaded, or None if `pretrained` is false and no file is given.

    Raises:
        ModelError: the file is missing or does not fit the model; the model has no ImageNet
            weights; or the ImageNet weights are not cached and cannot be downloaded (the
            message names the file and the folder to put it in).
    """
    builder = MODELS.get(name)
    if weights_path:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise ModelError(f"model.pretrained_weights: file not found: {path}")
        backbone = build_backbone(name, input_shape, **kwargs)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                backbone.load_weights(str(path))
        except Exception as err:  # keras raises ValueError, KeyError, OSError... for a wrong file
            raise ModelError(
                f"model.pretrained_weights: {path} does not hold weights for {name} "
                f"at input_shape={tuple(input_shape)}: {err}"
            ) from err
        # keras only warns when parts of the file do not match and keeps fresh weights there:
        # a silently half-loaded backbone is worse than an error.
        partial = [
            str(w.message)
            for w in caught
            if "weights" in str(w.message).lower() or "skipping" in str(w.message).lower()
        ]
        if partial:
            raise ModelError(
                f"model.pretrained_weights: {path} does not fully match {name} "
                f"at input_shape={tuple(input_shape)}: {partial[0]}"
            )
        log.info("Loaded %s weights from %s", name, path)
        return backbone
    if not pretrained:
        return None
    if not getattr(builder, "has_imagenet_weights", False):
        with_weights = [n for n, b in MODELS.items() if getattr(b, "has_imagenet_weights", False)]
        raise ModelError(
            f"model.pretrained: keras has no ImageNet weights for {name} (it has them for "
            f"{', '.join(with_weights)}); set pretrained: False or give model.pretrained_weights"
        )
    file_name = builder.imagenet_file(tuple(input_shape))
    cached = keras_cache_dir() / file_name
    where = (
        f"Put the file {file_name} in {cached.parent} (keras' cache; KERAS_HOME moves it) "
        f"or set model.pretrained_weights to its path."
    )
    if not cached.is_file() and _offline():
        raise ModelError(
            f"model.pretrained: ImageNet weights for {name} are not cached and {OFFLINE_ENV} "
            f"forbids downloading them. {where}"
        )
    try:
        backbone = build_backbone(name, input_shape, weights="imagenet", **kwargs)
    except ModelError:
        raise
    except Exception as err:  # keras' get_file raises a bare Exception on a failed download
        raise ModelError(
            f"model.pretrained: could not download the ImageNet weights for {name} ({err}). {where}"
        ) from err
    log.info("Loaded ImageNet weights for %s", name)
    return backbone
