/* mve_s8.h: building blocks of the Helium (MVE) kernels (Cortex-M55 boards).
 *
 * REID_MVE is 1 when the compiler targets a core with integer Helium (`-mcpu=cortex-m55`
 * defines __ARM_FEATURE_MVE) and -DREID_REFERENCE_KERNELS is not given, else 0: the kernels
 * then keep only their portable C. Every block here computes exact integer sums, so a fast
 * kernel built from them gives the reference kernel's bits (docs/m55_kernels.md says how each
 * step matches and how the tests check it on qemu-m55).
 *
 * Loads of a partial 16-byte chunk are predicated (VCTP): inactive lanes read no memory and
 * hold 0, so no kernel reads past the end of a tensor. */
#ifndef REID_KERNELS_MVE_S8_H
#define REID_KERNELS_MVE_S8_H

#include <stdint.h>

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && !defined(REID_REFERENCE_KERNELS)
#define REID_MVE 1
#else
#define REID_MVE 0
#endif

#if REID_MVE
#include <arm_mve.h>

#include "requantize.h"

/* Copy n >= 0 bytes: a tail-predicated loop (WLSTP skips it for n = 0), three instructions per
 * 16 bytes. */
static inline void mve_copy_s8(int8_t *dst, const int8_t *src, int32_t n)
{
    __asm__ volatile("wlstp.8 lr, %[n], 2f\n"
                     "1:\n\t"
                     "vldrb.8 q0, [%[src]], #16\n\t"
                     "vstrb.8 q0, [%[dst]], #16\n\t"
                     "letp lr, 1b\n"
                     "2:"
                     : [src] "+r"(src), [dst] "+r"(dst)
                     : [n] "r"(n)
                     : "q0", "lr", "memory");
}

/* Set n >= 0 bytes to value. */
static inline void mve_fill_s8(int8_t *dst, int8_t value, int32_t n)
{
    const int8x16_t v = vdupq_n_s8(value);
    __asm__ volatile("wlstp.8 lr, %[n], 2f\n"
                     "1:\n\t"
                     "vstrb.8 %q[v], [%[dst]], #16\n\t"
                     "letp lr, 1b\n"
                     "2:"
                     : [dst] "+r"(dst)
                     : [n] "r"(n), [v] "w"(v)
                     : "lr", "memory");
}

/* sum of w[0..n). |sum| <= n * 128. */
static inline int32_t mve_sum_s8(const int8_t *w, int32_t n)
{
    int32_t s = 0;
    while (n > 0) {
        s = vaddvaq_s8(s, vldrbq_z_s8(w, vctp8q((uint32_t)n)));
        w += 16;
        n -= 16;
    }
    return s;
}

/* max(init, x[0..n)) for n >= 0. */
static inline int32_t mve_max_s32(const int32_t *x, int32_t n, int32_t init)
{
    while (n > 0) {
        init = vmaxvq_p_s32(init, vldrwq_z_s32(x, vctp32q((uint32_t)n)), vctp32q((uint32_t)n));
        x += 4;
        n -= 4;
    }
    return init;
}

/* sum x[i] * w[i], i < k: 16 multiply-accumulates per VMLADAVA. */
static inline int32_t mve_dot1_s8(const int8_t *x, const int8_t *w, int32_t k)
{
    int32_t a = 0;
    while (k > 0) {
        const mve_pred16_t p = vctp8q((uint32_t)k);
        a = vmladavaq_s8(a, vldrbq_z_s8(x, p), vldrbq_z_s8(w, p));
        x += 16;
        w += 16;
        k -= 16;
    }
    return a;
}

/* init[j] + sum x[i] * w_j[i] over i < k for the four rows w_j = w + j * stride, as one vector:
 * one 16-byte load of x serves four VMLADAVA, in a tail-predicated low-overhead loop
 * (DLSTP/LETP: the last, partial chunk is predicated by the loop itself, its inactive lanes add
 * nothing). Ten instructions per 64 multiply-accumulates. k >= 1. Written in assembly because
 * GCC 12 neither post-increments these loads nor emits DLSTP loops; VMLADAVA needs even
 * accumulator registers (constraint "Te"). */
static inline int32x4_t mve_dot4_s8(const int8_t *x, const int8_t *w, int32_t k, int32_t stride,
                                    const int32_t *init)
{
    const int8_t *w1 = w + stride;
    const int8_t *w2 = w1 + stride;
    const int8_t *w3 = w2 + stride;
    int32_t a0, a1, a2, a3;
    int32x4_t r;
    __asm__ volatile("ldrd %[a0], %[a1], [%[init]]\n\t"
                     "ldrd %[a2], %[a3], [%[init], #8]\n\t"
                     "dlstp.8 lr, %[k]\n"
                     "1:\n\t"
                     "vldrb.8 q0, [%[x]], #16\n\t"
                     "vldrb.8 q1, [%[w0]], #16\n\t"
                     "vmladava.s8 %[a0], q0, q1\n\t"
                     "vldrb.8 q1, [%[w1]], #16\n\t"
                     "vmladava.s8 %[a1], q0, q1\n\t"
                     "vldrb.8 q1, [%[w2]], #16\n\t"
                     "vmladava.s8 %[a2], q0, q1\n\t"
                     "vldrb.8 q1, [%[w3]], #16\n\t"
                     "vmladava.s8 %[a3], q0, q1\n\t"
                     "letp lr, 1b\n\t"
                     "vmov %q[r][2], %q[r][0], %[a0], %[a2]\n\t"
                     "vmov %q[r][3], %q[r][1], %[a1], %[a3]"
                     : [a0] "=&Te"(a0), [a1] "=&Te"(a1), [a2] "=&Te"(a2), [a3] "=&Te"(a3),
                       [r] "=w"(r), [x] "+r"(x), [w0] "+r"(w), [w1] "+r"(w1), [w2] "+r"(w2),
                       [w3] "+r"(w3)
                     : [k] "r"(k), [init] "r"(init)
                     : "q0", "q1", "lr", "memory");
    return r;
}

/* out[j] = clamp(requantize(acc[j], multiplier[j], shift[j]) + output_offset, lo, hi) for the
 * first n (1..4) lanes: the reference kernels' last step, four channels at a time. The
 * per-channel arrays are read only for the n active lanes. */
static inline void mve_requantize_store_s8(int8_t *out, int32x4_t acc, const int32_t *multiplier,
                                           const int32_t *shift, int32_t output_offset,
                                           int32_t lo, int32_t hi, int32_t n)
{
    const mve_pred16_t p = vctp32q((uint32_t)n);
    int32x4_t v = requantize_x4(acc, vldrwq_z_s32(multiplier, p), vldrwq_z_s32(shift, p));
    v = vaddq_n_s32(v, output_offset);
    v = vmaxq_s32(v, vdupq_n_s32(lo));
    v = vminq_s32(v, vdupq_n_s32(hi));
    vstrbq_p_s32(out, v, p);
}
#endif /* REID_MVE */

#endif /* REID_KERNELS_MVE_S8_H */
