/* pool_common.h: what MAX_POOL_2D and AVERAGE_POOL_2D share (int8, NHWC): the parameters and
 * the clipping of a window to the image (padded taps are never read). Input and output share
 * one quantization (the converter guarantees it; the generator checks it), so neither kernel
 * requantizes. */
#ifndef REID_KERNELS_POOL_COMMON_H
#define REID_KERNELS_POOL_COMMON_H

#include <stdint.h>

typedef struct {
    int32_t batches, in_h, in_w, channels, out_h, out_w;
    int32_t filter_h, filter_w, stride_h, stride_w, pad_h, pad_w;
    int32_t act_min, act_max;  /* the fused activation's clamp, in output units */
} pool_params_t;

/* The part [*lo, *hi) of a window of `filter` taps starting at `start` (may be negative, in
 * the padding) that lies inside 0..size-1. */
static inline void pool_clip(int32_t start, int32_t filter, int32_t size, int32_t *lo,
                             int32_t *hi)
{
    *lo = start < 0 ? -start : 0;
    *hi = size - start < filter ? size - start : filter;
}

static inline int32_t pool_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

#endif
