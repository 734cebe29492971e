/* MAXIMUM and MINIMUM with broadcasting, as TFLite-Micro's maximum_minimum.cc: the raw stored
 * values are compared (el1 > el2 ? el1 : el2, and el1 < el2 ? el1 : el2), with no
 * requantization, for int8, int16, int32 and float. */
#ifndef TG_MINMAX_H
#define TG_MINMAX_H

#include "tg_runtime.h"

typedef struct {
    /* Broadcast pattern collapsed by tinygen to 4 loops (outermost first): output extents and
     * each input's element strides per loop (0 where that input is broadcast). */
    int32_t shape[4], stride1[4], stride2[4];
    int32_t is_max;     /* 1: MAXIMUM, 0: MINIMUM */
} tg_minmax_params_t;

int tg_minmax_s8(const tg_minmax_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *out);
int tg_minmax_s16(const tg_minmax_params_t *p, const int16_t *in1, const int16_t *in2,
                  int16_t *out);
int tg_minmax_s32(const tg_minmax_params_t *p, const int32_t *in1, const int32_t *in2,
                  int32_t *out);
int tg_minmax_f32(const tg_minmax_params_t *p, const float *in1, const float *in2, float *out);

#endif
