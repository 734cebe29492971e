/* FFT front end: DC removal, Hann window, N-point real FFT computed as an N/2-point complex
 * FFT (radix-2, decimation in time, Q31 twiddles, high-word products, halved every stage),
 * band energies, Q6 log2, affine map to int8. Every step mirrors tinygen/features/frontend.py;
 * the arithmetic (shift directions, operation order inside a butterfly) must not change without
 * changing the Python reference too. Right shifts of negative values are arithmetic on every
 * compiler we target (GCC on Arm, RISC-V and the host). */
#define TG_FEATURES_IMPLEMENTATION
#include "tg_features.h"

#define TG_HALF (TG_FEATURES_WINDOW / 2)

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

/* floor(a * b / 2^32): a single SMULL (high register) on Cortex-M3 and up, MULH on RV32IM. */
static inline int32_t tg_mulhi(int32_t a, int32_t b)
{
    return (int32_t)(tg_fe_smull(a, b) >> 32);
}

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

static void tg_complex_fft(int32_t *re, int32_t *im)
{
    uint32_t half, m, i;
    for (half = 1u; half < TG_HALF; half <<= 1) {
        uint32_t step = TG_HALF / half;     /* W_size^m = W_N^(m * N / size), size = 2 * half */
        for (m = 0u; m < half; m++) {
            int32_t c = tg_features_cos_q31[m * step];
            int32_t s = tg_features_sin_q31[m * step];
            for (i = m; i < TG_HALF; i += 2u * half) {
                uint32_t j = i + half;
                int32_t tr = tg_mulhi(re[j], c) + tg_mulhi(im[j], s);
                int32_t ti = tg_mulhi(im[j], c) - tg_mulhi(re[j], s);
                int32_t ar = re[i] >> 1, ai = im[i] >> 1;
                re[i] = ar + tr;
                im[i] = ai + ti;
                re[j] = ar - tr;
                im[j] = ai - ti;
            }
        }
    }
}

/* |16 X[k]|^2 from the half-size spectrum Z (split step of the real FFT). */
static int64_t tg_power(const int32_t *re, const int32_t *im, uint32_t k)
{
    uint32_t mk = (TG_HALF - k) & (TG_HALF - 1u);
    int32_t er = re[k] + re[mk], ei = im[k] - im[mk];
    int32_t dr = re[k] - re[mk], di = im[k] + im[mk];
    int32_t c = tg_features_cos_q31[k], s = tg_features_sin_q31[k];
    int32_t xr = (er >> 1) + tg_mulhi(di, c) - tg_mulhi(dr, s);
    int32_t xi = (ei >> 1) - tg_mulhi(dr, c) - tg_mulhi(di, s);
    return tg_fe_smull(xr, xr) + tg_fe_smull(xi, xi);
}

/* One channel: samples[n * TG_FEATURES_CHANNELS] for n < TG_FEATURES_WINDOW in, its band
 * features out at features[b * TG_FEATURES_CHANNELS] (band-major, like the tensor). */
static void tg_features_channel(const int16_t *samples, int8_t *features)
{
    int32_t re[TG_HALF], im[TG_HALF];
    int32_t sum = 0, mean;
    uint32_t n, b;

    for (n = 0u; n < TG_FEATURES_WINDOW; n++) {
        sum += samples[n * TG_FEATURES_CHANNELS];
    }
    mean = sum >> TG_FEATURES_LOG2_WINDOW;      /* floor, like numpy's >> */
    for (n = 0u; n < TG_HALF; n++) {
        uint32_t r = tg_features_bitrev[n];
        int32_t even = samples[2u * n * TG_FEATURES_CHANNELS] - mean;
        int32_t odd = samples[(2u * n + 1u) * TG_FEATURES_CHANNELS] - mean;
        re[r] = (even * (int32_t)tg_features_hann_q15[2u * n]) >> TG_FEATURES_PRESCALE_SHIFT;
        im[r] = (odd * (int32_t)tg_features_hann_q15[2u * n + 1u]) >> TG_FEATURES_PRESCALE_SHIFT;
    }
    tg_complex_fft(re, im);

    for (b = 0u; b < TG_FEATURES_BANDS; b++) {
        int64_t energy = 0;
        uint32_t k;
        int32_t q;
        for (k = tg_features_band_edges[b]; k < tg_features_band_edges[b + 1u]; k++) {
            energy += tg_power(re, im, k);
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
