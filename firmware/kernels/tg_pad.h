/* PAD / PADV2, int8: constant padding with the pad value TFLite-Micro uses (the output zero
 * point for PAD, the given constant for PADV2). tinygen merges dimensions that are not padded,
 * so at most 4 remain; the output is written once, in order. */
#ifndef TG_PAD_H
#define TG_PAD_H

#include "tg_runtime.h"

typedef struct {
    int32_t in_shape[4];   /* outermost first */
    int32_t before[4];     /* padding before, per dimension */
    int32_t out_shape[4];  /* in_shape + before + after */
    int32_t value;         /* pad value, int8 range */
} tg_pad_params_t;

int tg_pad_s8(const tg_pad_params_t *p, const int8_t *in, int8_t *out);

#endif
