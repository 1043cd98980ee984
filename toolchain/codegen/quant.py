"""Quantization arithmetic shared by the emitters, reproducing the oracle's prepare steps.

The oracle (TFLite reference kernels) turns real multipliers into a Q31 multiplier and a
shift with `QuantizeMultiplier`, which rounds half away from zero (`std::round`); Python's
`round` is half to even, so it is not used here. The Python `multiply_by_quantized_multiplier`
mirrors `requantize.h` (double rounding: saturating rounding doubling high multiply, then a
rounding right shift) and is used for generation-time tables and tests.
"""

from __future__ import annotations

import math

import numpy as np

from toolchain.errors import CodegenError

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1

# Fused activation codes of the schema.
ACT_NONE, ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6 = 0, 1, 2, 3

DTYPE_RANGE = {
    np.dtype(np.int8): (-128, 127),
    np.dtype(np.uint8): (0, 255),
    np.dtype(np.int16): (-32768, 32767),
}


def round_half_away(x: float) -> int:
    """`std::round`: halves go away from zero."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """(Q31 multiplier, shift) with real ≈ multiplier · 2^(shift − 31), as TFLite computes it.

    Args:
        real: the real multiplier (a double computed exactly like the oracle's prepare).

    Returns:
        (multiplier, shift); shift > 0 is a left shift. Zero maps to (0, 0); tiny values whose
        shift would fall below −31 map to (0, 0) too, as in the oracle.
    """
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = round_half_away(q * float(1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return int(q_fixed), int(shift)


def srdhm(a: int, b: int) -> int:
    """SaturatingRoundingDoublingHighMul of two int32 values."""
    if a == INT32_MIN and b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    v = ab + nudge
    q = abs(v) // (1 << 31)  # C division truncates toward zero
    return q if v >= 0 else -q


def rounding_divide_by_pot(x: int, exponent: int) -> int:
    """Arithmetic right shift by `exponent` rounding half away from zero."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def wrap_int32(x: int) -> int:
    return ((x + (1 << 31)) % (1 << 32)) - (1 << 31)


def multiply_by_quantized_multiplier(x: int, multiplier: int, shift: int) -> int:
    """The oracle's `MultiplyByQuantizedMultiplier` (double rounding), on Python ints."""
    left = shift if shift > 0 else 0
    right = -shift if shift < 0 else 0
    return rounding_divide_by_pot(srdhm(wrap_int32(x * (1 << left)), multiplier), right)


def quantize_value(real: float, scale: float, zero_point: int) -> int:
    """`zero_point + round(real / scale)` with the division in float32 (as the oracle does)."""
    q = np.float32(real) / np.float32(scale)
    return zero_point + round_half_away(float(q))


def activation_range(
    activation: int, scale: float, zero_point: int, dtype: np.dtype, what: str = ""
) -> tuple[int, int]:
    """`CalculateActivationRangeQuantized`: the clamp bounds of a fused activation."""
    qmin, qmax = DTYPE_RANGE[np.dtype(dtype)]
    if activation == ACT_NONE:
        return qmin, qmax
    if activation == ACT_RELU:
        return max(qmin, quantize_value(0.0, scale, zero_point)), qmax
    if activation == ACT_RELU6:
        return (
            max(qmin, quantize_value(0.0, scale, zero_point)),
            min(qmax, quantize_value(6.0, scale, zero_point)),
        )
    if activation == ACT_RELU_N1_TO_1:
        return (
            max(qmin, quantize_value(-1.0, scale, zero_point)),
            min(qmax, quantize_value(1.0, scale, zero_point)),
        )
    raise CodegenError(
        f"{what}: fused activation code {activation} is not supported; "
        "expected NONE (0), RELU (1), RELU_N1_TO_1 (2) or RELU6 (3)"
    )


def compute_padding(
    padding: int, in_size: int, filter_size: int, stride: int, dilation: int = 1
) -> tuple[int, int]:
    """(output size, padding before) for SAME (0) or VALID (1), as `ComputePaddingHeightWidth`."""
    effective = (filter_size - 1) * dilation + 1
    if padding == 0:
        out = (in_size + stride - 1) // stride
    else:
        out = (in_size - effective + stride) // stride
    total = max((out - 1) * stride + effective - in_size, 0)
    return out, total // 2
