"""Per-layer quantization error: where the int8 model loses accuracy.

TFLite's QuantizationDebugger runs the float and the int8 version of every op side by side on
calibration crops and compares their outputs. We keep, per op, the RMSE (also in quantization
steps, RMSE / scale, which is comparable across layers) and the cosine similarity between the
float and the dequantized int8 activations, write them to `quantization_debug.csv` in execution
order, and log the worst layers, so a user sees which layer to change.

Example:
    rows = layer_errors(converter, crops, layer_names)
    write_csv(rows, run.root / "quantization_debug.csv")
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from toolchain.files import atomic_write
from toolchain.quantization.inspect import keras_layer_of

log = logging.getLogger(__name__)

#: Crops fed to the debugger (it runs both models op by op in Python: keep it small).
DEBUG_SAMPLES = 16
#: Columns of quantization_debug.csv.
COLUMNS = (
    "index",
    "op",
    "tensor",
    "keras_layer",
    "rmse",
    "rmse_over_scale",
    "cosine",
    "mean_error",
    "max_abs_error",
    "scale",
    "zero_point",
    "num_elements",
)


def _cosine(
    float_tensors: Sequence[np.ndarray],
    quant_tensors: Sequence[np.ndarray],
    scale: float,
    zero_point: int,
) -> float:
    """Cosine between a float activation and its dequantized int8 twin (1.0 when both are ~0)."""
    f = np.asarray(float_tensors[0], dtype=np.float64).ravel()
    q = (np.asarray(quant_tensors[0], dtype=np.float64).ravel() - zero_point) * scale
    nf, nq = np.linalg.norm(f), np.linalg.norm(q)
    tiny = 1e-12
    if nf < tiny and nq < tiny:
        return 1.0
    if nf < tiny or nq < tiny:
        return 0.0
    return float(f @ q / (nf * nq))


def layer_errors(
    converter: Any,
    samples: Callable[[], Any],
    layer_names: Sequence[str] = (),
    output_layer: str | None = None,
) -> list[dict[str, Any]]:
    """Per-op float vs int8 error statistics, in execution order.

    Args:
        converter: a TFLite converter set up for full-int8 quantization (representative
            dataset included: the debugger calibrates with it).
        samples: the debug dataset, a callable yielding `[float32 batch-1 input]` lists.
        layer_names: Keras layer names, to name each op's source layer.
        output_layer: the layer producing the model output (see `keras_layer_of`).
    """
    import tensorflow as tf

    options = tf.lite.experimental.QuantizationDebugOptions(
        layer_direct_compare_metrics={"cosine": _cosine}
    )
    with contextlib.redirect_stdout(io.StringIO()):
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=samples, debug_options=options
        )
        debugger.run()
    buffer = io.StringIO()
    debugger.layer_statistics_dump(buffer)
    buffer.seek(0)
    rows = []
    for k, rec in enumerate(csv.DictReader(buffer)):
        mse = float(rec.get("mean_squared_error") or "nan")
        scale = float(rec.get("scale") or "nan")
        rmse = math.sqrt(mse) if mse >= 0 else float("nan")
        tensor = rec.get("tensor_name", "")
        rows.append(
            {
                "index": k,
                "op": rec.get("op_name", ""),
                "tensor": tensor,
                "keras_layer": keras_layer_of(tensor, layer_names, output_layer) or "",
                "rmse": rmse,
                "rmse_over_scale": rmse / scale if scale and scale > 0 else float("nan"),
                "cosine": float(rec.get("cosine") or "nan"),
                "mean_error": float(rec.get("mean_error") or "nan"),
                "max_abs_error": float(rec.get("max_abs_error") or "nan"),
                "scale": scale,
                "zero_point": int(float(rec.get("zero_point") or 0)),
                "num_elements": int(float(rec.get("num_elements") or 0)),
            }
        )
    return rows


def worst_layers(rows: Sequence[dict[str, Any]], n: int = 5) -> list[dict[str, Any]]:
    """The n ops whose int8 output strays most from float (lowest cosine, then highest RMSE
    in quantization steps)."""

    def key(r):
        cos = r["cosine"] if math.isfinite(r["cosine"]) else 1.0
        steps = r["rmse_over_scale"] if math.isfinite(r["rmse_over_scale"]) else 0.0
        return (cos, -steps)

    return sorted(rows, key=key)[:n]


def write_csv(rows: Sequence[dict[str, Any]], path: str | os.PathLike) -> Path:
    """quantization_debug.csv: one row per op, `COLUMNS` in order."""

    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow({c: row.get(c, "") for c in COLUMNS})

    return atomic_write(Path(path), write, suffix=".csv")


def log_worst(rows: Sequence[dict[str, Any]], n: int = 5) -> str:
    """Log (and return) the worst layers as a few readable lines."""
    lines = [
        f"  {r['op']:<18} {r['keras_layer'] or r['tensor'][:40]:<40} cosine {r['cosine']:.4f}  "
        f"rmse {r['rmse']:.4g} ({r['rmse_over_scale']:.2f} steps)"
        for r in worst_layers(rows, n)
    ]
    text = "layers with the largest int8 error:\n" + "\n".join(lines)
    log.info(text)
    return text
