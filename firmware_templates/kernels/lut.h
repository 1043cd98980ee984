/* lut.h: elementwise int8 -> int8 ops as a 256-entry table built at generation time
 * (LOGISTIC, TANH, HARD_SWISH, RELU, RELU6...: see toolchain/codegen/ops/lut.py). */
#ifndef REID_KERNELS_LUT_H
#define REID_KERNELS_LUT_H

#include <stddef.h>
#include <stdint.h>

/* output[i] = table[input[i] + 128] */
void lut_s8(const int8_t *table, const int8_t *input, int8_t *output, size_t n);

#endif
