/* Convolution kernels: the generic entry points (run-time parameters). See tg_conv.h. */
#include "tg_conv.h"

int tg_conv2d_s8(const tg_conv_params_t *p, const int8_t *in, int8_t *out, void *scratch)
{
    tg_conv2d_inline(p, in, out, scratch);
    return TG_OK;
}

int tg_conv1d_s8(const tg_conv_params_t *p, const int8_t *in, int8_t *out, void *scratch)
{
    tg_conv1d_inline(p, in, out, scratch);
    return TG_OK;
}
