/* MUL, int8 and int16 (zero points 0, as TFLite-Micro requires) with broadcasting and fused activation, bit-exact with TFLite-Micro's
 * reference_integer_ops::MulElementwise / BroadcastMul4DSlow: (a + off1) * (b + off2) rescaled by
 * MultiplyByQuantizedMultiplier(input1_scale * input2_scale / output_scale), offset, clamped. */
#ifndef TG_MUL_H
#define TG_MUL_H

#include "tg_runtime.h"

typedef struct {
    /* Broadcast pattern collapsed by tinygen to 4 loops (outermost first): output extents, and
     * the element strides of each input per loop (0 where that input is broadcast). The output
     * is written in order. */
    int32_t shape[4], stride1[4], stride2[4];
    int32_t in1_offset, in2_offset;
    int32_t out_mult, out_shift, out_offset, act_min, act_max;
} tg_mul_params_t;

/* `out` may equal `in1` when input 1 is not broadcast (same shape as the output). */
int tg_mul_s8(const tg_mul_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *out);
int tg_mul_s16(const tg_mul_params_t *p, const int16_t *in1, const int16_t *in2, int16_t *out);

#endif
