"""augment-preview: real images from the training folder, before/after, written as a PNG."""

from __future__ import annotations

from types import SimpleNamespace as NS

import numpy as np
import pytest
from PIL import Image

from toolchain.errors import ConfigError
from toolchain.training.augment_preview import augment_preview, preview_images


def test_preview_grid(cfg_factory, tmp_path):
    cfg = cfg_factory()
    cfg.data_augmentation = [
        NS(name="random_invert", args={"change_rate": 1.0}),
        NS(name="random_flip", args={"mode": "vertical", "change_rate": 1.0}),
    ]
    before, after = preview_images(cfg, n=4)
    assert before.shape == after.shape == (4, 32, 16, 3) and after.dtype == np.uint8
    np.testing.assert_array_equal(after, 255 - before[:, ::-1])
    out = augment_preview(cfg, n=4, out=tmp_path / "grid.png")
    with Image.open(out) as im:
        assert im.format == "PNG" and im.width > im.height / 2


def test_preview_needs_augmentation(cfg_factory):
    cfg = cfg_factory()
    cfg.data_augmentation = None
    with pytest.raises(ConfigError, match="no data_augmentation"):
        preview_images(cfg)
