/* concatenation.h: CONCATENATION of N tensors along one axis, as bytes (see concatenation.c). */
#ifndef REID_KERNELS_CONCATENATION_H
#define REID_KERNELS_CONCATENATION_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t num_inputs;
    int32_t outer;              /* product of the dimensions before the axis */
    const int32_t *copy_bytes;  /* per input: its axis dimension x the inner dimensions x itemsize */
} concatenation_params_t;

/* output = the inputs' blocks interleaved: for each outer index, input 0's block, then
 * input 1's... Inputs must not overlap the output. */
void concatenation_u8(const concatenation_params_t *p, const uint8_t *const *inputs,
                      uint8_t *output);

#endif
