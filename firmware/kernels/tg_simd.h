/* Inner-loop primitives shared by the conv, depthwise and fully connected kernels.
 *
 * Two paths, chosen at compile time, bit-exact with each other and with TFLite-Micro (integer
 * sums are exact whatever the order; rounding happens only in tg_rq, which is TFLite's):
 *   - ARMv7E-M DSP (Cortex-M4/M7/M33 with the DSP extension, __ARM_FEATURE_DSP): four int8 values
 *     are loaded as one word and split into two int16 pairs with SXTB16 (bytes 0,2 and, rotated
 *     by 8, bytes 1,3); SMLAD then does two multiply-accumulates in one instruction. Both operands
 *     are split the same way, so weights keep their natural order.
 *   - portable C (host, RISC-V, Cortex-M0...): the same loop structure with scalar MACs.
 *   - Xtensa MAC16 (ESP32, ESP32-S3; TG_XTENSA_MAC16, set by the dev-platform for cores whose
 *     features list mac16): the DSP path's batch route (windows or weight rows widened to int16
 *     lanes once, tg_dot_4x1_q15) with its inner dot product on the 40-bit accumulator
 *     (MULA.AA, see tg_mac16_dot); everything else stays portable C, which on Xtensa is cheaper
 *     than emulating SXTB16/SMLAD.
 * Define TG_NO_DSP to force the portable path on a DSP core.
 *
 * TG_SIMD_EMULATE (tests): the DSP path's loop structure on any compiler, each intrinsic
 * written in plain C. The host property suite then checks the DSP path's indexing, padding and
 * tiling on every generated model; the twin tests check the real instructions. */
#ifndef TG_SIMD_H
#define TG_SIMD_H

#include "tg_runtime.h"

#if defined(TG_GENERIC)
/* The shared kernels (`--optimize size`): let the compiler keep a helper out of line and share
 * it, rather than force a copy into every caller. */
#undef TG_INLINE
#define TG_INLINE static inline
#endif

#if defined(__GNUC__) && defined(__ARM_FEATURE_DSP) && !defined(TG_NO_DSP)
#define TG_DSP 1
#define TG_DSP_ASM 1 /* the real instructions */
#elif defined(TG_SIMD_EMULATE) && !defined(TG_NO_DSP)
#define TG_DSP 1
#define TG_DSP_ASM 0 /* the same results in C */
#else
#define TG_DSP 0
#define TG_DSP_ASM 0
#endif

#if defined(__XTENSA__) && defined(TG_XTENSA_MAC16) && !defined(TG_NO_DSP)
#define TG_MAC16 1
#else
#define TG_MAC16 0
#endif

/* The batch route (int16-lane buffers, tg_dot_4x1_q15): SMLAD's, or MAC16's on Xtensa. */
#define TG_Q15_ROUTE (TG_DSP || TG_MAC16)

/* Full unrolling of short loops whose trip count is a per-layer constant. A translation unit
 * that defines TG_GENERIC (the shared kernels of `--optimize size`, tg_conv.c, ...) gets none:
 * there the counts are run-time values and unrolling would only add code. */
#if defined(TG_GENERIC)
#define TG_UNROLL4
#define TG_UNROLL8
#define TG_UNROLL16
#define TG_UNROLL1
#elif defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 8
#define TG_UNROLL1 _Pragma("GCC unroll 1")
#define TG_UNROLL4 _Pragma("GCC unroll 4")
#define TG_UNROLL8 _Pragma("GCC unroll 8")
#define TG_UNROLL16 _Pragma("GCC unroll 16")
#else
#define TG_UNROLL1
#define TG_UNROLL8
#define TG_UNROLL16
#define TG_UNROLL4
#endif

#if defined(__GNUC__)
#define TG_HOT __attribute__((hot))
#else
#define TG_HOT
#endif

/* The shared kernels (`--optimize size`) are compiled for size, whatever the build's -O level. */
#if defined(__GNUC__) && !defined(__clang__)
#define TG_GENERIC_FN __attribute__((optimize("Os")))
#else
#define TG_GENERIC_FN
#endif

#if TG_Q15_ROUTE
/* Unaligned word load: ARMv7-M allows it for normal memory; GCC emits one LDR. */
TG_INLINE uint32_t tg_ld32(const int8_t *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}

/* [b0, b2] as two int16 lanes. */
TG_INLINE uint32_t tg_sxtb16(uint32_t x)
{
#if TG_DSP_ASM
    uint32_t r;
    __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x));
    return r;
#else
    return (uint32_t)(uint16_t)(int16_t)(int8_t)(x & 0xFFu) |
           ((uint32_t)(uint16_t)(int16_t)(int8_t)((x >> 16) & 0xFFu) << 16);
#endif
}

/* [b1, b3] as two int16 lanes. */
TG_INLINE uint32_t tg_sxtb16_ror8(uint32_t x)
{
#if TG_DSP_ASM
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
#else
    return tg_sxtb16((x >> 8) | (x << 24));
#endif
}

/* acc + a.lo*b.lo + a.hi*b.hi (int16 lanes). The products of int8 values cannot overflow. */
TG_INLINE int32_t tg_smlad(uint32_t a, uint32_t b, int32_t acc)
{
#if TG_DSP_ASM
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
#else
    return acc + (int16_t)(a & 0xFFFFu) * (int16_t)(b & 0xFFFFu) +
           (int16_t)(a >> 16) * (int16_t)(b >> 16);
#endif
}

TG_INLINE int32_t tg_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
#if TG_DSP_ASM
    int32_t r;
    __asm__("smlabb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
#else
    return acc + (int16_t)(a & 0xFFFFu) * (int16_t)(b & 0xFFFFu);
#endif
}

/* Lane-wise int16 add (no lane overflows here: |x + offset| <= 255). */
TG_INLINE uint32_t tg_sadd16(uint32_t a, uint32_t b)
{
#if TG_DSP_ASM
    uint32_t r;
    __asm__("sadd16 %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return (uint32_t)(uint16_t)((a & 0xFFFFu) + (b & 0xFFFFu)) |
           ((uint32_t)(uint16_t)((a >> 16) + (b >> 16)) << 16);
#endif
}

TG_INLINE int32_t tg_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
#if TG_DSP_ASM
    int32_t r;
    __asm__("smlatt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
#else
    return acc + (int16_t)(a >> 16) * (int16_t)(b >> 16);
#endif
}
#endif

/* TFLite's MultiplyByQuantizedMultiplier, exactly tg_requantize() for every multiplier other than
 * INT32_MIN (tinygen's multipliers are in [0, 2^31)), in fewer instructions:
 *   SaturatingRoundingDoublingHighMul(a, b) = floor((a*b + 2^30) / 2^31)  for (a, b) != (MIN, MIN):
 *     for a*b >= 0 gemmlowp adds 2^30 and truncates (= floor); for a*b < 0 it adds 1 - 2^30 and
 *     truncates toward zero, i.e. ceil((ab + 1 - 2^30) / 2^31) = floor((ab + 2^30) / 2^31).
 *     (CMSIS-NN's arm_nn_doubling_high_mult_no_sat relies on the same identity.)
 *   RoundingDivideByPOT(x, e) = (x >> e) + ((x & mask) > (mask >> 1) + (x < 0)), as in gemmlowp. */
TG_INLINE int32_t tg_rq(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    const int64_t ab = tg_smull((int32_t)((uint32_t)x << left), multiplier) + ((int64_t)1 << 30);
    const int32_t y = (int32_t)(ab >> 31);
    const int32_t mask = (int32_t)(((uint32_t)1 << right) - 1u);
    const int32_t threshold = (mask >> 1) - (y >> 31);
    return (y >> right) + ((y & mask) > threshold);
}

/* tg_rq(acc, multiplier, -rshift) + out_offset, cheaper, under preconditions that tinygen checks
 * per layer at generation time (tinygen/ops/conv.py, rq_fast_ok), with
 * rnd = 2^(rshift-1) + (out_offset << rshift) precomputed per channel:
 *   |acc| < 2^30, so 2*acc fits: y = floor((acc*m + 2^30) / 2^31) = floor((2acc*m + 2^31) / 2^32),
 *     a rounding high multiply on ARMv7E-M; SMMLAR adds rnd in the same instruction (rnd * 2^32
 *     joins the product before the shift, so exactly y + rnd comes out); then |y| < 2^30;
 *   2^30 < m < 2^31: y < 0 exactly when acc < 0 (acc <= -1 gives acc*m/2^31 < -1/2), so the
 *     rounding's sign term (y < 0) can be read off acc, which is ready earlier;
 *   1 <= rshift <= 22: rounding half away from zero is (y + 2^(rshift-1) - (y < 0)) >> rshift,
 *     and adding out_offset << rshift (|.| <= 2^29) before the exact arithmetic shift adds
 *     out_offset after it; no intermediate leaves int32. */
TG_INLINE int32_t tg_rq_fast(int32_t acc, int32_t multiplier, int32_t rnd, int32_t rshift)
{
    int32_t t;
#if TG_DSP_ASM
    __asm__("smmlar %0, %1, %2, %3"
            : "=r"(t)
            : "r"((int32_t)((uint32_t)acc << 1)), "r"(multiplier), "r"(rnd));
#else
    t = (int32_t)((tg_smull(acc, multiplier) + ((int64_t)1 << 30)) >> 31) + rnd;
#endif
    return (t + (acc >> 31)) >> rshift;
}

/* Clamp to [lo, hi] within int8; one SSAT where hi is 127 (lo, hi are constants per layer). */
TG_INLINE int8_t tg_clamp_act(int32_t v, int32_t lo, int32_t hi)
{
#if TG_DSP_ASM
    if (hi == 127) {
        int32_t r;
        if (lo != -128) {
            v = v < lo ? lo : v;
        }
        __asm__("ssat %0, #8, %1" : "=r"(r) : "r"(v));
        return (int8_t)r;
    }
#endif
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

/* Requantize an accumulator to the int8 output: scale, add the zero point, clamp. */
TG_INLINE int8_t tg_rq_s8(int32_t acc, int32_t multiplier, int32_t shift, int32_t out_offset,
                          int32_t act_min, int32_t act_max)
{
    int32_t v = tg_rq(acc, multiplier, shift) + out_offset;
    v = v < act_min ? act_min : v;
    v = v > act_max ? act_max : v;
    return (int8_t)v;
}

/* One output channel's requantisation constants, loaded once for all the outputs a pass computes
 * (output stores are char stores, which may alias anything: left in memory, the constants would
 * be reloaded after every store). `fast`: tg_rq_fast's record {m, rnd, e}; otherwise TFLite's
 * multiplier and shift. */
typedef struct {
    int32_t a, b, c;
} tg_rq_ch_t;

TG_INLINE tg_rq_ch_t tg_rq_channel(int fast, const int32_t *rq, const int32_t *mult,
                                   const int32_t *shift, int32_t ch)
{
    tg_rq_ch_t r;
    if (fast) {
        r.a = rq[3 * ch];
        r.b = rq[3 * ch + 1];
        r.c = rq[3 * ch + 2];
    } else {
        r.a = mult[ch];
        r.b = shift[ch];
        r.c = 0;
    }
    return r;
}

TG_INLINE int8_t tg_rq_channel_out(int fast, tg_rq_ch_t r, int32_t acc, int32_t out_offset,
                                   int32_t act_min, int32_t act_max)
{
    if (fast) {
        return tg_clamp_act(tg_rq_fast(acc, r.a, r.b, r.c), act_min, act_max);
    }
    return tg_rq_s8(acc, r.a, r.b, out_offset, act_min, act_max);
}

/* Dot products over n int8 values (any n), accumulated onto the given sums.
 * NxM: N input vectors (x, x + xs) times M weight vectors (w, w + ws, ...): each loaded word is
 * reused N or M times, which is where the speed comes from. */
TG_INLINE void tg_dot_2x2(const int8_t *x, int32_t xs, const int8_t *w, int32_t ws, int32_t n,
                          int32_t *s00, int32_t *s01, int32_t *s10, int32_t *s11)
{
    int32_t a00 = *s00, a01 = *s01, a10 = *s10, a11 = *s11;
    const int8_t *x1 = x + xs;
    const int8_t *w1 = w + ws;
    int32_t i = 0;
#if TG_DSP
#define TG_DOT_2X2_STEP(j)                                                                   \
    do {                                                                                   \
        const uint32_t xa = tg_ld32(x + (j)), xb = tg_ld32(x1 + (j));                      \
        const uint32_t xa0 = tg_sxtb16(xa), xa1 = tg_sxtb16_ror8(xa);                      \
        const uint32_t xb0 = tg_sxtb16(xb), xb1 = tg_sxtb16_ror8(xb);                      \
        uint32_t wv = tg_ld32(w + (j));                                                    \
        uint32_t w0 = tg_sxtb16(wv), w1v = tg_sxtb16_ror8(wv);                             \
        a00 = tg_smlad(xa0, w0, a00);                                                      \
        a00 = tg_smlad(xa1, w1v, a00);                                                     \
        a10 = tg_smlad(xb0, w0, a10);                                                      \
        a10 = tg_smlad(xb1, w1v, a10);                                                     \
        wv = tg_ld32(w1 + (j));                                                            \
        w0 = tg_sxtb16(wv);                                                                \
        w1v = tg_sxtb16_ror8(wv);                                                          \
        a01 = tg_smlad(xa0, w0, a01);                                                      \
        a01 = tg_smlad(xa1, w1v, a01);                                                     \
        a11 = tg_smlad(xb0, w0, a11);                                                      \
        a11 = tg_smlad(xb1, w1v, a11);                                                     \
    } while (0)
    for (; i + 8 <= n; i += 8) {    /* two words per trip: half the loop overhead */
        TG_DOT_2X2_STEP(i);
        TG_DOT_2X2_STEP(i + 4);
    }
    if (i + 4 <= n) {
        TG_DOT_2X2_STEP(i);
        i += 4;
    }
#undef TG_DOT_2X2_STEP
#else
    for (; i + 2 <= n; i += 2) {
        const int32_t xa0 = x[i], xa1 = x[i + 1], xb0 = x1[i], xb1 = x1[i + 1];
        const int32_t w00 = w[i], w01 = w[i + 1], w10 = w1[i], w11 = w1[i + 1];
        a00 += xa0 * w00 + xa1 * w01;
        a01 += xa0 * w10 + xa1 * w11;
        a10 += xb0 * w00 + xb1 * w01;
        a11 += xb0 * w10 + xb1 * w11;
    }
#endif
    for (; i < n; ++i) {
        const int32_t xa = x[i], xb = x1[i], wa = w[i], wb = w1[i];
        a00 += xa * wa;
        a01 += xa * wb;
        a10 += xb * wa;
        a11 += xb * wb;
    }
    *s00 = a00;
    *s01 = a01;
    *s10 = a10;
    *s11 = a11;
}

#if TG_DSP
/* n bytes to int16 lanes in SXTB16 order: word 2k = [b4k, b4k+2], 2k+1 = [b4k+1, b4k+3];
 * a last partial word is read byte by byte (no read past src + n) and padded with zeros. */
TG_INLINE void tg_expand_q15(const int8_t *src, uint32_t *dst, int32_t n)
{
    int32_t i;
    for (i = 0; i + 4 <= n; i += 4, dst += 2) {
        const uint32_t v = tg_ld32(src + i);
        dst[0] = tg_sxtb16(v);
        dst[1] = tg_sxtb16_ror8(v);
    }
    if (i < n) {
        uint32_t v = (uint8_t)src[i];
        if (i + 1 < n) {
            v |= (uint32_t)(uint8_t)src[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= (uint32_t)(uint8_t)src[i + 2] << 16;
        }
        dst[0] = tg_sxtb16(v);
        dst[1] = tg_sxtb16_ror8(v);
    }
}

#endif

#if TG_DSP
/* tg_dot_1x4 with the input already expanded (tg_expand_q15 of its first n4 = n & ~3 bytes):
 * per eight bytes two double-word input loads serve four weight rows. x holds the raw bytes for
 * the last n - n4. */
TG_INLINE void tg_dot_1x4_q15(const uint32_t *xq, const int8_t *x, const int8_t *w, int32_t ws,
                              int32_t n, int32_t *s0, int32_t *s1, int32_t *s2, int32_t *s3)
{
    int32_t a0 = *s0, a1 = *s1, a2 = *s2, a3 = *s3;
    const int32_t n4 = n & ~3;
    int32_t i = 0;
#define TG_Q15_ROW(a, wr, j, xlo, xhi)                                                      \
    do {                                                                                   \
        const uint32_t wv_ = tg_ld32((wr) + (j));                                          \
        a = tg_smlad(xlo, tg_sxtb16(wv_), a);                                              \
        a = tg_smlad(xhi, tg_sxtb16_ror8(wv_), a);                                         \
    } while (0)
    for (; i + 8 <= n4; i += 8, xq += 4) {
        const uint32_t x0 = xq[0], x1 = xq[1], x2 = xq[2], x3 = xq[3];
        TG_Q15_ROW(a0, w, i, x0, x1);
        TG_Q15_ROW(a0, w, i + 4, x2, x3);
        TG_Q15_ROW(a1, w + ws, i, x0, x1);
        TG_Q15_ROW(a1, w + ws, i + 4, x2, x3);
        TG_Q15_ROW(a2, w + 2 * ws, i, x0, x1);
        TG_Q15_ROW(a2, w + 2 * ws, i + 4, x2, x3);
        TG_Q15_ROW(a3, w + 3 * ws, i, x0, x1);
        TG_Q15_ROW(a3, w + 3 * ws, i + 4, x2, x3);
    }
    if (i < n4) {
        const uint32_t x0 = xq[0], x1 = xq[1];
        TG_Q15_ROW(a0, w, i, x0, x1);
        TG_Q15_ROW(a1, w + ws, i, x0, x1);
        TG_Q15_ROW(a2, w + 2 * ws, i, x0, x1);
        TG_Q15_ROW(a3, w + 3 * ws, i, x0, x1);
        i += 4;
    }
#undef TG_Q15_ROW
    for (; i < n; ++i) {
        const int32_t xv = x[i];
        a0 += xv * w[i];
        a1 += xv * w[ws + i];
        a2 += xv * w[2 * ws + i];
        a3 += xv * w[3 * ws + i];
    }
    *s0 = a0;
    *s1 = a1;
    *s2 = a2;
    *s3 = a3;
}
#endif

#if TG_Q15_ROUTE
/* Four int8 vectors expanded to int16 lanes and interleaved per four bytes (slot k's even and
 * odd lanes at words 2k, 2k + 1 of each 8-word group): conv windows (tg_conv.h) and FC weight
 * rows stored pre-widened (tg_fully_connected.h), each dotted with one raw int8 vector. */
#define TG_Q15_BATCH 4

#if TG_MAC16
/* One group of four bytes at byte offset W of wp and X of xp (one slot's lanes [x0, x2], [x1, x3]
 * as int16): the weight word's bytes go to the high byte of int16 lanes by masking
 * (w & 0xFF00FF00 = [256 w1, 256 w3], (w << 8) & 0xFF00FF00 = [256 w0, 256 w2]), no sign
 * extension, then four MULA.AA: 10 instructions per four MACs. */
#define TG_MAC16_GROUP(W, X)                                                                 \
    "l32i %[wv], %[wp], " #W "\n\t"                                                          \
    "l32i %[xe], %[xp], " #X "\n\t"                                                          \
    "l32i %[xo], %[xp], " #X "+4\n\t"                                                        \
    "slli %[we], %[wv], 8\n\t"                                                              \
    "and %[we], %[we], %[m]\n\t"                                                            \
    "and %[wo], %[wv], %[m]\n\t"                                                            \
    "mula.aa.ll %[xe], %[we]\n\t"                                                           \
    "mula.aa.hh %[xe], %[we]\n\t"                                                           \
    "mula.aa.ll %[xo], %[wo]\n\t"                                                           \
    "mula.aa.hh %[xo], %[wo]\n\t"

/* One slot's lanes (words 0 and 1 of every 8-word group) . n raw bytes w (n % 4 == 0, n > 0, w
 * word aligned) on MAC16's 40-bit accumulator: two groups per trip, 23 instructions per eight
 * MACs (the portable 2x2 loop takes about 47), an odd group first. Every product is 256 times the
 * true one, at most 128 * 2^15 = 2^22 in magnitude. ACC wraps mod 2^40, so it ends as
 * 256 * (S mod 2^32): its bits 8..39 are exactly TFLite-Micro's int32 sum S, wrapping included,
 * for any window length. ACC is not the compiler's (it never emits MAC16): nothing else touches
 * it between the WSRs and the RSRs of one asm statement. */
TG_INLINE int32_t tg_mac16_dot(const uint32_t *x, const int8_t *w, int32_t n)
{
    const int8_t *const wend = w + n;
    const int8_t *wp = w;
    const uint32_t *xp = x;
    uint32_t wv, we, wo, xe, xo;
    __asm__ volatile("wsr %[z], acclo\n\t"
                     "wsr %[z], acchi\n\t"
                     "bbci %[n], 2, 2f\n\t"
                     TG_MAC16_GROUP(0, 0)
                     "addi %[wp], %[wp], 4\n\t"
                     "addi %[xp], %[xp], 32\n\t"
                     "2:\n\t"
                     "beq %[wp], %[wend], 3f\n\t"
                     "1:\n\t"
                     TG_MAC16_GROUP(0, 0)
                     TG_MAC16_GROUP(4, 32)
                     "addi %[wp], %[wp], 8\n\t"
                     "addi %[xp], %[xp], 64\n\t"
                     "bne %[wp], %[wend], 1b\n\t"
                     "3:\n\t"
                     "rsr %[we], acclo\n\t"
                     "rsr %[wo], acchi"
                     : [wp] "+r"(wp), [xp] "+r"(xp), [wv] "=&r"(wv), [we] "=&r"(we),
                       [wo] "=&r"(wo), [xe] "=&r"(xe), [xo] "=&r"(xo)
                     : [z] "r"(0), [m] "r"(0xFF00FF00u), [wend] "r"(wend), [n] "r"(n)
                     : "memory");
    return (int32_t)((we >> 8) | (wo << 24));
}
#undef TG_MAC16_GROUP
#endif

/* cnt accumulators += cnt interleaved windows . one channel's weights (n bytes, n % 4 == 0); cnt
 * <= 4 is a constant at each call: a layer's last 1-3 positions, and tg_dot_4x1_q15 without the
 * real DSP instructions (MAC16: one slot at a time, the accumulator being single). */
TG_INLINE void tg_dot_part_q15(const uint32_t *x, const int8_t *w, int32_t n, int32_t cnt,
                               int32_t *acc)
{
    int32_t i, k;
#if TG_MAC16
    if (n > 0 && ((uintptr_t)w & 3u) == 0) { /* L32I needs it; else the C loop below */
        TG_UNROLL4
        for (k = 0; k < cnt; ++k) {
            acc[k] += tg_mac16_dot(x + 2 * k, w, n);
        }
        return;
    }
#endif
    for (i = 0; i < n; i += 4, x += 2 * TG_Q15_BATCH) {
        const uint32_t wv = tg_ld32(w + i);
        const uint32_t we = tg_sxtb16(wv), wo = tg_sxtb16_ror8(wv);
        TG_UNROLL4
        for (k = 0; k < cnt; ++k) {
            acc[k] = tg_smlad(x[2 * k], we, acc[k]);
            acc[k] = tg_smlad(x[2 * k + 1], wo, acc[k]);
        }
    }
}

/* Four accumulators += four windows (interleaved) . one channel's weights (n bytes, n % 4 == 0).
 * Per four weight bytes (TG_Q15_STEP): LDR + 2 SXTB16 for the weights, two 4-register LDMs bring
 * the four windows' eight lane words, eight SMLADs: 13 instructions per 16 MACs. The loop is
 * written out in assembly, four steps per trip (54 instructions per 64 MACs with its CMP/BNE):
 * LDM's register list must ascend, so its registers are fixed (r8-r11; local register variables
 * are honoured for asm operands), and GCC, left to unroll it, shuffled the accumulators between
 * steps. A window of 4, 8 or 12 mod 16 bytes takes one to three steps first. */
#if TG_DSP_ASM
#define TG_Q15_STEP                                                                          \
    "ldr %[we], [%[wp]], #4\n\t"                                                          \
    "sxtb16 %[wo], %[we], ror #8\n\t"                                                     \
    "sxtb16 %[we], %[we]\n\t"                                                             \
    "ldmia %[xp]!, {%[t0], %[t1], %[t2], %[t3]}\n\t"                                      \
    "smlad %[a0], %[t0], %[we], %[a0]\n\t"                                                \
    "smlad %[a0], %[t1], %[wo], %[a0]\n\t"                                                \
    "smlad %[a1], %[t2], %[we], %[a1]\n\t"                                                \
    "smlad %[a1], %[t3], %[wo], %[a1]\n\t"                                                \
    "ldmia %[xp]!, {%[t0], %[t1], %[t2], %[t3]}\n\t"                                      \
    "smlad %[a2], %[t0], %[we], %[a2]\n\t"                                                \
    "smlad %[a2], %[t1], %[wo], %[a2]\n\t"                                                \
    "smlad %[a3], %[t2], %[we], %[a3]\n\t"                                                \
    "smlad %[a3], %[t3], %[wo], %[a3]\n\t"
#endif

TG_INLINE void tg_dot_4x1_q15(const uint32_t *x, const int8_t *w, int32_t n, int32_t *acc)
{
#if TG_DSP_ASM
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const int8_t *wp = w;
    const uint32_t *xp = x;
    uint32_t we, wo;
    register uint32_t t0 __asm__("r8");
    register uint32_t t1 __asm__("r9");
    register uint32_t t2 __asm__("r10");
    register uint32_t t3 __asm__("r11");
    int32_t k;
    TG_UNROLL4
    for (k = 0; k < (n / 4) % 4; ++k) {
        __asm__(TG_Q15_STEP
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [t0] "=&r"(t0),
                  [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [we] "=&r"(we),
                  [wo] "=&r"(wo), [xp] "+r"(xp), [wp] "+r"(wp)
                :
                : "memory");
    }
    if (n >= 16) {
        const int8_t *const wend = w + n;
        __asm__("1:\n\t" TG_Q15_STEP TG_Q15_STEP TG_Q15_STEP TG_Q15_STEP
                "cmp %[wp], %[wend]\n\t"
                "bne 1b"
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [t0] "=&r"(t0),
                  [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [we] "=&r"(we),
                  [wo] "=&r"(wo), [xp] "+r"(xp), [wp] "+r"(wp)
                : [wend] "r"(wend)
                : "cc", "memory");
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
#else
    tg_dot_part_q15(x, w, n, TG_Q15_BATCH, acc);
#endif
}

#endif

/* One input vector times four weight vectors w, w + ws, w + 2ws, w + 3ws. */
TG_INLINE void tg_dot_1x4(const int8_t *x, const int8_t *w, int32_t ws, int32_t n, int32_t *s0,
                          int32_t *s1, int32_t *s2, int32_t *s3)
{
    int32_t a0 = *s0, a1 = *s1, a2 = *s2, a3 = *s3;
    const int8_t *w1 = w + ws;
    const int8_t *w2 = w1 + ws;
    const int8_t *w3 = w2 + ws;
    int32_t i = 0;
#if TG_DSP
#define TG_DOT_1X4_STEP(j)                                                                   \
    do {                                                                                   \
        const uint32_t xv = tg_ld32(x + (j));                                              \
        const uint32_t x0 = tg_sxtb16(xv), x1 = tg_sxtb16_ror8(xv);                        \
        uint32_t wv = tg_ld32(w + (j));                                                    \
        a0 = tg_smlad(x0, tg_sxtb16(wv), a0);                                              \
        a0 = tg_smlad(x1, tg_sxtb16_ror8(wv), a0);                                         \
        wv = tg_ld32(w1 + (j));                                                            \
        a1 = tg_smlad(x0, tg_sxtb16(wv), a1);                                              \
        a1 = tg_smlad(x1, tg_sxtb16_ror8(wv), a1);                                         \
        wv = tg_ld32(w2 + (j));                                                            \
        a2 = tg_smlad(x0, tg_sxtb16(wv), a2);                                              \
        a2 = tg_smlad(x1, tg_sxtb16_ror8(wv), a2);                                         \
        wv = tg_ld32(w3 + (j));                                                            \
        a3 = tg_smlad(x0, tg_sxtb16(wv), a3);                                              \
        a3 = tg_smlad(x1, tg_sxtb16_ror8(wv), a3);                                         \
    } while (0)
    for (; i + 8 <= n; i += 8) {
        TG_DOT_1X4_STEP(i);
        TG_DOT_1X4_STEP(i + 4);
    }
    if (i + 4 <= n) {
        TG_DOT_1X4_STEP(i);
        i += 4;
    }
#undef TG_DOT_1X4_STEP
#endif
    for (; i < n; ++i) {
        const int32_t xv = x[i];
        a0 += xv * w[i];
        a1 += xv * w1[i];
        a2 += xv * w2[i];
        a3 += xv * w3[i];
    }
    *s0 = a0;
    *s1 = a1;
    *s2 = a2;
    *s3 = a3;
}

/* sum((x + off) * w) onto four weight vectors: for windows clipped by padding (raw bias). */
TG_INLINE void tg_dot_1x4_off(const int8_t *x, const int8_t *w, int32_t ws, int32_t n, int32_t off,
                              int32_t *s0, int32_t *s1, int32_t *s2, int32_t *s3)
{
    int32_t a0 = *s0, a1 = *s1, a2 = *s2, a3 = *s3;
    const int8_t *w1 = w + ws;
    const int8_t *w2 = w1 + ws;
    const int8_t *w3 = w2 + ws;
    int32_t i = 0;
#if TG_DSP
    const uint32_t off2 = ((uint32_t)(uint16_t)off << 16) | (uint16_t)off;
    for (; i + 4 <= n; i += 4) {
        const uint32_t xv = tg_ld32(x + i);
        const uint32_t x0 = tg_sadd16(tg_sxtb16(xv), off2), x1 = tg_sadd16(tg_sxtb16_ror8(xv), off2);
        uint32_t wv = tg_ld32(w + i);
        a0 = tg_smlad(x0, tg_sxtb16(wv), a0);
        a0 = tg_smlad(x1, tg_sxtb16_ror8(wv), a0);
        wv = tg_ld32(w1 + i);
        a1 = tg_smlad(x0, tg_sxtb16(wv), a1);
        a1 = tg_smlad(x1, tg_sxtb16_ror8(wv), a1);
        wv = tg_ld32(w2 + i);
        a2 = tg_smlad(x0, tg_sxtb16(wv), a2);
        a2 = tg_smlad(x1, tg_sxtb16_ror8(wv), a2);
        wv = tg_ld32(w3 + i);
        a3 = tg_smlad(x0, tg_sxtb16(wv), a3);
        a3 = tg_smlad(x1, tg_sxtb16_ror8(wv), a3);
    }
#endif
    for (; i < n; ++i) {
        const int32_t xv = (int32_t)x[i] + off;
        a0 += xv * w[i];
        a1 += xv * w1[i];
        a2 += xv * w2[i];
        a3 += xv * w3[i];
    }
    *s0 = a0;
    *s1 = a1;
    *s2 = a2;
    *s3 = a3;
}

TG_INLINE int32_t tg_dot_1x1_off(const int8_t *x, const int8_t *w, int32_t n, int32_t off,
                                 int32_t acc)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        acc += ((int32_t)x[i] + off) * w[i];
    }
    return acc;
}

/* One input vector times one weight vector. */
TG_INLINE int32_t tg_dot_1x1(const int8_t *x, const int8_t *w, int32_t n, int32_t acc)
{
    int32_t i = 0;
#if TG_DSP
    for (; i + 4 <= n; i += 4) {
        const uint32_t xv = tg_ld32(x + i), wv = tg_ld32(w + i);
        acc = tg_smlad(tg_sxtb16(xv), tg_sxtb16(wv), acc);
        acc = tg_smlad(tg_sxtb16_ror8(xv), tg_sxtb16_ror8(wv), acc);
    }
#endif
    for (; i < n; ++i) {
        acc += (int32_t)x[i] * w[i];
    }
    return acc;
}

/* 1 when this build takes its DSP route (SMLAD, or MAC16 on Xtensa), 0 for portable C. */
int tg_simd_dsp_path(void);

#endif
