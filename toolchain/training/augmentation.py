"""Training-time data augmentation as one Keras layer, built from the config in YAML order.

The layer sits at the front of the "augmented" training model, before the Rescaling layer, so
it sees raw pixels in [0, 255] and is saved with the model (resuming a training restores it).
It is active only when called with `training=True`; the exported embedder never contains it.
Functions come from `augmentations.base.AUGMENTATIONS` (their argument names are ST's model
zoo's); `custom_data_augmentation.function_name` names a user function instead.

Example:
    layer = DataAugmentation([{"name": "random_flip", "args": {"mode": "horizontal"}}], seed=123)
    augmented = layer(images, training=True)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf

from toolchain.errors import ConfigError
from toolchain.registry import Registry
from toolchain.training.augmentations import color, geometry, misc  # noqa: F401  (fill the registry)
from toolchain.training.augmentations.base import AUGMENTATIONS, PIXEL_MAX, Rng, check_args

#: User augmentation functions: fn(images, config=dict, pixels_range=(0, 255)) -> images.
CUSTOM_AUGMENTATIONS: Registry[Callable] = Registry("custom data augmentation function")


def register_custom_augmentation(name: str | None = None):
    """Decorator registering a user augmentation for `custom_data_augmentation.function_name`."""
    return CUSTOM_AUGMENTATIONS.register(name)


def resolve_custom_function(function_name: str) -> Callable:
    """A registered custom function, or one given as an importable `package.module.function`."""
    if function_name in CUSTOM_AUGMENTATIONS:
        return CUSTOM_AUGMENTATIONS.get(function_name)
    module_name, _, attr = function_name.replace(":", ".").rpartition(".")
    if module_name:
        try:
            fn = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as err:
            raise ConfigError(
                f"custom_data_augmentation.function_name: cannot import '{function_name}' ({err})"
            ) from err
        if callable(fn):
            return fn
    valid = ", ".join(CUSTOM_AUGMENTATIONS.names()) or "none registered"
    raise ConfigError(
        f"custom_data_augmentation.function_name: unknown function '{function_name}'; "
        f"give a registered name ({valid}) or an importable package.module.function"
    )


def normalize_steps(section: Any) -> list[dict[str, Any]]:
    """The data_augmentation section as [{"name", "args"}] in YAML order.

    Accepts the config schema's list of objects with `.name`/`.args`, a list of dicts, or the
    seed's mapping {function_name: args}.
    """
    if section is None:
        return []
    if hasattr(section, "model_dump") and not isinstance(section, list | tuple):
        section = section.model_dump()
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf

        if isinstance(section, DictConfig | ListConfig):
            section = OmegaConf.to_container(section, resolve=True)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(section, dict):
        return [{"name": str(k), "args": dict(v or {})} for k, v in section.items()]
    steps = []
    for item in section:
        if isinstance(item, dict):
            steps.append({"name": str(item["name"]), "args": dict(item.get("args") or {})})
        else:
            steps.append({"name": str(item.name), "args": dict(getattr(item, "args", None) or {})})
    return steps


@keras.saving.register_keras_serializable(package="reidtool")
class DataAugmentation(keras.layers.Layer):
    """Apply the configured augmentations in order, each to a `change_rate` fraction of images.

    Args:
        steps: [{"name": function, "args": {...}}] in application order.
        custom: {"function_name": ..., "config": {...}} for a user function (applied last).
        seed: base seed of every random draw (None = nondeterministic).

    Raises:
        UnknownNameError / ConfigError: an unknown function or argument, naming it and listing
            the valid ones.
    """

    def __init__(
        self,
        steps: list[dict[str, Any]] | None = None,
        custom: dict[str, Any] | None = None,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.steps = [{"name": s["name"], "args": dict(s.get("args") or {})} for s in (steps or [])]
        self.custom = dict(custom) if custom else None
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        rng = Rng(self.seed_generator, seed)
        self._ops = []
        for step in self.steps:
            args = check_args(step["name"], step["args"])
            spec = AUGMENTATIONS.get(step["name"])
            self._ops.append((step["name"], spec, args, spec.make(args, rng)))
        self._custom_fn = (
            resolve_custom_function(self.custom["function_name"]) if self.custom else None
        )

    def build(self, input_shape):
        channels = input_shape[-1]
        for name, spec, _, _ in self._ops:
            if spec.needs_rgb and channels != 3:
                raise ConfigError(
                    f"data_augmentation.{name} needs RGB images (3 channels); the model "
                    f"input has {channels} (preprocessing.color_mode)"
                )
        super().build(input_shape)

    def call(self, inputs, training=None):
        if not training or (not self._ops and self._custom_fn is None):
            return inputs
        images = tf.cast(inputs, tf.float32)
        for _, spec, args, op in self._ops:
            out = op(images)
            rate = float(args["change_rate"])
            if not spec.own_rate and rate < 1.0:
                keep = (
                    keras.random.uniform((tf.shape(images)[0], 1, 1, 1), seed=self.seed_generator)
                    >= rate
                )
                out = tf.where(keep, images, out)
            images = tf.clip_by_value(out, 0.0, PIXEL_MAX)
        if self._custom_fn is not None:
            out = self._custom_fn(
                images, config=self.custom.get("config"), pixels_range=(0.0, PIXEL_MAX)
            )
            images = tf.clip_by_value(tf.cast(out, tf.float32), 0.0, PIXEL_MAX)
        return tf.cast(images, inputs.dtype) if inputs.dtype.is_floating else images

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "steps": self.steps,
            "custom": self.custom,
            "seed": self.seed,
        }


def build_augmentation(cfg: Any) -> DataAugmentation | None:
    """The augmentation layer of `cfg` (`data_augmentation`, `custom_data_augmentation`,
    `general.global_seed`), or None when neither section asks for any."""
    steps = normalize_steps(getattr(cfg, "data_augmentation", None))
    custom = getattr(cfg, "custom_data_augmentation", None)
    if custom is not None and hasattr(custom, "model_dump"):
        custom = custom.model_dump()
    if custom is not None and not isinstance(custom, dict):
        custom = {"function_name": custom.function_name, "config": getattr(custom, "config", None)}
    if custom is not None and not custom.get("function_name"):
        custom = None
    if not steps and not custom:
        return None
    general = getattr(cfg, "general", None)
    seed = getattr(general, "global_seed", None) if general is not None else None
    return DataAugmentation(steps, custom, seed=seed, name="data_augmentation")
