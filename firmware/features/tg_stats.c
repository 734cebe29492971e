/* Drift statistics (tg_stats.h). The numpy twin, tinygen/features/stats.py, mirrors every step.
 *
 * Ranges: a feature x is int8, so x in Q16 and the mean lie in [-2^23, 2^23) and a difference
 * delta in (-2^24, 2^24). delta * delta2 (the Welford product, never negative: delta2 has the
 * sign of delta or is 0) is below 2^48; shifted to Q12 it is below 2^28, and so is the variance
 * (at most 127.5^2 in Q12): every division is of an int32 by the window count. */
#include "tg_stats.h"

#define TG_STATS_HIST (TG_STATS_CLASSES > 0u ? TG_STATS_CLASSES : 1u)

/* A variable, not the macro: with no classes a loop bound of 0u would be a constant comparison. */
static const uint32_t tg_stats_n_classes = TG_STATS_CLASSES;

static struct {
    uint32_t windows;
    int32_t sat_raw;                    /* Q16 */
    int32_t sat_features;               /* Q16 */
    int32_t mean[TG_FEATURES_OUT];      /* Q16 */
    int32_t var[TG_FEATURES_OUT];       /* Q12 */
    uint32_t classes[TG_STATS_HIST];
} tg_stats;

/* a / n, rounded half away from zero (n > 0). */
static int32_t div_round(int32_t a, int32_t n)
{
    int32_t h = n / 2;
    return a >= 0 ? (a + h) / n : -((-a + h) / n);
}

void tg_stats_reset(void)
{
    uint32_t i;
    tg_stats.windows = 0u;
    tg_stats.sat_raw = 0;
    tg_stats.sat_features = 0;
    for (i = 0; i < TG_FEATURES_OUT; ++i) {
        tg_stats.mean[i] = 0;
        tg_stats.var[i] = 0;
    }
    for (i = 0; i < TG_STATS_HIST; ++i) {
        tg_stats.classes[i] = 0u;
    }
}

/* Saturated values as a Q16 fraction of n: k << 16 stays below 2^31 for k <= 2^15. */
static int32_t fraction_q16(uint32_t k, uint32_t n)
{
    return (int32_t)((k << 16) / n);
}

void tg_stats_window(const int16_t *samples, const int8_t *features)
{
    uint32_t i, sat = 0u;
    int32_t n;
    if (tg_stats.windows != 0xFFFFFFFFu) {
        tg_stats.windows += 1u;
    }
    n = (int32_t)(tg_stats.windows < TG_STATS_WINDOW ? tg_stats.windows : TG_STATS_WINDOW);
    for (i = 0; i < TG_FEATURES_SAMPLES; ++i) {
        sat += (samples[i] == INT16_MAX || samples[i] == INT16_MIN) ? 1u : 0u;
    }
    tg_stats.sat_raw += div_round(fraction_q16(sat, TG_FEATURES_SAMPLES) - tg_stats.sat_raw, n);
    sat = 0u;
    for (i = 0; i < TG_FEATURES_OUT; ++i) {
        int32_t x = (int32_t)features[i] * 65536;
        int32_t delta = x - tg_stats.mean[i];
        int32_t product;
        tg_stats.mean[i] += div_round(delta, n);
        product = (int32_t)(((int64_t)delta * (x - tg_stats.mean[i])) >> 20);
        tg_stats.var[i] += div_round(product - tg_stats.var[i], n);
        sat += (features[i] == INT8_MAX || features[i] == INT8_MIN) ? 1u : 0u;
    }
    tg_stats.sat_features += div_round(fraction_q16(sat, TG_FEATURES_OUT) - tg_stats.sat_features, n);
}

void tg_stats_predicted(uint32_t cls)
{
    if (cls < tg_stats_n_classes && tg_stats.classes[cls] != 0xFFFFFFFFu) {
        tg_stats.classes[cls] += 1u;
    }
}

static uint8_t *put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
    return p + 4;
}

uint32_t tg_stats_read(uint8_t *out, uint32_t cap)
{
    uint8_t *p = out;
    uint32_t i;
    if (cap < TG_STATS_BYTES) {
        return 0u;
    }
    p[0] = (uint8_t)TG_FEATURES_OUT;
    p[1] = (uint8_t)(TG_FEATURES_OUT >> 8);
    p[2] = (uint8_t)TG_STATS_CLASSES;
    p[3] = (uint8_t)(TG_STATS_CLASSES >> 8);
    p = put_u32(p + 4, TG_STATS_WINDOW);
    p = put_u32(p, tg_stats.windows);
    p = put_u32(p, TG_FEATURES_SAMPLES);
    p = put_u32(p, (uint32_t)tg_stats.sat_raw);
    p = put_u32(p, (uint32_t)tg_stats.sat_features);
    for (i = 0; i < TG_FEATURES_OUT; ++i) {
        p = put_u32(p, (uint32_t)tg_stats.mean[i]);
    }
    for (i = 0; i < TG_FEATURES_OUT; ++i) {
        p = put_u32(p, (uint32_t)tg_stats.var[i]);
    }
    for (i = 0; i < tg_stats_n_classes; ++i) {
        p = put_u32(p, tg_stats.classes[i]);
    }
    return (uint32_t)(p - out);
}
