/* Depthwise convolution, int8, per-channel weights, any depth multiplier.
 * Arithmetic matches TFLite-Micro's reference integer DepthwiseConvPerChannel exactly. */
#ifndef TG_DEPTHWISE_H
#define TG_DEPTHWISE_H

#include "tg_runtime.h"

typedef struct {
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c, depth_mult;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w, dil_h, dil_w;
    int32_t pad_top, pad_left;
    int32_t in_offset, out_offset, act_min, act_max;
    const int8_t *weights;      /* [out_c][k_h][k_w]: transposed from TFLite's [1][k_h][k_w][out_c] */
    const int32_t *bias;
    const int32_t *bias_folded; /* bias + in_offset * sum(weights of oc) */
    const int32_t *mult;
    const int32_t *shift;
} tg_depthwise_params_t;

int tg_depthwise_s8(const tg_depthwise_params_t *p, const int8_t *in, int8_t *out);

#endif
