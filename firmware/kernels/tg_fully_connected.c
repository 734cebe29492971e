/* Fully connected: the generic entry point (run-time parameters). See tg_fully_connected.h. */
/* One shared copy of each kernel (`--optimize size`): no per-layer unrolling. */
#define TG_GENERIC 1
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os")
#endif
#include "tg_fully_connected.h"

TG_GENERIC_FN int tg_fully_connected_s8(const tg_fc_params_t *p, const int8_t *in, int8_t *out,
                          void *scratch)
{
    tg_fully_connected_inline(p, in, out, scratch);
    return TG_OK;
}
