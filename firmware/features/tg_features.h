/* FFT front end (C twin of tinygen/features/frontend.py, bit-exact with it).
 * Raw int16 sensor samples -> int8 band log-energies, exactly the network's input tensor.
 * The sizes and tables come from the generated tg_features_config.h. */
#ifndef TG_FEATURES_H
#define TG_FEATURES_H

#include <stdint.h>
#include "tg_features_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* samples: TG_FEATURES_SAMPLES values (= TG_FEATURES_WINDOW x TG_FEATURES_CHANNELS, channels
 * interleaved: sample t of channel c at [t * TG_FEATURES_CHANNELS + c]); features:
 * TG_FEATURES_OUT values (= TG_FEATURES_BANDS x TG_FEATURES_CHANNELS, band-major: band b of
 * channel c at [b * TG_FEATURES_CHANNELS + c]). Returns 0. Uses about 4 * TG_FEATURES_WINDOW
 * bytes of stack (one channel at a time) and no other writable memory. */
int tg_features_run(const int16_t *samples, int8_t *features);

#ifdef __cplusplus
}
#endif

#endif
