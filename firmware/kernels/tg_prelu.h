/* PRELU, int8 or int16 input with an int8 alpha, broadcasting, bit-exact with TFLite-Micro's
 * reference_ops::BroadcastPrelu4DSlow / Prelu: x = in + input_offset; x >= 0:
 * MultiplyByQuantizedMultiplier(x, m1, s1); else MultiplyByQuantizedMultiplier(x * (alpha +
 * alpha_offset), m2, s2); plus the output offset, clamped to the type. */
#ifndef TG_PRELU_H
#define TG_PRELU_H

#include "tg_runtime.h"

typedef struct {
    int32_t shape[4], stride1[4], stride2[4];   /* collapsed broadcast (see tg_add.h) */
    int32_t input_offset, alpha_offset, output_offset;
    int32_t m1, s1, m2, s2;
} tg_prelu_params_t;

int tg_prelu_s8(const tg_prelu_params_t *p, const int8_t *in, const int8_t *alpha, int8_t *out);
int tg_prelu_s16(const tg_prelu_params_t *p, const int16_t *in, const int8_t *alpha,
                 int16_t *out);

#endif
