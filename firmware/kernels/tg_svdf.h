/* SVDF, integer, as TFLite-Micro's EvalIntegerSvdfReference: int8 input and feature weights,
 * int16 or int8 time weights and activation state (the state's type), int32 bias, int8 output.
 * Per call: the state (batches x filters x memory) shifts left by one; each filter's newest
 * column is MBQM(sum w_f * (x - in_zp), s1) + state_zp, saturated to the state type; each unit
 * sums its `rank` filters' time dot products sum w_t * (state - state_zp) plus bias, then
 * MBQM(., s2) + out_zp saturated to int8. TFLite-Micro applies no fused activation on this
 * path (only the int8 range), and neither does this kernel. */
#ifndef TG_SVDF_H
#define TG_SVDF_H

#include "tg_runtime.h"

typedef struct {
    int32_t batches, n_in, n_filter, n_memory, rank, state16;
    int32_t in_zp, state_zp, out_zp;
    int32_t mult1, shift1, mult2, shift2;
    int32_t has_bias;
    const int8_t *w_feature;     /* [n_filter][n_in] */
    const void *w_time;          /* [n_filter][n_memory], int16_t or int8_t like the state */
    const int32_t *bias;         /* [n_filter / rank] */
} tg_svdf_params_t;

int tg_svdf(const tg_svdf_params_t *p, const int8_t *in, void *state, int8_t *out);

#endif
