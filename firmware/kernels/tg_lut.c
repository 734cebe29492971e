/* See tg_lut.h. */
#include "tg_lut.h"

int tg_lut_s8(const int8_t *lut, const int8_t *in, int8_t *out, int32_t size)
{
    const int8_t *centre = lut + 128;
    int32_t i = 0;
    if (size < 0) {
        return TG_ERROR;
    }
    for (; i + 4 <= size; i += 4) {
        const int8_t a = centre[in[i]];
        const int8_t b = centre[in[i + 1]];
        const int8_t c = centre[in[i + 2]];
        const int8_t d = centre[in[i + 3]];
        out[i] = a;
        out[i + 1] = b;
        out[i + 2] = c;
        out[i + 3] = d;
    }
    for (; i < size; ++i) {
        out[i] = centre[in[i]];
    }
    return TG_OK;
}
