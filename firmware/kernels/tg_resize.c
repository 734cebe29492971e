/* See tg_resize.h. */
#include "tg_resize.h"

/* int8: |value| <= 128 and the weights' absolute sum per axis is at most 2048, so the Q20 sum
 * stays below 2^29 and int32 arithmetic gives TFLite-Micro's int64 result exactly. */
void tg_resize_bilinear_s8(const tg_resize_bilinear_t *p, const int8_t *in, int8_t *out)
{
    int32_t b, y, x, c;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *batch = in + (size_t)b * p->in_batch;
        for (y = 0; y < p->out_h; ++y) {
            const int8_t *r0 = batch + p->rows[3 * y];
            const int8_t *r1 = batch + p->rows[3 * y + 1];
            const int32_t wy = p->rows[3 * y + 2];
            for (x = 0; x < p->out_w; ++x) {
                const int32_t c0 = p->cols[3 * x], c1 = p->cols[3 * x + 1];
                const int32_t wx = p->cols[3 * x + 2];
                const int32_t w00 = (1024 - wy) * (1024 - wx), w10 = wy * (1024 - wx);
                const int32_t w01 = (1024 - wy) * wx, w11 = wy * wx;
                for (c = 0; c < p->depth; ++c) {
                    const int32_t sum = r0[c0 + c] * w00 + r1[c0 + c] * w10 + r0[c1 + c] * w01 +
                                        r1[c1 + c] * w11;
                    *out++ = (int8_t)((sum + (sum > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20));
                }
            }
        }
    }
}
