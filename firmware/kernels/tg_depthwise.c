/* Depthwise convolution. Weights are stored per output channel (all taps of one channel
 * contiguous) because that is the order this loop reads them; the zero-point is folded into the
 * bias for windows without padding, as in tg_conv.c. */
#include "tg_depthwise.h"

static int32_t first_tap(int32_t origin, int32_t dil, int32_t taps)
{
    int32_t k = origin < 0 ? (-origin + dil - 1) / dil : 0;
    return k < taps ? k : taps;
}

static int32_t end_tap(int32_t origin, int32_t dil, int32_t taps, int32_t size)
{
    int32_t room = size - origin;
    int32_t k = room > 0 ? (room + dil - 1) / dil : 0;
    return k < taps ? k : taps;
}

int tg_depthwise_s8(const tg_depthwise_params_t *p, const int8_t *in, int8_t *out)
{
    const int32_t taps = p->k_h * p->k_w;
    int32_t oy, ox, ic, m, ky, kx;
    for (oy = 0; oy < p->out_h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_top;
        const int32_t ky_lo = first_tap(iy0, p->dil_h, p->k_h);
        const int32_t ky_hi = end_tap(iy0, p->dil_h, p->k_h, p->in_h);
        for (ox = 0; ox < p->out_w; ++ox) {
            const int32_t ix0 = ox * p->stride_w - p->pad_left;
            const int32_t kx_lo = first_tap(ix0, p->dil_w, p->k_w);
            const int32_t kx_hi = end_tap(ix0, p->dil_w, p->k_w, p->in_w);
            const int full = ky_lo == 0 && ky_hi == p->k_h && kx_lo == 0 && kx_hi == p->k_w;
            const int32_t x_off = full ? 0 : p->in_offset;
            const int8_t *x0 = in + (iy0 * p->in_w + ix0) * p->in_c;
            int32_t oc = 0;
            for (ic = 0; ic < p->in_c; ++ic) {
                for (m = 0; m < p->depth_mult; ++m, ++oc) {
                    const int8_t *w = p->weights + oc * taps;
                    int32_t acc = full ? p->bias_folded[oc] : p->bias[oc];
                    for (ky = ky_lo; ky < ky_hi; ++ky) {
                        const int8_t *xr = x0 + ky * p->dil_h * p->in_w * p->in_c + ic;
                        const int8_t *wr = w + ky * p->k_w;
                        for (kx = kx_lo; kx < kx_hi; ++kx) {
                            acc += ((int32_t)xr[kx * p->dil_w * p->in_c] + x_off) * wr[kx];
                        }
                    }
                    *out++ = tg_clamp_s8(tg_requantize(acc, p->mult[oc], p->shift[oc]) +
                                             p->out_offset, p->act_min, p->act_max);
                }
            }
        }
    }
    return TG_OK;
}
