/* SOFTMAX over the last axis, int8 in -> int8 out (scale 1/256, zero point -128; or int16 out), bit-exact with
 * TFLite-Micro's reference_ops::Softmax<int8_t, int8_t>: input differences from the row maximum
 * scaled by input_multiplier / input_left_shift into Q5.26, gemmlowp exp_on_negative_values,
 * sum in Q12.19, reciprocal via one_over_one_plus_x_for_x_in_0_1, rounding shift to 8 bits.
 * Differences below diff_min contribute nothing and give -128. */
#ifndef TG_SOFTMAX_H
#define TG_SOFTMAX_H

#include "tg_runtime.h"

typedef struct {
    int32_t rows, depth;
    int32_t input_multiplier, input_left_shift, diff_min;
} tg_softmax_params_t;

/* `out` may equal `in` (each element is read before it is written, rows are independent). */
int tg_softmax_s8(const tg_softmax_params_t *p, const int8_t *in, int8_t *out);

/* int8 in -> int16 out (scale 1/65536, zero point -32768): Softmax<int8_t, int16_t>. `out` must
 * not overlap `in`. */
int tg_softmax_s8_s16(const tg_softmax_params_t *p, const int8_t *in, int16_t *out);

/* int16 in -> int16 out (scale 1/32768, zero point 0), TFLite-Micro's SoftmaxInt16: the
 * difference from the row maximum, scaled (input_multiplier, input_left_shift) so that 65535
 * steps span [-10, 0] and recentred, is looked up in exp_lut (Q0.15, 512 intervals with linear
 * interpolation); the sum's reciprocal comes from recip_lut (1 / (1 + x)), both tables
 * computed offline exactly as TFLite-Micro's Prepare fills them. `out` may equal `in`. */
typedef struct {
    int32_t rows, depth;
    int32_t input_multiplier, input_left_shift;
    const int16_t *exp_lut;     /* [513] */
    const int16_t *recip_lut;   /* [513] */
} tg_softmax16_params_t;

int tg_softmax_s16(const tg_softmax16_params_t *p, const int16_t *in, int16_t *out);

#endif
