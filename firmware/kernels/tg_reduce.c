/* See tg_reduce.h. */
#include "tg_reduce.h"

/* The five collapsed loops over the input in memory order; BODY sees `v` (the input element)
 * and `o` (its output index). */
#define TG_REDUCE_WALK(T, BODY)                                                                 \
    do {                                                                                        \
        const T *src = in;                                                                      \
        int32_t i0, i1, i2, i3, i4;                                                             \
        for (i0 = 0; i0 < p->shape[0]; ++i0) {                                                  \
            const int32_t o0 = i0 * p->out_stride[0];                                           \
            for (i1 = 0; i1 < p->shape[1]; ++i1) {                                              \
                const int32_t o1 = o0 + i1 * p->out_stride[1];                                  \
                for (i2 = 0; i2 < p->shape[2]; ++i2) {                                          \
                    const int32_t o2 = o1 + i2 * p->out_stride[2];                              \
                    for (i3 = 0; i3 < p->shape[3]; ++i3) {                                      \
                        const int32_t o3 = o2 + i3 * p->out_stride[3];                          \
                        const int32_t st = p->out_stride[4];                                    \
                        for (i4 = 0; i4 < p->shape[4]; ++i4) {                                  \
                            const int32_t o = o3 + i4 * st;                                     \
                            const int32_t v = *src++;                                           \
                            BODY;                                                               \
                        }                                                                       \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    } while (0)

/* QuantizedMeanOrSum(compute_sum = true): int32 sums, then
 * MultiplyByQuantizedMultiplier(sum - in_zp * count) + out_zp, clamped. */
#define TG_SUM_DEFINE(NAME, T, LO, HI)                                                          \
    int NAME(const tg_reduce_params_t *p, const T *in, T *out, int32_t *acc)                    \
    {                                                                                           \
        const int64_t bias = (int64_t)p->in_zp * p->count;                                      \
        int32_t j;                                                                              \
        for (j = 0; j < p->out_size; ++j) {                                                     \
            acc[j] = 0;                                                                         \
        }                                                                                       \
        TG_REDUCE_WALK(T, acc[o] = (int32_t)((uint32_t)acc[o] + (uint32_t)v));                  \
        for (j = 0; j < p->out_size; ++j) {                                                     \
            const int32_t shifted = (int32_t)(uint32_t)(uint64_t)((int64_t)acc[j] - bias);      \
            const int32_t r = tg_requantize(shifted, p->mult, p->shift) + p->out_zp;            \
            out[j] = (T)(r < (LO) ? (LO) : (r > (HI) ? (HI) : r));                              \
        }                                                                                       \
        return TG_OK;                                                                           \
    }

TG_SUM_DEFINE(tg_reduce_sum_s8, int8_t, -128, 127)
TG_SUM_DEFINE(tg_reduce_sum_s16, int16_t, -32768, 32767)

/* ReduceGeneric with the type's lowest (MAX) or highest (MIN) value as the start. */
#define TG_MINMAX_REDUCE_DEFINE(NAME, T, LO, HI)                                                \
    int NAME(const tg_reduce_params_t *p, const T *in, T *out)                                  \
    {                                                                                           \
        int32_t j;                                                                              \
        for (j = 0; j < p->out_size; ++j) {                                                     \
            out[j] = (T)(p->is_max ? (LO) : (HI));                                              \
        }                                                                                       \
        if (p->is_max) {                                                                        \
            TG_REDUCE_WALK(T, if (v > out[o]) { out[o] = (T)v; });                              \
        } else {                                                                                \
            TG_REDUCE_WALK(T, if (v < out[o]) { out[o] = (T)v; });                              \
        }                                                                                       \
        return TG_OK;                                                                           \
    }

TG_MINMAX_REDUCE_DEFINE(tg_reduce_minmax_s8, int8_t, -128, 127)
TG_MINMAX_REDUCE_DEFINE(tg_reduce_minmax_s16, int16_t, -32768, 32767)

TG_INLINE void arg_store_s32(int32_t *out, int32_t k, int32_t at)
{
    out[k] = at;
}

/* ArgMinMax: the first index along the axis whose value is strictly greater (smaller) than every
 * one before it, i.e. the first occurrence of the extreme. */
#define TG_ARG_DEFINE(NAME, TI, STORE)                                                          \
    int NAME(const tg_arg_params_t *p, const TI *in, int32_t *out)                              \
    {                                                                                           \
        const int32_t axis = p->axis, inner = p->inner;                                         \
        int32_t a, b, i;                                                                        \
        for (a = 0; a < p->outer; ++a) {                                                        \
            const TI *base = in + (int64_t)a * axis * inner;                                    \
            for (b = 0; b < inner; ++b) {                                                       \
                TI best = base[b];                                                              \
                int32_t at = 0;                                                                 \
                for (i = 1; i < axis; ++i) {                                                    \
                    const TI v = base[i * inner + b];                                           \
                    if (p->is_max ? v > best : v < best) {                                      \
                        best = v;                                                               \
                        at = i;                                                                 \
                    }                                                                           \
                }                                                                               \
                STORE(out, a * inner + b, at);                                                  \
            }                                                                                   \
        }                                                                                       \
        return TG_OK;                                                                           \
    }

TG_ARG_DEFINE(tg_arg_s8_s32, int8_t, arg_store_s32)
TG_ARG_DEFINE(tg_arg_u8_s32, uint8_t, arg_store_s32)
TG_ARG_DEFINE(tg_arg_s16_s32, int16_t, arg_store_s32)
TG_ARG_DEFINE(tg_arg_s32_s32, int32_t, arg_store_s32)
TG_ARG_DEFINE(tg_arg_f32_s32, float, arg_store_s32)
