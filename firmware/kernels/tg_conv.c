/* Convolution kernels: the generic entry points (run-time parameters). See tg_conv.h. */
/* One shared copy of each kernel (`--optimize size`): no per-layer unrolling. */
#define TG_GENERIC 1
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os")
#endif
#include "tg_conv.h"

TG_GENERIC_FN int tg_conv2d_s8(const tg_conv_params_t *p, const int8_t *in, int8_t *out,
                               void *scratch)
{
    tg_conv2d_inline(p, in, out, scratch);
    return TG_OK;
}

TG_GENERIC_FN int tg_conv1d_s8(const tg_conv_params_t *p, const int8_t *in, int8_t *out,
                               void *scratch)
{
    tg_conv1d_inline(p, in, out, scratch);
    return TG_OK;
}

TG_GENERIC_FN int tg_conv_pw_inplace_s8(const tg_conv_params_t *g, const tg_conv_params_t *t,
                                        int32_t n, int8_t *buf, void *scratch, int32_t stage_at)
{
    TG_CONV_PW_INPLACE((void)tg_conv1d_s8, g, t, n, buf, scratch, stage_at);
    return TG_OK;
}
