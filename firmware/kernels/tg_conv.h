/* Convolution kernels, int8 activations, int8 per-channel weights, int32 bias.
 * Arithmetic matches TFLite-Micro's reference integer ConvPerChannel exactly. */
#ifndef TG_CONV_H
#define TG_CONV_H

#include "tg_runtime.h"

typedef struct {
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w, dil_h, dil_w;
    int32_t pad_top, pad_left;
    int32_t in_offset;          /* -(input zero point) */
    int32_t out_offset;         /* output zero point */
    int32_t act_min, act_max;
    const int8_t *weights;      /* [out_c][k_h][k_w][in_c] */
    const int32_t *bias;        /* [out_c], zeros if the model has none */
    const int32_t *bias_folded; /* bias + in_offset * sum(weights of oc): used where no tap is padding */
    const int32_t *mult;        /* [out_c] */
    const int32_t *shift;       /* [out_c] */
} tg_conv_params_t;

/* The 1D case (TFLite Conv1D: input [1,1,W,C], filter [OC,1,K,C]) has its own kernel:
 * no height loop, and each window is one contiguous run of in_c * k bytes when dil == 1. */
typedef struct {
    int32_t in_w, in_c, out_w, out_c, k;
    int32_t stride, dil, pad;
    int32_t in_offset, out_offset, act_min, act_max;
    const int8_t *weights;      /* [out_c][k][in_c] */
    const int32_t *bias;
    const int32_t *bias_folded;
    const int32_t *mult;
    const int32_t *shift;
} tg_conv1d_params_t;

int tg_conv2d_s8(const tg_conv_params_t *p, const int8_t *in, int8_t *out);
int tg_conv1d_s8(const tg_conv1d_params_t *p, const int8_t *in, int8_t *out);

/* Dot products shared by conv and fully connected kernels. */
int32_t tg_dot_s8(const int8_t *x, const int8_t *w, int32_t n);
int32_t tg_dot_offset_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t x_offset);

#endif
