/* CONCATENATION, any axis and element type: TFLite-Micro copies the bytes of each input in turn
 * (it does not requantize); so does this. Sizes are in bytes. */
#ifndef TG_CONCAT_H
#define TG_CONCAT_H

#include "tg_runtime.h"

/* For each of `outer` blocks, copy inner[k] bytes from inputs[k] (k = 0..n_inputs-1). */
int tg_concat(const int8_t *const *inputs, const int32_t *inner, int32_t n_inputs,
              int32_t outer, int8_t *out);

#endif
