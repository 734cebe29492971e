/* See tg_quantize.h. */
#include "tg_quantize.h"

/* int32 subtraction that wraps like TFLite-Micro's on its hosts (int32 inputs may overflow). */
TG_INLINE int32_t q_sub_wrap(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

#define TG_REQUANT_DEFINE(NAME, TI, TO, LO, HI)                                                 \
    int NAME(const tg_quant_params_t *p, const TI *in, TO *out)                                 \
    {                                                                                           \
        const int32_t n = p->size, izp = p->in_zp, ozp = p->out_zp;                             \
        const int32_t m = p->mult, s = p->shift;                                                \
        int32_t i;                                                                              \
        for (i = 0; i < n; ++i) {                                                               \
            const int32_t v = tg_requantize(q_sub_wrap(in[i], izp), m, s) + ozp;                \
            out[i] = (TO)(v < (LO) ? (LO) : (v > (HI) ? (HI) : v));                             \
        }                                                                                       \
        return TG_OK;                                                                           \
    }

TG_REQUANT_DEFINE(tg_requant_s8_s16, int8_t, int16_t, -32768, 32767)
TG_REQUANT_DEFINE(tg_requant_s8_s32, int8_t, int32_t, INT32_MIN, INT32_MAX)
TG_REQUANT_DEFINE(tg_requant_s16_s8, int16_t, int8_t, -128, 127)
TG_REQUANT_DEFINE(tg_requant_s16_s16, int16_t, int16_t, -32768, 32767)
TG_REQUANT_DEFINE(tg_requant_s16_s32, int16_t, int32_t, INT32_MIN, INT32_MAX)
TG_REQUANT_DEFINE(tg_requant_s32_s8, int32_t, int8_t, -128, 127)
TG_REQUANT_DEFINE(tg_requant_s32_s16, int32_t, int16_t, -32768, 32767)

/* float -> int32 as the reference host converts it: truncation toward zero inside int32's
 * range; x86-64's cvttss2si answer (INT32_MIN) outside it and for NaN. */
TG_INLINE int32_t q_f32_to_i32(float x)
{
    if (x >= -2147483648.0f && x < 2147483648.0f) {
        return (int32_t)x;
    }
    return INT32_MIN;
}

/* std::round(q) (halves away from zero) converted to int32, exactly, without libm: t = trunc(q)
 * is exact, and so is q - t (Sterbenz: |t| <= |q| < 2|t| once |q| >= 1). */
TG_INLINE int32_t q_round_f32(float q)
{
    int32_t t;
    float r;
    if (!(q >= -2147483648.0f && q < 2147483648.0f)) {
        return INT32_MIN;
    }
    t = (int32_t)q;
    r = q - (float)t;
    if (r >= 0.5f) {
        return t + 1;   /* q < 2^31 - 128 here, so no overflow */
    }
    if (r <= -0.5f) {
        return t - 1;
    }
    return t;
}

/* AffineQuantize: static_cast<int32_t>(TfLiteRound(x / scale)) + zero_point (wrapping), clamped. */
#define TG_QUANTIZE_DEFINE(NAME, TO, LO, HI)                                                    \
    int NAME(const tg_quant_params_t *p, const float *in, TO *out)                              \
    {                                                                                           \
        const int32_t n = p->size, ozp = p->out_zp;                                             \
        const float scale = p->scale;                                                           \
        int32_t i;                                                                              \
        for (i = 0; i < n; ++i) {                                                               \
            const int32_t v = (int32_t)((uint32_t)q_round_f32(in[i] / scale) + (uint32_t)ozp);  \
            out[i] = (TO)(v < (LO) ? (LO) : (v > (HI) ? (HI) : v));                             \
        }                                                                                       \
        return TG_OK;                                                                           \
    }

TG_QUANTIZE_DEFINE(tg_quantize_f32_s8, int8_t, -128, 127)
TG_QUANTIZE_DEFINE(tg_quantize_f32_s16, int16_t, -32768, 32767)

/* Dequantize: scale * (val - zero_point), the int converted to float, one float32 product. */
#define TG_DEQUANTIZE_DEFINE(NAME, TI)                                                          \
    int NAME(const tg_quant_params_t *p, const TI *in, float *out)                              \
    {                                                                                           \
        const int32_t n = p->size, izp = p->in_zp;                                              \
        const float scale = p->scale;                                                           \
        int32_t i;                                                                              \
        for (i = 0; i < n; ++i) {                                                               \
            out[i] = scale * (float)((int32_t)in[i] - izp);                                     \
        }                                                                                       \
        return TG_OK;                                                                           \
    }

TG_DEQUANTIZE_DEFINE(tg_dequantize_s8_f32, int8_t)
TG_DEQUANTIZE_DEFINE(tg_dequantize_u8_f32, uint8_t)
TG_DEQUANTIZE_DEFINE(tg_dequantize_s16_f32, int16_t)

/* CAST: integers narrow modulo 2^bits (through uint32_t; GCC defines the conversion to a
 * narrower signed type as modulo, like the reference's two's-complement hosts); floats go
 * through q_f32_to_i32 first. */
#define TG_CAST_INT(NAME, TI, TO, CONV)                                                         \
    int NAME(const tg_quant_params_t *p, const TI *in, TO *out)                                 \
    {                                                                                           \
        const int32_t n = p->size;                                                              \
        int32_t i;                                                                              \
        for (i = 0; i < n; ++i) {                                                               \
            out[i] = (TO)(uint32_t)CONV(in[i]);                                                \
        }                                                                                       \
        return TG_OK;                                                                           \
    }

#define TG_CAST_TO_FLOAT(NAME, TI)                                                              \
    int NAME(const tg_quant_params_t *p, const TI *in, float *out)                              \
    {                                                                                           \
        const int32_t n = p->size;                                                              \
        int32_t i;                                                                              \
        for (i = 0; i < n; ++i) {                                                               \
            out[i] = (float)in[i];                                                              \
        }                                                                                       \
        return TG_OK;                                                                           \
    }

#define Q_INT(x) ((int32_t)(x))
#define TG_CAST_FROM_INT(FROM, TI)                               \
    TG_CAST_INT(tg_cast_##FROM##_s8, TI, int8_t, Q_INT)          \
    TG_CAST_INT(tg_cast_##FROM##_u8, TI, uint8_t, Q_INT)         \
    TG_CAST_INT(tg_cast_##FROM##_s16, TI, int16_t, Q_INT)        \
    TG_CAST_INT(tg_cast_##FROM##_s32, TI, int32_t, Q_INT)        \
    TG_CAST_TO_FLOAT(tg_cast_##FROM##_f32, TI)

TG_CAST_FROM_INT(s8, int8_t)
TG_CAST_FROM_INT(u8, uint8_t)
TG_CAST_FROM_INT(s16, int16_t)
TG_CAST_FROM_INT(s32, int32_t)

TG_CAST_INT(tg_cast_f32_s8, float, int8_t, q_f32_to_i32)
TG_CAST_INT(tg_cast_f32_u8, float, uint8_t, q_f32_to_i32)
TG_CAST_INT(tg_cast_f32_s16, float, int16_t, q_f32_to_i32)
TG_CAST_INT(tg_cast_f32_s32, float, int32_t, q_f32_to_i32)

int tg_cast_f32_f32(const tg_quant_params_t *p, const float *in, float *out)
{
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        out[i] = in[i];
    }
    return TG_OK;
}
