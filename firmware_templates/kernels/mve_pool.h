/* mve_pool.h: Helium (MVE) building blocks that AVERAGE_POOL_2D and MEAN (a global average
 * pool) share: up to 16 channels of NHWC data, one per lane, summed over many pixels exactly
 * (int16 blocks of <= 256 pixels widened into int32), and the stores that put results back in
 * channel order as clamped bytes. MAX_POOL_2D needs none of them (int8 lanes). */
#ifndef REID_KERNELS_MVE_POOL_H
#define REID_KERNELS_MVE_POOL_H

#include <stdint.h>

#include "mve_s8.h"

#if REID_MVE
/* int16 lanes hold the exact sum of up to 256 int8 values (-32768..32512): sums of more
 * pixels are taken in blocks of at most POOL_MVE_BLOCK, each widened into int32 lanes. */
#define POOL_MVE_BLOCK 256

/* Sums of 16 channels in int32 lanes, in the order the widening VMOVLB / VMOVLT give them:
 * e0 = channels 0, 2, 4, 6; o0 = 1, 3, 5, 7; e1 = 8, 10, 12, 14; o1 = 9, 11, 13, 15
 * (pool_mve_store16 puts them back in channel order). */
typedef struct {
    int32x4_t e0, o0, e1, o1;
} pool_mve_sum16_t;

/* s[0], s[1] (channels 0..7, 8..15) += the first `lanes` (1..16) bytes of the `count` pixels
 * at x, x + stride, x + 2 * stride, ... (VLDRB.S16 widening loads; lanes beyond `lanes` are
 * not read and gain 0). The caller keeps the pixels summed into s at <= POOL_MVE_BLOCK. */
static inline void pool_mve_add16(const int8_t *x, int32_t count, int32_t stride, int32_t lanes,
                                  int16x8_t *s)
{
    int16x8_t s0 = s[0];
    int16x8_t s1 = s[1];
    if (lanes == 16) {
        for (; count > 0; --count) {
            s0 = vaddq_s16(s0, vldrbq_s16(x));
            s1 = vaddq_s16(s1, vldrbq_s16(x + 8));
            x += stride;
        }
    } else if (lanes > 8) {
        const mve_pred16_t p = vctp16q((uint32_t)(lanes - 8));
        for (; count > 0; --count) {
            s0 = vaddq_s16(s0, vldrbq_s16(x));
            s1 = vaddq_s16(s1, vldrbq_z_s16(x + 8, p));
            x += stride;
        }
    } else {
        const mve_pred16_t p = vctp16q((uint32_t)lanes);
        for (; count > 0; --count) {
            s0 = vaddq_s16(s0, vldrbq_z_s16(x, p));
            x += stride;
        }
    }
    s[0] = s0;
    s[1] = s1;
}

static inline void pool_mve_sum16_zero(pool_mve_sum16_t *a)
{
    a->e0 = a->o0 = a->e1 = a->o1 = vdupq_n_s32(0);
}

/* a += the int16 block sums s widened (VMOVLB / VMOVLT); s is cleared for the next block. */
static inline void pool_mve_widen16(int16x8_t *s, pool_mve_sum16_t *a)
{
    a->e0 = vaddq_s32(a->e0, vmovlbq_s16(s[0]));
    a->o0 = vaddq_s32(a->o0, vmovltq_s16(s[0]));
    a->e1 = vaddq_s32(a->e1, vmovlbq_s16(s[1]));
    a->o1 = vaddq_s32(a->o1, vmovltq_s16(s[1]));
    s[0] = s[1] = vdupq_n_s16(0);
}

/* a = the sums over `count` pixels at x, x + stride, ... of their first `lanes` (1..16)
 * bytes, in blocks of POOL_MVE_BLOCK pixels. |sum| <= 128 * count: exact for count < 2^24. */
static inline void pool_mve_sum16(const int8_t *x, int32_t count, int32_t stride, int32_t lanes,
                                  pool_mve_sum16_t *a)
{
    int16x8_t s[2];
    s[0] = s[1] = vdupq_n_s16(0);
    pool_mve_sum16_zero(a);
    while (count > 0) {
        const int32_t block = count < POOL_MVE_BLOCK ? count : POOL_MVE_BLOCK;
        pool_mve_add16(x, block, stride, lanes, s);
        pool_mve_widen16(s, a);
        x += block * stride;
        count -= block;
    }
}

/* Store clamp(r, lo, hi) for the first `lanes` (1..16) channels of the int16 results r0
 * (channels 0..7) and r1 (8..15) as bytes (VSTRB.16, the last ones predicated). */
static inline void pool_mve_store16_s16(int8_t *out, int16x8_t r0, int16x8_t r1, int16x8_t lo,
                                        int16x8_t hi, int32_t lanes)
{
    r0 = vminq_s16(vmaxq_s16(r0, lo), hi);
    if (lanes == 16) {
        vstrbq_s16(out, r0);
        vstrbq_s16(out + 8, vminq_s16(vmaxq_s16(r1, lo), hi));
    } else {
        vstrbq_p_s16(out, r0, vctp16q((uint32_t)lanes));
        if (lanes > 8) {
            vstrbq_p_s16(out + 8, vminq_s16(vmaxq_s16(r1, lo), hi),
                         vctp16q((uint32_t)(lanes - 8)));
        }
    }
}

/* The same for int32 results v (in pool_mve_sum16_t's order; lo, hi within int16): the
 * saturating narrows VQMOVNB / VQMOVNT put even and odd channels back side by side
 * (saturating to int16 and then clamping equals clamping). */
static inline void pool_mve_store16(int8_t *out, const pool_mve_sum16_t *v, int16x8_t lo,
                                    int16x8_t hi, int32_t lanes)
{
    const int16x8_t r0 = vqmovntq_s32(vqmovnbq_s32(vdupq_n_s16(0), v->e0), v->o0);
    const int16x8_t r1 = vqmovntq_s32(vqmovnbq_s32(vdupq_n_s16(0), v->e1), v->o1);
    pool_mve_store16_s16(out, r0, r1, lo, hi, lanes);
}
#endif /* REID_MVE */

#endif /* REID_KERNELS_MVE_POOL_H */
