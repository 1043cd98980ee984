/* mean.c: reference int8 MEAN, the oracle's QuantizedMeanOrSum: the sum of (x - zp_in) over
 * the reduced axes, requantized by a multiplier that already folds the 1/n of the mean
 * (computed at generation time exactly like the oracle's prepare), plus zp_out, clamped.
 * Outputs are visited in row-major order of the kept dimensions.
 *
 * On Helium cores mean_s8 first tries mean_s8_mve (mve_mean.h, same bits) and runs this loop
 * when it declines. */
#include "mean.h"
#include "mve_mean.h"
#include "requantize.h"

void mean_s8(const mean_params_t *p, const int8_t *input, int8_t *output)
{
#if REID_MVE
    if (mean_s8_mve(p, input, output)) {
        return;
    }
#endif
    int32_t o[4];
    int32_t r[4];
    int32_t outer[4];
    int32_t inner[4];
    int32_t stride[4];
    int32_t k;
    int64_t out = 0;
    stride[3] = 1;
    for (k = 2; k >= 0; --k) {
        stride[k] = stride[k + 1] * p->dims[k + 1];
    }
    for (k = 0; k < 4; ++k) {
        outer[k] = p->reduced[k] ? 1 : p->dims[k];
        inner[k] = p->reduced[k] ? p->dims[k] : 1;
    }
    for (o[0] = 0; o[0] < outer[0]; ++o[0]) {
        for (o[1] = 0; o[1] < outer[1]; ++o[1]) {
            for (o[2] = 0; o[2] < outer[2]; ++o[2]) {
                for (o[3] = 0; o[3] < outer[3]; ++o[3]) {
                    /* |sum| <= n * 255: int32 for n < 2^23 elements reduced. */
                    int32_t sum = 0;
                    int32_t acc;
                    for (r[0] = 0; r[0] < inner[0]; ++r[0]) {
                        for (r[1] = 0; r[1] < inner[1]; ++r[1]) {
                            for (r[2] = 0; r[2] < inner[2]; ++r[2]) {
                                for (r[3] = 0; r[3] < inner[3]; ++r[3]) {
                                    const int64_t idx = (int64_t)(o[0] + r[0]) * stride[0] +
                                                        (int64_t)(o[1] + r[1]) * stride[1] +
                                                        (int64_t)(o[2] + r[2]) * stride[2] +
                                                        (int64_t)(o[3] + r[3]) * stride[3];
                                    sum += (int32_t)input[idx] - p->input_zero_point;
                                }
                            }
                        }
                    }
                    acc = requantize(sum, p->multiplier, p->shift) + p->output_zero_point;
                    output[out++] = (int8_t)rq_clamp(acc, -128, 127);
                }
            }
        }
    }
}
