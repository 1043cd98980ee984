/* add.h: int8 ADD with broadcasting (the oracle's quantized ADD: left shift 20, per-input
 * multipliers, then an output multiplier). */
#ifndef REID_KERNELS_ADD_H
#define REID_KERNELS_ADD_H

#include <stdint.h>
#include "broadcast.h"

typedef struct {
    int32_t input1_offset, input2_offset, output_offset, left_shift;
    int32_t input1_multiplier, input1_shift, input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift, act_min, act_max;
} add_params_t;

/* Bytes of arena scratch the Helium kernel uses for its scale tables (planned by the code
 * generator for ADDs of >= 512 elements on a Cortex-M55 target; toolchain/codegen reads this). */
#define ADD_SCRATCH_BYTES 2048
/* ...which it uses for rows of at least this many elements (per call). */
#define ADD_TABLE_MIN_ELEMENTS 512

/* scratch: ADD_SCRATCH_BYTES, 16-byte aligned, or NULL (no tables). */
void add_s8(const add_params_t *p, const broadcast_shape_t *s, const int8_t *input1,
            const int8_t *input2, int8_t *output, void *scratch);

#endif
