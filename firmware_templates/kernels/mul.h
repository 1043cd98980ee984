/* mul.h: int8 MUL with broadcasting (one combined multiplier in1_scale*in2_scale/out_scale). */
#ifndef REID_KERNELS_MUL_H
#define REID_KERNELS_MUL_H

#include <stdint.h>
#include "broadcast.h"

typedef struct {
    int32_t input1_offset, input2_offset, output_offset;
    int32_t output_multiplier, output_shift, act_min, act_max;
} mul_params_t;

void mul_s8(const mul_params_t *p, const broadcast_shape_t *s, const int8_t *input1,
            const int8_t *input2, int8_t *output);

#endif
