"""Fixtures of the training tests: a tiny learnable image set and a matching config.

The config is a plain namespace with the attributes `ReidConfig` exposes (CONTRACTS §4), so the
trainer is exercised on exactly the values it reads; the images are real PNG files read through
the data stage.
"""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace as NS

import numpy as np
import pytest
from PIL import Image

from toolchain.rundir import RunDir

H, W = 32, 16


def write_identities(folder: Path, identities: int, per_id: int, seed: int = 0) -> Path:
    """Person-like crops: identity = (top colour, bottom colour, stripe position) + noise."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    palette = np.random.default_rng(1000).integers(30, 226, size=(identities, 2, 3))
    for ident in range(identities):
        for j in range(per_id):
            img = np.zeros((H, W, 3), np.float32)
            img[: H // 2] = palette[ident, 0]
            img[H // 2 :] = palette[ident, 1]
            row = 4 + (ident * 5) % (H - 8)
            img[row : row + 2] = 255 - palette[ident, 0]
            img += rng.normal(0, 12, img.shape)
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
                folder / f"{ident:04d}_c{j % 2}_{j}.jpg", quality=95
            )
    return folder


@pytest.fixture(scope="session")
def tiny_reid_set(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny_reid_set")
    write_identities(root / "train", identities=12, per_id=8, seed=0)
    return root


def make_cfg(data: Path, **training) -> NS:
    """A training config over `data/train` (tinynet, 32x16 RGB, P×K = 4×4)."""
    train = dict(
        batch_size=16,
        epochs=2,
        optimizer={"Adam": {"learning_rate": 0.003}},
        dropout=None,
        frozen_layers=None,
        callbacks=None,
        resume_training_from=None,
        trained_model_path=None,
        dryrun=None,
        triplet_loss=NS(margin=0.3, strategy="semi_hard", distance_metric="cosine"),
        label_smoothing=0.1,
        loss_weights=None,
        distribution=None,
    )
    train.update(training)
    return NS(
        operation_mode="training",
        general=NS(
            project_name="t",
            logs_dir="logs",
            saved_models_dir="saved_models",
            global_seed=3,
            deterministic_ops=False,
            display_figures=False,
        ),
        model=NS(
            model_name="tinynet",
            model_path=None,
            pretrained=False,
            input_shape=(H, W, 3),
            embedding_dim=None,
            bnneck=False,
            pretrained_weights=None,
        ),
        dataset=NS(
            dataset_name="tiny",
            class_names=None,
            training_path=str(data / "train"),
            validation_path=None,
            validation_split=0.25,
            test_query_path=None,
            test_gallery_path=None,
            quantization_path=None,
            quantization_split=None,
            check_image_files=False,
            seed=5,
            camera_regex=None,
            instances_per_identity=4,
        ),
        preprocessing=NS(
            rescaling=NS(scale=1 / 127.5, offset=-1.0),
            resizing=NS(interpolation="bilinear", aspect_ratio="fit"),
            color_mode="rgb",
        ),
        data_augmentation=[NS(name="random_flip", args={"mode": "horizontal"})],
        custom_data_augmentation=None,
        training=NS(**train),
        mlflow=NS(uri=None),
    )


@pytest.fixture
def cfg_factory(tiny_reid_set):
    def factory(**training):
        return make_cfg(tiny_reid_set, **training)

    return factory


def run_dir(path: Path) -> RunDir:
    return RunDir(path).create()


def clone(cfg: NS) -> NS:
    return copy.deepcopy(cfg)
