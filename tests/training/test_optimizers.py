"""training.optimizer: any Keras optimizer by name, bare or with arguments."""

from __future__ import annotations

import keras
import pytest

from toolchain.errors import ConfigError
from toolchain.training.optimizers import build_optimizer, optimizer_classes, parse_optimizer


def test_forms():
    assert isinstance(build_optimizer("Adam"), keras.optimizers.Adam)
    assert isinstance(build_optimizer("rmsprop"), keras.optimizers.RMSprop)
    sgd = build_optimizer({"SGD": {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}})
    assert isinstance(sgd, keras.optimizers.SGD) and sgd.nesterov and sgd.momentum == 0.9
    assert float(sgd.learning_rate) == pytest.approx(0.05)
    assert parse_optimizer({"adamw": None}) == ("AdamW", {})
    assert {"Adam", "AdamW", "SGD", "RMSprop", "Nadam", "Lion"} <= set(optimizer_classes())


def test_errors_list_valid_names_and_arguments():
    with pytest.raises(ConfigError, match="unknown optimizer 'Adm'.*Adam"):
        build_optimizer("Adm")
    with pytest.raises(ConfigError, match="Adam: unknown argument.*lr.*valid: learning_rate"):
        build_optimizer({"Adam": {"lr": 0.1}})
    with pytest.raises(ConfigError, match="expected a name"):
        build_optimizer({"Adam": {}, "SGD": {}})
