/* mve_conv_2d.h: CONV_2D on Helium (MVE), the same bits as the reference loop in conv_2d.c.
 *
 * The convolution as an int8 matrix multiply: each output pixel's receptive field is one row
 * of K = k_h * k_w * in_c bytes, laid out like a filter row ([k_h][k_w][in_c]); a 1x1
 * convolution reads that row straight from the input (1x1 filters never pad), any other
 * kernel copies it into a bounded stack buffer (im2col, K <= MVE_CONV_MAX_K) where taps
 * outside the input hold the input zero point. Then
 *     acc[oc] = sum x * w + input_offset * sum w + bias[oc]
 * is the reference's sum (x + input_offset) * w + bias exactly: a padded tap holds
 * x = -input_offset and contributes 0, as a skipped tap does in the reference. The per-channel
 * constant input_offset * sum w + bias is computed once per call for a chunk of channels.
 *
 * Pixels go to the kernels in runs (mve_conv_run): a whole 1x1 stride-1 layer, one output row
 * of a strided 1x1, or as many im2col rows of an output row as fit the buffer (windows inside
 * the input copied by mve_conv_im2col_inside). Three assembly kernels, each requantizing groups
 * of four output channels with requantize.h's sequence:
 * - K <= 32 (mve_conv_pairs1/2): two pixels per pass, their rows held in registers, weights
 *   repacked per group (channels 0, 2, 1, 3, zero-padded to 16 or 32 bytes), each weight load
 *   serving both pixels, one VMLADAV per output;
 * - K > 32 with enough pixels (mve_conv_pixel_packed): per pixel, the group's four weight rows
 *   interleaved per 16-byte chunk so one pointer walks them (DLSTP/LETP loop, one row load for
 *   four VMLADAVA);
 * - otherwise mve_conv_pixel (the filter as given, four row pointers).
 * 1..3 channels after the last group: mve_dot1_s8 and mve_requantize_store_s8. The pair
 * kernels branch over the VSHL step when no channel has a positive shift (a shift by 0).
 *
 * conv_2d_s8_mve() returns 0 without writing when a layer is outside these bounds (K too long
 * for the buffer); the caller then runs the reference loop. */
#ifndef REID_KERNELS_MVE_CONV_2D_H
#define REID_KERNELS_MVE_CONV_2D_H

#include <stddef.h>

#include "conv_2d.h"
#include "mve_s8.h"

#if REID_MVE
/* Scratch (mve_conv_scratch_t, in the arena): MVE_CONV_MAX_K bytes of im2col rows + 20 *
 * MVE_CONV_CHUNK bytes of per-channel constants and requantization parameters +
 * MVE_CONV_PACK_BYTES of repacked weights (23 KiB in all). */
#define MVE_CONV_MAX_K 2048
#define MVE_CONV_CHUNK 256
#define MVE_CONV_PACK_BYTES 16384

/* The receptive field of the output pixel whose window starts at input row in_y0, column
 * in_x0 of image `image` into col; taps outside the input hold zp. Offsets fit int32 (a tensor
 * of 2 GiB does not fit any target). */
static inline void mve_conv_im2col(const conv_2d_params_t *p, const int8_t *image, int32_t in_y0,
                                   int32_t in_x0, int8_t zp, int8_t *col)
{
    const int32_t row_bytes = p->k_w * p->in_c;
    const int32_t line = p->in_w * p->in_c;
    int32_t ky, kx, lo = 0, hi = 0;
    if (p->dilation_w == 1) { /* the valid taps of a row are one contiguous run [lo, hi) */
        lo = in_x0 < 0 ? -in_x0 : 0;
        hi = p->in_w - in_x0 < p->k_w ? p->in_w - in_x0 : p->k_w;
        lo = lo < p->k_w ? lo : p->k_w;
        hi = hi > lo ? hi : lo;
    }
    for (ky = 0; ky < p->k_h; ++ky, col += row_bytes) {
        const int32_t in_y = in_y0 + ky * p->dilation_h;
        const int8_t *src = image + in_y * line + in_x0 * p->in_c;
        if (in_y < 0 || in_y >= p->in_h) {
            mve_fill_s8(col, zp, row_bytes);
        } else if (p->dilation_w == 1) {
            mve_fill_s8(col, zp, lo * p->in_c);
            mve_copy_s8(col + lo * p->in_c, src + lo * p->in_c, (hi - lo) * p->in_c);
            mve_fill_s8(col + hi * p->in_c, zp, (p->k_w - hi) * p->in_c);
        } else {
            for (kx = 0; kx < p->k_w; ++kx) {
                const int32_t in_x = in_x0 + kx * p->dilation_w;
                if (in_x < 0 || in_x >= p->in_w) {
                    mve_fill_s8(col + kx * p->in_c, zp, p->in_c);
                } else {
                    mve_copy_s8(col + kx * p->in_c, src + kx * p->dilation_w * p->in_c, p->in_c);
                }
            }
        }
    }
}

/* im2col of n >= 1 consecutive output pixels of a row whose windows lie inside the input
 * (dilation_w = 1), kernel rows of row_bytes <= 32 bytes: one or two vectors per kernel row,
 * the last predicated (no byte past the window read), 6 or 8 instructions per kernel row. */
__attribute__((noinline)) static void mve_conv_im2col_inside(int8_t *dst, const int8_t *src,
                                                             int32_t n,
                                                             const conv_2d_params_t *p,
                                                             int32_t row_bytes)
{
    const int32_t line = p->dilation_h * p->in_w * p->in_c;
    const int32_t step = p->stride_w * p->in_c;
    const int32_t rows = p->k_h;
    const int8_t *s;
    if (row_bytes <= 16) {
        __asm__ volatile("vctp.8 %[rb]\n"
                         "1:\n\t"
                         "mov %[s], %[src]\n\t"
                         "dls lr, %[rows]\n"
                         "2:\n\t"
                         "vpstt\n\t"
                         "vldrbt.8 q0, [%[s]]\n\t"
                         "vstrbt.8 q0, [%[dst]]\n\t"
                         "add %[s], %[line]\n\t"
                         "add %[dst], %[rb]\n\t"
                         "le lr, 2b\n\t"
                         "add %[src], %[step]\n\t"
                         "subs %[n], #1\n\t"
                         "bne 1b"
                         : [dst] "+r"(dst), [src] "+r"(src), [n] "+r"(n), [s] "=&r"(s)
                         : [rb] "r"(row_bytes), [rows] "r"(rows), [line] "r"(line),
                           [step] "r"(step)
                         : "q0", "lr", "cc", "memory");
    } else {
        __asm__ volatile("subs %[s], %[rb], #16\n\t"
                         "vctp.8 %[s]\n"
                         "1:\n\t"
                         "mov %[s], %[src]\n\t"
                         "dls lr, %[rows]\n"
                         "2:\n\t"
                         "vldrb.8 q0, [%[s]]\n\t"
                         "vstrb.8 q0, [%[dst]]\n\t"
                         "vpstt\n\t"
                         "vldrbt.8 q0, [%[s], #16]\n\t"
                         "vstrbt.8 q0, [%[dst], #16]\n\t"
                         "add %[s], %[line]\n\t"
                         "add %[dst], %[rb]\n\t"
                         "le lr, 2b\n\t"
                         "add %[src], %[step]\n\t"
                         "subs %[n], #1\n\t"
                         "bne 1b"
                         : [dst] "+r"(dst), [src] "+r"(src), [n] "+r"(n), [s] "=&r"(s)
                         : [rb] "r"(row_bytes), [rows] "r"(rows), [line] "r"(line),
                           [step] "r"(step)
                         : "q0", "lr", "cc", "memory");
    }
}

/* Per group of four output channels, what the requantization needs, 64 bytes apart so one
 * pointer walks them: the constant input_offset * sum w + bias, multiplier, left shift and
 * negated right shift (requantize_x4_split). */
typedef struct {
    int32_t constant[4], multiplier[4], left[4], neg_right[4];
} mve_conv_group_t;

/* One output pixel: the groups of four channels of one chunk, for the receptive field `row`
 * (k bytes). Per group: four inner products in a DLSTP/LETP loop (mve_dot4_s8's loop), the
 * vector requantization, offset, clamp and a 4-byte store. Assembly, because the compiled C
 * spilled its pointers (about 60 instead of 31 instructions per group besides the loop); not
 * inlined, because inside the caller the operands find too few free registers. */
__attribute__((noinline)) static void mve_conv_pixel(const int8_t *row, int32_t k,
                                                     const int8_t *w, const mve_conv_group_t *g,
                                                     int8_t *out, int32_t groups,
                                                     int32_t output_offset, int32_t act_min,
                                                     int32_t act_max)
{
    const int8_t *out_end = out + 4 * groups;
    const int8_t *w_next = w;
    int32_t a0, a1, a2, a3;
    const int8_t *x, *w1, *w2, *w3;
    __asm__ volatile(
        "ldr %[a0], %[lo]\n\t"
        "vdup.32 q6, %[a0]\n\t"
        "ldr %[a0], %[hi]\n\t"
        "vdup.32 q7, %[a0]\n"
        "1:\n\t"
        "ldr %[x], %[k]\n\t"
        "add %[w1], %[w0], %[x]\n\t"
        "add %[w2], %[w1], %[x]\n\t"
        "add %[w3], %[w2], %[x]\n\t"
        "add %[a0], %[w3], %[x]\n\t"
        "str %[a0], %[wn]\n\t"
        "ldrd %[a0], %[a1], [%[g]]\n\t"
        "ldrd %[a2], %[a3], [%[g], #8]\n\t"
        "dlstp.8 lr, %[x]\n\t"
        "ldr %[x], %[row]\n"
        "2:\n\t"
        "vldrb.8 q0, [%[x]], #16\n\t"
        "vldrb.8 q1, [%[w0]], #16\n\t"
        "vmladava.s8 %[a0], q0, q1\n\t"
        "vldrb.8 q1, [%[w1]], #16\n\t"
        "vmladava.s8 %[a1], q0, q1\n\t"
        "vldrb.8 q1, [%[w2]], #16\n\t"
        "vmladava.s8 %[a2], q0, q1\n\t"
        "vldrb.8 q1, [%[w3]], #16\n\t"
        "vmladava.s8 %[a3], q0, q1\n\t"
        "letp lr, 2b\n\t"
        "vmov q2[2], q2[0], %[a0], %[a2]\n\t"
        "vmov q2[3], q2[1], %[a1], %[a3]\n\t"
        "vldrw.u32 q3, [%[g], #16]\n\t"
        "vldrw.u32 q4, [%[g], #32]\n\t"
        "vldrw.u32 q5, [%[g], #48]\n\t"
        "adds %[g], #64\n\t"
        "vshl.s32 q2, q2, q4\n\t"
        "vqrdmulh.s32 q2, q2, q3\n\t"
        "vand q3, q2, q5\n\t"
        "vshr.s32 q3, q3, #31\n\t"
        "vqadd.s32 q2, q2, q3\n\t"
        "vrshl.s32 q2, q2, q5\n\t"
        "ldr %[a0], %[ooff]\n\t"
        "vadd.i32 q2, q2, %[a0]\n\t"
        "vmax.s32 q2, q2, q6\n\t"
        "vmin.s32 q2, q2, q7\n\t"
        "vstrb.32 q2, [%[out]], #4\n\t"
        "ldr %[w0], %[wn]\n\t"
        "ldr %[a0], %[oend]\n\t"
        "cmp %[out], %[a0]\n\t"
        "bne 1b"
        : [a0] "=&Te"(a0), [a1] "=&Te"(a1), [a2] "=&Te"(a2), [a3] "=&Te"(a3), [x] "=&r"(x),
          [w1] "=&r"(w1), [w2] "=&r"(w2), [w3] "=&r"(w3), [w0] "+r"(w), [g] "+r"(g),
          [out] "+r"(out), [wn] "+m"(w_next)
        : [row] "m"(row), [k] "m"(k), [oend] "m"(out_end), [ooff] "m"(output_offset),
          [lo] "m"(act_min), [hi] "m"(act_max)
        : "q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "lr", "cc", "memory");
}

/* Layers with short rows (K <= MVE_CONV_PAIR_MAX_K: MobileNetV2's expansions, OSNet's 16- to
 * 32-channel 1x1 convolutions, stems with in_c = 3 and 3x3 taps) spend most of the general
 * loop on requantization and loop set-up, so they take two output pixels per pass instead:
 * both rows stay in registers (one or two 16-byte vectors each), every weight load serves both
 * pixels and the requantization parameters of a group of four channels are loaded once for
 * eight outputs. The weights of a chunk are repacked per group in the order of channels 0, 2,
 * 1, 3 (what the lane moves VMOV q[2], q[0] want), each row zero-padded to 16 * chunks bytes,
 * so the last row bytes of a pixel are loaded predicated (nothing read past the tensor) and
 * padded weight lanes multiply zeros. */
#define MVE_CONV_PAIR_MAX_K 32

/* Eight lane instructions: the four dot products of one pair of channels (j, j + 2) for both
 * pixels. One chunk: x0 in q0, x1 in q1; two chunks: x0 in q0/q1, x1 in q2/q3. */
#define MVE_CONV_PAIR_DOT1(wq)                                                                     \
    "vldrb.8 " wq ", [%[w]], #16\n\t"                                                             \
    "vmladav.s8 %[a0], q0, " wq "\n\t"                                                            \
    "vmladav.s8 %[a1], q1, " wq "\n\t"                                                            \
    "vldrb.8 " wq ", [%[w]], #16\n\t"                                                             \
    "vmladav.s8 %[a2], q0, " wq "\n\t"                                                            \
    "vmladav.s8 %[a3], q1, " wq "\n\t"
#define MVE_CONV_PAIR_DOT2(wq)                                                                     \
    "vldrb.8 " wq ", [%[w]], #16\n\t"                                                             \
    "vmladav.s8 %[a0], q0, " wq "\n\t"                                                            \
    "vmladav.s8 %[a1], q2, " wq "\n\t"                                                            \
    "vldrb.8 " wq ", [%[w]], #16\n\t"                                                             \
    "vmladava.s8 %[a0], q1, " wq "\n\t"                                                           \
    "vmladava.s8 %[a1], q3, " wq "\n\t"                                                           \
    "vldrb.8 " wq ", [%[w]], #16\n\t"                                                             \
    "vmladav.s8 %[a2], q0, " wq "\n\t"                                                            \
    "vmladav.s8 %[a3], q2, " wq "\n\t"                                                            \
    "vldrb.8 " wq ", [%[w]], #16\n\t"                                                             \
    "vmladava.s8 %[a2], q1, " wq "\n\t"                                                           \
    "vmladava.s8 %[a3], q3, " wq "\n\t"
/* The requantization of pixel 0's lanes (A) and pixel 1's (B) with the record at g (g advanced
 * by 64), tmp a free register: requantize.h's sequence (VSHL, VQRDMULH, VAND, VSHR #31, VQADD,
 * VRSHL), then + output offset. The VSHL step (by the left shifts, max(shift, 0)) is branched
 * over when no channel of the layer has a positive shift (%[nl] = 0): it is then a shift by 0
 * in every lane, the same bits. */
#define MVE_CONV_PAIR_REQUANT(A, B, P, tmp)                                                        \
    "vldrw.u32 " P ", [%[g]], #64\n\t"                                                            \
    "vadd.i32 " A ", " A ", " P "\n\t"                                                            \
    "vadd.i32 " B ", " B ", " P "\n\t"                                                            \
    "cbz %[nl], 3f\n\t"                                                                          \
    "vldrw.u32 " P ", [%[g], #-32]\n\t"                                                           \
    "vshl.s32 " A ", " A ", " P "\n\t"                                                            \
    "vshl.s32 " B ", " B ", " P "\n"                                                               \
    "3:\n\t"                                                                                      \
    "vldrw.u32 " P ", [%[g], #-48]\n\t"                                                           \
    "vqrdmulh.s32 " A ", " A ", " P "\n\t"                                                        \
    "vqrdmulh.s32 " B ", " B ", " P "\n\t"                                                        \
    "vldrw.u32 " P ", [%[g], #-16]\n\t"                                                           \
    "vand " tmp ", " A ", " P "\n\t"                                                              \
    "vshr.s32 " tmp ", " tmp ", #31\n\t"                                                          \
    "vqadd.s32 " A ", " A ", " tmp "\n\t"                                                         \
    "vrshl.s32 " A ", " A ", " P "\n\t"                                                           \
    "vand " tmp ", " B ", " P "\n\t"                                                              \
    "vshr.s32 " tmp ", " tmp ", #31\n\t"                                                          \
    "vqadd.s32 " B ", " B ", " tmp "\n\t"                                                         \
    "vrshl.s32 " B ", " B ", " P "\n\t"                                                           \
    "vadd.i32 " A ", " A ", %[off]\n\t"                                                           \
    "vadd.i32 " B ", " B ", %[off]\n\t"

/* What the pair kernels walk: `pairs` pairs of output pixels; pixel 2i's row of k bytes at
 * x + 2 * i * x_step, pixel 2i + 1's at x_step bytes after it (x_step = k: the rows of a 1x1
 * stride-1 convolution, contiguous in the input), their outputs at out + 2 * i * out_step and
 * out_step bytes after that; per pair `groups` groups of four channels with the packed weights
 * w and the records g. x_step = out_step = 0 computes one pixel (its bytes written twice). */
typedef struct mve_conv_pairs {
    const int8_t *x;
    int32_t x_step;
    int8_t *out;
    int32_t out_step;
    int32_t pairs, k, groups, output_offset;
    const int8_t *w;
    const mve_conv_group_t *g;
    int32_t lo[4], hi[4];
    int32_t any_left; /* some channel of the layer has shift > 0 */
} mve_conv_pairs_t;

/* byte offsets of the fields for the assembly (checked below) */
#define MVE_CONV_PAIRS_X "0"
#define MVE_CONV_PAIRS_XSTEP "4"
#define MVE_CONV_PAIRS_OUT "8"
#define MVE_CONV_PAIRS_OSTEP "12"
#define MVE_CONV_PAIRS_PAIRS "16"
#define MVE_CONV_PAIRS_K "20"
#define MVE_CONV_PAIRS_GROUPS "24"
#define MVE_CONV_PAIRS_OFF "28"
#define MVE_CONV_PAIRS_W "32"
#define MVE_CONV_PAIRS_G "36"
#define MVE_CONV_PAIRS_LO "40"
#define MVE_CONV_PAIRS_HI "56"
#define MVE_CONV_PAIRS_ANY_LEFT "72"

_Static_assert(offsetof(mve_conv_pairs_t, x_step) == 4 && offsetof(mve_conv_pairs_t, out) == 8 &&
                   offsetof(mve_conv_pairs_t, out_step) == 12 &&
                   offsetof(mve_conv_pairs_t, pairs) == 16 && offsetof(mve_conv_pairs_t, k) == 20 &&
                   offsetof(mve_conv_pairs_t, groups) == 24 &&
                   offsetof(mve_conv_pairs_t, output_offset) == 28 &&
                   offsetof(mve_conv_pairs_t, w) == 32 && offsetof(mve_conv_pairs_t, g) == 36 &&
                   offsetof(mve_conv_pairs_t, lo) == 40 && offsetof(mve_conv_pairs_t, hi) == 56 &&
                   offsetof(mve_conv_pairs_t, any_left) == 72,
               "mve_conv_pairs_t: the assembly's offsets");

/* The start of a pair: o0, o1, w, g, the loop count of the groups, x advanced in s; x0 in
 * %[a0], x1 in %[a1] for the loads that follow. */
#define MVE_CONV_PAIR_START                                                                        \
    "ldr %[a0], [%[s], #" MVE_CONV_PAIRS_X "]\n\t"                                                \
    "ldr %[a2], [%[s], #" MVE_CONV_PAIRS_XSTEP "]\n\t"                                            \
    "add %[a1], %[a0], %[a2]\n\t"                                                                 \
    "add %[a2], %[a1], %[a2]\n\t"                                                                 \
    "str %[a2], [%[s], #" MVE_CONV_PAIRS_X "]\n\t"                                                \
    "ldr %[o0], [%[s], #" MVE_CONV_PAIRS_OUT "]\n\t"                                              \
    "ldr %[a2], [%[s], #" MVE_CONV_PAIRS_OSTEP "]\n\t"                                            \
    "add %[o1], %[o0], %[a2]\n\t"                                                                 \
    "add %[a2], %[o1], %[a2]\n\t"                                                                 \
    "str %[a2], [%[s], #" MVE_CONV_PAIRS_OUT "]\n\t"                                              \
    "ldr %[w], [%[s], #" MVE_CONV_PAIRS_W "]\n\t"                                                 \
    "ldr %[g], [%[s], #" MVE_CONV_PAIRS_G "]\n\t"                                                 \
    "ldr %[a2], [%[s], #" MVE_CONV_PAIRS_GROUPS "]\n\t"                                           \
    "dls lr, %[a2]\n\t"
#define MVE_CONV_PAIR_END                                                                          \
    "le lr, 2b\n\t"                                                                               \
    "ldr %[a0], [%[s], #" MVE_CONV_PAIRS_PAIRS "]\n\t"                                            \
    "subs %[a0], #1\n\t"                                                                          \
    "str %[a0], [%[s], #" MVE_CONV_PAIRS_PAIRS "]\n\t"                                            \
    "bne 1b"

/* mve_conv_pixel with the weights of each group interleaved ([16-byte chunk][channel 0..3]
 * [16], zero-padded to whole chunks, MVE_CONV_PACK_BYTES at most per layer chunk): one pointer
 * walks them, so a group needs no pointer set-up; 21 instructions per group besides the loop
 * instead of 31. */
__attribute__((noinline)) static void mve_conv_pixel_packed(const int8_t *row, int32_t k,
                                                            const int8_t *w,
                                                            const mve_conv_group_t *g,
                                                            int8_t *out, int32_t groups,
                                                            const struct mve_conv_pairs *s)
{
    int32_t a0, a1, a2, a3, off;
    const int8_t *x;
    __asm__ volatile(
        "vldrw.u32 q6, [%[s], #" MVE_CONV_PAIRS_LO "]\n\t"
        "vldrw.u32 q7, [%[s], #" MVE_CONV_PAIRS_HI "]\n\t"
        "ldr %[off], [%[s], #" MVE_CONV_PAIRS_OFF "]\n"
        "1:\n\t"
        "ldrd %[a0], %[a1], [%[g]]\n\t"
        "ldrd %[a2], %[a3], [%[g], #8]\n\t"
        "ldr %[x], %[row]\n\t"
        "dlstp.8 lr, %[k]\n"
        "2:\n\t"
        "vldrb.8 q0, [%[x]], #16\n\t"
        "vldrb.8 q1, [%[w]], #16\n\t"
        "vmladava.s8 %[a0], q0, q1\n\t"
        "vldrb.8 q1, [%[w]], #16\n\t"
        "vmladava.s8 %[a1], q0, q1\n\t"
        "vldrb.8 q1, [%[w]], #16\n\t"
        "vmladava.s8 %[a2], q0, q1\n\t"
        "vldrb.8 q1, [%[w]], #16\n\t"
        "vmladava.s8 %[a3], q0, q1\n\t"
        "letp lr, 2b\n\t"
        "vmov q2[2], q2[0], %[a0], %[a2]\n\t"
        "vmov q2[3], q2[1], %[a1], %[a3]\n\t"
        "vldrw.u32 q3, [%[g], #16]\n\t"
        "vldrw.u32 q4, [%[g], #32]\n\t"
        "vldrw.u32 q5, [%[g], #48]\n\t"
        "adds %[g], #64\n\t"
        "vshl.s32 q2, q2, q4\n\t"
        "vqrdmulh.s32 q2, q2, q3\n\t"
        "vand q3, q2, q5\n\t"
        "vshr.s32 q3, q3, #31\n\t"
        "vqadd.s32 q2, q2, q3\n\t"
        "vrshl.s32 q2, q2, q5\n\t"
        "vadd.i32 q2, q2, %[off]\n\t"
        "vmax.s32 q2, q2, q6\n\t"
        "vmin.s32 q2, q2, q7\n\t"
        "vstrb.32 q2, [%[out]], #4\n\t"
        "subs %[n], #1\n\t"
        "bne 1b"
        : [a0] "=&Te"(a0), [a1] "=&Te"(a1), [a2] "=&Te"(a2), [a3] "=&Te"(a3), [x] "=&r"(x),
          [off] "=&r"(off), [w] "+r"(w), [g] "+r"(g), [out] "+r"(out), [n] "+r"(groups)
        : [row] "m"(row), [k] "r"(k), [s] "r"(s)
        : "q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "lr", "cc", "memory");
}

/* Rows of 1 <= k <= 16 bytes (one vector each: x0 in q0, x1 in q1). Per group 41
 * instructions for eight outputs (44 with left shifts), per pair 21 more. */
__attribute__((noinline)) static void mve_conv_pairs1(mve_conv_pairs_t *s)
{
    int32_t a0, a1, a2, a3, off;
    const int8_t *w;
    const mve_conv_group_t *g;
    int8_t *o0, *o1;
    int32_t nl;
    __asm__ volatile(
        "ldr %[a0], [%[s], #" MVE_CONV_PAIRS_K "]\n\t"
        "vctp.8 %[a0]\n\t"
        "ldr %[nl], [%[s], #" MVE_CONV_PAIRS_ANY_LEFT "]\n\t"
        "ldr %[off], [%[s], #" MVE_CONV_PAIRS_OFF "]\n\t"
        "vldrw.u32 q6, [%[s], #" MVE_CONV_PAIRS_LO "]\n\t"
        "vldrw.u32 q7, [%[s], #" MVE_CONV_PAIRS_HI "]\n"
        "1:\n\t"
        MVE_CONV_PAIR_START
        "vpstt\n\t"
        "vldrbt.8 q0, [%[a0]]\n\t"
        "vldrbt.8 q1, [%[a1]]\n"
        "2:\n\t"
        MVE_CONV_PAIR_DOT1("q2")
        "vmov q3[2], q3[0], %[a0], %[a2]\n\t"
        "vmov q4[2], q4[0], %[a1], %[a3]\n\t"
        MVE_CONV_PAIR_DOT1("q2")
        "vmov q3[3], q3[1], %[a0], %[a2]\n\t"
        "vmov q4[3], q4[1], %[a1], %[a3]\n\t"
        MVE_CONV_PAIR_REQUANT("q3", "q4", "q2", "q5")
        "vmax.s32 q3, q3, q6\n\t"
        "vmax.s32 q4, q4, q6\n\t"
        "vmin.s32 q3, q3, q7\n\t"
        "vmin.s32 q4, q4, q7\n\t"
        "vstrb.32 q3, [%[o0]], #4\n\t"
        "vstrb.32 q4, [%[o1]], #4\n\t"
        MVE_CONV_PAIR_END
        : [a0] "=&Te"(a0), [a1] "=&Te"(a1), [a2] "=&Te"(a2), [a3] "=&Te"(a3), [w] "=&r"(w),
          [g] "=&r"(g), [o0] "=&r"(o0), [o1] "=&r"(o1), [off] "=&r"(off), [nl] "=&l"(nl)
        : [s] "r"(s)
        : "q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "lr", "cc", "memory");
}

/* Rows of 16 < k <= 32 bytes (two vectors each: x0 in q0/q1, x1 in q2/q3; the bounds are
 * loaded per group). Per group 55 instructions for eight outputs (58 with left shifts). */
__attribute__((noinline)) static void mve_conv_pairs2(mve_conv_pairs_t *s)
{
    int32_t a0, a1, a2, a3, off;
    const int8_t *w;
    const mve_conv_group_t *g;
    int8_t *o0, *o1;
    int32_t nl;
    __asm__ volatile(
        "ldr %[a0], [%[s], #" MVE_CONV_PAIRS_K "]\n\t"
        "subs %[a0], #16\n\t"
        "vctp.8 %[a0]\n\t"
        "ldr %[nl], [%[s], #" MVE_CONV_PAIRS_ANY_LEFT "]\n\t"
        "ldr %[off], [%[s], #" MVE_CONV_PAIRS_OFF "]\n"
        "1:\n\t"
        MVE_CONV_PAIR_START
        "vldrb.8 q0, [%[a0]]\n\t"
        "vldrb.8 q2, [%[a1]]\n\t"
        "vpstt\n\t"
        "vldrbt.8 q1, [%[a0], #16]\n\t"
        "vldrbt.8 q3, [%[a1], #16]\n"
        "2:\n\t"
        MVE_CONV_PAIR_DOT2("q4")
        "vmov q5[2], q5[0], %[a0], %[a2]\n\t"
        "vmov q6[2], q6[0], %[a1], %[a3]\n\t"
        MVE_CONV_PAIR_DOT2("q4")
        "vmov q5[3], q5[1], %[a0], %[a2]\n\t"
        "vmov q6[3], q6[1], %[a1], %[a3]\n\t"
        MVE_CONV_PAIR_REQUANT("q5", "q6", "q4", "q7")
        "vldrw.u32 q4, [%[s], #" MVE_CONV_PAIRS_LO "]\n\t"
        "vmax.s32 q5, q5, q4\n\t"
        "vmax.s32 q6, q6, q4\n\t"
        "vldrw.u32 q4, [%[s], #" MVE_CONV_PAIRS_HI "]\n\t"
        "vmin.s32 q5, q5, q4\n\t"
        "vmin.s32 q6, q6, q4\n\t"
        "vstrb.32 q5, [%[o0]], #4\n\t"
        "vstrb.32 q6, [%[o1]], #4\n\t"
        MVE_CONV_PAIR_END
        : [a0] "=&Te"(a0), [a1] "=&Te"(a1), [a2] "=&Te"(a2), [a3] "=&Te"(a3), [w] "=&r"(w),
          [g] "=&r"(g), [o0] "=&r"(o0), [o1] "=&r"(o1), [off] "=&r"(off), [nl] "=&l"(nl)
        : [s] "r"(s)
        : "q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "lr", "cc", "memory");
}
#undef MVE_CONV_PAIR_START
#undef MVE_CONV_PAIR_END
#undef MVE_CONV_PAIR_DOT1
#undef MVE_CONV_PAIR_DOT2
#undef MVE_CONV_PAIR_REQUANT

/* The 1..3 channels [c, cn) of a chunk left after its groups of four, for one pixel. */
static inline void mve_conv_tail(const int8_t *row, int32_t k, const int8_t *w_chunk,
                                 const int32_t *constant, const int32_t *mult,
                                 const int32_t *shift, const conv_2d_params_t *p, int32_t c,
                                 int32_t cn, int8_t *out)
{
    int32_t tail[4] __attribute__((aligned(16))) = {0, 0, 0, 0};
    int32_t j;
    for (j = 0; c + j < cn; ++j) {
        tail[j] = mve_dot1_s8(row, w_chunk + (c + j) * k, k) + constant[c + j];
    }
    mve_requantize_store_s8(out + c, vldrwq_s32(tail), mult + c, shift + c, p->output_offset,
                            p->act_min, p->act_max, cn - c);
}

/* One chunk of output channels prepared for a layer: what a run of pixels needs. */
typedef struct {
    const conv_2d_params_t *p;
    int32_t k, c0, cn, c4;
    const int8_t *w_chunk;
    const int32_t *constant, *mult, *shift; /* of the chunk */
    const mve_conv_group_t *groups;
    mve_conv_pairs_t *pairs; /* the pair kernels' state (and the bounds of every kernel) */
    int use_pairs;           /* k <= MVE_CONV_PAIR_MAX_K */
    const int8_t *packed;    /* interleaved weights for mve_conv_pixel_packed, or NULL */
} mve_conv_chunk_t;

/* `count` output pixels whose rows of k bytes lie x_step bytes apart from x on, outputs from
 * out on (the chunk's first channel) out_c apart: the pair kernel in one call (and one for an
 * odd last pixel), or the general one per pixel; then the 1..3 channels after the groups. */
static inline void mve_conv_run(const mve_conv_chunk_t *ck, const int8_t *x, int32_t x_step,
                                int8_t *out, int32_t count)
{
    const conv_2d_params_t *p = ck->p;
    int32_t j;
    if (ck->c4 && ck->use_pairs) {
        mve_conv_pairs_t *s = ck->pairs;
        void (*kernel)(mve_conv_pairs_t *) = ck->k <= 16 ? mve_conv_pairs1 : mve_conv_pairs2;
        s->x = x;
        s->x_step = x_step;
        s->out = out;
        s->out_step = p->out_c;
        s->pairs = count / 2;
        if (s->pairs) {
            kernel(s);
        }
        if (count & 1) { /* the last pixel alone: computed twice into the same bytes */
            s->x = x + (count - 1) * x_step;
            s->x_step = 0;
            s->out = out + (count - 1) * p->out_c;
            s->out_step = 0;
            s->pairs = 1;
            kernel(s);
        }
    } else if (ck->c4 && ck->packed) {
        for (j = 0; j < count; ++j) {
            mve_conv_pixel_packed(x + j * x_step, ck->k, ck->packed, ck->groups,
                                  out + j * p->out_c, ck->c4 / 4, ck->pairs);
        }
    } else if (ck->c4) {
        for (j = 0; j < count; ++j) {
            mve_conv_pixel(x + j * x_step, ck->k, ck->w_chunk, ck->groups, out + j * p->out_c,
                           ck->c4 / 4, p->output_offset, p->act_min, p->act_max);
        }
    }
    if (ck->c4 < ck->cn) { /* 1..3 channels left: one inner product each */
        for (j = 0; j < count; ++j) {
            mve_conv_tail(x + j * x_step, ck->k, ck->w_chunk, ck->constant, ck->mult, ck->shift,
                          p, ck->c4, ck->cn, out + j * p->out_c);
        }
    }
}

/* The fast path's buffers, in the arena (CONV_2D_SCRATCH_BYTES, planned by the code
 * generator for every CONV_2D of a Helium target): im2col rows, the per-channel records of a
 * chunk, the repacked weights. */
typedef struct {
    int8_t col[MVE_CONV_MAX_K];
    mve_conv_group_t groups[MVE_CONV_CHUNK / 4];
    int32_t constant[MVE_CONV_CHUNK];
    int8_t packed[MVE_CONV_PACK_BYTES];
} mve_conv_scratch_t;
_Static_assert(sizeof(mve_conv_scratch_t) <= CONV_2D_SCRATCH_BYTES,
               "conv_2d.h: CONV_2D_SCRATCH_BYTES must hold mve_conv_scratch_t");

/* Pixels go to the kernels in runs: a whole 1x1 stride-1 layer at once (its rows are the
 * input), an output row of a 1x1 strided one, and for other kernels as many pixels of an output
 * row as their im2col rows fit the buffer (MVE_CONV_MAX_K / K). */
static inline int conv_2d_s8_mve(const conv_2d_params_t *p, const int8_t *input,
                                 const int8_t *filter, const int32_t *bias,
                                 const int32_t *multiplier, const int32_t *shift, int8_t *output,
                                 void *scratch)
{
    const int32_t k = p->k_h * p->k_w * p->in_c;
    const int direct = p->k_h == 1 && p->k_w == 1 && p->pad_h == 0 && p->pad_w == 0;
    const int pair = k <= MVE_CONV_PAIR_MAX_K;
    const int32_t kpad = k <= 16 ? 16 : 32; /* packed row length of the pair kernels */
    const int32_t chunks16 = (k + 15) / 16;
    /* channels per layer chunk: the packed weights of the general kernel must fit, unless
     * that leaves fewer than 64 (or out_c) channels per walk over the image; the repacking
     * (about 12 instructions per 16 weight bytes) pays off from about 8 pixels per chunk */
    const int32_t fit = (MVE_CONV_PACK_BYTES / (64 * chunks16)) * 4;
    const int pack = !pair && fit >= (p->out_c < 64 ? p->out_c : 64) &&
                     p->batches * p->out_h * p->out_w >= 8 * chunks16;
    const int32_t chunk = pack && fit < MVE_CONV_CHUNK ? fit : MVE_CONV_CHUNK;
    /* a 1x1 stride-1 convolution: the rows of consecutive output pixels follow each other */
    const int flat = direct && p->stride_h == 1 && p->stride_w == 1;
    const int32_t row_bytes = p->k_w * p->in_c;
    const int32_t line = p->in_w * p->in_c;
    /* zp fits int8: the input is int8 and input_offset = -zero_point. */
    const int8_t zp = (int8_t)(-p->input_offset);
    mve_conv_scratch_t *s = (mve_conv_scratch_t *)scratch;
    int8_t *col;
    mve_conv_group_t *groups;
    int32_t *constant;
    int8_t *packed;
    mve_conv_pairs_t pairs __attribute__((aligned(16)));
    mve_conv_chunk_t ck;
    int32_t c0, c, j, b, oy, ox, m, ky, q;
    if (k > MVE_CONV_MAX_K || k <= 0 || s == NULL) {
        return 0;
    }
    col = s->col;
    groups = s->groups;
    constant = s->constant;
    packed = s->packed;
    pairs.k = k;
    pairs.output_offset = p->output_offset;
    pairs.any_left = mve_max_s32(shift, p->out_c, 0) > 0;
    pairs.w = packed;
    pairs.g = groups;
    for (j = 0; j < 4; ++j) {
        pairs.lo[j] = p->act_min;
        pairs.hi[j] = p->act_max;
    }
    ck.p = p;
    ck.k = k;
    ck.constant = constant;
    ck.groups = groups;
    ck.pairs = &pairs;
    ck.use_pairs = pair;
    ck.packed = pack ? packed : 0;
    for (c0 = 0; c0 < p->out_c; c0 += chunk) {
        const int32_t cn = p->out_c - c0 < chunk ? p->out_c - c0 : chunk;
        const int32_t c4 = cn & ~3;
        const int8_t *w_chunk = filter + c0 * k;
        const int32_t *mult = multiplier + c0;
        ck.c0 = c0;
        ck.cn = cn;
        ck.c4 = c4;
        ck.w_chunk = w_chunk;
        ck.mult = mult;
        ck.shift = shift + c0;
        pairs.groups = c4 / 4;
        /* |input_offset * sum w| <= 128 * k * 128, int32 for k <= 2048. */
        for (c = 0; c < cn; ++c) {
            constant[c] = p->input_offset * mve_sum_s8(w_chunk + c * k, k) +
                          (bias ? bias[c0 + c] : 0);
        }
        for (c = 0; c < c4; ++c) {
            mve_conv_group_t *g = &groups[c / 4];
            g->constant[c % 4] = constant[c];
            g->multiplier[c % 4] = mult[c];
            g->left[c % 4] = shift[c0 + c] > 0 ? shift[c0 + c] : 0;
            g->neg_right[c % 4] = shift[c0 + c] > 0 ? 0 : shift[c0 + c];
        }
        if (pair) { /* rows of channels 0, 2, 1, 3 of each group, zero-padded to kpad */
            mve_fill_s8(packed, 0, c4 * kpad);
            for (c = 0; c < c4; ++c) {
                const int32_t slot = (c & ~3) + ((c & 1) << 1) + ((c >> 1) & 1);
                mve_copy_s8(packed + slot * kpad, w_chunk + c * k, k);
            }
        } else if (pack) { /* [group][16-byte chunk][channel of the group][16] */
            mve_fill_s8(packed, 0, c4 * chunks16 * 16);
            for (c = 0; c < c4; ++c) {
                for (q = 0; q < chunks16; ++q) {
                    const int32_t n = k - 16 * q < 16 ? k - 16 * q : 16;
                    mve_copy_s8(packed + (((c & ~3) * chunks16 + 4 * q + (c & 3)) * 16),
                                w_chunk + c * k + 16 * q, n);
                }
            }
        }
        if (flat) {
            mve_conv_run(&ck, input, k, output + c0, p->batches * p->out_h * p->out_w);
            continue;
        }
        for (b = 0; b < p->batches; ++b) {
            const int8_t *image = input + b * p->in_h * line;
            for (oy = 0; oy < p->out_h; ++oy) {
                const int32_t in_y0 = oy * p->stride_h - p->pad_h;
                const int rows_in = in_y0 >= 0 && in_y0 + (p->k_h - 1) * p->dilation_h < p->in_h;
                int8_t *out_row = output + (b * p->out_h + oy) * p->out_w * p->out_c + c0;
                if (direct) {
                    mve_conv_run(&ck, image + in_y0 * line, p->stride_w * p->in_c, out_row,
                                 p->out_w);
                    continue;
                }
                for (ox = 0; ox < p->out_w; ox += m) {
                    m = p->out_w - ox < MVE_CONV_MAX_K / k ? p->out_w - ox : MVE_CONV_MAX_K / k;
                    for (j = 0; j < m; ++j) {
                        const int32_t in_x0 = (ox + j) * p->stride_w - p->pad_w;
                        int8_t *dst = col + j * k;
                        int32_t n = 0; /* pixels from j on whose windows lie inside */
                        if (rows_in && p->dilation_w == 1 && in_x0 >= 0) {
                            const int32_t room = p->in_w - p->k_w - in_x0; /* >= 0: inside */
                            n = room < 0 ? 0 : room / p->stride_w + 1;
                            n = n < m - j ? n : m - j;
                        }
                        if (n && row_bytes <= 32) {
                            mve_conv_im2col_inside(dst, image + in_y0 * line + in_x0 * p->in_c,
                                                   n, p, row_bytes);
                            j += n - 1;
                        } else if (n) { /* one copy per row */
                            const int8_t *src = image + in_y0 * line + in_x0 * p->in_c;
                            for (ky = 0; ky < p->k_h; ++ky) {
                                mve_copy_s8(dst + ky * row_bytes, src, row_bytes);
                                src += p->dilation_h * line;
                            }
                        } else {
                            mve_conv_im2col(p, image, in_y0, in_x0, zp, dst);
                        }
                    }
                    mve_conv_run(&ck, col, k, out_row + ox * p->out_c, m);
                }
            }
        }
    }
    return 1;
}
#endif /* REID_MVE */

#endif /* REID_KERNELS_MVE_CONV_2D_H */
