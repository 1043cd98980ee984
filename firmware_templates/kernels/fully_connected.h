/* fully_connected.h: int8 FULLY_CONNECTED, per-tensor or per-channel requantization. */
#ifndef REID_KERNELS_FULLY_CONNECTED_H
#define REID_KERNELS_FULLY_CONNECTED_H

#include <stdint.h>

typedef struct {
    int32_t batches, accum_depth, out_depth;
    int32_t input_offset, filter_offset, output_offset, act_min, act_max;
    int32_t per_channel; /* 1: scale holds out_depth entries, 0: one entry */
} fully_connected_params_t;

/* input [batches][accum_depth], filter [out_depth][accum_depth], bias [out_depth] or NULL;
 * scale: s_in * s_w / s_out per channel (requantize_fc). */
void fully_connected_s8(const fully_connected_params_t *p, const int8_t *input,
                        const int8_t *filter, const int32_t *bias, const double *scale,
                        int8_t *output);

#endif
