/* quantize.c: reference QUANTIZE. Integer input: (x - zp_in) requantized + zp_out, clamped
 * (the oracle's Requantize). Float input: round(x / scale) + zp, rounding half away from zero
 * in float32, clamped (the oracle's AffineQuantize). */
#include <math.h>
#include "quantize.h"
#include "requantize.h"

void quantize_int(const quantize_params_t *p, const void *input, int in_uint8, void *output,
                  int out_uint8, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) {
        const int32_t x = in_uint8 ? (int32_t)((const uint8_t *)input)[i]
                                   : (int32_t)((const int8_t *)input)[i];
        int32_t y = requantize(x - p->input_zero_point, p->multiplier, p->shift) + p->output_zero_point;
        y = rq_clamp(y, p->output_min, p->output_max);
        if (out_uint8) {
            ((uint8_t *)output)[i] = (uint8_t)y;
        } else {
            ((int8_t *)output)[i] = (int8_t)y;
        }
    }
}

void quantize_float(const quantize_params_t *p, const float *input, void *output, int out_uint8,
                    size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) {
        const float q = roundf(input[i] / p->output_scale);
        /* clamp in float first: (int32_t) of an out-of-range float is undefined. */
        const float lo = (float)(p->output_min - p->output_zero_point);
        const float hi = (float)(p->output_max - p->output_zero_point);
        int32_t y = (int32_t)(q < lo ? lo : (q > hi ? hi : q)) + p->output_zero_point;
        y = rq_clamp(y, p->output_min, p->output_max);
        if (out_uint8) {
            ((uint8_t *)output)[i] = (uint8_t)y;
        } else {
            ((int8_t *)output)[i] = (int8_t)y;
        }
    }
}
