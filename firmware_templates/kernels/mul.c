/* mul.c: reference int8 MUL: (x1 - zp1) * (x2 - zp2), |product| <= 255 * 255, requantized.
 * On Helium cores mul_s8 first tries the rows of mve_elementwise.h (same bits) and runs this
 * loop when they decline. */
#include "mul.h"
#include "mve_elementwise.h"
#include "requantize.h"

#if REID_MVE
static void mul_row_mve(const void *params, const int8_t *in1, int32_t stride1,
                        const int8_t *in2, int32_t stride2, int8_t *out, int32_t n)
{
    const mul_params_t *p = (const mul_params_t *)params;
    const mve_rq_t rq = mve_rq(p->output_multiplier, p->output_shift);
    int32_t i;
    if (stride1 == 1 && stride2 == 1) {
        for (i = 0; i < n; i += 4) {
            const mve_pred16_t pr = vctp32q((uint32_t)(n - i));
            const int32x4_t a = vaddq_n_s32(vldrbq_z_s32(in1 + i, pr), p->input1_offset);
            const int32x4_t b = vaddq_n_s32(vldrbq_z_s32(in2 + i, pr), p->input2_offset);
            mve_store_clamped(out + i, mve_rq_apply(vmulq_s32(a, b), &rq), p->output_offset,
                              p->act_min, p->act_max, pr);
        }
    } else {
        /* the product is symmetric: x the contiguous input, c the one value (offset added) */
        const int swap = stride1 == 0;
        const int8_t *x = swap ? in2 : in1;
        const int32_t x_offset = swap ? p->input2_offset : p->input1_offset;
        const int32_t c = swap ? (int32_t)in1[0] + p->input1_offset
                               : (int32_t)in2[0] + p->input2_offset;
        for (i = 0; i < n; i += 4) {
            const mve_pred16_t pr = vctp32q((uint32_t)(n - i));
            const int32x4_t a = vaddq_n_s32(vldrbq_z_s32(x + i, pr), x_offset);
            mve_store_clamped(out + i, mve_rq_apply(vmulq_n_s32(a, c), &rq), p->output_offset,
                              p->act_min, p->act_max, pr);
        }
    }
}
#endif

void mul_s8(const mul_params_t *p, const broadcast_shape_t *s, const int8_t *input1,
            const int8_t *input2, int8_t *output)
{
    int32_t i0, i1, i2, i3;
    int64_t out = 0;
#if REID_MVE
    if (mve_broadcast_rows(mul_row_mve, p, s, input1, input2, output)) {
        return;
    }
#endif
    for (i0 = 0; i0 < s->dims[0]; ++i0) {
        for (i1 = 0; i1 < s->dims[1]; ++i1) {
            for (i2 = 0; i2 < s->dims[2]; ++i2) {
                for (i3 = 0; i3 < s->dims[3]; ++i3) {
                    const int64_t a = (int64_t)i0 * s->stride1[0] + (int64_t)i1 * s->stride1[1] +
                                      (int64_t)i2 * s->stride1[2] + (int64_t)i3 * s->stride1[3];
                    const int64_t b = (int64_t)i0 * s->stride2[0] + (int64_t)i1 * s->stride2[1] +
                                      (int64_t)i2 * s->stride2[2] + (int64_t)i3 * s->stride2[3];
                    const int32_t prod = ((int32_t)input1[a] + p->input1_offset) *
                                         ((int32_t)input2[b] + p->input2_offset);
                    const int32_t raw = requantize(prod, p->output_multiplier, p->output_shift) +
                                        p->output_offset;
                    output[out++] = (int8_t)rq_clamp(raw, p->act_min, p->act_max);
                }
            }
        }
    }
}
