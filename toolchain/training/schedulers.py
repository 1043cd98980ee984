"""Learning-rate schedulers of ST's model zoo, as Keras callbacks in one registry.

Each scheduler sets the optimizer's learning rate at the beginning of every epoch from a pure
function of the epoch index (`schedule(epoch)`), and records it as `lr` in the epoch's logs so
it reaches training_log.csv, TensorBoard and MLflow. Being pure functions of the epoch, they
resume exactly after an interruption and can be plotted before training (`reidtool plot-lr`).
The argument names are the model zoo's, so its configuration files work unchanged.

Example (YAML):
    training:
      callbacks:
        LRCosineDecay: {initial_lr: 0.01, hold_steps: 5, decay_steps: 40, end_lr: 1.0e-5}
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any

import keras

from toolchain.errors import ConfigError
from toolchain.registry import Registry

SCHEDULERS: Registry = Registry("learning rate scheduler")


class EpochLRScheduler(keras.callbacks.Callback):
    """Base class: sets `optimizer.learning_rate = schedule(epoch)` at each epoch start.

    Subclasses list their arguments in `__init__` (all keyword, `None` = mandatory) and
    implement `schedule(epoch) -> float`. `get_config()` gives the arguments back as plain
    values and `from_config()` rebuilds an equal scheduler.
    """

    def __init__(self, verbose: int = 0, **args: Any):
        super().__init__()
        missing = [k for k, v in args.items() if v is None]
        if missing:
            raise ConfigError(
                f"Learning rate scheduler `{type(self).__name__}`: missing argument(s) "
                f"{', '.join(missing)}; expected {', '.join(args)}"
            )
        self._args = dict(args)
        for key, value in args.items():
            setattr(self, key, value)
        self.verbose = verbose
        self.current_lr: float | None = None

    def schedule(self, epoch: int) -> float:
        raise TypeError(f"{type(self).__name__} must implement schedule(epoch)")

    def on_epoch_begin(self, epoch, logs=None):
        lr = float(self.schedule(int(epoch)))
        self.model.optimizer.learning_rate = lr
        self.current_lr = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: {type(self).__name__} sets the learning rate to {lr:.4e}")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def get_config(self) -> dict[str, Any]:
        return {**self._args, "verbose": self.verbose}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> EpochLRScheduler:
        return cls(**config)


def _cosine(fraction: float, start: float, end: float) -> float:
    """Cosine interpolation from `start` (fraction 0) to `end` (fraction 1)."""
    fraction = min(max(fraction, 0.0), 1.0)
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * fraction))


@SCHEDULERS.register("LRLinearDecay")
class LRLinearDecay(EpochLRScheduler):
    """Hold `initial_lr` for `hold_steps` epochs, then decay linearly to `end_lr` over
    `decay_steps` epochs, then hold `end_lr`."""

    def __init__(self, initial_lr=None, hold_steps=None, decay_steps=None, end_lr=None, verbose=0):
        super().__init__(
            verbose,
            initial_lr=initial_lr,
            hold_steps=hold_steps,
            decay_steps=decay_steps,
            end_lr=end_lr,
        )

    def schedule(self, epoch):
        if epoch < self.hold_steps - 1:
            return self.initial_lr
        if epoch >= self.hold_steps + self.decay_steps:
            return self.end_lr
        step = epoch - self.hold_steps + 1
        return self.initial_lr + (self.end_lr - self.initial_lr) * step / self.decay_steps


@SCHEDULERS.register("LRExponentialDecay")
class LRExponentialDecay(EpochLRScheduler):
    """Hold `initial_lr` for `hold_steps` epochs, then `initial_lr·exp(−decay_rate·t)`, never
    below `min_lr`."""

    def __init__(self, initial_lr=None, hold_steps=None, decay_rate=None, min_lr=0.0, verbose=0):
        super().__init__(
            verbose,
            initial_lr=initial_lr,
            hold_steps=hold_steps,
            decay_rate=decay_rate,
            min_lr=min_lr,
        )

    def schedule(self, epoch):
        if epoch < self.hold_steps - 1:
            return self.initial_lr
        step = epoch - self.hold_steps + 1
        return max(self.initial_lr * math.exp(-self.decay_rate * step), self.min_lr)


@SCHEDULERS.register("LRStepDecay")
class LRStepDecay(EpochLRScheduler):
    """Multiply `initial_lr` by `decay_rate` every `step_size` epochs, never below `min_lr`."""

    def __init__(self, initial_lr=None, step_size=None, decay_rate=None, min_lr=0.0, verbose=0):
        super().__init__(
            verbose,
            initial_lr=initial_lr,
            step_size=step_size,
            decay_rate=decay_rate,
            min_lr=min_lr,
        )

    def schedule(self, epoch):
        drops = math.floor((1 + epoch) / self.step_size)
        return max(self.initial_lr * self.decay_rate**drops, self.min_lr)


@SCHEDULERS.register("LRCosineDecay")
class LRCosineDecay(EpochLRScheduler):
    """Hold `initial_lr` for `hold_steps` epochs, then a cosine to `end_lr` over `decay_steps`."""

    def __init__(self, initial_lr=None, hold_steps=None, decay_steps=None, end_lr=None, verbose=0):
        super().__init__(
            verbose,
            initial_lr=initial_lr,
            hold_steps=hold_steps,
            decay_steps=decay_steps,
            end_lr=end_lr,
        )

    def schedule(self, epoch):
        if epoch < self.hold_steps:
            return self.initial_lr
        step = epoch - self.hold_steps + 1
        return _cosine(step / self.decay_steps, self.initial_lr, self.end_lr)


@SCHEDULERS.register("LRWarmupCosineDecay")
class LRWarmupCosineDecay(EpochLRScheduler):
    """Linear warmup from `initial_lr` to `max_lr` over `warmup_steps`, hold `max_lr` for
    `hold_steps`, cosine to `end_lr` over `decay_steps`, then hold `end_lr`."""

    def __init__(
        self,
        initial_lr=None,
        warmup_steps=None,
        max_lr=None,
        hold_steps=None,
        decay_steps=None,
        end_lr=None,
        verbose=0,
    ):
        super().__init__(
            verbose,
            initial_lr=initial_lr,
            warmup_steps=warmup_steps,
            max_lr=max_lr,
            hold_steps=hold_steps,
            decay_steps=decay_steps,
            end_lr=end_lr,
        )

    def schedule(self, epoch):
        if epoch < self.warmup_steps - 1:
            return self.initial_lr + (self.max_lr - self.initial_lr) * epoch / self.warmup_steps
        if epoch < self.warmup_steps + self.hold_steps:
            return self.max_lr
        step = epoch - self.warmup_steps - self.hold_steps
        return _cosine(step / self.decay_steps, self.max_lr, self.end_lr)


@SCHEDULERS.register("LRCosineDecayRestarts")
class LRCosineDecayRestarts(EpochLRScheduler):
    """SGDR (Loshchilov & Hutter): cosine periods of `first_decay_steps·t_mul**i` epochs, each
    starting from `initial_lr·m_mul**i` and ending at `end_lr`."""

    def __init__(
        self, initial_lr=None, first_decay_steps=None, end_lr=None, t_mul=2, m_mul=1.0, verbose=0
    ):
        super().__init__(
            verbose,
            initial_lr=initial_lr,
            first_decay_steps=first_decay_steps,
            end_lr=end_lr,
            t_mul=t_mul,
            m_mul=m_mul,
        )

    def schedule(self, epoch):
        fraction = epoch / self.first_decay_steps
        if self.t_mul == 1:
            restart = math.floor(fraction)
            fraction -= restart
        else:
            restart = math.floor(
                math.log(1.0 - fraction * (1.0 - self.t_mul)) / math.log(self.t_mul)
            )
            done = (1.0 - self.t_mul**restart) / (1.0 - self.t_mul)
            fraction = (fraction - done) / self.t_mul**restart
        alpha = self.end_lr / self.initial_lr
        cosine = 0.5 * self.m_mul**restart * (1.0 + math.cos(math.pi * fraction))
        return self.initial_lr * ((1.0 - alpha) * cosine + alpha)


@SCHEDULERS.register("LRPolynomialDecay")
class LRPolynomialDecay(EpochLRScheduler):
    """Hold `initial_lr` for `hold_steps`, then `(initial−end)·(1−t/decay_steps)**power + end`."""

    default_power = 0.5

    def __init__(
        self, initial_lr=None, hold_steps=None, decay_steps=None, end_lr=None, power=None, verbose=0
    ):
        super().__init__(
            verbose,
            initial_lr=initial_lr,
            hold_steps=hold_steps,
            decay_steps=decay_steps,
            end_lr=end_lr,
            power=self.default_power if power is None else power,
        )

    def fraction(self, step: int) -> float:
        """How far the decay is after `step` epochs past the hold, 0..1."""
        return min(step, self.decay_steps) / self.decay_steps

    def schedule(self, epoch):
        if epoch < self.hold_steps - 1:
            return self.initial_lr
        p = self.fraction(epoch - self.hold_steps + 1)
        return (self.initial_lr - self.end_lr) * (1.0 - p) ** self.power + self.end_lr


@SCHEDULERS.register("LRPolynomialDecayRestarts")
class LRPolynomialDecayRestarts(LRPolynomialDecay):
    """Like LRPolynomialDecay, restarting from `initial_lr` every `decay_steps` epochs."""

    default_power = 0.7

    def fraction(self, step: int) -> float:
        return step / (self.decay_steps * math.ceil(step / self.decay_steps)) if step > 0 else 0.0


@SCHEDULERS.register("LRPiecewiseConstantDecay")
class LRPiecewiseConstantDecay(EpochLRScheduler):
    """`values[i]` while epoch < `boundaries[i]`; `values[-1]` after the last boundary."""

    def __init__(self, boundaries=None, values=None, verbose=0):
        super().__init__(
            verbose,
            boundaries=None if boundaries is None else list(boundaries),
            values=None if values is None else list(values),
        )
        if len(self.boundaries) != len(self.values) - 1:
            raise ConfigError(
                "LRPiecewiseConstantDecay: `values` must have one more element than `boundaries`; "
                f"received boundaries={self.boundaries}, values={self.values}"
            )

    def schedule(self, epoch):
        for bound, value in zip(self.boundaries, self.values[:-1], strict=True):
            if epoch < bound:
                return value
        return self.values[-1]


def build_scheduler(name: str, kwargs: dict[str, Any] | None) -> EpochLRScheduler:
    """Instantiate scheduler `name` with `kwargs`; unknown arguments list the valid ones."""
    cls = SCHEDULERS.get(name)
    kwargs = dict(kwargs or {})
    valid = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = [k for k in kwargs if k not in valid]
    if unknown:
        raise ConfigError(
            f"training.callbacks.{name}: unknown argument(s) {', '.join(unknown)}; "
            f"valid: {', '.join(valid)}"
        )
    return cls(**kwargs)


def lr_curve(callbacks: dict[str, Any] | None, epochs: int) -> tuple[str, list[float]]:
    """The (scheduler name, learning rate per epoch) of the one zoo scheduler in `callbacks`."""
    for name, kwargs in (callbacks or {}).items():
        if name in SCHEDULERS:
            scheduler = build_scheduler(name, kwargs)
            return name, [float(scheduler.schedule(e)) for e in range(int(epochs))]
    if callbacks and ("ReduceLROnPlateau" in callbacks):
        raise ConfigError(
            "plot-lr cannot plot ReduceLROnPlateau: its schedule depends on the "
            "validation loss and is only known after training"
        )
    raise ConfigError(
        "training.callbacks names no learning rate scheduler to plot; expected one of "
        + ", ".join(SCHEDULERS.names())
    )


def plot_lr(cfg: Any, out: str | Path | None = None) -> Path:
    """Plot the learning-rate schedule of `cfg.training` over `cfg.training.epochs` epochs.

    Args:
        cfg: the loaded configuration (`cfg.training.callbacks`, `cfg.training.epochs`).
        out: the PNG to write; default `lr_schedule.png` in the current folder.

    Returns:
        The path of the written PNG.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from toolchain.files import atomic_write

    training = cfg.training
    callbacks = _as_dict(getattr(training, "callbacks", None))
    name, values = lr_curve(callbacks, int(training.epochs))
    out = Path(out or "lr_schedule.png")
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(range(1, len(values) + 1), values)
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.set_title(name)
    ax.grid(True, alpha=0.3)
    atomic_write(out, lambda tmp: fig.savefig(tmp, format="png", dpi=100), suffix=".png")
    plt.close(fig)
    return out


def _as_dict(value: Any) -> dict[str, Any]:
    """A callbacks section as a plain {name: kwargs} dict (pydantic models and OmegaConf too)."""
    if value is None:
        return {}
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    try:
        from omegaconf import DictConfig, OmegaConf

        if isinstance(value, DictConfig):
            value = OmegaConf.to_container(value, resolve=True)
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        pass
    return {k: (dict(v) if v else {}) for k, v in dict(value).items()}
