"""quantize() on tiny Keras embedders built here: builtin-int8 ops only, requested input/output
types, raw-byte input quantization, granularity, failed calibration images, the report."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from types import SimpleNamespace as NS

import numpy as np
import pytest

from toolchain.errors import QuantizationError
from toolchain.oracle import Oracle
from toolchain.quantization.inspect import float_ops, io_types, read_ops
from toolchain.quantization.quantizer import quantize
from toolchain.rundir import RunDir

SHAPE = (64, 32, 3)


def tiny_embedder(path: Path, extra=None) -> Path:
    """Rescaling → conv/bn/relu6 → depthwise → 1x1 → mean → dense: a reidtool-shaped embedder."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    inp = keras.Input(SHAPE, batch_size=1, name="image")
    x = layers.Rescaling(1 / 127.5, -1, name="rescaling")(inp)
    x = layers.Conv2D(8, 3, strides=2, padding="same", name="stem_conv")(x)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_relu6")(x)
    x = layers.DepthwiseConv2D(3, strides=2, padding="same", name="block_dw")(x)
    x = layers.ReLU(6.0, name="block_relu6")(x)
    x = layers.Conv2D(16, 1, name="block_project")(x)
    if extra is not None:
        x = extra(x)
    x = layers.GlobalAveragePooling2D(keepdims=True, name="gap")(x)
    x = layers.Reshape((16,), name="flatten")(x)
    x = layers.Dense(12, name="embedding")(x)
    keras.Model(inp, x, name="tiny").save(path)
    return path


def config(model_path, data_dir, **quant):
    return NS(
        general=NS(project_name="tiny"),
        model=NS(model_path=str(model_path), input_shape=SHAPE),
        dataset=NS(
            training_path=str(data_dir / "reid_train"),
            validation_split=None,
            quantization_split=0.25,
            seed=1,
            **quant.pop("dataset", {}),
        ),
        quantization=NS(**quant),
        preprocessing=NS(),
        evaluation=NS(),
    )


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    return tiny_embedder(tmp_path_factory.mktemp("model") / "tiny.keras")


@pytest.mark.parametrize(
    "input_type,output_type,granularity",
    [
        ("uint8", "int8", "per_channel"),
        ("int8", "uint8", "per_tensor"),
        ("float", "float", "per_channel"),
    ],
)
def test_quantize_gives_builtin_int8_model(
    tmp_path, tiny_dataset, model_file, input_type, output_type, granularity
):
    cfg = config(
        model_file,
        tiny_dataset,
        quantization_input_type=input_type,
        quantization_output_type=output_type,
        granularity=granularity,
    )
    run = RunDir(tmp_path / "run").create()
    result = quantize(cfg, run)

    assert result.int8_path == run.quantized_models_dir / "tiny_int8.tflite"
    assert result.float_path == run.quantized_models_dir / "tiny_float.tflite"
    data = result.int8_path.read_bytes()
    ops = read_ops(data)
    assert float_ops(ops) == []
    names = {op.name for op in ops}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MEAN"} <= names
    assert not any(n.startswith(("FLEX", "CUSTOM")) for n in names)
    tflite_type = {"uint8": "UINT8", "int8": "INT8", "float": "FLOAT32"}
    assert io_types(data) == (tflite_type[input_type], tflite_type[output_type])

    oracle = Oracle(result.int8_path)
    if input_type == "uint8":
        assert oracle.input_quantization == (1.0, 0)
    elif input_type == "int8":
        assert oracle.input_quantization == (1.0, -128)
    # Weight granularity: per-channel conv filters carry one scale per output channel.
    conv = next(op for op in ops if op.name == "CONV_2D" and op.inputs[1].shape[0] == 8)
    details = {d["index"]: d for d in oracle._interp.get_tensor_details()}
    scales = details[conv.inputs[1].index]["quantization_parameters"]["scales"]
    assert len(scales) == (1 if granularity == "per_tensor" else 8)

    # The float model keeps float ops (a real difference, not a renamed copy).
    assert float_ops(read_ops(result.float_path.read_bytes()))

    metrics = json.loads(run.metrics_path.read_text())
    q = metrics["quantization"]
    assert q["size_bytes"] == len(data)
    assert sum(q["op_histogram"].values()) == len(ops)
    assert 0.9 < q["mean_cosine_float_int8"] <= 1.0 + 1e-9
    assert q["calibration"]["source"] == "dataset.quantization_split"
    assert q["calibration"]["failed"] == []
    rows = list(csv.DictReader((run.root / "quantization_debug.csv").open()))
    assert len(rows) >= 5 and {"CONV_2D", "FULLY_CONNECTED"} <= {r["op"] for r in rows}
    assert any(r["keras_layer"] == "block_dw" for r in rows)
    for r in rows:
        assert float(r["rmse"]) >= 0 and -1.0 <= float(r["cosine"]) <= 1.0 + 1e-9


def test_failed_calibration_image_is_reported(tmp_path, tiny_dataset, model_file):
    calib = tmp_path / "calib"
    calib.mkdir()
    good = sorted((tiny_dataset / "reid_train").glob("*.jpg"))[:6]
    for p in good:
        shutil.copy(p, calib / p.name)
    # A JPEG whose header is intact but whose data is cut short: found only when decoded.
    broken = calib / "0999_c1_0.jpg"
    broken.write_bytes(good[0].read_bytes()[:300])
    cfg = config(model_file, tiny_dataset, dataset={"quantization_path": str(calib)})
    run = RunDir(tmp_path / "run").create()
    result = quantize(cfg, run)
    cal = result.report["calibration"]
    assert cal["source"] == "dataset.quantization_path"
    assert cal["images"] == 6
    assert [Path(f["file"]).name for f in cal["failed"]] == ["0999_c1_0.jpg"]
    assert cal["failed"][0]["reason"]


def test_no_loadable_calibration_image_fails(tmp_path):
    from toolchain.quantization.calibration import load_calibration

    bad = tmp_path / "1_c1.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(QuantizationError, match="1_c1.jpg"):
        load_calibration(
            [bad, tmp_path / "missing_c1.jpg"], SHAPE, source="dataset.quantization_path"
        )


def test_reidtool_model_without_raw_byte_input_is_refused(tmp_path, model_file):
    """Calibrating on pixels up to 200 (no 0/255 extremes) breaks scale 1 / zero point 0."""
    from toolchain.evaluation.sources import load_keras_model
    from toolchain.quantization.calibration import representative_dataset
    from toolchain.quantization.quantizer import check_raw_bytes_input, convert, make_converter

    model = load_keras_model(model_file)
    rng = np.random.default_rng(0)
    dim = rng.integers(0, 201, size=(8, *SHAPE), dtype=np.uint8)
    data = convert(make_converter(model, representative_dataset(dim, add_extremes=False)))
    with pytest.raises(QuantizationError, match="expected scale 1.0 and zero point 0"):
        check_raw_bytes_input(data, "uint8", reidtool_model=True, name="m.tflite")
    entry = check_raw_bytes_input(data, "uint8", reidtool_model=False, name="m.tflite")
    assert entry["raw_bytes"] is False and "user model" in entry["note"]
    assert entry["scale"] != 1.0
    # With the extremes added the same crops give the raw-byte input.
    data = convert(make_converter(model, representative_dataset(dim)))
    assert check_raw_bytes_input(data, "uint8", True, "m.tflite")["raw_bytes"] is True


def test_float_ops_are_named_with_their_keras_layer(tmp_path, model_file):
    from toolchain.evaluation.sources import load_keras_model
    from toolchain.quantization.inspect import check_builtin_int8
    from toolchain.quantization.quantizer import all_layer_names, convert, make_converter

    model = load_keras_model(model_file)
    data = convert(make_converter(model))  # a float model: every op computes in float
    with pytest.raises(QuantizationError, match=r"CONV_2D .*Keras layer 'stem_conv'"):
        check_builtin_int8(read_ops(data), all_layer_names(model), "float.tflite")


def test_layer_without_int8_kernel_fails_naming_the_layer(tmp_path):
    import keras

    from toolchain.evaluation.sources import load_keras_model
    from toolchain.quantization.calibration import representative_dataset
    from toolchain.quantization.inspect import check_builtin_int8
    from toolchain.quantization.quantizer import (
        all_layer_names,
        convert,
        make_converter,
        output_layer_name,
    )

    # A Lambda layer cannot be reloaded from a file in safe mode: keep the model in memory.
    path = tiny_embedder(tmp_path / "base.keras")
    base = load_keras_model(path)
    x = keras.layers.Lambda(lambda t: keras.ops.sin(t), name="sine_layer")(base.output)
    model = keras.Model(base.input, x, name="with_sine")
    crops = np.random.default_rng(0).integers(0, 256, size=(4, *SHAPE), dtype=np.uint8)
    # The converter keeps SIN in float between DEQUANTIZE and QUANTIZE (a float fallback).
    data = convert(
        make_converter(model, representative_dataset(crops)), all_layer_names(model), "int8 model"
    )
    ops = read_ops(data)
    assert "SIN" in {op.name for op in ops}
    with pytest.raises(QuantizationError, match=r"SIN \(float.*Keras layer 'sine_layer'"):
        check_builtin_int8(
            ops, all_layer_names(model), "with_sine_int8.tflite", output_layer_name(model)
        )
