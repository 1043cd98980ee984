"""The numeric oracle (CONTRACTS §5): the pinned LiteRT interpreter with its reference kernels.

Every int8 figure reidtool reports (host int8 evaluation, `validate`, the code generator's
tests, the on-device bit-exact check) is compared against this interpreter run with
`OpResolverType.BUILTIN_REF`. The optimized and XNNPACK kernels differ from it by a
quantization step on some values, so they are only used when asked for
(`evaluation.fast_interpreter`).

Example:
    oracle = Oracle("model_int8.tflite")
    out = oracle.run(batch_of_uint8_inputs)   # (N, *output_shape[1:])
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

import numpy as np

from toolchain.errors import ReidtoolError

PACKAGE = "ai-edge-litert"


def interpreter_info(reference: bool = True) -> dict[str, str]:
    """What goes into metrics.json["int8"]["interpreter"]."""
    return {
        "package": PACKAGE,
        "version": importlib.metadata.version(PACKAGE),
        "kernels": "reference" if reference else "optimized",
    }


class Oracle:
    """One TFLite model loaded in the pinned interpreter.

    Args:
        model: a `.tflite` path or the model's bytes.
        reference: reference kernels (the oracle) when True; the builtin optimized kernels
            without XNNPACK when False (`evaluation.fast_interpreter`).
        num_threads: interpreter threads (`general.num_threads_tflite`).
    """

    def __init__(self, model: str | os.PathLike | bytes, reference: bool = True, num_threads: int = 1):
        from ai_edge_litert import interpreter as litert

        resolver = (
            litert.OpResolverType.BUILTIN_REF
            if reference
            else litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        )
        self.reference = reference
        if isinstance(model, bytes | bytearray):
            self.model_bytes = bytes(model)
            self.name = "<bytes>"
        else:
            path = Path(model)
            if not path.is_file():
                raise ReidtoolError(f"TFLite model not found: {path}")
            self.model_bytes = path.read_bytes()
            self.name = str(path)
        try:
            self._interp = litert.Interpreter(
                model_content=self.model_bytes,
                experimental_op_resolver_type=resolver,
                num_threads=num_threads,
            )
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as err:
            raise ReidtoolError(f"{self.name} is not a TFLite model the interpreter accepts: {err}") from err
        self.input_details = self._interp.get_input_details()[0]
        self.output_details = self._interp.get_output_details()[0]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.input_details["shape"])

    @property
    def output_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.output_details["shape"])

    @property
    def input_dtype(self) -> np.dtype:
        return np.dtype(self.input_details["dtype"])

    @property
    def output_dtype(self) -> np.dtype:
        return np.dtype(self.output_details["dtype"])

    @property
    def input_quantization(self) -> tuple[float, int]:
        scale, zero_point = self.input_details["quantization"]
        return float(scale), int(zero_point)

    @property
    def output_quantization(self) -> tuple[float, int]:
        scale, zero_point = self.output_details["quantization"]
        return float(scale), int(zero_point)

    def invoke(self, x: np.ndarray) -> np.ndarray:
        """Run one batch-1 input shaped like the input tensor (or without its batch axis)."""
        x = np.asarray(x)
        if x.dtype != self.input_dtype:
            raise ReidtoolError(
                f"input dtype for {self.name}: expected {self.input_dtype}, received {x.dtype}"
            )
        x = x.reshape(self.input_shape)
        self._interp.set_tensor(self.input_details["index"], x)
        self._interp.invoke()
        return self._interp.get_tensor(self.output_details["index"]).copy()

    def run(self, xs: np.ndarray) -> np.ndarray:
        """Run N inputs shaped `(N, *input_shape[1:])`; returns `(N, *output_shape[1:])`."""
        xs = np.asarray(xs)
        outs = [self.invoke(x)[0] for x in xs]
        return np.stack(outs) if outs else np.zeros((0, *self.output_shape[1:]), self.output_dtype)
