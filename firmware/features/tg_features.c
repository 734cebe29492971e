/* FFT front end: DC removal, Hann window, N-point real FFT computed as an N/2-point complex
 * FFT (a first radix-2 stage fused with the window, then radix-4 stages, Q30 twiddles, high-word
 * products, scaled so nothing overflows), the split step two bins at a time, band energies, Q6
 * log2, affine map to int8. Every step mirrors tinygen/features/frontend.py; the arithmetic
 * (shift directions, floor or ceiling of each product, operation order inside a butterfly) must
 * not change without changing the Python reference too. Right shifts of negative values are
 * arithmetic on every compiler we target (GCC on Arm, RISC-V and the host).
 *
 * The complex buffer interleaves real and imaginary parts, so one LDRD/STRD moves a value. */
#define TG_FEATURES_IMPLEMENTATION
#include "tg_features.h"

#define TG_HALF (TG_FEATURES_WINDOW / 2)
#define TG_QUARTER (TG_FEATURES_WINDOW / 4)

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
    return (int32_t)(((int64_t)a * b) >> 32);
}

/* acc + floor(a * b / 2^32) (SMMLA). */
static inline int32_t tg_mulhi_add(int32_t acc, int32_t a, int32_t b)
{
    return acc + (int32_t)(((int64_t)a * b) >> 32);
}

/* acc - ceil(a * b / 2^32) = acc + floor(-a * b / 2^32) (SMMLS). */
static inline int32_t tg_mulhi_sub(int32_t acc, int32_t a, int32_t b)
{
    return acc + (int32_t)((-((int64_t)a * b)) >> 32);
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

/* DC removal, window and the first radix-2 stage (unit twiddles): position pair p takes the
 * complex samples order[p] and order[p] + N/4 (mixed-radix digit reversal). */
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
    for (n = 0u; n < TG_FEATURES_WINDOW; n += 4u) {       /* two SMLADs add four samples */
        sum = tg_smlad(tg_load_pair(samples + n), 0x00010001u, sum);
        sum = tg_smlad(tg_load_pair(samples + n + 2u), 0x00010001u, sum);
    }
#else
    for (n = 0u; n < TG_FEATURES_WINDOW; n++) {
        sum += samples[n * TG_FEATURES_CHANNELS];
    }
#endif
    return sum >> TG_FEATURES_LOG2_WINDOW;
}

/* ((x - mean) * hann) >> PRESCALE for the samples n and n + 1 of one channel: the real and
 * imaginary parts of one complex input. x h - mean h is (x - mean) h exactly: |x - mean| h <
 * 2^31, so the sum's wrap-around never happens. */
static inline void tg_windowed(const int16_t *x, const int16_t *h, int32_t mean, int32_t *re, int32_t *im)
{
#if TG_PAIRS
    uint32_t xw = tg_load_pair(x), hw = tg_load_pair(h);
    int32_t h0 = (int16_t)hw, h1 = (int32_t)hw >> 16;       /* SMULBB / SMLABB operands */
    *re = ((int32_t)(int16_t)xw * h0 - mean * h0) >> TG_FEATURES_PRESCALE_SHIFT;
    *im = (((int32_t)xw >> 16) * h1 - mean * h1) >> TG_FEATURES_PRESCALE_SHIFT;
#else
    *re = ((x[0] - mean) * h[0]) >> TG_FEATURES_PRESCALE_SHIFT;
    *im = ((x[TG_FEATURES_CHANNELS] - mean) * h[1]) >> TG_FEATURES_PRESCALE_SHIFT;
#endif
}

/* DC removal, window and the first radix-2 stage (unit twiddles): position pair p takes the
 * complex samples order[p] and order[p] + N/4 (mixed-radix digit reversal). */
static void tg_window_radix2(const int16_t *samples, int32_t *z)
{
    int32_t mean = tg_mean(samples);
    uint32_t p;
    for (p = 0u; p < TG_QUARTER; p++) {
        uint32_t a = 2u * tg_features_order[p], b = a + TG_HALF;
        int32_t ar, ai, br, bi;
        tg_windowed(samples + a * TG_FEATURES_CHANNELS, tg_features_hann_q15 + a, mean, &ar, &ai);
        tg_windowed(samples + b * TG_FEATURES_CHANNELS, tg_features_hann_q15 + b, mean, &br, &bi);
        z[4u * p] = ar + br;
        z[4u * p + 1u] = ai + bi;
        z[4u * p + 2u] = ar - br;
        z[4u * p + 3u] = ai - bi;
    }
}

/* x0 / 4 plus the three inputs times their twiddles w (cos, sin) x 3, Q30 so each high word is
 * already a quarter; two levels of sums and no other shift. */
static inline void tg_butterfly4(int32_t *p0, int32_t *p1, int32_t *p2, int32_t *p3, const int32_t *w)
{
    int32_t t1r = tg_mulhi_add(tg_mulhi(p1[0], w[0]), p1[1], w[1]);
    int32_t t1i = tg_mulhi_sub(tg_mulhi(p1[1], w[0]), p1[0], w[1]);
    int32_t t3r = tg_mulhi_add(tg_mulhi(p3[0], w[4]), p3[1], w[5]);
    int32_t t3i = tg_mulhi_sub(tg_mulhi(p3[1], w[4]), p3[0], w[5]);
    int32_t c0r = t1r + t3r, c0i = t1i + t3i, c1r = t1r - t3r, c1i = t1i - t3i;
    int32_t t2r = tg_mulhi_add(tg_mulhi(p2[0], w[2]), p2[1], w[3]);
    int32_t t2i = tg_mulhi_sub(tg_mulhi(p2[1], w[2]), p2[0], w[3]);
    int32_t t0r = p0[0] >> 2, t0i = p0[1] >> 2;
    int32_t a0r = t0r + t2r, a0i = t0i + t2i, a1r = t0r - t2r, a1i = t0i - t2i;
    p0[0] = a0r + c0r;
    p0[1] = a0i + c0i;
    p2[0] = a0r - c0r;
    p2[1] = a0i - c0i;
    p1[0] = a1r + c1i;
    p1[1] = a1i - c1r;
    p3[0] = a1r - c1i;
    p3[1] = a1i + c1r;
}

/* tg_butterfly4 with the twiddles of m = 0 (cos 2^30, sin 0): the same results (floor(x 2^30 /
 * 2^32) is x >> 2, and a zero sine adds nothing), without the twelve products. */
static inline void tg_butterfly4_unit(int32_t *p0, int32_t *p1, int32_t *p2, int32_t *p3)
{
    int32_t t0r = p0[0] >> 2, t0i = p0[1] >> 2, t1r = p1[0] >> 2, t1i = p1[1] >> 2;
    int32_t t2r = p2[0] >> 2, t2i = p2[1] >> 2, t3r = p3[0] >> 2, t3i = p3[1] >> 2;
    int32_t a0r = t0r + t2r, a0i = t0i + t2i, a1r = t0r - t2r, a1i = t0i - t2i;
    int32_t c0r = t1r + t3r, c0i = t1i + t3i, c1r = t1r - t3r, c1i = t1i - t3i;
    p0[0] = a0r + c0r;
    p0[1] = a0i + c0i;
    p2[0] = a0r - c0r;
    p2[1] = a0i - c0i;
    p1[0] = a1r + c1i;
    p1[1] = a1i - c1r;
    p3[0] = a1r - c1i;
    p3[1] = a1i + c1r;
}

/* One radix-4 stage of size 4q over the whole buffer; w: q groups of (cos, sin) for W^m, W^2m,
 * W^3m, read in order once per block. Always inlined with a constant q, so the four inputs
 * are one pointer plus constant offsets (registers are what a butterfly runs short of). */
static inline __attribute__((always_inline)) void tg_radix4(int32_t *z, uint32_t q, const int32_t *w)
{
    int32_t *end = z + 2u * TG_HALF;
    for (; z < end; z += 8u * q) {
        int32_t *p = z + 2, *stop = z + 2u * q;
        const int32_t *t = w + 6;
        tg_butterfly4_unit(z, z + 2u * q, z + 4u * q, z + 6u * q);
        for (; p < stop; p += 2, t += 6) {
            tg_butterfly4(p, p + 2u * q, p + 4u * q, p + 6u * q, t);
        }
    }
}

/* The last stage when log2(N/2) is even: radix 2 over the two halves, the second input doubled
 * so its Q30 product is a half, like x0 >> 1. */
static void tg_radix2(int32_t *z, const int32_t *w)
{
    uint32_t m;
    for (m = 0u; m < TG_HALF / 2u; m++, w += 2) {
        int32_t *p0 = z + 2u * m, *p1 = p0 + TG_HALF;
        int32_t br = p1[0] * 2, bi = p1[1] * 2;
        int32_t tr = tg_mulhi_add(tg_mulhi(br, w[0]), bi, w[1]);
        int32_t ti = tg_mulhi_sub(tg_mulhi(bi, w[0]), br, w[1]);
        int32_t ar = p0[0] >> 1, ai = p0[1] >> 1;
        p0[0] = ar + tr;
        p0[1] = ai + ti;
        p1[0] = ar - tr;
        p1[1] = ai - ti;
    }
}

static void tg_complex_fft(int32_t *z)
{
    const int32_t *w = tg_features_twiddle_q30;
    uint32_t done = 2u;            /* the first radix-2 stage */
    /* Stages of size 8, 32, ... up to the window's 4096 / 2, each with its constant quarter. */
#define TG_RADIX4_STAGE(q) \
    if (4u * (q) <= TG_HALF) { \
        tg_radix4(z, (q), w); \
        w += 6u * (q); \
        done = 4u * (q); \
    }
    TG_RADIX4_STAGE(2u)
    TG_RADIX4_STAGE(8u)
    TG_RADIX4_STAGE(32u)
    TG_RADIX4_STAGE(128u)
    TG_RADIX4_STAGE(512u)
#undef TG_RADIX4_STAGE
    if (done < TG_HALF) {          /* log2(N/2) even: one radix-2 level left */
        tg_radix2(z, w);
    }
}

/* Split step of the real FFT: X[k] and X[N/2 - k] (16 X, in place of Z[k], Z[N/2 - k]) share
 * their four products; the imaginary part of X[N/2 - k] is negated (only |X|^2 is used). At
 * k = N/4 both writes hit one place and the k formula, written last, stays. */
static void tg_split(int32_t *z)
{
    const int32_t *w = tg_features_split_q31;
    uint32_t k;
    for (k = 1u; k <= TG_QUARTER; k++, w += 2) {
        int32_t *pk = z + 2u * k, *pm = z + 2u * (TG_HALF - k);
        int32_t er = pk[0] + pm[0], ei = pk[1] - pm[1];
        int32_t dr = pk[0] - pm[0], di = pk[1] + pm[1];
        int32_t u = tg_mulhi_sub(tg_mulhi(di, w[0]), dr, w[1]);
        int32_t v = tg_mulhi_add(tg_mulhi(dr, w[0]), di, w[1]);
        int32_t ar = er >> 1, ai = ei >> 1;
        pm[0] = ar - u;
        pm[1] = ai + v;
        pk[0] = ar + u;
        pk[1] = ai - v;
    }
}

/* One channel: samples[n * TG_FEATURES_CHANNELS] for n < TG_FEATURES_WINDOW in, its band
 * features out at features[b * TG_FEATURES_CHANNELS] (band-major, like the tensor). */
static void tg_features_channel(const int16_t *samples, int8_t *features)
{
    int32_t z[2u * TG_HALF];
    uint32_t b, k = tg_features_band_edges[0];

    tg_window_radix2(samples, z);
    tg_complex_fft(z);
    tg_split(z);
    for (b = 0u; b < TG_FEATURES_BANDS; b++) {
        int64_t energy = 0;         /* < 2^62 (the numpy twin's int64 too): two SMLALs a bin */
        int32_t q;
        for (; k < tg_features_band_edges[b + 1u]; k++) {
            int32_t xr = z[2u * k], xi = z[2u * k + 1u];
            energy += (int64_t)xr * xr;
            energy += (int64_t)xi * xi;
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
