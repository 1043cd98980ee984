"""The model zoo's registry: one table of backbone builders, filled at each definition site.

A backbone builder maps an image tensor that is already rescaled (floats, e.g. in [-1, 1]) to a
4-D feature map; the embedder (`toolchain.models.embedder`) adds pooling, the optional
embedding layer and BNNeck, and the classifier. Adding a model is one module with one
decorated function, plus one import line in `toolchain/models/__init__.py`.

Builder contract::

    builder(input_shape: tuple[int, int, int], *, input_tensor=None, **kwargs) -> keras.Model

- Without `input_tensor` the builder returns a stand-alone model (its own `Input`).
- With `input_tensor` (a symbolic tensor from an upstream graph, e.g. the output of the
  Rescaling layer) the builder builds on it and returns a model whose inputs are the source
  inputs of that tensor, so the caller's graph stays flat (`model.layers` lists every backbone
  layer, which `training.frozen_layers` indexes).
- Extra `model.*` keys (e.g. `alpha`) arrive as keyword arguments; a builder rejects keys it
  does not know with `ConfigError`.

Example:
    @register_model("tinynet")
    def tinynet(input_shape, *, input_tensor=None, **kwargs): ...

    backbone = build_backbone("tinynet", (64, 32, 3))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from toolchain.errors import ConfigError, ModelError
from toolchain.registry import Registry

MODELS: Registry[Callable[..., Any]] = Registry("model")


def register_model(
    name: str,
    *,
    imagenet: Callable[[tuple[int, int, int]], str] | None = None,
    min_size: int = 1,
    aliases: tuple[str, ...] = (),
) -> Callable:
    """Decorator registering a backbone builder under `name`.

    Args:
        name: the `model.model_name` value that selects the builder.
        imagenet: for models keras ships ImageNet weights for (`model.pretrained: True`), a
            function of the input shape giving the weights' file name in keras' cache
            (used to tell an offline user where to put the file); None otherwise.
        min_size: the smallest input height/width the architecture accepts.
        aliases: other names for the same builder.

    Returns:
        The decorator; it records `has_imagenet_weights`, `imagenet_file` and
        `min_input_size` on the builder.
    """

    def decorator(fn: Callable) -> Callable:
        fn.has_imagenet_weights = imagenet is not None
        fn.imagenet_file = imagenet
        fn.min_input_size = min_size
        MODELS.add(name, fn, aliases=aliases)
        return fn

    return decorator


def check_input_shape(name: str, input_shape) -> tuple[int, int, int]:
    """Validate `model.input_shape` for backbone `name`; returns it as a tuple of 3 ints.

    Raises:
        ConfigError: not 3 positive integers, or smaller than the builder's `min_input_size`.
    """
    try:
        shape = tuple(int(v) for v in input_shape)
    except (TypeError, ValueError) as err:
        raise ConfigError(
            "model.input_shape: expected (height, width, channels) integers, "
            f"received {input_shape!r}"
        ) from err
    if len(shape) != 3 or min(shape) <= 0:
        raise ConfigError(
            "model.input_shape: expected 3 positive integers (height, width, channels), "
            f"received {input_shape!r}"
        )
    builder = MODELS.get(name)
    min_size = getattr(builder, "min_input_size", 1)
    if shape[0] < min_size or shape[1] < min_size:
        raise ConfigError(
            f"model.input_shape: {name} needs height and width of at least {min_size}, "
            f"received {shape}"
        )
    return shape


def fixed_alpha(name: str, alpha_of_name: float, alpha: float | None) -> float:
    """The width multiplier of a zoo model whose name fixes it (`mobilenetv2_a035` → 0.35).

    A `model.alpha` key that agrees is accepted (the seed's configs sometimes repeat it);
    one that disagrees is a configuration error rather than a silent choice.
    """
    if alpha is not None and abs(float(alpha) - alpha_of_name) > 1e-9:
        raise ConfigError(
            f"model.alpha: {name} has alpha {alpha_of_name}, received alpha={alpha}; "
            f"choose the model name with the alpha you want"
        )
    return alpha_of_name


def reject_unknown(name: str, kwargs: dict) -> None:
    """Raise `ConfigError` naming extra `model.*` keys a builder does not take."""
    if kwargs:
        raise ConfigError(
            f"model: {name} does not take the key(s) {', '.join(sorted(kwargs))}; "
            f"only custom_model receives extra model.* keys"
        )


def build_backbone(name: str, input_shape, *, input_tensor=None, **kwargs):
    """Build the registered backbone `name` (unknown names list the valid ones).

    Args:
        name: a registered model name (`MODELS.names()`).
        input_shape: (height, width, channels).
        input_tensor: optional upstream tensor to build on (see the module docstring).
        **kwargs: extra `model.*` keys for the builder.

    Returns:
        The backbone `keras.Model`, whose output is a 4-D feature map.

    Raises:
        UnknownNameError: `name` is not registered.
        ConfigError / ModelError: the builder rejected its arguments or could not build.
    """
    builder = MODELS.get(name)
    shape = check_input_shape(name, input_shape)
    try:
        model = builder(shape, input_tensor=input_tensor, **kwargs)
    except (ConfigError, ModelError):
        raise
    except (TypeError, ValueError) as err:
        raise ModelError(
            f"model.model_name={name}: cannot build with input_shape={shape}: {err}"
        ) from err
    if len(model.output.shape) != 4:
        raise ModelError(
            f"model.model_name={name}: a backbone must output a 4-D feature map, "
            f"received shape {tuple(model.output.shape)}"
        )
    return model
