"""The augmentation registry and what its functions share: argument checking and random draws.

An augmentation is registered with its arguments and their defaults (the names of ST's model
zoo, so zoo configs work unchanged); `REQUIRED` marks those the user must give. A registered
factory receives the checked arguments and an `Rng` and returns a function of a float32 batch
(B, H, W, C) of raw pixels in [0, 255] — augmentation runs before the Rescaling layer.

Example:
    @augmentation("random_invert", change_rate=0.25)
    def random_invert(args, rng):
        return lambda images: 255.0 - images
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import tensorflow as tf

from toolchain.errors import ConfigError
from toolchain.registry import Registry

PIXEL_MAX = 255.0


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()

Op = Callable[[tf.Tensor], tf.Tensor]


@dataclass(frozen=True)
class AugmentationSpec:
    """A registered augmentation: its factory, its arguments' defaults and who applies change_rate.

    Attributes:
        make: factory(args, rng) -> op(images) -> images.
        defaults: every accepted argument with its default (`REQUIRED` = must be given).
        own_rate: True when the op applies `change_rate` itself (e.g. flips per axis).
        needs_rgb: True when the op only makes sense on 3-channel images.
    """

    make: Callable[[dict[str, Any], Rng], Op]
    defaults: dict[str, Any] = field(default_factory=dict)
    own_rate: bool = False
    needs_rgb: bool = False


AUGMENTATIONS: Registry[AugmentationSpec] = Registry("data augmentation function")


def augmentation(name: str, *, own_rate: bool = False, needs_rgb: bool = False, **defaults: Any):
    """Register the decorated factory as augmentation `name` with argument `defaults`."""
    defaults.setdefault("change_rate", 1.0)

    def decorator(make):
        AUGMENTATIONS.add(name, AugmentationSpec(make, defaults, own_rate, needs_rgb))
        return make

    return decorator


def check_args(name: str, given: dict[str, Any] | None) -> dict[str, Any]:
    """The full argument dict of augmentation `name`: defaults overridden by `given`.

    Raises:
        UnknownNameError: `name` is not a registered augmentation (valid names listed).
        ConfigError: an unknown or missing argument (valid arguments listed).
    """
    spec = AUGMENTATIONS.get(name)
    given = dict(given or {})
    where = f"data_augmentation.{name}"
    if "pixels_range" in given:
        raise ConfigError(
            f"{where}: `pixels_range` is managed by reidtool (raw pixels 0..255); remove it"
        )
    unknown = [k for k in given if k not in spec.defaults]
    if unknown:
        raise ConfigError(
            f"{where}: unknown argument(s) {', '.join(unknown)}; valid: {', '.join(spec.defaults)}"
        )
    args = {**spec.defaults, **given}
    missing = [
        k for k, v in args.items() if v is REQUIRED or (v is None and spec.defaults[k] is REQUIRED)
    ]
    if missing:
        raise ConfigError(f"{where}: missing argument(s) {', '.join(missing)}")
    rate = args["change_rate"]
    if not isinstance(rate, int | float) or not 0.0 <= float(rate) <= 1.0:
        raise ConfigError(f"{where}.change_rate must be a number in [0, 1]; received {rate!r}")
    return args


def value_range(
    name: str, key: str, value: Any, around: float | None = None
) -> tuple[float, float]:
    """A (low, high) range from a config value: a pair as is, a number f as (around−f, around+f)
    (or (−f, f) when `around` is None)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        centre = 0.0 if around is None else around
        return (centre - abs(float(value)), centre + abs(float(value)))
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int | float) for v in value)
    ):
        low, high = float(value[0]), float(value[1])
        if low > high:
            raise ConfigError(
                f"data_augmentation.{name}.{key}: expected (low, high) with low <= high; "
                f"received {value!r}"
            )
        return low, high
    raise ConfigError(
        f"data_augmentation.{name}.{key}: expected a number or a (low, high) pair; "
        f"received {value!r}"
    )


class Rng:
    """Random draws for augmentations from one Keras `SeedGenerator` (seeded, checkpointable)."""

    def __init__(self, seed_generator: keras.random.SeedGenerator, base_seed: int | None):
        self.generator = seed_generator
        self.base_seed = base_seed
        self._layer_count = 0

    def uniform(self, shape, low: float = 0.0, high: float = 1.0) -> tf.Tensor:
        return keras.random.uniform(shape, minval=low, maxval=high, seed=self.generator)

    def normal(self, shape, stddev: float | tf.Tensor = 1.0) -> tf.Tensor:
        return keras.random.normal(shape, stddev=1.0, seed=self.generator) * stddev

    def per_image(self, images: tf.Tensor, low: float, high: float) -> tf.Tensor:
        """One draw per image, shaped (B, 1, 1, 1) to broadcast over pixels."""
        return self.uniform((tf.shape(images)[0], 1, 1, 1), low, high)

    def layer_seed(self) -> int | None:
        """A distinct seed for each Keras preprocessing layer an augmentation builds."""
        self._layer_count += 1
        return None if self.base_seed is None else int(self.base_seed) + 7919 * self._layer_count


def to_unit(images: tf.Tensor) -> tf.Tensor:
    return images / PIXEL_MAX


def from_unit(images: tf.Tensor) -> tf.Tensor:
    return images * PIXEL_MAX
