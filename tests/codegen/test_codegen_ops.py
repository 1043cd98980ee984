"""Bit-exact matrix: single-op models with odd shapes, generated C (host gcc, ASan/UBSan,
-Werror) against the oracle's bytes. All cases share one executable to keep compiles down."""

from __future__ import annotations

import numpy as np
from codegen_harness import Case, check_cases

from toolchain.codegen.tflite_writer import TensorSpec as T
from toolchain.codegen.tflite_writer import build_model, single_op_model


def _cases() -> list[Case]:
    rng = np.random.default_rng(1)
    c = []
    c.append(
        Case(
            single_op_model(
                "QUANTIZE", [T((1, 5, 7, 3), "uint8", 1.0, 0)], T((1, 5, 7, 3), "int8", 1.0, -128)
            ),
            label="quantize u8->i8",
        )
    )
    w = rng.integers(-127, 128, (5, 3, 3, 3)).astype(np.int8)
    ws = rng.uniform(0.001, 0.02, 5)
    c.append(
        Case(
            single_op_model(
                "CONV_2D",
                [
                    T((1, 7, 9, 3), "int8", 0.05, 3),
                    T(w.shape, "int8", ws, 0, w, 0),
                    T((5,), "int32", 0.05 * ws, 0, rng.integers(-1000, 1000, 5).astype(np.int32)),
                ],
                T((1, 4, 5, 5), "int8", 0.1, -7),
                {"padding": 0, "stride_w": 2, "stride_h": 2, "activation": 3},
            ),
            label="conv s2 SAME relu6",
        )
    )
    w2 = rng.integers(-127, 128, (1, 3, 3, 6)).astype(np.int8)
    ws2 = rng.uniform(0.001, 0.02, 6)
    c.append(
        Case(
            single_op_model(
                "DEPTHWISE_CONV_2D",
                [
                    T((1, 7, 9, 3), "int8", 0.05, 3),
                    T(w2.shape, "int8", ws2, 0, w2, 3),
                    T((6,), "int32", 0.05 * ws2, 0, rng.integers(-500, 500, 6).astype(np.int32)),
                ],
                T((1, 7, 9, 6), "int8", 0.03, 5),
                {
                    "padding": 0,
                    "stride_w": 1,
                    "stride_h": 1,
                    "depth_multiplier": 2,
                    "dilation_w": 2,
                    "dilation_h": 2,
                },
            ),
            label="depthwise dm2 dilation2",
        )
    )
    c.append(
        Case(
            single_op_model(
                "ADD",
                [
                    T((1, 5, 7, 3), "int8", 0.05, 3),
                    T(
                        (1, 1, 1, 3),
                        "int8",
                        0.07,
                        -2,
                        rng.integers(-128, 128, (1, 1, 1, 3)).astype(np.int8),
                    ),
                ],
                T((1, 5, 7, 3), "int8", 0.1, 1),
            ),
            label="add broadcast",
        )
    )
    c.append(
        Case(
            single_op_model(
                "MUL",
                [
                    T((1, 5, 7, 3), "int8", 0.05, 3),
                    T((), "int8", 0.004, -128, np.array(127, np.int8)),
                ],
                T((1, 5, 7, 3), "int8", 0.02, 1),
            ),
            label="mul scalar",
        )
    )
    axes = lambda *a: T((len(a),), "int32", None, None, np.array(a, np.int32))  # noqa: E731
    c.append(
        Case(
            single_op_model(
                "MEAN",
                [T((1, 5, 7, 3), "int8", 0.05, 3), axes(1, 2)],
                T((1, 1, 1, 3), "int8", 0.04, -3),
                {"keep_dims": True},
            ),
            label="mean hw",
        )
    )
    c.append(
        Case(
            single_op_model(
                "MEAN",
                [T((1, 5, 7, 3), "int8", 0.05, 3), axes(2)],
                T((1, 5, 3), "int8", 0.04, -3),
                {"keep_dims": False},
            ),
            label="mean w",
        )
    )
    c.append(
        Case(
            single_op_model(
                "MEAN",
                [T((1, 5, 7, 3), "int8", 0.05, 3), axes(1)],
                T((1, 7, 3), "int8", 0.05, 3),
                {"keep_dims": False},
            ),
            label="mean same q",
        )
    )
    fw = rng.integers(-127, 128, (10, 21)).astype(np.int8)
    c.append(
        Case(
            single_op_model(
                "FULLY_CONNECTED",
                [
                    T((1, 21), "int8", 0.05, 3),
                    T(fw.shape, "int8", 0.01, 0, fw),
                    T((10,), "int32", 0.0005, 0, rng.integers(-500, 500, 10).astype(np.int32)),
                ],
                T((1, 10), "int8", 0.2, -5),
            ),
            label="fully connected",
        )
    )
    fcs = rng.uniform(0.002, 0.03, 10)
    c.append(
        Case(
            single_op_model(
                "FULLY_CONNECTED",
                [
                    T((1, 3, 21), "int8", 0.05, -128),
                    T(fw.shape, "int8", fcs, 0, fw),
                    T((10,), "int32", 0.05 * fcs, 0, rng.integers(-900, 900, 10).astype(np.int32)),
                ],
                T((1, 3, 10), "int8", 0.15, 7),
                {"activation": 1, "keep_num_dims": True},
            ),
            label="fully connected per-channel, 3 rows, relu",
        )
    )
    c.append(
        Case(
            single_op_model("DEQUANTIZE", [T((1, 5), "int8", 0.05, 3)], T((1, 5), "float32")),
            label="dequantize",
        )
    )
    c.append(
        Case(
            single_op_model("QUANTIZE", [T((1, 9), "float32")], T((1, 9), "int8", 0.05, 3)),
            label="quantize f32",
        )
    )
    pool = lambda name, opts, out, label: c.append(  # noqa: E731
        Case(
            single_op_model(
                name, [T((1, 7, 9, 5), "int8", 0.05, 3)], T(out, "int8", 0.05, 3), opts
            ),
            label=label,
        )
    )
    pool(
        "MAX_POOL_2D",
        {"padding": 0, "stride_w": 2, "stride_h": 2, "filter_w": 3, "filter_h": 3},
        (1, 4, 5, 5),
        "max pool 3x3 s2 SAME",
    )
    pool(
        "MAX_POOL_2D",
        {"padding": 1, "stride_w": 1, "stride_h": 2, "filter_w": 2, "filter_h": 3, "activation": 1},
        (1, 3, 8, 5),
        "max pool 3x2 VALID relu",
    )
    pool(
        "AVERAGE_POOL_2D",
        {"padding": 0, "stride_w": 2, "stride_h": 2, "filter_w": 3, "filter_h": 3},
        (1, 4, 5, 5),
        "avg pool 3x3 s2 SAME (edge taps)",
    )
    pool(
        "AVERAGE_POOL_2D",
        {"padding": 1, "stride_w": 1, "stride_h": 1, "filter_w": 7, "filter_h": 5, "activation": 3},
        (1, 3, 3, 5),
        "avg pool 5x7 VALID relu6",
    )
    pads = T((4, 2), "int32", None, None, np.array([[0, 0], [1, 2], [0, 3], [0, 0]], np.int32))
    c.append(
        Case(
            single_op_model(
                "PAD", [T((1, 5, 7, 3), "int8", 0.05, -9), pads], T((1, 8, 10, 3), "int8", 0.05, -9)
            ),
            label="pad hw",
        )
    )
    for name, out_q in (
        ("LOGISTIC", (1 / 256, -128)),
        ("TANH", (1 / 128, 0)),
        ("HARD_SWISH", (0.03, -20)),
        ("RELU", (0.05, -128)),
        ("RELU6", (0.03, -128)),
        ("RELU_N1_TO_1", (1 / 128, 0)),
    ):
        c.append(
            Case(
                single_op_model(
                    name, [T((1, 5, 7, 3), "int8", 0.06, 5)], T((1, 5, 7, 3), "int8", *out_q)
                ),
                label=name.lower(),
            )
        )
    pads2 = T((3, 2), "int32", None, None, np.array([[0, 0], [2, 1], [1, 0]], np.int32))
    c.append(
        Case(
            single_op_model(
                "PADV2",
                [
                    T((1, 5, 3), "int8", 0.05, -9),
                    pads2,
                    T((), "int8", 0.05, -9, np.array(77, np.int8)),
                ],
                T((1, 8, 4), "int8", 0.05, -9),
            ),
            label="padv2 constant 77",
        )
    )
    c += _concatenation_cases(rng)
    c += _l2_normalization_cases(rng)
    return c


def _concatenation_cases(rng) -> list[Case]:
    q = (0.05, -3)
    x = T((1, 5, 7, 3), "int8", *q)
    const = T((1, 5, 2, 3), "int8", *q, rng.integers(-128, 128, (1, 5, 2, 3)).astype(np.int8))
    pooled = T((1, 5, 7, 3), "int8", *q)
    pool_1x1 = {"padding": 1, "stride_w": 1, "stride_h": 1, "filter_w": 1, "filter_h": 1}
    return [
        # The graph input twice and a constant, on channels (odd block sizes).
        Case(
            build_model(
                [x, T((1, 5, 7, 6), "int8", *q)],
                [("CONCATENATION", [0, 0], [1], {"axis": -1})],
                [0],
                [1],
            ),
            label="concatenation x,x axis -1",
        ),
        # An arena tensor (a 1x1 max pool of x), the input and a constant, on W.
        Case(
            build_model(
                [x, pooled, const, T((1, 5, 16, 3), "int8", *q)],
                [
                    ("MAX_POOL_2D", [0], [1], pool_1x1),
                    ("CONCATENATION", [1, 2, 0], [3], {"axis": 2}),
                ],
                [0],
                [3],
            ),
            label="concatenation pool,const,x axis 2",
        ),
        Case(
            single_op_model(
                "CONCATENATION",
                [
                    T((1, 5, 7, 3), "uint8", 0.5, 130),
                    T(
                        (1, 2, 7, 3),
                        "uint8",
                        0.5,
                        130,
                        rng.integers(0, 256, (1, 2, 7, 3)).astype(np.uint8),
                    ),
                ],
                T((1, 7, 7, 3), "uint8", 0.5, 130),
                {"axis": 1},
            ),
            label="concatenation uint8 axis 1",
        ),
    ]


def _l2_normalization_cases(rng) -> list[Case]:
    out = lambda shape: T(shape, "int8", 1 / 128, 0)  # noqa: E731
    # Vectors whose sum of squares is 0, 1 (the oracle's special case), tiny, and large.
    small = np.array(
        [[[3, 3, 3, 3, 3], [4, 3, 3, 3, 3], [5, 3, 1, 3, 3], [127, -128, 3, 3, 3]]], np.int8
    ).reshape(1, 1, 4, 5)
    # 9000 elements of |x - zp| = 255: the sum passes 2^29 (the oracle's divide-by-4 loop).
    big = np.where(rng.random((2, 1, 9000)) < 0.97, 127, -128).astype(np.int8)
    big[1, 0, :100] = rng.integers(-128, 128, 100)
    return [
        Case(
            single_op_model("L2_NORMALIZATION", [T((1, 4, 5), "int8", 0.05, 3)], out((1, 4, 5))),
            inputs=small,
            label="l2_normalization zero/one/tiny sums",
        ),
        Case(
            single_op_model(
                "L2_NORMALIZATION", [T((1, 3, 5, 37), "int8", 0.02, -7)], out((1, 3, 5, 37))
            ),
            label="l2_normalization 37 channels",
        ),
        Case(
            single_op_model("L2_NORMALIZATION", [T((1, 9000), "int8", 0.3, -128)], out((1, 9000))),
            inputs=big,
            label="l2_normalization sum > 2^29",
        ),
    ]


def fc_tie_cases() -> list[Case]:
    """FULLY_CONNECTED where acc * s_in * s_w / s_out lands on halves: scales 0.05, 0.01, 0.2
    (factor 0.0025: acc = 200 * odd is a tie) per tensor, and per channel with 0.125 x
    {0.01, 0.7, 0.6} / 0.12 .. like scales; depth 2, every input pair of a grid, so thousands
    of outputs with many exact and near ties (the oracle rounds acc * factor in double, half
    away from zero)."""
    rng = np.random.default_rng(21)
    grid = np.array([(a, b) for a in range(-128, 128, 3) for b in range(-128, 128, 17)], np.int8)
    cases = []
    for label, ws, in_q, out_q in (
        ("fc ties per-tensor 0.05*0.01/0.2", 0.01, (0.05, 3), (0.2, -5)),
        ("fc ties per-channel", [0.01, 0.7, 0.6, 0.125, 0.25] * 8, (0.125, -1), (0.12, 9)),
    ):
        out = 40
        w = rng.integers(-127, 128, (out, 2)).astype(np.int8)
        scales = np.atleast_1d(ws) * np.ones(out) if np.ndim(ws) else np.full(out, ws)
        ins = [
            T((1, 2), "int8", *in_q),
            T(w.shape, "int8", ws, 0, w, 0),
            T(
                (out,),
                "int32",
                in_q[0] * scales,
                0,
                200 * rng.integers(-20, 20, out).astype(np.int32),
            ),
        ]
        model = single_op_model("FULLY_CONNECTED", ins, T((1, out), "int8", *out_q))
        cases.append(Case(model, grid.reshape(-1, 1, 2), label))
    return cases


def test_single_op_models_match_oracle_bytes(tmp_path):
    check_cases(tmp_path, _cases() + fc_tie_cases(), n=4)
