/* See tg_pad.h. */
#include "tg_pad.h"

/* GCC would turn this loop into a memset call, which freestanding builds (-nostdlib) lack. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static void fill(int8_t *dst, int8_t value, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        dst[i] = value;
    }
}

int tg_pad_s8(const tg_pad_params_t *p, const int8_t *in, int8_t *out)
{
    const int32_t row_out = p->out_shape[3];
    const int32_t row_in = p->in_shape[3];
    const int32_t left = p->before[3];
    const int32_t right = row_out - row_in - left;
    const int8_t value = (int8_t)p->value;
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
                    const int8_t *src = in + (((size_t)ia * p->in_shape[1] + ib) * p->in_shape[2] + ic) * row_in;
                    fill(out, value, left);
                    tg_copy_bytes(out + left, src, (size_t)row_in);
                    fill(out + left + row_in, value, right);
                } else {
                    fill(out, value, row_out);
                }
                out += row_out;
            }
        }
    }
    return TG_OK;
}
