/* dequantize.c: reference DEQUANTIZE: (float)(scale * (x - zp)) with the product in double,
 * as the oracle computes it (exact, then one rounding to float32). */
#include "dequantize.h"

void dequantize_to_float(const void *input, int in_uint8, int32_t zero_point, double scale,
                         float *output, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) {
        const int32_t x = in_uint8 ? (int32_t)((const uint8_t *)input)[i]
                                   : (int32_t)((const int8_t *)input)[i];
        output[i] = (float)(scale * (double)(x - zero_point));
    }
}
