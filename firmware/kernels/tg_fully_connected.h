/* Fully connected, int8. Arithmetic matches TFLite-Micro's reference integer FullyConnected
 * (MultiplyByQuantizedMultiplier with gemmlowp double rounding).
 *
 * A GEMV: four output neurons per pass share every loaded input word (tg_dot_1x4; SMLAD on
 * ARMv7E-M). The input zero point is folded into the bias offline. With `wide` (--optimize
 * speed) the weights are stored pre-widened to int16 and interleaved by four rows
 * (tinygen/ops/fully_connected.py, widened_rows): per four inputs one LDR + two SXTB16 of the
 * input and two 4-register LDMs of weights feed eight SMLADs, 13 instructions per 16 MACs (the
 * conv windows' inner loop, tg_dot_4x1_q15), for twice the weights' flash and no scratch. Like the conv kernels, the
 * generated code calls tg_fully_connected_inline from a per-layer function with a `static const`
 * parameter struct, so every size is a compile-time constant. */
#ifndef TG_FULLY_CONNECTED_H
#define TG_FULLY_CONNECTED_H

#include "tg_runtime.h"
#include "tg_simd.h"

#if defined(__GNUC__) && !defined(__clang__)
/* Per-layer functions are hot: -O2 even in a -Os build; no pre-RA scheduling, which only adds
 * register pressure (spills) to these SMLAD chains on a single-issue-ish in-order core. */
#define TG_FC_NOINLINE __attribute__((noinline, optimize("O2", "no-schedule-insns")))
#elif defined(__GNUC__)
#define TG_FC_NOINLINE __attribute__((noinline))
#else
#define TG_FC_NOINLINE
#endif

typedef struct {
    int32_t batches, in_depth, out_depth;
    int32_t out_offset, act_min, act_max;
    int32_t rq_fast;            /* 1: tg_rq_fast's preconditions hold (checked offline) */
    int32_t q15;                /* DSP builds: expand the input to int16 lanes once into the
                                   scratch (2 * (in_depth & ~3) bytes, planned offline) */
    int32_t wide;               /* 1: weights in `wide` (pre-widened), else in `weights` */
    const int8_t *weights;      /* [out_depth][in_depth] */
    const uint32_t *wide_w;     /* blocks of 4 rows x 8-word groups of 4 inputs (see above) */
    const int32_t *bias_folded; /* bias - in_zp * sum(weights of o): no padding, always folded */
    const int32_t *mult;        /* [out_depth] (per-tensor models repeat one value) */
    const int32_t *shift;
    const int32_t *rq;          /* rq_fast: per channel {mult, 2^(e-1) + (out_offset << e), e}, e = -shift */
} tg_fc_params_t;

int tg_fully_connected_s8(const tg_fc_params_t *p, const int8_t *in, int8_t *out,
                          void *scratch);

TG_INLINE int8_t tg_fc_out(const tg_fc_params_t *p, int32_t acc, int32_t o)
{
    if (p->rq_fast) {
        const int32_t v = tg_rq_fast(acc, p->rq[3 * o], p->rq[3 * o + 1], p->rq[3 * o + 2]);
        return tg_clamp_act(v, p->act_min, p->act_max);
    }
    return tg_rq_s8(acc, p->mult[o], p->shift[o], p->out_offset, p->act_min, p->act_max);
}

/* acc[k] += row k of a pre-widened block . the input (n values): the DSP path runs whole groups
 * of four through tg_dot_4x1_q15 and the last partial group from a zero-padded copy (no read
 * past the input); the portable path reads the same layout lane by lane. */
TG_INLINE void tg_fc_wide_block(const uint32_t *wq, const int8_t *in, int32_t n, int32_t *acc)
{
    const int32_t n4 = n & ~3;
    int32_t i, k;
#if TG_Q15_ROUTE
    tg_dot_4x1_q15(wq, in, n4, acc);
    if (n4 < n) {
        int8_t tail[4] = {0, 0, 0, 0};
        for (i = n4; i < n; ++i) {
            tail[i - n4] = in[i];
        }
        tg_dot_part_q15(wq + 2 * n4, tail, 4, 4, acc);
    }
#else
    for (i = 0; i < n; i += 4, wq += 8) {
        const int32_t x0 = in[i], x1 = i + 1 < n ? in[i + 1] : 0;
        const int32_t x2 = i + 2 < n ? in[i + 2] : 0, x3 = i + 3 < n ? in[i + 3] : 0;
        for (k = 0; k < 4; ++k) {
            const uint32_t e = wq[2 * k], o = wq[2 * k + 1];
            acc[k] += x0 * (int16_t)(e & 0xFFFFu) + x2 * (int16_t)(e >> 16) +
                      x1 * (int16_t)(o & 0xFFFFu) + x3 * (int16_t)(o >> 16);
        }
    }
    (void)n4;
#endif
    (void)k;
}

/* The wide route: four rows per pass, the last block's padding rows computed and dropped. */
TG_INLINE void tg_fc_wide(const tg_fc_params_t *p, const int8_t *in, int8_t *out)
{
    const int32_t n = p->in_depth, stride = 2 * ((n + 3) & ~3);
    int32_t b, o, k;
    for (b = 0; b < p->batches; ++b, in += n) {
        const uint32_t *wq = p->wide_w;
        for (o = 0; o < p->out_depth; o += 4, wq += stride) {
            int32_t acc[4];
            TG_UNROLL4
            for (k = 0; k < 4; ++k) {
                acc[k] = o + k < p->out_depth ? p->bias_folded[o + k] : 0;
            }
            tg_fc_wide_block(wq, in, n, acc);
            TG_UNROLL4
            for (k = 0; k < 4; ++k) {
                if (o + k < p->out_depth) {
                    *out++ = tg_fc_out(p, acc[k], o + k);
                }
            }
        }
    }
}

TG_INLINE void tg_fully_connected_inline(const tg_fc_params_t *p, const int8_t *in, int8_t *out,
                                         void *scratch)
{
    const int32_t n = p->in_depth;
    int32_t b, o, r;
    (void)scratch;
    if (p->wide) {
        tg_fc_wide(p, in, out);
        return;
    }
    for (b = 0; b < p->batches; ++b, in += n) {
        const int8_t *w = p->weights;
#if TG_DSP
        if (p->q15) {
            /* The input expanded to int16 lanes once (scratch), reused by every output row. */
            uint32_t *xq = (uint32_t *)scratch;
            tg_expand_q15(in, xq, n & ~3);
            for (o = 0; o + 4 <= p->out_depth; o += 4, w += 4 * n) {
                int32_t a0 = p->bias_folded[o], a1 = p->bias_folded[o + 1];
                int32_t a2 = p->bias_folded[o + 2], a3 = p->bias_folded[o + 3];
                tg_dot_1x4_q15(xq, in, w, n, n, &a0, &a1, &a2, &a3);
                out[0] = tg_fc_out(p, a0, o);
                out[1] = tg_fc_out(p, a1, o + 1);
                out[2] = tg_fc_out(p, a2, o + 2);
                out[3] = tg_fc_out(p, a3, o + 3);
                out += 4;
            }
            for (r = 0; r < 3 && o < p->out_depth; ++r, ++o, w += n) {
                *out++ = tg_fc_out(p, tg_dot_1x1(in, w, n, p->bias_folded[o]), o);
            }
            continue;
        }
#endif
        for (o = 0; o + 4 <= p->out_depth; o += 4, w += 4 * n) {
            int32_t a0 = p->bias_folded[o], a1 = p->bias_folded[o + 1];
            int32_t a2 = p->bias_folded[o + 2], a3 = p->bias_folded[o + 3];
            tg_dot_1x4(in, w, n, n, &a0, &a1, &a2, &a3);
            out[0] = tg_fc_out(p, a0, o);
            out[1] = tg_fc_out(p, a1, o + 1);
            out[2] = tg_fc_out(p, a2, o + 2);
            out[3] = tg_fc_out(p, a3, o + 3);
            out += 4;
        }
        for (r = 0; r < 3 && o < p->out_depth; ++r, ++o, w += n) {
            *out++ = tg_fc_out(p, tg_dot_1x1(in, w, n, p->bias_folded[o]), o);
        }
    }
}

#endif
