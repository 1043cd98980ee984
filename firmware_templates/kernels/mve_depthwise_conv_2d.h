/* mve_depthwise_conv_2d.h: DEPTHWISE_CONV_2D (depth multiplier 1) on Helium (MVE), the same
 * bits as the reference loop in depthwise_conv_2d.c.
 *
 * Channels are the vector lanes: per tap, 8 channels of input and filter are loaded widened to
 * int16 and multiplied into int32 products (VMULLB: even channels, VMULLT: odd channels; an
 * int8 product fits int16), added to int32 accumulators; 16 channels per step in an assembly
 * loop over the taps (mve_dw_pixel16), then 4-lane predicated steps for the last 1..15. For each output
 * pixel a table holds each tap's input pixel, or a row of input zero points for taps outside
 * the input, so
 *     acc[c] = sum x * w + input_offset * sum w + bias[c]
 * equals the reference's sum over valid taps of (x + input_offset) * w + bias: a padded tap
 * holds x = -input_offset and contributes 0. The per-channel constant input_offset * sum w +
 * bias is computed once per call, with the split shifts, into one record per 16 channels in the
 * accumulators' lane order. Requantization: requantize_x4(_split), four channels at a time.
 *
 * depthwise_conv_2d_s8_mve() returns 0 without writing when the layer is outside its bounds
 * (depth multiplier != 1, more than MVE_DW_MAX_TAPS taps or MVE_DW_MAX_C channels); the caller
 * then runs the reference loop. */
#ifndef REID_KERNELS_MVE_DEPTHWISE_CONV_2D_H
#define REID_KERNELS_MVE_DEPTHWISE_CONV_2D_H

#include "depthwise_conv_2d.h"
#include "mve_s8.h"

#if REID_MVE
/* Stack use: MVE_DW_MAX_C bytes of zero-point row, MVE_DW_CHUNK / 16 records of 320 bytes
 * (10 KiB), 8 * MVE_DW_MAX_TAPS bytes of tap tables. */
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

/* Loop order batch, output row, channel chunk, column: output rows are written in increasing
 * order and no input row above the current row's window is read again, the contract under
 * which the arena planner lets the output start inside the input (docs/codegen.md, streaming
 * overlap). With more than one chunk (over MVE_DW_CHUNK channels) the records are rebuilt per
 * row. */
static inline int depthwise_conv_2d_s8_mve(const depthwise_conv_2d_params_t *p,
                                           const int8_t *input, const int8_t *filter,
                                           const int32_t *bias, const int32_t *multiplier,
                                           const int32_t *shift, int8_t *output)
{
    const int32_t ch = p->in_c;
    const int32_t taps = p->k_h * p->k_w;
    const int32_t span_h = (p->k_h - 1) * p->dilation_h; /* window extent - 1 */
    const int32_t span_w = (p->k_w - 1) * p->dilation_w;
    const int one_chunk = ch <= MVE_DW_CHUNK;
    mve_dw_group_t groups[MVE_DW_CHUNK / 16] __attribute__((aligned(16)));
    int32_t constant[16] __attribute__((aligned(16)));
    int8_t pad_row[MVE_DW_MAX_C] __attribute__((aligned(16)));
    const int8_t *tap[MVE_DW_MAX_TAPS];
    int32_t tap_offset[MVE_DW_MAX_TAPS];
    int32_t c0, b, oy, ox, ky, kx, t, c;
    if (p->depth_multiplier != 1 || taps > MVE_DW_MAX_TAPS || ch > MVE_DW_MAX_C || ch <= 0) {
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
#endif /* REID_MVE */

#endif /* REID_KERNELS_MVE_DEPTHWISE_CONV_2D_H */
