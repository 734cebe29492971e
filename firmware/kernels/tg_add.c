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

/* The parameters, copied into locals once per call: a narrow store may alias anything, so
 * reading them through `p` inside the loop would reload every one of them per element.
 * `ol` is the output multiplier's left shift (SQUARED_DIFFERENCE only; 0 for ADD/SUB). */
typedef struct {
    int32_t off1, off2, ls, m1, r1, m2, r2, mo, ol, ro, oo, lo, hi;
} add_k_t;

static add_k_t add_locals(const tg_add_params_t *p)
{
    add_k_t k;
    k.off1 = p->in1_offset;
    k.off2 = p->in2_offset;
    k.ls = p->left_shift;
    k.m1 = p->in1_mult;
    k.r1 = -p->in1_shift;
    k.m2 = p->in2_mult;
    k.r2 = -p->in2_shift;
    k.mo = p->out_mult;
    k.ol = p->out_shift > 0 ? p->out_shift : 0;
    k.ro = p->out_shift > 0 ? 0 : -p->out_shift;
    k.oo = p->out_offset;
    k.lo = p->act_min;
    k.hi = p->act_max;
    return k;
}

TG_INLINE int32_t add_term1(const add_k_t k, int32_t a)
{
    return add_rq((int32_t)((uint32_t)(a + k.off1) << k.ls), k.m1, k.r1);
}

TG_INLINE int32_t add_term2(const add_k_t k, int32_t b)
{
    return add_rq((int32_t)((uint32_t)(b + k.off2) << k.ls), k.m2, k.r2);
}

/* The output stage of all three: MultiplyByQuantizedMultiplier (the left part wraps like
 * TFLite's int32 product), offset, clamp to the activation range. */
TG_INLINE int32_t add_out(const add_k_t k, int32_t raw)
{
    const int32_t x = (int32_t)((uint32_t)raw << k.ol);
    const int32_t v = add_rq(x, k.mo, k.ro) + k.oo;
    return v < k.lo ? k.lo : (v > k.hi ? k.hi : v);
}

TG_INLINE int32_t add_one(const add_k_t k, int32_t a, int32_t b)
{
    return add_out(k, add_term1(k, a) + add_term2(k, b));
}

TG_INLINE int32_t sub_one(const add_k_t k, int32_t a, int32_t b)
{
    return add_out(k, add_term1(k, a) - add_term2(k, b));
}

TG_INLINE int32_t sqd_one(const add_k_t k, int32_t a, int32_t b)
{
    const int32_t d = add_term1(k, a) - add_term2(k, b);
    return add_out(k, d * d);
}

/* One innermost row of n outputs per element type and kind, with the two common stride
 * patterns (both contiguous, one broadcast) as their own loops so they vectorise. */
#define TG_ADD_ROW(NAME, T, ONE)                                                                \
    static void NAME(const add_k_t k, const T *a, const T *b, T *out, int32_t n, int32_t ta,     \
                     int32_t tb)                                                                \
    {                                                                                           \
        int32_t j;                                                                              \
        if (ta == 1 && tb == 1) {                                                               \
            for (j = 0; j < n; ++j) {                                                           \
                out[j] = (T)ONE(k, a[j], b[j]);                                                 \
            }                                                                                   \
        } else if (ta == 1 && tb == 0) {                                                        \
            const int32_t bv = *b;                                                              \
            for (j = 0; j < n; ++j) {                                                           \
                out[j] = (T)ONE(k, a[j], bv);                                                   \
            }                                                                                   \
        } else if (ta == 0 && tb == 1) {                                                        \
            const int32_t av = *a;                                                              \
            for (j = 0; j < n; ++j) {                                                           \
                out[j] = (T)ONE(k, av, b[j]);                                                   \
            }                                                                                   \
        } else {                                                                                \
            for (j = 0; j < n; ++j) {                                                           \
                out[j] = (T)ONE(k, a[j * ta], b[j * tb]);                                       \
            }                                                                                   \
        }                                                                                       \
    }

TG_ADD_ROW(add_row_s8, int8_t, add_one)
TG_ADD_ROW(sub_row_s8, int8_t, sub_one)
TG_ADD_ROW(sqd_row_s8, int8_t, sqd_one)
TG_ADD_ROW(add_row_s16, int16_t, add_one)
TG_ADD_ROW(sub_row_s16, int16_t, sub_one)
TG_ADD_ROW(sqd_row_s16, int16_t, sqd_one)

/* int8 ADD/SUB with the input terms read from tables (centred at index 128; t2 is negated for
 * SUB by tinygen, so both are a sum here). */
static void add_row_tables(const add_k_t k, const int32_t *t1, const int32_t *t2, const int8_t *a,
                           const int8_t *b, int8_t *out, int32_t n, int32_t ta, int32_t tb)
{
    int32_t j;
    t1 += 128;
    t2 += 128;
    if (ta == 1 && tb == 1) {
        for (j = 0; j < n; ++j) {
            out[j] = (int8_t)add_out(k, t1[a[j]] + t2[b[j]]);
        }
    } else {
        for (j = 0; j < n; ++j) {
            out[j] = (int8_t)add_out(k, t1[a[j * ta]] + t2[b[j * tb]]);
        }
    }
}

/* The three outer loops of the collapsed broadcast, calling one row function per row. */
#define TG_ADD_LOOPS(T, ROW_CALL)                                                               \
    do {                                                                                        \
        const int32_t s0 = p->shape[0], s1 = p->shape[1], s2 = p->shape[2], n = p->shape[3];    \
        const int32_t a0 = p->stride1[0], a1 = p->stride1[1], a2 = p->stride1[2];               \
        const int32_t b0 = p->stride2[0], b1 = p->stride2[1], b2 = p->stride2[2];               \
        const int32_t ta = p->stride1[3], tb = p->stride2[3];                                   \
        int32_t i0, i1, i2;                                                                     \
        for (i0 = 0; i0 < s0; ++i0) {                                                           \
            for (i1 = 0; i1 < s1; ++i1) {                                                       \
                for (i2 = 0; i2 < s2; ++i2) {                                                   \
                    const T *a = in1 + i0 * a0 + i1 * a1 + i2 * a2;                             \
                    const T *b = in2 + i0 * b0 + i1 * b1 + i2 * b2;                             \
                    ROW_CALL;                                                                   \
                    out += n;                                                                   \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    } while (0)

int tg_add_s8(const tg_add_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *out)
{
    const add_k_t k = add_locals(p);
    if (p->t1 != NULL && p->t2 != NULL && p->kind != TG_ADD_KIND_SQDIFF) {
        TG_ADD_LOOPS(int8_t, add_row_tables(k, p->t1, p->t2, a, b, out, n, ta, tb));
    } else if (p->kind == TG_ADD_KIND_ADD) {
        TG_ADD_LOOPS(int8_t, add_row_s8(k, a, b, out, n, ta, tb));
    } else if (p->kind == TG_ADD_KIND_SUB) {
        TG_ADD_LOOPS(int8_t, sub_row_s8(k, a, b, out, n, ta, tb));
    } else {
        TG_ADD_LOOPS(int8_t, sqd_row_s8(k, a, b, out, n, ta, tb));
    }
    return TG_OK;
}

int tg_add_s16(const tg_add_params_t *p, const int16_t *in1, const int16_t *in2, int16_t *out)
{
    const add_k_t k = add_locals(p);
    if (p->kind == TG_ADD_KIND_ADD) {
        TG_ADD_LOOPS(int16_t, add_row_s16(k, a, b, out, n, ta, tb));
    } else if (p->kind == TG_ADD_KIND_SUB) {
        TG_ADD_LOOPS(int16_t, sub_row_s16(k, a, b, out, n, ta, tb));
    } else {
        TG_ADD_LOOPS(int16_t, sqd_row_s16(k, a, b, out, n, ta, tb));
    }
    return TG_OK;
}
