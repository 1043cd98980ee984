/* broadcast.h: the 4-D broadcast shape shared by the binary elementwise kernels (ADD, SUB, MUL).
 * Python computes the strides: a broadcast dimension has stride 0 in that input. */
#ifndef REID_KERNELS_BROADCAST_H
#define REID_KERNELS_BROADCAST_H

#include <stdint.h>

typedef struct {
    int32_t dims[4];       /* output dims, outermost first */
    int32_t stride1[4];    /* input 1 element strides per output dim (0 = broadcast) */
    int32_t stride2[4];    /* input 2 element strides per output dim (0 = broadcast) */
} broadcast_shape_t;

#endif
