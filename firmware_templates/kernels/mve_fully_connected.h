/* mve_fully_connected.h: FULLY_CONNECTED on Helium (MVE), the same bits as fully_connected.c.
 *
 * Four filter rows at a time share each 16-byte load of the input row (mve_dot4_s8); the
 * input offset enters as input_offset * sum w, the row sums taken with VADDVA (each filter row
 * is used once per batch row, so there is nothing to precompute). The oracle's FC output
 * step (requantize_fc: double arithmetic) is applied per output.
 * fully_connected_s8_mve() returns 0 for asymmetric filters (filter_offset != 0); the caller
 * then runs the reference loop. */
#ifndef REID_KERNELS_MVE_FULLY_CONNECTED_H
#define REID_KERNELS_MVE_FULLY_CONNECTED_H

#include "fully_connected.h"
#include "mve_s8.h"

#if REID_MVE
static inline int32_t mve_fc_output(const fully_connected_params_t *p, int32_t acc, int32_t o,
                                    const int32_t *bias, const double *scale)
{
    if (bias) {
        acc += bias[o];
    }
    return requantize_fc(acc, scale[p->per_channel ? o : 0], p->output_offset, p->act_min,
                         p->act_max);
}

static inline int fully_connected_s8_mve(const fully_connected_params_t *p, const int8_t *input,
                                         const int8_t *filter, const int32_t *bias,
                                         const double *scale, int8_t *output)
{
    const int32_t k = p->accum_depth;
    int32_t b, o, j;
    if (p->filter_offset != 0) {
        return 0;
    }
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + (int64_t)b * k;
        int8_t *y = output + (int64_t)b * p->out_depth;
        for (o = 0; o + 4 <= p->out_depth; o += 4) {
            const int8_t *w = filter + (int64_t)o * k;
            /* |acc| <= accum_depth * 255 * 128 + |bias|, as in the reference. */
            static const int32_t zero[4] __attribute__((aligned(16))) = {0, 0, 0, 0};
            const int32x4_t dot = mve_dot4_s8(x, w, k, k, zero);
            int32_t sums[4] __attribute__((aligned(16)));
            int32_t accs[4] __attribute__((aligned(16)));
            for (j = 0; j < 4; ++j) {
                sums[j] = mve_sum_s8(w + (int64_t)j * k, k);
            }
            vstrwq_s32(accs, vmlaq_n_s32(dot, vldrwq_s32(sums), p->input_offset));
            for (j = 0; j < 4; ++j) {
                y[o + j] = (int8_t)mve_fc_output(p, accs[j], o + j, bias, scale);
            }
        }
        for (; o < p->out_depth; ++o) {
            const int8_t *w = filter + (int64_t)o * k;
            const int32_t acc = mve_dot1_s8(x, w, k) + p->input_offset * mve_sum_s8(w, k);
            y[o] = (int8_t)mve_fc_output(p, acc, o, bias, scale);
        }
    }
    return 1;
}
#endif /* REID_MVE */

#endif /* REID_KERNELS_MVE_FULLY_CONNECTED_H */
