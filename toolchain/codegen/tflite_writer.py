"""Write small `.tflite` models directly as flatbuffers (no Keras, no converter).

The generator probes the oracle with one-op models to build the lookup tables of LOGISTIC,
TANH and HARD_SWISH with exactly the oracle's values, and the tests and the fuzzer build
single-op models with chosen scales and zero points (1e-4..10, extreme zero points) that the
TF converter would never produce. Uses the schema's object API shipped with the pinned
interpreter.

Example:
    x = TensorSpec((1, 4, 4, 3), "int8", 0.05, -3)
    y = TensorSpec((1, 4, 4, 3), "int8", 1 / 256, -128)
    data = build_model([x, y], [("LOGISTIC", [0], [1], {})], inputs=[0], outputs=[1])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TYPE_CODES = {"float32": 0, "int32": 2, "uint8": 3, "int64": 4, "int16": 7, "int8": 9}

# my option name → object API attribute
_ATTRS = {
    "padding": "padding",
    "stride_w": "strideW",
    "stride_h": "strideH",
    "activation": "fusedActivationFunction",
    "dilation_w": "dilationWFactor",
    "dilation_h": "dilationHFactor",
    "depth_multiplier": "depthMultiplier",
    "filter_w": "filterWidth",
    "filter_h": "filterHeight",
    "keep_dims": "keepDims",
    "keep_num_dims": "keepNumDims",
    "weights_format": "weightsFormat",
    "axis": "axis",
    "new_shape": "newShape",
    "squeeze_dims": "squeezeDims",
}

# builtin op → options class name (in BuiltinOptions and as <name>T)
_OPTIONS = {
    "CONV_2D": "Conv2DOptions",
    "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "AVERAGE_POOL_2D": "Pool2DOptions",
    "MAX_POOL_2D": "Pool2DOptions",
    "FULLY_CONNECTED": "FullyConnectedOptions",
    "MEAN": "ReducerOptions",
    "CONCATENATION": "ConcatenationOptions",
    "RESHAPE": "ReshapeOptions",
    "SQUEEZE": "SqueezeOptions",
    "ADD": "AddOptions",
    "SUB": "SubOptions",
    "MUL": "MulOptions",
    "L2_NORMALIZATION": "L2NormOptions",
    "PAD": "PadOptions",
}


@dataclass
class TensorSpec:
    """A tensor to write: shape, type name, quantization (scalar or per-channel), constant value."""

    shape: tuple[int, ...]
    dtype: str
    scale: float | list[float] | None = None
    zero_point: int | list[int] | None = None
    value: np.ndarray | None = None
    quantized_dimension: int = 0
    name: str = ""


def build_model(
    tensors: list[TensorSpec],
    ops: list[tuple[str, list[int], list[int], dict]],
    inputs: list[int],
    outputs: list[int],
) -> bytes:
    """Serialize a one-subgraph model; `ops` are (builtin name, input ids, output ids, options)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s

    model = s.ModelT()
    model.version = 3
    model.buffers = [s.BufferT()]
    tts = []
    for i, spec in enumerate(tensors):
        t = s.TensorT()
        t.shape = list(spec.shape)
        t.type = TYPE_CODES[spec.dtype]
        t.name = spec.name or f"t{i}"
        t.buffer = 0
        if spec.value is not None:
            b = s.BufferT()
            arr = np.ascontiguousarray(np.asarray(spec.value, dtype=spec.dtype).reshape(spec.shape))
            b.data = list(arr.tobytes())
            t.buffer = len(model.buffers)
            model.buffers.append(b)
        if spec.scale is not None:
            q = s.QuantizationParametersT()
            q.scale = [float(v) for v in np.atleast_1d(spec.scale)]
            zp = spec.zero_point if spec.zero_point is not None else 0
            q.zeroPoint = [int(v) for v in np.atleast_1d(zp)]
            if len(q.zeroPoint) == 1 and len(q.scale) > 1:
                q.zeroPoint = q.zeroPoint * len(q.scale)
            q.quantizedDimension = spec.quantized_dimension
            t.quantization = q
        tts.append(t)
    codes: list[str] = []
    ots = []
    for name, ins, outs, options in ops:
        if name not in codes:
            codes.append(name)
        o = s.OperatorT()
        o.opcodeIndex = codes.index(name)
        o.inputs = list(ins)
        o.outputs = list(outs)
        cls = _OPTIONS.get(name)
        if cls:
            opt = getattr(s, cls + "T")()
            for key, value in (options or {}).items():
                setattr(opt, _ATTRS[key], value)
            o.builtinOptionsType = getattr(s.BuiltinOptions, cls)
            o.builtinOptions = opt
        ots.append(o)
    model.operatorCodes = []
    for name in codes:
        oc = s.OperatorCodeT()
        code = getattr(s.BuiltinOperator, name)
        oc.builtinCode = code
        oc.deprecatedBuiltinCode = min(code, 127)
        oc.version = 1
        model.operatorCodes.append(oc)
    sg = s.SubGraphT()
    sg.tensors = tts
    sg.operators = ots
    sg.inputs = list(inputs)
    sg.outputs = list(outputs)
    model.subgraphs = [sg]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def single_op_model(
    name: str, inputs: list[TensorSpec], output: TensorSpec, options: dict | None = None
) -> bytes:
    """A model running one op; non-constant inputs become the graph inputs (the first one
    must be the only non-constant input for the generator's single-input contract)."""
    tensors = list(inputs) + [output]
    graph_inputs = [i for i, t in enumerate(inputs) if t.value is None]
    return build_model(
        tensors,
        [(name, list(range(len(inputs))), [len(inputs)], options or {})],
        graph_inputs,
        [len(inputs)],
    )
