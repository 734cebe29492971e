/* See tg_pad.h. */
#include "tg_pad.h"

/* GCC would turn these loops into memset/memcpy calls, which freestanding builds (-nostdlib)
 * lack. */
#if defined(__GNUC__) && !defined(__clang__)
#define TG_NO_LIBC_CALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define TG_NO_LIBC_CALLS
#endif

/* n elements of `elem` bytes set to value; dst is aligned to elem (arena tensors are). */
TG_NO_LIBC_CALLS static void fill(int8_t *dst, int32_t value, int32_t n, int32_t elem)
{
    int32_t i;
    if (elem == 2) {
        int16_t *d = (int16_t *)(void *)dst;
        for (i = 0; i < n; ++i) {
            d[i] = (int16_t)value;
        }
    } else if (elem == 4) {
        int32_t *d = (int32_t *)(void *)dst;
        for (i = 0; i < n; ++i) {
            d[i] = value;
        }
    } else {
        for (i = 0; i < n; ++i) {
            dst[i] = (int8_t)value;
        }
    }
}

TG_NO_LIBC_CALLS static void copy(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        dst[i] = src[i];
    }
}

int tg_pad(const tg_pad_params_t *p, const int8_t *in, int8_t *out)
{
    const int32_t e = p->elem;
    const int32_t row_out = p->out_shape[3];
    const int32_t row_in = p->in_shape[3];
    const int32_t left = p->before[3];
    const int32_t right = row_out - row_in - left;
    int32_t a, b, c;
    for (a = 0; a < p->out_shape[0]; ++a) {
        const int32_t ia = a - p->before[0];
        const int in_a = ia >= 0 && ia < p->in_shape[0];
        for (b = 0; b < p->out_shape[1]; ++b) {
            const int32_t ib = b - p->before[1];
            const int in_b = in_a && ib >= 0 && ib < p->in_shape[1];
            for (c = 0; c < p->out_shape[2]; ++c) {
                const int32_t ic = c - p->before[2];
                if (in_b && ic >= 0 && ic < p->in_shape[2]) {
                    const size_t row = ((size_t)ia * p->in_shape[1] + ib) * p->in_shape[2] + ic;
                    fill(out, p->value, left, e);
                    copy(out + left * e, in + row * row_in * e, row_in * e);
                    fill(out + (left + row_in) * e, p->value, right, e);
                } else {
                    fill(out, p->value, row_out, e);
                }
                out += row_out * e;
            }
        }
    }
    return TG_OK;
}
