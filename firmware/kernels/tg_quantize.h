/* QUANTIZE, DEQUANTIZE and CAST, bit-exact with TFLite-Micro (quantize_common.cc,
 * reference_ops::Requantize / AffineQuantize, dequantize.cc, cast.cc).
 *   requantize (integer -> integer): clamp(MultiplyByQuantizedMultiplier(x - in_zp, mult, shift)
 *       + out_zp) to the output type (8-bit -> 8-bit pairs use tg_lut instead);
 *   float -> integer: (int32)round_half_away(x / scale) + out_zp, clamped, in float32 as
 *       TFLite-Micro computes it (no double, no libm);
 *   integer -> float: scale * (float)(x - in_zp), one float32 multiply;
 *   CAST: C's conversion, with the float -> integer conversion of an x86-64 host for values
 *       outside int32 (they become INT32_MIN before narrowing), since that is what the reference
 *       interpreter computes. */
#ifndef TG_QUANTIZE_H
#define TG_QUANTIZE_H

#include "tg_runtime.h"

typedef struct {
    int32_t size;                   /* elements */
    int32_t in_zp, out_zp;
    int32_t mult, shift;            /* requantize: QuantizeMultiplier(in_scale / out_scale) */
    float scale;                    /* float -> int: the output scale; int -> float: the input's */
} tg_quant_params_t;

#define TG_QUANT_DECLARE(NAME, TI, TO) \
    int NAME(const tg_quant_params_t *p, const TI *in, TO *out);

TG_QUANT_DECLARE(tg_requant_s8_s16, int8_t, int16_t)
TG_QUANT_DECLARE(tg_requant_s8_s32, int8_t, int32_t)
TG_QUANT_DECLARE(tg_requant_s16_s8, int16_t, int8_t)
TG_QUANT_DECLARE(tg_requant_s16_s16, int16_t, int16_t)
TG_QUANT_DECLARE(tg_requant_s16_s32, int16_t, int32_t)
TG_QUANT_DECLARE(tg_requant_s32_s8, int32_t, int8_t)
TG_QUANT_DECLARE(tg_requant_s32_s16, int32_t, int16_t)
TG_QUANT_DECLARE(tg_quantize_f32_s8, float, int8_t)
TG_QUANT_DECLARE(tg_quantize_f32_s16, float, int16_t)
TG_QUANT_DECLARE(tg_dequantize_s8_f32, int8_t, float)
TG_QUANT_DECLARE(tg_dequantize_u8_f32, uint8_t, float)
TG_QUANT_DECLARE(tg_dequantize_s16_f32, int16_t, float)

/* CAST between int8, uint8, int16, int32 and float (TFLite-Micro's static_cast). */
#define TG_CAST_DECLARE_FROM(FROM, TI)                  \
    TG_QUANT_DECLARE(tg_cast_##FROM##_s8, TI, int8_t)   \
    TG_QUANT_DECLARE(tg_cast_##FROM##_u8, TI, uint8_t)  \
    TG_QUANT_DECLARE(tg_cast_##FROM##_s16, TI, int16_t) \
    TG_QUANT_DECLARE(tg_cast_##FROM##_s32, TI, int32_t) \
    TG_QUANT_DECLARE(tg_cast_##FROM##_f32, TI, float)

TG_CAST_DECLARE_FROM(s8, int8_t)
TG_CAST_DECLARE_FROM(u8, uint8_t)
TG_CAST_DECLARE_FROM(s16, int16_t)
TG_CAST_DECLARE_FROM(s32, int32_t)
TG_CAST_DECLARE_FROM(f32, float)

#endif
