/* Integer SVDF (see tg_svdf.h). The state is int16 or int8; p->state16 says which. */
#include "tg_svdf.h"

/* uint32 -> int32 two's complement, without implementation-defined conversion. */
static int32_t tg_wrap32(uint32_t v)
{
    return v <= 0x7FFFFFFFu ? (int32_t)v : -(int32_t)(~v) - 1;
}

static int32_t tg_svdf_get(const tg_svdf_params_t *p, const void *a, int32_t i)
{
    return p->state16 ? ((const int16_t *)a)[i] : ((const int8_t *)a)[i];
}

static void tg_svdf_put(const tg_svdf_params_t *p, void *a, int32_t i, int32_t v)
{
    if (p->state16) {
        ((int16_t *)a)[i] = (int16_t)(v < -32768 ? -32768 : (v > 32767 ? 32767 : v));
    } else {
        ((int8_t *)a)[i] = (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
    }
}

int tg_svdf(const tg_svdf_params_t *p, const int8_t *in, void *state, int8_t *out)
{
    const int32_t total = p->batches * p->n_filter * p->n_memory;
    const int32_t n_unit = p->n_filter / p->rank;
    int32_t i, b, f, k, u, r;
    for (i = 0; i + 1 < total; ++i) {          /* shift the whole state left by one */
        tg_svdf_put(p, state, i, tg_svdf_get(p, state, i + 1));
    }
    for (b = 0; b < p->batches; ++b) {         /* feature matmul: the newest column */
        const int8_t *x = in + b * p->n_in;
        for (f = 0; f < p->n_filter; ++f) {
            const int8_t *w = p->w_feature + f * p->n_in;
            int32_t acc = 0;
            for (k = 0; k < p->n_in; ++k) {
                acc += (int32_t)w[k] * (x[k] - p->in_zp);
            }
            acc = tg_requantize(acc, p->mult1, p->shift1) + p->state_zp;
            tg_svdf_put(p, state, (b * p->n_filter + f) * p->n_memory + p->n_memory - 1, acc);
        }
    }
    for (b = 0; b < p->batches; ++b) {         /* time dot products, reduced per unit */
        for (u = 0; u < n_unit; ++u) {
            /* int32 sums that wrap on overflow, as TFLite-Micro's do in practice (an int16
             * state times int16 time weights can exceed int32 on extreme inputs) */
            uint32_t acc = p->has_bias ? (uint32_t)p->bias[u] : 0u;
            for (r = 0; r < p->rank; ++r) {
                const int32_t f0 = u * p->rank + r;
                const int32_t s0 = (b * p->n_filter + f0) * p->n_memory;
                for (k = 0; k < p->n_memory; ++k) {
                    acc += (uint32_t)(tg_svdf_get(p, p->w_time, f0 * p->n_memory + k) *
                                      (tg_svdf_get(p, state, s0 + k) - p->state_zp));
                }
            }
            out[b * n_unit + u] = tg_clamp_s8(
                tg_requantize(tg_wrap32(acc), p->mult2, p->shift2) + p->out_zp, -128, 127);
        }
    }
    return TG_OK;
}
