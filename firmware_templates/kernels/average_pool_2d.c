/* average_pool_2d.c: the oracle's reference_integer_ops::AveragePool: the sum of the window
 * clipped to the image divided by the number of taps read (padding is not counted), rounding
 * half away from zero, then the fused activation's clamp.
 *
 * On Helium cores average_pool_2d_s8 first tries average_pool_2d_s8_mve (mve_average_pool_2d.h,
 * same bits) and runs this loop when it declines. Both write output rows in order and read
 * only rows of the current window (the planner's streaming-overlap contract,
 * planner.streaming_overlap). */
#include "average_pool_2d.h"
#include "mve_average_pool_2d.h"

void average_pool_2d_s8(const pool_params_t *p, const int8_t *input, int8_t *output)
{
#if REID_MVE
    if (average_pool_2d_s8_mve(p, input, output)) {
        return;
    }
#endif
    int32_t b, oy, ox, c, fy, fx, fy0, fy1, fx0, fx1;
    int64_t out = 0;
    for (b = 0; b < p->batches; ++b) {
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            pool_clip(y0, p->filter_h, p->in_h, &fy0, &fy1);
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                /* The generator rejects windows reading nothing, so count >= 1. */
                int32_t count;
                pool_clip(x0, p->filter_w, p->in_w, &fx0, &fx1);
                count = (fy1 - fy0) * (fx1 - fx0);
                for (c = 0; c < p->channels; ++c) {
                    /* |sum| <= 128 * filter_h * filter_w: int32 for any window below 2^24 taps */
                    int32_t acc = 0;
                    int32_t avg;
                    for (fy = fy0; fy < fy1; ++fy) {
                        for (fx = fx0; fx < fx1; ++fx) {
                            acc += input[(((int64_t)b * p->in_h + (y0 + fy)) * p->in_w +
                                          (x0 + fx)) * p->channels + c];
                        }
                    }
                    /* C99 division truncates toward zero; +-count/2 makes it half away. */
                    avg = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    output[out++] = (int8_t)pool_clamp(avg, p->act_min, p->act_max);
                }
            }
        }
    }
}
