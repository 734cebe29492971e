/* Unary activations on int16 (16x8 models), bit-exact with TFLite-Micro's reference kernels:
 *   RELU (ReluQuantized<int16_t>), RELU6 (a clamp), LEAKY_RELU (QuantizeLeakyRelu<int16_t>):
 *       MultiplyByQuantizedMultiplier on the input minus its zero point, plus the output's;
 *   LOGISTIC and TANH (reference_integer_ops::Logistic / Tanh for int16): the 256-entry
 *       sigmoid table of TFLite-Micro with linear interpolation. */
#ifndef TG_ACT16_H
#define TG_ACT16_H

#include "tg_runtime.h"

typedef struct {
    int32_t size;
    int32_t in_zp, out_zp;
    int32_t mult_pos, shift_pos;    /* x - in_zp >= 0 (RELU: every x) */
    int32_t mult_neg, shift_neg;    /* x - in_zp < 0 (LEAKY_RELU) */
    int32_t lo, hi;                 /* output clamp */
} tg_act16_params_t;

int tg_relu_s16(const tg_act16_params_t *p, const int16_t *in, int16_t *out);
int tg_leaky_relu_s16(const tg_act16_params_t *p, const int16_t *in, int16_t *out);
int tg_clamp_s16(const tg_act16_params_t *p, const int16_t *in, int16_t *out);

typedef struct {
    int32_t size;
    int32_t input_multiplier, input_left_shift;   /* as TFLite-Micro's Prepare computes them */
} tg_sigmoid16_params_t;

int tg_logistic_s16(const tg_sigmoid16_params_t *p, const int16_t *in, int16_t *out);
int tg_tanh_s16(const tg_sigmoid16_params_t *p, const int16_t *in, int16_t *out);

#endif
