/* pool.c: reference int8 pooling, the oracle's reference_integer_ops::MaxPool / AveragePool.
 * Input and output share one quantization (the converter guarantees it; the generator
 * checks it), so no requantization: the window is clipped to the image, padded taps are
 * skipped, and AVERAGE divides by the number of taps actually read, rounding half away from
 * zero, exactly as the oracle does. */
#include "pool.h"

static int32_t pool_max(int32_t a, int32_t b) { return a > b ? a : b; }
static int32_t pool_min(int32_t a, int32_t b) { return a < b ? a : b; }

typedef int32_t (*pool_window_fn)(const pool_params_t *p, const int8_t *input, int32_t b,
                                  int32_t y0, int32_t x0, int32_t c, int32_t fy0, int32_t fy1,
                                  int32_t fx0, int32_t fx1);

static int32_t window_max(const pool_params_t *p, const int8_t *input, int32_t b, int32_t y0,
                          int32_t x0, int32_t c, int32_t fy0, int32_t fy1, int32_t fx0,
                          int32_t fx1)
{
    int32_t fy, fx;
    int32_t best = -128;
    for (fy = fy0; fy < fy1; ++fy) {
        for (fx = fx0; fx < fx1; ++fx) {
            const int64_t idx = (((int64_t)b * p->in_h + (y0 + fy)) * p->in_w + (x0 + fx)) *
                                p->channels + c;
            best = pool_max(best, input[idx]);
        }
    }
    return best;
}

static int32_t window_average(const pool_params_t *p, const int8_t *input, int32_t b,
                              int32_t y0, int32_t x0, int32_t c, int32_t fy0, int32_t fy1,
                              int32_t fx0, int32_t fx1)
{
    int32_t fy, fx;
    int32_t acc = 0;
    int32_t count = 0;
    for (fy = fy0; fy < fy1; ++fy) {
        for (fx = fx0; fx < fx1; ++fx) {
            const int64_t idx = (((int64_t)b * p->in_h + (y0 + fy)) * p->in_w + (x0 + fx)) *
                                p->channels + c;
            acc += input[idx];
            ++count;
        }
    }
    if (count == 0) {
        return 0; /* the generator rejects windows that read nothing */
    }
    /* C99 division truncates toward zero; the +-count/2 makes it round half away. */
    return acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
}

static void pool_s8(const pool_params_t *p, const int8_t *input, int8_t *output,
                    pool_window_fn window)
{
    int32_t b, oy, ox, c;
    int64_t out = 0;
    for (b = 0; b < p->batches; ++b) {
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            const int32_t fy0 = pool_max(0, -y0);
            const int32_t fy1 = pool_min(p->filter_h, p->in_h - y0);
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                const int32_t fx0 = pool_max(0, -x0);
                const int32_t fx1 = pool_min(p->filter_w, p->in_w - x0);
                for (c = 0; c < p->channels; ++c) {
                    int32_t v = window(p, input, b, y0, x0, c, fy0, fy1, fx0, fx1);
                    v = pool_min(pool_max(v, p->act_min), p->act_max);
                    output[out++] = (int8_t)v;
                }
            }
        }
    }
}

void max_pool_s8(const pool_params_t *p, const int8_t *input, int8_t *output)
{
    pool_s8(p, input, output, window_max);
}

void average_pool_s8(const pool_params_t *p, const int8_t *input, int8_t *output)
{
    pool_s8(p, input, output, window_average);
}
