/* add.c: reference int8 ADD. Inputs are offset, shifted left by 20 (|x| <= 255 * 2^20 < 2^31),
 * scaled by multipliers < 1, combined, then requantized to the output. On Helium cores add_s8
 * first tries the rows of mve_elementwise.h (same bits) and runs this loop when they decline. */
#include "add.h"
#include "mve_elementwise.h"
#include "requantize.h"

#if REID_MVE
/* input k of one row: (x + offset) << left_shift, requantized; a one-value input once. */
static void add_row_mve(const void *params, const int8_t *in1, int32_t stride1,
                        const int8_t *in2, int32_t stride2, int8_t *out, int32_t n)
{
    const add_params_t *p = (const add_params_t *)params;
    const mve_rq_t rq1 = mve_rq(p->input1_multiplier, p->input1_shift);
    const mve_rq_t rq2 = mve_rq(p->input2_multiplier, p->input2_shift);
    const mve_rq_t rqo = mve_rq(p->output_multiplier, p->output_shift);
    /* x: the contiguous input (in1 unless only in2 is), c: the other when it is one value */
    const int swap = stride1 == 0;
    const int8_t *x = swap ? in2 : in1;
    const int32_t x_offset = swap ? p->input2_offset : p->input1_offset;
    const mve_rq_t *rqx = swap ? &rq2 : &rq1;
    int32_t i;
    if (stride1 == 1 && stride2 == 1) {
        for (i = 0; i < n; i += 4) {
            const mve_pred16_t pr = vctp32q((uint32_t)(n - i));
            const int32x4_t a = vshlq_r_s32(vaddq_n_s32(vldrbq_z_s32(in1 + i, pr), p->input1_offset), p->left_shift);
            const int32x4_t b = vshlq_r_s32(vaddq_n_s32(vldrbq_z_s32(in2 + i, pr), p->input2_offset), p->left_shift);
            const int32x4_t sum = vaddq_s32(mve_rq_apply(a, &rq1), mve_rq_apply(b, &rq2));
            mve_store_clamped(out + i, mve_rq_apply(sum, &rqo), p->output_offset, p->act_min,
                              p->act_max, pr);
        }
    } else {
        const int32_t c = swap
            ? requantize(((int32_t)in1[0] + p->input1_offset) * (1 << p->left_shift),
                         p->input1_multiplier, p->input1_shift)
            : requantize(((int32_t)in2[0] + p->input2_offset) * (1 << p->left_shift),
                         p->input2_multiplier, p->input2_shift);
        for (i = 0; i < n; i += 4) {
            const mve_pred16_t pr = vctp32q((uint32_t)(n - i));
            const int32x4_t a = vshlq_r_s32(vaddq_n_s32(vldrbq_z_s32(x + i, pr), x_offset), p->left_shift);
            const int32x4_t sum = vaddq_n_s32(mve_rq_apply(a, rqx), c);
            mve_store_clamped(out + i, mve_rq_apply(sum, &rqo), p->output_offset, p->act_min,
                              p->act_max, pr);
        }
    }
}
#endif

void add_s8(const add_params_t *p, const broadcast_shape_t *s, const int8_t *input1,
            const int8_t *input2, int8_t *output)
{
    int32_t i0, i1, i2, i3;
    int64_t out = 0;
#if REID_MVE
    if (mve_broadcast_rows(add_row_mve, p, s, input1, input2, output)) {
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
                    const int32_t x1 = ((int32_t)input1[a] + p->input1_offset) * (1 << p->left_shift);
                    const int32_t x2 = ((int32_t)input2[b] + p->input2_offset) * (1 << p->left_shift);
                    const int32_t s1 = requantize(x1, p->input1_multiplier, p->input1_shift);
                    const int32_t s2 = requantize(x2, p->input2_multiplier, p->input2_shift);
                    const int32_t raw = requantize(s1 + s2, p->output_multiplier, p->output_shift) +
                                        p->output_offset;
                    output[out++] = (int8_t)rq_clamp(raw, p->act_min, p->act_max);
                }
            }
        }
    }
}
