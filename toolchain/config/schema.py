"""The typed configuration: one pydantic model per YAML section (CONTRACTS §4).

The keys are ST model zoo's spellings, so real zoo configs validate; reidtool's own additions
are marked "(reidtool)" in their descriptions. Every field's description is what
`reidtool config schema` prints and what `docs/config.md` is generated from.

Configs are validated once, at the edge (`toolchain.config.loader.load_config`); inner code
receives a `ReidConfig` and reads typed attributes (`cfg.training.batch_size`).

The seed's string forms parse here: `(256, 128, 3)` and `[256,128,3]` for tuples, `1/127.5`
for numbers, `None`/`True` for null and booleans (YAML already handles most of those).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

# --------------------------------------------------------------------------- string forms

_NULLS = {"", "none", "null", "~"}


def _none_text(value: Any) -> Any:
    """'None' / 'null' / '' → None (the seed writes `frozen_layers: None`)."""
    if isinstance(value, str) and value.strip().lower() in _NULLS:
        return None
    return value


def parse_number(value: Any) -> Any:
    """`1/127.5`, `-1`, `2.5e-3` → float; anything else is left for pydantic to judge."""
    value = _none_text(value)
    if isinstance(value, str):
        text = value.strip()
        match = re.fullmatch(
            r"([-+]?[\d.]+(?:e[-+]?\d+)?)\s*/\s*([-+]?[\d.]+(?:e[-+]?\d+)?)", text, re.I
        )
        try:
            if match:
                return float(match.group(1)) / float(match.group(2))
            return float(text)
        except (ValueError, ZeroDivisionError):
            return value
    return value


def parse_tuple(value: Any) -> Any:
    """`(256, 128, 3)`, `[256,128,3]`, `256,128,3` → a list of items (numbers where they parse)."""
    value = _none_text(value)
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "([" and text[-1:] in ")]":
            text = text[1:-1]
        items = [item.strip() for item in text.split(",") if item.strip()]
        out: list[Any] = []
        for item in items:
            try:
                out.append(int(item))
            except ValueError:
                out.append(parse_number(item))
        return out
    return value


def _bool_text(value: Any) -> Any:
    value = _none_text(value)
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return value


Number = Annotated[float, BeforeValidator(parse_number)]
OptNumber = Annotated[float | None, BeforeValidator(parse_number)]
OptBool = Annotated[bool | None, BeforeValidator(_bool_text)]
Bool = Annotated[bool, BeforeValidator(_bool_text)]
OptStr = Annotated[str | None, BeforeValidator(_none_text)]
Shape3 = Annotated[
    tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]]
    | None,
    BeforeValidator(parse_tuple),
]
#: Free-form mappings (optimizer, callbacks, augmentation...): validated by the stage that owns them.
AnyMap = Annotated[dict[str, Any] | None, BeforeValidator(_none_text)]
#: Values whose form the owning stage parses (frozen_layers ranges, dryrun...); 'None' → None.
AnyValue = Annotated[Any, BeforeValidator(_none_text)]


class Section(BaseModel):
    """A YAML section: unknown keys are errors, `None` values mean "use the default"."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        # `key:` with nothing after it (the seed's "Optional" keys) falls back to the default.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None or _keeps_none(cls, k)}
        return {} if data is None else data

    def get(self, key: str, default: Any = None) -> Any:
        """Mapping-style read, so stages that accept dicts accept sections too."""
        value = getattr(self, key, None)
        return default if value is None else value


def _keeps_none(cls: type[BaseModel], key: str) -> bool:
    field = cls.model_fields.get(key)
    return field is not None and field.default is None


def _section(cls):
    """A section field: `key:` with nothing after it means all defaults."""
    return Field(default_factory=cls)


# --------------------------------------------------------------------------- sections

OPERATION_MODES = (
    "training",
    "evaluation",
    "quantization",
    "prediction",
    "benchmarking",
    "deployment",
    "chain_tqeb",
    "chain_tqe",
    "chain_eqe",
    "chain_eqeb",
    "chain_qb",
    "chain_qd",
    "chain_tqed",
)


class General(Section):
    project_name: OptStr = Field(
        None, description="Name of the project (MLflow experiment name; default 'reidtool')."
    )
    model_path: OptStr = Field(
        None, description="Model file to start from (same as model.model_path)."
    )
    logs_dir: str = Field(
        "logs",
        description="Folder of the run directory for TensorBoard events and training_log.csv.",
    )
    saved_models_dir: str = Field(
        "saved_models",
        description="Folder of the run directory for trained .keras models and training_state.json.",
    )
    deterministic_ops: Bool = Field(
        False, description="Ask TensorFlow for deterministic ops (slower)."
    )
    display_figures: Bool = Field(
        True, description="Show figures on screen besides saving them (ignored without a display)."
    )
    global_seed: int = Field(123, description="Seed of every random generator of a run.")
    num_threads_tflite: int = Field(
        1, ge=1, description="Threads of the TFLite interpreter for host int8 evaluation."
    )
    gpu_memory_limit: OptNumber = Field(
        None, gt=0, description="GPU memory cap in GB (ignored on CPU)."
    )


class Model(Section):
    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())

    framework: OptStr = Field(
        None, description="Framework of the model ('tf'; kept for zoo configs)."
    )
    model_path: OptStr = Field(
        None, description="A .keras, .h5 or .tflite model file (xor model_name)."
    )
    model_name: OptStr = Field(
        None,
        description="A model of the zoo, e.g. tinynet, mobilenetv2_a035, osnet_a025, resnet50v2, custom_model (xor model_path).",
    )
    pretrained: OptBool = Field(
        None,
        description="Load ImageNet weights where keras has them (MobileNet v1/v2, ResNet50V2).",
    )
    input_shape: Shape3 = Field(
        None, description="(height, width, channels) of the model input; required with model_name."
    )
    alpha: OptNumber = Field(
        None, gt=0, description="Width multiplier for custom_model (zoo names carry their own)."
    )
    embedding_dim: int | None = Field(
        None, ge=1, description="(reidtool) Size of the embedding (default: the backbone's width)."
    )
    bnneck: Bool = Field(
        False,
        description="(reidtool) BNNeck: batch norm between the triplet feature and the classifier.",
    )
    pretrained_weights: OptStr = Field(
        None, description="(reidtool) Local ImageNet weights file, used instead of downloading."
    )

    @model_validator(mode="after")
    def _check(self) -> Model:
        extra = sorted(self.model_extra or {})
        if extra and self.model_name != "custom_model":
            raise _UnknownKeys([("model", key) for key in extra])
        return self


class Dataset(Section):
    dataset_name: OptStr = Field(None, description="Name of the dataset (reports only).")
    class_names: list[str] | None = Field(
        None, description="Training identities to use (default: all found)."
    )
    class_names_test: list[str] | None = Field(
        None, description="Test identities to use (default: all found)."
    )
    training_path: OptStr = Field(
        None, description="Flat folder of training crops named <identity>_<anything>.jpg."
    )
    validation_path: OptStr = Field(
        None,
        description="Flat folder of validation crops (else validation_split of training_path).",
    )
    validation_split: Number = Field(
        0.2,
        gt=0,
        lt=1,
        description="Fraction of training_path held out for validation, stratified by identity.",
    )
    test_query_path: OptStr = Field(
        None, description="Flat folder of query crops (with test_gallery_path)."
    )
    test_gallery_path: OptStr = Field(
        None, description="Flat folder of gallery crops (with test_query_path)."
    )
    quantization_path: OptStr = Field(None, description="Calibration images (else training_path).")
    quantization_split: OptNumber = Field(
        None,
        gt=0,
        le=1,
        description="Fraction of the calibration folder used (default: all, at most a few hundred images).",
    )
    prediction_query_path: OptStr = Field(None, description="Query crops for prediction mode.")
    prediction_gallery_path: OptStr = Field(None, description="Gallery crops for prediction mode.")
    check_image_files: Bool = Field(
        False, description="Decode every image up front and list those that fail."
    )
    seed: int = Field(123, description="Seed of the validation split and the P×K sampler.")
    camera_regex: OptStr = Field(
        None,
        description="(reidtool) Regex whose group 1 is the camera id in a file name, e.g. '_c(\\d+)_'; enables the cross-camera rule.",
    )
    instances_per_identity: int = Field(
        4, ge=1, description="(reidtool) K of P×K batches: images per identity in a batch."
    )

    @model_validator(mode="after")
    def _pairs(self) -> Dataset:
        for a, b in (
            ("test_query_path", "test_gallery_path"),
            ("prediction_query_path", "prediction_gallery_path"),
        ):
            if bool(getattr(self, a)) != bool(getattr(self, b)):
                given, missing = (a, b) if getattr(self, a) else (b, a)
                raise ValueError(
                    f"dataset.{given} is set but dataset.{missing} is not: give both or neither"
                )
        if self.camera_regex:
            try:
                compiled = re.compile(self.camera_regex)
            except re.error as err:
                raise ValueError(
                    f"dataset.camera_regex {self.camera_regex!r} is not a valid regex: {err}"
                ) from None
            if compiled.groups < 1:
                raise ValueError(
                    f"dataset.camera_regex {self.camera_regex!r} needs one group, e.g. '_c(\\d+)_'"
                )
        return self


class Rescaling(Section):
    scale: Number = Field(
        1 / 127.5, description="Pixels are multiplied by scale (e.g. 1/127.5) inside the model."
    )
    offset: Number = Field(-1.0, description="Then offset is added (e.g. -1).")


class Resizing(Section):
    interpolation: Literal[
        "nearest",
        "bilinear",
        "bicubic",
        "area",
        "lanczos3",
        "lanczos5",
        "gaussian",
        "mitchellcubic",
    ] = Field("bilinear", description="Interpolation used to resize crops to input_shape.")
    aspect_ratio: Literal["fit", "crop", "padding"] = Field(
        "fit",
        description="fit: stretch; crop: centre-crop to the aspect ratio; padding: letterbox.",
    )


class Preprocessing(Section):
    rescaling: Rescaling = _section(Rescaling)
    resizing: Resizing = _section(Resizing)
    color_mode: Literal["grayscale", "rgb", "rgba"] = Field(
        "rgb", description="Colour mode of the model input."
    )


class CustomDataAugmentation(Section):
    function_name: str = Field(
        description="Name of a function in toolchain/training/custom_augmentation.py."
    )
    config: AnyMap = Field(None, description="Keyword arguments passed to it.")


class TripletLoss(Section):
    margin: Number = Field(0.3, ge=0, le=2, description="Margin of the triplet loss.")
    strategy: Literal["hard", "semi_hard", "simple"] = Field(
        "hard", description="Triplet mining: hard (batch-hard), semi_hard or simple."
    )
    distance_metric: Literal["cosine", "euclidean"] = Field(
        "cosine", description="Distance of the triplet loss."
    )


class Training(Section):
    batch_size: int | None = Field(
        None, ge=2, description="Images per batch (P×K with K = dataset.instances_per_identity)."
    )
    epochs: int | None = Field(None, ge=1, description="Number of epochs.")
    optimizer: AnyValue = Field(
        None,
        description="{Name: {kwargs}} of a keras optimizer, e.g. {Adam: {learning_rate: 0.001}}.",
    )
    dropout: OptNumber = Field(
        None, ge=0, lt=1, description="Dropout before the classification head."
    )
    frozen_layers: AnyValue = Field(
        None, description="Layers not trained, e.g. '(0:-1)', '(8, 110:121, -1)' or None."
    )
    callbacks: AnyMap = Field(
        None,
        description="{Name: {kwargs}} of keras callbacks and reidtool schedulers (LRCosineDecay, ...).",
    )
    resume_training_from: OptStr = Field(
        None, description="A run directory (or its saved_models folder) to resume from."
    )
    trained_model_path: OptStr = Field(
        None, description="Where to copy the trained embedder (besides the run directory)."
    )
    dryrun: AnyValue = Field(None, description="Run this many steps only (True = 1) to check a config.")
    triplet_loss: TripletLoss = _section(TripletLoss)
    label_smoothing: Number = Field(
        0.1, ge=0, lt=1, description="(reidtool) Label smoothing of the classification loss."
    )
    loss_weights: AnyMap = Field(
        None, description="(reidtool) {classification: w, triplet: w} (default 1 and 1)."
    )
    distribution: OptStr = Field(
        None, description="(reidtool) tf.distribute strategy: none or mirrored."
    )


class Quantization(Section):
    quantizer: str = Field(
        "tflite_converter",
        description="tflite_converter (TFlite_converter); the zoo's Onnx_quantizer is not available.",
    )
    quantization_type: str = Field("PTQ", description="PTQ (post-training quantization).")
    quantization_input_type: Literal["uint8", "int8", "float"] = Field(
        "uint8", description="Type of the int8 model's input tensor."
    )
    quantization_output_type: Literal["uint8", "int8", "float"] = Field(
        "int8", description="Type of the int8 model's output tensor."
    )
    export_dir: str = Field(
        "quantized_models", description="Folder of the run directory for the .tflite files."
    )
    granularity: Literal["per_channel", "per_tensor"] = Field(
        "per_channel", description="Weight quantization granularity."
    )
    target_opset: int | None = Field(
        None, description="ONNX opset (zoo key; unused by tflite_converter)."
    )
    optimize: OptBool = Field(None, description="Zoo key (unused by tflite_converter).")
    operating_mode: OptStr = Field(None, description="Zoo key (unused by tflite_converter).")
    onnx_extra_options: AnyMap = Field(None, description="Zoo key for Onnx_quantizer (unused).")


class Evaluation(Section):
    target: Literal["host", "stedgeai_host", "stedgeai_n6", "board"] = Field(
        "host",
        description="host: Keras/TFLite here; board: on-device via the harness; stedgeai_*: ST's validate.",
    )
    reid_distance_metric: Literal["cosine", "euclidean"] = Field(
        "cosine", description="Distance used for ranking."
    )
    profile: OptStr = Field(None, description="stedgeai profile (e.g. profile_O3).")
    input_type: OptStr = Field(None, description="stedgeai input type (int8/uint8/float32).")
    output_type: OptStr = Field(None, description="stedgeai output type (int8/uint8/float32).")
    input_chpos: OptStr = Field(
        None, description="stedgeai input channel position (chlast/chfirst)."
    )
    output_chpos: OptStr = Field(
        None, description="stedgeai output channel position (chlast/chfirst)."
    )
    gen_npy_input: OptBool = Field(None, description="Save the evaluated inputs as .npy.")
    gen_npy_output: OptBool = Field(None, description="Save the embeddings as .npy.")
    npy_in_name: OptStr = Field(None, description="File name of the saved inputs.")
    npy_out_name: OptStr = Field(None, description="File name of the saved embeddings.")
    port: OptStr = Field(
        None,
        description="(reidtool) Serial URL of the board (/dev/ttyACM0, socket://127.0.0.1:PORT).",
    )
    ports: list[str] | None = Field(
        None, description="(reidtool) Several boards' URLs, used in parallel."
    )
    baud: int = Field(921600, ge=1, description="(reidtool) Serial baud rate.")
    allow_mismatch: Bool = Field(
        False, description="(reidtool) Do not fail when device bytes differ from the oracle."
    )
    re_ranking: AnyValue = Field(
        None, description="(reidtool) k-reciprocal re-ranking: True or {k1, k2, lambda_value}."
    )
    visualize_queries: AnyValue = Field(
        None, description="(reidtool) Number of ranked-gallery figures to save."
    )
    fast_interpreter: OptBool = Field(
        None, description="(reidtool) Use the optimized TFLite kernels (not the oracle) for speed."
    )


class StEdgeAi(Section):
    optimization: Literal["balanced", "time", "ram"] = Field(
        "balanced", description="stedgeai optimization objective."
    )
    on_cloud: Bool = Field(
        False, description="Use ST's Developer Cloud (not supported by reidtool)."
    )
    path_to_stedgeai: OptStr = Field(
        None, description="Path to the stedgeai executable (else PATH)."
    )
    neural_art: OptStr = Field(
        None,
        description="(reidtool) Neural-ART profile file for the STM32N6 NPU (--st-neural-art "
        "<profile>@<file>), e.g. ST's user_neuralart.json.",
    )
    profile: str = Field("default", description="(reidtool) Profile name inside neural_art.")
    version: OptStr = Field(None, description="stedgeai version (zoo key).")


class Tools(Section):
    stedgeai: StEdgeAi = _section(StEdgeAi)
    path_to_cubeIDE: OptStr = Field(None, description="Path to STM32CubeIDE (zoo key).")


class Benchmarking(Section):
    board: OptStr = Field(
        None, description="Board whose firmware sections are reported (default: deployment.board)."
    )


class HardwareSetup(Section):
    serie: OptStr = Field(None, description="STM32 series, e.g. STM32N6.")
    board: OptStr = Field(None, description="Board name, e.g. STM32N6570-DK.")
    stlink_serial_number: OptStr = Field(
        None, description="ST-LINK serial number when several boards are plugged in."
    )
    output: OptStr = Field(None, description="Zoo key (application output, e.g. SPI).")


class Deployment(Section):
    c_project_path: OptStr = Field(
        None, description="Zoo key: ST application project (unused by the builtin backend)."
    )
    IDE: OptStr = Field(None, description="Zoo key: GCC.")
    verbosity: int | None = Field(None, description="Zoo key: build verbosity.")
    hardware_setup: HardwareSetup = _section(HardwareSetup)
    board: str = Field(
        "qemu-m55", description="(reidtool) Board: qemu-m55, host, STM32N6570-DK (alias STM32N6)."
    )
    evaluate_on_device: Bool = Field(
        False,
        description="(reidtool) After deployment, run the on-device evaluation on the test set.",
    )


class Mlflow(Section):
    uri: str = Field(
        "experiments_outputs/mlruns",
        description="Folder of the MLflow store: sqlite:///<uri>/mlflow.db, artifacts in <uri>/artifacts.",
    )


class HydraRun(Section):
    dir: str = Field(
        "experiments_outputs/${now:%Y_%m_%d_%H_%M_%S}", description="The run directory."
    )


class Hydra(Section):
    model_config = ConfigDict(extra="allow")
    run: HydraRun = _section(HydraRun)


# --------------------------------------------------------------------------- the whole file

#: Which sections a step needs, and which keys in them (dotted; "a|b" = one of them).
STEP_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "training": ("dataset.training_path", "training.batch_size", "training.epochs"),
    "evaluation": ("dataset.test_query_path",),
    "quantization": (),
    "prediction": ("dataset.prediction_query_path",),
    "benchmarking": (),
    "deployment": (),
}

#: The steps of each operation mode, in order.
MODE_STEPS: dict[str, tuple[str, ...]] = {
    "training": ("training",),
    "evaluation": ("evaluation",),
    "quantization": ("quantization",),
    "prediction": ("prediction",),
    "benchmarking": ("benchmarking",),
    "deployment": ("deployment",),
    "chain_tqeb": ("training", "quantization", "evaluation", "benchmarking"),
    "chain_tqe": ("training", "quantization", "evaluation"),
    "chain_eqe": ("evaluation", "quantization", "evaluation"),
    "chain_eqeb": ("evaluation", "quantization", "evaluation", "benchmarking"),
    "chain_qb": ("quantization", "benchmarking"),
    "chain_qd": ("quantization", "deployment"),
    "chain_tqed": ("training", "quantization", "evaluation", "deployment"),
}


class ReidConfig(Section):
    """A whole reidtool / ST model zoo configuration file."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())

    operation_mode: Literal[OPERATION_MODES] = Field(
        description="What to run: a mode or a chain (see MODE_STEPS)."
    )  # type: ignore[valid-type]
    general: General = _section(General)
    model: Model = _section(Model)
    dataset: Dataset = _section(Dataset)
    preprocessing: Preprocessing = _section(Preprocessing)
    data_augmentation: AnyValue = Field(
        None,
        description="Augmentations applied in YAML order, e.g. {random_flip: {mode: horizontal}}.",
    )
    custom_data_augmentation: CustomDataAugmentation | None = Field(
        None, description="A user augmentation function instead of data_augmentation."
    )
    training: Training = _section(Training)
    quantization: Quantization = _section(Quantization)
    evaluation: Evaluation = _section(Evaluation)
    prediction: Evaluation = _section(Evaluation)
    tools: Tools = _section(Tools)
    benchmarking: Benchmarking = _section(Benchmarking)
    deployment: Deployment = _section(Deployment)
    mlflow: Mlflow = Field(description="MLflow tracking (required): uri.")
    hydra: Hydra = _section(Hydra)
    app: AnyMap = Field(None, description="Zoo key: parameters of ST's N6 application (unused).")

    @model_validator(mode="after")
    def _check(self) -> ReidConfig:
        # Top-level variables such as MODELS_DIR (for `${MODELS_DIR}`) are upper-case.
        unknown = [k for k in (self.model_extra or {}) if not k.isupper()]
        if unknown:
            raise _UnknownKeys([("", key) for key in unknown])
        model = self.model
        if model.model_path is None and self.general.model_path:
            model.model_path = self.general.model_path
        steps = MODE_STEPS[self.operation_mode]
        if model.model_name and model.model_path:
            raise ValueError("model.model_name and model.model_path are both set: give one of them")
        if model.model_name and model.input_shape is None:
            raise ValueError(
                f"model.input_shape is required with model.model_name ({model.model_name}), e.g. (256, 128, 3)"
            )
        if steps[0] == "training":
            if not (model.model_name or model.model_path):
                raise ValueError(
                    "model.model_name (with model.input_shape) or model.model_path is required for training"
                )
        elif not model.model_path:
            raise ValueError(
                f"model.model_path is required for operation_mode {self.operation_mode} (a .keras or .tflite file)"
            )
        missing = []
        for step in dict.fromkeys(steps):
            for key in STEP_REQUIREMENTS[step]:
                section, name = key.split(".")
                if getattr(getattr(self, section), name) in (None, ""):
                    missing.append(key)
        if missing:
            raise ValueError(
                f"operation_mode {self.operation_mode} needs {', '.join(dict.fromkeys(missing))}"
            )
        if self.custom_data_augmentation is not None and self.data_augmentation:
            raise ValueError(
                "data_augmentation and custom_data_augmentation are both set: give one of them"
            )
        return self

    @property
    def steps(self) -> tuple[str, ...]:
        """The steps `operation_mode` runs, in order."""
        return MODE_STEPS[self.operation_mode]


class _UnknownKeys(ValueError):
    """Raised inside validators for keys no section knows; formatted by the loader."""

    def __init__(self, keys: list[tuple[str, str]]):
        self.keys = keys
        super().__init__(", ".join(f"{s}.{k}" if s else k for s, k in keys))


SECTIONS: dict[str, type[BaseModel]] = {
    name: field.annotation
    for name, field in ReidConfig.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
}
