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
 * overflow: |x + offset| <= 255), requantize_x4_split per input, the int32 sum, requantized
 * again; MUL: (x1 + o1) * (x2 + o2) (|.| <= 255 * 255), requantized. requantize_x4_n is the
 * one vector requantization (requantize.h) with scalar parameters, equal to requantize() on
 * every lane. Then + output
 * offset, clamp to the activation range, narrowing byte stores; the tail of a row is
 * predicated (VCTP), so nothing past its end is read or written. A one-value input is computed
 * once per row with the scalar requantize(). */
#ifndef REID_KERNELS_MVE_ELEMENTWISE_H
#define REID_KERNELS_MVE_ELEMENTWISE_H

#include <stdint.h>

#include "broadcast.h"
#include "mve_s8.h"

#if REID_MVE
#include "requantize.h"

/* One requantization's parameters as requantize_x4_n takes them: multiplier,
 * left = max(shift, 0), neg_right = min(shift, 0). */
typedef struct {
    int32_t multiplier, left, neg_right;
} mve_rq_t;

static inline mve_rq_t mve_rq(int32_t multiplier, int32_t shift)
{
    mve_rq_t r;
    r.multiplier = multiplier;
    r.left = shift > 0 ? shift : 0;
    r.neg_right = shift < 0 ? shift : 0;
    return r;
}

static inline int32x4_t mve_rq_apply(int32x4_t x, const mve_rq_t *r)
{
    return requantize_x4_n(x, r->multiplier, r->left, r->neg_right);
}

/* clamp(v + offset, lo, hi) stored as bytes to the active lanes. */
static inline void mve_store_clamped(int8_t *out, int32x4_t v, int32_t offset, int32_t lo,
                                     int32_t hi, mve_pred16_t pred)
{
    v = vaddq_n_s32(v, offset);
    v = vmaxq_s32(v, vdupq_n_s32(lo));
    v = vminq_s32(v, vdupq_n_s32(hi));
    vstrbq_p_s32(out, v, pred);
}

/* A row: in1/in2 advance by stride1/stride2 (0 or 1) per element, n elements. */
typedef void (*mve_row_fn)(const void *params, const int8_t *in1, int32_t stride1,
                           const int8_t *in2, int32_t stride2, int8_t *out, int32_t n);

/* Walk the three outer dimensions of s and run `row` on each innermost row. Returns 0 (nothing
 * written) unless both inner strides are 0 or 1, not both 0 with more than one element. */
static inline int mve_broadcast_rows(mve_row_fn row, const void *params,
                                     const broadcast_shape_t *s, const int8_t *in1,
                                     const int8_t *in2, int8_t *out)
{
    const int32_t n = s->dims[3];
    int32_t i0, i1, i2;
    if ((uint32_t)s->stride1[3] > 1u || (uint32_t)s->stride2[3] > 1u ||
        (n > 1 && s->stride1[3] == 0 && s->stride2[3] == 0)) {
        return 0;
    }
    for (i0 = 0; i0 < s->dims[0]; ++i0) {
        for (i1 = 0; i1 < s->dims[1]; ++i1) {
            for (i2 = 0; i2 < s->dims[2]; ++i2) {
                const int32_t a = i0 * s->stride1[0] + i1 * s->stride1[1] + i2 * s->stride1[2];
                const int32_t b = i0 * s->stride2[0] + i1 * s->stride2[1] + i2 * s->stride2[2];
                row(params, in1 + a, s->stride1[3], in2 + b, s->stride2[3], out, n);
                out += n;
            }
        }
    }
    return 1;
}
#endif /* REID_MVE */

#endif /* REID_KERNELS_MVE_ELEMENTWISE_H */
