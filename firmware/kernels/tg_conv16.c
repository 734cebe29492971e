/* 16x8 kernels: the generic entry points (run-time parameters). See tg_conv16.h. */
#include "tg_conv16.h"

int tg_conv2d16(const tg_conv16_params_t *p, const int16_t *in, int16_t *out)
{
    tg_conv2d16_inline(p, in, out);
    return TG_OK;
}

int tg_depthwise16(const tg_conv16_params_t *p, const int16_t *in, int16_t *out)
{
    tg_depthwise16_inline(p, in, out);
    return TG_OK;
}

int tg_fc16(const tg_fc16_params_t *p, const int16_t *in, int16_t *out)
{
    tg_fc16_inline(p, in, out);
    return TG_OK;
}
