/* ADD, SUB and SQUARED_DIFFERENCE, int8 and int16, with broadcasting and fused activation,
 * bit-exact with TFLite-Micro's reference kernels (reference_integer_ops::AddFunc,
 * reference_ops::SubElementwise / BroadcastQuantSubSlow, squared_difference.cc): each input plus
 * its offset is shifted left by left_shift (int8 ADD/SUB 20, int16 ADD/SUB 15, SQUARED_DIFFERENCE
 * 7 / 0), rescaled by its own multiplier (MultiplyByQuantizedMultiplierSmallerThanOneExp),
 * combined (sum, difference or squared difference), rescaled by the output multiplier
 * (MultiplyByQuantizedMultiplier), offset and clamped. */
#ifndef TG_ADD_H
#define TG_ADD_H

#include "tg_runtime.h"

#define TG_ADD_KIND_ADD 0
#define TG_ADD_KIND_SUB 1
#define TG_ADD_KIND_SQDIFF 2

typedef struct {
    /* Broadcast pattern collapsed by tinygen to 4 loops (outermost first): output extents, and
     * the element strides of each input per loop (0 where that input is broadcast). The output
     * is written in order. */
    int32_t shape[4], stride1[4], stride2[4];
    int32_t kind;       /* TG_ADD_KIND_*: how the two rescaled inputs combine */
    int32_t in1_offset, in2_offset, left_shift;
    int32_t in1_mult, in1_shift, in2_mult, in2_shift;
    int32_t out_mult, out_shift, out_offset, act_min, act_max;
    /* Optional, int8 ADD/SUB only (NULL = compute): the rescaled input terms tabulated by tinygen
     * for all 256 int8 values, t1[a + 128] = MBQMSmallerThanOneExp((a + in1_offset) << left_shift,
     * in1_mult, in1_shift), likewise t2 (negated for SUB). Used for large tensors: two loads
     * replace two requantizations. */
    const int32_t *t1;
    const int32_t *t2;
} tg_add_params_t;

/* `out` may equal `in1` when input 1 is not broadcast (same shape as the output). */
int tg_add_s8(const tg_add_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *out);
int tg_add_s16(const tg_add_params_t *p, const int16_t *in1, const int16_t *in2, int16_t *out);

#endif
