/* conv_2d.c: reference int8 CONV_2D, the oracle's ConvPerChannel arithmetic.
 * Taps outside the input are skipped (the same as adding input zero points, which
 * contribute (zp + input_offset) * w = 0). On Helium cores conv_2d_s8 first tries the MVE
 * kernel (mve_conv_2d.h), which gives the same bits, and runs this loop when it declines. */
#include "conv_2d.h"
#include "dot_s8.h"
#include "mve_conv_2d.h"
#include "requantize.h"

static void conv_2d_s8_reference(const conv_2d_params_t *p, const int8_t *input, const int8_t *filter,
                const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                int8_t *output)
{
    int32_t b, oy, ox, oc, ky, kx;
    int32_t dot, sum_w;
    for (b = 0; b < p->batches; ++b) {
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t in_y0 = oy * p->stride_h - p->pad_h;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t in_x0 = ox * p->stride_w - p->pad_w;
                for (oc = 0; oc < p->out_c; ++oc) {
                    /* |acc| <= k_h*k_w*in_c * 255 * 128 + |bias|: int32 for any real layer. */
                    int32_t acc = 0;
                    for (ky = 0; ky < p->k_h; ++ky) {
                        const int32_t in_y = in_y0 + ky * p->dilation_h;
                        if (in_y < 0 || in_y >= p->in_h) {
                            continue;
                        }
                        for (kx = 0; kx < p->k_w; ++kx) {
                            const int32_t in_x = in_x0 + kx * p->dilation_w;
                            const int8_t *in_px;
                            const int8_t *w_px;
                            if (in_x < 0 || in_x >= p->in_w) {
                                continue;
                            }
                            in_px = input + (((int64_t)b * p->in_h + in_y) * p->in_w + in_x) * p->in_c;
                            w_px = filter + (((int64_t)oc * p->k_h + ky) * p->k_w + kx) * p->in_c;
                            /* sum (x + off) * w = sum x * w + off * sum w */
                            dot_s8(in_px, w_px, p->in_c, &dot, &sum_w);
                            acc += dot + p->input_offset * sum_w;
                        }
                    }
                    if (bias) {
                        acc += bias[oc];
                    }
                    acc = requantize(acc, multiplier[oc], shift[oc]) + p->output_offset;
                    output[(((int64_t)b * p->out_h + oy) * p->out_w + ox) * p->out_c + oc] =
                        (int8_t)rq_clamp(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}

void conv_2d_s8(const conv_2d_params_t *p, const int8_t *input, const int8_t *filter,
                const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                int8_t *output, void *scratch)
{
#if REID_MVE
    if (conv_2d_s8_mve(p, input, filter, bias, multiplier, shift, output, scratch)) {
        return;
    }
#else
    (void)scratch;
#endif
    conv_2d_s8_reference(p, input, filter, bias, multiplier, shift, output);
}
