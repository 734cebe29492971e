/* Fully connected, int8. Arithmetic matches TFLite-Micro's reference integer FullyConnected
 * (MultiplyByQuantizedMultiplier with gemmlowp double rounding).
 *
 * A GEMV: four output neurons per pass share every loaded input word (tg_dot_1x4; SMLAD on
 * ARMv7E-M). The input zero point is folded into the bias offline. With `wide` (--optimize
 * speed) the weights are stored pre-widened to int16 and interleaved by four rows, each block one
 * stream with its bias and rq records (tinygen/ops/fully_connected.py, widened_rows): with the
 * input expanded once into the scratch, 11 instructions per 16 MACs (tg_fc_dot_qq); without
 * (the lean variant) 25 per 32 (tg_fc_dot_raw); twice the weights' flash. Like the conv kernels, the
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
    const uint32_t *wide_w;     /* per block of 4 rows: bias, 8-word groups of 4 inputs, rq records */
    const int32_t *bias_folded; /* bias - in_zp * sum(weights of o) (wide: in wide_w) */
    const int32_t *mult;        /* [out_depth] (per-tensor models repeat one value) */
    const int32_t *shift;
    const int32_t *rq;          /* rq_fast: per channel {mult, 2^(e-1) + (out_offset << e), e}, e = -shift
                                   (wide: in wide_w) */
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

/* The wide route's inner loops (--optimize speed): acc[k] += row k of a block of four
 * pre-widened rows (widened_rows' layout: per group of four inputs, row k's lanes [w0, w2] and
 * [w1, w3] at words 2k, 2k + 1) . the input.
 *
 * tg_fc_dot_qq: the input expanded to int16 lanes once per layer (tg_expand_q15 into the scratch:
 * per group [x0, x2], [x1, x3]). Per group one LDRD of the input and two 4-register LDMs of
 * weights feed eight SMLADs: 11 instructions per 16 MACs, 90 per 128 in the eight-group trip of
 * the assembly loop. The load bound of a four-row block: every weight word is loaded once (two
 * LDMs per 8 words: LDM's list must ascend, hence the fixed r8-r11), the input word pair once per
 * block; register pressure (4 accumulators, 2 input and 4 weight words, 3 pointers) leaves no
 * room for longer LDMs. A layer of 4-28 mod 32 inputs runs its first groups one by one. */
#if TG_DSP_ASM
#define TG_FC_QQ_STEP                                                                        \
    "ldrd %[x0], %[x1], [%[xp]], #8\n\t"                                                  \
    "ldmia %[wp]!, {%[t0], %[t1], %[t2], %[t3]}\n\t"                                      \
    "smlad %[a0], %[t0], %[x0], %[a0]\n\t"                                                \
    "smlad %[a0], %[t1], %[x1], %[a0]\n\t"                                                \
    "smlad %[a1], %[t2], %[x0], %[a1]\n\t"                                                \
    "smlad %[a1], %[t3], %[x1], %[a1]\n\t"                                                \
    "ldmia %[wp]!, {%[t0], %[t1], %[t2], %[t3]}\n\t"                                      \
    "smlad %[a2], %[t0], %[x0], %[a2]\n\t"                                                \
    "smlad %[a2], %[t1], %[x1], %[a2]\n\t"                                                \
    "smlad %[a3], %[t2], %[x0], %[a3]\n\t"                                                \
    "smlad %[a3], %[t3], %[x1], %[a3]\n\t"
#define TG_FC_QQ_OPERANDS                                                                     \
    : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [t0] "=&r"(t0),         \
      [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [x0] "=&r"(x0), [x1] "=&r"(x1),     \
      [xp] "+r"(xp), [wp] "+r"(wp)
#endif

#if TG_DSP
TG_INLINE const uint32_t *tg_fc_dot_qq(const uint32_t *wq, const uint32_t *xq, int32_t groups,
                                          int32_t *acc)
{
#if TG_DSP_ASM
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const uint32_t *wp = wq, *xp = xq;
    uint32_t x0, x1;
    register uint32_t t0 __asm__("r8");
    register uint32_t t1 __asm__("r9");
    register uint32_t t2 __asm__("r10");
    register uint32_t t3 __asm__("r11");
    int32_t g;
    TG_UNROLL8
    for (g = 0; g < groups % 8; ++g) {
        __asm__(TG_FC_QQ_STEP TG_FC_QQ_OPERANDS : : "memory");
    }
    if (groups >= 8) {
        const uint32_t *const wend = wq + 8 * groups;
        __asm__("1:\n\t" TG_FC_QQ_STEP TG_FC_QQ_STEP TG_FC_QQ_STEP TG_FC_QQ_STEP
                TG_FC_QQ_STEP TG_FC_QQ_STEP TG_FC_QQ_STEP TG_FC_QQ_STEP
                "cmp %[wp], %[wend]\n\t"
                "bne 1b"
                TG_FC_QQ_OPERANDS
                : [wend] "r"(wend)
                : "cc", "memory");
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    return wp;
#else
    int32_t g, k;
    for (g = 0; g < groups; ++g, wq += 8, xq += 2) {
        for (k = 0; k < 4; ++k) {
            acc[k] = tg_smlad(wq[2 * k], xq[0], acc[k]);
            acc[k] = tg_smlad(wq[2 * k + 1], xq[1], acc[k]);
        }
    }
    return wq;
#endif
}
#endif


/* tg_fc_dot_raw: the lean variant (no scratch) on the real instructions, the raw input word-aligned:
 * per eight inputs one LDRD, four SXTB16 and four 4-register LDMs of weights feed sixteen
 * SMLADs, 25 instructions per 32 MACs (tg_dot_4x1_q15's step: 13 per 16). That takes all 14
 * allocatable registers, so the loop's end is compared from the stack: four steps per trip,
 * 103 instructions per 128 MACs. Leading groups (groups % 8) run tg_dot_4x1_q15's step. */
#if TG_DSP_ASM
#define TG_FC_RAW_HALF(XE, XO)                                                               \
    "ldmia %[wp]!, {%[t0], %[t1], %[t2], %[t3]}\n\t"                                      \
    "smlad %[a0], %[t0], %[" XE "], %[a0]\n\t"                                            \
    "smlad %[a0], %[t1], %[" XO "], %[a0]\n\t"                                            \
    "smlad %[a1], %[t2], %[" XE "], %[a1]\n\t"                                            \
    "smlad %[a1], %[t3], %[" XO "], %[a1]\n\t"                                            \
    "ldmia %[wp]!, {%[t0], %[t1], %[t2], %[t3]}\n\t"                                      \
    "smlad %[a2], %[t0], %[" XE "], %[a2]\n\t"                                            \
    "smlad %[a2], %[t1], %[" XO "], %[a2]\n\t"                                            \
    "smlad %[a3], %[t2], %[" XE "], %[a3]\n\t"                                            \
    "smlad %[a3], %[t3], %[" XO "], %[a3]\n\t"
#define TG_FC_RAW_STEP                                                                       \
    "ldrd %[xa], %[xb], [%[xp]], #8\n\t"                                                  \
    "sxtb16 %[xa1], %[xa], ror #8\n\t"                                                    \
    "sxtb16 %[xa], %[xa]\n\t"                                                             \
    "sxtb16 %[xb1], %[xb], ror #8\n\t"                                                    \
    "sxtb16 %[xb], %[xb]\n\t"                                                             \
    TG_FC_RAW_HALF("xa", "xa1") TG_FC_RAW_HALF("xb", "xb1")

TG_INLINE const uint32_t *tg_fc_dot_raw(const uint32_t *wq, const int8_t *in, int32_t groups,
                                           int32_t *acc)
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const uint32_t *wp = wq;
    const int8_t *xp = in;
    uint32_t we, wo, xa, xb, xa1, xb1;
    register uint32_t t0 __asm__("r8");
    register uint32_t t1 __asm__("r9");
    register uint32_t t2 __asm__("r10");
    register uint32_t t3 __asm__("r11");
    int32_t g;
    TG_UNROLL8
    for (g = 0; g < groups % 8; ++g) {
        __asm__(TG_Q15_STEP
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [t0] "=&r"(t0),
                  [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [we] "=&r"(we),
                  [wo] "=&r"(wo), [xp] "+r"(wp), [wp] "+r"(xp) /* its roles: raw w, lanes x */
                :
                : "memory");
    }
    if (groups >= 8) {
        const uint32_t *volatile wend = wq + 8 * groups;
        __asm__("1:\n\t" TG_FC_RAW_STEP TG_FC_RAW_STEP TG_FC_RAW_STEP TG_FC_RAW_STEP
                "ldr %[t0], %[wend]\n\t"
                "cmp %[wp], %[t0]\n\t"
                "bne 1b"
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [t0] "=&r"(t0),
                  [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [xa] "=&r"(xa),
                  [xb] "=&r"(xb), [xa1] "=&r"(xa1), [xb1] "=&r"(xb1), [xp] "+r"(xp),
                  [wp] "+r"(wp)
                : [wend] "m"(wend)
                : "cc", "memory");
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    return wp;
}
#endif

/* acc[k] += row k of a pre-widened block . the input (n values): the DSP path runs whole groups
 * of four through tg_dot_4x1_q15 and the last partial group from a zero-padded copy (no read
 * past the input); the portable path reads the same layout lane by lane. */
TG_INLINE const uint32_t *tg_fc_wide_block(const uint32_t *wq, const int8_t *in, int32_t n,
                                              int32_t *acc)
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
    (void)k;
    return wq + 8 * ((n + 3) / 4);
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
    (void)k;
    return wq;
#endif
}

/* The wide route: four rows per pass, the last block's padding rows computed and dropped. With
 * q15 (DSP builds, the scratch planned) the input is expanded once and every block runs
 * tg_fc_dot_qq; without it (the lean variant, when the scratch would grow the arena) each block
 * widens the raw input itself (tg_fc_wide_block). */
TG_INLINE void tg_fc_wide(const tg_fc_params_t *p, const int8_t *in, int8_t *out, void *scratch)
{
    const int32_t n = p->in_depth, groups = (n + 3) / 4;
    int32_t b, o, k;
    (void)scratch;
    (void)groups;
    for (b = 0; b < p->batches; ++b, in += n) {
        const uint32_t *wq = p->wide_w; /* per block: bias, weights, rq records (widened_rows) */
#if TG_DSP_ASM
        /* LDRD needs a word-aligned input; groups of eight inputs, no partial group */
        const int raw = !p->q15 && n % 8 == 0 && ((uintptr_t)in & 3u) == 0;
#endif
#if TG_DSP
        if (p->q15) {
            tg_expand_q15(in, (uint32_t *)scratch, n);
        }
#endif
        for (o = 0; o < p->out_depth; o += 4) {
            int32_t acc[4];
            TG_UNROLL4
            for (k = 0; k < 4; ++k) {
                acc[k] = (int32_t)wq[k];
            }
            wq += 4;
#if TG_DSP
            if (p->q15) {
                wq = tg_fc_dot_qq(wq, (const uint32_t *)scratch, groups, acc);
            } else
#endif
#if TG_DSP_ASM
            if (raw) {
                wq = tg_fc_dot_raw(wq, in, groups, acc);
            } else
#endif
            {
                wq = tg_fc_wide_block(wq, in, n, acc);
            }
            TG_UNROLL4
            for (k = 0; k < 4; ++k) {
                if (o + k < p->out_depth) {
                    int32_t v;
                    if (p->rq_fast) {
                        v = tg_clamp_act(tg_rq_fast(acc[k], (int32_t)wq[3 * k], (int32_t)wq[3 * k + 1],
                                                    (int32_t)wq[3 * k + 2]), p->act_min, p->act_max);
                    } else {
                        v = tg_rq_s8(acc[k], p->mult[o + k], p->shift[o + k], p->out_offset,
                                     p->act_min, p->act_max);
                    }
                    *out++ = (int8_t)v;
                }
            }
            if (p->rq_fast) {
                wq += 12;
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
        tg_fc_wide(p, in, out, scratch);
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
