/* See tg_add.h. */
#include "tg_add.h"

TG_INLINE int8_t add_one(const tg_add_params_t *p, int32_t a, int32_t b)
{
    const int32_t x1 = (int32_t)((uint32_t)(a + p->in1_offset) << p->left_shift);
    const int32_t x2 = (int32_t)((uint32_t)(b + p->in2_offset) << p->left_shift);
    const int32_t s1 = tg_requantize_rshift(x1, p->in1_mult, p->in1_shift);
    const int32_t s2 = tg_requantize_rshift(x2, p->in2_mult, p->in2_shift);
    const int32_t raw = tg_requantize_rshift(s1 + s2, p->out_mult, p->out_shift) + p->out_offset;
    return tg_clamp_s8(raw, p->act_min, p->act_max);
}

int tg_add_s8(const tg_add_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *out)
{
    const tg_add_params_t *it = p;
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
                        *out++ = add_one(p, a[k], b[k]);
                    }
                } else if (t1 == 1 && t2 == 0) {
                    const int32_t bv = *b;
                    for (k = 0; k < n; ++k) {
                        *out++ = add_one(p, a[k], bv);
                    }
                } else if (t1 == 0 && t2 == 1) {
                    const int32_t av = *a;
                    for (k = 0; k < n; ++k) {
                        *out++ = add_one(p, av, b[k]);
                    }
                } else {
                    for (k = 0; k < n; ++k) {
                        *out++ = add_one(p, a[k * t1], b[k * t2]);
                    }
                }
            }
        }
    }
    return TG_OK;
}
