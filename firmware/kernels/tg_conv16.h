/* 16x8 kernels: int16 activations, int8 weights, int64 (or int32) bias. CONV_2D,
 * DEPTHWISE_CONV_2D and FULLY_CONNECTED, arithmetic as TFLite-Micro's reference int16 kernels
 * (reference_integer_ops ConvPerChannel / DepthwiseConvPerChannel / FullyConnected for int16):
 * no zero points (int16 tensors are symmetric), sums exact in 64 bits, then
 *   int64 bias:  MultiplyByQuantizedMultiplier(int64 acc, m, s)
 *                = (acc * m16 + 2^(t-1)) >> t,  m16 = round(m / 2^16) (0x7FFF at most), t = 15 - s
 *   int32 bias:  MultiplyByQuantizedMultiplier(int32 acc, m, s) (gemmlowp double rounding).
 * m16 and t are computed offline (tinygen/ops/conv16.py); the kernels only apply them.
 *
 * Dot products run over "runs": a kernel row (k_w * in_c values, contiguous in the NHWC input
 * and in the weights) or one tap's in_c values when the filter is dilated along W. Within a run
 * the weights are stored in groups of four as [w0 w2 w1 w3] (the tail in natural order), so that
 * on the DSP path one word of weights splits with SXTB16 into the int16 pairs (w0,w1) and (w2,w3),
 * each met by one word of two int16 inputs in one SMLALD (64-bit accumulate: no overflow).
 * The portable path reads the same layout with scalar multiplies. */
#ifndef TG_CONV16_H
#define TG_CONV16_H

#include "tg_runtime.h"
#include "tg_simd.h"

#if defined(__GNUC__) && !defined(__clang__)
#define TG_C16_NOINLINE __attribute__((noinline, optimize("O2")))
#elif defined(__GNUC__)
#define TG_C16_NOINLINE __attribute__((noinline))
#else
#define TG_C16_NOINLINE
#endif

/* Requantisation of one channel (see above); `acc64` selects the int64 form. */
TG_INLINE int16_t tg_rq16(int64_t acc, int32_t acc64, int32_t mult, int32_t shift,
                          int32_t act_min, int32_t act_max)
{
    int32_t v;
    if (acc64) {
        /* mult = m16, shift = t (1..46): exactly TFLite's int64 MultiplyByQuantizedMultiplier */
        v = (int32_t)((acc * (int64_t)mult + ((int64_t)1 << (shift - 1))) >> shift);
    } else {
        v = tg_requantize((int32_t)acc, mult, shift);
    }
    return (int16_t)(v < act_min ? act_min : (v > act_max ? act_max : v));
}

/* Weight j of a run of n stored as above (groups of four as [w0 w2 w1 w3], tail natural). */
TG_INLINE int32_t tg_w16(const int8_t *w, int32_t j, int32_t n)
{
    /* unsigned, so that a layer whose runs have no whole group (n < 4) folds this branch away */
    const uint32_t u = (uint32_t)j;
    if (u < ((uint32_t)n & ~3u)) {
        const uint32_t k = u & 3u;
        return w[(u & ~3u) + (k == 1u ? 2u : (k == 2u ? 1u : k))];
    }
    return w[j];
}

#if TG_DSP
/* acc + a.lo*b.lo + a.hi*b.hi with a 64-bit accumulator (SMLALD). */
TG_INLINE int64_t tg_smlald(uint32_t a, uint32_t b, int64_t acc)
{
#if TG_DSP_ASM
    uint32_t lo = (uint32_t)(uint64_t)acc, hi = (uint32_t)((uint64_t)acc >> 32);
    __asm__("smlald %0, %1, %2, %3" : "+r"(lo), "+r"(hi) : "r"(a), "r"(b));
    return (int64_t)(((uint64_t)hi << 32) | lo);
#else
    return acc + (int32_t)(int16_t)(a & 0xFFFFu) * (int32_t)(int16_t)(b & 0xFFFFu) +
           (int32_t)(int16_t)(a >> 16) * (int32_t)(int16_t)(b >> 16);
#endif
}

TG_INLINE uint32_t tg_ld32_16(const int16_t *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}
#endif

/* sum over j < n of x[j] * weight j of a whole run (layout above). */
TG_INLINE int64_t tg_dot16(const int16_t *x, const int8_t *w, int32_t n, int64_t acc)
{
    const int32_t n4 = n & ~3;
    int32_t j;
#if TG_DSP
    for (j = 0; j < n4; j += 4) {
        const uint32_t ww = tg_ld32(w + j);
        acc = tg_smlald(tg_ld32_16(x + j), tg_sxtb16(ww), acc);
        acc = tg_smlald(tg_ld32_16(x + j + 2), tg_sxtb16_ror8(ww), acc);
    }
#else
    for (j = 0; j < n4; j += 4) {
        /* int32 partial sum: four products of at most 2^22 each */
        acc += (int32_t)x[j] * w[j] + (int32_t)x[j + 1] * w[j + 2] +
               (int32_t)x[j + 2] * w[j + 1] + (int32_t)x[j + 3] * w[j + 3];
    }
#endif
    for (j = n4; j < n; ++j) {
        acc += (int32_t)x[j] * w[j];
    }
    return acc;
}

/* sum over j in [lo, hi) of x[j] * weight j of a run of n (a row the padding cuts short). */
TG_INLINE int64_t tg_dot16_part(const int16_t *x, const int8_t *w, int32_t lo, int32_t hi,
                                int32_t n, int64_t acc)
{
    int32_t j;
    for (j = lo; j < hi; ++j) {
        acc += (int32_t)x[j] * tg_w16(w, j, n);
    }
    return acc;
}

typedef struct {
    int32_t in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
    int32_t depth_mult;       /* depthwise only */
    int32_t act_min, act_max, acc64, has_bias;
    const int8_t *weights;    /* conv: [OC][KH][runs]; depthwise: [KH][KW][OC] (TFLite's order) */
    const int64_t *bias;      /* [OC] */
    const int32_t *mult;      /* [OC]: m16 (acc64) or the multiplier */
    const int32_t *shift;     /* [OC]: t (acc64) or the shift */
} tg_conv16_params_t;

typedef struct {
    int32_t batches, in_depth, out_depth;
    int32_t act_min, act_max, acc64, has_bias;
    const int8_t *weights;    /* [out_depth][in_depth], one run per row */
    const int64_t *bias;
    const int32_t *mult;
    const int32_t *shift;
} tg_fc16_params_t;

/* One output pixel's dot product for channel `oc` of a CONV_2D. */
TG_INLINE int64_t tg_conv16_pixel(const tg_conv16_params_t *p, const int16_t *in, int32_t oy,
                                  int32_t ox, const int8_t *w)
{
    const int32_t y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;
    const int32_t ky0 = tg_first_tap(y0, p->dil_h, p->k_h);
    const int32_t ky1 = tg_end_tap(y0, p->dil_h, p->k_h, p->in_h);
    const int32_t kx0 = tg_first_tap(x0, p->dil_w, p->k_w);
    const int32_t kx1 = tg_end_tap(x0, p->dil_w, p->k_w, p->in_w);
    const int32_t row = p->k_w * p->in_c;
    int64_t acc = 0;
    int32_t ky, kx;
    for (ky = ky0; ky < ky1; ++ky) {
        const int16_t *xr = in + ((y0 + ky * p->dil_h) * p->in_w + x0) * p->in_c;
        const int8_t *wr = w + ky * row;
        if (p->dil_w == 1) {
            if (kx0 == 0 && kx1 == p->k_w) {
                acc = tg_dot16(xr, wr, row, acc);
            } else {
                acc = tg_dot16_part(xr, wr, kx0 * p->in_c, kx1 * p->in_c, row, acc);
            }
        } else {
            for (kx = kx0; kx < kx1; ++kx) {
                acc = tg_dot16(xr + kx * p->dil_w * p->in_c, wr + kx * p->in_c, p->in_c, acc);
            }
        }
    }
    return acc;
}

TG_INLINE void tg_conv2d16_inline(const tg_conv16_params_t *p, const int16_t *in, int16_t *out)
{
    const int32_t window = p->k_h * p->k_w * p->in_c;
    int32_t oy, ox, oc;
    for (oy = 0; oy < p->out_h; ++oy) {
        for (ox = 0; ox < p->out_w; ++ox) {
            for (oc = 0; oc < p->out_c; ++oc) {
                int64_t acc = tg_conv16_pixel(p, in, oy, ox, p->weights + oc * window);
                if (p->has_bias) {
                    acc += p->bias[oc];
                }
                *out++ = tg_rq16(acc, p->acc64, p->mult[oc], p->shift[oc], p->act_min, p->act_max);
            }
        }
    }
}

TG_INLINE void tg_depthwise16_inline(const tg_conv16_params_t *p, const int16_t *in, int16_t *out)
{
    int32_t oy, ox, oc, ky, kx;
    for (oy = 0; oy < p->out_h; ++oy) {
        const int32_t y0 = oy * p->stride_h - p->pad_top;
        const int32_t ky0 = tg_first_tap(y0, p->dil_h, p->k_h);
        const int32_t ky1 = tg_end_tap(y0, p->dil_h, p->k_h, p->in_h);
        for (ox = 0; ox < p->out_w; ++ox) {
            const int32_t x0 = ox * p->stride_w - p->pad_left;
            const int32_t kx0 = tg_first_tap(x0, p->dil_w, p->k_w);
            const int32_t kx1 = tg_end_tap(x0, p->dil_w, p->k_w, p->in_w);
            for (oc = 0; oc < p->out_c; ++oc) {
                const int32_t ic = oc / p->depth_mult;
                int64_t acc = 0;
                for (ky = ky0; ky < ky1; ++ky) {
                    const int32_t y = y0 + ky * p->dil_h;
                    for (kx = kx0; kx < kx1; ++kx) {
                        const int32_t x = x0 + kx * p->dil_w;
                        acc += (int32_t)in[(y * p->in_w + x) * p->in_c + ic] *
                               p->weights[(ky * p->k_w + kx) * p->out_c + oc];
                    }
                }
                if (p->has_bias) {
                    acc += p->bias[oc];
                }
                *out++ = tg_rq16(acc, p->acc64, p->mult[oc], p->shift[oc], p->act_min, p->act_max);
            }
        }
    }
}

TG_INLINE void tg_fc16_inline(const tg_fc16_params_t *p, const int16_t *in, int16_t *out)
{
    int32_t b, o;
    for (b = 0; b < p->batches; ++b, in += p->in_depth) {
        for (o = 0; o < p->out_depth; ++o) {
            int64_t acc = tg_dot16(in, p->weights + o * p->in_depth, p->in_depth, 0);
            if (p->has_bias) {
                acc += p->bias[o];
            }
            *out++ = tg_rq16(acc, p->acc64, p->mult[o], p->shift[o], p->act_min, p->act_max);
        }
    }
}

int tg_conv2d16(const tg_conv16_params_t *p, const int16_t *in, int16_t *out);
int tg_depthwise16(const tg_conv16_params_t *p, const int16_t *in, int16_t *out);
int tg_fc16(const tg_fc16_params_t *p, const int16_t *in, int16_t *out);

#endif
