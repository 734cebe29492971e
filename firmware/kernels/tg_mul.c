/* See tg_mul.h. */
#include "tg_mul.h"

/* gemmlowp SaturatingRoundingDoublingHighMul then RoundingDivideByPOT(right), exactly, for any x
 * and any multiplier other than INT32_MIN (tinygen's are in [0, 2^31)): for ab >= 0 gemmlowp
 * computes trunc((ab + 2^30) / 2^31) = floor(...); for ab < 0 trunc((ab + 1 - 2^30) / 2^31) =
 * ceil(...) = floor((ab + 2^30) / 2^31). So one 64-bit multiply-add and an arithmetic shift. */
TG_INLINE int32_t mul_rq(int32_t x, int32_t multiplier, int right)
{
    const int32_t y = (int32_t)(((int64_t)x * multiplier + ((int64_t)1 << 30)) >> 31);
    const int32_t mask = (int32_t)(((uint32_t)1 << right) - 1u);
    const int32_t threshold = (mask >> 1) - (y >> 31);
    return (y >> right) + ((y & mask) > threshold);
}

/* Parameters in locals (a narrow store may alias the struct; see tg_add.c). */
typedef struct {
    int32_t off1, off2, mo, left, right, oo, lo, hi;
} mul_k_t;

TG_INLINE int32_t mul_one(const mul_k_t k, int32_t a, int32_t b)
{
    /* MultiplyByQuantizedMultiplier: a left shift (wrapping like TFLite's int32 product) for
     * shift > 0, else the rounding right shift. */
    const int32_t prod = (a + k.off1) * (b + k.off2);
    const int32_t x = (int32_t)((uint32_t)prod << k.left);
    const int32_t v = mul_rq(x, k.mo, k.right) + k.oo;
    return v < k.lo ? k.lo : (v > k.hi ? k.hi : v);
}

/* The four loops of the collapsed broadcast for one element type; the two common stride
 * patterns of the innermost loop (contiguous, one operand broadcast) get their own loops. */
#define TG_MUL_BODY(T)                                                                          \
    do {                                                                                        \
        const int32_t s0 = p->shape[0], s1 = p->shape[1], s2 = p->shape[2], n = p->shape[3];    \
        const int32_t a0 = p->stride1[0], a1 = p->stride1[1], a2 = p->stride1[2];               \
        const int32_t b0 = p->stride2[0], b1 = p->stride2[1], b2 = p->stride2[2];               \
        const int32_t t1 = p->stride1[3], t2 = p->stride2[3];                                   \
        int32_t i0, i1, i2, j;                                                                  \
        for (i0 = 0; i0 < s0; ++i0) {                                                           \
            for (i1 = 0; i1 < s1; ++i1) {                                                       \
                for (i2 = 0; i2 < s2; ++i2) {                                                   \
                    const T *a = in1 + i0 * a0 + i1 * a1 + i2 * a2;                             \
                    const T *b = in2 + i0 * b0 + i1 * b1 + i2 * b2;                             \
                    if (t1 == 1 && t2 == 1) {                                                   \
                        for (j = 0; j < n; ++j) {                                               \
                            *out++ = (T)mul_one(k, a[j], b[j]);                                 \
                        }                                                                       \
                    } else if (t1 == 1 && t2 == 0) {                                            \
                        const int32_t bv = *b;                                                  \
                        for (j = 0; j < n; ++j) {                                               \
                            *out++ = (T)mul_one(k, a[j], bv);                                   \
                        }                                                                       \
                    } else if (t1 == 0 && t2 == 1) {                                            \
                        const int32_t av = *a;                                                  \
                        for (j = 0; j < n; ++j) {                                               \
                            *out++ = (T)mul_one(k, av, b[j]);                                   \
                        }                                                                       \
                    } else {                                                                    \
                        for (j = 0; j < n; ++j) {                                               \
                            *out++ = (T)mul_one(k, a[j * t1], b[j * t2]);                       \
                        }                                                                       \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    } while (0)

static mul_k_t mul_locals(const tg_mul_params_t *p)
{
    mul_k_t k;
    k.off1 = p->in1_offset;
    k.off2 = p->in2_offset;
    k.mo = p->out_mult;
    k.left = p->out_shift > 0 ? p->out_shift : 0;
    k.right = p->out_shift > 0 ? 0 : -p->out_shift;
    k.oo = p->out_offset;
    k.lo = p->act_min;
    k.hi = p->act_max;
    return k;
}

int tg_mul_s8(const tg_mul_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *out)
{
    const mul_k_t k = mul_locals(p);
    TG_MUL_BODY(int8_t);
    return TG_OK;
}

int tg_mul_s16(const tg_mul_params_t *p, const int16_t *in1, const int16_t *in2, int16_t *out)
{
    const mul_k_t k = mul_locals(p);
    TG_MUL_BODY(int16_t);
    return TG_OK;
}
