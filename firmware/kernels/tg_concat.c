/* See tg_concat.h. */
#include "tg_concat.h"

int tg_concat(const int8_t *const *inputs, const int32_t *inner, int32_t n_inputs,
              int32_t outer, int8_t *out)
{
    int32_t o, k;
    for (o = 0; o < outer; ++o) {
        for (k = 0; k < n_inputs; ++k) {
            const size_t n = (size_t)inner[k];
            tg_copy_bytes(out, inputs[k] + (size_t)o * n, n);
            out += n;
        }
    }
    return TG_OK;
}
