/* mve_max_pool_2d.h: MAX_POOL_2D on Helium (MVE), the same bits as the reference loop in
 * max_pool_2d.c.
 *
 * Channels in the 16 int8 lanes of a vector (NHWC: contiguous), VMAX.S8 over the taps of the
 * window clipped to the image, the last 1..15 channels predicated (inactive lanes read no
 * memory and are not stored); whole 3x3 windows of 16 channels unrolled. Output rows are
 * written in order, reading only rows of the current window (planner.streaming_overlap).
 * max_pool_2d_s8_mve() takes every layer (returns 1). */
#ifndef REID_KERNELS_MVE_MAX_POOL_2D_H
#define REID_KERNELS_MVE_MAX_POOL_2D_H

#include "max_pool_2d.h"
#include "mve_s8.h"

#if REID_MVE
/* best = max(best, the 16 bytes of the three pixels x, x + ch, x + 2 * ch): the whole
 * 3x3 windows of 16 channels (OSNet's stem pool) unrolled. */
static inline int8x16_t max_mve_row3(int8x16_t best, const int8_t *x, int32_t ch)
{
    best = vmaxq_s8(best, vldrbq_s8(x));
    best = vmaxq_s8(best, vldrbq_s8(x + ch));
    return vmaxq_s8(best, vldrbq_s8(x + 2 * ch));
}

/* The largest of the window's taps needs no bound: any window, any channel count. Returns 1. */
static inline int max_pool_2d_s8_mve(const pool_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t ch = p->channels;
    const int8x16_t lo = vdupq_n_s8((int8_t)p->act_min);
    const int8x16_t hi = vdupq_n_s8((int8_t)p->act_max);
    const int32_t row_step = p->in_w * ch;
    int32_t b, oy, ox, c, fy, fx, fy0, fy1, fx0, fx1;
    for (b = 0; b < p->batches; ++b) {
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            pool_clip(y0, p->filter_h, p->in_h, &fy0, &fy1);
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                const int8_t *window;
                pool_clip(x0, p->filter_w, p->in_w, &fx0, &fx1);
                window = input + ((b * p->in_h + y0 + fy0) * p->in_w + x0 + fx0) * ch;
                for (c = 0; c < ch; c += 16) {
                    const int32_t lanes = ch - c < 16 ? ch - c : 16;
                    const mve_pred16_t pc = vctp8q((uint32_t)lanes);
                    int8x16_t best = vdupq_n_s8(-128);
                    const int8_t *row = window + c;
                    if (lanes == 16 && fy1 - fy0 == 3 && fx1 - fx0 == 3) {
                        best = max_mve_row3(best, row, ch);
                        best = max_mve_row3(best, row + row_step, ch);
                        best = max_mve_row3(best, row + 2 * row_step, ch);
                    } else {
                        for (fy = fy0; fy < fy1; ++fy) {
                            const int8_t *x = row;
                            if (lanes == 16) {
                                for (fx = fx0; fx < fx1; ++fx) {
                                    best = vmaxq_s8(best, vldrbq_s8(x));
                                    x += ch;
                                }
                            } else {
                                for (fx = fx0; fx < fx1; ++fx) {
                                    best = vmaxq_s8(best, vldrbq_z_s8(x, pc));
                                    x += ch;
                                }
                            }
                            row += row_step;
                        }
                    }
                    best = vminq_s8(vmaxq_s8(best, lo), hi);
                    vstrbq_p_s8(output + c, best, pc);
                }
                output += ch;
            }
        }
    }
    return 1;
}
#endif /* REID_MVE */

#endif /* REID_KERNELS_MVE_MAX_POOL_2D_H */
