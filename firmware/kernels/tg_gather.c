/* See tg_gather.h. */
#include "tg_gather.h"

#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
int tg_gather(const tg_gather_params_t *p, const int8_t *input, const int32_t *positions,
              int8_t *output)
{
    int32_t b, o, c, k;
    for (b = 0; b < p->batch; ++b) {
        const int32_t *pos = positions + (size_t)b * p->coords;
        for (o = 0; o < p->outer; ++o) {
            const int8_t *base = input + ((size_t)b * p->outer + o) * p->size * p->inner;
            for (c = 0; c < p->coords; ++c) {
                const int32_t at = pos[c];
                const int8_t *src;
                if (at < 0 || at >= p->size) {
                    return TG_ERROR;
                }
                src = base + (size_t)at * p->inner;
                for (k = 0; k < p->inner; ++k) {
                    output[k] = src[k];
                }
                output += p->inner;
            }
        }
    }
    return TG_OK;
}
