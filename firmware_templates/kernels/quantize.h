/* quantize.h: QUANTIZE: int8/uint8 -> int8/uint8 requantization, or float32 -> int8/uint8. */
#ifndef REID_KERNELS_QUANTIZE_H
#define REID_KERNELS_QUANTIZE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t input_zero_point, output_zero_point;
    int32_t multiplier, shift;          /* integer input: input_scale / output_scale */
    int32_t output_min, output_max;     /* -128..127 (int8) or 0..255 (uint8) */
    float output_scale;                 /* float input */
} quantize_params_t;

/* Integer input: in_uint8 / out_uint8 choose the element types. */
void quantize_int(const quantize_params_t *p, const void *input, int in_uint8, void *output,
                  int out_uint8, size_t n);
void quantize_float(const quantize_params_t *p, const float *input, void *output, int out_uint8,
                    size_t n);

#endif
