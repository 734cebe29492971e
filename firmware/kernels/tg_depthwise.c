/* Depthwise convolution: the generic entry point (run-time parameters). See tg_depthwise.h. */
/* One shared copy of each kernel (`--optimize size`): no per-layer unrolling. */
#define TG_GENERIC 1
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os")
#endif
#include "tg_depthwise.h"

TG_GENERIC_FN int tg_depthwise_s8(const tg_depthwise_params_t *p, const int8_t *in, int8_t *out, void *scratch)
{
    tg_depthwise_inline(p, in, out, scratch);
    return TG_OK;
}
