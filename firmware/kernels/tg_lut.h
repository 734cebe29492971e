/* Table lookup for unary int8 -> int8 ops (LOGISTIC, TANH, QUANTIZE int8 -> int8).
 * An int8 input takes only 256 values, so tinygen evaluates TFLite-Micro's exact integer
 * arithmetic for each of them at generation time; the kernel only indexes the table. */
#ifndef TG_LUT_H
#define TG_LUT_H

#include "tg_runtime.h"

/* out[i] = lut[in[i] + 128]. `out` may equal `in` (in place). */
int tg_lut_s8(const int8_t *lut, const int8_t *in, int8_t *out, int32_t size);

#endif
