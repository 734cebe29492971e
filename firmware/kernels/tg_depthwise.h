/* Depthwise convolution, int8, per-channel weights, any depth multiplier.
 * Arithmetic matches TFLite-Micro's reference integer DepthwiseConvPerChannel exactly.
 *
 * Every layer without width dilation takes the channel-plane route (tg_dw_planes, below): each
 * input channel's band of rows is copied into an int16 plane (arena scratch) padded with the
 * zero point, so two neighbouring taps are one word for SMLAD and borders need no special case.
 * (One input channel never gets here: tinygen lowers it as a convolution.) Layers with width
 * dilation take the per-position route: weights keep TFLite's layout [k_h][k_w][out_c], and
 * with depth multiplier 1 the DSP path handles four channels per word (SXTB16 + SMLABB/SMLATT);
 * windows that touch padding add the input offset and start from the raw bias, whole windows
 * start from the folded bias (bias + in_offset * sum(w)). Integer sums are exact.
 * As for conv, the generated code calls tg_depthwise_inline from a per-layer function with a
 * `static const` parameter struct, so every shape is a compile-time constant. */
#ifndef TG_DEPTHWISE_H
#define TG_DEPTHWISE_H

#include "tg_runtime.h"
#include "tg_simd.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"
#endif

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 8 && !defined(TG_GENERIC)
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
    int32_t plane_w, band;      /* channel-plane route: plane row length, output rows per band
                                   (band 0: the per-position route, no scratch) */
    const int8_t *weights;      /* [k_h][k_w][out_c], as TFLite stores it */
    const int32_t *bias;
    const int32_t *bias_folded; /* bias + in_offset * sum(weights of oc) */
    const int32_t *mult;
    const int32_t *shift;
    const int32_t *rq;          /* rq_fast: per channel {mult, 2^(e-1) + (out_offset << e), e}, e = -shift */
} tg_depthwise_params_t;

int tg_depthwise_s8(const tg_depthwise_params_t *p, const int8_t *in, int8_t *out, void *scratch);

TG_INLINE int8_t tg_dw_out(const tg_depthwise_params_t *p, int32_t acc, int32_t oc)
{
    if (p->rq_fast) {
        const int32_t v = tg_rq_fast(acc, p->rq[3 * oc], p->rq[3 * oc + 1], p->rq[3 * oc + 2]);
        return tg_clamp_act(v, p->act_min, p->act_max);
    }
    return tg_rq_s8(acc, p->mult[oc], p->shift[oc], p->out_offset, p->act_min, p->act_max);
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

/* ---- The channel-plane route (any depth multiplier, dilation in height only) ---------------
 * Depthwise sums run over taps of one channel, which NHWC keeps C bytes apart. This route copies
 * one input channel of a band of input rows into an int16 plane in the scratch (planned into the
 * arena, sized offline: tinygen/ops/conv.py, dw_planes), padded all round with the input's zero
 * point, so that
 *   - two horizontally neighbouring taps are one 32-bit word: one SMLAD per two MACs, against
 *     kernel weights packed per channel as int16 pairs (built once per channel, kept in
 *     registers); two output positions per pass share the channel's weights and requantisation;
 *   - padding needs no special case: a zero-point tap adds (zp + in_offset) * w = 0, exactly
 *     what TFLite-Micro's skipped tap adds, so every output uses the folded bias and raw bytes;
 *   - an odd kernel width's last pair is [w, 0]: the extra column it reads adds 0;
 *   - with depth multiplier M, the M output channels of an input channel share its plane.
 * The portable build runs the same route with plain multiplies. */
#define TG_DW_PAIRS_MAX 32   /* int16 weight pairs of one channel (e.g. 7x7 = 7 rows x 4 pairs) */

/* Plane row length (p->plane_w, computed offline): the widest window span plus the odd-width
 * column, even so rows stay aligned. p->band: output rows per band (the plane holds them). */
#define TG_DW_PLANE_W(p) ((p)->plane_w)
#define TG_DW_KPAIRS(p) (((p)->k_w + 1) / 2)
#define TG_DW_BAND(p) ((p)->band)
#define TG_DW_USE_PLANES(p) ((p)->band > 0)

/* acc + x[0] * w.lo + x[1] * w.hi: one SMLAD on the DSP path (an unaligned word load, which
 * ARMv7E-M allows; x is 2-byte aligned). */
TG_INLINE int32_t tg_dw_pair(const int16_t *x, uint32_t w, int32_t acc)
{
#if TG_DSP
    uint32_t v;
    __builtin_memcpy(&v, x, 4);
    return tg_smlad(v, w, acc);
#else
    return acc + x[0] * (int32_t)(int16_t)(w & 0xFFFFu) + x[1] * (int32_t)(int16_t)(w >> 16);
#endif
}

/* A br x bs block of outputs of channel c whose top-left window starts at plane[x]: every
 * weight pair loaded once for br * bs SMLADs; loads that neighbouring windows share are loaded
 * once. br, bs are constants at each call. */
TG_INLINE void tg_dw_block(const tg_depthwise_params_t *p, const int16_t *x, int8_t *o,
                           const uint32_t *wpk, int32_t br, int32_t bs, int32_t bias,
                           tg_rq_ch_t rq)
{
    const int32_t pw = TG_DW_PLANE_W(p), kp = TG_DW_KPAIRS(p), C = p->out_c;
    const int32_t sx = p->stride_w, sy = p->stride_h * pw;
    int32_t acc[4], i, j;
#if defined(__GNUC__)
    /* an opaque base register: loads become [x, #imm] rather than sp + index * 2 */
    __asm__("" : "+r"(x));
#endif
    TG_UNROLL4
    for (i = 0; i < 4; ++i) {
        acc[i] = bias;
    }
    TG_UNROLL_TAPS
    for (j = 0; j < p->k_h * kp; ++j) {
        const uint32_t wj = wpk[j];
        const int16_t *xt = x + (j / kp) * p->dil_h * pw + 2 * (j % kp);
        TG_UNROLL4
        for (i = 0; i < br * bs; ++i) {
            acc[i] = tg_dw_pair(xt + (i / bs) * sy + (i % bs) * sx, wj, acc[i]);
        }
    }
    TG_UNROLL4
    for (i = 0; i < br * bs; ++i) {
        o[((i / bs) * p->out_w + i % bs) * C] =
            tg_rq_channel_out(p->rq_fast, rq, acc[i], p->out_offset, p->act_min, p->act_max);
    }
}

/* Output rows [oy0, oy0 + rows) of channel c from its plane (plane row 0 = input row
 * oy0 * stride_h - pad_top): 2x2 blocks, then the odd column and the odd row; a single output
 * row (a 1D layer) goes four along. */
TG_INLINE void tg_dw_plane_rows(const tg_depthwise_params_t *p, const int16_t *plane, int8_t *out,
                                int32_t c, int32_t oy0, int32_t rows)
{
    const int32_t pw = TG_DW_PLANE_W(p), kp = TG_DW_KPAIRS(p), C = p->out_c, W = p->out_w;
    const int32_t sx = p->stride_w, sy = p->stride_h * pw;
    uint32_t wpk[TG_DW_PAIRS_MAX];
    const int32_t bias = p->bias_folded[c];
    const tg_rq_ch_t rq = tg_rq_channel(p->rq_fast, p->rq, p->mult, p->shift, c);
    int8_t *o0 = out + oy0 * W * C + c;
    int32_t ky, j, oy, ox;
    for (ky = 0; ky < p->k_h; ++ky) {
        for (j = 0; j < kp; ++j) {
            const int32_t t = ky * p->k_w + 2 * j;
            const int32_t lo = p->weights[t * C + c];
            const int32_t hi = 2 * j + 1 < p->k_w ? p->weights[(t + 1) * C + c] : 0;
            wpk[ky * kp + j] = (uint32_t)(uint16_t)lo | ((uint32_t)(uint16_t)hi << 16);
        }
    }
    if (p->out_h == 1) {
        for (ox = 0; ox + 4 <= W; ox += 4) {
            tg_dw_block(p, plane + ox * sx, o0 + ox * C, wpk, 1, 4, bias, rq);
        }
        for (; ox < W; ++ox) {
            tg_dw_block(p, plane + ox * sx, o0 + ox * C, wpk, 1, 1, bias, rq);
        }
        return;
    }
    for (oy = 0; oy + 2 <= rows; oy += 2) {
        for (ox = 0; ox + 2 <= W; ox += 2) {
            tg_dw_block(p, plane + oy * sy + ox * sx, o0 + (oy * W + ox) * C, wpk, 2, 2, bias,
                        rq);
        }
        if (ox < W) {
            tg_dw_block(p, plane + oy * sy + ox * sx, o0 + (oy * W + ox) * C, wpk, 2, 1, bias,
                        rq);
        }
    }
    if (oy < rows) {
        for (ox = 0; ox + 2 <= W; ox += 2) {
            tg_dw_block(p, plane + oy * sy + ox * sx, o0 + (oy * W + ox) * C, wpk, 1, 2, bias,
                        rq);
        }
        if (ox < W) {
            tg_dw_block(p, plane + oy * sy + ox * sx, o0 + (oy * W + ox) * C, wpk, 1, 1, bias,
                        rq);
        }
    }
}

TG_INLINE void tg_dw_planes(const tg_depthwise_params_t *p, const int8_t *in, int8_t *out,
                            void *scratch)
{
    /* uint32_t storage: the plane is word aligned (the arena's scratch is) and filled a word at
     * a time */
    uint32_t *store = (uint32_t *)scratch;
    int16_t *plane = (int16_t *)scratch;
    const int32_t pw = TG_DW_PLANE_W(p), C = p->in_c, M = p->depth_mult;
    const int32_t band = TG_DW_BAND(p) < p->out_h ? TG_DW_BAND(p) : p->out_h;
    const int32_t zp = -p->in_offset;
    const uint32_t fill = ((uint32_t)(uint16_t)zp << 16) | (uint16_t)zp;
    int32_t oy0, c, m, r, i;
    for (oy0 = 0; oy0 < p->out_h; oy0 += band) {
        const int32_t rows = p->out_h - oy0 < band ? p->out_h - oy0 : band;
        const int32_t rows_in = (rows - 1) * p->stride_h + (p->k_h - 1) * p->dil_h + 1;
        const int32_t iy_first = oy0 * p->stride_h - p->pad_top;
        /* input rows [r_lo, r_hi) of the band exist; columns [pad_left, pad_left + cols) */
        const int32_t r_lo = iy_first < 0 ? -iy_first : 0;
        const int32_t r_hi = p->in_h - iy_first < rows_in ? p->in_h - iy_first : rows_in;
        const int32_t cols = p->in_w < pw - p->pad_left ? p->in_w : pw - p->pad_left;
        /* padding is the same for every channel: fill once per band, then copy interiors */
        for (i = 0; i < (rows_in * pw + 1) / 2; ++i) {
            store[i] = fill;
        }
        for (c = 0; c < C; ++c) {
            for (r = r_lo; r < r_hi; ++r) {
                const int8_t *src = in + ((iy_first + r) * p->in_w) * C + c;
                int16_t *dst = plane + r * pw + p->pad_left;
                TG_UNROLL8
                for (i = 0; i < cols; ++i, src += C) {
                    dst[i] = *src;
                }
            }
            for (m = 0; m < M; ++m) {
                tg_dw_plane_rows(p, plane, out, c * M + m, oy0, rows);
            }
        }
    }
}

TG_INLINE void tg_depthwise_inline(const tg_depthwise_params_t *p, const int8_t *in, int8_t *out,
                                    void *scratch)
{
    int32_t oy, ox;
    if (TG_DW_USE_PLANES(p)) {
        tg_dw_planes(p, in, out, scratch);
        return;
    }
    for (oy = 0; oy < p->out_h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_top;
        const int32_t ky_lo = tg_first_tap(iy0, p->dil_h, p->k_h);
        const int32_t ky_hi = tg_end_tap(iy0, p->dil_h, p->k_h, p->in_h);
        for (ox = 0; ox < p->out_w; ++ox, out += p->out_c) {
            const int32_t ix0 = ox * p->stride_w - p->pad_left;
            const int32_t kx_lo = tg_first_tap(ix0, p->dil_w, p->k_w);
            const int32_t kx_hi = tg_end_tap(ix0, p->dil_w, p->k_w, p->in_w);
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
