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

/* samples: TG_FEATURES_WINDOW values; features: TG_FEATURES_OUT values. Returns 0.
 * Uses about 4 * TG_FEATURES_WINDOW bytes of stack and no other writable memory. */
int tg_features_run(const int16_t *samples, int8_t *features);

#ifdef __cplusplus
}
#endif

#endif
