/* Fully connected: the generic entry point (run-time parameters). See tg_fully_connected.h. */
#include "tg_fully_connected.h"

int tg_fully_connected_s8(const tg_fc_params_t *p, const int8_t *in, int8_t *out,
                          void *scratch)
{
    tg_fully_connected_inline(p, in, out, scratch);
    return TG_OK;
}
