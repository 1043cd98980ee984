/* mve_depthwise_conv_2d.h: DEPTHWISE_CONV_2D (depth multiplier 1) on Helium (MVE), the same
 * bits as the reference loop in depthwise_conv_2d.c.
 *
 * Channels are the vector lanes: per tap, 8 channels of input and filter are loaded widened to
 * int16 and multiplied into int32 products (VMULLB: even channels, VMULLT: odd channels; an
 * int8 product fits int16), added to int32 accumulators; 16 channels per step, then 8, then
 * 4-lane predicated steps for the last 1..7 channels. For each output
 * pixel a table holds each tap's input pixel, or a row of input zero points for taps outside
 * the input, so
 *     acc[c] = sum x * w + input_offset * sum w + bias[c]
 * equals the reference's sum over valid taps of (x + input_offset) * w + bias: a padded tap
 * holds x = -input_offset and contributes 0. The per-channel constant input_offset * sum w +
 * bias is computed once per call. Requantization: requantize_x4, four channels at a time.
 *
 * depthwise_conv_2d_s8_mve() returns 0 without writing when the layer is outside its bounds
 * (depth multiplier != 1, more than MVE_DW_MAX_TAPS taps or MVE_DW_MAX_C channels); the caller
 * then runs the reference loop. */
#ifndef REID_KERNELS_MVE_DEPTHWISE_CONV_2D_H
#define REID_KERNELS_MVE_DEPTHWISE_CONV_2D_H

#include "depthwise_conv_2d.h"
#include "mve_s8.h"

#if REID_MVE
/* Stack use: MVE_DW_MAX_C * 5 bytes (constants and the zero-point row) + the tap table. */
#define MVE_DW_MAX_C 1024
#define MVE_DW_MAX_TAPS 64

/* Eight channels c..c+7 from accumulators of the even (c, c+2, ..) and odd channels, as VMULLB
 * and VMULLT leave them: multipliers and shifts gathered the same way, bytes scattered back. */
static inline void mve_dw_store8(int8_t *out, int32x4_t even, int32x4_t odd,
                                 const int32_t *multiplier, const int32_t *shift,
                                 const depthwise_conv_2d_params_t *p)
{
    const uint32x4_t lanes = vidupq_n_u32(0, 2); /* 0, 2, 4, 6 */
    const int32x4_t lo = vdupq_n_s32(p->act_min);
    const int32x4_t hi = vdupq_n_s32(p->act_max);
    int32x4_t v;
    v = requantize_x4(even, vldrwq_gather_shifted_offset_s32(multiplier, lanes),
                      vldrwq_gather_shifted_offset_s32(shift, lanes));
    v = vminq_s32(vmaxq_s32(vaddq_n_s32(v, p->output_offset), lo), hi);
    vstrbq_scatter_offset_s32(out, lanes, v);
    v = requantize_x4(odd, vldrwq_gather_shifted_offset_s32(multiplier + 1, lanes),
                      vldrwq_gather_shifted_offset_s32(shift + 1, lanes));
    v = vminq_s32(vmaxq_s32(vaddq_n_s32(v, p->output_offset), lo), hi);
    vstrbq_scatter_offset_s32(out + 1, lanes, v);
}

static inline int depthwise_conv_2d_s8_mve(const depthwise_conv_2d_params_t *p,
                                           const int8_t *input, const int8_t *filter,
                                           const int32_t *bias, const int32_t *multiplier,
                                           const int32_t *shift, int8_t *output)
{
    const int32_t ch = p->in_c;
    const int32_t taps = p->k_h * p->k_w;
    int32_t constant[MVE_DW_MAX_C] __attribute__((aligned(16)));
    int8_t pad_row[MVE_DW_MAX_C] __attribute__((aligned(16)));
    const int8_t *tap[MVE_DW_MAX_TAPS];
    int32_t b, oy, ox, ky, kx, t, c;
    if (p->depth_multiplier != 1 || taps > MVE_DW_MAX_TAPS || ch > MVE_DW_MAX_C || ch <= 0) {
        return 0;
    }
    mve_fill_s8(pad_row, (int8_t)(-p->input_offset), ch);
    for (c = 0; c < ch; ++c) { /* |input_offset * sum w| <= 128 * taps * 128 */
        /* full groups of 8 channels keep even channels in lanes 0..3, odd ones in 4..7 */
        const int32_t at = c < (ch & ~7) ? (c & ~7) + (c & 1) * 4 + (c & 7) / 2 : c;
        int32_t s = 0;
        for (t = 0; t < taps; ++t) {
            s += filter[(int64_t)t * ch + c];
        }
        constant[at] = p->input_offset * s + (bias ? bias[c] : 0);
    }
    for (b = 0; b < p->batches; ++b) {
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t in_y0 = oy * p->stride_h - p->pad_h;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t in_x0 = ox * p->stride_w - p->pad_w;
                int8_t *out = output + (((int64_t)b * p->out_h + oy) * p->out_w + ox) * ch;
                for (ky = 0, t = 0; ky < p->k_h; ++ky) {
                    const int32_t in_y = in_y0 + ky * p->dilation_h;
                    for (kx = 0; kx < p->k_w; ++kx, ++t) {
                        const int32_t in_x = in_x0 + kx * p->dilation_w;
                        tap[t] = (in_y < 0 || in_y >= p->in_h || in_x < 0 || in_x >= p->in_w)
                                     ? pad_row
                                     : input + (((int64_t)b * p->in_h + in_y) * p->in_w + in_x) * ch;
                    }
                }
                for (c = 0; c + 16 <= ch; c += 16) {
                    int32x4_t e0 = vldrwq_s32(constant + c);
                    int32x4_t o0 = vldrwq_s32(constant + c + 4);
                    int32x4_t e1 = vldrwq_s32(constant + c + 8);
                    int32x4_t o1 = vldrwq_s32(constant + c + 12);
                    const int8_t *w = filter + c;
                    for (t = 0; t < taps; ++t, w += ch) {
                        const int16x8_t x0 = vldrbq_s16(tap[t] + c);
                        const int16x8_t x1 = vldrbq_s16(tap[t] + c + 8);
                        const int16x8_t w0 = vldrbq_s16(w);
                        const int16x8_t w1 = vldrbq_s16(w + 8);
                        e0 = vaddq_s32(e0, vmullbq_int_s16(x0, w0));
                        o0 = vaddq_s32(o0, vmulltq_int_s16(x0, w0));
                        e1 = vaddq_s32(e1, vmullbq_int_s16(x1, w1));
                        o1 = vaddq_s32(o1, vmulltq_int_s16(x1, w1));
                    }
                    mve_dw_store8(out + c, e0, o0, multiplier + c, shift + c, p);
                    mve_dw_store8(out + c + 8, e1, o1, multiplier + c + 8, shift + c + 8, p);
                }
                for (; c + 8 <= ch; c += 8) {
                    int32x4_t e0 = vldrwq_s32(constant + c);
                    int32x4_t o0 = vldrwq_s32(constant + c + 4);
                    const int8_t *w = filter + c;
                    for (t = 0; t < taps; ++t, w += ch) {
                        const int16x8_t x0 = vldrbq_s16(tap[t] + c);
                        const int16x8_t w0 = vldrbq_s16(w);
                        e0 = vaddq_s32(e0, vmullbq_int_s16(x0, w0));
                        o0 = vaddq_s32(o0, vmulltq_int_s16(x0, w0));
                    }
                    mve_dw_store8(out + c, e0, o0, multiplier + c, shift + c, p);
                }
                for (; c < ch; c += 4) { /* the last 1..7 channels, 4 lanes at a time */
                    const mve_pred16_t pr = vctp32q((uint32_t)(ch - c));
                    int32x4_t a = vldrwq_z_s32(constant + c, pr);
                    const int8_t *w = filter + c;
                    for (t = 0; t < taps; ++t, w += ch) {
                        a = vaddq_s32(a, vmulq_s32(vldrbq_z_s32(tap[t] + c, pr), vldrbq_z_s32(w, pr)));
                    }
                    mve_requantize_store_s8(out + c, a, multiplier + c, shift + c,
                                            p->output_offset, p->act_min, p->act_max, ch - c);
                }
            }
        }
    }
    return 1;
}
#endif /* REID_MVE */

#endif /* REID_KERNELS_MVE_DEPTHWISE_CONV_2D_H */
