/* mve_conv_2d.h: CONV_2D on Helium (MVE), the same bits as the reference loop in conv_2d.c.
 *
 * The convolution as an int8 matrix multiply: each output pixel's receptive field is one row
 * of K = k_h * k_w * in_c bytes, laid out like a filter row ([k_h][k_w][in_c]); a 1x1
 * convolution reads that row straight from the input (1x1 filters never pad), any other
 * kernel copies it into a bounded stack buffer (im2col, K <= MVE_CONV_MAX_K) where taps
 * outside the input hold the input zero point. Then
 *     acc[oc] = sum x * w + input_offset * sum w + bias[oc]
 * is the reference's sum (x + input_offset) * w + bias exactly: a padded tap holds
 * x = -input_offset and contributes 0, as a skipped tap does in the reference. The per-channel
 * constant input_offset * sum w + bias is computed once per call for a chunk of channels.
 * Four output channels share each load of the row (mve_dot4_s8) and are requantized together.
 *
 * conv_2d_s8_mve() returns 0 without writing when a layer is outside these bounds (K too long
 * for the buffer); the caller then runs the reference loop. */
#ifndef REID_KERNELS_MVE_CONV_2D_H
#define REID_KERNELS_MVE_CONV_2D_H

#include "conv_2d.h"
#include "mve_s8.h"

#if REID_MVE
/* Stack use: MVE_CONV_MAX_K bytes of im2col row + 20 * MVE_CONV_CHUNK bytes of per-channel
 * constants and requantization parameters (7 KiB). */
#define MVE_CONV_MAX_K 2048
#define MVE_CONV_CHUNK 256

/* The receptive field of the output pixel whose window starts at input row in_y0, column
 * in_x0 of image `image` into col; taps outside the input hold zp. Offsets fit int32 (a tensor
 * of 2 GiB does not fit any target). */
static inline void mve_conv_im2col(const conv_2d_params_t *p, const int8_t *image, int32_t in_y0,
                                   int32_t in_x0, int8_t zp, int8_t *col)
{
    const int32_t row_bytes = p->k_w * p->in_c;
    const int32_t line = p->in_w * p->in_c;
    int32_t ky, kx, lo = 0, hi = 0;
    if (p->dilation_w == 1) { /* the valid taps of a row are one contiguous run [lo, hi) */
        lo = in_x0 < 0 ? -in_x0 : 0;
        hi = p->in_w - in_x0 < p->k_w ? p->in_w - in_x0 : p->k_w;
        lo = lo < p->k_w ? lo : p->k_w;
        hi = hi > lo ? hi : lo;
    }
    for (ky = 0; ky < p->k_h; ++ky, col += row_bytes) {
        const int32_t in_y = in_y0 + ky * p->dilation_h;
        const int8_t *src = image + in_y * line + in_x0 * p->in_c;
        if (in_y < 0 || in_y >= p->in_h) {
            mve_fill_s8(col, zp, row_bytes);
        } else if (p->dilation_w == 1) {
            mve_fill_s8(col, zp, lo * p->in_c);
            mve_copy_s8(col + lo * p->in_c, src + lo * p->in_c, (hi - lo) * p->in_c);
            mve_fill_s8(col + hi * p->in_c, zp, (p->k_w - hi) * p->in_c);
        } else {
            for (kx = 0; kx < p->k_w; ++kx) {
                const int32_t in_x = in_x0 + kx * p->dilation_w;
                if (in_x < 0 || in_x >= p->in_w) {
                    mve_fill_s8(col + kx * p->in_c, zp, p->in_c);
                } else {
                    mve_copy_s8(col + kx * p->in_c, src + kx * p->dilation_w * p->in_c, p->in_c);
                }
            }
        }
    }
}

/* Per group of four output channels, what the requantization needs, 64 bytes apart so one
 * pointer walks them: the constant input_offset * sum w + bias, multiplier, left shift and
 * negated right shift (requantize_x4_split). */
typedef struct {
    int32_t constant[4], multiplier[4], left[4], neg_right[4];
} mve_conv_group_t;

/* One output pixel: the groups of four channels of one chunk, for the receptive field `row`
 * (k bytes). Per group: four inner products in a DLSTP/LETP loop (mve_dot4_s8's loop), the
 * vector requantization, offset, clamp and a 4-byte store. Assembly, because the compiled C
 * spilled its pointers (about 60 instead of 31 instructions per group besides the loop); not
 * inlined, because inside the caller the operands find too few free registers. */
__attribute__((noinline)) static void mve_conv_pixel(const int8_t *row, int32_t k,
                                                     const int8_t *w, const mve_conv_group_t *g,
                                                     int8_t *out, int32_t groups,
                                                     int32_t output_offset, int32_t act_min,
                                                     int32_t act_max)
{
    const int8_t *out_end = out + 4 * groups;
    const int8_t *w_next = w;
    int32_t a0, a1, a2, a3;
    const int8_t *x, *w1, *w2, *w3;
    __asm__ volatile(
        "ldr %[a0], %[lo]\n\t"
        "vdup.32 q6, %[a0]\n\t"
        "ldr %[a0], %[hi]\n\t"
        "vdup.32 q7, %[a0]\n"
        "1:\n\t"
        "ldr %[x], %[k]\n\t"
        "add %[w1], %[w0], %[x]\n\t"
        "add %[w2], %[w1], %[x]\n\t"
        "add %[w3], %[w2], %[x]\n\t"
        "add %[a0], %[w3], %[x]\n\t"
        "str %[a0], %[wn]\n\t"
        "ldrd %[a0], %[a1], [%[g]]\n\t"
        "ldrd %[a2], %[a3], [%[g], #8]\n\t"
        "dlstp.8 lr, %[x]\n\t"
        "ldr %[x], %[row]\n"
        "2:\n\t"
        "vldrb.8 q0, [%[x]], #16\n\t"
        "vldrb.8 q1, [%[w0]], #16\n\t"
        "vmladava.s8 %[a0], q0, q1\n\t"
        "vldrb.8 q1, [%[w1]], #16\n\t"
        "vmladava.s8 %[a1], q0, q1\n\t"
        "vldrb.8 q1, [%[w2]], #16\n\t"
        "vmladava.s8 %[a2], q0, q1\n\t"
        "vldrb.8 q1, [%[w3]], #16\n\t"
        "vmladava.s8 %[a3], q0, q1\n\t"
        "letp lr, 2b\n\t"
        "vmov q2[2], q2[0], %[a0], %[a2]\n\t"
        "vmov q2[3], q2[1], %[a1], %[a3]\n\t"
        "vldrw.u32 q3, [%[g], #16]\n\t"
        "vldrw.u32 q4, [%[g], #32]\n\t"
        "vldrw.u32 q5, [%[g], #48]\n\t"
        "adds %[g], #64\n\t"
        "vshl.s32 q2, q2, q4\n\t"
        "vqrdmulh.s32 q2, q2, q3\n\t"
        "vand q3, q2, q5\n\t"
        "vshr.s32 q3, q3, #31\n\t"
        "vqadd.s32 q2, q2, q3\n\t"
        "vrshl.s32 q2, q2, q5\n\t"
        "ldr %[a0], %[ooff]\n\t"
        "vadd.i32 q2, q2, %[a0]\n\t"
        "vmax.s32 q2, q2, q6\n\t"
        "vmin.s32 q2, q2, q7\n\t"
        "vstrb.32 q2, [%[out]], #4\n\t"
        "ldr %[w0], %[wn]\n\t"
        "ldr %[a0], %[oend]\n\t"
        "cmp %[out], %[a0]\n\t"
        "bne 1b"
        : [a0] "=&Te"(a0), [a1] "=&Te"(a1), [a2] "=&Te"(a2), [a3] "=&Te"(a3), [x] "=&r"(x),
          [w1] "=&r"(w1), [w2] "=&r"(w2), [w3] "=&r"(w3), [w0] "+r"(w), [g] "+r"(g),
          [out] "+r"(out), [wn] "+m"(w_next)
        : [row] "m"(row), [k] "m"(k), [oend] "m"(out_end), [ooff] "m"(output_offset),
          [lo] "m"(act_min), [hi] "m"(act_max)
        : "q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "lr", "cc", "memory");
}

static inline int conv_2d_s8_mve(const conv_2d_params_t *p, const int8_t *input,
                                 const int8_t *filter, const int32_t *bias,
                                 const int32_t *multiplier, const int32_t *shift, int8_t *output)
{
    const int32_t k = p->k_h * p->k_w * p->in_c;
    const int direct = p->k_h == 1 && p->k_w == 1 && p->pad_h == 0 && p->pad_w == 0;
    /* zp fits int8: the input is int8 and input_offset = -zero_point. */
    const int8_t zp = (int8_t)(-p->input_offset);
    int8_t col[MVE_CONV_MAX_K] __attribute__((aligned(16)));
    mve_conv_group_t groups[MVE_CONV_CHUNK / 4] __attribute__((aligned(16)));
    int32_t constant[MVE_CONV_CHUNK] __attribute__((aligned(16)));
    int32_t c0, c, b, oy, ox;
    if (k > MVE_CONV_MAX_K || k <= 0) {
        return 0;
    }
    for (c0 = 0; c0 < p->out_c; c0 += MVE_CONV_CHUNK) {
        const int32_t cn = p->out_c - c0 < MVE_CONV_CHUNK ? p->out_c - c0 : MVE_CONV_CHUNK;
        const int8_t *w_chunk = filter + c0 * k;
        const int32_t *mult = multiplier + c0;
        /* |input_offset * sum w| <= 128 * k * 128, int32 for k <= 2048. */
        for (c = 0; c < cn; ++c) {
            constant[c] = p->input_offset * mve_sum_s8(w_chunk + c * k, k) +
                          (bias ? bias[c0 + c] : 0);
        }
        for (c = 0; c < (cn & ~3); ++c) {
            mve_conv_group_t *g = &groups[c / 4];
            g->constant[c % 4] = constant[c];
            g->multiplier[c % 4] = mult[c];
            g->left[c % 4] = shift[c0 + c] > 0 ? shift[c0 + c] : 0;
            g->neg_right[c % 4] = shift[c0 + c] > 0 ? 0 : shift[c0 + c];
        }
        for (b = 0; b < p->batches; ++b) {
            const int8_t *image = input + b * p->in_h * p->in_w * p->in_c;
            int8_t *out = output + b * p->out_h * p->out_w * p->out_c + c0;
            for (oy = 0; oy < p->out_h; ++oy) {
                const int32_t in_y0 = oy * p->stride_h - p->pad_h;
                for (ox = 0; ox < p->out_w; ++ox, out += p->out_c) {
                    const int32_t in_x0 = ox * p->stride_w - p->pad_w;
                    const int8_t *row;
                    if (direct) {
                        row = image + (in_y0 * p->in_w + in_x0) * p->in_c;
                    } else {
                        mve_conv_im2col(p, image, in_y0, in_x0, zp, col);
                        row = col;
                    }
                    c = cn & ~3;
                    if (c) {
                        mve_conv_pixel(row, k, w_chunk, groups, out, c / 4, p->output_offset,
                                       p->act_min, p->act_max);
                    }
                    if (c < cn) { /* 1..3 channels left: one inner product each */
                        int32_t tail[4] __attribute__((aligned(16))) = {0, 0, 0, 0};
                        int32_t j;
                        for (j = 0; c + j < cn; ++j) {
                            tail[j] = mve_dot1_s8(row, w_chunk + (c + j) * k, k) + constant[c + j];
                        }
                        mve_requantize_store_s8(out + c, vldrwq_s32(tail), mult + c, shift + c0 + c,
                                                p->output_offset, p->act_min, p->act_max, cn - c);
                    }
                }
            }
        }
    }
    return 1;
}
#endif /* REID_MVE */

#endif /* REID_KERNELS_MVE_CONV_2D_H */
