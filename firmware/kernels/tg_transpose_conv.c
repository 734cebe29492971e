/* TRANSPOSE_CONV: the generic entry points (run-time parameters). See tg_transpose_conv.h. */
#include "tg_transpose_conv.h"

int tg_tconv_s8(const tg_tconv_params_t *p, const int8_t *in, int8_t *out)
{
    tg_tconv_s8_inline(p, in, out);
    return TG_OK;
}

int tg_tconv_s16(const tg_tconv_params_t *p, const int16_t *in, int16_t *out)
{
    tg_tconv_s16_inline(p, in, out);
    return TG_OK;
}
