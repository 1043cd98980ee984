/* sub.h: int8 SUB with broadcasting (the oracle's quantized SUB: left shift 20, per-input
 * multipliers, then an output multiplier). */
#ifndef REID_KERNELS_SUB_H
#define REID_KERNELS_SUB_H

#include <stdint.h>
#include "broadcast.h"

typedef struct {
    int32_t input1_offset, input2_offset, output_offset, left_shift;
    int32_t input1_multiplier, input1_shift, input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift, act_min, act_max;
} sub_params_t;

void sub_s8(const sub_params_t *p, const broadcast_shape_t *s, const int8_t *input1,
            const int8_t *input2, int8_t *output);

#endif
