"""Every model family of the zoo, exported and quantized as reidtool does it at a small input,
through the code generator: the C (host gcc, ASan/UBSan, -Werror) gives the oracle's bytes."""

from __future__ import annotations

import pytest
from codegen_harness import Case, check_cases, check_plan

FAMILIES = [
    pytest.param("tinynet", (32, 16, 3), id="tinynet"),
    pytest.param("mobilenetv1_a025", (32, 32, 3), id="mobilenetv1_a025"),
    pytest.param("mobilenetv2_a035", (32, 32, 3), id="mobilenetv2_a035"),
    pytest.param("osnet_a025", (32, 32, 3), id="osnet_a025", marks=pytest.mark.slow),
    pytest.param("resnet50v2", (32, 32, 3), id="resnet50v2", marks=pytest.mark.slow),
]


def int8_model(name: str, shape: tuple[int, int, int]) -> bytes:
    from toolchain.quantization.quantizer import untrained_int8

    return untrained_int8(name, shape)


@pytest.mark.parametrize("name,shape", FAMILIES)
def test_family_is_bit_exact(tmp_path, name, shape):
    from toolchain.codegen.emit import compile_graph
    from toolchain.quantization.inspect import read_ops

    model = int8_model(name, shape)
    comp = compile_graph(model)
    kinds = check_plan(comp)  # no step overwrites a live tensor
    assert comp.plan.arena_size <= 1.05 * comp.plan.lower_bound
    if name.startswith("mobilenetv2"):  # depthwise outputs trail their dying inputs
        assert kinds["overlap"] > 0, kinds
    ops = {op if isinstance(op, str) else getattr(op, "name", str(op)) for op in read_ops(model)}
    check_cases(tmp_path, [Case(model, label=f"{name} {shape} ({', '.join(sorted(ops))})")], n=3)
