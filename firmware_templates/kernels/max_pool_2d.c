/* max_pool_2d.c: the oracle's reference_integer_ops::MaxPool: the largest tap of the window
 * clipped to the image, then the fused activation's clamp.
 *
 * On Helium cores max_pool_2d_s8 runs max_pool_2d_s8_mve (mve_max_pool_2d.h, same bits). Both
 * write output rows in order and read only rows of the current window (the planner's
 * streaming-overlap contract, planner.streaming_overlap). */
#include "max_pool_2d.h"
#include "mve_max_pool_2d.h"

void max_pool_2d_s8(const pool_params_t *p, const int8_t *input, int8_t *output)
{
#if REID_MVE
    if (max_pool_2d_s8_mve(p, input, output)) {
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
                pool_clip(x0, p->filter_w, p->in_w, &fx0, &fx1);
                for (c = 0; c < p->channels; ++c) {
                    int32_t best = -128;
                    for (fy = fy0; fy < fy1; ++fy) {
                        for (fx = fx0; fx < fx1; ++fx) {
                            const int64_t idx =
                                (((int64_t)b * p->in_h + (y0 + fy)) * p->in_w + (x0 + fx)) *
                                    p->channels + c;
                            best = input[idx] > best ? input[idx] : best;
                        }
                    }
                    output[out++] = (int8_t)pool_clamp(best, p->act_min, p->act_max);
                }
            }
        }
    }
}
