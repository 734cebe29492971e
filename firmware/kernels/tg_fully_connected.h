/* Fully connected, int8. Arithmetic matches TFLite-Micro's reference integer FullyConnected
 * (MultiplyByQuantizedMultiplier with gemmlowp double rounding). */
#ifndef TG_FULLY_CONNECTED_H
#define TG_FULLY_CONNECTED_H

#include "tg_runtime.h"

typedef struct {
    int32_t batches, in_depth, out_depth;
    int32_t out_offset, act_min, act_max;
    const int8_t *weights;      /* [out_depth][in_depth] */
    const int32_t *bias_folded; /* bias - in_zp * sum(weights of o): no padding, always folded */
    const int32_t *mult;        /* [out_depth] (per-tensor models repeat one value) */
    const int32_t *shift;
} tg_fc_params_t;

int tg_fully_connected_s8(const tg_fc_params_t *p, const int8_t *in, int8_t *out);

#endif
