/* dot_s8.h: the inner products of the convolution and fully connected kernels.
 *
 * dot_s8(a, b, n, &dot, &sum_b): dot = sum a[i] * b[i], sum_b = sum b[i], exact int32 sums
 * (callers bound n so they cannot overflow). With Helium (MVE: Cortex-M55 boards) 16 int8
 * lanes per VMLADAVA and VADDVA, the tail handled by predication (VCTP8); otherwise scalar C.
 * Integer sums are exact, so both paths give the same bits. -DREID_REFERENCE_KERNELS forces
 * the scalar path (benchmarks/m55_kernels.py compares the two). */
#ifndef REID_KERNELS_DOT_S8_H
#define REID_KERNELS_DOT_S8_H

#include <stdint.h>

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && !defined(REID_REFERENCE_KERNELS)
#include <arm_mve.h>

static inline void dot_s8(const int8_t *a, const int8_t *b, int32_t n, int32_t *dot,
                          int32_t *sum_b)
{
    int32_t d = 0;
    int32_t s = 0;
    while (n > 0) {
        const mve_pred16_t p = vctp8q((uint32_t)n);
        const int8x16_t va = vldrbq_z_s8(a, p);
        const int8x16_t vb = vldrbq_z_s8(b, p);
        d = vmladavaq_s8(d, va, vb); /* inactive lanes were loaded as 0 */
        s = vaddvaq_s8(s, vb);
        a += 16;
        b += 16;
        n -= 16;
    }
    *dot = d;
    *sum_b = s;
}
#else
static inline void dot_s8(const int8_t *a, const int8_t *b, int32_t n, int32_t *dot,
                          int32_t *sum_b)
{
    int32_t d = 0;
    int32_t s = 0;
    int32_t i;
    for (i = 0; i < n; ++i) {
        d += (int32_t)a[i] * (int32_t)b[i];
        s += b[i];
    }
    *dot = d;
    *sum_b = s;
}
#endif

#endif /* REID_KERNELS_DOT_S8_H */
