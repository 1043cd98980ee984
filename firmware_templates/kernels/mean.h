/* mean.h: int8 MEAN over any set of axes of a tensor of rank <= 4 (see mean.c). */
#ifndef REID_KERNELS_MEAN_H
#define REID_KERNELS_MEAN_H

#include <stdint.h>

typedef struct {
    int32_t dims[4];      /* input dims, rank extended to 4 */
    int32_t reduced[4];   /* 1 where the axis is reduced */
    int32_t input_zero_point, output_zero_point;
    int32_t multiplier, shift;  /* (input_scale / output_scale) / n folded by the generator */
} mean_params_t;

void mean_s8(const mean_params_t *p, const int8_t *input, int8_t *output);

#endif
