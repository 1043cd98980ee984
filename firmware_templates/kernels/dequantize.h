/* dequantize.h: DEQUANTIZE int8/uint8 -> float32. */
#ifndef REID_KERNELS_DEQUANTIZE_H
#define REID_KERNELS_DEQUANTIZE_H

#include <stddef.h>
#include <stdint.h>

void dequantize_to_float(const void *input, int in_uint8, int32_t zero_point, double scale,
                         float *output, size_t n);

#endif
