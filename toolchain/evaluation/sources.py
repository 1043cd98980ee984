"""Embedding sources: anything that turns a batch of input bytes into embeddings.

Evaluation is the same for every model form: load crops with the one host function, ask a
source for embeddings, hand them to `compute_metrics`. A source is the only part that knows
what runs the model: a float Keras model, a TFLite model in the pinned oracle interpreter,
precomputed embeddings, or (plugged in from `host/` by the harness) a board. They share the
`EmbeddingSource` protocol, so the evaluator never branches on the kind of model.

Example:
    src = TFLiteSource("quantized_models/reid_int8.tflite")
    emb = src.embed(crops)          # crops: uint8 (N, H, W, C) -> (N, D) float32
    src.describe()                  # {"kind": "tflite", "interpreter": {...}, ...}
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from toolchain.errors import EvaluationError, ModelError
from toolchain.oracle import Oracle, interpreter_info
from toolchain.registry import Registry

#: Source kinds by model file suffix; `source_for_path` looks a path up here.
SOURCES: Registry = Registry("embedding source")


@runtime_checkable
class EmbeddingSource(Protocol):
    """What the evaluator needs from a model: embeddings of input bytes, and a description.

    `embed` receives uint8 (N, H, W, C) crops exactly as `load_input_bytes` made them (the
    board's wire bytes) and returns (N, D) embeddings of any numeric dtype; `compute_metrics`
    normalises them. `describe` returns JSON-able facts for metrics.json and logs.
    """

    def embed(self, batch_uint8: np.ndarray) -> np.ndarray: ...

    def describe(self) -> dict: ...


def _check_batch(batch: np.ndarray, input_shape: Sequence[int] | None, where: str) -> np.ndarray:
    batch = np.asarray(batch)
    if batch.dtype != np.uint8 or batch.ndim != 4:
        raise EvaluationError(
            f"{where}: expected input bytes uint8 (N, H, W, C), received "
            f"{batch.dtype} {batch.shape}"
        )
    if input_shape is not None and tuple(batch.shape[1:]) != tuple(input_shape):
        raise EvaluationError(
            f"{where}: expected crops of shape {tuple(input_shape)}, received "
            f"{tuple(batch.shape[1:])}"
        )
    return batch


def load_keras_model(path: str | os.PathLike):
    """Load a `.keras` / `.h5` model without compiling it; `ModelError` names the file."""
    import keras

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"Keras model not found: {path}")
    try:
        import toolchain.models  # noqa: F401  (registers reidtool's custom layers, if any)
    except ImportError:
        pass
    try:
        return keras.models.load_model(path, compile=False)
    except (ValueError, OSError, TypeError, KeyError, zipfile.BadZipFile) as err:
        raise ModelError(f"{path} is not a Keras model reidtool can load: {err}") from err


@SOURCES.register("keras", aliases=(".keras", ".h5"))
class KerasSource:
    """A float Keras embedder. Inputs are the raw uint8 pixels cast to float32: reidtool models
    have their Rescaling layer inside (CONTRACTS §5).

    Args:
        model: a `.keras` / `.h5` path, or a loaded `keras.Model`.
        batch_size: crops per forward pass (a batch-1 model runs one at a time).
        rescaling: (scale, offset) applied to the pixels first, for a user model without its
            own rescaling (`preprocessing.rescaling`); None for reidtool models.
    """

    kind = "float"

    def __init__(
        self, model: Any, batch_size: int = 32, rescaling: tuple[float, float] | None = None
    ):
        if isinstance(model, str | os.PathLike):
            self.path: str | None = str(model)
            model = load_keras_model(model)
        else:
            self.path = None
        self.model = model
        shape = tuple(model.inputs[0].shape)
        # None when the model accepts any height/width: the config's input_shape decides.
        self.input_shape = (
            None if any(d is None for d in shape[1:]) else tuple(int(d) for d in shape[1:])
        )
        self.fixed_batch = shape[0]
        self.batch_size = 1 if self.fixed_batch == 1 else int(batch_size)
        self.rescaling = rescaling

    def embed(self, batch_uint8: np.ndarray) -> np.ndarray:
        batch = _check_batch(
            batch_uint8, self.input_shape, f"Keras model {self.path or self.model.name}"
        )
        outs = []
        for start in range(0, len(batch), self.batch_size):
            x = batch[start : start + self.batch_size].astype(np.float32)
            if self.rescaling is not None:
                x = x * np.float32(self.rescaling[0]) + np.float32(self.rescaling[1])
            y = self.model(x, training=False)
            if isinstance(y, dict):
                y = y.get("embedding", next(iter(y.values())))
            elif isinstance(y, list | tuple):
                y = y[0]
            outs.append(np.asarray(y).reshape(len(x), -1))
        if not outs:
            return np.zeros((0, 0), np.float32)
        return np.concatenate(outs).astype(np.float32)

    def describe(self) -> dict:
        return {
            "kind": "keras",
            "path": self.path,
            "model": self.model.name,
            "input_shape": list(self.input_shape),
        }


def _is_quantized(model_bytes: bytes) -> bool:
    """True when any op of the model reads or writes an 8-bit integer tensor."""
    from toolchain.quantization.inspect import read_ops

    return any(
        t.dtype in ("INT8", "UINT8") for op in read_ops(model_bytes) for t in op.inputs + op.outputs
    )


@SOURCES.register("tflite", aliases=(".tflite",))
class TFLiteSource:
    """A TFLite model (float, int8 or uint8 input and output) run by the oracle interpreter.

    Input: a reidtool int8 model (uint8 input, scale 1, zero point 0) receives the raw bytes
    unchanged; any other quantized input receives the pixels (after `rescaling`, if given)
    quantized with the model's own scale and zero point; a float input receives them as float32.
    Output: int8/uint8 embeddings are dequantized (`dequantize=True`) or returned as integers.

    Args:
        model_path: the `.tflite` file.
        reference: the oracle's reference kernels (default); False = optimized kernels
            (`evaluation.fast_interpreter`), recorded by `describe`.
        num_threads: interpreter threads.
        rescaling: (scale, offset) for models that expect rescaled pixels.
        dequantize: dequantize integer outputs with the output scale and zero point.
    """

    def __init__(
        self,
        model_path: str | os.PathLike,
        reference: bool = True,
        num_threads: int = 1,
        rescaling: tuple[float, float] | None = None,
        dequantize: bool = True,
    ):
        self.path = str(model_path)
        self.oracle = Oracle(model_path, reference=reference, num_threads=num_threads)
        self.reference = reference
        self.rescaling = rescaling
        self.dequantize = dequantize
        self.input_shape = tuple(self.oracle.input_shape[1:])
        #: metrics.json block: "int8" for a quantized model, "float_tflite" for a float one.
        self.kind = "int8" if _is_quantized(self.oracle.model_bytes) else "float_tflite"

    @property
    def raw_bytes_input(self) -> bool:
        """True when the input tensor takes the raw pixel bytes (uint8, scale 1, zero point 0)."""
        scale, zero_point = self.oracle.input_quantization
        return (
            self.oracle.input_dtype == np.uint8
            and scale == 1.0
            and zero_point == 0
            and self.rescaling is None
        )

    def model_input(self, batch_uint8: np.ndarray) -> np.ndarray:
        """The input tensor values the model receives for these crops."""
        batch = _check_batch(batch_uint8, self.input_shape, f"TFLite model {self.path}")
        if self.raw_bytes_input:
            return batch
        x = batch.astype(np.float32)
        if self.rescaling is not None:
            x = x * np.float32(self.rescaling[0]) + np.float32(self.rescaling[1])
        dtype = self.oracle.input_dtype
        if dtype == np.float32:
            return x
        scale, zero_point = self.oracle.input_quantization
        if scale <= 0:
            raise EvaluationError(f"{self.path}: integer input without quantization parameters")
        info = np.iinfo(dtype)
        q = np.round(x.astype(np.float64) / scale) + zero_point
        return np.clip(q, info.min, info.max).astype(dtype)

    def embed(self, batch_uint8: np.ndarray) -> np.ndarray:
        out = self.oracle.run(self.model_input(batch_uint8))
        out = out.reshape(len(out), -1)
        if out.dtype == np.float32 or not self.dequantize:
            return out
        scale, zero_point = self.oracle.output_quantization
        if scale <= 0:
            return out.astype(np.float32)
        return (out.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)

    def describe(self) -> dict:
        in_scale, in_zp = self.oracle.input_quantization
        out_scale, out_zp = self.oracle.output_quantization
        return {
            "kind": "tflite",
            "path": self.path,
            "input": {
                "dtype": str(self.oracle.input_dtype),
                "scale": in_scale,
                "zero_point": in_zp,
                "shape": list(self.oracle.input_shape),
            },
            "output": {
                "dtype": str(self.oracle.output_dtype),
                "scale": out_scale,
                "zero_point": out_zp,
                "shape": list(self.oracle.output_shape),
            },
            "interpreter": interpreter_info(self.reference),
        }


@SOURCES.register("npz", aliases=(".npz",))
class NpzSource:
    """Precomputed embeddings, looked up by image file name.

    Layouts: a `.npz` with `embeddings` (N, D) and `names` (N,) string arrays, or a folder with
    one `<image file stem>.npy` per image. Files are read with `allow_pickle=False`. Crops have
    no file name, so this source embeds files (`embed_files`) rather than pixels.

    Args:
        path: the `.npz` file or the folder.
    """

    kind = "precomputed"

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._table: dict[str, np.ndarray] | None = None
        if self.path.is_file():
            try:
                with np.load(self.path, allow_pickle=False) as data:
                    for key in ("embeddings", "names"):
                        if key not in data:
                            raise EvaluationError(
                                f"{self.path}: expected arrays 'embeddings' and 'names', "
                                f"received {sorted(data.files)}"
                            )
                    emb, names = np.asarray(data["embeddings"]), np.asarray(data["names"])
            except (ValueError, OSError, zipfile.BadZipFile) as err:
                raise EvaluationError(
                    f"{self.path} is not a readable .npz without pickles: {err}"
                ) from err
            if emb.ndim != 2 or names.shape != (len(emb),):
                raise EvaluationError(
                    f"{self.path}: expected embeddings (N, D) and names (N,), received "
                    f"{emb.shape} and {names.shape}"
                )
            self._table = {Path(str(n)).stem: e for n, e in zip(names, emb, strict=True)}
        elif not self.path.is_dir():
            raise EvaluationError(f"precomputed embeddings not found: {self.path} (.npz or folder)")

    def _one(self, path: Path) -> np.ndarray:
        stem = Path(path).stem
        if self._table is not None:
            if stem not in self._table:
                raise EvaluationError(f"{self.path} holds no embedding named '{stem}' (for {path})")
            return self._table[stem]
        npy = self.path / f"{stem}.npy"
        if not npy.is_file():
            raise EvaluationError(f"no precomputed embedding {npy} for image {path}")
        try:
            value = np.load(npy, allow_pickle=False)
        except ValueError as err:
            raise EvaluationError(f"{npy} is not a plain .npy array: {err}") from err
        return np.asarray(value).reshape(-1)

    def embed_files(self, paths: Sequence[str | os.PathLike]) -> np.ndarray:
        """The stored embeddings of these image files, (N, D)."""
        rows = [self._one(Path(p)) for p in paths]
        sizes = {r.size for r in rows}
        if len(sizes) > 1:
            raise EvaluationError(f"{self.path}: embeddings of different sizes {sorted(sizes)}")
        return np.stack(rows) if rows else np.zeros((0, 0))

    def embed(self, batch_uint8: np.ndarray) -> np.ndarray:
        raise EvaluationError(
            f"precomputed embeddings ({self.path}) are looked up by image file name: "
            "use embed_files(paths), not pixels"
        )

    def describe(self) -> dict:
        return {"kind": "npz", "path": str(self.path)}


def source_for_path(
    path: str | os.PathLike,
    *,
    reference: bool = True,
    num_threads: int = 1,
    rescaling: tuple[float, float] | None = None,
) -> EmbeddingSource:
    """The source for a model file by its suffix: .keras/.h5, .tflite, .npz or a folder."""
    path = Path(path)
    key = "npz" if path.is_dir() else path.suffix.lower()
    if key not in SOURCES:
        raise EvaluationError(
            f"cannot evaluate {path}: expected a .keras, .h5, .tflite or .npz file or a folder "
            f"of .npy embeddings, received suffix '{path.suffix}'"
        )
    cls = SOURCES.get(key)
    if cls is TFLiteSource:
        return TFLiteSource(path, reference=reference, num_threads=num_threads, rescaling=rescaling)
    if cls is KerasSource:
        return KerasSource(path, rescaling=rescaling)
    return cls(path)
