"""Helium ADD and MUL (mve_elementwise.h) on the virtual Cortex-M55: the oracle's bytes.

One image holds ADD and MUL at the rows' edges after the generator coalesces the broadcast
shape: same-shape tensors (one long row, lengths not multiples of 4), OSNet's channel gate
[1,H,W,C] x [1,1,1,C] (rows of C = 1, 3, 16, 17, 40), the one-value input first or second
(the row swaps roles), a scalar constant, broadcasting in two different dimensions
([1,H,1,C] + [1,1,W,C]), batch 2, fused RELU/RELU6, zero points -128/127, MUL multipliers
above one; and the converter's input Rescaling (QUANTIZE → MUL → ADD, folded into one
table: 16 gathered lookups per step). A disassembly test checks the rows are Helium code and
the reference build is not.
"""

from __future__ import annotations

import numpy as np
import pytest
from m55_harness import (
    REFERENCE,
    build_m55_image,
    mnemonics,
    oracle_mismatches,
    run_m55_image,
)

from toolchain.codegen.tflite_writer import TensorSpec as T
from toolchain.codegen.tflite_writer import build_model, single_op_model
from toolchain.oracle import Oracle

pytestmark = pytest.mark.qemu  # tests/conftest.py: xdist group, skipped without the tools

RELU, RELU6 = 1, 3


def _binary(op, a_shape, b_shape, rng, *, a_q=(0.05, 3), b_q=(0.07, -2), out_q=(0.1, 1), act=0):
    """op(a, b) with b a constant of b_shape (one graph input: the generator's contract)."""
    out_shape = tuple(np.broadcast_shapes(a_shape, b_shape))
    b = T(b_shape, "int8", *b_q, rng.integers(-128, 128, b_shape).astype(np.int8))
    ins = [T(a_shape, "int8", *a_q), b]
    return single_op_model(op, ins, T(out_shape, "int8", *out_q), {"activation": act})


def _with_activation(op, shape, second, *, gate_first=False, act=0, q=(0.05, 3), out_q=(0.1, 1)):
    """Both operands activations, as in the zoo: op(x, y) with y = x * x (same shape: a
    residual ADD) or y = MEAN of x over H, W (OSNet's gate [1,1,1,C]); gate_first puts
    the one-value-per-row operand first."""
    x = T(shape, "int8", *q)
    if second == "same":
        y = T(shape, "int8", 0.06, -5)
        pre = ("MUL", [0, 0], [1], {})  # x * x: itself a same-shape row
        tensors = [x, y]
    else:
        y = T((shape[0], 1, 1, shape[3]), "int8", 0.03, -7)
        axes = T((2,), "int32", None, None, np.array([1, 2], np.int32))
        pre = ("MEAN", [0, 2], [1], {"keep_dims": True})
        tensors = [x, y, axes]
    tensors.append(T(shape, "int8", *out_q))
    ins = [1, 0] if gate_first else [0, 1]
    ops = [pre, (op, ins, [len(tensors) - 1], {"activation": act})]
    return build_model(tensors, ops, inputs=[0], outputs=[len(tensors) - 1])


def _rescaling(shape) -> bytes:
    """The converter's input Rescaling x / 127.5 - 1 on uint8 pixels, then a 1x1 pool."""
    tensors = [
        T(shape, "uint8", 1.0, 0),
        T(shape, "int8", 1.0, -128),
        T((), "int8", 3.0757405e-05, -128, np.array(127, np.int8)),
        T(shape, "int8", 0.01176471, -43),
        T((), "int8", 0.00392157, 127, np.array(-128, np.int8)),
        T(shape, "int8", 0.00784314, -1),
        T(shape, "int8", 0.00784314, -1),
    ]
    ops = [
        ("QUANTIZE", [0], [1], {}),
        ("MUL", [1, 2], [3], {}),
        ("ADD", [3, 4], [5], {}),
        (
            "MAX_POOL_2D",
            [5],
            [6],
            {"padding": 1, "stride_w": 1, "stride_h": 1, "filter_w": 1, "filter_h": 1},
        ),
    ]
    return build_model(tensors, ops, inputs=[0], outputs=[6])


def cases() -> list[tuple[str, bytes]]:
    rng = np.random.default_rng(11)
    c = []
    for op in ("ADD", "MUL"):
        for n in (1, 3, 5, 17, 1001):
            c.append((f"{op} row of {n} and a scalar", _binary(op, (1, 1, 1, n), (), rng)))
        for h, w, ch in ((5, 7, 1), (5, 7, 3), (4, 4, 16), (3, 5, 17), (2, 3, 40)):
            c.append((f"{op} same shape {h}x{w}x{ch}", _with_activation(op, (1, h, w, ch), "same")))
            c.append((f"{op} gate {h}x{w}x{ch}", _with_activation(op, (1, h, w, ch), "gate")))
        for shape in ((1, 13, 11, 5), (1, 24, 24, 3), (1, 16, 16, 4)):  # >= 512: ADD's tables
            label = "x".join(map(str, shape[1:]))
            c.append((f"{op} same shape {label}", _with_activation(op, shape, "same")))
            c.append((f"{op} gate {label}", _with_activation(op, shape, "gate")))
        c.append((f"{op} gate first", _with_activation(op, (1, 3, 5, 17), "gate", gate_first=True)))
        c.append((f"{op} batch 2 gate", _with_activation(op, (2, 3, 4, 9), "gate")))
        c.append((f"{op} constant gate", _binary(op, (1, 5, 7, 19), (1, 1, 1, 19), rng)))
        c.append((f"{op} two dims", _binary(op, (1, 6, 1, 5), (1, 1, 7, 5), rng)))
        c.append(
            (
                f"{op} relu6 zp -128",
                _with_activation(
                    op, (1, 9, 9, 8), "same", act=RELU6, q=(0.02, -128), out_q=(0.05, -128)
                ),
            )
        )
        c.append(
            (
                f"{op} relu zp 127",
                _binary(op, (1, 4, 4, 6), (6,), rng, a_q=(0.03, 127), b_q=(0.01, 127), act=RELU),
            )
        )
    c.append(
        (
            "MUL multiplier > 1",
            _binary(
                "MUL", (1, 5, 5, 5), (1, 1, 1, 5), rng, a_q=(0.5, 1), b_q=(0.4, 0), out_q=(0.01, 0)
            ),
        )
    )
    c.append(("input rescaling table 32x16x3", _rescaling((1, 32, 16, 3))))
    c.append(("input rescaling table 7x5x3 (tail of 9)", _rescaling((1, 7, 5, 3))))
    return c


def _inputs(model: bytes, n: int, rng) -> np.ndarray:
    oracle = Oracle(model)
    info = np.iinfo(oracle.input_dtype)
    return rng.integers(info.min, info.max + 1, (n, *oracle.input_shape)).astype(oracle.input_dtype)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("m55_elementwise")
    labelled = cases()
    labels = [label for label, _ in labelled]
    models = [model for _, model in labelled]
    rng = np.random.default_rng(3)
    inputs = [_inputs(m, 3, rng) for m in models]
    elf = build_m55_image(tmp / "fw", models, inputs)
    return labels, models, inputs, elf, run_m55_image(elf, len(models))


def test_add_and_mul_match_the_oracle_on_qemu_m55(image):
    labels, models, inputs, _, result = image
    failures = oracle_mismatches(labels, models, inputs, result.outputs)
    assert not failures, "qemu-m55 output differs from the oracle:\n" + "\n".join(failures)


REQUANTIZE = {"vqrdmulh.s32", "vrshl.s32", "vqadd.s32"}


def test_the_rows_are_helium_code_and_the_reference_build_is_not(image, tmp_path):
    labels, models, inputs, elf, _ = image
    assert "vldrw.u32" in mnemonics(elf, "add_table_row")  # the gathers from the tables
    for row in ("add_pair_row", "add_table_row", "add_value_row", "mul_pair_row", "mul_value_row"):
        used = mnemonics(elf, row)
        loads = {m for m in used if m.startswith("vldrb")}
        stores = {m for m in used if m.startswith("vstrb")}
        assert REQUANTIZE <= used and {"dlstp.32", "letp"} <= used and loads and stores, row
    assert {"dlstp.8", "letp", "veor"} <= mnemonics(elf, "lut_s8")  # 16 lookups per gather
    k = labels.index("ADD gate 4x4x16")
    ref = build_m55_image(tmp_path / "ref", [models[k]], [inputs[k]], extra_cflags=REFERENCE)
    assert not any(m.startswith(("vq", "vrshl", "dlstp")) for m in mnemonics(ref, "add_s8"))
