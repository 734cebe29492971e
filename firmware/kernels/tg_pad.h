/* PAD / PADV2, int8, int16 and int32: constant padding with the value TFLite-Micro uses (int8:
 * the output zero point for PAD, the given constant for PADV2; int16 and int32: 0 or the given
 * constant). tinygen merges dimensions that are not padded, so at most 4 remain; the output is
 * written once, in order. Shapes count elements of `elem` bytes. */
#ifndef TG_PAD_H
#define TG_PAD_H

#include "tg_runtime.h"

typedef struct {
    int32_t in_shape[4];   /* outermost first */
    int32_t before[4];     /* padding before, per dimension */
    int32_t out_shape[4];  /* in_shape + before + after */
    int32_t value;         /* pad value, in the element type's range */
    int32_t elem;          /* bytes per element: 1, 2 or 4 */
} tg_pad_params_t;

int tg_pad(const tg_pad_params_t *p, const int8_t *in, int8_t *out);

#endif
