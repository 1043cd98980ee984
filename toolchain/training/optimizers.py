"""`training.optimizer`: any Keras optimizer by name, bare or with keyword arguments.

The zoo writes `optimizer: {Adam: {learning_rate: 0.01}}` or `optimizer: Adam`; names match
case-insensitively (`adam`, `sgd`), and an unknown name or argument lists the valid ones.

Example:
    opt = build_optimizer({"SGD": {"learning_rate": 0.1, "momentum": 0.9}})
"""

from __future__ import annotations

import inspect
from typing import Any

import keras

from toolchain.errors import ConfigError


def optimizer_classes() -> dict[str, type]:
    """Every Keras optimizer class by its name (Adam, AdamW, SGD, RMSprop, ...)."""
    found = {}
    for name in dir(keras.optimizers):
        obj = getattr(keras.optimizers, name)
        if (
            inspect.isclass(obj)
            and issubclass(obj, keras.optimizers.Optimizer)
            and obj is not keras.optimizers.Optimizer
            and not name.startswith("Loss")
        ):
            found[name] = obj
    return found


def parse_optimizer(spec: Any) -> tuple[str, dict[str, Any]]:
    """(class name, kwargs) of a `training.optimizer` value."""
    if hasattr(spec, "model_dump"):
        spec = spec.model_dump()
    try:
        from omegaconf import DictConfig, OmegaConf

        if isinstance(spec, DictConfig):
            spec = OmegaConf.to_container(spec, resolve=True)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(spec, str) and spec.strip():
        name, kwargs = spec.strip(), {}
    elif isinstance(spec, dict) and len(spec) == 1:
        name, kwargs = next(iter(spec.items()))
        kwargs = dict(kwargs or {})
    else:
        raise ConfigError(
            "training.optimizer: expected a name (e.g. Adam) or one {name: {arguments}} "
            f"mapping; received {spec!r}"
        )
    classes = optimizer_classes()
    by_lower = {k.lower(): k for k in classes}
    if str(name).lower() not in by_lower:
        raise ConfigError(
            f"training.optimizer: unknown optimizer '{name}'; valid: {', '.join(sorted(classes))}"
        )
    return by_lower[str(name).lower()], kwargs


def build_optimizer(spec: Any) -> keras.optimizers.Optimizer:
    """A new Keras optimizer from a `training.optimizer` value.

    Raises:
        ConfigError: unknown optimizer or argument (the valid ones are listed).
    """
    name, kwargs = parse_optimizer(spec)
    cls = optimizer_classes()[name]
    valid = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "kwargs")]
    unknown = [k for k in kwargs if k not in valid]
    if unknown:
        raise ConfigError(
            f"training.optimizer.{name}: unknown argument(s) {', '.join(unknown)}; "
            f"valid: {', '.join(valid)}"
        )
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"training.optimizer.{name}: invalid arguments {kwargs} ({err})") from err
