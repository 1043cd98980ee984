/* requantize.h: the ONE requantization function every int8 kernel uses.
 *
 * Reproduces the oracle's MultiplyByQuantizedMultiplier (TFLite reference kernels, double
 * rounding): a saturating rounding doubling high multiply by a Q31 multiplier, then a
 * rounding arithmetic right shift (halves away from zero). shift > 0 is a left shift applied
 * before the multiply. Portable C99; relies on arithmetic right shift of negative ints
 * (what every GCC target does). */
#ifndef REID_KERNELS_REQUANTIZE_H
#define REID_KERNELS_REQUANTIZE_H

#include <math.h>
#include <stdint.h>

/* SaturatingRoundingDoublingHighMul: (a * b * 2 + 2^31) >> 32 with the one overflow case
 * (INT32_MIN * INT32_MIN) saturated. |a * b| <= 2^62 fits int64. */
static inline int32_t rq_srdhm(int32_t a, int32_t b)
{
    int64_t ab;
    int64_t nudge;
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    ab = (int64_t)a * (int64_t)b;
    nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    /* C99 division truncates toward zero, like the oracle's. */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* RoundingDivideByPOT: x / 2^exponent rounded half away from zero, 0 <= exponent <= 31. */
static inline int32_t rq_rounding_divide_by_pot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * multiplier * 2^(shift - 31), the oracle's rounding. The left shift wraps like the
 * oracle's int32 multiply (done in unsigned arithmetic to stay defined in C). */
static inline int32_t requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int left = shift > 0 ? (int)shift : 0;
    const int right = shift > 0 ? 0 : (int)-shift;
    const int32_t shifted = (int32_t)((uint32_t)x << left);
    return rq_rounding_divide_by_pot(rq_srdhm(shifted, multiplier), right);
}

/* The oracle's FULLY_CONNECTED output: acc * scale in double (scale = s_in * s_w / s_out, one
 * per channel, computed in double at generation time), rounded half away from zero, plus the
 * output offset, clamped to [lo, hi]. Measured on the pinned interpreter: a Q31 multiplier with
 * single rounding differed on ties (4 of 4 440 outputs with scales like 0.05/0.01/0.2), with
 * double rounding on 1 in 300; this on none of 200 000 (per-tensor and per-channel, ties
 * included). Needs only IEEE double arithmetic (hardware or soft-float, the same bits). */
static inline int32_t requantize_fc(int32_t acc, double scale, int32_t offset, int32_t lo,
                                    int32_t hi)
{
    const double v = round((double)acc * scale) + (double)offset;
    return v < (double)lo ? lo : (v > (double)hi ? hi : (int32_t)v);
}

static inline int32_t rq_clamp(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && !defined(REID_REFERENCE_KERNELS)
#include <arm_mve.h>

/* requantize() on four lanes (Helium), the same bits lane for lane:
 * - x << left wraps like the scalar path (VSHL by a register is not saturating);
 * - VQRDMULH is SaturatingRoundingDoublingHighMul exactly: (2ab + 2^31) >> 32 rounds halves up,
 *   which for ab < 0 equals the oracle's nudge 1 - 2^30 with division toward zero, and it
 *   saturates the one overflow case INT32_MIN * INT32_MIN;
 * - RoundingDivideByPOT (halves away from zero): VRSHL by -right rounds halves up, so negative
 *   lanes are first lowered by one (saturating, INT32_MIN stays, it is a multiple of 2^right);
 *   (v & -right) has its sign bit set exactly when v < 0 and right > 0.
 * shift holds per-lane shifts in [-31, 30] as for requantize(); requantize_x4_split takes them
 * split as left = max(shift, 0) and neg_right = min(shift, 0) (kernels split them once per
 * layer). The assembly loops of mve_conv_2d.h and mve_depthwise_conv_2d.h repeat exactly this
 * instruction sequence (VSHL, VQRDMULH, VAND, VSHR #31, VQADD, VRSHL); tests/kernels_m55 holds
 * all of them to the oracle. */
static inline int32x4_t requantize_x4_split(int32x4_t x, int32x4_t multiplier, int32x4_t left,
                                            int32x4_t neg_right)
{
    int32x4_t v = vqrdmulhq_s32(vshlq_s32(x, left), multiplier);
    v = vqaddq_s32(v, vshrq_n_s32(vandq_s32(v, neg_right), 31));
    return vrshlq_s32(v, neg_right);
}

/* The same sequence for assembly loops, on register Q (a string such as "q0") with the Q31
 * multiplier in general register operand M and the vector neg_right = min(shift, 0) in vector
 * operand R (for VAND and VRSHL), Q2 as scratch; no left shift (the callers' shifts are
 * <= 0). Asm operand names are given without brackets: RQ_ASM("q0", "m1", "r1"). */
#define RQ_ASM(Q, M, R)                                                                        \
    "vqrdmulh.s32 " Q ", " Q ", %[" M "]\n\t"                                                  \
    "vand q2, " Q ", %q[" R "]\n\t"                                                            \
    "vshr.s32 q2, q2, #31\n\t"                                                                 \
    "vqadd.s32 " Q ", " Q ", q2\n\t"                                                           \
    "vrshl.s32 " Q ", " Q ", %q[" R "]\n\t"

static inline int32x4_t requantize_x4(int32x4_t x, int32x4_t multiplier, int32x4_t shift)
{
    const int32x4_t zero = vdupq_n_s32(0);
    return requantize_x4_split(x, multiplier, vmaxq_s32(shift, zero), vminq_s32(shift, zero));
}
#endif

#endif /* REID_KERNELS_REQUANTIZE_H */
