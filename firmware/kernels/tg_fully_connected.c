#include "tg_fully_connected.h"
#include "tg_conv.h"

int tg_fully_connected_s8(const tg_fc_params_t *p, const int8_t *in, int8_t *out)
{
    int32_t b, o;
    for (b = 0; b < p->batches; ++b, in += p->in_depth) {
        const int8_t *w = p->weights;
        for (o = 0; o < p->out_depth; ++o, w += p->in_depth) {
            int32_t acc = p->bias_folded[o] + tg_dot_s8(in, w, p->in_depth);
            *out++ = tg_clamp_s8(tg_requantize(acc, p->mult[o], p->shift[o]) + p->out_offset,
                                 p->act_min, p->act_max);
        }
    }
    return TG_OK;
}
