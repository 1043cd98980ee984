/* pool_common.h: what MAX_POOL_2D and AVERAGE_POOL_2D share (int8, NHWC): the parameters and
 * the clipping of a window to the image (padded taps are never read). Input and output share
 * one quantization (the converter guarantees it; the generator checks it), so neither kernel
 * requantizes.
 *
 * On Helium cores (REID_MVE, see mve_s8.h) it also holds the channel-lane sums that
 * AVERAGE_POOL_2D and MEAN (a global average pool) share: up to 16 channels of NHWC data, one
 * per lane, summed over many pixels exactly. */
#ifndef REID_KERNELS_POOL_COMMON_H
#define REID_KERNELS_POOL_COMMON_H

#include <stdint.h>

#include "mve_s8.h"

typedef struct {
    int32_t batches, in_h, in_w, channels, out_h, out_w;
    int32_t filter_h, filter_w, stride_h, stride_w, pad_h, pad_w;
    int32_t act_min, act_max;  /* the fused activation's clamp, in output units */
} pool_params_t;

/* The part [*lo, *hi) of a window of `filter` taps starting at `start` (may be negative, in
 * the padding) that lies inside 0..size-1. */
static inline void pool_clip(int32_t start, int32_t filter, int32_t size, int32_t *lo,
                             int32_t *hi)
{
    *lo = start < 0 ? -start : 0;
    *hi = size - start < filter ? size - start : filter;
}

static inline int32_t pool_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

#if REID_MVE
/* int16 lanes hold the exact sum of up to 256 int8 values (-32768..32512): sums of more
 * pixels are taken in blocks of at most POOL_MVE_BLOCK, each widened into int32 lanes. */
#define POOL_MVE_BLOCK 256

/* s[0], s[1] (channels 0..7, 8..15) += the first `lanes` (1..16) bytes of the `count` pixels
 * at x, x + stride, x + 2 * stride, ... (VLDRB.S16 widening loads; lanes beyond `lanes` are
 * neither read nor changed). The caller keeps the pixels summed into s at <= POOL_MVE_BLOCK. */
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

/* acc[k] (int32, channels 4k..4k+3) += the int16 block sums s, in channel order; s is
 * cleared for the next block. */
static inline void pool_mve_widen16(int16x8_t *s, int32x4_t *acc)
{
    int16_t t[16] __attribute__((aligned(16)));
    vstrhq_s16(t, s[0]);
    vstrhq_s16(t + 8, s[1]);
    acc[0] = vaddq_s32(acc[0], vldrhq_s32(t));
    acc[1] = vaddq_s32(acc[1], vldrhq_s32(t + 4));
    acc[2] = vaddq_s32(acc[2], vldrhq_s32(t + 8));
    acc[3] = vaddq_s32(acc[3], vldrhq_s32(t + 12));
    s[0] = vdupq_n_s16(0);
    s[1] = vdupq_n_s16(0);
}

/* acc[k] = sum over `count` pixels at x, x + stride, ... of their first `lanes` (1..16) bytes,
 * in int32 lanes (channel 4k + j in lane j of acc[k]); blocks of POOL_MVE_BLOCK pixels. Lanes
 * beyond `lanes` hold 0. |sum| <= 128 * count: exact for count < 2^24. */
static inline void pool_mve_sum16(const int8_t *x, int32_t count, int32_t stride, int32_t lanes,
                                  int32x4_t *acc)
{
    int16x8_t s[2];
    s[0] = vdupq_n_s16(0);
    s[1] = vdupq_n_s16(0);
    acc[0] = acc[1] = acc[2] = acc[3] = vdupq_n_s32(0);
    while (count > 0) {
        const int32_t block = count < POOL_MVE_BLOCK ? count : POOL_MVE_BLOCK;
        pool_mve_add16(x, block, stride, lanes, s);
        pool_mve_widen16(s, acc);
        x += block * stride;
        count -= block;
    }
}
#endif /* REID_MVE */

#endif
