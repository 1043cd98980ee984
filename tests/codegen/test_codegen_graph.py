"""Graph passes: SPACE_TO_BATCH_ND → conv → BATCH_TO_SPACE_ND (how TFLite converters lower a
dilated convolution) folds back into one dilated conv, with the oracle's bytes."""

from __future__ import annotations

import numpy as np
import pytest
from codegen_harness import Case, check_cases

from toolchain.codegen.emit import compile_graph
from toolchain.codegen.tflite_writer import TensorSpec as T
from toolchain.codegen.tflite_writer import build_model
from toolchain.errors import CodegenError


def _lowered(op: str, same: bool, block=(2, 2)) -> bytes:
    """A 3x3 conv with dilation 2 on a 9x9x3 map, lowered as the converter does: pad to a
    multiple of the block (SAME: 2 before, 2 + 1 after; VALID: 0 before, 1 after), VALID conv
    on the 4 phase batches, interleave back and crop the extra row and column."""
    rng = np.random.default_rng(7)
    pads = [[2, 3], [2, 3]] if same else [[0, 1], [0, 1]]
    crops = [[0, 1], [0, 1]]
    inner = 7 if same else 5  # (9 + pads) / 2
    conv_out = inner - 2
    out = 2 * conv_out - 1  # SAME: 9; VALID: 9 - (3 - 1) * 2 = 5
    if op == "CONV_2D":
        w = rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8)
        out_c, opts = 4, {"padding": 1, "stride_w": 1, "stride_h": 1}
    else:
        w = rng.integers(-127, 128, (1, 3, 3, 3)).astype(np.int8)
        out_c = 3
        opts = {"padding": 1, "stride_w": 1, "stride_h": 1, "depth_multiplier": 1}
    ws = rng.uniform(0.005, 0.02, out_c)
    qdim = 0 if op == "CONV_2D" else 3
    tensors = [
        T((1, 9, 9, 3), "int8", 0.05, -3),
        T((2,), "int32", None, None, np.array(block, np.int32)),
        T((2, 2), "int32", None, None, np.array(pads, np.int32)),
        T((4, inner, inner, 3), "int8", 0.05, -3),
        T(w.shape, "int8", ws, 0, w, qdim),
        T((out_c,), "int32", 0.05 * ws, 0, rng.integers(-500, 500, out_c).astype(np.int32)),
        T((4, conv_out, conv_out, out_c), "int8", 0.1, 2),
        T((2, 2), "int32", None, None, np.array(crops, np.int32)),
        T((1, out, out, out_c), "int8", 0.1, 2),
    ]
    ops = [
        ("SPACE_TO_BATCH_ND", [0, 1, 2], [3], {}),
        (op, [3, 4, 5], [6], opts),
        ("BATCH_TO_SPACE_ND", [6, 1, 7], [8], {}),
    ]
    return build_model(tensors, ops, inputs=[0], outputs=[8])


@pytest.mark.parametrize("op", ["CONV_2D", "DEPTHWISE_CONV_2D"])
@pytest.mark.parametrize("same", [True, False], ids=["SAME", "VALID"])
def test_lowered_dilated_conv_is_one_dilated_kernel(op, same):
    comp = compile_graph(_lowered(op, same))
    assert [em.op.name for em in comp.emitters] == [op]
    options = comp.emitters[0].op.options
    assert (options["dilation_h"], options["dilation_w"]) == (2, 2)
    assert options["padding"] == (0 if same else 1)


def test_fused_dilated_convs_match_the_oracle(tmp_path):
    cases = [
        Case(_lowered(op, same), label=f"{op} {'SAME' if same else 'VALID'}")
        for op in ("CONV_2D", "DEPTHWISE_CONV_2D")
        for same in (True, False)
    ]
    check_cases(tmp_path, cases, n=4)


def test_a_pattern_that_does_not_match_stays_and_is_named():
    with pytest.raises(CodegenError, match=r"op 0 SPACE_TO_BATCH_ND .* is not supported"):
        compile_graph(_lowered("CONV_2D", same=True, block=(2, 1)))
