/* Convolution kernels. See tg_conv.h.
 *
 * Why two bias arrays: sum((x + off) * w) = sum(x * w) + off * sum(w). Where the whole window lies
 * inside the input (almost every output), off * sum(w) is a constant folded into the bias at
 * generation time, and the inner loop is a plain int8 dot product. Windows that touch padding
 * use the raw bias and add the offset to the taps that exist (padding contributes 0 exactly as
 * TFLite-Micro skips it). Integer sums are exact, so both routes give identical accumulators. */
#include "tg_conv.h"

int32_t tg_dot_s8(const int8_t *x, const int8_t *w, int32_t n)
{
    int32_t acc = 0;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        acc += (int32_t)x[i] * w[i] + (int32_t)x[i + 1] * w[i + 1] +
               (int32_t)x[i + 2] * w[i + 2] + (int32_t)x[i + 3] * w[i + 3];
    }
    for (; i < n; ++i) {
        acc += (int32_t)x[i] * w[i];
    }
    return acc;
}

int32_t tg_dot_offset_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t x_offset)
{
    int32_t acc = 0;
    int32_t i;
    for (i = 0; i < n; ++i) {
        acc += ((int32_t)x[i] + x_offset) * w[i];
    }
    return acc;
}

static int8_t requantize_out(int32_t acc, int32_t mult, int32_t shift, int32_t out_offset,
                             int32_t act_min, int32_t act_max)
{
    return tg_clamp_s8(tg_requantize(acc, mult, shift) + out_offset, act_min, act_max);
}

/* First tap index k in [0, taps) whose input position origin + k*dil is >= 0. */
static int32_t first_valid_tap(int32_t origin, int32_t dil, int32_t taps)
{
    int32_t k = origin < 0 ? (-origin + dil - 1) / dil : 0;
    return k < taps ? k : taps;
}

/* One past the last tap index whose input position origin + k*dil is < size. */
static int32_t end_valid_tap(int32_t origin, int32_t dil, int32_t taps, int32_t size)
{
    int32_t room = size - origin;
    int32_t k = room > 0 ? (room + dil - 1) / dil : 0;
    return k < taps ? k : taps;
}

int tg_conv1d_s8(const tg_conv1d_params_t *p, const int8_t *in, int8_t *out)
{
    const int32_t window = p->k * p->in_c;
    int32_t ox, oc;
    for (ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride - p->pad;
        const int32_t k_lo = first_valid_tap(ix0, p->dil, p->k);
        const int32_t k_hi = end_valid_tap(ix0, p->dil, p->k, p->in_w);
        const int full = (k_lo == 0 && k_hi == p->k);
        const int8_t *x = in + ix0 * p->in_c;
        const int8_t *w = p->weights;
        for (oc = 0; oc < p->out_c; ++oc, w += window) {
            int32_t acc;
            if (full && p->dil == 1) {
                acc = p->bias_folded[oc] + tg_dot_s8(x, w, window);
            } else if (p->dil == 1) {
                acc = p->bias[oc] + tg_dot_offset_s8(x + k_lo * p->in_c, w + k_lo * p->in_c,
                                                     (k_hi - k_lo) * p->in_c, p->in_offset);
            } else {
                int32_t k;
                acc = p->bias[oc];
                for (k = k_lo; k < k_hi; ++k) {
                    acc += tg_dot_offset_s8(x + k * p->dil * p->in_c, w + k * p->in_c, p->in_c,
                                            p->in_offset);
                }
            }
            *out++ = requantize_out(acc, p->mult[oc], p->shift[oc], p->out_offset, p->act_min,
                                    p->act_max);
        }
    }
    return TG_OK;
}

int tg_conv2d_s8(const tg_conv_params_t *p, const int8_t *in, int8_t *out)
{
    const int32_t row = p->k_w * p->in_c;
    const int32_t window = p->k_h * row;
    int32_t oy, ox, oc, ky, kx;
    for (oy = 0; oy < p->out_h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_top;
        const int32_t ky_lo = first_valid_tap(iy0, p->dil_h, p->k_h);
        const int32_t ky_hi = end_valid_tap(iy0, p->dil_h, p->k_h, p->in_h);
        for (ox = 0; ox < p->out_w; ++ox) {
            const int32_t ix0 = ox * p->stride_w - p->pad_left;
            const int32_t kx_lo = first_valid_tap(ix0, p->dil_w, p->k_w);
            const int32_t kx_hi = end_valid_tap(ix0, p->dil_w, p->k_w, p->in_w);
            const int full = ky_lo == 0 && ky_hi == p->k_h && kx_lo == 0 && kx_hi == p->k_w;
            const int8_t *w = p->weights;
            for (oc = 0; oc < p->out_c; ++oc, w += window) {
                int32_t acc = full ? p->bias_folded[oc] : p->bias[oc];
                for (ky = ky_lo; ky < ky_hi; ++ky) {
                    const int8_t *xr = in + ((iy0 + ky * p->dil_h) * p->in_w + ix0) * p->in_c;
                    const int8_t *wr = w + ky * row;
                    if (full && p->dil_w == 1) {
                        acc += tg_dot_s8(xr, wr, row);
                    } else if (p->dil_w == 1) {
                        acc += tg_dot_offset_s8(xr + kx_lo * p->in_c, wr + kx_lo * p->in_c,
                                                (kx_hi - kx_lo) * p->in_c, p->in_offset);
                    } else {
                        for (kx = kx_lo; kx < kx_hi; ++kx) {
                            const int8_t *xp = xr + kx * p->dil_w * p->in_c;
                            acc += full ? tg_dot_s8(xp, wr + kx * p->in_c, p->in_c)
                                        : tg_dot_offset_s8(xp, wr + kx * p->in_c, p->in_c,
                                                           p->in_offset);
                        }
                    }
                }
                *out++ = requantize_out(acc, p->mult[oc], p->shift[oc], p->out_offset,
                                        p->act_min, p->act_max);
            }
        }
    }
    return TG_OK;
}
