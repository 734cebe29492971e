/* FFT front end: DC removal, Hann window, N-point real FFT computed as an N/2-point complex
 * FFT, band energies, Q6 log2, affine map to int8. The FFT: a first stage with unit twiddles
 * (radix 4 or 2) fused with the window, radix-4 stages (Q30 twiddles, high-word products,
 * scaled so nothing overflows), then the last radix-2 stage fused with the real FFT's split
 * step: butterflies m and N/4 - m give exactly the Z values of the split pairs (m, N/2 - m) and
 * (N/4 - m, N/4 + m), and one quarter-wave table entry serves all four twiddles.
 * Every step mirrors tinygen/features/frontend.py; the arithmetic (shift directions, floor or
 * ceiling of each product, operation order inside a butterfly) must not change without
 * changing the Python reference too. Right shifts of negative values are arithmetic on every
 * compiler we target (GCC on Arm, RISC-V and the host).
 *
 * The complex buffer interleaves real and imaginary parts, so one LDRD/STRD moves a value. */
#define TG_FEATURES_IMPLEMENTATION
#include "tg_features.h"

#define TG_HALF (TG_FEATURES_WINDOW / 2)      /* complex points */
#define TG_EIGHTH (TG_FEATURES_WINDOW / 8)    /* a quarter of the complex points */

#if defined(__GNUC__)
#define TG_FE_INLINE static inline __attribute__((always_inline))
#else
#define TG_FE_INLINE static inline
#endif

/* The exact signed 32x32 -> 64-bit product. ARMv6-M (the Pico's Cortex-M0+) has no SMULL and
 * GCC would call libgcc's 64x64 multiply: 16x16 partial products instead (the same as
 * tg_runtime.h's tg_smull; the front end is compiled without the model's runtime). */
static inline int64_t tg_fe_smull(int32_t a, int32_t b)
{
#if defined(__ARM_ARCH_6M__)
    const uint32_t al = (uint32_t)a & 0xFFFFu, bl = (uint32_t)b & 0xFFFFu;
    const int32_t ah = a >> 16, bh = b >> 16;
    const int32_t hl = ah * (int32_t)bl, lh = (int32_t)al * bh;
    uint32_t lo = al * bl, t;
    int32_t hi = ah * bh;
    t = (uint32_t)hl << 16;
    lo += t;
    hi += (hl >> 16) + (int32_t)(lo < t);
    t = (uint32_t)lh << 16;
    lo += t;
    hi += (lh >> 16) + (int32_t)(lo < t);
    return (int64_t)(((uint64_t)(uint32_t)hi << 32) | lo);
#else
    return (int64_t)a * b;
#endif
}

#if defined(__GNUC__) && defined(__ARM_FEATURE_DSP) && !defined(TG_NO_DSP)
/* ARMv7E-M: one instruction per high word, the accumulating forms included (GCC emits SMULL
 * plus an add for the C below, and has no pattern for SMMLS's ceiling). */
static inline int32_t tg_mulhi(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmul %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline int32_t tg_mulhi_add(int32_t acc, int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmla %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

static inline int32_t tg_mulhi_sub(int32_t acc, int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmls %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
#else
/* floor(a * b / 2^32): MULH on RV32IM, SMULL's high register elsewhere. */
static inline int32_t tg_mulhi(int32_t a, int32_t b)
{
    return (int32_t)(tg_fe_smull(a, b) >> 32);
}

/* acc + floor(a * b / 2^32) (SMMLA). */
static inline int32_t tg_mulhi_add(int32_t acc, int32_t a, int32_t b)
{
    return acc + (int32_t)(tg_fe_smull(a, b) >> 32);
}

/* acc - ceil(a * b / 2^32) = acc + floor(-a * b / 2^32) (SMMLS). */
static inline int32_t tg_mulhi_sub(int32_t acc, int32_t a, int32_t b)
{
    return acc + (int32_t)((-tg_fe_smull(a, b)) >> 32);
}
#endif

static uint32_t tg_msb64(uint64_t v)
{
    uint32_t hi = (uint32_t)(v >> 32);
    uint32_t lo = (uint32_t)v;
#if defined(__GNUC__)
    return hi ? 63u - (uint32_t)__builtin_clz(hi) : 31u - (uint32_t)__builtin_clz(lo);
#else
    uint32_t w = hi ? hi : lo, n = hi ? 32u : 0u;
    while (w >>= 1) {
        n++;
    }
    return n;
#endif
}

/* Q6 log2 of v (0 for v == 0): top-bit position plus a table for the next 6 bits. */
static int32_t tg_log2_q6(uint64_t v)
{
    uint32_t msb, idx;
    if (v == 0u) {
        return 0;
    }
    msb = tg_msb64(v);
    if (msb >= TG_FEATURES_LOG_TABLE_BITS) {
        idx = (uint32_t)(v >> (msb - TG_FEATURES_LOG_TABLE_BITS));
    } else {
        idx = (uint32_t)(v << (TG_FEATURES_LOG_TABLE_BITS - msb));
    }
    idx &= (1u << TG_FEATURES_LOG_TABLE_BITS) - 1u;
    return (int32_t)(msb << TG_FEATURES_LOG_FRAC_BITS) + tg_features_log2_table[idx];
}

#if defined(__GNUC__) && defined(__ARM_FEATURE_DSP) && !defined(TG_NO_DSP) && TG_FEATURES_CHANNELS == 1u
/* One channel on ARMv7E-M: two neighbouring samples (and Hann values) in one 32-bit load,
 * little-endian, unaligned allowed (memcpy lets GCC emit a plain LDR, never LDRD/LDM); the
 * halves then feed SMLAD / SMULBB / SMLABB. */
#define TG_PAIRS 1
static inline uint32_t tg_load_pair(const int16_t *p)
{
    uint32_t w;
    __builtin_memcpy(&w, p, sizeof w);
    return w;
}

static inline int32_t tg_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
#else
#define TG_PAIRS 0
#endif

/* floor(sum / N): numpy's >> on the sum. */
static int32_t tg_mean(const int16_t *samples)
{
    int32_t sum = 0;
    uint32_t n;
#if TG_PAIRS
    for (n = 0u; n < TG_FEATURES_WINDOW; n += 8u) {       /* an SMLAD adds two samples */
        sum = tg_smlad(tg_load_pair(samples + n), 0x00010001u, sum);
        sum = tg_smlad(tg_load_pair(samples + n + 2u), 0x00010001u, sum);
        sum = tg_smlad(tg_load_pair(samples + n + 4u), 0x00010001u, sum);
        sum = tg_smlad(tg_load_pair(samples + n + 6u), 0x00010001u, sum);
    }
#else
    for (n = 0u; n < TG_FEATURES_WINDOW; n++) {
        sum += samples[n * TG_FEATURES_CHANNELS];
    }
#endif
    return sum >> TG_FEATURES_LOG2_WINDOW;
}

/* ((x - mean) * hann) >> PRESCALE for the samples n and n + 1 of one channel: the real and
 * imaginary parts of one complex input. On the paired path x h + (-mean) h (SMULBB, SMLABB):
 * exactly (x - mean) h, as |x - mean| h < 2^31 never wraps, and -mean fits 16 bits because
 * the caller never gets here with mean = -32768. */
static inline void tg_windowed(const int16_t *x, const int16_t *h, int32_t mean, int32_t *re, int32_t *im)
{
#if TG_PAIRS
    uint32_t xw = tg_load_pair(x), hw = tg_load_pair(h);
    int32_t nm = -mean, r, i;
    __asm__("smulbb %0, %1, %2" : "=r"(r) : "r"(xw), "r"(hw));
    __asm__("smlabb %0, %1, %2, %3" : "=r"(r) : "r"(nm), "r"(hw), "r"(r));
    __asm__("smultt %0, %1, %2" : "=r"(i) : "r"(xw), "r"(hw));
    __asm__("smlabt %0, %1, %2, %3" : "=r"(i) : "r"(nm), "r"(hw), "r"(i));
    *re = r >> TG_FEATURES_PRESCALE_SHIFT;
    *im = i >> TG_FEATURES_PRESCALE_SHIFT;
#else
    *re = ((x[0] - mean) * h[0]) >> TG_FEATURES_PRESCALE_SHIFT;
    *im = ((x[TG_FEATURES_CHANNELS] - mean) * h[1]) >> TG_FEATURES_PRESCALE_SHIFT;
#endif
}

/* The sums of a radix-4 butterfly on four scaled or twiddled inputs t[0..7] (re, im pairs),
 * written to the four quarters o0..o3 of its block. */
TG_FE_INLINE void tg_sums4(const int32_t *t, int32_t *o0, int32_t *o1, int32_t *o2, int32_t *o3)
{
    int32_t a0r = t[0] + t[4], a0i = t[1] + t[5], a1r = t[0] - t[4], a1i = t[1] - t[5];
    int32_t c0r = t[2] + t[6], c0i = t[3] + t[7], c1r = t[2] - t[6], c1i = t[3] - t[7];
    o0[0] = a0r + c0r;
    o0[1] = a0i + c0i;
    o2[0] = a0r - c0r;
    o2[1] = a0i - c0i;
    o1[0] = a1r + c1i;
    o1[1] = a1i - c1r;
    o3[0] = a1r - c1i;
    o3[1] = a1i + c1r;
}

/* DC removal, window and the first stage (unit twiddles): block p takes the complex samples
 * order[p] + i N / (2 r), i < r (mixed-radix digit reversal); the window's shift already
 * divided each by r. */
static void tg_window_first(const int16_t *samples, int32_t *z)
{
    int32_t mean = tg_mean(samples);
    uint32_t p;
    if (mean == -32768) {          /* every sample is -32768: the windowed signal is all zero */
        for (p = 0u; p < 2u * TG_HALF; p++) {
            z[p] = 0;
        }
        return;
    }
    for (p = 0u; p < TG_HALF / TG_FEATURES_FIRST_RADIX; p++) {
        uint32_t a = 2u * tg_features_order[p];          /* sample index of the first input */
#if TG_FEATURES_FIRST_RADIX == 4
        const uint32_t d = TG_FEATURES_WINDOW / 4u;     /* N/8 complex samples apart */
        int32_t t[8], *o = z + 8u * p;
        tg_windowed(samples + a * TG_FEATURES_CHANNELS, tg_features_hann_q15 + a, mean, &t[0], &t[1]);
        tg_windowed(samples + (a + d) * TG_FEATURES_CHANNELS, tg_features_hann_q15 + a + d, mean, &t[2], &t[3]);
        tg_windowed(samples + (a + 2u * d) * TG_FEATURES_CHANNELS, tg_features_hann_q15 + a + 2u * d, mean, &t[4], &t[5]);
        tg_windowed(samples + (a + 3u * d) * TG_FEATURES_CHANNELS, tg_features_hann_q15 + a + 3u * d, mean, &t[6], &t[7]);
        tg_sums4(t, o, o + 2, o + 4, o + 6);
#else
        uint32_t b = a + TG_HALF;
        int32_t ar, ai, br, bi;
        tg_windowed(samples + a * TG_FEATURES_CHANNELS, tg_features_hann_q15 + a, mean, &ar, &ai);
        tg_windowed(samples + b * TG_FEATURES_CHANNELS, tg_features_hann_q15 + b, mean, &br, &bi);
        z[4u * p] = ar + br;
        z[4u * p + 1u] = ai + bi;
        z[4u * p + 2u] = ar - br;
        z[4u * p + 3u] = ai - bi;
#endif
    }
}

/* x0 / 4 plus the three inputs times their twiddles w (cos, sin) x 3, Q30 so each high word is
 * already a quarter; two levels of sums and no other shift. */
TG_FE_INLINE void tg_butterfly4(int32_t *p0, int32_t *p1, int32_t *p2, int32_t *p3, const int32_t *w)
{
    int32_t t[8];
    t[2] = tg_mulhi_add(tg_mulhi(p1[0], w[0]), p1[1], w[1]);
    t[3] = tg_mulhi_sub(tg_mulhi(p1[1], w[0]), p1[0], w[1]);
    t[6] = tg_mulhi_add(tg_mulhi(p3[0], w[4]), p3[1], w[5]);
    t[7] = tg_mulhi_sub(tg_mulhi(p3[1], w[4]), p3[0], w[5]);
    t[4] = tg_mulhi_add(tg_mulhi(p2[0], w[2]), p2[1], w[3]);
    t[5] = tg_mulhi_sub(tg_mulhi(p2[1], w[2]), p2[0], w[3]);
    t[0] = p0[0] >> 2;
    t[1] = p0[1] >> 2;
    tg_sums4(t, p0, p1, p2, p3);
}

/* tg_butterfly4 with the twiddles of m = 0 (cos 2^30, sin 0): the same results (floor(x 2^30 /
 * 2^32) is x >> 2, and a zero sine adds nothing), without the twelve products. */
TG_FE_INLINE void tg_butterfly4_unit(int32_t *p0, int32_t *p1, int32_t *p2, int32_t *p3)
{
    int32_t t[8];
    t[0] = p0[0] >> 2;
    t[1] = p0[1] >> 2;
    t[2] = p1[0] >> 2;
    t[3] = p1[1] >> 2;
    t[4] = p2[0] >> 2;
    t[5] = p2[1] >> 2;
    t[6] = p3[0] >> 2;
    t[7] = p3[1] >> 2;
    tg_sums4(t, p0, p1, p2, p3);
}

#if defined(__GNUC__) && defined(__ARM_FEATURE_DSP) && !defined(TG_NO_DSP) && defined(__thumb2__) && defined(__OPTIMIZE__)
/* tg_butterfly4, the same instructions in the same order as the C above, register-allocated by
 * hand: GCC's version spills twiddles and splits LDRDs (53 instructions against these 40).
 * b points between the second and third inputs (12q bytes past the first), so all four are in
 * LDRD's +-1020-byte reach while 12q <= 1020; w advances by 24 bytes, b by one complex value. */
#define TG_ASM_BUTTERFLY4 1
TG_FE_INLINE void tg_butterfly4_asm(int32_t **b, const int32_t **w, uint32_t q)
{
    int32_t a, bb, d, e, f, g, c, s, x, y;
    __asm__ volatile(
        "ldrd %[c], %[s], [%[w]], #8\n\t"
        "ldrd %[x], %[y], [%[b], #-%c[o1]]\n\t"
        "smmul %[a], %[x], %[c]\n\t"
        "smmla %[a], %[y], %[s], %[a]\n\t"
        "smmul %[bb], %[y], %[c]\n\t"
        "smmls %[bb], %[x], %[s], %[bb]\n\t"
        "ldrd %[c], %[s], [%[w]], #8\n\t"
        "ldrd %[x], %[y], [%[b], #%c[o1]]\n\t"
        "smmul %[d], %[x], %[c]\n\t"
        "smmla %[d], %[y], %[s], %[d]\n\t"
        "smmul %[e], %[y], %[c]\n\t"
        "smmls %[e], %[x], %[s], %[e]\n\t"
        "ldrd %[c], %[s], [%[w]], #8\n\t"
        "ldrd %[x], %[y], [%[b], #%c[o3]]\n\t"
        "smmul %[f], %[x], %[c]\n\t"
        "smmla %[f], %[y], %[s], %[f]\n\t"
        "smmul %[g], %[y], %[c]\n\t"
        "smmls %[g], %[x], %[s], %[g]\n\t"
        "ldrd %[c], %[s], [%[b], #-%c[o3]]\n\t"      /* x0 */
        "add %[x], %[d], %[c], asr #2\n\t"           /* a0r = x0r / 4 + t2r */
        "rsb %[d], %[d], %[c], asr #2\n\t"           /* a1r */
        "add %[c], %[e], %[s], asr #2\n\t"           /* a0i */
        "rsb %[e], %[e], %[s], asr #2\n\t"           /* a1i */
        "add %[s], %[a], %[f]\n\t"                   /* c0r = t1r + t3r */
        "sub %[a], %[a], %[f]\n\t"                   /* c1r */
        "add %[f], %[bb], %[g]\n\t"                  /* c0i */
        "sub %[bb], %[bb], %[g]\n\t"                 /* c1i */
        "add %[y], %[x], %[s]\n\t"                   /* y0r */
        "sub %[x], %[x], %[s]\n\t"                   /* y2r */
        "add %[s], %[c], %[f]\n\t"                   /* y0i */
        "sub %[c], %[c], %[f]\n\t"                   /* y2i */
        "strd %[y], %[s], [%[b], #-%c[o3]]\n\t"
        "strd %[x], %[c], [%[b], #%c[o1]]\n\t"
        "add %[x], %[d], %[bb]\n\t"                  /* y1r = a1r + c1i */
        "sub %[d], %[d], %[bb]\n\t"                  /* y3r */
        "sub %[y], %[e], %[a]\n\t"                   /* y1i = a1i - c1r */
        "add %[e], %[e], %[a]\n\t"                   /* y3i */
        "strd %[x], %[y], [%[b], #-%c[o1]]\n\t"
        "strd %[d], %[e], [%[b], #%c[o3]]\n\t"
        "add %[b], %[b], #8"
        : [b] "+r"(*b), [w] "+r"(*w), [a] "=&r"(a), [bb] "=&r"(bb), [d] "=&r"(d), [e] "=&r"(e),
          [f] "=&r"(f), [g] "=&r"(g), [c] "=&r"(c), [s] "=&r"(s), [x] "=&r"(x), [y] "=&r"(y)
        : [o1] "i"(4u * q * 1u), [o3] "i"(12u * q)
        : "memory");
}
#else
#define TG_ASM_BUTTERFLY4 0
#endif

/* One radix-4 stage of size 4q over the whole buffer; w: q groups of (cos, sin) for W^m, W^2m,
 * W^3m (the unit group of m = 0 skipped), read in order once per block. Inlined with a
 * constant q, so the four inputs are one pointer plus constant offsets (registers are what a
 * butterfly runs short of). */
TG_FE_INLINE void tg_radix4(int32_t *z, uint32_t q, const int32_t *w)
{
    int32_t *end = z + 2u * TG_HALF;
    for (; z < end; z += 8u * q) {
        tg_butterfly4_unit(z, z + 2u * q, z + 4u * q, z + 6u * q);
#if TG_ASM_BUTTERFLY4
        if (12u * q <= 1020u) {
            int32_t *b = z + 2 + 3u * q, *stop = z + 5u * q;
            const int32_t *t = w + 6;
            while (b < stop) {
                tg_butterfly4_asm(&b, &t, q);
            }
            continue;
        }
#endif
        {
            int32_t *p = z + 2, *stop = z + 2u * q;
            const int32_t *t = w + 6;
            for (; p < stop; p += 2, t += 6) {
                tg_butterfly4(p, p + 2u * q, p + 4u * q, p + 6u * q, t);
            }
        }
    }
}

/* A butterfly of the last radix-2 stage: lo = a / 2 + W b, hi = a / 2 - W b with a Q30 W, so
 * b or W comes doubled (the caller's choice: mulhi(2 b, c) and mulhi(b, 2 c) are one product)
 * to make the product a half. */
TG_FE_INLINE void tg_butterfly2(const int32_t *a, int32_t br, int32_t bi, int32_t c, int32_t s, int32_t *lo, int32_t *hi)
{
    int32_t tr = tg_mulhi_add(tg_mulhi(br, c), bi, s);
    int32_t ti = tg_mulhi_sub(tg_mulhi(bi, c), br, s);
    int32_t ar = a[0] >> 1, ai = a[1] >> 1;
    lo[0] = ar + tr;
    lo[1] = ai + ti;
    hi[0] = ar - tr;
    hi[1] = ai - ti;
}

/* Split step of the real FFT for the pair (k, N/2 - k): 16 X[k] into xk and 16 X[N/2 - k],
 * its imaginary part negated (only |X|^2 is used), into xm; the four products are shared.
 * xm is written first, so for k = N/4 (xk == xm) the k formula stays. */
TG_FE_INLINE void tg_split(const int32_t *zk, const int32_t *zm, int32_t c, int32_t s, int32_t *xk, int32_t *xm)
{
    int32_t er = zk[0] + zm[0], ei = zk[1] - zm[1];
    int32_t dr = zk[0] - zm[0], di = zk[1] + zm[1];
    int32_t u = tg_mulhi_sub(tg_mulhi(di, c), dr, s);
    int32_t v = tg_mulhi_add(tg_mulhi(dr, c), di, s);
    int32_t ar = er >> 1, ai = ei >> 1;
    xm[0] = ar - u;
    xm[1] = ai + v;
    xk[0] = ar + u;
    xk[1] = ai - v;
}

/* The last radix-2 stage and the split, in place: Z'[m] and Z'[m + N/4] (the two halves' m)
 * in, X[k] out at Z[k]. Butterflies m and N/4 - m (m < N/8) make the pairs (m, N/2 - m) and
 * (N/4 - m, N/4 + m), all from quarter-table entry m: W_{N/2}^(N/4 - m) is W_{N/2}^m with its
 * cosine negated, W_N^(N/4 - m) has cosine and sine swapped. m = 0 and N/8 come last (bin 0
 * is never used; N/4 pairs with itself). */
static void tg_last_split(int32_t *z)
{
    const int32_t *w = tg_features_quarter + 4;
    int32_t *pa = z + 2, *pb = z + TG_HALF + 2, *pc = z + TG_HALF - 2, *pd = z + 2u * TG_HALF - 2;
    int32_t zm[2], zmh[2], zhm[2], zmm[2];
    for (; pa < z + 2u * TG_EIGHTH; pa += 2, pb += 2, pc -= 2, pd -= 2, w += 4) {
        int32_t c2 = w[0] * 2, s2 = w[1] * 2;               /* < 2^31: m > 0 */
        tg_butterfly2(pa, pb[0], pb[1], c2, s2, zm, zmh);    /* Z[m], Z[m + N/4] */
        tg_butterfly2(pc, pd[0], pd[1], -c2, s2, zhm, zmm);  /* Z[N/4 - m], Z[N/2 - m] */
        tg_split(zm, zmm, w[2], w[3], pa, pd);
        tg_split(zhm, zmh, w[3], w[2], pc, pb);
    }
    w = tg_features_quarter;
    tg_butterfly2(z, z[TG_HALF] * 2, z[TG_HALF + 1u] * 2, w[0], w[1], zm, zmh);   /* Z[N/4] (not Z[0]) */
    pa = z + 2u * TG_EIGHTH;
    pb = pa + TG_HALF;
    tg_butterfly2(pa, pb[0] * 2, pb[1] * 2, w[4u * TG_EIGHTH], w[4u * TG_EIGHTH + 1u], zhm, zmm);  /* Z[N/8], Z[3N/8] */
    tg_split(zhm, zmm, w[4u * TG_EIGHTH + 2u], w[4u * TG_EIGHTH + 3u], pa, pb);
    tg_split(zmh, zmh, w[3], w[2], z + TG_HALF, z + TG_HALF);
}

static void tg_complex_fft(int32_t *z)
{
    const int32_t *w = tg_features_twiddle_q30;
    /* Radix-4 stages of quarter q = r, 4r, 16r, ... (r the first radix) while one radix-2 level
     * remains after them; each stage inlined with its constant q. */
#if TG_FEATURES_FIRST_RADIX == 4
#define TG_QUARTERS 0x55555554u
#else
#define TG_QUARTERS 0xAAAAAAAAu
#endif
#define TG_RADIX4_STAGE(q) \
    if (((q) & TG_QUARTERS) != 0u && 8u * (q) <= TG_HALF) { \
        tg_radix4(z, (q), w); \
        w += 6u * (q); \
    }
    TG_RADIX4_STAGE(2u)
    TG_RADIX4_STAGE(4u)
    TG_RADIX4_STAGE(8u)
    TG_RADIX4_STAGE(16u)
    TG_RADIX4_STAGE(32u)
    TG_RADIX4_STAGE(64u)
    TG_RADIX4_STAGE(128u)
    TG_RADIX4_STAGE(256u)
#undef TG_RADIX4_STAGE
#undef TG_QUARTERS
    tg_last_split(z);
}

/* One channel: samples[n * TG_FEATURES_CHANNELS] for n < TG_FEATURES_WINDOW in, its band
 * features out at features[b * TG_FEATURES_CHANNELS] (band-major, like the tensor). */
static void tg_features_channel(const int16_t *samples, int8_t *features)
{
    int32_t z[2u * TG_HALF];
    uint32_t b, k = tg_features_band_edges[0];

    tg_window_first(samples, z);
    tg_complex_fft(z);
    for (b = 0u; b < TG_FEATURES_BANDS; b++) {
        int64_t energy = 0;         /* < 2^62 (the numpy twin's int64 too): two SMLALs a bin */
        int32_t q;
        for (; k < tg_features_band_edges[b + 1u]; k++) {
            int32_t xr = z[2u * k], xi = z[2u * k + 1u];
            energy += tg_fe_smull(xr, xr);
            energy += tg_fe_smull(xi, xi);
        }
        q = ((tg_log2_q6((uint64_t)energy) - TG_FEATURES_LOG_LO) * TG_FEATURES_LOG_MULT) >> TG_FEATURES_MAP_SHIFT;
        q = q < 0 ? 0 : (q > 255 ? 255 : q);
        features[b * TG_FEATURES_CHANNELS] = (int8_t)(q - 128);
    }
}

int tg_features_run(const int16_t *samples, int8_t *features)
{
    uint32_t c;
    for (c = 0u; c < TG_FEATURES_CHANNELS; c++) {
        tg_features_channel(samples + c, features + c);
    }
    return 0;
}
