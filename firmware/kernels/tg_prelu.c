/* See tg_prelu.h. */
#include "tg_prelu.h"

#define TG_PRELU_DEFINE(NAME, T, LO, HI)                                                        \
    int NAME(const tg_prelu_params_t *p, const T *in, const int8_t *alpha, T *out)              \
    {                                                                                           \
        const int32_t n = p->shape[3], t1 = p->stride1[3], t2 = p->stride2[3];                  \
        int32_t i0, i1, i2, j;                                                                  \
        for (i0 = 0; i0 < p->shape[0]; ++i0) {                                                  \
            for (i1 = 0; i1 < p->shape[1]; ++i1) {                                              \
                for (i2 = 0; i2 < p->shape[2]; ++i2) {                                          \
                    const T *a = in + i0 * p->stride1[0] + i1 * p->stride1[1] +                 \
                                 i2 * p->stride1[2];                                            \
                    const int8_t *b = alpha + i0 * p->stride2[0] + i1 * p->stride2[1] +         \
                                      i2 * p->stride2[2];                                       \
                    for (j = 0; j < n; ++j) {                                                   \
                        const int32_t x = p->input_offset + a[j * t1];                          \
                        const int32_t v = p->output_offset +                                    \
                            (x >= 0 ? tg_requantize(x, p->m1, p->s1)                            \
                                    : tg_requantize(x * (p->alpha_offset + b[j * t2]), p->m2,   \
                                                    p->s2));                                    \
                        *out++ = (T)(v < (LO) ? (LO) : (v > (HI) ? (HI) : v));                  \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
        return TG_OK;                                                                           \
    }

TG_PRELU_DEFINE(tg_prelu_s8, int8_t, -128, 127)
TG_PRELU_DEFINE(tg_prelu_s16, int16_t, -32768, 32767)
