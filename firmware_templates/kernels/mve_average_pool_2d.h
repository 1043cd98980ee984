/* mve_average_pool_2d.h: AVERAGE_POOL_2D on Helium (MVE), the same bits as the reference loop
 * in average_pool_2d.c: channels in lanes, exact int16/int32 lane sums (mve_pool.h), the
 * oracle's rounded division by the taps read done as a multiplication (proof below). Output
 * rows are written in order, reading only rows of the current window
 * (planner.streaming_overlap). average_pool_2d_s8_mve() returns 0, having written nothing, for
 * windows of more than AVG_MVE_MAX_TAPS taps or wider than POOL_MVE_BLOCK pixels. */
#ifndef REID_KERNELS_MVE_AVERAGE_POOL_2D_H
#define REID_KERNELS_MVE_AVERAGE_POOL_2D_H

#include "average_pool_2d.h"
#include "mve_pool.h"

#if REID_MVE
/* Windows of at most AVG_MVE_MAX_TAPS taps: the division below is exact there. */
#define AVG_MVE_MAX_TAPS 2048

/* sign(acc) * floor((|acc| + half) / d) on four lanes, m = ceil(2^31 / d) (see below). */
static inline int32x4_t avg_mve_divide(int32x4_t acc, int32_t half, uint32x4_t m)
{
    const int32x4_t u = vaddq_n_s32(vabsq_s32(acc), half);
    const uint32x4_t u2 = vreinterpretq_u32_s32(vaddq_s32(u, u));
    const int32x4_t q = vreinterpretq_s32_u32(vmulhq_u32(u2, m));
    return vpselq_s32(vnegq_s32(q), q, vcmpltq_n_s32(acc, 0));
}

/* The same on eight int16 lanes, m = ceil(2^16 / d) < 2^16, for the d whose sums fit int16
 * (d <= 256) and where u * e < 2^16 holds for every u <= 128 * d + d / 2, e = m * d - 2^16
 * (avg_mve_use16); |acc| <= 32768 read as unsigned by the wrapping VABS. */
static inline int16x8_t avg_mve_divide16(int16x8_t acc, uint16_t half, uint16x8_t m)
{
    const uint16x8_t u = vaddq_n_u16(vreinterpretq_u16_s16(vabsq_s16(acc)), half);
    const int16x8_t q = vreinterpretq_s16_u16(vmulhq_u16(u, m));
    return vpselq_s16(vnegq_s16(q), q, vcmpltq_n_s16(acc, 0));
}

static inline int avg_mve_use16(int32_t d)
{
    const uint32_t m = 0xFFFFu / (uint32_t)d + 1u;
    return d >= 2 && d <= POOL_MVE_BLOCK &&
           (uint32_t)(128 * d + d / 2) * (m * (uint32_t)d - 0x10000u) < 0x10000u;
}

/* Channels in lanes, 16 per step (the last 1..15 predicated): each window row is summed in
 * int16 lanes (VLDRB.S16, exact up to 256 pixels) and widened into int32 before a row would
 * take the block past 256 pixels (pool_mve_add16 / pool_mve_widen16). Windows of <= 256 taps
 * whose int16 division is exact (avg_mve_use16: 39 counts, among them 2..26, 32, 64, 128 and
 * 256) keep their int16 sums and divide eight lanes at a time (avg_mve_divide16); rows two
 * pixels wide of 16 channels are unrolled (OSNet's 2x2 pools).
 *
 * The division: the reference computes, with d = taps read and C99 truncation,
 * avg = acc > 0 ? (acc + d/2) / d : (acc - d/2) / d, that is sign(acc) * floor(u / d) with
 * u = |acc| + floor(d/2). Helium has no vector division, so floor(u / d) is taken as
 * (2u * m) >> 32 (VMULH.U32) with m = ceil(2^31 / d) <= 2^31: with e = m * d - 2^31 in [0, d),
 * u * m / 2^31 = u / d + u * e / (d * 2^31), and the excess stays below 1/d (so the floor is
 * unchanged) when u * e < 2^31; u <= 128 * d + d / 2 and e < d make that hold for every
 * d <= 4087. 2u < 2^32 too. The int16 form is the same argument with 2^16 (and without the
 * doubling). tests/kernels_m55/test_pool_mean_m55.py checks both for every u and d <= 300,
 * and the kernel on qemu-m55 against the oracle.
 * Returns 0, having written nothing, for windows of more than AVG_MVE_MAX_TAPS taps or wider
 * than POOL_MVE_BLOCK. */
static inline int average_pool_2d_s8_mve(const pool_params_t *p, const int8_t *input,
                                         int8_t *output)
{
    const int32_t ch = p->channels;
    const int16x8_t lo = vdupq_n_s16((int16_t)p->act_min);
    const int16x8_t hi = vdupq_n_s16((int16_t)p->act_max);
    int32_t b, oy, ox, c, fy, fy0, fy1, fx0, fx1;
    int32_t half = 0;
    int32_t last_count = 0;
    uint32x4_t m = vdupq_n_u32(0);
    uint16x8_t m16 = vdupq_n_u16(0);
    int use16 = 0;
    if (p->filter_h * p->filter_w > AVG_MVE_MAX_TAPS || p->filter_w > POOL_MVE_BLOCK) {
        return 0;
    }
    for (b = 0; b < p->batches; ++b) {
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            pool_clip(y0, p->filter_h, p->in_h, &fy0, &fy1);
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                const int8_t *window;
                int32_t count, wide;
                pool_clip(x0, p->filter_w, p->in_w, &fx0, &fx1);
                wide = fx1 - fx0;
                count = (fy1 - fy0) * wide; /* >= 1: the generator rejects empty windows */
                if (count != last_count) {
                    /* ceil(2^31 / count) */
                    m = vdupq_n_u32((0x7FFFFFFFu / (uint32_t)count) + 1u);
                    half = count / 2;
                    use16 = avg_mve_use16(count);
                    m16 = vdupq_n_u16((uint16_t)(0xFFFFu / (uint32_t)count + 1u));
                    last_count = count;
                }
                window = input + ((b * p->in_h + y0 + fy0) * p->in_w + x0 + fx0) * ch;
                for (c = 0; c < ch; c += 16) {
                    const int32_t lanes = ch - c < 16 ? ch - c : 16;
                    const int8_t *row = window + c;
                    pool_mve_sum16_t a;
                    int16x8_t s[2];
                    int32_t used = 0;
                    s[0] = s[1] = vdupq_n_s16(0);
                    if (use16) { /* count <= 256: the int16 sums are whole */
                        if (lanes == 16 && wide == 2) { /* OSNet's 2x2 pools, unrolled */
                            for (fy = fy0; fy < fy1; ++fy) {
                                s[0] = vaddq_s16(s[0], vldrbq_s16(row));
                                s[1] = vaddq_s16(s[1], vldrbq_s16(row + 8));
                                s[0] = vaddq_s16(s[0], vldrbq_s16(row + ch));
                                s[1] = vaddq_s16(s[1], vldrbq_s16(row + ch + 8));
                                row += p->in_w * ch;
                            }
                        } else {
                            for (fy = fy0; fy < fy1; ++fy) {
                                pool_mve_add16(row, wide, ch, lanes, s);
                                row += p->in_w * ch;
                            }
                        }
                        s[0] = avg_mve_divide16(s[0], (uint16_t)half, m16);
                        s[1] = avg_mve_divide16(s[1], (uint16_t)half, m16);
                        pool_mve_store16_s16(output + c, s[0], s[1], lo, hi, lanes);
                        continue;
                    }
                    pool_mve_sum16_zero(&a);
                    for (fy = fy0; fy < fy1; ++fy) {
                        if (used + wide > POOL_MVE_BLOCK) {
                            pool_mve_widen16(s, &a);
                            used = 0;
                        }
                        pool_mve_add16(row, wide, ch, lanes, s);
                        used += wide;
                        row += p->in_w * ch;
                    }
                    pool_mve_widen16(s, &a);
                    a.e0 = avg_mve_divide(a.e0, half, m);
                    a.o0 = avg_mve_divide(a.o0, half, m);
                    if (lanes > 8) {
                        a.e1 = avg_mve_divide(a.e1, half, m);
                        a.o1 = avg_mve_divide(a.o1, half, m);
                    }
                    pool_mve_store16(output + c, &a, lo, hi, lanes);
                }
                output += ch;
            }
        }
    }
    return 1;
}
#endif /* REID_MVE */

#endif /* REID_KERNELS_MVE_AVERAGE_POOL_2D_H */
