/* l2_normalization.c: the oracle's reference_integer_ops::L2Normalization, integer only.
 *
 * Per vector: acc = sum((x - zp)^2), then 1/sqrt(acc) as a Q31 multiplier and a shift from the
 * oracle's GetInvSqrtQuantizedMultiplierExp (five Newton-Raphson steps in Q3.28 fixed point,
 * gemmlowp arithmetic), then each (x - zp) requantized to Q0.7 and clamped to int8. */
#include "l2_normalization.h"
#include "requantize.h"

/* gemmlowp SaturatingRoundingMultiplyByPOT<exponent> for 0 < exponent < 31: x * 2^exponent,
 * saturated to int32 when |x| exceeds 2^(31 - exponent) - 1. */
static int32_t l2_saturating_shift_left(int32_t x, int exponent)
{
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* Leading zero bits of a positive int32 (x > 0). */
static int l2_count_leading_zeros(uint32_t x)
{
    int n = 0;
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
}

/* 1/sqrt(acc) as (multiplier, left shift), the oracle's GetInvSqrtQuantizedMultiplierExp with
 * reverse_shift = -1. acc >= 0; acc <= 1 gives (INT32_MAX, 0) as in the oracle. */
static void l2_inv_sqrt(int32_t acc, int32_t *multiplier, int32_t *shift)
{
    /* Q3.28 constants: 1.5 and 1.0; Q0.31: sqrt(2)/2. */
    const int32_t half_three = (1 << 28) + (1 << 27);
    const int32_t half_sqrt_2 = 1518500250;
    int32_t right_shift = 11;  /* the oracle's output_shift, a right shift */
    int32_t input, half_input, x;
    int left_pairs, i;
    if (acc <= 1) {
        *multiplier = INT32_MAX;
        *shift = 0;
        return;
    }
    input = acc;
    while (input >= (1 << 29)) {
        input /= 4;
        ++right_shift;
    }
    /* Normalise into [2^27, 2^29) by an even left shift. */
    left_pairs = (l2_count_leading_zeros((uint32_t)input) - 1) / 2 - 1;
    right_shift -= left_pairs;
    input = (int32_t)((uint32_t)input << (2 * left_pairs));
    half_input = rq_rounding_divide_by_pot(input >> 1, 1);
    x = 1 << 28;  /* starting guess 1.0 in Q3.28 */
    for (i = 0; i < 5; ++i) {
        /* x^3: Q3 * Q3 = Q6, * Q3 = Q9, rescaled to Q3 (saturating left shift by 6). */
        const int32_t x3 = l2_saturating_shift_left(rq_srdhm(rq_srdhm(x, x), x), 6);
        /* 1.5 x - (input / 2) x^3: Q6 - Q6 (wrapping like the oracle's int32), back to Q3. */
        const int32_t diff = (int32_t)((uint32_t)rq_srdhm(half_three, x) -
                                       (uint32_t)rq_srdhm(half_input, x3));
        x = l2_saturating_shift_left(diff, 3);
    }
    x = rq_srdhm(x, half_sqrt_2);
    if (right_shift < 0) {
        x = (int32_t)((uint32_t)x << -right_shift);
        right_shift = 0;
    }
    *multiplier = x;
    *shift = -right_shift;
}

void l2_normalization_s8(const l2_normalization_params_t *p, const int8_t *input,
                         int8_t *output)
{
    int32_t outer, k;
    for (outer = 0; outer < p->outer; ++outer) {
        const int8_t *in = input + (int64_t)outer * p->depth;
        int8_t *out = output + (int64_t)outer * p->depth;
        /* (x - zp)^2 <= 255^2, so the int32 sum is safe for depth <= 2^16. */
        int32_t acc = 0;
        int32_t multiplier, shift;
        for (k = 0; k < p->depth; ++k) {
            const int32_t v = (int32_t)in[k] - p->input_zero_point;
            acc += v * v;
        }
        l2_inv_sqrt(acc, &multiplier, &shift);
        for (k = 0; k < p->depth; ++k) {
            const int32_t v = (int32_t)in[k] - p->input_zero_point;
            /* Output in Q0.7 (scale 1/128): the 7 is folded into the shift. */
            out[k] = (int8_t)rq_clamp(requantize(v, multiplier, shift + 7), -128, 127);
        }
    }
}
