/* See tg_softmax.h. gemmlowp fixed point on raw int32 values; Qm.n below names the format.
 * Additions that gemmlowp performs on int32 are done modulo 2^32 (as the C++ does in practice)
 * without signed-overflow UB. */
#include "tg_softmax.h"

#if defined(__GNUC__) && !defined(__clang__)
/* Once per inference on a few classes (well under 0.1 % of a zoo model's
 * instructions): size over speed, as part of issue 12's code budget. */
#pragma GCC optimize("Os")
#endif

static int32_t add_wrap(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static int32_t sub_wrap(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

/* SaturatingRoundingMultiplyByPOT<e> for e > 0. */
static int32_t sat_shl(int32_t x, int e)
{
    const int32_t threshold = (int32_t)(((uint32_t)1 << (31 - e)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << e);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out. */
static int32_t exp_quarter(int32_t a)
{
    const int32_t constant_term = 1895147668;  /* exp(-1/8) */
    const int32_t one_third = 715827883;
    const int32_t x = add_wrap(a, 1 << 28);    /* a + 1/8 */
    const int32_t x2 = tg_srdhm(x, x);
    const int32_t x3 = tg_srdhm(x2, x);
    const int32_t x4 = tg_srdhm(x2, x2);
    const int32_t x4_over_4 = tg_rdbpot(x4, 2);
    const int32_t poly = tg_rdbpot(add_wrap(tg_srdhm(add_wrap(x4_over_4, x3), one_third), x2), 1);
    return add_wrap(constant_term, tg_srdhm(constant_term, add_wrap(x, poly)));
}

/* gemmlowp exp_on_negative_values for a Q5.26 input a <= 0; result Q0.31. */
static int32_t exp_neg_q5(int32_t a)
{
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535,
                                      720401, 242};
    const int32_t one_quarter = (int32_t)1 << 24;
    const int32_t a_mod = sub_wrap((int32_t)((uint32_t)a & (uint32_t)(one_quarter - 1)), one_quarter);
    const int32_t remainder = sub_wrap(a_mod, a);
    int32_t result = exp_quarter(sat_shl(a_mod, 5));
    int k;
    for (k = 0; k < 7; ++k) {
        if ((uint32_t)remainder & ((uint32_t)1 << (24 + k))) {
            result = tg_srdhm(result, barrel[k]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* gemmlowp one_over_one_plus_x_for_x_in_0_1, Q0.31 in and out. */
static int32_t one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = add_wrap(1515870810, tg_srdhm(half_denominator, -1010580540)); /* Q2.29 */
    int k;
    for (k = 0; k < 3; ++k) {
        const int32_t one_minus = sub_wrap((int32_t)1 << 29, tg_srdhm(half_denominator, x));
        x = add_wrap(x, sat_shl(tg_srdhm(x, one_minus), 2));
    }
    return sat_shl(x, 1);
}

/* One CLZ instruction where the core has it; a short loop elsewhere (rv32imc has none, and
 * __builtin_clz there would pull __clzsi2 from libgcc). Called once per row. */
static int count_leading_zeros(uint32_t x)
{
#if defined(__GNUC__) && (defined(__ARM_FEATURE_CLZ) || defined(__x86_64__) || defined(__i386__) || \
                          defined(__aarch64__))
    return x ? __builtin_clz(x) : 32;
#else
    int n = 0;
    if (x == 0u) {
        return 32;
    }
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
#endif
}

/* Rows up to this long keep their exp() values in a small stack array between the two passes
 * instead of computing them twice (exp is by far the most expensive step). */
#define TG_SOFTMAX_CACHE 32

/* The rows, written as int8 (out8, 8 output bits) or int16 (out16, 16 bits): TFLite's
 * Softmax<int8_t, OutputT> differs only in the final shift and the output's minimum. */
static int softmax_rows(const tg_softmax_params_t *p, const int8_t *in, int8_t *out8,
                        int16_t *out16)
{
    const int32_t bits = out16 ? 16 : 8;
    const int32_t out_min = out16 ? -32768 : -128, out_max = out16 ? 32767 : 127;
    const int32_t depth = p->depth;
    const int32_t mult = p->input_multiplier, left = p->input_left_shift, diff_min = p->diff_min;
    const int cached = depth <= TG_SOFTMAX_CACHE;
    int32_t cache[TG_SOFTMAX_CACHE];
    int32_t r, c;
    for (r = 0; r < p->rows; ++r) {
        const int8_t *x = in + (size_t)r * depth;
        int32_t max_in_row = -128;
        int32_t sum_of_exps = 0;  /* Q12.19 */
        int headroom_plus_one, exponent;
        int32_t shifted_scale;
        for (c = 0; c < depth; ++c) {
            max_in_row = x[c] > max_in_row ? x[c] : max_in_row;
        }
        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max_in_row;
            int32_t e = 0; /* unused below diff_min: the output pass tests diff again */
            if (diff >= diff_min) {
                e = exp_neg_q5(tg_requantize_lshift(diff, mult, left));
                sum_of_exps = add_wrap(sum_of_exps, tg_rdbpot(e, 12));
            }
            if (cached) {
                cache[c] = e;
            }
        }
        if (sum_of_exps <= 0) {
            return TG_ERROR; /* cannot happen: the row maximum alone contributes 2^19 */
        }
        /* GetReciprocal(sum_of_exps, 12): sum = 2^(12 - headroom_plus_one) * (1 + f). */
        headroom_plus_one = count_leading_zeros((uint32_t)sum_of_exps);
        shifted_scale = one_over_one_plus_x(
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31)));
        exponent = 12 - headroom_plus_one + 31 - bits;
        if (exponent < 0 || exponent > 31) {
            return TG_ERROR;
        }
        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max_in_row;
            int32_t v = out_min;
            if (diff >= diff_min) {
                const int32_t e = cached ? cache[c] : exp_neg_q5(tg_requantize_lshift(diff, mult, left));
                v = tg_rdbpot(tg_srdhm(shifted_scale, e), exponent) + out_min;
            }
            v = v < out_min ? out_min : (v > out_max ? out_max : v);
            if (out16) {
                out16[(size_t)r * depth + c] = (int16_t)v;
            } else {
                out8[(size_t)r * depth + c] = (int8_t)v;
            }
        }
    }
    return TG_OK;
}

int tg_softmax_s8(const tg_softmax_params_t *p, const int8_t *in, int8_t *out)
{
    return softmax_rows(p, in, out, 0);
}

int tg_softmax_s8_s16(const tg_softmax_params_t *p, const int8_t *in, int16_t *out)
{
    return softmax_rows(p, in, 0, out);
}

/* TFLite's lut_lookup for an int16 input: 512 intervals of 128 values, linear interpolation
 * rounded half up in Q0.22 -> Q0.15. */
static int16_t lut16(int32_t value, const int16_t *lut)
{
    const int32_t index = 256 + (value >> 7);    /* arithmetic shift: value in [-32768, 32767] */
    const int32_t offset = value & 0x7F;
    const int32_t base = lut[index];
    const int32_t slope = (int32_t)lut[index + 1] - base;
    return (int16_t)(base + ((slope * offset + 64) >> 7));
}

int tg_softmax_s16(const tg_softmax16_params_t *p, const int16_t *in, int16_t *out)
{
    const int32_t depth = p->depth;
    int32_t r, c;
    for (r = 0; r < p->rows; ++r) {
        const int16_t *x = in + (size_t)r * depth;
        int16_t *y = out + (size_t)r * depth;
        int32_t max_in_row = -32768, sum_of_exps = 0;  /* Q16.15 */
        int32_t headroom_plus_one, shifted_sum, sym, right_shift;
        int16_t recip;
        for (c = 0; c < depth; ++c) {
            max_in_row = x[c] > max_in_row ? x[c] : max_in_row;
        }
        for (c = 0; c < depth; ++c) {  /* exp values kept in the output: x[c] is read first */
            int32_t v = tg_requantize((int32_t)x[c] - max_in_row, p->input_multiplier,
                                      p->input_left_shift) + 32767;
            v = v < -32768 ? -32768 : (v > 32767 ? 32767 : v);
            y[c] = lut16(v, p->exp_lut);
            sum_of_exps += y[c];
        }
        if (sum_of_exps <= 0) {
            return TG_ERROR; /* cannot happen: the row maximum alone gives exp(0) = 32767 */
        }
        headroom_plus_one = count_leading_zeros((uint32_t)sum_of_exps);
        shifted_sum = (int32_t)((((int64_t)sum_of_exps << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
        sym = shifted_sum - ((1 << 15) + (1 << 16));
        recip = lut16(sym < -32768 ? -32768 : (sym > 32767 ? 32767 : sym), p->recip_lut);
        right_shift = 31 - headroom_plus_one;
        for (c = 0; c < depth; ++c) {
            const int32_t v = (int32_t)(((int64_t)y[c] * recip + ((int64_t)1 << (right_shift - 1))) >>
                                        right_shift);
            y[c] = (int16_t)(v < 0 ? 0 : (v > 32767 ? 32767 : v));
        }
    }
    return TG_OK;
}
