/* See tg_mean.h. */
#include "tg_mean.h"

/* gemmlowp SaturatingRoundingDoublingHighMul then RoundingDivideByPOT(right), exactly, for any x
 * and any multiplier other than INT32_MIN (tinygen's are in [0, 2^31)): for ab >= 0 gemmlowp
 * computes trunc((ab + 2^30) / 2^31) = floor(...); for ab < 0 trunc((ab + 1 - 2^30) / 2^31) =
 * ceil(...) = floor((ab + 2^30) / 2^31). So one 64-bit multiply-add and an arithmetic shift. */
TG_INLINE int32_t mean_rq(int32_t x, int32_t multiplier, int right)
{
    const int32_t y = (int32_t)(((int64_t)x * multiplier + ((int64_t)1 << 30)) >> 31);
    const int32_t mask = (int32_t)(((uint32_t)1 << right) - 1u);
    const int32_t threshold = (mask >> 1) - (y >> 31);
    return (y >> right) + ((y & mask) > threshold);
}

TG_INLINE int32_t mean_scaled(int32_t acc, int32_t mult, int32_t shift, int32_t out_offset)
{
    const int32_t left = shift > 0 ? shift : 0;
    return mean_rq((int32_t)((uint32_t)acc << left), mult, (int)(left - shift)) + out_offset;
}

TG_INLINE int8_t mean_out(int32_t acc, int32_t mult, int32_t shift, int32_t out_offset)
{
    return tg_clamp_s8(mean_scaled(acc, mult, shift, out_offset), -128, 127);
}

int tg_mean_s8(const tg_mean_params_t *p, const int8_t *in, int8_t *out)
{
    const int32_t stride = p->inner, reduce = p->reduce, bias = p->bias;
    const int32_t mult = p->mult, shift = p->shift, out_offset = p->out_offset;
    int32_t o, i, r;
    for (o = 0; o < p->outer; ++o) {
        const int8_t *block = in + (size_t)o * reduce * stride;
        int8_t *y = out + (size_t)o * stride;
        /* Four channels at a time: four sums stay in registers along the reduced axis. All
         * outputs of block o are written after all of its reads (in-place safety). */
        for (i = 0; i + 4 <= stride; i += 4) {
            const int8_t *x = block + i;
            int32_t a0 = bias, a1 = bias, a2 = bias, a3 = bias;
            for (r = 0; r < reduce; ++r, x += stride) {
                a0 += x[0];
                a1 += x[1];
                a2 += x[2];
                a3 += x[3];
            }
            y[i] = mean_out(a0, mult, shift, out_offset);
            y[i + 1] = mean_out(a1, mult, shift, out_offset);
            y[i + 2] = mean_out(a2, mult, shift, out_offset);
            y[i + 3] = mean_out(a3, mult, shift, out_offset);
        }
        for (; i < stride; ++i) {
            const int8_t *x = block + i;
            int32_t acc = bias;
            for (r = 0; r < reduce; ++r, x += stride) {
                acc += *x;
            }
            y[i] = mean_out(acc, mult, shift, out_offset);
        }
    }
    return TG_OK;
}

int tg_mean_s16(const tg_mean_params_t *p, const int16_t *in, int16_t *out)
{
    const int32_t stride = p->inner, reduce = p->reduce;
    int32_t o, i, r;
    for (o = 0; o < p->outer; ++o) {
        const int16_t *block = in + (size_t)o * reduce * stride;
        int16_t *y = out + (size_t)o * stride;
        for (i = 0; i < stride; ++i) {   /* output (o, i) is written after all of its reads */
            const int16_t *x = block + i;
            int32_t acc = p->bias, v;
            for (r = 0; r < reduce; ++r, x += stride) {
                acc += *x;
            }
            v = mean_scaled(acc, p->mult, p->shift, p->out_offset);
            y[i] = (int16_t)(v < -32768 ? -32768 : (v > 32767 ? 32767 : v));
        }
    }
    return TG_OK;
}
