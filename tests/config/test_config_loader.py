"""The config layer: Hydra composition, one-line errors naming the key, seed string forms,
`${NAME}` resolution, the run directory."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from toolchain.config import load_config
from toolchain.config.reference import schema_markdown
from toolchain.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

BASE = """
general:
model:
  model_name: tinynet
  input_shape: (64, 32, 3)
operation_mode: training
dataset:
  training_path: ${DATA_DIR}/reid_train
preprocessing:
  rescaling:
    scale: 1/127.5
    offset: -1
training:
  batch_size: 32
  epochs: 2
  frozen_layers: None
mlflow:
  uri: mlruns
"""


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "cfg.yaml"
    path.write_text(BASE)
    return path


def error_of(path, *overrides) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides=list(overrides), create_run_dir=False)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_seed_string_forms_parse(config_file, tmp_path):
    loaded = load_config(config_file, create_run_dir=False)
    cfg = loaded.cfg
    assert cfg.model.input_shape == (64, 32, 3)
    assert cfg.preprocessing.rescaling.scale == pytest.approx(1 / 127.5)
    assert cfg.preprocessing.rescaling.offset == -1.0
    assert cfg.training.frozen_layers is None
    assert cfg.dataset.training_path == f"{tmp_path}/data/reid_train"
    assert cfg.dataset.validation_split == 0.2  # defaults filled in
    assert cfg.training.triplet_loss.margin == 0.3


def test_list_form_and_overrides(config_file):
    loaded = load_config(
        config_file,
        overrides=[
            "model.input_shape=[32,16,3]",
            "training.epochs=5",
            "+dataset.seed=7",
            "~training.frozen_layers",
        ],
        create_run_dir=False,
    )
    assert loaded.cfg.model.input_shape == (32, 16, 3)
    assert loaded.cfg.training.epochs == 5
    assert loaded.cfg.dataset.seed == 7


def test_unknown_key_names_it_and_the_closest(config_file):
    message = error_of(config_file, "+training.bogus=1")
    assert "training.bogus" in message
    message = error_of(config_file, "+training.epoch=1")
    assert "training.epoch" in message and "did you mean training.epochs" in message
    message = error_of(config_file, "training.batch_sise=3")  # not in the file: Hydra's error
    assert "training.batch_sise" in message and "training.batch_size" in message


def test_wrong_type_and_range_name_key_and_value(config_file):
    message = error_of(config_file, "training.epochs=abc")
    assert "training.epochs" in message and "'abc'" in message
    message = error_of(config_file, "training.epochs=0")
    assert "training.epochs" in message and "greater than or equal to 1" in message
    message = error_of(config_file, "++preprocessing.resizing.aspect_ratio=stretch")
    assert "aspect_ratio" in message and "'fit', 'crop' or 'padding'" in message


def test_mandatory_and_exclusive_keys(config_file):
    assert "model.model_name and model.model_path" in error_of(
        config_file, "++model.model_path=m.keras"
    )
    assert "model.input_shape is required" in error_of(config_file, "~model.input_shape")
    assert "missing mandatory key mlflow" in error_of(config_file, "~mlflow")
    assert "training.epochs" in error_of(config_file, "~training.epochs")
    message = error_of(config_file, "+dataset.test_query_path=q")
    assert "test_gallery_path" in message


def test_mode_requirements(config_file):
    message = error_of(config_file, "operation_mode=evaluation")
    assert "model.model_path is required" in message


def test_hydra_errors_are_one_line(config_file):
    assert "foo==" in error_of(config_file, "foo==")
    (config_file.parent / "bad.yaml").write_text("model: [unclosed\n")
    assert "not valid YAML" in error_of(config_file.parent / "bad.yaml")
    assert "does not exist" in error_of(config_file.parent / "nope.yaml")


def test_variables_top_level_then_environment(config_file, monkeypatch):
    text = BASE.replace("${DATA_DIR}", "${MODELS_DIR}") + "MODELS_DIR: /models\n"
    config_file.write_text(text)
    assert (
        load_config(config_file, create_run_dir=False).cfg.dataset.training_path
        == "/models/reid_train"
    )
    config_file.write_text(BASE.replace("${DATA_DIR}", "${NOT_SET_ANYWHERE}"))
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    message = error_of(config_file)
    assert "dataset.training_path" in message and "NOT_SET_ANYWHERE" in message


def test_run_directory_and_resolved_config(config_file, tmp_path):
    loaded = load_config(
        config_file, overrides=["hydra.run.dir=out/${now:%Y}", "general.logs_dir=tb"]
    )
    root = loaded.run.root
    assert root.is_dir() and root.parent == Path("out") and len(root.name) == 4
    assert loaded.run.logs_dir == root / "tb"
    saved = yaml.safe_load((root / "config.yaml").read_text())
    assert saved["training"]["epochs"] == 2 and saved["hydra"]["run"]["dir"] == str(root)
    assert "${" not in (root / "config.yaml").read_text()


def test_default_run_directory_is_timestamped(config_file):
    loaded = load_config(config_file, create_run_dir=False)
    assert loaded.run.root.parent == Path("experiments_outputs")
    assert loaded.run.root.name[:2] == "20"


def test_config_path_and_name(config_file):
    loaded = load_config(config_path=config_file.parent, config_name="cfg", create_run_dir=False)
    assert loaded.cfg.operation_mode == "training"
    message = error_of(config_file, "operation_mode=chain_tqe")
    assert "chain_tqe needs dataset.test_query_path" in message
    loaded = load_config(
        config_file,
        overrides=["dataset.test_query_path=q", "dataset.test_gallery_path=g"],
        operation_mode="chain_tqe",
        create_run_dir=False,
    )
    assert loaded.cfg.steps == ("training", "quantization", "evaluation")


def test_custom_model_extra_keys(config_file):
    loaded = load_config(
        config_file,
        overrides=["model.model_name=custom_model", "+model.alpha=0.5", "+model.depth=3"],
        create_run_dir=False,
    )
    assert loaded.cfg.model.model_extra == {"depth": 3}
    assert "model.depth" in error_of(config_file, "+model.depth=3")


def test_docs_config_reference_in_sync():
    docs = (ROOT / "docs" / "config.md").read_text()
    assert docs == schema_markdown(), (
        "regenerate: reidtool config schema --markdown > docs/config.md"
    )
