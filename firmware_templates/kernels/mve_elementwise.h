/* mve_elementwise.h: Helium (MVE) ADD and MUL, four int32 lanes per step, the reference
 * kernels' bits (add.c, mul.c).
 *
 * The code generator coalesces the broadcast shape (broadcast_shape_t) so that its innermost
 * dimension is as long as possible; the fast path then walks the three outer dimensions and
 * runs one row of dims[3] elements at a time, where each input is either contiguous (stride 1)
 * or one value for the whole row (stride 0: a scalar constant, or OSNet's channel gate
 * [1,1,1,C] against [1,H,W,C] after coalescing is rows of C with stride 1 in both). Other
 * strides decline (return 0, nothing written) and the reference loop runs.
 *
 * Bits: the same integer steps as the reference, lane for lane. ADD: (x + offset) << 20 (no
 * overflow: |x + offset| <= 255), requantized per input, the int32 sum, requantized again;
 * MUL: (x1 + o1) * (x2 + o2) (|.| <= 255 * 255), requantized. The requantization is the one
 * vector sequence of requantize.h (RQ_ASM), equal to requantize() on every lane. Then + output
 * offset, clamp to the activation range, narrowing byte stores. The rows are assembly loops
 * (DLSTP.32/LETP: the tail of a row is predicated by the loop, nothing past its end is read or
 * written; widening byte loads need low registers, constraint "l") because GCC 12 spills the
 * loop constants of the C version (15 instructions per element instead of 7); a one-value
 * input is computed once per row in C. */
#ifndef REID_KERNELS_MVE_ELEMENTWISE_H
#define REID_KERNELS_MVE_ELEMENTWISE_H

#include <stdint.h>

#include "broadcast.h"
#include "mve_s8.h"

#if REID_MVE
#include "requantize.h"

/* Pieces of the rows' assembly loops (operands named n, o, oo, lo, hi; the result in q0):
 * EW_LOOP runs DLSTP.32 over n elements; EW_LOAD(Q, P, OFF) loads 4 bytes from [P] widened to
 * int32 and adds OFF; EW_STORE adds the output offset, clamps to [lo, hi], stores 4 bytes to
 * [o] and closes the loop. */
#define EW_LOOP "dlstp.32 lr, %[n]\n1:\n\t"
#define EW_LOAD(Q, P, OFF) "vldrb.s32 " Q ", [%[" P "]], #4\n\tvadd.i32 " Q ", " Q ", %[" OFF "]\n\t"
#define EW_STORE                                                                               \
    "vadd.i32 q0, q0, %[oo]\n\t"                                                               \
    "vmax.s32 q0, q0, %q[lo]\n\t"                                                              \
    "vmin.s32 q0, q0, %q[hi]\n\t"                                                              \
    "vstrb.32 q0, [%[o]], #4\n\t"                                                              \
    "letp lr, 1b"

/* `rows` rows of n elements: row r reads in1 + r * step1 and in2 + r * step2, walking each
 * with stride inner1 / inner2 (1, or 0: one value for the row), and writes out + r * n. */
typedef void (*mve_rows_fn)(const void *params, const int8_t *in1, int32_t step1,
                            int32_t inner1, const int8_t *in2, int32_t step2, int32_t inner2,
                            int8_t *out, int32_t rows, int32_t n);

/* Walk the two outer dimensions of s and run `rows` on dims[2] rows of dims[3] each. Returns 0
 * (nothing written) unless both inner strides are 0 or 1, not both 0 with more than one
 * element. */
static inline int mve_broadcast_rows(mve_rows_fn rows, const void *params,
                                     const broadcast_shape_t *s, const int8_t *in1,
                                     const int8_t *in2, int8_t *out)
{
    const int32_t n = s->dims[3];
    int32_t i0, i1;
    if ((uint32_t)s->stride1[3] > 1u || (uint32_t)s->stride2[3] > 1u ||
        (n > 1 && s->stride1[3] == 0 && s->stride2[3] == 0)) {
        return 0;
    }
    for (i0 = 0; i0 < s->dims[0]; ++i0) {
        for (i1 = 0; i1 < s->dims[1]; ++i1) {
            rows(params, in1 + i0 * s->stride1[0] + i1 * s->stride1[1], s->stride1[2],
                 s->stride1[3], in2 + i0 * s->stride2[0] + i1 * s->stride2[1], s->stride2[2],
                 s->stride2[3], out, s->dims[2], n);
            out += s->dims[2] * n;
        }
    }
    return 1;
}
#endif /* REID_MVE */

#endif /* REID_KERNELS_MVE_ELEMENTWISE_H */
