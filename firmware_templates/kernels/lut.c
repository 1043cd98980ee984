/* lut.c: one table lookup per element; the table holds the oracle's own outputs for the 256
 * possible inputs, so the result is its bytes by construction. In place is allowed. */
#include "lut.h"

void lut_s8(const int8_t *table, const int8_t *input, int8_t *output, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) {
        output[i] = table[(int32_t)input[i] + 128];
    }
}
