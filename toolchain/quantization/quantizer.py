"""The `quantization` operation mode: a Keras embedder → full-integer int8 TFLite + a report.

Post-training quantization with the TFLite converter (the seed's `tflite_converter` PTQ):
int8 weights (per-channel by default, `quantization.granularity: per_tensor` optional), int8
activations, the input and output types of `quantization_input_type` / `_output_type`. The
result must run unchanged on the boards, so it is checked, not trusted: only builtin int8 ops
(no float fallback, no Flex op), the requested input/output types, and, for reidtool's own
models (Rescaling inside), an input that takes the raw pixel bytes (scale 1, zero point 0 for
uint8; CONTRACTS §5). A failed check raises `QuantizationError` naming the op and its layer.

The report (metrics.json["quantization"], and ["int8"] when a test set is configured) holds the
sizes, the op histogram, the calibration set, the float vs int8 rank-1/mAP and the mean cosine
between float and int8 embeddings; `quantization_debug.csv` holds the per-layer errors.

Example:
    result = quantize(cfg, run)          # uses run.saved_models_dir/best_model.keras
    result.int8_path                     # quantized_models/<name>_int8.tflite
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from toolchain.errors import ConfigError, QuantizationError
from toolchain.evaluation.evaluator import cfg_value, has_rescaling, model_path_of
from toolchain.files import atomic_write_bytes
from toolchain.quantization import calibration as calib
from toolchain.quantization import debug as qdebug
from toolchain.quantization.inspect import (
    check_builtin_int8,
    io_types,
    keras_layer_of,
    op_histogram,
    read_ops,
)
from toolchain.registry import Registry

log = logging.getLogger(__name__)

#: `quantization_input_type` / `quantization_output_type` → (TF dtype name, TFLite tensor type).
IO_TYPES: Registry[tuple[str, str]] = Registry("quantization input/output type")
IO_TYPES.add("uint8", ("uint8", "UINT8"))
IO_TYPES.add("int8", ("int8", "INT8"))
IO_TYPES.add("float", ("float32", "FLOAT32"), aliases=("float32",))
#: `quantization.granularity` values.
GRANULARITIES = ("per_channel", "per_tensor")
#: Input quantization that makes the raw pixel bytes the input tensor, per input type.
RAW_BYTES_QUANTIZATION = {"uint8": (1.0, 0), "int8": (1.0, -128)}
#: Test crops (query + gallery) whose float and int8 embeddings are compared when no test set
#: is configured: calibration crops instead, at most this many.
COSINE_FALLBACK_CROPS = 64


@dataclass(frozen=True)
class QuantizeResult:
    """What `quantize` wrote."""

    int8_path: Path
    float_path: Path
    report: dict = field(default_factory=dict)


def all_layer_names(model: Any) -> list[str]:
    """Names of every layer, nested models included."""
    names = []
    for layer in model.layers:
        names.append(layer.name)
        if hasattr(layer, "layers"):
            names.extend(all_layer_names(layer))
    return names


def output_layer_name(model: Any) -> str | None:
    """The name of the layer producing the model's (first) output."""
    try:
        return model.outputs[0]._keras_history[0].name
    except (AttributeError, IndexError, TypeError):
        return model.layers[-1].name if model.layers else None


def _quiet(fn: Callable[[], Any]) -> Any:
    """Run a converter call without Keras' export chatter on stdout."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn()


def make_converter(
    model: Any,
    representative: Callable | None = None,
    input_type: str = "uint8",
    output_type: str = "int8",
    granularity: str = "per_channel",
):
    """A TFLite converter for `model`: float (no `representative`) or full-int8."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if representative is None:
        return converter
    if granularity not in GRANULARITIES:
        raise ConfigError(
            f"quantization.granularity: expected one of {', '.join(GRANULARITIES)}, received "
            f"{granularity!r}"
        )
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = getattr(tf, IO_TYPES.get(input_type)[0])
    converter.inference_output_type = getattr(tf, IO_TYPES.get(output_type)[0])
    if granularity == "per_tensor":
        converter._experimental_disable_per_channel = True
    return converter


def convert(converter: Any, layer_names: Sequence[str] = (), what: str = "model") -> bytes:
    """Run a converter; a conversion error names the Keras layer it mentions, if any."""
    try:
        return bytes(_quiet(converter.convert))
    except Exception as err:  # the converter raises several unrelated exception types
        text = str(err)
        layers = sorted(
            {n for n in (keras_layer_of(w, layer_names) for w in re.split(r"[\s'\"]", text)) if n}
        )
        where = f" (Keras layer(s): {', '.join(layers)})" if layers else ""
        first = next((line for line in text.splitlines() if "error" in line.lower()), text[:300])
        raise QuantizationError(
            f"the TFLite converter failed to make the {what}{where}: {first.strip()}"
        ) from err


def check_io(model_bytes: bytes, input_type: str, output_type: str, name: str) -> None:
    """The int8 model's input/output tensor types are the requested ones."""
    got_in, got_out = io_types(model_bytes)
    want_in, want_out = IO_TYPES.get(input_type)[1], IO_TYPES.get(output_type)[1]
    if (got_in, got_out) != (want_in, want_out):
        raise QuantizationError(
            f"{name}: expected input {want_in} / output {want_out} "
            f"(quantization_input_type={input_type}, quantization_output_type={output_type}), "
            f"received input {got_in} / output {got_out}"
        )


def input_quantization(model_bytes: bytes) -> tuple[float, int]:
    """(scale, zero point) of the model's input tensor, read by the oracle."""
    from toolchain.oracle import Oracle

    return Oracle(model_bytes).input_quantization


def check_raw_bytes_input(
    model_bytes: bytes, input_type: str, reidtool_model: bool, name: str
) -> dict[str, Any]:
    """Check (reidtool models) or report (user models) that the input takes raw pixel bytes.

    Returns the report's `input_quantization` entry.

    Raises:
        QuantizationError: a reidtool model's uint8/int8 input is not scale 1 with the raw-byte
            zero point (the calibration extremes should have guaranteed it).
    """
    scale, zero_point = input_quantization(model_bytes)
    entry: dict[str, Any] = {"scale": scale, "zero_point": zero_point}
    expected = RAW_BYTES_QUANTIZATION.get(input_type)
    if expected is None:
        entry["raw_bytes"] = False
        return entry
    raw = scale == expected[0] and zero_point == expected[1]
    entry["raw_bytes"] = raw
    if not raw and reidtool_model:
        raise QuantizationError(
            f"{name}: a reidtool model's {input_type} input must take the raw pixel bytes: "
            f"expected scale {expected[0]} and zero point {expected[1]}, received scale {scale} "
            f"and zero point {zero_point}. The calibration data must span 0..255 (CONTRACTS §5)."
        )
    if not raw:
        entry["note"] = (
            f"user model: input scale {scale:g}, zero point {zero_point} (raw bytes would be "
            f"scale {expected[0]:g}, zero point {expected[1]}); evaluation quantizes pixels with "
            "these, the board must be fed the same"
        )
        log.warning("%s: %s", name, entry["note"])
    return entry


def _rescaling(cfg: Any, reidtool_model: bool) -> tuple[float, float]:
    """Pixels → model input for calibration: identity for reidtool models."""
    from toolchain.evaluation.evaluator import _number

    if reidtool_model:
        return 1.0, 0.0
    scale = cfg_value(cfg, "preprocessing.rescaling.scale")
    offset = cfg_value(cfg, "preprocessing.rescaling.offset", 0.0)
    return (1.0, 0.0) if scale is None else (_number(scale), _number(offset))


def model_name(cfg: Any, model: Any) -> str:
    """`general.project_name` or the model's name, safe as a file name."""
    name = str(cfg_value(cfg, "general.project_name") or model.name or "model")
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "model"


def _input_shape(cfg: Any, model: Any) -> tuple[int, ...]:
    shape = cfg_value(cfg, "model.input_shape")
    if not shape:
        shape = tuple(model.inputs[0].shape)[1:]
    if any(d is None for d in shape):
        raise ConfigError(f"model.input_shape is required: the model's input is {tuple(shape)}")
    return tuple(int(d) for d in shape)


def mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Mean row-wise cosine similarity of two (N, D) embedding arrays."""
    a = np.asarray(a, np.float64).reshape(len(a), -1)
    b = np.asarray(b, np.float64).reshape(len(b), -1)
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    cos = np.sum(a * b, axis=1) / np.maximum(na * nb, 1e-30)
    return float(np.mean(cos))


def compare_on_test_set(
    cfg: Any,
    model: Any,
    int8_path: Path,
    input_shape: Sequence[int],
    rescaling: tuple[float, float] | None,
) -> dict[str, Any] | None:
    """Float vs int8 metrics and embedding cosine on the configured test set (None: no test set)."""
    from toolchain.evaluation.evaluator import (
        embed_records,
        evaluate_embeddings,
        input_fn_for,
        load_test_records,
    )
    from toolchain.evaluation.sources import KerasSource, TFLiteSource

    if not (
        cfg_value(cfg, "dataset.test_query_path") and cfg_value(cfg, "dataset.test_gallery_path")
    ):
        return None
    query, gallery = load_test_records(cfg)
    input_fn = input_fn_for(cfg, input_shape)
    metric = str(cfg_value(cfg, "evaluation.reid_distance_metric", "cosine"))
    fast = bool(cfg_value(cfg, "evaluation.fast_interpreter", False))
    keras_src = KerasSource(model, rescaling=rescaling)
    int8_src = TFLiteSource(
        int8_path,
        reference=not fast,
        num_threads=int(cfg_value(cfg, "general.num_threads_tflite", 1)),
        rescaling=rescaling,
    )
    records = list(query) + list(gallery)
    f_emb = embed_records(keras_src, records, input_fn)
    q_emb = embed_records(int8_src, records, input_fn)
    nq = len(query)
    f_eval = evaluate_embeddings(f_emb[:nq], f_emb[nq:], query, gallery, metric)
    q_eval = evaluate_embeddings(q_emb[:nq], q_emb[nq:], query, gallery, metric)
    int8_metrics = dict(
        q_eval.metrics, interpreter=int8_src.describe()["interpreter"], model=str(int8_path)
    )
    return {
        "float": f_eval.metrics,
        "int8": int8_metrics,
        "mean_cosine_float_int8": mean_cosine(f_emb, q_emb),
        "cosine_on": "test crops",
    }


def quantize(cfg: Any, run: Any, model_path: str | os.PathLike | None = None) -> QuantizeResult:
    """Run the `quantization` operation mode.

    Args:
        cfg: the run's `ReidConfig` (`quantization.*`, `dataset.*`, `preprocessing.*`).
        run: its `RunDir`.
        model_path: the Keras model (chains pass it); default `model.model_path`, then
            `general.model_path`, then the run's `best_model.keras`.

    Returns:
        `QuantizeResult(int8_path, float_path, report)`.

    Raises:
        QuantizationError: conversion failed, a float/Flex op is left, the input/output types
            are not the requested ones, or a reidtool model's input is not raw bytes.
        ConfigError: an unknown type or granularity, or no model / calibration images.
    """
    from toolchain.evaluation.sources import load_keras_model

    path = model_path_of(cfg, run, model_path)
    if path.suffix.lower() not in (".keras", ".h5"):
        raise QuantizationError(
            f"quantization needs a Keras model (.keras or .h5); received {path}"
        )
    quantizer = str(cfg_value(cfg, "quantization.quantizer", "tflite_converter")).lower()
    if quantizer not in ("tflite_converter", "tflite"):
        raise ConfigError(
            f"quantization.quantizer: expected tflite_converter, received {quantizer!r}"
        )
    qtype = str(cfg_value(cfg, "quantization.quantization_type", "PTQ")).upper()
    if qtype != "PTQ":
        raise ConfigError(f"quantization.quantization_type: expected PTQ, received {qtype!r}")
    input_type = IO_TYPES.canonical(
        str(cfg_value(cfg, "quantization.quantization_input_type", "uint8")).lower()
    )
    output_type = IO_TYPES.canonical(
        str(cfg_value(cfg, "quantization.quantization_output_type", "int8")).lower()
    )
    granularity = str(cfg_value(cfg, "quantization.granularity", "per_channel")).lower()

    model = load_keras_model(path)
    layer_names = all_layer_names(model)
    reidtool_model = has_rescaling(model)
    shape = _input_shape(cfg, model)
    name = model_name(cfg, model)

    paths, source = calib.calibration_source(cfg)
    cal = calib.load_calibration(
        paths,
        shape,
        color_mode=str(cfg_value(cfg, "preprocessing.color_mode", "rgb")),
        interpolation=str(cfg_value(cfg, "preprocessing.resizing.interpolation", "bilinear")),
        aspect_ratio=str(cfg_value(cfg, "preprocessing.resizing.aspect_ratio", "fit")),
        source=source,
        seed=int(cfg_value(cfg, "dataset.seed", 123)),
    )
    scale, offset = _rescaling(cfg, reidtool_model)
    representative = calib.representative_dataset(cal.images, scale=scale, offset=offset)

    out_dir = Path(run.quantized_models_dir)
    float_bytes = convert(make_converter(model), layer_names, "float model")
    float_path = atomic_write_bytes(out_dir / f"{name}_float.tflite", float_bytes)
    converter = make_converter(model, representative, input_type, output_type, granularity)
    int8_bytes = convert(converter, layer_names, "int8 model")
    int8_name = f"{name}_int8.tflite"
    ops = read_ops(int8_bytes)
    check_builtin_int8(ops, layer_names, int8_name, output_layer_name(model))
    check_io(int8_bytes, input_type, output_type, int8_name)
    input_q = check_raw_bytes_input(int8_bytes, input_type, reidtool_model, int8_name)
    int8_path = atomic_write_bytes(out_dir / int8_name, int8_bytes)
    log.info(
        "wrote %s (%d bytes) and %s (%d bytes)",
        int8_path,
        len(int8_bytes),
        float_path,
        len(float_bytes),
    )

    rescaling = (
        None if reidtool_model else ((scale, offset) if (scale, offset) != (1.0, 0.0) else None)
    )
    report: dict[str, Any] = {
        "model": str(path),
        "int8_model": str(int8_path),
        "float_model": str(float_path),
        "size_bytes": len(int8_bytes),
        "float_size_bytes": len(float_bytes),
        "op_histogram": op_histogram(ops),
        "input_type": input_type,
        "output_type": output_type,
        "granularity": granularity,
        "input_quantization": input_q,
        "reidtool_model": reidtool_model,
        "calibration": cal.summary(),
    }
    comparison = compare_on_test_set(cfg, model, int8_path, shape, rescaling)
    if comparison is not None:
        run.update_metrics("int8", comparison["int8"])
        report.update(
            mean_cosine_float_int8=comparison["mean_cosine_float_int8"],
            cosine_on=comparison["cosine_on"],
            float_rank1=comparison["float"]["rank1"],
            float_mAP=comparison["float"]["mAP"],
            int8_rank1=comparison["int8"]["rank1"],
            int8_mAP=comparison["int8"]["mAP"],
            mAP_drop=comparison["float"]["mAP"] - comparison["int8"]["mAP"],
        )
    else:
        report.update(
            mean_cosine_float_int8=_calibration_cosine(model, int8_path, cal.images, rescaling),
            cosine_on="calibration crops",
        )

    debug_samples = calib.representative_dataset(
        cal.images[: qdebug.DEBUG_SAMPLES], add_extremes=False, scale=scale, offset=offset
    )
    rows = qdebug.layer_errors(converter, debug_samples, layer_names, output_layer_name(model))
    debug_path = qdebug.write_csv(rows, Path(run.root) / "quantization_debug.csv")
    report["debug_csv"] = str(debug_path)
    report["worst_layers"] = [
        {k: r[k] for k in ("op", "keras_layer", "tensor", "cosine", "rmse", "rmse_over_scale")}
        for r in qdebug.worst_layers(rows, 3)
    ]
    qdebug.log_worst(rows)
    run.update_metrics("quantization", report)
    _print_report(report)
    return QuantizeResult(int8_path, float_path, report)


def _calibration_cosine(
    model: Any, int8_path: Path, images: np.ndarray, rescaling: tuple[float, float] | None
) -> float:
    from toolchain.evaluation.sources import KerasSource, TFLiteSource

    crops = images[:COSINE_FALLBACK_CROPS]
    return mean_cosine(
        KerasSource(model, rescaling=rescaling).embed(crops),
        TFLiteSource(int8_path, rescaling=rescaling).embed(crops),
    )


def _print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Quantization")
    table.add_column("item")
    table.add_column("value", justify="right")
    table.add_row("int8 size", f"{report['size_bytes']:,} B")
    table.add_row("float size", f"{report['float_size_bytes']:,} B")
    table.add_row(
        "input",
        f"{report['input_type']} (scale {report['input_quantization']['scale']:g}, "
        f"zp {report['input_quantization']['zero_point']})",
    )
    table.add_row("output", report["output_type"])
    table.add_row("ops", ", ".join(f"{k} {v}" for k, v in report["op_histogram"].items()))
    table.add_row(
        f"mean cosine float/int8 ({report['cosine_on']})", f"{report['mean_cosine_float_int8']:.5f}"
    )
    for key in ("float_rank1", "int8_rank1", "float_mAP", "int8_mAP"):
        if key in report:
            table.add_row(key.replace("_", " "), f"{100 * report[key]:.2f} %")
    for r in report["worst_layers"]:
        table.add_row(
            f"worst: {r['op']} {r['keras_layer'] or r['tensor'][:30]}",
            f"cosine {r['cosine']:.4f}, {r['rmse_over_scale']:.2f} steps",
        )
    failed = report["calibration"]["failed"]
    table.add_row(
        "calibration images",
        f"{report['calibration']['images']} "
        f"({report['calibration']['source']}; {len(failed)} failed)",
    )
    Console().print(table)


def untrained_int8(model_name: str, input_shape: tuple[int, int, int], seed: int = 0) -> bytes:
    """A zoo embedder with random weights, exported and quantized as reidtool does (uint8 in,
    int8 out): the model the footprint benchmarks and the code generator's tests use."""
    from types import SimpleNamespace

    from toolchain.models.embedder import build_training_model
    from toolchain.models.export import export_embedder

    model_cfg = SimpleNamespace(
        model_name=model_name,
        model_path=None,
        pretrained=False,
        input_shape=input_shape,
        embedding_dim=None,
        bnneck=False,
        pretrained_weights=None,
    )
    embedder = export_embedder(build_training_model(model_cfg, input_shape, 10))
    return random_calibrated_int8(embedder, seed)


def random_calibrated_int8(model: Any, seed: int = 0, n: int = 8) -> bytes:
    """Full-int8 `.tflite` of a Keras model with reidtool's I/O (raw pixels 0..255 in, uint8
    in / int8 out), calibrated on the all-0 and all-255 crops and `n` random ones: for models
    whose weights are not trained (benchmarks, tests)."""
    import numpy as np

    from toolchain.quantization.calibration import representative_dataset

    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    crops = np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)
    return convert(make_converter(model, representative_dataset(crops), "uint8", "int8"))
