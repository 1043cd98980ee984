/* average_pool_2d.h: int8 AVERAGE_POOL_2D, NHWC (see average_pool_2d.c). */
#ifndef REID_KERNELS_AVERAGE_POOL_2D_H
#define REID_KERNELS_AVERAGE_POOL_2D_H

#include <stdint.h>
#include "pool_common.h"

void average_pool_2d_s8(const pool_params_t *p, const int8_t *input, int8_t *output);

#endif
