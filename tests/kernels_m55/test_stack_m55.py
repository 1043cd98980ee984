"""The kernels' stack stays small (STACK_SIZE, 16 KiB on qemu-m55 and the N6).

The Helium fast paths keep their buffers (im2col rows, repacked weights, depthwise row rings,
ADD's scale tables) in the arena, planned by the code generator (`OpEmitter.scratch_bytes`),
not on the stack. This test bounds the stack from GCC's own figures: the code generator's op
matrix is built for qemu-m55 with -fstack-usage, and for every kernel translation unit the
frames of all its functions are summed (a call chain inside a kernel visits each function at
most once, and kernels call no other kernel: a safe upper bound). No kernel may hold more than
4 KiB (a buffer put back on the stack fails here), and the largest kernel plus every frame of
the rest of the image (the test main, the networks, the board support) stays within a quarter
of the stack.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from m55_harness import build_m55_image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "codegen"))

from test_codegen_ops import _cases as codegen_matrix  # noqa: E402

from toolchain.boards import get_board  # noqa: E402
from toolchain.oracle import Oracle  # noqa: E402

pytestmark = pytest.mark.qemu  # needs arm-none-eabi-gcc (tests/conftest.py)


def _frames(build: Path) -> dict[str, list[tuple[str, int, str]]]:
    """Translation unit → [(function, bytes, kind)] from the .su files GCC wrote."""
    out: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    for su in build.rglob("*.su"):
        for line in su.read_text().splitlines():
            where, size, kind = line.split("\t")
            out[su.relative_to(build).with_suffix("").as_posix()].append(
                (where.rsplit(":", 1)[-1], int(size), kind)
            )
    return out


def test_the_kernels_stack_fits_the_boards_stack(tmp_path):
    cases = codegen_matrix()
    rng = np.random.default_rng(0)
    inputs = []
    for case in cases:
        oracle = Oracle(case.model)
        shape = (1, *oracle.input_shape)
        if oracle.input_dtype == np.float32:
            inputs.append(rng.normal(0, 1, shape).astype(np.float32))
        else:
            inputs.append(rng.integers(-128, 128, shape).astype(oracle.input_dtype))
    build_m55_image(tmp_path, [c.model for c in cases], inputs, extra_cflags="-fstack-usage")
    frames = _frames(tmp_path / "build")
    kernels = {unit: fs for unit, fs in frames.items() if unit.startswith("kernels/")}
    assert {"kernels/conv_2d", "kernels/depthwise_conv_2d", "kernels/add", "kernels/mean"} <= set(
        kernels
    )
    dynamic = [(unit, f) for unit, fs in frames.items() for f, _, kind in fs if kind != "static"]
    assert not dynamic, f"frames of run-time size: {dynamic}"
    chain = {unit: sum(size for _, size, _ in fs) for unit, fs in kernels.items()}
    rest = sum(size for unit, fs in frames.items() if unit not in kernels for _, size, _ in fs)
    stack = int(get_board("qemu-m55").facts.defines["STACK_SIZE"], 16)
    assert stack == int(get_board("STM32N6570-DK").facts.defines["STACK_SIZE"], 16)
    worst = max(chain, key=chain.get)
    assert chain[worst] <= 4096, f"{worst} keeps {chain[worst]} bytes on the stack"
    assert chain[worst] + rest <= stack // 4, (
        f"{worst} may use {chain[worst]} bytes of stack and the rest of the image {rest}: "
        f"more than 1/4 of STACK_SIZE {stack}"
    )
