/* mve_s8.h: building blocks of the Helium (MVE) kernels (Cortex-M55 boards).
 *
 * REID_MVE is 1 when the compiler targets a core with integer Helium (`-mcpu=cortex-m55`
 * defines __ARM_FEATURE_MVE) and -DREID_REFERENCE_KERNELS is not given, else 0: the kernels
 * then keep only their portable C. Every block here computes exact integer sums, so a fast
 * kernel built from them gives the reference kernel's bits (docs/m55_kernels.md says how each
 * step matches and how the tests check it on qemu-m55).
 *
 * Loads of a partial 16-byte chunk are predicated (VCTP): inactive lanes read no memory and
 * hold 0, so no kernel reads past the end of a tensor. */
#ifndef REID_KERNELS_MVE_S8_H
#define REID_KERNELS_MVE_S8_H

#include <stdint.h>

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && !defined(REID_REFERENCE_KERNELS)
#define REID_MVE 1
#else
#define REID_MVE 0
#endif

#if REID_MVE
#include <arm_mve.h>

#include "requantize.h"

/* Copy n bytes, 16 per load/store pair. */
static inline void mve_copy_s8(int8_t *dst, const int8_t *src, int32_t n)
{
    while (n > 0) {
        const mve_pred16_t p = vctp8q((uint32_t)n);
        vstrbq_p_s8(dst, vldrbq_z_s8(src, p), p);
        src += 16;
        dst += 16;
        n -= 16;
    }
}

/* Set n bytes to value. */
static inline void mve_fill_s8(int8_t *dst, int8_t value, int32_t n)
{
    const int8x16_t v = vdupq_n_s8(value);
    while (n > 0) {
        vstrbq_p_s8(dst, v, vctp8q((uint32_t)n));
        dst += 16;
        n -= 16;
    }
}

/* sum of w[0..n). |sum| <= n * 128. */
static inline int32_t mve_sum_s8(const int8_t *w, int32_t n)
{
    int32_t s = 0;
    while (n > 0) {
        s = vaddvaq_s8(s, vldrbq_z_s8(w, vctp8q((uint32_t)n)));
        w += 16;
        n -= 16;
    }
    return s;
}

/* sum x[i] * w[i], i < k: 16 multiply-accumulates per VMLADAVA. */
static inline int32_t mve_dot1_s8(const int8_t *x, const int8_t *w, int32_t k)
{
    int32_t a = 0;
    while (k > 0) {
        const mve_pred16_t p = vctp8q((uint32_t)k);
        a = vmladavaq_s8(a, vldrbq_z_s8(x, p), vldrbq_z_s8(w, p));
        x += 16;
        w += 16;
        k -= 16;
    }
    return a;
}

/* Four inner products of one row x against four rows w + j * stride (j = 0..3), k bytes each:
 * one load of x serves four VMLADAVA (0.14 instructions per multiply-accumulate in the loop). */
static inline int32x4_t mve_dot4_s8(const int8_t *x, const int8_t *w, int32_t k, int32_t stride)
{
    const int8_t *w0 = w;
    const int8_t *w1 = w0 + stride;
    const int8_t *w2 = w1 + stride;
    const int8_t *w3 = w2 + stride;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int32x4_t r;
    for (; k >= 16; k -= 16) {
        const int8x16_t vx = vldrbq_s8(x);
        a0 = vmladavaq_s8(a0, vx, vldrbq_s8(w0));
        a1 = vmladavaq_s8(a1, vx, vldrbq_s8(w1));
        a2 = vmladavaq_s8(a2, vx, vldrbq_s8(w2));
        a3 = vmladavaq_s8(a3, vx, vldrbq_s8(w3));
        x += 16;
        w0 += 16;
        w1 += 16;
        w2 += 16;
        w3 += 16;
    }
    if (k > 0) { /* inactive lanes of x are 0, so the weights' inactive lanes do not count */
        const mve_pred16_t p = vctp8q((uint32_t)k);
        const int8x16_t vx = vldrbq_z_s8(x, p);
        a0 = vmladavaq_s8(a0, vx, vldrbq_z_s8(w0, p));
        a1 = vmladavaq_s8(a1, vx, vldrbq_z_s8(w1, p));
        a2 = vmladavaq_s8(a2, vx, vldrbq_z_s8(w2, p));
        a3 = vmladavaq_s8(a3, vx, vldrbq_z_s8(w3, p));
    }
    r = vdupq_n_s32(a0);
    r = vsetq_lane_s32(a1, r, 1);
    r = vsetq_lane_s32(a2, r, 2);
    r = vsetq_lane_s32(a3, r, 3);
    return r;
}

/* out[j] = clamp(requantize(acc[j], multiplier[j], shift[j]) + output_offset, lo, hi) for the
 * first n (1..4) lanes: the reference kernels' last step, four channels at a time. The
 * per-channel arrays are read only for the n active lanes. */
static inline void mve_requantize_store_s8(int8_t *out, int32x4_t acc, const int32_t *multiplier,
                                           const int32_t *shift, int32_t output_offset,
                                           int32_t lo, int32_t hi, int32_t n)
{
    const mve_pred16_t p = vctp32q((uint32_t)n);
    int32x4_t v = requantize_x4(acc, vldrwq_z_s32(multiplier, p), vldrwq_z_s32(shift, p));
    v = vaddq_n_s32(v, output_offset);
    v = vmaxq_s32(v, vdupq_n_s32(lo));
    v = vminq_s32(v, vdupq_n_s32(hi));
    vstrbq_p_s32(out, v, p);
}
#endif /* REID_MVE */

#endif /* REID_KERNELS_MVE_S8_H */
