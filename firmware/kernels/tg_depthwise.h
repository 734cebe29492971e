/* Depthwise convolution, int8, per-channel weights, any depth multiplier.
 * Arithmetic matches TFLite-Micro's reference integer DepthwiseConvPerChannel exactly.
 *
 * Weights keep TFLite's layout [k_h][k_w][out_c]: at one tap, neighbouring channels are
 * neighbouring bytes in both the input (NHWC) and the weights, so with depth multiplier 1 the
 * DSP path handles four channels per word: SXTB16 splits input and weights into int16 lanes and
 * SMLABB/SMLATT accumulate each channel separately. Windows that touch padding add the input
 * offset to the lanes with SADD16 and start from the raw bias; whole windows start from the
 * folded bias (bias + in_offset * sum(w)) and use the raw bytes. Integer sums are exact.
 * As for conv, the generated code calls tg_depthwise_inline from a per-layer function with a
 * `static const` parameter struct, so every shape is a compile-time constant. */
#ifndef TG_DEPTHWISE_H
#define TG_DEPTHWISE_H

#include "tg_runtime.h"
#include "tg_simd.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"
#endif

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 8
#define TG_UNROLL_TAPS _Pragma("GCC unroll 25")
#else
#define TG_UNROLL_TAPS
#endif

#if defined(__GNUC__) && !defined(__clang__)
/* Per-layer functions are hot: -O2 even in a -Os build; no pre-RA scheduling, which only adds
 * register pressure (spills) to these SMLAD chains on a single-issue-ish in-order core. */
#define TG_DW_NOINLINE __attribute__((noinline, optimize("O2", "no-schedule-insns")))
#elif defined(__GNUC__)
#define TG_DW_NOINLINE __attribute__((noinline))
#else
#define TG_DW_NOINLINE
#endif

typedef struct {
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c, depth_mult;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w, dil_h, dil_w;
    int32_t pad_top, pad_left;
    int32_t in_offset, out_offset, act_min, act_max;
    int32_t rq_fast;            /* 1: tg_rq_fast's preconditions hold (checked offline) */
    const int8_t *weights;      /* [k_h][k_w][out_c], as TFLite stores it */
    const int32_t *bias;
    const int32_t *bias_folded; /* bias + in_offset * sum(weights of oc) */
    const int32_t *mult;
    const int32_t *shift;
    const int32_t *rq;          /* rq_fast: per channel {mult, 2^(e-1) + (out_offset << e), e}, e = -shift */
} tg_depthwise_params_t;

int tg_depthwise_s8(const tg_depthwise_params_t *p, const int8_t *in, int8_t *out);

TG_INLINE int8_t tg_dw_out(const tg_depthwise_params_t *p, int32_t acc, int32_t oc)
{
    if (p->rq_fast) {
        const int32_t v = tg_rq_fast(acc, p->rq[3 * oc], p->rq[3 * oc + 1], p->rq[3 * oc + 2]);
        return tg_clamp_act(v, p->act_min, p->act_max);
    }
    return tg_rq_s8(acc, p->mult[oc], p->shift[oc], p->out_offset, p->act_min, p->act_max);
}

TG_INLINE int32_t tg_dw_first_tap(int32_t origin, int32_t dil, int32_t taps)
{
    int32_t k = origin < 0 ? (-origin + dil - 1) / dil : 0;
    return k < taps ? k : taps;
}

TG_INLINE int32_t tg_dw_end_tap(int32_t origin, int32_t dil, int32_t taps, int32_t size)
{
    int32_t room = size - origin;
    int32_t k = room > 0 ? (room + dil - 1) / dil : 0;
    return k < taps ? k : taps;
}

/* All output channels of one position whose window origin is (iy0, ix0); taps [ky_lo, ky_hi) x
 * [kx_lo, kx_hi) exist. `full`: no tap is padding (folded bias, raw bytes). */
TG_INLINE void tg_dw_point(const tg_depthwise_params_t *p, const int8_t *in, int8_t *out,
                           int32_t iy0, int32_t ix0, int32_t ky_lo, int32_t ky_hi, int32_t kx_lo,
                           int32_t kx_hi, int full)
{
    const int32_t C = p->out_c;
    const int8_t *x0 = in + (iy0 * p->in_w + ix0) * p->in_c;
    const int32_t *bias = full ? p->bias_folded : p->bias;
    const int32_t off = full ? 0 : p->in_offset;
    int32_t c = 0, ky, kx;
    if (p->depth_mult == 1) {
#if TG_DSP
        const uint32_t off2 = ((uint32_t)(uint16_t)off << 16) | (uint16_t)off;
        for (; c + 4 <= C; c += 4) {
            int32_t a0 = bias[c], a1 = bias[c + 1], a2 = bias[c + 2], a3 = bias[c + 3];
            for (ky = ky_lo; ky < ky_hi; ++ky) {
                const int8_t *xr = x0 + ky * p->dil_h * p->in_w * C + c;
                const int8_t *wr = p->weights + ky * p->k_w * C + c;
                for (kx = kx_lo; kx < kx_hi; ++kx) {
                    const uint32_t xv = tg_ld32(xr + kx * p->dil_w * C);
                    const uint32_t wv = tg_ld32(wr + kx * C);
                    uint32_t xe = tg_sxtb16(xv), xo = tg_sxtb16_ror8(xv);
                    const uint32_t we = tg_sxtb16(wv), wo = tg_sxtb16_ror8(wv);
                    if (!full) {
                        xe = tg_sadd16(xe, off2);
                        xo = tg_sadd16(xo, off2);
                    }
                    a0 = tg_smlabb(xe, we, a0);
                    a2 = tg_smlatt(xe, we, a2);
                    a1 = tg_smlabb(xo, wo, a1);
                    a3 = tg_smlatt(xo, wo, a3);
                }
            }
            out[c] = tg_dw_out(p, a0, c);
            out[c + 1] = tg_dw_out(p, a1, c + 1);
            out[c + 2] = tg_dw_out(p, a2, c + 2);
            out[c + 3] = tg_dw_out(p, a3, c + 3);
        }
#endif
        for (; c + 2 <= C; c += 2) {
            int32_t a0 = bias[c], a1 = bias[c + 1];
            for (ky = ky_lo; ky < ky_hi; ++ky) {
                const int8_t *xr = x0 + ky * p->dil_h * p->in_w * C + c;
                const int8_t *wr = p->weights + ky * p->k_w * C + c;
                for (kx = kx_lo; kx < kx_hi; ++kx) {
                    const int8_t *xp = xr + kx * p->dil_w * C;
                    const int8_t *wp = wr + kx * C;
                    a0 += ((int32_t)xp[0] + off) * wp[0];
                    a1 += ((int32_t)xp[1] + off) * wp[1];
                }
            }
            out[c] = tg_dw_out(p, a0, c);
            out[c + 1] = tg_dw_out(p, a1, c + 1);
        }
    }
    for (; c < C; ++c) {
        const int32_t ic = c / p->depth_mult;
        int32_t acc = bias[c];
        for (ky = ky_lo; ky < ky_hi; ++ky) {
            const int8_t *xr = x0 + ky * p->dil_h * p->in_w * p->in_c + ic;
            const int8_t *wr = p->weights + ky * p->k_w * C + c;
            for (kx = kx_lo; kx < kx_hi; ++kx) {
                acc += ((int32_t)xr[kx * p->dil_w * p->in_c] + off) * wr[kx * C];
            }
        }
        out[c] = tg_dw_out(p, acc, c);
    }
}

/* A whole window, depth multiplier 1, DSP: four channels per word, every tap unrolled (the kernel
 * size is a compile-time constant in the per-layer function), folded bias, raw bytes. */
TG_INLINE void tg_dw_point_full(const tg_depthwise_params_t *p, const int8_t *in, int8_t *out,
                                int32_t iy0, int32_t ix0)
{
#if TG_DSP
    const int32_t C = p->out_c;
    const int8_t *x0 = in + (iy0 * p->in_w + ix0) * C;
    int32_t c = 0, t;
    for (; c + 4 <= C; c += 4) {
        int32_t a0 = p->bias_folded[c], a1 = p->bias_folded[c + 1];
        int32_t a2 = p->bias_folded[c + 2], a3 = p->bias_folded[c + 3];
        TG_UNROLL_TAPS
        for (t = 0; t < p->k_h * p->k_w; ++t) {
            const int32_t ky = t / p->k_w, kx = t % p->k_w;
            const uint32_t xv = tg_ld32(x0 + (ky * p->dil_h * p->in_w + kx * p->dil_w) * C + c);
            const uint32_t wv = tg_ld32(p->weights + t * C + c);
            const uint32_t xe = tg_sxtb16(xv), xo = tg_sxtb16_ror8(xv);
            const uint32_t we = tg_sxtb16(wv), wo = tg_sxtb16_ror8(wv);
            a0 = tg_smlabb(xe, we, a0);
            a2 = tg_smlatt(xe, we, a2);
            a1 = tg_smlabb(xo, wo, a1);
            a3 = tg_smlatt(xo, wo, a3);
        }
        out[c] = tg_dw_out(p, a0, c);
        out[c + 1] = tg_dw_out(p, a1, c + 1);
        out[c + 2] = tg_dw_out(p, a2, c + 2);
        out[c + 3] = tg_dw_out(p, a3, c + 3);
    }
    for (; c < C; ++c) {
        int32_t acc = p->bias_folded[c];
        for (t = 0; t < p->k_h * p->k_w; ++t) {
            const int32_t ky = t / p->k_w, kx = t % p->k_w;
            acc += (int32_t)x0[(ky * p->dil_h * p->in_w + kx * p->dil_w) * C + c] *
                   p->weights[t * C + c];
        }
        out[c] = tg_dw_out(p, acc, c);
    }
#else
    tg_dw_point(p, in, out, iy0, ix0, 0, p->k_h, 0, p->k_w, 1);
#endif
}

TG_INLINE void tg_depthwise_inline(const tg_depthwise_params_t *p, const int8_t *in, int8_t *out)
{
    int32_t oy, ox;
    for (oy = 0; oy < p->out_h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_top;
        const int32_t ky_lo = tg_dw_first_tap(iy0, p->dil_h, p->k_h);
        const int32_t ky_hi = tg_dw_end_tap(iy0, p->dil_h, p->k_h, p->in_h);
        for (ox = 0; ox < p->out_w; ++ox, out += p->out_c) {
            const int32_t ix0 = ox * p->stride_w - p->pad_left;
            const int32_t kx_lo = tg_dw_first_tap(ix0, p->dil_w, p->k_w);
            const int32_t kx_hi = tg_dw_end_tap(ix0, p->dil_w, p->k_w, p->in_w);
            if (ky_lo == 0 && ky_hi == p->k_h && kx_lo == 0 && kx_hi == p->k_w) {
                if (p->depth_mult == 1) {
                    tg_dw_point_full(p, in, out, iy0, ix0);
                } else {
                    tg_dw_point(p, in, out, iy0, ix0, 0, p->k_h, 0, p->k_w, 1);
                }
            } else {
                tg_dw_point(p, in, out, iy0, ix0, ky_lo, ky_hi, kx_lo, kx_hi, 0);
            }
        }
    }
}

#endif
