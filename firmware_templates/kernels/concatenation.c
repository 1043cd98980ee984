/* concatenation.c: the oracle's reference Concatenation for tensors of one type and one
 * quantization (it refuses int8 inputs whose scale or zero point differ from the output's, and
 * the generator refuses every such case), so the bytes move unchanged: no arithmetic. */
#include <string.h>
#include "concatenation.h"

void concatenation_u8(const concatenation_params_t *p, const uint8_t *const *inputs,
                      uint8_t *output)
{
    int32_t outer, k;
    size_t pos = 0;
    for (outer = 0; outer < p->outer; ++outer) {
        for (k = 0; k < p->num_inputs; ++k) {
            const size_t n = (size_t)p->copy_bytes[k];
            memcpy(output + pos, inputs[k] + (size_t)outer * n, n);
            pos += n;
        }
    }
}
