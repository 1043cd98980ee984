"""The table pass: chains of one-input elementwise ops (the converter's input Rescaling:
uint8 → QUANTIZE → MUL by a constant → ADD a constant) become one LOOKUP_TABLE op whose 256
entries are the oracle's bytes; what does not match stays as it was."""

from __future__ import annotations

import numpy as np
from codegen_harness import Case, check_cases

from toolchain.codegen.emit import compile_graph
from toolchain.codegen.tflite_writer import TensorSpec as T
from toolchain.codegen.tflite_writer import build_model

SHAPE = (1, 16, 16, 1)  # 256 elements: one input can hold every byte


def _const(value: int, scale: float, zp: int, dtype: str = "int8") -> T:
    return T((), dtype, scale, zp, np.array(value, dtype=dtype))


def _rescaling(first_const: bool = False, activation: int = 0, extra: str | None = None) -> bytes:
    """uint8 in → QUANTIZE → MUL(x, c) → ADD(x, c) [→ extra] → out, then a square so the chain
    does not end the graph (MUL of an activation by itself folds into no table)."""
    tensors = [
        T(SHAPE, "uint8", 1.0, 0),
        T(SHAPE, "int8", 1.0, -128),
        _const(127, 3.0757405e-05, -128),  # 255 * 3.0757e-5 = 1 / 127.5, as the converter stores it
        T(SHAPE, "int8", 0.01176471, -43),
        _const(-128, 0.00392157, 127),  # (-128 - 127) * 0.00392 = -1
        T(SHAPE, "int8", 0.00784314, -1),
        T(SHAPE, "int8", 0.02, 5),
    ]
    add_in = [4, 3] if first_const else [3, 4]
    ops = [
        ("QUANTIZE", [0], [1], {}),
        ("MUL", [1, 2], [3], {}),
        ("ADD", add_in, [5], {"activation": activation}),
    ]
    last = 5
    if extra:
        tensors.append(T(SHAPE, "int8", 1 / 256, -128))
        ops.append((extra, [5], [7], {}))
        last = 7
    tensors.append(T(SHAPE, "int8", 0.05, -20))
    ops.append(("MUL", [last, last], [len(tensors) - 1], {}))
    return build_model(tensors, ops, inputs=[0], outputs=[len(tensors) - 1])


def _every_byte(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(256).astype(np.uint8).reshape(SHAPE[1:]) for _ in range(n)])


def test_the_input_rescaling_becomes_one_table():
    comp = compile_graph(_rescaling())
    assert [em.op.name for em in comp.emitters] == ["LOOKUP_TABLE", "MUL"]
    table = comp.graph.tensors[comp.emitters[0].op.inputs[1]].value
    by_byte = table[np.arange(256) ^ 0x80].astype(int)  # stored in lut_s8's int8-view order
    # pixels 0..255 → [-1, 1] at scale 2/255: non-decreasing, spanning the int8 range
    assert np.all(np.diff(by_byte) >= 0) and by_byte[0] == -128 and by_byte[255] >= 126


def test_tables_match_the_oracle_on_every_byte(tmp_path):
    cases = [
        Case(_rescaling(), _every_byte(2, 0), "quantize-mul-add"),
        Case(_rescaling(first_const=True, activation=3), _every_byte(2, 1), "const first, RELU6"),
        Case(_rescaling(extra="LOGISTIC"), _every_byte(2, 2), "then LOGISTIC"),
        Case(_rescaling(extra="TANH"), _every_byte(2, 3), "then TANH"),
    ]
    for case in cases:
        assert compile_graph(case.model).emitters[0].op.name == "LOOKUP_TABLE"
    check_cases(tmp_path, cases)


def test_an_intermediate_read_twice_or_a_wide_constant_stops_the_chain(tmp_path):
    # t1 = QUANTIZE(in) feeds MUL and the final ADD: no chain of two folds.
    branch = build_model(
        [
            T(SHAPE, "uint8", 1.0, 0),
            T(SHAPE, "int8", 1.0, -128),
            _const(3, 0.01, 0),
            T(SHAPE, "int8", 0.02, -10),
            T(SHAPE, "int8", 1.5, 7),
        ],
        [("QUANTIZE", [0], [1], {}), ("MUL", [1, 2], [3], {}), ("ADD", [1, 3], [4], {})],
        inputs=[0],
        outputs=[4],
    )
    # a per-channel constant (4 values) is not one table
    wide = build_model(
        [
            T((1, 8, 8, 4), "int8", 0.1, 3),
            T((1, 8, 8, 4), "int8", 0.1, 3),
            T((4,), "int8", 0.02, 0, np.array([1, -50, 90, 127], np.int8)),
            T((1, 8, 8, 4), "int8", 0.05, -4),
        ],
        [("RELU", [0], [1], {}), ("MUL", [1, 2], [3], {})],
        inputs=[0],
        outputs=[3],
    )
    assert [em.op.name for em in compile_graph(branch).emitters] == ["QUANTIZE", "MUL", "ADD"]
    assert [em.op.name for em in compile_graph(wide).emitters] == ["RELU", "MUL"]
    check_cases(tmp_path, [Case(branch, _every_byte(2, 4), "branch"), Case(wide, label="wide")])
