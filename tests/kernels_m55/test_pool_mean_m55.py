"""Helium MEAN, MAX_POOL_2D and AVERAGE_POOL_2D on the virtual Cortex-M55: the oracle's bytes.

One firmware image (m55_harness) holds single-op models at the fast paths' edges: channel
counts around the 16 lanes (1, 3, 5, 16, 17, 40, 100), odd and even images, MEAN over H and W
(keep_dims or not), over one axis, over the last axes (the contiguous-sum path) and over axes
that are not one run (the reference fallback), reductions of more than 256 pixels (several
int16 blocks), batch 2, windows clipped by SAME padding (AVERAGE_POOL_2D then divides by 4, 6
and 9 taps), 1x1 windows, global windows, windows of 256, 272 and more than 2048 taps
(fallback), fused activations, zero points -128 / 127, pools writing over their own input
(streaming overlap), plus 48 random models of the three ops from the code generator's fuzzer.
Each model runs on a random input and on all-minimum and all-maximum inputs (the int16 block
sums' bounds); every output byte is compared with the oracle's. The exactness of the average
pool's division by multiplication is also checked for every sum it can meet with up to 300
taps.
"""

from __future__ import annotations

import numpy as np
import pytest
from m55_harness import (
    REFERENCE,
    build_m55_image,
    fuzz_models,
    mnemonics,
    oracle_mismatches,
    run_m55_image,
)

from toolchain.codegen.emit import compile_graph
from toolchain.codegen.tflite_writer import TensorSpec as T
from toolchain.codegen.tflite_writer import build_model, single_op_model
from toolchain.oracle import Oracle

pytestmark = pytest.mark.qemu  # tests/conftest.py: xdist group, skipped without the tools

CHANNELS = (1, 3, 5, 16, 17, 40, 100)
RELU6, RELU = 3, 1


def _axes(*a: int) -> T:
    return T((len(a),), "int32", None, None, np.array(a, np.int32))


def _mean(in_shape, axes, keep_dims, in_q=(0.05, 3), out_q=(0.04, -3)) -> bytes:
    rank = len(in_shape)
    resolved = {a % rank for a in axes}
    if keep_dims:
        out = tuple(1 if k in resolved else d for k, d in enumerate(in_shape))
    else:
        out = tuple(d for k, d in enumerate(in_shape) if k not in resolved)
    return single_op_model(
        "MEAN",
        [T(in_shape, "int8", *in_q), _axes(*axes)],
        T(out, "int8", *out_q),
        {"keep_dims": keep_dims},
    )


def _pool_out(in_shape, f, s, padding) -> tuple[int, ...]:
    n, h, w, c = in_shape

    def size(n_in, k, st):
        return -(-n_in // st) if padding == 0 else (n_in - k) // st + 1

    return (n, size(h, f[0], s[0]), size(w, f[1], s[1]), c)


def _pool(op, in_shape, f, s, padding, activation=0, q=(0.05, 3)) -> bytes:
    out = _pool_out(in_shape, f, s, padding)
    opts = {
        "padding": padding,
        "stride_h": s[0],
        "stride_w": s[1],
        "filter_h": f[0],
        "filter_w": f[1],
        "activation": activation,
    }
    return single_op_model(op, [T(in_shape, "int8", *q)], T(out, "int8", *q), opts)


COPY = {"padding": 1, "stride_h": 1, "stride_w": 1, "filter_h": 1, "filter_w": 1}


def _streaming(op, in_shape, f, s, padding, q=(0.05, -7)) -> bytes:
    """1x1 pool (a copy into the arena) -> the pool -> 1x1 pool: the planner may start the
    middle pool's output inside its input (streaming overlap), which the kernels' row order
    must respect."""
    out = _pool_out(in_shape, f, s, padding)
    tensors = [T(in_shape, "int8", *q), T(in_shape, "int8", *q), T(out, "int8", *q)]
    tensors.append(T(out, "int8", *q))
    opts = {"padding": padding, "stride_h": s[0], "stride_w": s[1]}
    ops = [
        ("MAX_POOL_2D", [0], [1], COPY),
        (op, [1], [2], {**opts, "filter_h": f[0], "filter_w": f[1]}),
        ("MAX_POOL_2D", [2], [3], COPY),
    ]
    return build_model(tensors, ops, [0], [3])


STREAMING = [((1, 9, 8, 17), (3, 3), (2, 2), 0), ((1, 8, 6, 40), (2, 2), (2, 2), 1)]
STREAMING += [((1, 7, 6, 100), (3, 3), (1, 1), 0)]


def cases() -> list[tuple[str, bytes]]:
    """(label, model) at the Helium paths' edges."""
    c = []
    for ch in CHANNELS:
        h, w = (5, 7) if ch % 2 else (6, 4)
        c.append((f"mean hw {h}x{w}x{ch} keep_dims", _mean((1, h, w, ch), (1, 2), True)))
    c.append(
        (
            "mean hw 4x6x17 zp -128 -> 127, multiplier > 1",
            _mean((1, 4, 6, 17), (1, 2), True, in_q=(0.05, -128), out_q=(0.002, 127)),
        )
    )
    c.append(
        (
            "mean hw 5x5x40 zp 127 -> -128",
            _mean((1, 5, 5, 40), (2, 1), False, in_q=(0.02, 127), out_q=(0.03, -128)),
        )
    )
    c.append(("mean hw 6x4x100 not keep_dims", _mean((1, 6, 4, 100), (1, 2), False)))
    c.append(("mean hw batch 2, 17 ch", _mean((2, 5, 6, 17), (1, 2), True)))
    c.append(
        (
            "mean hw 64x32x16 (osnet gate: 8 blocks of 256)",
            _mean((1, 64, 32, 16), (1, 2), True, in_q=(0.1, -128), out_q=(0.1, -128)),
        )
    )
    c.append(("mean hw 40x30x5 (4.7 blocks)", _mean((1, 40, 30, 5), (1, 2), True)))
    c.append(("mean hw 16x16x24 (one full block)", _mean((1, 16, 16, 24), (-3, -2), True)))
    c.append(("mean h 5x7x3 (inner 21)", _mean((1, 5, 7, 3), (1,), False)))
    c.append(("mean w 5x7x3 (outer 5)", _mean((1, 5, 7, 3), (2,), False)))
    c.append(("mean c 5x7x17 (contiguous sums)", _mean((1, 5, 7, 17), (3,), True)))
    c.append(("mean hwc 40x30x5 (contiguous sums)", _mean((1, 40, 30, 5), (1, 2, 3), False)))
    c.append(("mean batch 2x3x4x5 (n 2)", _mean((2, 3, 4, 5), (0,), True)))
    c.append(("mean h,c 5x7x6 (fallback)", _mean((1, 5, 7, 6), (1, 3), False)))
    c.append(("mean rank 3 axes 0,1 of 4x3x19", _mean((4, 3, 19), (0, 1), False)))
    c.append(("mean 1x1x1x33 over hw (n 1)", _mean((1, 1, 1, 33), (1, 2), True)))

    for ch in CHANNELS:
        h, w = (9, 8) if ch % 2 else (8, 9)
        for op in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
            c.append(
                (f"{op} 3x3 s2 SAME {h}x{w}x{ch}", _pool(op, (1, h, w, ch), (3, 3), (2, 2), 0))
            )
    for op in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        short = {"MAX_POOL_2D": "max", "AVERAGE_POOL_2D": "avg"}[op]
        c += [
            (f"{short} 3x3 s2 VALID 17 ch", _pool(op, (1, 9, 8, 17), (3, 3), (2, 2), 1)),
            (
                f"{short} 2x2 s2 VALID 40 ch zp -128 relu6",
                _pool(op, (1, 8, 6, 40), (2, 2), (2, 2), 1, RELU6, q=(0.05, -128)),
            ),
            (
                f"{short} 3x3 s1 SAME 5 ch zp 127 relu",
                _pool(op, (1, 5, 6, 5), (3, 3), (1, 1), 0, RELU, q=(0.05, 127)),
            ),
            (f"{short} 1x1 17 ch", _pool(op, (1, 3, 4, 17), (1, 1), (1, 1), 1)),
            (f"{short} 2x3 s(1,2) SAME batch 2", _pool(op, (2, 5, 7, 21), (2, 3), (1, 2), 0)),
            (f"{short} global 8x4 x 100", _pool(op, (1, 8, 4, 100), (8, 4), (1, 1), 1)),
            (f"{short} 17x16 (272 taps) x 3", _pool(op, (1, 17, 16, 3), (17, 16), (1, 1), 1)),
            (
                f"{short} 3x3 s2 SAME 16 ch relu6 (osnet stem)",
                _pool(op, (1, 16, 12, 16), (3, 3), (2, 2), 0, RELU6, q=(0.03, -20)),
            ),
        ]
    for op in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        for shape, f, st, pad in STREAMING:
            c.append(
                (f"{op} {f} s{st} over its own input {shape}", _streaming(op, shape, f, st, pad))
            )
    c += [
        (
            "avg 16x16 (256 taps: int16 sums at their bound)",
            _pool("AVERAGE_POOL_2D", (1, 16, 16, 5), (16, 16), (1, 1), 1),
        ),
        (
            "avg 5x7 (35 taps: int32 division)",
            _pool("AVERAGE_POOL_2D", (1, 6, 9, 19), (5, 7), (1, 1), 1, RELU6),
        ),
        (
            "avg 50x50 (2500 taps: fallback)",
            _pool("AVERAGE_POOL_2D", (1, 50, 50, 3), (50, 50), (1, 1), 1),
        ),
        (
            "avg 1x300 (wider than a block: fallback)",
            _pool("AVERAGE_POOL_2D", (1, 2, 300, 2), (1, 300), (1, 1), 1),
        ),
    ]
    return c


def fuzz_cases(n: int = 48, seed: int = 11) -> list[tuple[str, bytes]]:
    """Random MEAN / MAX_POOL_2D / AVERAGE_POOL_2D models from the code generator's fuzzer
    (scales 1e-4..10: multipliers above and below one, extreme zero points, any axes, SAME and
    VALID windows, activations), fixed seed."""
    return fuzz_models(["MEAN", "MAX_POOL_2D", "AVERAGE_POOL_2D"], n, seed)


def _inputs(oracle: Oracle, rng) -> np.ndarray:
    shape = oracle.input_shape
    return np.stack(
        [
            rng.integers(-128, 128, shape).astype(np.int8),
            np.full(shape, -128, np.int8),
            np.full(shape, 127, np.int8),
        ]
    )


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """(labels, models, inputs, ELF, QEMU result), built and run once."""
    tmp = tmp_path_factory.mktemp("m55_pool_mean")
    labels, models = zip(*(cases() + fuzz_cases()), strict=True)
    rng = np.random.default_rng(3)
    inputs = [_inputs(Oracle(m), rng) for m in models]
    elf = build_m55_image(tmp / "fw", list(models), inputs)
    result = run_m55_image(elf, len(models))
    return list(labels), list(models), inputs, elf, result


def test_every_case_matches_the_oracle_on_qemu_m55(image):
    labels, models, inputs, _, result = image
    failures = oracle_mismatches(labels, models, inputs, result.outputs)
    assert len(models) > 100
    assert not failures, "qemu-m55 output differs from the oracle:\n" + "\n".join(failures)


def test_the_streaming_cases_overlap_their_input():
    """The planner really starts those pools' outputs inside their inputs (else the cases
    would not test the row order)."""
    for op in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        for shape, f, st, pad in STREAMING:
            plan = compile_graph(_streaming(op, shape, f, st, pad)).plan
            both = np.prod(shape) + np.prod(_pool_out(shape, f, st, pad))
            assert plan.arena_size < both, (op, shape, plan.arena_size, both)


def _use16(d: int) -> bool:
    """mve_average_pool_2d.h's avg_mve_use16: the int16 division is proven exact for d."""
    return 2 <= d <= 256 and (128 * d + d // 2) * ((0xFFFF // d + 1) * d - 0x10000) < 0x10000


def test_average_division_by_multiplication_is_exact():
    """floor(u / d) = (2u * ceil(2^31 / d)) >> 32 for every u <= 128 d + d / 2 the average
    pool meets (d taps of int8, rounding offset d / 2), d = 1..300, and
    (u * ceil(2^16 / d)) >> 16 for the d that avg_mve_use16 admits (mve_average_pool_2d.h)."""
    admitted = 0
    for d in range(1, 301):
        u = np.arange(0, 128 * d + d // 2 + 1, dtype=np.uint64)
        m = np.uint64((0x7FFFFFFF // d) + 1)
        got = ((2 * u) * m) >> np.uint64(32)
        assert np.array_equal(got, u // np.uint64(d)), d
        assert int(m) <= 2**31
        if _use16(d):
            admitted += 1
            m16 = np.uint64(0xFFFF // d + 1)
            assert int(m16) < 2**16 and int(u[-1]) < 2**16
            assert np.array_equal((u * m16) >> np.uint64(16), u // np.uint64(d)), d
    assert admitted == 39  # 2..26, 28..30, 32, 33, 58, 64, 66, 99, 113, 116, 128, 198, 256


KERNELS = {
    "mean": ("mean_s8", "mean_s8_mve"),
    "max": ("max_pool_2d_s8", "max_pool_2d_s8_mve"),
    "avg": ("average_pool_2d_s8", "average_pool_2d_s8_mve"),
}
WANT = {
    # lane sums (widening loads, int16 adds, widening into int32), the requantization, the
    # saturating narrows back to channel order; VADDVA for contiguous sums
    "mean": {
        "vldrb.s16",
        "vadd.i16",
        "vmovlb.s16",
        "vmovlt.s16",
        "vqrdmulh.s32",
        "vrshl.s32",
        "vqmovnb.s32",
        "vaddva.s8",
    },
    "max": {"vldrb.u8", "vmax.s8", "vmin.s8"},
    "avg": {
        "vldrb.s16",
        "vadd.i16",
        "vabs.s16",
        "vmulh.u16",
        "vmovlb.s16",
        "vabs.s32",
        "vmulh.u32",
        "vpsel",
        "vqmovnt.s32",
    },
}


def test_the_kernels_use_helium_instructions(image):
    elf = image[3]
    for kernel, functions in KERNELS.items():
        used = mnemonics(elf, *functions)
        assert WANT[kernel] <= used, (kernel, sorted(WANT[kernel] - used))


def test_reference_build_has_no_helium_instructions(image, tmp_path):
    """-DREID_REFERENCE_KERNELS (the benchmark's baseline) builds the portable loops."""
    labels, models, inputs, _, _ = image
    picks = [
        labels.index("mean hw 6x4x16 keep_dims"),
        labels.index("max 1x1 17 ch"),
        labels.index("avg 1x1 17 ch"),
    ]
    elf = build_m55_image(
        tmp_path / "ref",
        [models[k] for k in picks],
        [inputs[k] for k in picks],
        extra_cflags=REFERENCE,
    )
    for kernel, functions in KERNELS.items():
        used = mnemonics(elf, *functions)
        assert used, functions
        # GCC's -O2 vectoriser may still use a few MVE moves in the set-up loops: the fast
        # paths' own instructions must be absent.
        assert not WANT[kernel] & used, (kernel, sorted(WANT[kernel] & used))
