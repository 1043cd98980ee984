/* mve_mean.h: MEAN on Helium (MVE), the same bits as the reference loop in mean.c: channel-lane
 * sums (mve_pool.h) or contiguous VADDVA sums, then the one requantization
 * (requantize_x4_split). mean_s8_mve() returns 0, having written nothing, when the reduced
 * axes are not one contiguous run (see below). */
#ifndef REID_KERNELS_MVE_MEAN_H
#define REID_KERNELS_MVE_MEAN_H

#include "mean.h"
#include "mve_pool.h"
#include "requantize.h"

#if REID_MVE
/* requantize(sum - offset) + output zero point on four lanes (the bits of the scalar path). */
static inline int32x4_t mean_mve_out(int32x4_t sum, int32_t offset, int32x4_t multiplier,
                                     int32x4_t left, int32x4_t neg_right, int32_t zp)
{
    return vaddq_n_s32(requantize_x4_split(vsubq_n_s32(sum, offset), multiplier, left, neg_right),
                       zp);
}

/* MEAN on Helium when the reduced axes of size > 1 are one contiguous run (axes of size 1 may
 * be anything): the input is then [outer][n][inner] with the output [outer][inner], in the
 * reference's output order. Sums are exact integers, sum(x - zp) = sum(x) - n * zp
 * (|sum(x)| <= 2^30, |n * zp| <= 2^30 and their difference <= 255 * n < 2^31 for the
 * generator's n < 2^23), so the order of summation does not matter; then the one
 * requantization (requantize_x4_split, the bits of requantize()), the saturating narrows and
 * the clamp (pool_mve_store16). inner == 1 (the last axes reduced): each output is the sum of
 * n contiguous bytes (mve_sum_s8: VADDVA, 16 per step), requantized in scalar code. Else
 * channels in lanes: 16 per step, int16 block sums of <= 256 pixels widened into int32
 * (pool_mve_sum16), the last 1..15 channels predicated.
 * Returns 0, having written nothing, when the reduced axes are not one run or a dim is < 1. */
static inline int mean_s8_mve(const mean_params_t *p, const int8_t *input, int8_t *output)
{
    int32_t first = -1, last = -1, k;
    int32_t outer = 1, n = 1, inner = 1;
    int32_t o, c;
    for (k = 0; k < 4; ++k) {
        if (p->dims[k] < 1) {
            return 0;
        }
        if (p->reduced[k] && p->dims[k] > 1) {
            first = first < 0 ? k : first;
            last = k;
        }
    }
    for (k = 0; k < 4; ++k) {
        if (first >= 0 && k >= first && k <= last) {
            if (!p->reduced[k] && p->dims[k] > 1) {
                return 0;  /* a kept axis inside the run: not [outer][n][inner] */
            }
            n *= p->dims[k];
        } else if (first >= 0 && k > last) {
            inner *= p->dims[k];
        } else {
            outer *= p->dims[k];
        }
    }
    {
        const int32_t offset = n * p->input_zero_point;
        const int32_t left = p->shift > 0 ? p->shift : 0;
        const int32_t neg_right = p->shift > 0 ? 0 : p->shift;
        if (inner == 1) {
            for (o = 0; o < outer; ++o) {
                const int32_t sum = mve_sum_s8(input + o * n, n) - offset;
                const int32_t acc =
                    requantize(sum, p->multiplier, p->shift) + p->output_zero_point;
                output[o] = (int8_t)rq_clamp(acc, -128, 127);
            }
            return 1;
        }
        {
            const int32x4_t multiplier = vdupq_n_s32(p->multiplier);
            const int32x4_t vleft = vdupq_n_s32(left);
            const int32x4_t vneg_right = vdupq_n_s32(neg_right);
            const int16x8_t lo = vdupq_n_s16(-128);
            const int16x8_t hi = vdupq_n_s16(127);
            const int32_t zp = p->output_zero_point;
            for (o = 0; o < outer; ++o) {
                const int8_t *x = input + o * n * inner;
                int8_t *out = output + o * inner;
                for (c = 0; c < inner; c += 16) {
                    const int32_t lanes = inner - c < 16 ? inner - c : 16;
                    pool_mve_sum16_t a;
                    pool_mve_sum16(x + c, n, inner, lanes, &a);
                    a.e0 = mean_mve_out(a.e0, offset, multiplier, vleft, vneg_right, zp);
                    a.o0 = mean_mve_out(a.o0, offset, multiplier, vleft, vneg_right, zp);
                    if (lanes > 8) {
                        a.e1 = mean_mve_out(a.e1, offset, multiplier, vleft, vneg_right, zp);
                        a.o1 = mean_mve_out(a.o1, offset, multiplier, vleft, vneg_right, zp);
                    }
                    pool_mve_store16(out + c, &a, lo, hi, lanes);
                }
            }
        }
    }
    return 1;
}
#endif /* REID_MVE */

#endif /* REID_KERNELS_MVE_MEAN_H */
