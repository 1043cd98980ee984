/* mve_depthwise_conv_2d.h: DEPTHWISE_CONV_2D (depth multiplier 1) on Helium (MVE), the same
 * bits as the reference loop in depthwise_conv_2d.c.
 *
 * Channels are the vector lanes: per tap, 8 channels of input and filter are loaded widened to
 * int16 and multiplied into int32 products (VMULLB: even channels, VMULLT: odd channels; an
 * int8 product fits int16), added to int32 accumulators. With
 *     acc[c] = sum x * w + input_offset * sum w + bias[c]
 * (the reference's sum over valid taps of (x + input_offset) * w + bias: a padded tap holds
 * x = -input_offset and contributes 0) the per-channel constant input_offset * sum w + bias is
 * computed once per call into records in the accumulators' lane order. Two paths:
 * - 3x3, stride 1 or 2, dilation 1, <= MVE_DW_ROW_MAX_C channels (mve_dw_rows): a ring of
 *   three input rows rearranged [group of 8 channels][column][8] with the padding filled in,
 *   one assembly loop per output row (mve_dw_row_s1/s2) over the groups and pairs of pixels
 *   with fixed tap offsets; requantization per pair, offset and clamp on int16 lanes;
 * - any other window (mve_dw_pixels): per output pixel a table of tap pointers (or a row of
 *   input zero points), 16 channels per step in an assembly loop over the taps
 *   (mve_dw_pixel16), then 4-lane predicated steps for the last 1..15.
 * Both write output rows in increasing order and read no input row above the current row's
 * window again (the planner's streaming-overlap contract, docs/codegen.md).
 *
 * depthwise_conv_2d_s8_mve() returns 0 without writing when the layer is outside its bounds
 * (depth multiplier != 1, more than MVE_DW_MAX_TAPS taps or MVE_DW_MAX_C channels); the caller
 * then runs the reference loop. */
#ifndef REID_KERNELS_MVE_DEPTHWISE_CONV_2D_H
#define REID_KERNELS_MVE_DEPTHWISE_CONV_2D_H

#include <stddef.h>

#include "depthwise_conv_2d.h"
#include "mve_s8.h"

#if REID_MVE
/* Buffers of the pixel path: MVE_DW_MAX_C bytes of zero-point row, MVE_DW_CHUNK / 16 records
 * of 320 bytes (10 KiB) in the arena scratch (mve_dw_scratch_t), 8 * MVE_DW_MAX_TAPS bytes of
 * tap tables on the stack. */
#define MVE_DW_MAX_C 2048
#define MVE_DW_CHUNK 512
#define MVE_DW_MAX_TAPS 64

/* Per 16 channels c..c+15, in the accumulators' lane order (lane L holds channel
 * c + 8 * (L / 8) + 2 * (L % 4) + (L % 8) / 4: even channels of each half, then odd ones): the
 * constant input_offset * sum w + bias, multiplier, left shift, negated right shift; then the
 * output offset, activation bounds and byte offsets {0, 2, 4, 6} of the scattered stores. */
typedef struct {
    int32_t constant[16], multiplier[16], left[16], neg_right[16];
    int32_t offset[4], lo[4], hi[4], lanes[4];
} mve_dw_group_t;

static inline int32_t mve_dw_lane_channel(int32_t lane)
{
    return 8 * (lane / 8) + 2 * (lane % 4) + (lane % 8) / 4;
}

/* One output pixel, channels [c, c_end) (multiple of 16 apart): tap[t] is the input pixel of
 * tap t (or the zero-point row), filter the DEPTHWISE filter ([taps][ch]). Per tap and 16
 * channels: 4 widening loads, 4 VMULL, 4 VADD, 4 loop instructions; then 15 per 4 channels to
 * requantize and scatter the bytes back in channel order. Assembly: the C version spilled. */
__attribute__((noinline)) static void mve_dw_pixel16(const int8_t *const *tap, int32_t taps,
                                                     const int8_t *filter, int32_t ch, int32_t c,
                                                     int32_t c_end, const mve_dw_group_t *g,
                                                     int8_t *out)
{
    const int8_t *tp, *xp, *wp;
#define MVE_DW_REQUANT(q, o, dst)                                                                  \
    "vldrw.u32 q4, [%[g], #64+" #o "]\n\t"                                                        \
    "vldrw.u32 q5, [%[g], #128+" #o "]\n\t"                                                       \
    "vldrw.u32 q6, [%[g], #192+" #o "]\n\t"                                                       \
    "vshl.s32 " q ", " q ", q5\n\t"                                                               \
    "vqrdmulh.s32 " q ", " q ", q4\n\t"                                                           \
    "vand q4, " q ", q6\n\t"                                                                      \
    "vshr.s32 q4, q4, #31\n\t"                                                                    \
    "vqadd.s32 " q ", " q ", q4\n\t"                                                              \
    "vrshl.s32 " q ", " q ", q6\n\t"                                                              \
    "vldrw.u32 q4, [%[g], #256]\n\t"                                                              \
    "vadd.i32 " q ", " q ", q4\n\t"                                                               \
    "vldrw.u32 q4, [%[g], #272]\n\t"                                                              \
    "vmax.s32 " q ", " q ", q4\n\t"                                                               \
    "vldrw.u32 q4, [%[g], #288]\n\t"                                                              \
    "vmin.s32 " q ", " q ", q4\n\t"                                                               \
    "vstrb.32 " q ", [" dst ", q7]\n\t"
    __asm__ volatile(
        "vldrw.u32 q7, [%[g], #304]\n"
        "1:\n\t"
        "vldrw.u32 q0, [%[g]]\n\t"
        "vldrw.u32 q1, [%[g], #16]\n\t"
        "vldrw.u32 q2, [%[g], #32]\n\t"
        "vldrw.u32 q3, [%[g], #48]\n\t"
        "ldr %[tp], %[tap]\n\t"
        "ldr %[wp], %[filter]\n\t"
        "add %[wp], %[c]\n\t"
        "ldr %[xp], %[taps]\n\t"
        "dls lr, %[xp]\n"
        "2:\n\t"
        "ldr %[xp], [%[tp]], #4\n\t"
        "add %[xp], %[c]\n\t"
        "vldrb.s16 q4, [%[xp]]\n\t"
        "vldrb.s16 q5, [%[wp]]\n\t"
        "vmullb.s16 q6, q4, q5\n\t"
        "vmullt.s16 q4, q4, q5\n\t"
        "vadd.i32 q0, q0, q6\n\t"
        "vadd.i32 q1, q1, q4\n\t"
        "vldrb.s16 q4, [%[xp], #8]\n\t"
        "vldrb.s16 q5, [%[wp], #8]\n\t"
        "vmullb.s16 q6, q4, q5\n\t"
        "vmullt.s16 q4, q4, q5\n\t"
        "vadd.i32 q2, q2, q6\n\t"
        "vadd.i32 q3, q3, q4\n\t"
        "add %[wp], %[ch]\n\t"
        "le lr, 2b\n\t"
        MVE_DW_REQUANT("q0", 0, "%[out]")
        "adds %[xp], %[out], #1\n\t"
        MVE_DW_REQUANT("q1", 16, "%[xp]")
        "adds %[xp], %[out], #8\n\t"
        MVE_DW_REQUANT("q2", 32, "%[xp]")
        "adds %[xp], %[out], #9\n\t"
        MVE_DW_REQUANT("q3", 48, "%[xp]")
        "adds %[out], #16\n\t"
        "add %[g], %[g], #320\n\t"
        "adds %[c], #16\n\t"
        "ldr %[xp], %[c_end]\n\t"
        "cmp %[c], %[xp]\n\t"
        "bne 1b"
        : [tp] "=&r"(tp), [xp] "=&r"(xp), [wp] "=&r"(wp), [c] "+r"(c), [g] "+r"(g),
          [out] "+r"(out)
        : [tap] "m"(tap), [taps] "m"(taps), [filter] "m"(filter), [c_end] "m"(c_end),
          [ch] "r"(ch)
        : "q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "lr", "cc", "memory");
#undef MVE_DW_REQUANT
}

/* The records of channels [c0, c0 + cn): full groups of 16 into groups[], the constants of the
 * last cn % 16 channels (natural order) into constant[]. */
static inline void mve_dw_prepare(const depthwise_conv_2d_params_t *p, const int8_t *filter,
                                  const int32_t *bias, const int32_t *multiplier,
                                  const int32_t *shift, int32_t c0, int32_t cn,
                                  mve_dw_group_t *groups, int32_t *constant)
{
    const int32_t ch = p->in_c;
    const int32_t taps = p->k_h * p->k_w;
    const int32_t n16 = cn & ~15;
    int32_t c, j, t;
    for (c = 0; c < cn; ++c) { /* |input_offset * sum w| <= 128 * taps * 128 */
        const int32_t oc = c0 + (c < n16 ? (c & ~15) + mve_dw_lane_channel(c & 15) : c);
        int32_t s = 0;
        for (t = 0; t < taps; ++t) {
            s += filter[t * ch + oc];
        }
        s = p->input_offset * s + (bias ? bias[oc] : 0);
        if (c >= n16) {
            constant[c - n16] = s;
            continue;
        }
        j = c & 15;
        groups[c / 16].constant[j] = s;
        groups[c / 16].multiplier[j] = multiplier[oc];
        groups[c / 16].left[j] = shift[oc] > 0 ? shift[oc] : 0;
        groups[c / 16].neg_right[j] = shift[oc] > 0 ? 0 : shift[oc];
    }
    for (c = 0; c < n16; c += 16) {
        for (j = 0; j < 4; ++j) {
            groups[c / 16].offset[j] = p->output_offset;
            groups[c / 16].lo[j] = p->act_min;
            groups[c / 16].hi[j] = p->act_max;
            groups[c / 16].lanes[j] = 2 * j;
        }
    }
}

/* 3x3 layers, stride 1 or 2, no dilation (every depthwise layer of the zoo): one output row
 * at a time from a ring of three input rows copied into a scratch layout [group of 8
 * channels][column][8 bytes], with the padding columns and rows filled with the input zero
 * point. In that layout the taps of a pixel and the next pixel of a group sit at fixed byte
 * offsets (8 per column), so one assembly loop per row and group walks pairs of output pixels
 * with immediate offsets only: per row of the window 3 weight loads (shared by both pixels), 4
 * (stride 1: neighbouring taps shared) or 5 input loads, 12 VMULLB/VMULLT and 12 VADD; the
 * requantization (requantize.h's sequence) of both pixels with one load per parameter, then
 * saturating narrows to int16 (VQMOVNB/VQMOVNT put the even and odd channels back in order),
 * offset and clamp on eight lanes, and two 8-byte stores (predicated for the last 1..7
 * channels). VQMOVN saturates a value outside int16 and VQADD.S16 a sum with the output offset
 * outside it: both only move values that lie far outside [act_min, act_max] (a range inside
 * int8) without crossing it, so the clamp gives the same byte. The VSHL step is branched over
 * when no channel has a positive shift (a shift by 0). 140 instructions per pair of pixels and
 * group of 8 channels (144 multiply-accumulates) at stride 1, 143 at stride 2, 6 more with
 * left shifts. */
#define MVE_DW_ROW_MAX_C 384
#define MVE_DW_RING_BYTES 12288

/* Per group of 8 channels: constant (input_offset * sum w + bias), multiplier, left shift,
 * negated right shift, each for the even channels (lanes of VMULLB) then the odd ones. */
typedef struct {
    int32_t constant[2][4], multiplier[2][4], left[2][4], neg_right[2][4];
} mve_dw8_group_t;

/* The fast paths' buffers, in the arena (DEPTHWISE_CONV_2D_SCRATCH_BYTES, planned by the code
 * generator for every DEPTHWISE_CONV_2D of a Helium target); the two paths never run at once. */
typedef union {
    struct {
        int8_t ring[MVE_DW_RING_BYTES];
        mve_dw8_group_t rec[MVE_DW_ROW_MAX_C / 8];
        int8_t wpack[MVE_DW_ROW_MAX_C * 9];
        int32_t constant[MVE_DW_ROW_MAX_C];
    } rows;
    struct {
        mve_dw_group_t groups[MVE_DW_CHUNK / 16];
        int32_t constant[16];
        int8_t pad_row[MVE_DW_MAX_C];
    } pixels;
} mve_dw_scratch_t;
_Static_assert(sizeof(mve_dw_scratch_t) <= DEPTHWISE_CONV_2D_SCRATCH_BYTES,
               "depthwise_conv_2d.h: DEPTHWISE_CONV_2D_SCRATCH_BYTES must hold mve_dw_scratch_t");

/* One call: `pairs` pairs of output pixels of one row, for `groups` groups; p[ky] points at
 * the first pixel's window column in ring row ky of the first group (group base + 8 * column,
 * the next group group_bytes further), out at its 8 outputs, ch bytes to the second pixel's
 * (0: one pixel, written last so the phantom second one is overwritten); w, g, lanes: the first
 * group's weights, record and channel count. The call advances the fields it walks. */
typedef struct {
    const int8_t *p[3];
    int8_t *out;
    int32_t ch, pairs;
    const int8_t *w;
    const mve_dw8_group_t *g;
    int32_t output_offset, lanes, group_bytes, groups;
    int16_t lo[8], hi[8];
    int32_t any_left; /* some channel has shift > 0 (else the VSHL step is branched over) */
} mve_dw_row_t;

_Static_assert(offsetof(mve_dw_row_t, out) == 12 && offsetof(mve_dw_row_t, ch) == 16 &&
                   offsetof(mve_dw_row_t, pairs) == 20 && offsetof(mve_dw_row_t, w) == 24 &&
                   offsetof(mve_dw_row_t, g) == 28 &&
                   offsetof(mve_dw_row_t, output_offset) == 32 &&
                   offsetof(mve_dw_row_t, lanes) == 36 &&
                   offsetof(mve_dw_row_t, group_bytes) == 40 &&
                   offsetof(mve_dw_row_t, groups) == 44 && offsetof(mve_dw_row_t, lo) == 48 &&
                   offsetof(mve_dw_row_t, hi) == 64 && offsetof(mve_dw_row_t, any_left) == 80,
               "mve_dw_row_t: the assembly's offsets");

/* x (q1 or q7) times w (q0) added to one pixel's accumulators (even, odd channels). */
#define MVE_DW_MAC(accb, acct, x)                                                                  \
    "vmullb.s16 q2, " x ", q0\n\t"                                                                \
    "vadd.i32 " accb ", " accb ", q2\n\t"                                                         \
    "vmullt.s16 q2, " x ", q0\n\t"                                                                \
    "vadd.i32 " acct ", " acct ", q2\n\t"
#define MVE_DW_P0(x) MVE_DW_MAC("q3", "q4", x)
#define MVE_DW_P1(x) MVE_DW_MAC("q5", "q6", x)
/* One row of the window, stride 1: columns c..c+3 (c advanced by 2 columns). */
#define MVE_DW_KY_S1(P, T0, T1, T2)                                                                \
    "vldrb.s16 q0, [%[w], #" T0 "]\n\t"                                                           \
    "vldrb.s16 q1, [" P "]\n\t" MVE_DW_P0("q1")                                                   \
    "vldrb.s16 q1, [" P ", #8]\n\t" MVE_DW_P1("q1")                                               \
    "vldrb.s16 q0, [%[w], #" T1 "]\n\t" MVE_DW_P0("q1")                                           \
    "vldrb.s16 q1, [" P ", #16]!\n\t" MVE_DW_P1("q1")                                             \
    "vldrb.s16 q0, [%[w], #" T2 "]\n\t" MVE_DW_P0("q1")                                           \
    "vldrb.s16 q1, [" P ", #8]\n\t" MVE_DW_P1("q1")
/* Stride 2: columns c..c+4 (c advanced by 4 columns); column c + 2 serves both pixels. */
#define MVE_DW_KY_S2(P, T0, T1, T2)                                                                \
    "vldrb.s16 q0, [%[w], #" T0 "]\n\t"                                                           \
    "vldrb.s16 q1, [" P "]\n\t" MVE_DW_P0("q1")                                                   \
    "vldrb.s16 q7, [" P ", #16]\n\t" MVE_DW_P1("q7")                                              \
    "vldrb.s16 q0, [%[w], #" T1 "]\n\t"                                                           \
    "vldrb.s16 q1, [" P ", #8]\n\t" MVE_DW_P0("q1")                                               \
    "vldrb.s16 q1, [" P ", #24]\n\t" MVE_DW_P1("q1")                                              \
    "vldrb.s16 q0, [%[w], #" T2 "]\n\t" MVE_DW_P0("q7")                                           \
    "vldrb.s16 q1, [" P ", #32]!\n\t" MVE_DW_P1("q1")
/* Lowering by one of the negative lanes and the rounding shift (q0: negated right shifts). */
#define MVE_DW_RSHIFT(a)                                                                           \
    "vand q1, " a ", q0\n\t"                                                                      \
    "vshr.s32 q1, q1, #31\n\t"                                                                    \
    "vqadd.s32 " a ", " a ", q1\n\t"                                                              \
    "vrshl.s32 " a ", " a ", q0\n\t"
#define MVE_DW_ROW_ASM(KY)                                                                         \
    __asm__ volatile(                                                                             \
        "0:\n\t"                                                                                           \
        "ldr %[off], [%[s], #40]\n\t"                                                                      \
        "ldr %[p0], [%[s], #0]\n\t"                                                                        \
        "add %[step], %[p0], %[off]\n\t"                                                                   \
        "str %[step], [%[s], #0]\n\t"                                                                      \
        "ldr %[p1], [%[s], #4]\n\t"                                                                        \
        "add %[step], %[p1], %[off]\n\t"                                                                   \
        "str %[step], [%[s], #4]\n\t"                                                                      \
        "ldr %[p2], [%[s], #8]\n\t"                                                                        \
        "add %[step], %[p2], %[off]\n\t"                                                                   \
        "str %[step], [%[s], #8]\n\t"                                                                      \
        "ldr %[w], [%[s], #24]\n\t"                                                                        \
        "add %[step], %[w], #72\n\t"                                                                       \
        "str %[step], [%[s], #24]\n\t"                                                                     \
        "ldr %[g], [%[s], #28]\n\t"                                                                        \
        "add %[step], %[g], #128\n\t"                                                                      \
        "str %[step], [%[s], #28]\n\t"                                                                     \
        "ldr %[o0], [%[s], #12]\n\t"                                                                       \
        "add %[step], %[o0], #8\n\t"                                                                       \
        "str %[step], [%[s], #12]\n\t"                                                                     \
        "ldr %[off], [%[s], #36]\n\t"                                                                      \
        "vctp.16 %[off]\n\t"                                                                               \
        "subs %[off], #8\n\t"                                                                              \
        "str %[off], [%[s], #36]\n\t"                                                                      \
        "ldr %[step], [%[s], #16]\n\t"                                                                     \
        "add %[o1], %[o0], %[step]\n\t"                                                                    \
        "lsls %[step], %[step], #1\n\t"                                                                    \
        "ldr %[off], [%[s], #32]\n\t"                                                                      \
        "ldr %[nl], [%[s], #80]\n\t"                                                              \
        "ldr lr, [%[s], #20]\n\t"                                                                          \
        "dls lr, lr\n"                                                                                     \
        "1:\n\t"                                                                                  \
        "vldrw.u32 q3, [%[g]]\n\t"                                                                \
        "vldrw.u32 q4, [%[g], #16]\n\t"                                                           \
        "vldrw.u32 q5, [%[g]]\n\t"                                                                \
        "vldrw.u32 q6, [%[g], #16]\n\t"                                                           \
        KY("%[p0]", "0", "8", "16") KY("%[p1]", "24", "32", "40") KY("%[p2]", "48", "56", "64")   \
        "cbz %[nl], 3f\n\t"                                                                       \
        "vldrw.u32 q0, [%[g], #64]\n\t"                                                           \
        "vshl.s32 q3, q3, q0\n\t"                                                                 \
        "vshl.s32 q5, q5, q0\n\t"                                                                 \
        "vldrw.u32 q0, [%[g], #80]\n\t"                                                           \
        "vshl.s32 q4, q4, q0\n\t"                                                                 \
        "vshl.s32 q6, q6, q0\n"                                                                    \
        "3:\n\t"                                                                                  \
        "vldrw.u32 q0, [%[g], #32]\n\t"                                                           \
        "vqrdmulh.s32 q3, q3, q0\n\t"                                                             \
        "vqrdmulh.s32 q5, q5, q0\n\t"                                                             \
        "vldrw.u32 q0, [%[g], #48]\n\t"                                                           \
        "vqrdmulh.s32 q4, q4, q0\n\t"                                                             \
        "vqrdmulh.s32 q6, q6, q0\n\t"                                                             \
        "vldrw.u32 q0, [%[g], #96]\n\t"                                                           \
        MVE_DW_RSHIFT("q3") MVE_DW_RSHIFT("q5")                                                   \
        "vldrw.u32 q0, [%[g], #112]\n\t"                                                          \
        MVE_DW_RSHIFT("q4") MVE_DW_RSHIFT("q6")                                                   \
        "vqmovnb.s32 q0, q3\n\t"                                                                  \
        "vqmovnt.s32 q0, q4\n\t"                                                                  \
        "vqmovnb.s32 q1, q5\n\t"                                                                  \
        "vqmovnt.s32 q1, q6\n\t"                                                                  \
        "vqadd.s16 q0, q0, %[off]\n\t"                                                            \
        "vqadd.s16 q1, q1, %[off]\n\t"                                                            \
        "vldrw.u32 q2, [%[s], #48]\n\t"                                                           \
        "vmax.s16 q0, q0, q2\n\t"                                                                 \
        "vmax.s16 q1, q1, q2\n\t"                                                                 \
        "vldrw.u32 q2, [%[s], #64]\n\t"                                                           \
        "vmin.s16 q0, q0, q2\n\t"                                                                 \
        "vmin.s16 q1, q1, q2\n\t"                                                                 \
        "vpstt\n\t"                                                                               \
        "vstrbt.16 q1, [%[o1]]\n\t"                                                               \
        "vstrbt.16 q0, [%[o0]]\n\t"                                                               \
        "add %[o0], %[step]\n\t"                                                                  \
        "add %[o1], %[step]\n\t"                                                                  \
        "le lr, 1b\n\t"                                                                                    \
        "ldr %[off], [%[s], #44]\n\t"                                                                      \
        "subs %[off], #1\n\t"                                                                              \
        "str %[off], [%[s], #44]\n\t"                                                                      \
        "bne 0b"                                                                                           \
        : [p0] "=&l"(p0), [p1] "=&l"(p1), [p2] "=&l"(p2), [w] "=&l"(w), [o0] "=&l"(o0),         \
          [o1] "=&l"(o1), [g] "=&r"(g), [off] "=&r"(off), [step] "=&r"(step), [nl] "=&l"(nl)      \
        : [s] "r"(s)                                                                              \
        : "q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "lr", "cc", "memory")

/* Per pair and group 140 (stride 1) or 143 (stride 2) instructions for 144 multiply-
 * accumulates, 6 more with left shifts. Not inlined: the operands need most registers. */
__attribute__((noinline)) static void mve_dw_row_s1(const mve_dw_row_t *s)
{
    const int8_t *p0, *p1, *p2, *w;
    int8_t *o0, *o1;
    const mve_dw8_group_t *g;
    int32_t off, step, nl;
    MVE_DW_ROW_ASM(MVE_DW_KY_S1);
}

__attribute__((noinline)) static void mve_dw_row_s2(const mve_dw_row_t *s)
{
    const int8_t *p0, *p1, *p2, *w;
    int8_t *o0, *o1;
    const mve_dw8_group_t *g;
    int32_t off, step, nl;
    MVE_DW_ROW_ASM(MVE_DW_KY_S2);
}
#undef MVE_DW_ROW_ASM
#undef MVE_DW_RSHIFT
#undef MVE_DW_KY_S1
#undef MVE_DW_KY_S2
#undef MVE_DW_P0
#undef MVE_DW_P1
#undef MVE_DW_MAC

/* Ring row `slot` := input row y of image, in the layout [group][column][8]: ring column x
 * holds input column x - pad_w; cols columns per group. Only the columns [x_lo, x_hi) inside
 * the input are written: the padding columns hold the input zero point from the layer's start
 * (mve_dw_rows fills the ring once), rows outside the input get it everywhere. Two groups per
 * pass: one 16-byte load of a pixel's channels, one word scatter store (VSTRW.32 with
 * write-back) puts its halves into both groups' columns, 4 instructions per column. */
static inline void mve_dw_ring_fill(const depthwise_conv_2d_params_t *p, const int8_t *image,
                                    int32_t y, int32_t cols, int8_t *slot)
{
    const int32_t ch = p->in_c;
    const int32_t groups = (ch + 7) / 8;
    const int8_t zp = (int8_t)(-p->input_offset);
    const int32_t x_lo = p->pad_w < cols ? p->pad_w : cols; /* [x_lo, x_hi): input columns */
    const int32_t x_end = p->pad_w + p->in_w;
    const int32_t x_hi = x_end < x_lo ? x_lo : (x_end > cols ? cols : x_end);
    const int32_t n = x_hi - x_lo;
    int32_t gi, x;
    if (y < 0 || y >= p->in_h) {
        mve_fill_s8(slot, zp, groups * cols * 8);
        return;
    }
    for (gi = 0; gi < groups; gi += 2) {
        int8_t *d0 = slot + gi * cols * 8 + x_lo * 8;
        const int32_t lanes = ch - 8 * gi < 16 ? ch - 8 * gi : 16;
        const int8_t *src = image + (y * p->in_w + x_lo - p->pad_w) * ch + 8 * gi;
        if (lanes > 8) {
            /* lanes: the addresses of the next column's two words in both groups, minus 8 */
            const uint32_t a0 = (uint32_t)(d0 - 8);
            const uint32_t a1 = a0 + (uint32_t)(cols * 8);
            uint32x4_t at = vsetq_lane_u32(
                a1 + 4, vsetq_lane_u32(a1, vsetq_lane_u32(a0 + 4, vdupq_n_u32(a0), 1), 2), 3);
            const mve_pred16_t pr = vctp8q((uint32_t)lanes);
            if (lanes == 16 && n > 0) {
                __asm__ volatile("dls lr, %[n]\n"
                                 "1:\n\t"
                                 "vldrb.8 q0, [%[src]]\n\t"
                                 "add %[src], %[ch]\n\t"
                                 "vstrw.32 q0, [%q[at], #8]!\n\t"
                                 "le lr, 1b"
                                 : [src] "+r"(src), [at] "+w"(at)
                                 : [n] "r"(n), [ch] "r"(ch)
                                 : "q0", "lr", "memory");
                continue;
            }
            for (x = 0; x < n; ++x, src += ch) {
                vstrwq_scatter_base_wb_s32(&at, 8, vreinterpretq_s32_s8(vldrbq_z_s8(src, pr)));
            }
        } else {
            const mve_pred16_t pr16 = vctp16q((uint32_t)lanes);
            for (x = 0; x < n; ++x, src += ch, d0 += 8) {
                vstrbq_s16(d0, vldrbq_z_s16(src, pr16));
            }
        }
    }
}

/* The 3x3 row path of depthwise_conv_2d_s8_mve (see above); returns 0 (nothing written) when
 * the layer is not 3x3, stride 1 or 2, dilation 1, at most MVE_DW_ROW_MAX_C channels and a
 * ring of at most MVE_DW_RING_BYTES. Scratch (mve_dw_scratch_t.rows): the ring, 128 bytes of
 * records, 72 of weights and 32 of constants per group (23 KiB at most). Not inlined: its frame
 * is not added to the pixel path's. */
__attribute__((noinline)) static int mve_dw_rows(const depthwise_conv_2d_params_t *p,
                                                 const int8_t *input, const int8_t *filter,
                                                 const int32_t *bias, const int32_t *multiplier,
                                                 const int32_t *shift, int8_t *output,
                                             mve_dw_scratch_t *s)
{
    const int32_t ch = p->in_c;
    const int32_t groups = (ch + 7) / 8;
    const int32_t stride = p->stride_w;
    const int32_t pairs_all = (p->out_w + 1) / 2;
    /* columns read: up to the phantom second pixel of the last pair */
    const int32_t cols = 2 * (pairs_all - 1) * stride + stride + 3;
    const int32_t slot_bytes = groups * cols * 8;
    int8_t *ring = s->rows.ring;
    mve_dw8_group_t *rec = s->rows.rec;
    int8_t *wpack = s->rows.wpack;
    int32_t *constant = s->rows.constant;
    int32_t held[3];
    mve_dw_row_t r __attribute__((aligned(16)));
    int32_t gi, j, t, b, oy, ky, c;
    if (p->k_h != 3 || p->k_w != 3 || p->dilation_h != 1 || p->dilation_w != 1 ||
        p->stride_h != stride || (stride != 1 && stride != 2) || ch > MVE_DW_ROW_MAX_C ||
        3 * slot_bytes > MVE_DW_RING_BYTES) {
        return 0;
    }
    for (c = 0; c < ch; c += 4) { /* constants, four channels at a time */
        const mve_pred16_t pr = vctp32q((uint32_t)(ch - c));
        int32x4_t sum = vdupq_n_s32(0);
        for (t = 0; t < 9; ++t) {
            sum = vaddq_s32(sum, vldrbq_z_s32(filter + t * ch + c, pr));
        }
        /* |input_offset * sum w| <= 128 * 9 * 128 */
        sum = vmulq_n_s32(sum, p->input_offset);
        if (bias) {
            sum = vaddq_s32(sum, vldrwq_z_s32(bias + c, pr));
        }
        vstrwq_p_s32(constant + c, sum, pr);
    }
    for (gi = 0; gi < groups; ++gi) {
        const mve_pred16_t pr = vctp16q((uint32_t)(ch - 8 * gi));
        for (t = 0; t < 9; ++t) { /* weights [group][tap][8], zeros past the last channel */
            vstrbq_s16(wpack + (gi * 9 + t) * 8, vldrbq_z_s16(filter + t * ch + 8 * gi, pr));
        }
        for (j = 0; j < 8; ++j) { /* lane j % 4 of the even (j < 4) or odd channels */
            const int32_t oc = 8 * gi + 2 * (j % 4) + j / 4;
            const int in = oc < ch;
            rec[gi].constant[j / 4][j % 4] = in ? constant[oc] : 0;
            rec[gi].multiplier[j / 4][j % 4] = in ? multiplier[oc] : 0;
            rec[gi].left[j / 4][j % 4] = in && shift[oc] > 0 ? shift[oc] : 0;
            rec[gi].neg_right[j / 4][j % 4] = in && shift[oc] < 0 ? shift[oc] : 0;
        }
    }
    r.output_offset = p->output_offset;
    r.any_left = mve_max_s32(shift, ch, 0) > 0;
    for (j = 0; j < 8; ++j) {
        r.lo[j] = (int16_t)p->act_min;
        r.hi[j] = (int16_t)p->act_max;
    }
    mve_fill_s8(ring, (int8_t)(-p->input_offset), 3 * slot_bytes); /* the padding columns */
    for (b = 0; b < p->batches; ++b) {
        const int8_t *image = input + b * p->in_h * p->in_w * ch;
        held[0] = held[1] = held[2] = INT32_MIN;
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t in_y0 = oy * stride - p->pad_h;
            int8_t *out_row = output + (b * p->out_h + oy) * p->out_w * ch;
            int8_t *row[3];
            for (ky = 0; ky < 3; ++ky) { /* rows of the window only: streaming contract */
                const int32_t y = in_y0 + ky;
                const int32_t slot = (y + 3 * p->pad_h + 3) % 3;
                row[ky] = ring + slot * slot_bytes;
                if (held[slot] != y) {
                    mve_dw_ring_fill(p, image, y, cols, row[ky]);
                    held[slot] = y;
                }
            }
            for (c = 0; c < 2; ++c) { /* the pairs of all groups, then an odd last pixel */
                const int32_t pairs = p->out_w / 2;
                const int32_t first = c ? 2 * pairs : 0;
                r.pairs = c ? p->out_w - 2 * pairs : pairs;
                if (!r.pairs) {
                    continue;
                }
                r.w = wpack;
                r.g = rec;
                r.lanes = ch;
                r.groups = groups;
                r.group_bytes = cols * 8;
                r.ch = c ? 0 : ch;
                r.out = out_row + first * ch;
                for (ky = 0; ky < 3; ++ky) {
                    r.p[ky] = row[ky] + first * stride * 8;
                }
                (stride == 1 ? mve_dw_row_s1 : mve_dw_row_s2)(&r);
            }
        }
    }
    return 1;
}

/* The pixel path (any window up to MVE_DW_MAX_TAPS taps, dilation, up to MVE_DW_MAX_C
 * channels): loop order batch, output row, channel chunk, column: output rows are written in
 * increasing order and no input row above the current row's window is read again, the contract
 * under which the arena planner lets the output start inside the input (docs/codegen.md,
 * streaming overlap). With more than one chunk (over MVE_DW_CHUNK channels) the records are
 * rebuilt per row. */
__attribute__((noinline)) static int mve_dw_pixels(const depthwise_conv_2d_params_t *p,
                                                   const int8_t *input, const int8_t *filter,
                                                   const int32_t *bias,
                                                   const int32_t *multiplier,
                                                   const int32_t *shift, int8_t *output,
                                               mve_dw_scratch_t *s)
{
    const int32_t ch = p->in_c;
    const int32_t taps = p->k_h * p->k_w;
    const int32_t span_h = (p->k_h - 1) * p->dilation_h; /* window extent - 1 */
    const int32_t span_w = (p->k_w - 1) * p->dilation_w;
    const int one_chunk = ch <= MVE_DW_CHUNK;
    mve_dw_group_t *groups = s->pixels.groups;
    int32_t *constant = s->pixels.constant;
    int8_t *pad_row = s->pixels.pad_row;
    const int8_t *tap[MVE_DW_MAX_TAPS];
    int32_t tap_offset[MVE_DW_MAX_TAPS];
    int32_t c0, b, oy, ox, ky, kx, t, c;
    if (taps > MVE_DW_MAX_TAPS || ch > MVE_DW_MAX_C) {
        return 0;
    }
    mve_fill_s8(pad_row, (int8_t)(-p->input_offset), ch);
    for (ky = 0, t = 0; ky < p->k_h; ++ky) {
        for (kx = 0; kx < p->k_w; ++kx, ++t) {
            tap_offset[t] = (ky * p->dilation_h * p->in_w + kx * p->dilation_w) * ch;
        }
    }
    if (one_chunk) {
        mve_dw_prepare(p, filter, bias, multiplier, shift, 0, ch, groups, constant);
    }
    for (b = 0; b < p->batches; ++b) {
        const int8_t *image = input + b * p->in_h * p->in_w * ch;
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t in_y0 = oy * p->stride_h - p->pad_h;
            int8_t *out_row = output + ((b * p->out_h + oy) * p->out_w) * ch;
            for (c0 = 0; c0 < ch; c0 += MVE_DW_CHUNK) {
                const int32_t cn = ch - c0 < MVE_DW_CHUNK ? ch - c0 : MVE_DW_CHUNK;
                const int32_t n16 = cn & ~15;
                int8_t *out = out_row;
                if (!one_chunk) {
                    mve_dw_prepare(p, filter, bias, multiplier, shift, c0, cn, groups, constant);
                }
                for (ox = 0; ox < p->out_w; ++ox, out += ch) {
                    const int32_t in_x0 = ox * p->stride_w - p->pad_w;
                    const int inside = in_y0 >= 0 && in_y0 + span_h < p->in_h && in_x0 >= 0 &&
                                       in_x0 + span_w < p->in_w;
                    if (inside) { /* every tap inside the input: fixed offsets */
                        const int8_t *base = image + (in_y0 * p->in_w + in_x0) * ch;
                        for (t = 0; t < taps; ++t) {
                            tap[t] = base + tap_offset[t];
                        }
                    } else {
                        for (ky = 0, t = 0; ky < p->k_h; ++ky) {
                            const int32_t in_y = in_y0 + ky * p->dilation_h;
                            const int row_ok = in_y >= 0 && in_y < p->in_h;
                            for (kx = 0; kx < p->k_w; ++kx, ++t) {
                                const int32_t in_x = in_x0 + kx * p->dilation_w;
                                tap[t] = (row_ok && in_x >= 0 && in_x < p->in_w)
                                             ? image + (in_y * p->in_w + in_x) * ch
                                             : pad_row;
                            }
                        }
                    }
                    if (n16) {
                        mve_dw_pixel16(tap, taps, filter, ch, c0, c0 + n16, groups, out + c0);
                    }
                    for (c = c0 + n16; c < c0 + cn; c += 4) { /* the last 1..15 channels */
                        const mve_pred16_t pr = vctp32q((uint32_t)(c0 + cn - c));
                        int32x4_t a = vldrwq_z_s32(constant + (c - c0 - n16), pr);
                        const int8_t *w = filter + c;
                        for (t = 0; t < taps; ++t, w += ch) {
                            a = vaddq_s32(a, vmulq_s32(vldrbq_z_s32(tap[t] + c, pr),
                                                       vldrbq_z_s32(w, pr)));
                        }
                        mve_requantize_store_s8(out + c, a, multiplier + c, shift + c,
                                                p->output_offset, p->act_min, p->act_max,
                                                c0 + cn - c);
                    }
                }
            }
        }
    }
    return 1;
}
/* The 3x3 row path when it applies, else the pixel path (each in its own frame, not inlined),
 * both with their buffers in `scratch` (DEPTHWISE_CONV_2D_SCRATCH_BYTES of the arena); NULL:
 * declines. */
static inline int depthwise_conv_2d_s8_mve(const depthwise_conv_2d_params_t *p,
                                           const int8_t *input, const int8_t *filter,
                                           const int32_t *bias, const int32_t *multiplier,
                                           const int32_t *shift, int8_t *output, void *scratch)
{
    mve_dw_scratch_t *s = (mve_dw_scratch_t *)scratch;
    if (p->depth_multiplier != 1 || p->in_c <= 0 || s == NULL) {
        return 0;
    }
    if (mve_dw_rows(p, input, filter, bias, multiplier, shift, output, s)) {
        return 1;
    }
    return mve_dw_pixels(p, input, filter, bias, multiplier, shift, output, s);
}
#endif /* REID_MVE */

#endif /* REID_KERNELS_MVE_DEPTHWISE_CONV_2D_H */
