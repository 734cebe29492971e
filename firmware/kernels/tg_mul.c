/* See tg_mul.h. */
#include "tg_mul.h"

TG_INLINE int8_t mul_one(const tg_mul_params_t *p, int32_t a, int32_t b)
{
    const int32_t prod = (a + p->in1_offset) * (b + p->in2_offset);
    const int32_t raw = tg_requantize(prod, p->out_mult, p->out_shift) + p->out_offset;
    return tg_clamp_s8(raw, p->act_min, p->act_max);
}

int tg_mul_s8(const tg_mul_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *out)
{
    const tg_mul_params_t *it = p;
    const int32_t n = it->shape[3];
    const int32_t t1 = it->stride1[3], t2 = it->stride2[3];
    int32_t i0, i1, i2, k;
    for (i0 = 0; i0 < it->shape[0]; ++i0) {
        for (i1 = 0; i1 < it->shape[1]; ++i1) {
            for (i2 = 0; i2 < it->shape[2]; ++i2) {
                const int8_t *a = in1 + i0 * it->stride1[0] + i1 * it->stride1[1] + i2 * it->stride1[2];
                const int8_t *b = in2 + i0 * it->stride2[0] + i1 * it->stride2[1] + i2 * it->stride2[2];
                if (t1 == 1 && t2 == 1) {
                    for (k = 0; k < n; ++k) {
                        *out++ = mul_one(p, a[k], b[k]);
                    }
                } else if (t1 == 1 && t2 == 0) {
                    const int32_t bv = *b;
                    for (k = 0; k < n; ++k) {
                        *out++ = mul_one(p, a[k], bv);
                    }
                } else if (t1 == 0 && t2 == 1) {
                    const int32_t av = *a;
                    for (k = 0; k < n; ++k) {
                        *out++ = mul_one(p, av, b[k]);
                    }
                } else {
                    for (k = 0; k < n; ++k) {
                        *out++ = mul_one(p, a[k * t1], b[k * t2]);
                    }
                }
            }
        }
    }
    return TG_OK;
}
