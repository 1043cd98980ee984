"""Every example config in configs/ validates, and so do real model-zoo-shaped configs.

The examples mirror ST model zoo's re_identification `config_file_examples/` (paths under
./datasets and ./pretrained_models); the inline configs below carry the zoo's own habits (empty
sections, `key:` with no value, zoo-only keys reidtool accepts and ignores), so a user's zoo
file runs unchanged (CONTRACTS §4).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from toolchain.config import load_config
from toolchain.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
EXAMPLES = sorted(CONFIGS.rglob("*.yaml"))
#: The seed's examples reidtool mirrors (besides quickstart.yaml and configs/tgc2020/).
SEED_SHAPED = (
    "training",
    "evaluation",
    "quantization",
    "prediction",
    "benchmarking",
    "deployment",
    "chain_tqe",
    "chain_tqeb",
    "chain_eqe",
    "chain_qd",
)
DATA_DIR = "/data/synthetic_players"


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("DATA_DIR", DATA_DIR)


def _load(path: Path):
    return load_config(path, create_run_dir=False)


def test_the_seed_shaped_examples_are_all_there():
    names = {p.name for p in EXAMPLES}
    assert {f"{mode}_config.yaml" for mode in SEED_SHAPED} <= names
    assert "quickstart.yaml" in names


@pytest.mark.parametrize("path", EXAMPLES, ids=[str(p.relative_to(CONFIGS)) for p in EXAMPLES])
def test_every_example_config_validates(path):
    loaded = _load(path)
    cfg = loaded.cfg
    assert "${" not in repr(loaded.raw)  # every variable resolved (${DATA_DIR}, ${MODELS_DIR})
    assert cfg.mlflow.uri and cfg.hydra.run.dir
    match = re.fullmatch(r"(.+)_config\.yaml", path.name)
    if match:  # <mode>_config.yaml runs that mode, with the seed's folder layout
        assert cfg.operation_mode == match.group(1)
        paths = [cfg.model.model_path] + [
            getattr(cfg.dataset, key)
            for key in type(cfg.dataset).model_fields
            if key.endswith("_path")
        ]
        for value in filter(None, paths):
            assert value.startswith(("./datasets/", "./pretrained_models/")), value


def test_names_in_the_examples_are_registered():
    # The schema takes these as strings; the stages look them up in their registries.
    import toolchain.boards  # noqa: F401  (registers the boards)
    import toolchain.models  # noqa: F401  (registers the backbones)
    import toolchain.training.augmentation  # noqa: F401  (registers the augmentations)
    from toolchain.boards.base import BOARDS
    from toolchain.models.registry import MODELS
    from toolchain.training.augmentations.base import AUGMENTATIONS

    seen = set()
    for path in EXAMPLES:
        cfg = _load(path).cfg
        if cfg.model.model_name:
            seen.add(MODELS.canonical(cfg.model.model_name))
        for board in (cfg.deployment.board, cfg.benchmarking.board):
            if board:
                BOARDS.get(board)
        for name in cfg.data_augmentation or {}:
            AUGMENTATIONS.get(name)
    assert {"tinynet", "mobilenetv2_a035", "osnet_a025"} <= seen


def test_example_values_come_through():
    quick = _load(CONFIGS / "quickstart.yaml").cfg
    assert quick.dataset.training_path == f"{DATA_DIR}/reid_train"
    assert quick.model.input_shape == (64, 32, 3)
    assert quick.preprocessing.rescaling.scale == pytest.approx(1 / 127.5)

    deploy = _load(CONFIGS / "deployment_config.yaml").cfg
    assert deploy.deployment.board == deploy.deployment.hardware_setup.board == "STM32N6570-DK"
    assert deploy.deployment.hardware_setup.serie == "STM32N6"

    chain_qd = _load(CONFIGS / "chain_qd_config.yaml").cfg
    assert chain_qd.model.model_path == (
        "./pretrained_models/mobilenetv2_a035_256_128/mobilenetv2_a035_256_128.keras"
    )
    assert chain_qd.steps == ("quantization", "deployment")
    assert chain_qd.preprocessing.rescaling.offset == -1.0  # the flow-style mapping

    training = _load(CONFIGS / "training_config.yaml").cfg
    assert training.training.triplet_loss.strategy == "semi_hard"  # under training, not top level
    assert training.training.frozen_layers is None and training.model.pretrained is None


# --------------------------------------------------------------------------- zoo-shaped files

ZOO_TAIL = """
mlflow:
   uri: ./tf/src/experiments_outputs/mlruns

hydra:
   run:
      dir: ./tf/src/experiments_outputs/${now:%Y_%m_%d_%H_%M_%S}
"""

ZOO_PREPROCESSING = """
preprocessing:
   rescaling:
      scale: 1/127.5
      offset: -1
   resizing:
      interpolation: nearest
      aspect_ratio: fit
   color_mode: rgb
"""

ZOO_CONFIGS = {
    "training_pretrained_empty": """
general:
   project_name: reid
   saved_models_dir: saved_models
   global_seed: 127

model:
   model_name: mobilenetv2_a035
   pretrained:
   input_shape: (256, 128, 3)

operation_mode: training

dataset:
   dataset_name: DeepSportradar
   training_path: ./datasets/DeepSportradar-ReID/reid_training
   validation_path:
   validation_split: 0.2
   check_image_files: False
   seed: 127

training:
   frozen_layers: (0:-1)
   batch_size: 64
   epochs: 2
   optimizer:
      Adam:
         learning_rate: 0.01
   triplet_loss:
      margin: 0.3
      strategy: semi_hard
      distance_metric: cosine
""",
    "quantization_onnx": """
general:

model:
   model_path: ./pretrained_models/osnet_a100_256_128_tfs.keras

operation_mode: quantization

dataset:
   quantization_path: ./datasets/DeepSportradar-ReID/reid_training
   quantization_split: 0.2

quantization:
   quantizer: Onnx_quantizer
   quantization_type: PTQ
   quantization_input_type: float
   quantization_output_type: float
   granularity: per_channel
   optimize: False
   target_opset: 17
   export_dir: quantized_models
   onnx_extra_options:
      CalibMovingAverage: True
""",
    "evaluation_n6": """
general:

model:
   model_path: ./pretrained_models/osnet_a100_256_128_tfs_int8.tflite

operation_mode: evaluation

evaluation:
   profile: profile_O3
   input_type: uint8     # int8 / uint8 / float32
   output_type: int8     # int8 / uint8 / float32
   input_chpos: chlast   # chlast / chfirst
   output_chpos: chlast  # chlast / chfirst
   target: stedgeai_n6 # host, stedgeai_host, stedgeai_n6
   reid_distance_metric: cosine

dataset:
   test_query_path:        ./datasets/DeepSportradar-ReID/reid_test/query
   test_gallery_path:      ./datasets/DeepSportradar-ReID/reid_test/gallery

tools:
   stedgeai:
      path_to_stedgeai: C:/ST/STEdgeAI/3.0/Utilities/windows/stedgeai.exe
""",
    "prediction_n6": """
model:
   model_path: ./pretrained_models/osnet_a100_256_128_tfs_int8.tflite

operation_mode: prediction

prediction:
   profile: profile_O3
   input_type: uint8
   output_type: int8
   input_chpos: chlast
   output_chpos: chlast
   target: stedgeai_n6
   reid_distance_metric: cosine

dataset:
   prediction_query_path:       ./datasets/DeepSportradar-ReID/reid_test/query
   prediction_gallery_path:      ./datasets/DeepSportradar-ReID/reid_test/gallery
""",
    "deployment_app": """
general:

model:
  model_path: ./pretrained_models/osnet_a100_256_128_tfs_int8.tflite

operation_mode: deployment

tools:
  stedgeai:
    optimization: balanced
    on_cloud: False
    path_to_stedgeai: C:/ST/STEdgeAI/<x.y>/Utilities/windows/stedgeai.exe
  path_to_cubeIDE: C:/ST/STM32CubeIDE_<*.*.*>/STM32CubeIDE/stm32cubeide.exe

deployment:
  c_project_path: ../application_code/re_identification/STM32N6/
  IDE: GCC
  verbosity: 1
  hardware_setup:
    serie: STM32N6
    board: STM32N6570-DK

app:
  max_object_detect: 20
  max_object_tracking: 10
  score_threshold: 0.5
  lost_time_in_ms: 60000
  start_tracking_conf_threshold: 0.9
""",
}


def _zoo_file(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(body + ZOO_PREPROCESSING + ZOO_TAIL)
    return path


@pytest.mark.parametrize("name", sorted(ZOO_CONFIGS))
def test_zoo_shaped_configs_validate(tmp_path, name):
    cfg = _load(_zoo_file(tmp_path, name, ZOO_CONFIGS[name])).cfg
    assert cfg.preprocessing.rescaling.scale == pytest.approx(1 / 127.5)
    assert cfg.preprocessing.resizing.interpolation == "nearest"
    assert cfg.general.logs_dir == "logs" and cfg.general.global_seed in (123, 127)
    checks = {
        "training_pretrained_empty": lambda: (
            cfg.model.pretrained is None
            and cfg.model.input_shape == (256, 128, 3)
            and cfg.dataset.validation_path is None
            and cfg.training.frozen_layers == "(0:-1)"
            and cfg.training.triplet_loss.margin == pytest.approx(0.3)
        ),
        "quantization_onnx": lambda: (
            cfg.quantization.quantizer == "Onnx_quantizer"
            and cfg.quantization.onnx_extra_options == {"CalibMovingAverage": True}
            and cfg.quantization.target_opset == 17
            and cfg.quantization.quantization_input_type == "float"
        ),
        "evaluation_n6": lambda: (
            cfg.evaluation.target == "stedgeai_n6"
            and cfg.evaluation.input_chpos == "chlast"
            and cfg.evaluation.profile == "profile_O3"
        ),
        "prediction_n6": lambda: (
            cfg.prediction.target == "stedgeai_n6"
            and cfg.prediction.output_chpos == "chlast"
            and cfg.general.project_name is None
        ),
        "deployment_app": lambda: (
            cfg.app["max_object_detect"] == 20
            and cfg.deployment.hardware_setup.board == "STM32N6570-DK"
            and cfg.tools.stedgeai.on_cloud is False
        ),
    }
    assert checks[name]()


def test_the_seeds_misindented_triplet_loss_is_named(tmp_path):
    # The seed's own training example puts triplet_loss at the top level; reidtool says so
    # rather than silently training with the defaults.
    body = ZOO_CONFIGS["training_pretrained_empty"].replace(
        "   triplet_loss:\n      margin", "triplet_loss:\n      margin"
    )
    with pytest.raises(ConfigError, match="triplet_loss"):
        _load(_zoo_file(tmp_path, "misindented", body))
