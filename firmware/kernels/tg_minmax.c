/* See tg_minmax.h. */
#include "tg_minmax.h"

/* One definition per element type: the collapsed broadcast loops with the comparison of
 * maximum_minimum.cc, chosen once per call rather than per element. The float comparison is
 * the same IEEE compare as TFLite-Micro's (a NaN in input 1 yields input 2 for both ops). */
#define TG_MINMAX_DEFINE(NAME, T)                                                               \
    int NAME(const tg_minmax_params_t *p, const T *in1, const T *in2, T *out)                   \
    {                                                                                           \
        const int32_t s0 = p->shape[0], s1 = p->shape[1], s2 = p->shape[2], n = p->shape[3];    \
        const int32_t t1 = p->stride1[3], t2 = p->stride2[3];                                   \
        const int is_max = p->is_max != 0;                                                      \
        int32_t i0, i1, i2, j;                                                                  \
        for (i0 = 0; i0 < s0; ++i0) {                                                           \
            for (i1 = 0; i1 < s1; ++i1) {                                                       \
                for (i2 = 0; i2 < s2; ++i2) {                                                   \
                    const T *a = in1 + i0 * p->stride1[0] + i1 * p->stride1[1] +                \
                                 i2 * p->stride1[2];                                            \
                    const T *b = in2 + i0 * p->stride2[0] + i1 * p->stride2[1] +                \
                                 i2 * p->stride2[2];                                            \
                    if (is_max) {                                                               \
                        for (j = 0; j < n; ++j) {                                               \
                            const T x = a[j * t1], y = b[j * t2];                               \
                            out[j] = x > y ? x : y;                                             \
                        }                                                                       \
                    } else {                                                                    \
                        for (j = 0; j < n; ++j) {                                               \
                            const T x = a[j * t1], y = b[j * t2];                               \
                            out[j] = x < y ? x : y;                                             \
                        }                                                                       \
                    }                                                                           \
                    out += n;                                                                   \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
        return TG_OK;                                                                           \
    }

TG_MINMAX_DEFINE(tg_minmax_s8, int8_t)
TG_MINMAX_DEFINE(tg_minmax_s16, int16_t)
TG_MINMAX_DEFINE(tg_minmax_s32, int32_t)
TG_MINMAX_DEFINE(tg_minmax_f32, float)
