/* mul.c: reference int8 MUL: (x1 - zp1) * (x2 - zp2), |product| <= 255 * 255, requantized.
 * On Helium cores mul_s8 first tries the rows of mve_elementwise.h (same bits) and runs this
 * loop when they decline. */
#include "mul.h"
#include "mve_elementwise.h"
#include "requantize.h"

#if REID_MVE
/* Rows of the Helium MUL (mve_elementwise.h). Per 4 elements: 16 instructions with two
 * contiguous inputs, 14 with a one-value input. noinline: so that the operands fit. */
__attribute__((noinline)) static void mul_pair_row(const mul_params_t *p, const int8_t *a,
                                                   const int8_t *b, int8_t *o, int32_t n)
{
    const int32x4_t left = vdupq_n_s32(p->output_shift > 0 ? p->output_shift : 0);
    const int32x4_t right = vdupq_n_s32(p->output_shift < 0 ? p->output_shift : 0);
    const int32x4_t lo = vdupq_n_s32(p->act_min);
    const int32x4_t hi = vdupq_n_s32(p->act_max);
    __asm__ volatile(EW_LOOP
                     EW_LOAD("q0", "a", "o1")
                     EW_LOAD("q1", "b", "o2")
                     "vmul.i32 q0, q0, q1\n\t"
                     "vshl.s32 q0, q0, %q[left]\n\t"
                     RQ_ASM("q0", "m", "right")
                     EW_STORE
                     : [a] "+l"(a), [b] "+l"(b), [o] "+l"(o)
                     : [n] "r"(n), [o1] "r"(p->input1_offset), [o2] "r"(p->input2_offset),
                       [m] "r"(p->output_multiplier), [oo] "r"(p->output_offset),
                       [left] "w"(left), [right] "w"(right), [lo] "w"(lo), [hi] "w"(hi)
                     : "q0", "q1", "q2", "lr", "memory");
}

/* x contiguous with offset ox, times c (the other input plus its offset). */
__attribute__((noinline)) static void mul_value_row(const mul_params_t *p, const int8_t *x,
                                                    int32_t ox, int32_t c, int8_t *o, int32_t n)
{
    const int32x4_t left = vdupq_n_s32(p->output_shift > 0 ? p->output_shift : 0);
    const int32x4_t right = vdupq_n_s32(p->output_shift < 0 ? p->output_shift : 0);
    const int32x4_t lo = vdupq_n_s32(p->act_min);
    const int32x4_t hi = vdupq_n_s32(p->act_max);
    __asm__ volatile(EW_LOOP
                     EW_LOAD("q0", "x", "ox")
                     "vmul.i32 q0, q0, %[c]\n\t"
                     "vshl.s32 q0, q0, %q[left]\n\t"
                     RQ_ASM("q0", "m", "right")
                     EW_STORE
                     : [x] "+l"(x), [o] "+l"(o)
                     : [n] "r"(n), [ox] "r"(ox), [c] "r"(c), [m] "r"(p->output_multiplier),
                       [oo] "r"(p->output_offset), [left] "w"(left), [right] "w"(right),
                       [lo] "w"(lo), [hi] "w"(hi)
                     : "q0", "q1", "q2", "lr", "memory");
}

static void mul_rows_mve(const void *params, const int8_t *in1, int32_t step1, int32_t inner1,
                         const int8_t *in2, int32_t step2, int32_t inner2, int8_t *out,
                         int32_t rows, int32_t n)
{
    const mul_params_t *p = (const mul_params_t *)params;
    int32_t r;
    for (r = 0; r < rows; ++r, in1 += step1, in2 += step2, out += n) {
        if (inner1 && inner2) {
            mul_pair_row(p, in1, in2, out, n);
        } else {  /* the product is symmetric: x the contiguous input, the other one value */
            const int8_t *x = inner1 ? in1 : in2;
            const int32_t c = inner1 ? (int32_t)in2[0] + p->input2_offset
                                     : (int32_t)in1[0] + p->input1_offset;
            mul_value_row(p, x, inner1 ? p->input1_offset : p->input2_offset, c, out, n);
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
    if (mve_broadcast_rows(mul_rows_mve, p, s, input1, input2, output)) {
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
