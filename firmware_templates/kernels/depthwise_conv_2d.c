/* depthwise_conv_2d.c: reference int8 DEPTHWISE_CONV_2D, the oracle's DepthwiseConvPerChannel.
 * On Helium cores depthwise_conv_2d_s8 first tries the MVE kernel (mve_depthwise_conv_2d.h),
 * which gives the same bits, and runs this loop when it declines. */
#include "depthwise_conv_2d.h"
#include "mve_depthwise_conv_2d.h"
#include "requantize.h"

static void depthwise_conv_2d_s8_reference(const depthwise_conv_2d_params_t *p, const int8_t *input,
                          const int8_t *filter, const int32_t *bias, const int32_t *multiplier,
                          const int32_t *shift, int8_t *output)
{
    const int32_t out_c = p->in_c * p->depth_multiplier;
    int32_t b, oy, ox, ic, m, ky, kx;
    for (b = 0; b < p->batches; ++b) {
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t in_y0 = oy * p->stride_h - p->pad_h;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t in_x0 = ox * p->stride_w - p->pad_w;
                for (ic = 0; ic < p->in_c; ++ic) {
                    for (m = 0; m < p->depth_multiplier; ++m) {
                        const int32_t oc = ic * p->depth_multiplier + m;
                        /* |acc| <= k_h*k_w * 255 * 128 + |bias|. */
                        int32_t acc = 0;
                        for (ky = 0; ky < p->k_h; ++ky) {
                            const int32_t in_y = in_y0 + ky * p->dilation_h;
                            if (in_y < 0 || in_y >= p->in_h) {
                                continue;
                            }
                            for (kx = 0; kx < p->k_w; ++kx) {
                                const int32_t in_x = in_x0 + kx * p->dilation_w;
                                int32_t x;
                                int32_t w;
                                if (in_x < 0 || in_x >= p->in_w) {
                                    continue;
                                }
                                x = input[(((int64_t)b * p->in_h + in_y) * p->in_w + in_x) * p->in_c + ic];
                                w = filter[((int64_t)ky * p->k_w + kx) * out_c + oc];
                                acc += (x + p->input_offset) * w;
                            }
                        }
                        if (bias) {
                            acc += bias[oc];
                        }
                        acc = requantize(acc, multiplier[oc], shift[oc]) + p->output_offset;
                        output[(((int64_t)b * p->out_h + oy) * p->out_w + ox) * out_c + oc] =
                            (int8_t)rq_clamp(acc, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}

void depthwise_conv_2d_s8(const depthwise_conv_2d_params_t *p, const int8_t *input,
                          const int8_t *filter, const int32_t *bias, const int32_t *multiplier,
                          const int32_t *shift, int8_t *output, void *scratch)
{
#if REID_MVE
    if (depthwise_conv_2d_s8_mve(p, input, filter, bias, multiplier, shift, output, scratch)) {
        return;
    }
#else
    (void)scratch;
#endif
    depthwise_conv_2d_s8_reference(p, input, filter, bias, multiplier, shift, output);
}
