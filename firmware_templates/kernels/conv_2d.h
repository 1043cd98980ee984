/* conv_2d.h: int8 2-D convolution with per-channel requantization (TFLite CONV_2D). */
#ifndef REID_KERNELS_CONV_2D_H
#define REID_KERNELS_CONV_2D_H

#include <stdint.h>

typedef struct {
    int32_t batches, in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w;
    int32_t input_offset, output_offset, act_min, act_max;
} conv_2d_params_t;

/* Bytes of arena scratch the Helium kernel uses (the code generator plans them for each CONV_2D
 * of a Cortex-M55 target; toolchain/codegen reads this line). */
#define CONV_2D_SCRATCH_BYTES 23552

/* input NHWC, filter [out_c][k_h][k_w][in_c], bias [out_c] or NULL, multiplier/shift [out_c];
 * scratch: CONV_2D_SCRATCH_BYTES, 16-byte aligned, or NULL (then the portable loop runs). */
void conv_2d_s8(const conv_2d_params_t *p, const int8_t *input, const int8_t *filter,
                const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                int8_t *output, void *scratch);

#endif
