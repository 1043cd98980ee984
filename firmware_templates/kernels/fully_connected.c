/* fully_connected.c: reference int8 FULLY_CONNECTED (the oracle's FullyConnected and
 * FullyConnectedPerChannel arithmetic). On Helium cores fully_connected_s8 first tries the MVE
 * kernel (mve_fully_connected.h), which gives the same bits, and runs this loop when it
 * declines. */
#include "fully_connected.h"
#include "dot_s8.h"
#include "mve_fully_connected.h"
#include "requantize.h"

static void fully_connected_s8_reference(const fully_connected_params_t *p, const int8_t *input,
                        const int8_t *filter, const int32_t *bias, const double *scale,
                        int8_t *output)
{
    int32_t b, o, d;
    for (b = 0; b < p->batches; ++b) {
        for (o = 0; o < p->out_depth; ++o) {
            const int8_t *x = input + (int64_t)b * p->accum_depth;
            const int8_t *w = filter + (int64_t)o * p->accum_depth;
            const int32_t ch = p->per_channel ? o : 0;
            /* |acc| <= accum_depth * 255 * 255 + |bias|. */
            int32_t acc = 0;
            if (p->filter_offset == 0) { /* symmetric filters: sum w * (x + off) */
                int32_t dot, sum_w;
                dot_s8(x, w, p->accum_depth, &dot, &sum_w);
                acc = dot + p->input_offset * sum_w;
            } else {
                for (d = 0; d < p->accum_depth; ++d) {
                    acc += ((int32_t)w[d] + p->filter_offset) * ((int32_t)x[d] + p->input_offset);
                }
            }
            if (bias) {
                acc += bias[o];
            }
            output[(int64_t)b * p->out_depth + o] =
                (int8_t)requantize_fc(acc, scale[ch], p->output_offset, p->act_min, p->act_max);
        }
    }
}

void fully_connected_s8(const fully_connected_params_t *p, const int8_t *input,
                        const int8_t *filter, const int32_t *bias, const double *scale,
                        int8_t *output)
{
#if REID_MVE
    if (fully_connected_s8_mve(p, input, filter, bias, scale, output)) {
        return;
    }
#endif
    fully_connected_s8_reference(p, input, filter, bias, scale, output);
}
