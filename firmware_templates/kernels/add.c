/* add.c: reference int8 ADD. Inputs are offset, shifted left by 20 (|x| <= 255 * 2^20 < 2^31),
 * scaled by multipliers < 1, combined, then requantized to the output. On Helium cores add_s8
 * first tries the rows of mve_elementwise.h (same bits) and runs this loop when they decline. */
#include "add.h"
#include "mve_elementwise.h"
#include "requantize.h"

#if REID_MVE
/* Rows of the Helium ADD (mve_elementwise.h). Needs left_shift 20 and shifts <= 0 (multipliers
 * < 1: what the generator computes for ADD; add_s8 checks it). Per 4 elements: 27
 * instructions with two contiguous inputs, 15 when they are long enough to pay for scaling
 * each input through a 256-entry table first (add_table_row, the 2 KiB arena scratch), 16 with a
 * one-value input. The loops are noinline functions so that their register operands fit. */
__attribute__((noinline)) static void add_pair_row(const add_params_t *p, const int8_t *a,
                                                   const int8_t *b, int8_t *o, int32_t n)
{
    const int32x4_t r1 = vdupq_n_s32(p->input1_shift);
    const int32x4_t r2 = vdupq_n_s32(p->input2_shift);
    const int32x4_t ro = vdupq_n_s32(p->output_shift);
    const int32x4_t lo = vdupq_n_s32(p->act_min);
    const int32x4_t hi = vdupq_n_s32(p->act_max);
    __asm__ volatile(EW_LOOP
                     EW_LOAD("q0", "a", "o1")
                     EW_LOAD("q1", "b", "o2")
                     "vshl.i32 q0, q0, #20\n\t"
                     "vshl.i32 q1, q1, #20\n\t"
                     RQ_ASM("q0", "m1", "r1")
                     RQ_ASM("q1", "m2", "r2")
                     "vadd.i32 q0, q0, q1\n\t"
                     RQ_ASM("q0", "mo", "ro")
                     EW_STORE
                     : [a] "+l"(a), [b] "+l"(b), [o] "+l"(o)
                     : [n] "r"(n), [o1] "r"(p->input1_offset), [o2] "r"(p->input2_offset),
                       [m1] "r"(p->input1_multiplier), [m2] "r"(p->input2_multiplier),
                       [mo] "r"(p->output_multiplier), [oo] "r"(p->output_offset), [r1] "w"(r1),
                       [r2] "w"(r2), [ro] "w"(ro), [lo] "w"(lo), [hi] "w"(hi)
                     : "q0", "q1", "q2", "lr", "memory");
}

/* table[b] = requantize(((int8_t)b + offset) << 20, multiplier, shift) for every byte b: an
 * input's scaled value depends on its byte only. shift <= 0. */
static void add_scale_table(int32_t *table, int32_t offset, int32_t multiplier, int32_t shift)
{
    const int32x4_t m = vdupq_n_s32(multiplier);
    const int32x4_t zero = vdupq_n_s32(0);
    const int32x4_t neg_right = vdupq_n_s32(shift);
    uint32x4_t b = vidupq_n_u32(0, 1);
    int32_t i;
    for (i = 0; i < 256; i += 4) {
        int32x4_t x = vshrq_n_s32(vshlq_n_s32(vreinterpretq_s32_u32(b), 24), 24);
        x = vshlq_n_s32(vaddq_n_s32(x, offset), 20);
        vst1q_s32(table + i, requantize_x4_split(x, m, zero, neg_right));
        b = vaddq_n_u32(b, 4);
    }
}

/* The pair row with both inputs scaled by gathering from their tables (by input byte):
 * 15 instructions per 4 elements. */
__attribute__((noinline)) static void add_table_row(const add_params_t *p, const int32_t *t1,
                                                    const int32_t *t2, const int8_t *a,
                                                    const int8_t *b, int8_t *o, int32_t n)
{
    const int32x4_t ro = vdupq_n_s32(p->output_shift);
    const int32x4_t lo = vdupq_n_s32(p->act_min);
    const int32x4_t hi = vdupq_n_s32(p->act_max);
    __asm__ volatile(EW_LOOP
                     "vldrb.u32 q0, [%[a]], #4\n\t"
                     "vldrb.u32 q1, [%[b]], #4\n\t"
                     "vldrw.u32 q2, [%[t1], q0, uxtw #2]\n\t"
                     "vldrw.u32 q3, [%[t2], q1, uxtw #2]\n\t"
                     "vadd.i32 q0, q2, q3\n\t"
                     RQ_ASM("q0", "mo", "ro")
                     EW_STORE
                     : [a] "+l"(a), [b] "+l"(b), [o] "+l"(o)
                     : [n] "r"(n), [t1] "r"(t1), [t2] "r"(t2), [mo] "r"(p->output_multiplier),
                       [oo] "r"(p->output_offset), [ro] "w"(ro), [lo] "w"(lo), [hi] "w"(hi)
                     : "q0", "q1", "q2", "q3", "lr", "memory");
}

/* x contiguous with offset ox, multiplier mx, shift sx; c the other input's scaled value. */
__attribute__((noinline)) static void add_value_row(const add_params_t *p, const int8_t *x,
                                                    int32_t ox, int32_t mx, int32_t sx,
                                                    int32_t c, int8_t *o, int32_t n)
{
    const int32x4_t rx = vdupq_n_s32(sx);
    const int32x4_t ro = vdupq_n_s32(p->output_shift);
    const int32x4_t lo = vdupq_n_s32(p->act_min);
    const int32x4_t hi = vdupq_n_s32(p->act_max);
    __asm__ volatile(EW_LOOP
                     EW_LOAD("q0", "x", "ox")
                     "vshl.i32 q0, q0, #20\n\t"
                     RQ_ASM("q0", "mx", "rx")
                     "vadd.i32 q0, q0, %[c]\n\t"
                     RQ_ASM("q0", "mo", "ro")
                     EW_STORE
                     : [x] "+l"(x), [o] "+l"(o)
                     : [n] "r"(n), [ox] "r"(ox), [mx] "r"(mx), [c] "r"(c),
                       [mo] "r"(p->output_multiplier), [oo] "r"(p->output_offset), [rx] "w"(rx),
                       [ro] "w"(ro), [lo] "w"(lo), [hi] "w"(hi)
                     : "q0", "q1", "q2", "lr", "memory");
}

/* What add_rows_mve gets: the parameters and the arena scratch (NULL: no tables). */
typedef struct {
    const add_params_t *p;
    int32_t *tables; /* two tables of 256 int32 */
} add_call_t;

static void add_rows_mve(const void *params, const int8_t *in1, int32_t step1, int32_t inner1,
                         const int8_t *in2, int32_t step2, int32_t inner2, int8_t *out,
                         int32_t rows, int32_t n)
{
    const add_call_t *call = (const add_call_t *)params;
    const add_params_t *p = call->p;
    const int tables = call->tables != NULL && inner1 && inner2 && rows * n >= ADD_TABLE_MIN_ELEMENTS;
    const int32_t offset[2] = {p->input1_offset, p->input2_offset};
    const int32_t multiplier[2] = {p->input1_multiplier, p->input2_multiplier};
    const int32_t shift[2] = {p->input1_shift, p->input2_shift};
    int32_t *t1 = call->tables;
    int32_t *t2 = t1 + 256;
    int32_t r;
    if (tables) {
        add_scale_table(t1, offset[0], multiplier[0], shift[0]);
        add_scale_table(t2, offset[1], multiplier[1], shift[1]);
    }
    for (r = 0; r < rows; ++r, in1 += step1, in2 += step2, out += n) {
        if (tables) {
            add_table_row(p, t1, t2, in1, in2, out, n);
        } else if (inner1 && inner2) {
            add_pair_row(p, in1, in2, out, n);
        } else {  /* x: the contiguous input (k), the other one value for the row */
            const int k = inner1 ? 0 : 1;
            const int8_t *x = k ? in2 : in1;
            const int8_t *value = k ? in1 : in2;
            add_value_row(p, x, offset[k], multiplier[k], shift[k],
                          requantize(((int32_t)value[0] + offset[1 - k]) * (1 << p->left_shift),
                                     multiplier[1 - k], shift[1 - k]),
                          out, n);
        }
    }
}
#endif

void add_s8(const add_params_t *p, const broadcast_shape_t *s, const int8_t *input1,
            const int8_t *input2, int8_t *output, void *scratch)
{
    int32_t i0, i1, i2, i3;
    int64_t out = 0;
#if REID_MVE
    const add_call_t call = {p, (int32_t *)scratch};
    if (p->left_shift == 20 && p->input1_shift <= 0 && p->input2_shift <= 0 &&
        p->output_shift <= 0 &&
        mve_broadcast_rows(add_rows_mve, &call, s, input1, input2, output)) {
        return;
    }
#else
    (void)scratch;
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
