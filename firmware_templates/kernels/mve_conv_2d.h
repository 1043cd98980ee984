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
/* Stack use: MVE_CONV_MAX_K bytes of im2col row + 4 * MVE_CONV_CHUNK bytes of constants. */
#define MVE_CONV_MAX_K 2048
#define MVE_CONV_CHUNK 256

/* The receptive field of output pixel (b, oy, ox) into col, taps outside the input = zp. */
static inline void mve_conv_im2col(const conv_2d_params_t *p, const int8_t *input, int32_t b,
                                   int32_t oy, int32_t ox, int8_t zp, int8_t *col)
{
    const int32_t in_y0 = oy * p->stride_h - p->pad_h;
    const int32_t in_x0 = ox * p->stride_w - p->pad_w;
    const int32_t row_bytes = p->k_w * p->in_c;
    int32_t ky, kx;
    for (ky = 0; ky < p->k_h; ++ky, col += row_bytes) {
        const int32_t in_y = in_y0 + ky * p->dilation_h;
        const int8_t *src;
        if (in_y < 0 || in_y >= p->in_h) {
            mve_fill_s8(col, zp, row_bytes);
            continue;
        }
        src = input + ((int64_t)b * p->in_h + in_y) * p->in_w * p->in_c;
        if (p->dilation_w == 1) { /* the valid taps of a row are one contiguous run */
            int32_t lo = in_x0 < 0 ? -in_x0 : 0;
            int32_t hi = p->in_w - in_x0 < p->k_w ? p->in_w - in_x0 : p->k_w;
            if (hi < lo) {
                hi = lo;
            }
            if (lo > p->k_w) {
                lo = hi = p->k_w;
            }
            mve_fill_s8(col, zp, lo * p->in_c);
            mve_copy_s8(col + lo * p->in_c, src + (int64_t)(in_x0 + lo) * p->in_c,
                        (hi - lo) * p->in_c);
            mve_fill_s8(col + hi * p->in_c, zp, (p->k_w - hi) * p->in_c);
            continue;
        }
        for (kx = 0; kx < p->k_w; ++kx) {
            const int32_t in_x = in_x0 + kx * p->dilation_w;
            if (in_x < 0 || in_x >= p->in_w) {
                mve_fill_s8(col + kx * p->in_c, zp, p->in_c);
            } else {
                mve_copy_s8(col + kx * p->in_c, src + (int64_t)in_x * p->in_c, p->in_c);
            }
        }
    }
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
    int32_t constant[MVE_CONV_CHUNK] __attribute__((aligned(16)));
    int32_t c0, c, b, oy, ox;
    if (k > MVE_CONV_MAX_K || k <= 0) {
        return 0;
    }
    for (c0 = 0; c0 < p->out_c; c0 += MVE_CONV_CHUNK) {
        const int32_t cn = p->out_c - c0 < MVE_CONV_CHUNK ? p->out_c - c0 : MVE_CONV_CHUNK;
        const int8_t *w_chunk = filter + (int64_t)c0 * k;
        /* |input_offset * sum w| <= 128 * k * 128, int32 for k <= 2048. */
        for (c = 0; c < cn; ++c) {
            constant[c] = p->input_offset * mve_sum_s8(w_chunk + (int64_t)c * k, k) +
                          (bias ? bias[c0 + c] : 0);
        }
        for (b = 0; b < p->batches; ++b) {
            for (oy = 0; oy < p->out_h; ++oy) {
                for (ox = 0; ox < p->out_w; ++ox) {
                    const int8_t *row;
                    int8_t *out =
                        output + (((int64_t)b * p->out_h + oy) * p->out_w + ox) * p->out_c + c0;
                    if (direct) {
                        row = input + (((int64_t)b * p->in_h + oy * p->stride_h) * p->in_w +
                                       ox * p->stride_w) * p->in_c;
                    } else {
                        mve_conv_im2col(p, input, b, oy, ox, zp, col);
                        row = col;
                    }
                    for (c = 0; c + 4 <= cn; c += 4) {
                        const int32x4_t acc = vaddq_s32(mve_dot4_s8(row, w_chunk + (int64_t)c * k, k, k),
                                                        vldrwq_s32(constant + c));
                        mve_requantize_store_s8(out + c, acc, multiplier + c0 + c, shift + c0 + c,
                                                p->output_offset, p->act_min, p->act_max, 4);
                    }
                    if (c < cn) { /* 1..3 channels left: one inner product each */
                        int32_t tail[4] __attribute__((aligned(16))) = {0, 0, 0, 0};
                        int32_t j;
                        for (j = 0; c + j < cn; ++j) {
                            tail[j] = mve_dot1_s8(row, w_chunk + (int64_t)(c + j) * k, k) +
                                      constant[c + j];
                        }
                        mve_requantize_store_s8(out + c, vldrwq_s32(tail), multiplier + c0 + c,
                                                shift + c0 + c, p->output_offset, p->act_min,
                                                p->act_max, cn - c);
                    }
                }
            }
        }
    }
    return 1;
}
#endif /* REID_MVE */

#endif /* REID_KERNELS_MVE_CONV_2D_H */
