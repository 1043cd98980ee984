/* pool.h: int8 MAX_POOL_2D and AVERAGE_POOL_2D, NHWC (see pool.c). */
#ifndef REID_KERNELS_POOL_H
#define REID_KERNELS_POOL_H

#include <stdint.h>

typedef struct {
    int32_t batches, in_h, in_w, channels, out_h, out_w;
    int32_t filter_h, filter_w, stride_h, stride_w, pad_h, pad_w;
    int32_t act_min, act_max;  /* the fused activation's clamp, in output units */
} pool_params_t;

void max_pool_s8(const pool_params_t *p, const int8_t *input, int8_t *output);
void average_pool_s8(const pool_params_t *p, const int8_t *input, int8_t *output);

#endif
