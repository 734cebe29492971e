/* Drift statistics of what the front end sees (tinygen issue 17), kept on the device in a few
 * hundred bytes and read over serial (STATS); tinygen/features/stats.py is their numpy twin,
 * bit-exact, and `tinygen monitor` compares them with the training distribution.
 *
 * For each feature (band b of channel c at [b * CHANNELS + c], as the network's input):
 *   mean (Q16) and variance (Q12) by integer Welford. Past TG_STATS_WINDOW windows the divisor
 *   stays at TG_STATS_WINDOW, so old windows fade out with weight (1 - 1/TG_STATS_WINDOW) each
 *   window: a running picture of the recent past, never frozen by a large count.
 * The fraction of raw samples at the int16 rails and of features at the int8 rails (Q16, the
 * same running average), and a histogram of the predicted classes (counts since the reset).
 *
 * Every division rounds half away from zero; every product fits its type (tg_stats.c says why).
 * Configuration (generated tg_stats_config.h): TG_STATS_CLASSES, TG_STATS_WINDOW. C99, no malloc;
 * the state is one static struct (sizeof: 24 + 8 x TG_FEATURES_OUT + 4 x classes bytes). */
#ifndef TG_STATS_H
#define TG_STATS_H

#include <stdint.h>

#include "tg_features.h"
#include "tg_stats_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* STATS reply (little-endian), tinygen/wire.py STATS_HEAD:
 *   u16 features, u16 classes, u32 window cap, u32 windows seen (saturating),
 *   u32 raw samples per window, i32 saturated raw samples (Q16), i32 saturated features (Q16),
 *   i32 mean[features] (Q16), i32 variance[features] (Q12), u32 counts[classes] */
#define TG_STATS_HEAD_BYTES 24u
#define TG_STATS_BYTES (TG_STATS_HEAD_BYTES + 8u * TG_FEATURES_OUT + 4u * TG_STATS_CLASSES)

void tg_stats_reset(void);
/* One raw window (TG_FEATURES_SAMPLES, channels interleaved) and its TG_FEATURES_OUT features. */
void tg_stats_window(const int16_t *samples, const int8_t *features);
/* One prediction (classes beyond TG_STATS_CLASSES are not counted). */
void tg_stats_predicted(uint32_t cls);
/* The STATS reply into out; its length, or 0 when cap is too small. */
uint32_t tg_stats_read(uint8_t *out, uint32_t cap);

#ifdef __cplusplus
}
#endif

#endif
