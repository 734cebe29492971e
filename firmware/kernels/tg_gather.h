/* GATHER with positions computed at run time (constant positions are a tg_move): for each batch,
 * outer index and position, copy one slice of `inner` bytes. A position outside [0, size) makes
 * the call fail, as TFLite-Micro's kernel does. */
#ifndef TG_GATHER_H
#define TG_GATHER_H

#include "tg_runtime.h"

typedef struct {
    int32_t batch;    /* product of the batch_dims leading axes */
    int32_t outer;    /* product of the axes between batch_dims and axis */
    int32_t size;     /* length of the gathered axis */
    int32_t inner;    /* bytes of one slice (the axes after it) */
    int32_t coords;   /* positions per batch */
} tg_gather_params_t;

int tg_gather(const tg_gather_params_t *p, const int8_t *input, const int32_t *positions,
              int8_t *output);

#endif
