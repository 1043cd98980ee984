/* pad.h: PAD / PADV2 of a tensor of rank <= 4 with one-byte elements (see pad.c). */
#ifndef REID_KERNELS_PAD_H
#define REID_KERNELS_PAD_H

#include <stdint.h>

typedef struct {
    int32_t in_dims[4];   /* rank extended to 4 (leading 1s) */
    int32_t out_dims[4];
    int32_t before[4];    /* padding before each dimension */
    int32_t pad_value;    /* the byte written into padded positions */
} pad_params_t;

void pad_u8(const pad_params_t *p, const uint8_t *input, uint8_t *output);

#endif
