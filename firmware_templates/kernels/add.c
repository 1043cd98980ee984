/* add.c: reference int8 ADD. Inputs are offset, shifted left by 20 (|x| <= 255 * 2^20 < 2^31),
 * scaled by multipliers < 1, combined, then requantized to the output. */
#include "add.h"
#include "requantize.h"

void add_s8(const add_params_t *p, const broadcast_shape_t *s, const int8_t *input1,
            const int8_t *input2, int8_t *output)
{
    int32_t i0, i1, i2, i3;
    int64_t out = 0;
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
