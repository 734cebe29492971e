/* MEAN over a run of adjacent axes (Keras GlobalAveragePooling1D/2D: H, W or H and W), int8,
 * bit-exact with the installed TFLite-Micro: sum of (x - input_zero_point) over the reduced
 * elements, times input_scale / (count * output_scale) as a fixed-point multiplier (count folded
 * in by tinygen the way TFLite-Micro does), plus the output zero point, clamped to int8. */
#ifndef TG_MEAN_H
#define TG_MEAN_H

#include "tg_runtime.h"

typedef struct {
    int32_t outer;   /* product of the dimensions before the reduced ones */
    int32_t reduce;  /* product of the reduced dimensions */
    int32_t inner;   /* product of the dimensions after them */
    int32_t bias;    /* -reduce * input_zero_point */
    int32_t mult, shift, out_offset;
} tg_mean_params_t;

/* `out` may equal `in`: output (o, i) is written after every input it reads, and no later
 * output reads an element at or before it. */
int tg_mean_s8(const tg_mean_params_t *p, const int8_t *in, int8_t *out);

/* The same on int16 (16x8 models; zero points 0), clamped to int16. */
int tg_mean_s16(const tg_mean_params_t *p, const int16_t *in, int16_t *out);

#endif
