/* See tg_add.h. */
#include "tg_add.h"

/* gemmlowp SaturatingRoundingDoublingHighMul then RoundingDivideByPOT(right), exactly, for any x
 * and any multiplier other than INT32_MIN (tinygen's are in [0, 2^31)): for ab >= 0 gemmlowp
 * computes trunc((ab + 2^30) / 2^31) = floor(...); for ab < 0 trunc((ab + 1 - 2^30) / 2^31) =
 * ceil(...) = floor((ab + 2^30) / 2^31). So one 64-bit multiply-add and an arithmetic shift. */
TG_INLINE int32_t add_rq(int32_t x, int32_t multiplier, int right)
{
    const int32_t y = (int32_t)(((int64_t)x * multiplier + ((int64_t)1 << 30)) >> 31);
    const int32_t mask = (int32_t)(((uint32_t)1 << right) - 1u);
    const int32_t threshold = (mask >> 1) - (y >> 31);
    return (y >> right) + ((y & mask) > threshold);
}

/* The parameters, copied into locals once per call: an int8 store may alias anything, so
 * reading them through `p` inside the loop would reload every one of them per element. */
typedef struct {
    int32_t off1, off2, ls, m1, r1, m2, r2, mo, ro, oo, lo, hi;
} add_k_t;

/* AddFunc; every shift is <= 0 (MultiplyByQuantizedMultiplierSmallerThanOneExp). */
TG_INLINE int8_t add_one(const add_k_t k, int32_t a, int32_t b)
{
    const int32_t x1 = (int32_t)((uint32_t)(a + k.off1) << k.ls);
    const int32_t x2 = (int32_t)((uint32_t)(b + k.off2) << k.ls);
    const int32_t s1 = add_rq(x1, k.m1, k.r1);
    const int32_t s2 = add_rq(x2, k.m2, k.r2);
    return tg_clamp_s8(add_rq(s1 + s2, k.mo, k.ro) + k.oo, k.lo, k.hi);
}

/* Same as add_one with the two input terms read from tables (centred at index 128). */
TG_INLINE int8_t add_one_t(const add_k_t k, const int32_t *t1, const int32_t *t2, int32_t a,
                           int32_t b)
{
    return tg_clamp_s8(add_rq(t1[a] + t2[b], k.mo, k.ro) + k.oo, k.lo, k.hi);
}

static void add_tables(const add_k_t k, const int32_t *t1, const int32_t *t2, const int8_t *a,
                       const int8_t *b, int8_t *out, int32_t n, int32_t ta, int32_t tb)
{
    int32_t j;
    t1 += 128;
    t2 += 128;
    if (ta == 1 && tb == 1) {
        for (j = 0; j < n; ++j) {
            out[j] = add_one_t(k, t1, t2, a[j], b[j]);
        }
    } else {
        for (j = 0; j < n; ++j) {
            out[j] = add_one_t(k, t1, t2, a[j * ta], b[j * tb]);
        }
    }
}

int tg_add_s8(const tg_add_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *out)
{
    const add_k_t k = {p->in1_offset, p->in2_offset, p->left_shift, p->in1_mult, -p->in1_shift,
                       p->in2_mult, -p->in2_shift, p->out_mult, -p->out_shift, p->out_offset,
                       p->act_min, p->act_max};
    const int32_t s0 = p->shape[0], s1 = p->shape[1], s2 = p->shape[2], n = p->shape[3];
    const int32_t a0 = p->stride1[0], a1 = p->stride1[1], a2 = p->stride1[2], t1 = p->stride1[3];
    const int32_t b0 = p->stride2[0], b1 = p->stride2[1], b2 = p->stride2[2], t2 = p->stride2[3];
    int32_t i0, i1, i2, j;
    for (i0 = 0; i0 < s0; ++i0) {
        for (i1 = 0; i1 < s1; ++i1) {
            for (i2 = 0; i2 < s2; ++i2) {
                const int8_t *a = in1 + i0 * a0 + i1 * a1 + i2 * a2;
                const int8_t *b = in2 + i0 * b0 + i1 * b1 + i2 * b2;
                if (p->t1 != NULL && p->t2 != NULL) {
                    add_tables(k, p->t1, p->t2, a, b, out, n, t1, t2);
                    out += n;
                } else if (t1 == 1 && t2 == 1) {
                    for (j = 0; j < n; ++j) {
                        *out++ = add_one(k, a[j], b[j]);
                    }
                } else if (t1 == 1 && t2 == 0) {
                    const int32_t bv = *b;
                    for (j = 0; j < n; ++j) {
                        *out++ = add_one(k, a[j], bv);
                    }
                } else if (t1 == 0 && t2 == 1) {
                    const int32_t av = *a;
                    for (j = 0; j < n; ++j) {
                        *out++ = add_one(k, av, b[j]);
                    }
                } else {
                    for (j = 0; j < n; ++j) {
                        *out++ = add_one(k, a[j * t1], b[j * t2]);
                    }
                }
            }
        }
    }
    return TG_OK;
}
