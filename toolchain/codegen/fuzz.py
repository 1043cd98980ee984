"""Random single-op int8 models for differential fuzzing of the code generator.

Each generator in `FUZZ_OPS` draws one op with odd shapes, scales log-uniform in 1e-4..10,
extreme zero points and real multipliers above 1, and returns its `.tflite` bytes (written with
`tflite_writer`, no converter). The runner (tests/codegen/test_codegen_fuzz.py,
benchmarks/codegen_fuzz.py) compiles the generated C and compares its bytes with the oracle's.

    rng = np.random.default_rng(0)
    label, model = random_model(rng)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from toolchain.codegen.quant import compute_padding
from toolchain.codegen.tflite_writer import TensorSpec as T
from toolchain.codegen.tflite_writer import build_model, single_op_model
from toolchain.registry import Registry

FuzzOp = Callable[[np.random.Generator], tuple[str, bytes]]
FUZZ_OPS: Registry[FuzzOp] = Registry("fuzzed op")


def scale(rng: np.random.Generator, low: float = 1e-4, high: float = 10.0) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def zero_point(rng: np.random.Generator) -> int:
    return int(rng.choice([-128, 127, 0, int(rng.integers(-128, 128))]))


def _spatial(rng):
    return int(rng.integers(1, 10)), int(rng.integers(1, 10))


def _conv_geometry(rng, h, w, kh, kw):
    """(padding, stride, dilation, out_h, out_w) with a non-empty output."""
    while True:
        padding = int(rng.integers(0, 2))
        stride = int(rng.choice([1, 2]))
        dilation = int(rng.choice([1, 1, 2]))
        out_h, _ = compute_padding(padding, h, kh, stride, dilation)
        out_w, _ = compute_padding(padding, w, kw, stride, dilation)
        if out_h >= 1 and out_w >= 1:
            return padding, stride, dilation, out_h, out_w


def _io(rng, shape_in, shape_out):
    return (
        T(shape_in, "int8", scale(rng), zero_point(rng)),
        T(shape_out, "int8", scale(rng), zero_point(rng)),
    )


@FUZZ_OPS.register("CONV_2D")
def conv_2d(rng):
    h, w = _spatial(rng)
    cin, cout = int(rng.integers(1, 10)), int(rng.integers(1, 10))
    kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    padding, stride, dilation, oh, ow = _conv_geometry(rng, h, w, kh, kw)
    x, y = _io(rng, (1, h, w, cin), (1, oh, ow, cout))
    filt = rng.integers(-127, 128, (cout, kh, kw, cin)).astype(np.int8)
    ws = np.array([scale(rng, 1e-4, 1.0) for _ in range(cout)])
    bias = rng.integers(-2000, 2000, cout).astype(np.int32)
    opts = {
        "padding": padding,
        "stride_w": stride,
        "stride_h": stride,
        "dilation_w": dilation,
        "dilation_h": dilation,
        "activation": int(rng.choice([0, 1, 3])),
    }
    model = single_op_model(
        "CONV_2D",
        [x, T(filt.shape, "int8", ws, 0, filt, 0), T((cout,), "int32", x.scale * ws, 0, bias)],
        y,
        opts,
    )
    return f"conv {h}x{w}x{cin}->{cout} k{kh}x{kw} {opts}", model


@FUZZ_OPS.register("DEPTHWISE_CONV_2D")
def depthwise_conv_2d(rng):
    h, w = _spatial(rng)
    cin, mult = int(rng.integers(1, 8)), int(rng.choice([1, 2]))
    cout = cin * mult
    kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    padding, stride, dilation, oh, ow = _conv_geometry(rng, h, w, kh, kw)
    x, y = _io(rng, (1, h, w, cin), (1, oh, ow, cout))
    filt = rng.integers(-127, 128, (1, kh, kw, cout)).astype(np.int8)
    ws = np.array([scale(rng, 1e-4, 1.0) for _ in range(cout)])
    bias = rng.integers(-2000, 2000, cout).astype(np.int32)
    opts = {
        "padding": padding,
        "stride_w": stride,
        "stride_h": stride,
        "depth_multiplier": mult,
        "dilation_w": dilation,
        "dilation_h": dilation,
        "activation": int(rng.choice([0, 1, 3])),
    }
    model = single_op_model(
        "DEPTHWISE_CONV_2D",
        [x, T(filt.shape, "int8", ws, 0, filt, 3), T((cout,), "int32", x.scale * ws, 0, bias)],
        y,
        opts,
    )
    return f"depthwise {h}x{w}x{cin}*{mult} k{kh}x{kw} {opts}", model


@FUZZ_OPS.register("FULLY_CONNECTED")
def fully_connected(rng):
    n, units = int(rng.integers(1, 40)), int(rng.integers(1, 20))
    x, y = _io(rng, (1, n), (1, units))
    filt = rng.integers(-127, 128, (units, n)).astype(np.int8)
    per_channel = bool(rng.random() < 0.5)
    ws = np.array([scale(rng, 1e-4, 1.0) for _ in range(units if per_channel else 1)])
    bias = rng.integers(-2000, 2000, units).astype(np.int32)
    bias_scales = x.scale * (ws if per_channel else np.repeat(ws, units))
    model = single_op_model(
        "FULLY_CONNECTED",
        [x, T(filt.shape, "int8", ws, 0, filt), T((units,), "int32", bias_scales, 0, bias)],
        y,
        {"activation": int(rng.choice([0, 1, 3]))},
    )
    return f"fully_connected {n}->{units} per_channel {per_channel}", model


def _binary(name):
    def generate(rng):
        h, w = _spatial(rng)
        c = int(rng.integers(1, 9))
        shape = (1, h, w, c)
        other = shape if rng.random() < 0.5 else (1, 1, 1, c)
        x, y = _io(rng, shape, shape)
        z = T(
            other,
            "int8",
            scale(rng),
            zero_point(rng),
            rng.integers(-128, 128, other).astype(np.int8),
        )
        model = single_op_model(name, [x, z], y, {"activation": int(rng.choice([0, 1, 3]))})
        return f"{name.lower()} {shape} with {other}", model

    return generate


for _name in ("ADD", "SUB", "MUL"):
    FUZZ_OPS.add(_name, _binary(_name))


@FUZZ_OPS.register("MEAN")
def mean(rng):
    """Any non-empty set of non-batch axes (negative too), keep_dims or not, sometimes the
    same quantization in and out (older references had a separate path for it)."""
    h, w = _spatial(rng)
    c = int(rng.integers(1, 9))
    shape = (1, h, w, c)
    axes = [a for a in (1, 2, 3) if rng.random() < 0.6] or [int(rng.integers(1, 4))]
    keep = bool(rng.random() < 0.5)
    out = tuple(1 if k in axes else d for k, d in enumerate(shape) if keep or k not in axes)
    x, y = _io(rng, shape, out)
    if rng.random() < 0.3:
        y = T(out, "int8", x.scale, x.zero_point)
    given = np.array([a - 4 if rng.random() < 0.3 else a for a in axes], np.int32)
    return f"mean {shape} axes {given.tolist()} keep {keep}", single_op_model(
        "MEAN", [x, T((len(axes),), "int32", None, None, given)], y, {"keep_dims": keep}
    )


def _pool(name):
    def generate(rng):
        h, w = _spatial(rng)
        c = int(rng.integers(1, 9))
        while True:
            fh, fw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
            padding, stride = int(rng.integers(0, 2)), int(rng.choice([1, 2]))
            oh, ph = compute_padding(padding, h, fh, stride)
            ow, pw = compute_padding(padding, w, fw, stride)
            if oh >= 1 and ow >= 1 and fh > ph and fw > pw:
                break
        q = (scale(rng), zero_point(rng))
        x, y = T((1, h, w, c), "int8", *q), T((1, oh, ow, c), "int8", *q)
        opts = {
            "padding": padding,
            "stride_w": stride,
            "stride_h": stride,
            "filter_w": fw,
            "filter_h": fh,
            "activation": int(rng.choice([0, 1, 3])),
        }
        return f"{name.lower()} {h}x{w}x{c} {opts}", single_op_model(name, [x], y, opts)

    return generate


for _name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
    FUZZ_OPS.add(_name, _pool(_name))


@FUZZ_OPS.register("PAD")
def pad(rng):
    h, w = _spatial(rng)
    c = int(rng.integers(1, 6))
    pads = rng.integers(0, 3, (4, 2)).astype(np.int32)
    pads[0] = 0
    out = tuple(int(d + a + b) for d, (a, b) in zip((1, h, w, c), pads, strict=True))
    q = (scale(rng), zero_point(rng))
    paddings = T((4, 2), "int32", None, None, pads)
    return f"pad {h}x{w}x{c} {pads.tolist()}", single_op_model(
        "PAD", [T((1, h, w, c), "int8", *q), paddings], T(out, "int8", *q)
    )


def _table(name):
    def generate(rng):
        shape = (1, *_spatial(rng), int(rng.integers(1, 6)))
        x, y = _io(rng, shape, shape)
        if name == "LOGISTIC":
            y = T(shape, "int8", 1 / 256, -128)
        elif name == "TANH":
            y = T(shape, "int8", 1 / 128, 0)
        return f"{name.lower()} {shape} in {x.scale:.3g}/{x.zero_point}", single_op_model(
            name, [x], y
        )

    return generate


for _name in ("LOGISTIC", "TANH", "HARD_SWISH", "RELU", "RELU6", "RELU_N1_TO_1"):
    FUZZ_OPS.add(_name, _table(_name))


# Rank >= 2 with batch 1 below: the oracle runner treats the first axis as the batch.
def _shape(rng, rank, low=1, high=6):
    return (1, *(int(v) for v in rng.integers(low, high, rank - 1)))


@FUZZ_OPS.register("PADV2")
def padv2(rng):
    rank = int(rng.integers(2, 5))
    shape = _shape(rng, rank)
    pads = rng.integers(0, 3, (rank, 2)).astype(np.int32)
    pads[0] = 0
    out = tuple(int(d + a + b) for d, (a, b) in zip(shape, pads, strict=True))
    q = (scale(rng), zero_point(rng))
    value = np.array(rng.integers(-128, 128), np.int8)
    return f"padv2 {shape} {pads.tolist()} value {int(value)}", single_op_model(
        "PADV2",
        [T(shape, "int8", *q), T((rank, 2), "int32", None, None, pads), T((), "int8", *q, value)],
        T(out, "int8", *q),
    )


@FUZZ_OPS.register("CONCATENATION")
def concatenation(rng):
    """The graph input (maybe twice) and constants, one quantization, any axis but the batch
    (negative too)."""
    rank = int(rng.integers(2, 5))
    shape = _shape(rng, rank)
    axis = int(rng.integers(1, rank)) - (rank if rng.random() < 0.5 else 0)
    q = (scale(rng), zero_point(rng))
    parts = [shape]
    for _ in range(int(rng.integers(0, 3))):
        part = list(shape)
        part[axis] = int(rng.integers(1, 5))
        parts.append(tuple(part))
    ids = list(range(len(parts))) + ([0] if rng.random() < 0.3 else [])
    rng.shuffle(ids)
    out = list(shape)
    out[axis] = sum(parts[i][axis] for i in ids)
    tensors = [T(shape, "int8", *q)] + [
        T(p, "int8", *q, rng.integers(-128, 128, p).astype(np.int8)) for p in parts[1:]
    ]
    tensors.append(T(tuple(out), "int8", *q))
    model = build_model(
        tensors, [("CONCATENATION", ids, [len(parts)], {"axis": axis})], [0], [len(parts)]
    )
    return f"concatenation {[parts[i] for i in ids]} axis {axis}", model


@FUZZ_OPS.register("L2_NORMALIZATION")
def l2_normalization(rng):
    rank = int(rng.integers(2, 5))
    shape = _shape(rng, rank - 1, 1, 5) + (int(rng.integers(1, 300)),)
    x = T(shape, "int8", scale(rng), zero_point(rng))
    return f"l2_normalization {shape} zp {x.zero_point}", single_op_model(
        "L2_NORMALIZATION", [x], T(shape, "int8", 1 / 128, 0)
    )


def random_model(rng: np.random.Generator, ops: list[str] | None = None) -> tuple[str, bytes]:
    """One random single-op model: (label, .tflite bytes)."""
    name = str(rng.choice(ops or FUZZ_OPS.names()))
    return FUZZ_OPS.get(name)(rng)
