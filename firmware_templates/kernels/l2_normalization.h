/* l2_normalization.h: int8 L2_NORMALIZATION over the last dimension (see l2_normalization.c). */
#ifndef REID_KERNELS_L2_NORMALIZATION_H
#define REID_KERNELS_L2_NORMALIZATION_H

#include <stdint.h>

typedef struct {
    int32_t outer;             /* number of vectors */
    int32_t depth;             /* elements per vector (the last dimension), <= 2^16 */
    int32_t input_zero_point;
} l2_normalization_params_t;

/* Output scale 1/128, zero point 0 (the oracle's prepare demands it). In place is allowed. */
void l2_normalization_s8(const l2_normalization_params_t *p, const int8_t *input,
                         int8_t *output);

#endif
