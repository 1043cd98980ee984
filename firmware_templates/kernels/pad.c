/* pad.c: PAD for one-byte elements (int8/uint8 share the byte copy). Output positions inside
 * the input's box take the input byte, the others the pad value (the output zero point for
 * PAD, the constant for PADV2: the generator decides). */
#include "pad.h"

void pad_u8(const pad_params_t *p, const uint8_t *input, uint8_t *output)
{
    int32_t o[4];
    int64_t out = 0;
    for (o[0] = 0; o[0] < p->out_dims[0]; ++o[0]) {
        for (o[1] = 0; o[1] < p->out_dims[1]; ++o[1]) {
            for (o[2] = 0; o[2] < p->out_dims[2]; ++o[2]) {
                for (o[3] = 0; o[3] < p->out_dims[3]; ++o[3]) {
                    int32_t k;
                    int inside = 1;
                    int64_t idx = 0;
                    for (k = 0; k < 4; ++k) {
                        const int32_t i = o[k] - p->before[k];
                        if (i < 0 || i >= p->in_dims[k]) {
                            inside = 0;
                            break;
                        }
                        idx = idx * p->in_dims[k] + i;
                    }
                    output[out++] = inside ? input[idx] : (uint8_t)p->pad_value;
                }
            }
        }
    }
}
