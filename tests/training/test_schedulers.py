"""Zoo LR schedulers: config round trip for every class, values, effect on a real optimizer."""

from __future__ import annotations

import math
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from toolchain.errors import ConfigError, UnknownNameError
from toolchain.training.schedulers import SCHEDULERS, build_scheduler, lr_curve, plot_lr

EXAMPLES = {
    "LRLinearDecay": dict(initial_lr=0.01, hold_steps=4, decay_steps=10, end_lr=1e-4),
    "LRExponentialDecay": dict(initial_lr=0.01, hold_steps=3, decay_rate=0.1, min_lr=1e-4),
    "LRStepDecay": dict(initial_lr=0.01, step_size=5, decay_rate=0.5, min_lr=1e-4),
    "LRCosineDecay": dict(initial_lr=0.01, hold_steps=2, decay_steps=10, end_lr=1e-4),
    "LRWarmupCosineDecay": dict(
        initial_lr=1e-4, warmup_steps=3, max_lr=0.01, hold_steps=2, decay_steps=10, end_lr=1e-5
    ),
    "LRCosineDecayRestarts": dict(
        initial_lr=0.01, first_decay_steps=5, end_lr=1e-4, t_mul=2, m_mul=0.8
    ),
    "LRPolynomialDecay": dict(
        initial_lr=0.01, hold_steps=2, decay_steps=10, end_lr=1e-4, power=0.5
    ),
    "LRPolynomialDecayRestarts": dict(
        initial_lr=0.01, hold_steps=2, decay_steps=5, end_lr=1e-4, power=0.7
    ),
    "LRPiecewiseConstantDecay": dict(boundaries=[3, 6], values=[0.01, 0.005, 0.001]),
}


def test_every_registered_scheduler_has_an_example():
    assert sorted(EXAMPLES) == SCHEDULERS.names()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_config_round_trip(name):
    sched = build_scheduler(name, EXAMPLES[name])
    config = sched.get_config()
    assert {k: config[k] for k in EXAMPLES[name]} == EXAMPLES[name]
    again = type(sched).from_config(config)
    assert again.get_config() == config
    values = [sched.schedule(e) for e in range(30)]
    assert values == [again.schedule(e) for e in range(30)]
    assert all(v > 0 for v in values)


def test_values_by_hand():
    cos = build_scheduler("LRCosineDecay", EXAMPLES["LRCosineDecay"])
    assert cos.schedule(0) == cos.schedule(1) == 0.01
    # epoch 6: 5 of 10 decay steps done -> midpoint of 0.01 and 1e-4
    assert cos.schedule(6) == pytest.approx((0.01 + 1e-4) / 2)
    assert cos.schedule(50) == pytest.approx(1e-4)
    step = build_scheduler("LRStepDecay", EXAMPLES["LRStepDecay"])
    assert [step.schedule(e) for e in (0, 3, 4, 9, 14)] == pytest.approx(
        [0.01, 0.01, 0.005, 0.0025, 0.00125]
    )
    warm = build_scheduler("LRWarmupCosineDecay", EXAMPLES["LRWarmupCosineDecay"])
    assert warm.schedule(0) == pytest.approx(1e-4)
    assert warm.schedule(1) == pytest.approx(1e-4 + (0.01 - 1e-4) / 3)
    assert warm.schedule(4) == 0.01
    pw = build_scheduler("LRPiecewiseConstantDecay", EXAMPLES["LRPiecewiseConstantDecay"])
    assert [pw.schedule(e) for e in (0, 2, 3, 5, 6, 99)] == [0.01, 0.01, 0.005, 0.005, 0.001, 0.001]
    sgdr = build_scheduler("LRCosineDecayRestarts", EXAMPLES["LRCosineDecayRestarts"])
    assert sgdr.schedule(0) == pytest.approx(0.01)
    assert sgdr.schedule(5) == pytest.approx(0.01 * ((1 - 0.01) * 0.8 + 0.01))  # first restart
    expo = build_scheduler("LRExponentialDecay", EXAMPLES["LRExponentialDecay"])
    assert expo.schedule(4) == pytest.approx(0.01 * math.exp(-0.2))


def test_sets_the_optimizer_learning_rate_during_fit():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    sched = build_scheduler(
        "LRPiecewiseConstantDecay", dict(boundaries=[1, 2], values=[0.1, 0.05, 0.02])
    )
    hist = model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=3, verbose=0, callbacks=[sched])
    assert hist.history["lr"] == pytest.approx([0.1, 0.05, 0.02])


def test_errors_name_the_argument():
    with pytest.raises(ConfigError, match="decay_steps"):
        build_scheduler("LRCosineDecay", dict(initial_lr=0.1, hold_steps=1, end_lr=0.0))
    with pytest.raises(ConfigError, match="unknown argument.*warmup.*valid: initial_lr"):
        build_scheduler(
            "LRCosineDecay", dict(initial_lr=0.1, hold_steps=1, decay_steps=3, end_lr=0.0, warmup=2)
        )
    with pytest.raises(UnknownNameError, match="LRCosineDecay"):
        build_scheduler("LRCosineDecy", {})
    with pytest.raises(ConfigError, match="one more element"):
        build_scheduler("LRPiecewiseConstantDecay", dict(boundaries=[1, 2], values=[0.1]))


def test_plot_lr_writes_png(tmp_path):
    cfg = SimpleNamespace(
        training=SimpleNamespace(
            epochs=20,
            callbacks={
                "EarlyStopping": {"monitor": "val_loss"},
                "LRWarmupCosineDecay": EXAMPLES["LRWarmupCosineDecay"],
            },
        )
    )
    out = plot_lr(cfg, tmp_path / "lr.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    name, values = lr_curve(cfg.training.callbacks, 20)
    assert name == "LRWarmupCosineDecay" and len(values) == 20 and max(values) == 0.01
    with pytest.raises(ConfigError, match="ReduceLROnPlateau"):
        lr_curve({"ReduceLROnPlateau": {"monitor": "val_loss"}}, 5)
