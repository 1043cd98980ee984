"""Helium (MVE) kernels on the virtual Cortex-M55: the same bytes as the oracle.

One firmware image (m55_harness) holds the code generator's bit-exact single-op matrix
(tests/codegen/test_codegen_ops.py), cases aimed at the fast kernels' edges (channels not
multiples of 4/8/16, 1x1 stride 2, 7x7 stride 2 SAME, dilation, depth multiplier 2 and layers
too large for the fast path, which fall back to the reference loop, more output channels than
one constant chunk, per-tensor and per-channel filters, extreme zero points, multipliers above
one) and a whole converter-made model; it runs once on qemu-m55 and every output byte is
compared with the oracle's. Random layers from the code generator's fuzzer (fixed seed)
join them. The same image also checks the vector requantization lane by lane against the
scalar one. The host runs the same matrix with the reference kernels
(tests/codegen), so both paths are held to the oracle.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "codegen"))

from m55_harness import (  # noqa: E402
    REFERENCE,
    build_m55_image,
    fuzz_models,
    mnemonics,
    oracle_mismatches,
    run_m55_image,
)
from test_codegen_ops import _cases as codegen_matrix  # noqa: E402
from test_codegen_ops import fc_tie_cases  # noqa: E402

from toolchain.codegen.tflite_writer import TensorSpec as T  # noqa: E402
from toolchain.codegen.tflite_writer import build_model, single_op_model
from toolchain.oracle import Oracle  # noqa: E402
from toolchain.quantization.quantizer import random_calibrated_int8  # noqa: E402

pytestmark = [
    pytest.mark.qemu,
    pytest.mark.xdist_group("qemu"),
    pytest.mark.skipif(
        shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
        reason="needs qemu-system-arm and arm-none-eabi-gcc",
    ),
]


def _conv_model(
    rng, in_shape, out_shape, k, opts, *, in_q=(0.05, 3), out_q=(0.1, -7), per_channel=True
):
    out_c = out_shape[3]
    w = rng.integers(-127, 128, (out_c, *k, in_shape[3])).astype(np.int8)
    ws = rng.uniform(0.001, 0.02, out_c) if per_channel else 0.01
    ins = [
        T(in_shape, "int8", *in_q),
        T(w.shape, "int8", ws, 0, w, 0),
        T(
            (out_c,),
            "int32",
            in_q[0] * np.atleast_1d(ws) * np.ones(out_c),
            0,
            rng.integers(-3000, 3000, out_c).astype(np.int32),
        ),
    ]  # the oracle needs a bias
    return single_op_model("CONV_2D", ins, T(out_shape, "int8", *out_q), opts)


def _dw_model(rng, in_shape, out_shape, k, opts, *, in_q=(0.05, 3), out_q=(0.03, 5), bias=True):
    c = out_shape[3]
    w = rng.integers(-127, 128, (1, *k, c)).astype(np.int8)
    ws = rng.uniform(0.001, 0.02, c)
    ins = [T(in_shape, "int8", *in_q), T(w.shape, "int8", ws, 0, w, 3)]
    if bias:
        ins.append(T((c,), "int32", in_q[0] * ws, 0, rng.integers(-500, 500, c).astype(np.int32)))
    return single_op_model(
        "DEPTHWISE_CONV_2D",
        ins,
        T(out_shape, "int8", *out_q),
        {"depth_multiplier": c // in_shape[3], **opts},
    )


def _fc_model(rng, batches, depth, out, *, per_channel=False, in_q=(0.05, 3), out_q=(0.2, -5)):
    w = rng.integers(-127, 128, (out, depth)).astype(np.int8)
    ws = rng.uniform(0.005, 0.02, out) if per_channel else 0.01
    ins = [
        T((batches, depth), "int8", *in_q),
        T(w.shape, "int8", ws, 0, w, 0),
        T(
            (out,),
            "int32",
            in_q[0] * np.atleast_1d(ws) * np.ones(out),
            0,
            rng.integers(-500, 500, out).astype(np.int32),
        ),
    ]
    return single_op_model("FULLY_CONNECTED", ins, T((batches, out), "int8", *out_q))


SAME = {"padding": 0, "stride_w": 1, "stride_h": 1}
SAME2 = {"padding": 0, "stride_w": 2, "stride_h": 2}
VALID = {"padding": 1, "stride_w": 1, "stride_h": 1}
RELU6 = {"activation": 3}


def _overlapped_depthwise(rng, c: int) -> bytes:
    """pool 1x1 -> depthwise 3x3 SAME -> pool 1x1: the planner starts the depthwise output two
    rows before its input in one buffer (streaming overlap); c > 512 channels makes the Helium
    kernel take two channel chunks, which must still go row by row."""
    q = (0.05, -3)
    w = rng.integers(-127, 128, (1, 3, 3, c)).astype(np.int8)
    ws = rng.uniform(0.002, 0.02, c)
    x = T((1, 6, 5, c), "int8", *q)
    tensors = [
        x,
        T((1, 6, 5, c), "int8", *q),
        T(w.shape, "int8", ws, 0, w, 3),
        T((c,), "int32", q[0] * ws, 0, rng.integers(-500, 500, c).astype(np.int32)),
        T((1, 6, 5, c), "int8", 0.03, 2),
        T((1, 6, 5, c), "int8", 0.03, 2),
    ]
    pool = {"padding": 1, "stride_w": 1, "stride_h": 1, "filter_w": 1, "filter_h": 1}
    ops = [
        ("MAX_POOL_2D", [0], [1], pool),
        ("DEPTHWISE_CONV_2D", [1, 2, 3], [4], {**SAME, "depth_multiplier": 1}),
        ("MAX_POOL_2D", [4], [5], pool),
    ]
    return build_model(tensors, ops, [0], [5])


def mve_cases() -> list[tuple[str, bytes]]:
    """Layers aimed at the fast kernels' edges (label, model)."""
    rng = np.random.default_rng(12)
    rng2 = np.random.default_rng(1212)  # the fast paths' own cases: rng's sequence unchanged
    c = []
    c.append(
        (
            "conv 1x1 21->7 zp -128 relu6",
            _conv_model(
                rng, (1, 5, 7, 21), (1, 5, 7, 7), (1, 1), {**SAME, **RELU6}, in_q=(0.05, -128)
            ),
        )
    )
    c.append(
        (
            "conv 1x1 s2 35->10 per-tensor, multiplier > 1",
            _conv_model(
                rng,
                (1, 7, 9, 35),
                (1, 4, 5, 10),
                (1, 1),
                {**SAME2},
                in_q=(0.05, 127),
                out_q=(0.0004, 9),
                per_channel=False,
            ),
        )
    )
    c.append(
        (
            "conv 1x1 3->33 batch 2",
            _conv_model(rng, (2, 4, 5, 3), (2, 4, 5, 33), (1, 1), SAME, out_q=(0.02, 0)),
        )
    )
    c.append(
        (
            "conv 1x1 16->300 (two constant chunks)",
            _conv_model(rng, (1, 2, 3, 16), (1, 2, 3, 300), (1, 1), SAME, out_q=(0.05, 1)),
        )
    )
    c.append(
        (
            "conv 3x3 dilation 2 SAME 17->6",
            _conv_model(
                rng,
                (1, 6, 7, 17),
                (1, 6, 7, 6),
                (3, 3),
                {**SAME, "dilation_w": 2, "dilation_h": 2},
                out_q=(0.3, -2),
            ),
        )
    )
    c.append(
        (
            "conv 7x7 s2 SAME 3->9",
            _conv_model(
                rng, (1, 13, 11, 3), (1, 7, 6, 9), (7, 7), {**SAME2, **RELU6}, out_q=(0.2, -128)
            ),
        )
    )
    c.append(
        (
            "conv 2x3 VALID 19->4",
            _conv_model(rng, (1, 5, 6, 19), (1, 4, 4, 4), (2, 3), VALID, out_q=(0.3, 4)),
        )
    )
    c.append(
        (
            "conv 3x3 240->5 (K > scratch: reference fallback)",
            _conv_model(rng, (1, 3, 4, 240), (1, 3, 4, 5), (3, 3), SAME, out_q=(1.0, 0)),
        )
    )
    # the pair kernels (K <= 32): odd pixel counts, tails of 1..3 channels, strided and
    # im2col rows, K = 16, 17, 32, batch 2
    c.append(
        (
            "conv 1x1 8->48 odd pixel count (pairs, last pixel alone)",
            _conv_model(rng2, (1, 5, 7, 8), (1, 5, 7, 48), (1, 1), {**SAME, **RELU6}),
        )
    )
    c.append(
        (
            "conv 1x1 16->10 batch 2 (pairs + two tail channels)",
            _conv_model(rng2, (2, 3, 3, 16), (2, 3, 3, 10), (1, 1), SAME, in_q=(0.05, -128)),
        )
    )
    c.append(
        (
            "conv 1x1 s2 24->12 (pairs of strided rows)",
            _conv_model(rng2, (1, 7, 9, 24), (1, 4, 5, 12), (1, 1), SAME2, out_q=(0.05, 3)),
        )
    )
    c.append(
        (
            "conv 3x3 s2 SAME 3->16 odd width (im2col pairs, padding)",
            _conv_model(
                rng2, (1, 9, 7, 3), (1, 5, 4, 16), (3, 3), {**SAME2, **RELU6}, in_q=(0.05, 127)
            ),
        )
    )
    c.append(
        (
            "conv 1x1 32->7 per-tensor, 15 pixels",
            _conv_model(
                rng2, (1, 3, 5, 32), (1, 3, 5, 7), (1, 1), SAME, out_q=(0.2, -3), per_channel=False
            ),
        )
    )
    # the general kernel on interleaved weights (K > 32, enough pixels to repack)
    c.append(
        (
            "conv 1x1 40->10 batch 2 (packed weights, 2 tail channels)",
            _conv_model(rng2, (2, 5, 6, 40), (2, 5, 6, 10), (1, 1), SAME, in_q=(0.05, -128)),
        )
    )
    c.append(
        (
            "conv 3x3 SAME 7->9 relu6 (packed weights, K = 63, im2col)",
            _conv_model(rng2, (1, 6, 7, 7), (1, 6, 7, 9), (3, 3), {**SAME, **RELU6}),
        )
    )
    c.append(
        (
            "conv 1x1 200->90 (packed weights, chunks of 76 and 14 channels)",
            _conv_model(rng2, (1, 11, 10, 200), (1, 11, 10, 90), (1, 1), SAME, out_q=(1.0, 2)),
        )
    )
    c.append(
        (
            "conv 3x3 SAME 100->6 (im2col runs of 2 pixels)",
            _conv_model(rng2, (1, 3, 5, 100), (1, 3, 5, 6), (3, 3), SAME, out_q=(1.0, 1)),
        )
    )
    c.append(
        (
            "conv 3x3 s2 SAME 3->8 width 160 (im2col runs of 75 pixels, odd rest)",
            _conv_model(rng2, (1, 3, 160, 3), (1, 2, 80, 8), (3, 3), SAME2, out_q=(0.2, -1)),
        )
    )
    c.append(
        (
            "conv 1x1 8->6 mixed left shifts (pair kernel's VSHL step)",
            _conv_model(rng2, (1, 3, 3, 8), (1, 3, 3, 6), (1, 1), SAME, out_q=(0.0002, -5)),
        )
    )
    c.append(
        (
            "conv 1x1 17->4, 3 pixels",
            _conv_model(rng2, (1, 1, 3, 17), (1, 1, 3, 4), (1, 1), SAME, out_q=(0.0004, 2)),
        )
    )
    c.append(
        (
            "conv 3x1 VALID 5->9 batch 2 (K = 15, im2col pairs across images)",
            _conv_model(rng2, (2, 5, 3, 5), (2, 3, 3, 9), (3, 1), VALID, out_q=(0.1, 0)),
        )
    )
    c.append(
        (
            "depthwise 3x3 SAME 21 ch relu6",
            _dw_model(rng, (1, 6, 5, 21), (1, 6, 5, 21), (3, 3), {**SAME, **RELU6}),
        )
    )
    c.append(
        (
            "depthwise 3x3 s2 SAME 40 ch zp 127",
            _dw_model(rng, (1, 7, 9, 40), (1, 4, 5, 40), (3, 3), SAME2, in_q=(0.05, 127)),
        )
    )
    c.append(
        (
            "depthwise 5x5 VALID dilation 2, 8 ch, no bias",
            _dw_model(
                rng,
                (1, 11, 10, 8),
                (1, 3, 2, 8),
                (5, 5),
                {**VALID, "dilation_w": 2, "dilation_h": 2},
                bias=False,
            ),
        )
    )
    c.append(
        (
            "depthwise 3x3 SAME 3 ch, multiplier > 1",
            _dw_model(rng, (1, 4, 5, 3), (1, 4, 5, 3), (3, 3), SAME, out_q=(0.0004, 0)),
        )
    )
    # the 3x3 row kernels (ring of rearranged input rows, pairs of pixels, groups of 8
    # channels): partial groups, odd widths, one-pixel rows, stride 2 SAME/VALID, batch 2
    c.append(
        (
            "depthwise 3x3 SAME 24 ch odd width, batch 2 (rows)",
            _dw_model(rng2, (2, 4, 7, 24), (2, 4, 7, 24), (3, 3), {**SAME, **RELU6}),
        )
    )
    c.append(
        (
            "depthwise 3x3 s2 VALID 13 ch (rows, partial second group)",
            _dw_model(rng2, (1, 7, 9, 13), (1, 3, 4, 13), (3, 3), {**VALID, **SAME2, "padding": 1}),
        )
    )
    c.append(
        (
            "depthwise 3x3 s2 SAME 5 ch even width, zp -128 (rows, one partial group)",
            _dw_model(rng2, (1, 6, 8, 5), (1, 3, 4, 5), (3, 3), SAME2, in_q=(0.05, -128)),
        )
    )
    c.append(
        (
            "depthwise 3x3 s2 SAME 24 ch mixed left shifts (rows' VSHL step)",
            _dw_model(rng2, (1, 5, 6, 24), (1, 3, 3, 24), (3, 3), SAME2, out_q=(0.0002, 1)),
        )
    )
    c.append(
        (
            "depthwise 3x3 VALID 40 ch, one pixel per row (rows)",
            _dw_model(rng2, (1, 5, 3, 40), (1, 3, 1, 40), (3, 3), VALID, out_q=(0.0004, -3)),
        )
    )
    c.append(
        (
            "depthwise 3x3 SAME 16 ch on a 1x1 image, no bias (rows)",
            _dw_model(rng2, (1, 1, 1, 16), (1, 1, 1, 16), (3, 3), SAME, bias=False),
        )
    )
    c.append(
        (
            "depthwise 3x3 dilation 2 SAME 16 ch (pixel path)",
            _dw_model(
                rng2,
                (1, 6, 6, 16),
                (1, 6, 6, 16),
                (3, 3),
                {**SAME, "dilation_w": 2, "dilation_h": 2},
            ),
        )
    )
    c.append(
        (
            "depthwise 24 ch over its own input (rows, streaming overlap)",
            _overlapped_depthwise(rng2, 24),
        )
    )
    c.append(
        (
            "depthwise 3x3 s2 SAME dm2 (reference fallback)",
            _dw_model(rng, (1, 5, 6, 5), (1, 3, 3, 10), (3, 3), SAME2),
        )
    )
    c.append(
        (
            "depthwise 530 ch over its own input (two chunks, streaming overlap)",
            _overlapped_depthwise(rng, 530),
        )
    )
    c.append(("fully connected 100->37", _fc_model(rng, 1, 100, 37)))
    c.append(
        (
            "fully connected 33->6 batch 2 per-channel",
            _fc_model(rng, 2, 33, 6, per_channel=True, in_q=(0.05, -128)),
        )
    )
    return c


def fuzz_cases(n: int = 36, seed: int = 7) -> list[tuple[str, bytes]]:
    """Random CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED layers from the code generator's
    fuzzer (scales 1e-4..10, extreme zero points, strides, dilations), fixed seed."""
    return fuzz_models(["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"], n, seed)


def tiny_model(tmp: Path) -> bytes:
    """A converter-made int8 embedder: Rescaling, conv 3x3 s2, depthwise, 1x1 with a residual
    add, pooling, dense (uint8 in, int8 out), as the boards' acceptance test builds it."""
    tf = pytest.importorskip("tensorflow")
    h, w = 32, 16
    inp = tf.keras.Input((h, w, 3))
    x = tf.keras.layers.Rescaling(1 / 127.5, -1.0)(inp)
    x = tf.keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu6")(x)
    y = tf.keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    y = tf.keras.layers.Conv2D(16, 1)(y)
    x = tf.keras.layers.Add()([x, y])
    x = tf.keras.layers.Conv2D(24, 1, activation="relu6")(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    out = tf.keras.layers.Dense(20)(x)
    return random_calibrated_int8(tf.keras.Model(inp, out))


def _random_inputs(oracle: Oracle, n: int, rng) -> np.ndarray:
    shape = (n, *oracle.input_shape)  # whole tensors: batch-2 layers too
    if oracle.input_dtype == np.float32:
        return rng.normal(0, 3, shape).astype(np.float32)
    info = np.iinfo(oracle.input_dtype)
    return rng.integers(info.min, info.max + 1, shape).astype(oracle.input_dtype)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    """(labels, models, inputs, ELF, QEMU result) of the whole matrix, built and run once."""
    tmp = tmp_path_factory.mktemp("m55")
    labels, models = [], []
    for case in codegen_matrix():
        labels.append("codegen matrix: " + (case.label or "?"))
        models.append(case.model)
    for label, model in mve_cases() + fuzz_cases():
        labels.append(label)
        models.append(model)
    labels.append("whole tiny model")
    models.append(tiny_model(tmp))
    rng = np.random.default_rng(5)
    inputs = [_random_inputs(Oracle(m), 3, rng) for m in models]
    for case in fc_tie_cases():  # FULLY_CONNECTED on ties: their own inputs (a grid)
        labels.append("codegen matrix: " + case.label)
        models.append(case.model)
        inputs.append(case.inputs[::4])
    elf = build_m55_image(tmp / "fw", models, inputs, requantize_rounds=100_000)
    result = run_m55_image(elf, len(models))
    return labels, models, inputs, elf, result


def test_every_layer_matches_the_oracle_on_qemu_m55(matrix):
    labels, models, inputs, _, result = matrix
    failures = oracle_mismatches(labels, models, inputs, result.outputs)
    assert len(models) > 80
    assert not failures, "qemu-m55 output differs from the oracle:\n" + "\n".join(failures)


def test_vector_requantization_equals_the_scalar_one(matrix):
    result = matrix[4]
    assert result.requantize_checked == 400_000
    assert result.requantize_bad == 0


# objdump prints VMLADAVA as its alias VMLAVA.
DOT = {"vmladava.s8", "vmlava.s8"}
REQUANTIZE = {"vqrdmulh.s32", "vrshl.s32", "vqadd.s32"}
SEQUENCE = REQUANTIZE | {"vshl.s32", "vand", "vshr.s32"}


def test_the_fast_kernels_use_helium_instructions(matrix):
    elf = matrix[3]

    def used(*functions):
        return set().union(*(mnemonics(elf, f) for f in functions))

    conv = used("conv_2d_s8", "conv_2d_s8_mve", "mve_conv_pixel")
    assert conv & DOT and REQUANTIZE <= conv and {"dlstp.8", "letp"} <= conv
    dw = used("depthwise_conv_2d_s8", "depthwise_conv_2d_s8_mve", "mve_dw_pixel16")
    assert {"vmullb.s16", "vmullt.s16"} <= dw and REQUANTIZE <= dw
    # every assembly kernel repeats requantize.h's whole sequence
    for kernel in ("mve_conv_pairs1", "mve_conv_pairs2", "mve_conv_pixel_packed"):
        m = used(kernel)
        assert m & (DOT | {"vmladav.s8", "vmlav.s8"}) and SEQUENCE <= m, kernel
    assert {"dlstp.8", "letp"} <= used("mve_conv_pixel_packed")
    for kernel in ("mve_dw_row_s1", "mve_dw_row_s2"):
        m = used(kernel)
        assert {"vmullb.s16", "vmullt.s16", "vqmovnb.s32", "vqmovnt.s32"} <= m, kernel
        assert SEQUENCE <= m and "vstrbt.16" in m, kernel  # predicated stores: last channels
    assert "vstrw.32" in used("mve_dw_rows")  # the ring's scatter stores
    fc = used("fully_connected_s8")
    assert fc & DOT and "vaddva.s8" in fc


def test_reference_build_has_no_helium_instructions(matrix, tmp_path):
    """-DREID_REFERENCE_KERNELS (the benchmark's baseline) really builds the portable loops."""
    labels, models, inputs, _, _ = matrix
    k = labels.index("conv 1x1 21->7 zp -128 relu6")
    elf = build_m55_image(tmp_path / "ref", [models[k]], [inputs[k]], extra_cflags=REFERENCE)
    assert not any(m.startswith(("vml", "vq", "vrshl")) for m in mnemonics(elf, "conv_2d_s8"))
