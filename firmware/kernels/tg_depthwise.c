/* Depthwise convolution: the generic entry point (run-time parameters). See tg_depthwise.h. */
#include "tg_depthwise.h"

int tg_depthwise_s8(const tg_depthwise_params_t *p, const int8_t *in, int8_t *out, void *scratch)
{
    tg_depthwise_inline(p, in, out, scratch);
    return TG_OK;
}
