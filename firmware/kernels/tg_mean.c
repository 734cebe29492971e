/* See tg_mean.h. */
#include "tg_mean.h"

int tg_mean_s8(const tg_mean_params_t *p, const int8_t *in, int8_t *out)
{
    const int32_t stride = p->inner;
    int32_t o, i, r;
    for (o = 0; o < p->outer; ++o) {
        const int8_t *block = in + (size_t)o * p->reduce * stride;
        for (i = 0; i < stride; ++i) {
            const int8_t *x = block + i;
            int32_t acc = p->bias;
            for (r = 0; r < p->reduce; ++r, x += stride) {
                acc += *x;
            }
            acc = tg_requantize(acc, p->mult, p->shift) + p->out_offset;
            out[(size_t)o * stride + i] = tg_clamp_s8(acc, -128, 127);
        }
    }
    return TG_OK;
}
