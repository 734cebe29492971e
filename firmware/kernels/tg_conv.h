/* Convolution kernels, int8 activations, int8 per-channel weights, int32 bias.
 * Arithmetic matches TFLite-Micro's reference integer ConvPerChannel exactly.
 *
 * Per-layer specialisation: the generated code keeps each layer's parameters in a `static const`
 * struct and calls the TG_INLINE kernels below from a small per-layer function, so GCC folds
 * every shape, stride, offset and pointer into constants (loop bounds, addressing, the choice of
 * requantisation) and drops the branches that layer never takes. tg_conv2d_s8 / tg_conv1d_s8 are
 * the same kernels, not specialised, for callers with run-time parameters.
 *
 * Why two bias arrays: sum((x + off) * w) = sum(x * w) + off * sum(w). Where the whole window lies
 * inside the input (almost every output), off * sum(w) is a constant folded into the bias at
 * generation time, and the inner loop is a plain int8 dot product. Windows that touch padding
 * use the raw bias and add the offset to the taps that exist (padding contributes 0 exactly as
 * TFLite-Micro skips it). Integer sums are exact, so both routes give identical accumulators.
 *
 * Speed, DSP builds (Cortex-M4/M7): tg_conv_batches, four output positions x one channel per
 * pass over windows expanded to int16 lanes once (about 13 instructions per 16 MACs in the inner
 * loop), borders included. Portable builds: the outputs whose window is whole ("full" outputs,
 * a closed-form range per axis) are computed two positions x two output channels at a time
 * (tg_dot_2x2), walking a window as contiguous runs (one per kernel row when dil_w == 1, one per
 * tap otherwise); only border outputs take the per-tap route (tg_conv_point_clipped). */
#ifndef TG_CONV_H
#define TG_CONV_H

#include "tg_runtime.h"
#include "tg_simd.h"

#if defined(__GNUC__) && !defined(__clang__)
/* Once a layer's constants are folded in, GCC can warn about iterations of loops that are dead
 * for that layer; the warning is spurious there and -Werror would turn it into a build failure. */
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"
#endif

#if defined(__GNUC__) && !defined(__clang__)
/* Per-layer functions are hot: -O2 even in a -Os build; no pre-RA scheduling, which only adds
 * register pressure (spills) to these SMLAD chains on a single-issue-ish in-order core. */
#define TG_NOINLINE __attribute__((noinline, optimize("O2", "no-schedule-insns")))
#elif defined(__GNUC__)
#define TG_NOINLINE __attribute__((noinline))
#else
#define TG_NOINLINE
#endif

typedef struct {
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w, dil_h, dil_w;
    int32_t pad_top, pad_left;
    int32_t in_offset;          /* -(input zero point) */
    int32_t out_offset;         /* output zero point */
    int32_t act_min, act_max;
    int32_t rq_fast;            /* 1: tg_rq_fast's preconditions hold for every channel (checked offline) */
    int32_t run_pad;            /* TG_CONV_RUN rounded up to a multiple of 4 (weights' run stride) */
    int32_t q15;                /* 1: the DSP batch route, with TG_CONV_SCRATCH_BYTES of scratch */
    const int8_t *weights;      /* [out_c][k_h][runs][run_pad]: [k_w][in_c] split into runs, each
                                   zero-padded to whole words (see TG_CONV_RUN) */
    const int32_t *bias;        /* [out_c], zeros if the model has none */
    const int32_t *bias_folded; /* bias + in_offset * sum(weights of oc): used where no tap is padding */
    const int32_t *mult;        /* [out_c] */
    const int32_t *shift;       /* [out_c], TFLite's convention (negative = right shift) */
    const int32_t *rq;          /* rq_fast: per channel {mult, 2^(e-1) + (out_offset << e), e}, e = -shift */
} tg_conv_params_t;

/* Generic entry points (run-time parameters). A 1D conv is H = 1: input [1,1,W,C]. */
int tg_conv2d_s8(const tg_conv_params_t *p, const int8_t *in, int8_t *out, void *scratch);
int tg_conv1d_s8(const tg_conv_params_t *p, const int8_t *in, int8_t *out, void *scratch);
/* Pointwise in place (tg_conv_pw_inplace): group / leftover parameters, n positions in buf. */
int tg_conv_pw_inplace_s8(const tg_conv_params_t *g, const tg_conv_params_t *t, int32_t n,
                          int8_t *buf, void *scratch, int32_t stage_at);


TG_INLINE int8_t tg_conv_out(const tg_conv_params_t *p, int32_t acc, int32_t oc)
{
    if (p->rq_fast) {
        const int32_t v = tg_rq_fast(acc, p->rq[3 * oc], p->rq[3 * oc + 1], p->rq[3 * oc + 2]);
        return tg_clamp_act(v, p->act_min, p->act_max);
    }
    return tg_rq_s8(acc, p->mult[oc], p->shift[oc], p->out_offset, p->act_min, p->act_max);
}

/* Output positions per pass of the DSP batch route (tg_conv_batches). */
#define TG_CONV_BATCH TG_Q15_BATCH

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 8 && !defined(TG_GENERIC)
#define TG_UNROLL_RUNS _Pragma("GCC unroll 11")
#else
#define TG_UNROLL_RUNS
#endif

/* Bytes of a window run (contiguous input), runs per kernel row, bytes of one output channel's
 * weights (runs padded to run_pad). */
#define TG_CONV_RUN(p) ((p)->dil_w == 1 ? (p)->k_w * (p)->in_c : (p)->in_c)
#define TG_CONV_RUNS(p) ((p)->dil_w == 1 ? 1 : (p)->k_w)
#define TG_CONV_WSTRIDE(p) ((p)->k_h * TG_CONV_RUNS(p) * (p)->run_pad)

TG_INLINE void tg_conv_dot_2x2(const tg_conv_params_t *p, const int8_t *x, const int8_t *w,
                               int32_t *a00, int32_t *a01, int32_t *a10, int32_t *a11)
{
    int32_t r, g;
    for (r = 0; r < p->k_h; ++r) {
        for (g = 0; g < TG_CONV_RUNS(p); ++g) {
            tg_dot_2x2(x + r * p->dil_h * p->in_w * p->in_c + g * p->dil_w * p->in_c,
                       p->stride_w * p->in_c, w + (r * TG_CONV_RUNS(p) + g) * p->run_pad,
                       TG_CONV_WSTRIDE(p), TG_CONV_RUN(p), a00, a01, a10, a11);
        }
    }
}

TG_INLINE void tg_conv_dot_1x4(const tg_conv_params_t *p, const int8_t *x, const int8_t *w,
                               int32_t *a0, int32_t *a1, int32_t *a2, int32_t *a3)
{
    int32_t r, g;
    for (r = 0; r < p->k_h; ++r) {
        for (g = 0; g < TG_CONV_RUNS(p); ++g) {
            tg_dot_1x4(x + r * p->dil_h * p->in_w * p->in_c + g * p->dil_w * p->in_c,
                       w + (r * TG_CONV_RUNS(p) + g) * p->run_pad, TG_CONV_WSTRIDE(p),
                       TG_CONV_RUN(p), a0, a1, a2, a3);
        }
    }
}

TG_INLINE int32_t tg_conv_dot_1x1(const tg_conv_params_t *p, const int8_t *x, const int8_t *w,
                                  int32_t acc)
{
    int32_t r, g;
    for (r = 0; r < p->k_h; ++r) {
        for (g = 0; g < TG_CONV_RUNS(p); ++g) {
            acc = tg_dot_1x1(x + r * p->dil_h * p->in_w * p->in_c + g * p->dil_w * p->in_c,
                             w + (r * TG_CONV_RUNS(p) + g) * p->run_pad, TG_CONV_RUN(p), acc);
        }
    }
    return acc;
}

/* n neighbouring full outputs of one row: window origins x, x + stride_w*in_c, ...;
 * outputs o, o + out_c, ... */
TG_INLINE void tg_conv_span(const tg_conv_params_t *p, const int8_t *x, int8_t *o, int32_t n)
{
    const int32_t out_c = p->out_c;
    const int32_t window = TG_CONV_WSTRIDE(p);  /* weight bytes per channel (padded runs) */
    const int32_t xs = p->stride_w * p->in_c;
    if (p->k_h * p->k_w * p->in_c <= 4) {
        /* Tiny windows (a raw-signal Conv1D with one input channel, say): two channels per pass,
         * their few weights in registers, every input byte loaded once for both. */
        const int32_t taps = p->k_h * p->k_w * p->in_c;
        int32_t oc, j, t;
        for (oc = 0; oc < out_c; oc += 2) {
            const int32_t oc1 = oc + 1 < out_c ? oc + 1 : oc;  /* odd count: last one twice */
            int32_t wa[4] = {0, 0, 0, 0}, wb[4] = {0, 0, 0, 0};
            const int32_t bias_a = p->bias_folded[oc], bias_b = p->bias_folded[oc1];
            const int8_t *xp = x;
            int8_t *op = o;
            TG_UNROLL4
            for (t = 0; t < taps; ++t) {
                const int32_t r = t / (p->k_w * p->in_c), c = t % (p->k_w * p->in_c);
                const int32_t k = r * TG_CONV_RUNS(p) * p->run_pad +
                                  (p->dil_w == 1 ? c : (c / p->in_c) * p->run_pad + c % p->in_c);
                wa[t] = p->weights[oc * window + k];
                wb[t] = p->weights[oc1 * window + k];
            }
            for (j = 0; j < n; ++j, xp += xs, op += out_c) {
                int32_t acc_a = bias_a, acc_b = bias_b;
                TG_UNROLL4
                for (t = 0; t < taps; ++t) {
                    const int32_t r = t / (p->k_w * p->in_c), c = t % (p->k_w * p->in_c);
                    const int32_t xv = xp[r * p->dil_h * p->in_w * p->in_c +
                                          (c / p->in_c) * p->dil_w * p->in_c + c % p->in_c];
                    acc_a += xv * wa[t];
                    acc_b += xv * wb[t];
                }
                op[oc] = tg_conv_out(p, acc_a, oc);
                op[oc1] = tg_conv_out(p, acc_b, oc1);
            }
        }
        return;
    }
    for (; n >= 2; n -= 2, x += 2 * xs, o += 2 * out_c) {
        const int8_t *w = p->weights;
        int32_t oc;
        for (oc = 0; oc + 2 <= out_c; oc += 2, w += 2 * window) {
            int32_t a00 = p->bias_folded[oc], a01 = p->bias_folded[oc + 1];
            int32_t a10 = a00, a11 = a01;
            tg_conv_dot_2x2(p, x, w, &a00, &a01, &a10, &a11);
            o[oc] = tg_conv_out(p, a00, oc);
            o[out_c + oc] = tg_conv_out(p, a10, oc);
            o[oc + 1] = tg_conv_out(p, a01, oc + 1);
            o[out_c + oc + 1] = tg_conv_out(p, a11, oc + 1);
        }
        if (oc < out_c) {
            o[oc] = tg_conv_out(p, tg_conv_dot_1x1(p, x, w, p->bias_folded[oc]), oc);
            o[out_c + oc] = tg_conv_out(p, tg_conv_dot_1x1(p, x + xs, w, p->bias_folded[oc]), oc);
        }
    }
    if (n) {
        const int8_t *w = p->weights;
        int32_t oc, r;
        for (oc = 0; oc + 4 <= out_c; oc += 4, w += 4 * window) {
            int32_t a0 = p->bias_folded[oc], a1 = p->bias_folded[oc + 1];
            int32_t a2 = p->bias_folded[oc + 2], a3 = p->bias_folded[oc + 3];
            tg_conv_dot_1x4(p, x, w, &a0, &a1, &a2, &a3);
            o[oc] = tg_conv_out(p, a0, oc);
            o[oc + 1] = tg_conv_out(p, a1, oc + 1);
            o[oc + 2] = tg_conv_out(p, a2, oc + 2);
            o[oc + 3] = tg_conv_out(p, a3, oc + 3);
        }
        for (r = 0; r < 3 && oc < out_c; ++r, ++oc, w += window) {
            o[oc] = tg_conv_out(p, tg_conv_dot_1x1(p, x, w, p->bias_folded[oc]), oc);
        }
    }
}

/* Outputs [*lo, *hi) along one axis have their whole window inside the input. */
TG_INLINE void tg_conv_full_range(int32_t in_size, int32_t out_size, int32_t k, int32_t stride,
                                  int32_t dil, int32_t pad, int32_t *lo, int32_t *hi)
{
    const int32_t room = in_size + pad - ((k - 1) * dil + 1);
    int32_t a = (pad + stride - 1) / stride;
    int32_t b = room < 0 ? 0 : room / stride + 1;
    b = b < out_size ? b : out_size;
    *lo = a < b ? a : b;
    *hi = b;
}

/* One output position whose window is clipped by padding, all channels: raw bias, the input
 * offset added to the taps that exist (padding contributes 0, as TFLite-Micro skips it). The taps
 * of a kernel row that exist are one contiguous run when dil_w == 1. */
TG_INLINE void tg_conv_point_clipped(const tg_conv_params_t *p, const int8_t *in, int8_t *out,
                                     int32_t iy0, int32_t ix0)
{
    const int32_t row = TG_CONV_RUNS(p) * p->run_pad;   /* weight bytes of a kernel row */
    const int32_t window = TG_CONV_WSTRIDE(p);
    const int32_t kw_off = p->dil_w == 1 ? p->in_c : p->run_pad; /* weight bytes per kx */
    const int32_t ky_lo = tg_first_tap(iy0, p->dil_h, p->k_h);
    const int32_t ky_hi = tg_end_tap(iy0, p->dil_h, p->k_h, p->in_h);
    const int32_t kx_lo = tg_first_tap(ix0, p->dil_w, p->k_w);
    const int32_t kx_hi = tg_end_tap(ix0, p->dil_w, p->k_w, p->in_w);
    const int32_t runs = p->dil_w == 1 ? (kx_hi > kx_lo ? 1 : 0) : kx_hi - kx_lo;
    const int32_t run = p->dil_w == 1 ? (kx_hi - kx_lo) * p->in_c : p->in_c;
    const int8_t *w = p->weights;
    int32_t oc = 0, ky, g;
    for (; oc + 4 <= p->out_c; oc += 4, w += 4 * window) {
        int32_t a0 = p->bias[oc], a1 = p->bias[oc + 1], a2 = p->bias[oc + 2], a3 = p->bias[oc + 3];
        for (ky = ky_lo; ky < ky_hi; ++ky) {
            const int8_t *xr = in + ((iy0 + ky * p->dil_h) * p->in_w + ix0 + kx_lo * p->dil_w) * p->in_c;
            const int8_t *wr = w + ky * row + kx_lo * kw_off;
            for (g = 0; g < runs; ++g) {
                tg_dot_1x4_off(xr + g * p->dil_w * p->in_c, wr + g * kw_off, window, run,
                               p->in_offset, &a0, &a1, &a2, &a3);
            }
        }
        out[oc] = tg_conv_out(p, a0, oc);
        out[oc + 1] = tg_conv_out(p, a1, oc + 1);
        out[oc + 2] = tg_conv_out(p, a2, oc + 2);
        out[oc + 3] = tg_conv_out(p, a3, oc + 3);
    }
    for (; oc < p->out_c; ++oc, w += window) {
        int32_t acc = p->bias[oc];
        for (ky = ky_lo; ky < ky_hi; ++ky) {
            const int8_t *xr = in + ((iy0 + ky * p->dil_h) * p->in_w + ix0 + kx_lo * p->dil_w) * p->in_c;
            const int8_t *wr = w + ky * row + kx_lo * kw_off;
            for (g = 0; g < runs; ++g) {
                acc = tg_dot_1x1_off(xr + g * p->dil_w * p->in_c, wr + g * kw_off, run,
                                     p->in_offset, acc);
            }
        }
        out[oc] = tg_conv_out(p, acc, oc);
    }
}


#if TG_Q15_ROUTE
/* ---- The batch route (DSP builds): four output positions x one channel per pass ------------
 * Four consecutive outputs in raster order (their bytes are out_c apart, across row ends too)
 * have their windows expanded to int16 lanes once, interleaved per four window bytes as
 * [k/4][position][2 words], and reused by every output channel. Per four weight bytes a pass
 * then costs one load and two SXTB16 for the weights, two 4-register LDMs and eight SMLADs: 13
 * instructions per 16 MACs, with 4 accumulators, so nothing spills. The channel's
 * requantisation constants are loaded once for the four outputs. Every window is gathered as raw
 * bytes, padding taps as the input's zero point, so every output starts from the folded bias.
 * The buffer is the op's scratch, planned into the arena (tinygen/ops/conv.py, conv_q15). */

/* Lanes of one whole run (n raw bytes, n <= run_pad, constants) into one slot of the interleaved
 * buffer: whole words, then the last 1-3 bytes as one word with zeros above (loaded so that it
 * ends at the run's end: nothing past the run is read), then zero words up to run_pad. */
TG_INLINE void tg_conv_gather_whole(const int8_t *src, uint32_t *dst, int32_t n, int32_t run_pad)
{
    const int32_t tail = n & 3;
    int32_t i = 0;
    /* n is a constant: runs of up to 64 bytes unroll whole (addresses become offsets); longer
     * ones (MobileNet's 128-256 channel pointwise layers) by four, for about 40 instructions per
     * window (under 0.3 % of such a layer) and 300-600 bytes less code per layer */
    if (n <= 64) {
        TG_UNROLL16
        for (; i + 4 <= n; i += 4, dst += 2 * TG_CONV_BATCH) {
            const uint32_t v = tg_ld32(src + i);
            dst[0] = tg_sxtb16(v);
            dst[1] = tg_sxtb16_ror8(v);
        }
    } else {
        TG_UNROLL4
        for (; i + 4 <= n; i += 4, dst += 2 * TG_CONV_BATCH) {
            const uint32_t v = tg_ld32(src + i);
            dst[0] = tg_sxtb16(v);
            dst[1] = tg_sxtb16_ror8(v);
        }
    }
    if (tail) {
        uint32_t v;
        if (n >= 4) {
            v = tg_ld32(src + n - 4) >> (8 * (4 - tail));
        } else {
            v = (uint8_t)src[0];
            if (tail > 1) {
                v |= (uint32_t)(uint8_t)src[1] << 8;
            }
            if (tail > 2) {
                v |= (uint32_t)(uint8_t)src[2] << 16;
            }
        }
        dst[0] = tg_sxtb16(v);
        dst[1] = tg_sxtb16_ror8(v);
        dst += 2 * TG_CONV_BATCH;
        i += 4;
    }
    for (; i < run_pad; i += 4, dst += 2 * TG_CONV_BATCH) {
        dst[0] = 0;
        dst[1] = 0;
    }
}

/* Lanes of one run of a clipped window: bytes [lo, hi) are src[i], the rest the input's zero
 * point zp (padding taps; the run's pad meets zero weights). A zero-point tap adds
 * (zp + in_offset) * w = 0 under the folded bias, exactly what TFLite-Micro's skipped tap adds,
 * so clipped windows need no raw bias. Words wholly inside [lo, hi) take the whole-word path;
 * only the 1-2 words that straddle an edge are built byte by byte (nothing outside is read). */
TG_INLINE void tg_conv_gather_clipped(const int8_t *src, uint32_t *dst, int32_t run_pad, int32_t lo,
                                      int32_t hi, int32_t zp)
{
    const uint32_t zp2 = ((uint32_t)(uint16_t)zp << 16) | (uint16_t)zp;
    int32_t i, j;
    for (i = 0; i < run_pad; i += 4, dst += 2 * TG_CONV_BATCH) {
        if (i >= lo && i + 4 <= hi) {
            const uint32_t v = tg_ld32(src + i);
            dst[0] = tg_sxtb16(v);
            dst[1] = tg_sxtb16_ror8(v);
        } else if (i + 4 <= lo || i >= hi) {
            dst[0] = zp2;
            dst[1] = zp2;
        } else {
            int32_t v[4];
            for (j = 0; j < 4; ++j) {
                v[j] = (i + j >= lo && i + j < hi) ? (int32_t)src[i + j] : zp;
            }
            dst[0] = (uint32_t)(uint16_t)v[0] | ((uint32_t)(uint16_t)v[2] << 16);
            dst[1] = (uint32_t)(uint16_t)v[1] | ((uint32_t)(uint16_t)v[3] << 16);
        }
    }
}

/* The window of output (iy0, ix0) into one slot, laid out like the weights (runs padded to
 * run_pad). `full`: no tap is padding. */
TG_INLINE void tg_conv_gather_slot(const tg_conv_params_t *p, const int8_t *in, int32_t iy0,
                                   int32_t ix0, int full, uint32_t *dst)
{
    const int32_t runs = TG_CONV_RUNS(p), step = (p->run_pad / 4) * 2 * TG_CONV_BATCH;
    int32_t r, g;
    if (full) {
        const int8_t *x = in + (iy0 * p->in_w + ix0) * p->in_c;
        TG_UNROLL_RUNS
        for (r = 0; r < p->k_h; ++r) {
            for (g = 0; g < runs; ++g, dst += step) {
                tg_conv_gather_whole(x + (r * p->dil_h * p->in_w + g * p->dil_w) * p->in_c, dst,
                                     TG_CONV_RUN(p), p->run_pad);
            }
        }
        return;
    }
    {
        const int32_t ky_lo = tg_first_tap(iy0, p->dil_h, p->k_h);
        const int32_t ky_hi = tg_end_tap(iy0, p->dil_h, p->k_h, p->in_h);
        const int32_t kx_lo = tg_first_tap(ix0, p->dil_w, p->k_w);
        const int32_t kx_hi = tg_end_tap(ix0, p->dil_w, p->k_w, p->in_w);
        for (r = 0; r < p->k_h; ++r) {
            const int row_ok = r >= ky_lo && r < ky_hi;
            for (g = 0; g < runs; ++g, dst += step) {
                const int8_t *src =
                    in + ((iy0 + r * p->dil_h) * p->in_w + ix0 + g * p->dil_w) * p->in_c;
                int32_t lo = 0, hi = 0;
                if (row_ok) {
                    if (p->dil_w == 1) {
                        lo = kx_lo * p->in_c;
                        hi = kx_hi * p->in_c;
                    } else if (g >= kx_lo && g < kx_hi) {
                        hi = p->in_c;
                    }
                }
                tg_conv_gather_clipped(src, dst, p->run_pad, lo, hi, -p->in_offset);
            }
        }
    }
}

/* Outputs [q, q + cnt) (raster order, cnt <= 4 and constant at the call), all channels. Every
 * window is gathered raw (padding as the zero point), so every accumulator starts from the
 * folded bias. */
TG_INLINE void tg_conv_batch(const tg_conv_params_t *p, const int8_t *in, int8_t *out, int32_t q,
                             int32_t cnt, uint32_t *buf, const int32_t *range)
{
    const int32_t window = TG_CONV_WSTRIDE(p), C = p->out_c;
    const int8_t *w = p->weights;
    int8_t *o = out + q * C;
    int32_t oc, k;
    TG_UNROLL1 /* one copy of the (unrolled) window gather, not four: code size */
    for (k = 0; k < cnt; ++k) {
        const int32_t oy = (q + k) / p->out_w, ox = (q + k) % p->out_w;
        const int full = oy >= range[0] && oy < range[1] && ox >= range[2] && ox < range[3];
        tg_conv_gather_slot(p, in, oy * p->stride_h - p->pad_top, ox * p->stride_w - p->pad_left,
                            full, buf + 2 * k);
    }
    for (oc = 0; oc < C; ++oc, w += window) {
        const tg_rq_ch_t rq = tg_rq_channel(p->rq_fast, p->rq, p->mult, p->shift, oc);
        const int32_t b = p->bias_folded[oc];
        int32_t acc[TG_CONV_BATCH];
        TG_UNROLL4
        for (k = 0; k < TG_CONV_BATCH; ++k) {
            acc[k] = b;
        }
        if (cnt == TG_CONV_BATCH) {
            tg_dot_4x1_q15(buf, w, window, acc);
        } else {
            tg_dot_part_q15(buf, w, window, cnt, acc);
        }
        TG_UNROLL4
        for (k = 0; k < cnt; ++k) {
            o[k * C + oc] =
                tg_rq_channel_out(p->rq_fast, rq, acc[k], p->out_offset, p->act_min, p->act_max);
        }
    }
}

/* The DSP route's scratch: four windows of TG_CONV_WSTRIDE bytes as int16 lanes (8 bytes per
 * window byte). tinygen/ops/conv.py sizes the arena's scratch with the same formula. */
#define TG_CONV_SCRATCH_BYTES(p) (8 * TG_CONV_WSTRIDE(p))

TG_INLINE void tg_conv_batches(const tg_conv_params_t *p, const int8_t *in, int8_t *out,
                               void *scratch)
{
    const int32_t total = p->out_h * p->out_w;
    uint32_t *buf = (uint32_t *)scratch; /* four windows of window / 2 words, word aligned */
    int32_t range[4], q;                 /* outputs with whole windows: rows, columns [lo, hi) */
    tg_conv_full_range(p->in_h, p->out_h, p->k_h, p->stride_h, p->dil_h, p->pad_top, &range[0],
                       &range[1]);
    tg_conv_full_range(p->in_w, p->out_w, p->k_w, p->stride_w, p->dil_w, p->pad_left, &range[2],
                       &range[3]);
    for (q = 0; q + TG_CONV_BATCH <= total; q += TG_CONV_BATCH) {
        tg_conv_batch(p, in, out, q, TG_CONV_BATCH, buf, range);
    }
    if (q < total) {
        tg_conv_batch(p, in, out, q, total - q, buf, range);
    }
}
#endif

/* Whether a layer takes tg_conv_batches (DSP and MAC16 builds): decided offline (p->q15, with the scratch
 * it needs planned into the arena; tinygen/ops/conv.py, conv_q15). */
#define TG_CONV_USE_Q15(p) (TG_Q15_ROUTE && (p)->q15)

/* Conv1D: one row, no height loop. */
TG_INLINE void tg_conv1d_inline(const tg_conv_params_t *p, const int8_t *in, int8_t *out,
                                void *scratch)
{
    int32_t lo, hi, ox;
    (void)scratch;
#if TG_Q15_ROUTE
    if (TG_CONV_USE_Q15(p)) {
        tg_conv_batches(p, in, out, scratch);
        return;
    }
#endif
    tg_conv_full_range(p->in_w, p->out_w, p->k_w, p->stride_w, p->dil_w, p->pad_left, &lo, &hi);
    /* Borders first, the span last: nothing stays live across the hot loops. */
    for (ox = 0; ox < lo; ++ox) {
        tg_conv_point_clipped(p, in, out + ox * p->out_c, 0, ox * p->stride_w - p->pad_left);
    }
    for (ox = hi; ox < p->out_w; ++ox) {
        tg_conv_point_clipped(p, in, out + ox * p->out_c, 0, ox * p->stride_w - p->pad_left);
    }
    tg_conv_span(p, in + (lo * p->stride_w - p->pad_left) * p->in_c, out + lo * p->out_c, hi - lo);
}

/* ---- Pointwise in place: the output overwrites its own input (tinygen/ops/conv.py) ----------
 * A pointwise convolution (1x1, stride 1, no padding) is n positions of in_c bytes in, out_c
 * bytes out; output position q depends on input position q only. `buf` holds the input at its
 * start and receives the output at its start. Positions go in groups of g->in_w (t: the group of
 * the n % G positions left over, or null): a group's input bytes are copied to the stage (after
 * the kernel's own scratch) before any of its outputs is written, and the kernel then reads the
 * stage only, on every route (DSP batch or portable), so the proof is at group granularity:
 *   - out_c <= in_c, groups in forward order: group [q, q + G) writes bytes [q*out_c,
 *     (q + G)*out_c), all below (q + G)*in_c, i.e. inside input positions < q + G: done or
 *     staged. Later groups read bytes from (q + G)*in_c on, which nothing has written yet.
 *   - out_c > in_c, groups in reverse order: group [q, q + G) writes bytes from q*out_c >= q*in_c
 *     on, i.e. input positions >= q: staged or done. Later groups read bytes below q*in_c <=
 *     q*out_c, untouched. The buffer is the output's size with the input at its start (the
 *     planner's "grows" merge). */
/* RUN(params, in, out, scratch) runs one group: the specialised tg_conv1d_inline in per-layer
 * code, the shared tg_conv1d_s8 in tg_conv.c (one copy of the kernel, not four). */
#define TG_CONV_PW_INPLACE(RUN, g, t, n, buf, scratch, stage_at)                                  \
    do {                                                                                        \
        const int32_t G_ = (g)->in_w, ci_ = (g)->in_c, co_ = (g)->out_c;                        \
        const int32_t rest_ = (t) ? (t)->in_w : 0;                                              \
        int8_t *stage_ = (int8_t *)(scratch) + (stage_at);                                      \
        int32_t q_;                                                                             \
        if (co_ <= ci_) {                                                                       \
            for (q_ = 0; q_ + G_ <= (n); q_ += G_) {                                            \
                __builtin_memcpy(stage_, (buf) + q_ * ci_, (size_t)(G_ * ci_));                 \
                RUN((g), stage_, (buf) + q_ * co_, (scratch));                                  \
            }                                                                                   \
            if (rest_) {                                                                        \
                __builtin_memcpy(stage_, (buf) + q_ * ci_, (size_t)(rest_ * ci_));              \
                RUN((t), stage_, (buf) + q_ * co_, (scratch));                                  \
            }                                                                                   \
        } else {                                                                                \
            for (q_ = (n) - G_; q_ >= rest_; q_ -= G_) {                                        \
                __builtin_memcpy(stage_, (buf) + q_ * ci_, (size_t)(G_ * ci_));                 \
                RUN((g), stage_, (buf) + q_ * co_, (scratch));                                  \
            }                                                                                   \
            if (rest_) {                                                                        \
                __builtin_memcpy(stage_, (buf), (size_t)(rest_ * ci_));                         \
                RUN((t), stage_, (buf), (scratch));                                             \
            }                                                                                   \
        }                                                                                       \
    } while (0)

TG_INLINE void tg_conv_pw_inplace(const tg_conv_params_t *g, const tg_conv_params_t *t, int32_t n,
                                  int8_t *buf, int8_t *scratch, int32_t stage_at)
{
    TG_CONV_PW_INPLACE(tg_conv1d_inline, g, t, n, buf, scratch, stage_at);
}

TG_INLINE void tg_conv2d_inline(const tg_conv_params_t *p, const int8_t *in, int8_t *out,
                                void *scratch)
{
    int32_t oy_lo, oy_hi, ox_lo, ox_hi, oy, ox;
    (void)scratch;
    tg_conv_full_range(p->in_h, p->out_h, p->k_h, p->stride_h, p->dil_h, p->pad_top, &oy_lo,
                       &oy_hi);
    tg_conv_full_range(p->in_w, p->out_w, p->k_w, p->stride_w, p->dil_w, p->pad_left, &ox_lo,
                       &ox_hi);
#if TG_Q15_ROUTE
    /* Row route when a quarter or more of the outputs touch padding (e.g. a 10x4 kernel on a
     * 49x10 input); otherwise the span route below measured faster. Constants per layer. */
    if (TG_CONV_USE_Q15(p)) {
        tg_conv_batches(p, in, out, scratch);
        return;
    }
#endif
    for (oy = 0; oy < p->out_h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_top;
        int8_t *orow = out + oy * p->out_w * p->out_c;
        if (oy < oy_lo || oy >= oy_hi) {
            for (ox = 0; ox < p->out_w; ++ox) {
                tg_conv_point_clipped(p, in, orow + ox * p->out_c, iy0,
                                      ox * p->stride_w - p->pad_left);
            }
            continue;
        }
        for (ox = 0; ox < ox_lo; ++ox) {
            tg_conv_point_clipped(p, in, orow + ox * p->out_c, iy0, ox * p->stride_w - p->pad_left);
        }
        tg_conv_span(p, in + (iy0 * p->in_w + ox_lo * p->stride_w - p->pad_left) * p->in_c,
                     orow + ox_lo * p->out_c, ox_hi - ox_lo);
        for (ox = ox_hi; ox < p->out_w; ++ox) {
            tg_conv_point_clipped(p, in, orow + ox * p->out_c, iy0, ox * p->stride_w - p->pad_left);
        }
    }
}

#endif
