/* MAX_POOL_2D and AVERAGE_POOL_2D, int8 and int16 NHWC, bit-exact with TFLite-Micro's reference integer
 * pooling (integer_ops/pooling.h): windows clipped at the borders, the average rounded half away
 * from zero over the taps that exist, then clamped to the fused activation range. */
#ifndef TG_POOL_H
#define TG_POOL_H

#include "tg_runtime.h"

typedef struct {
    int32_t batches, in_h, in_w, channels, out_h, out_w;
    int32_t filter_h, filter_w, stride_h, stride_w, pad_top, pad_left;
    int32_t act_min, act_max;
    /* Average pool only. Exact division by the tap count n without a divide instruction:
     * with m = recip_mult[n - count_min] and ell = recip_shift[n - count_min],
     * floor(v / n) == ((2v * m) >> 32) >> ell for every 0 <= v < 2^31 (Granlund-Montgomery,
     * m = floor(2^(31+ell) / n) + 1, ell = ceil(log2 n); tinygen tabulates the counts that occur).
     * recip_mult == NULL: fall back to integer division. */
    int32_t count_min, count_max;
    const uint32_t *recip_mult;
    const uint8_t *recip_shift;
} tg_pool_params_t;

/* `out` may equal `in` when tinygen has checked that no output overwrites an input still to be
 * read (true for VALID pooling). */
int tg_maxpool_s8(const tg_pool_params_t *p, const int8_t *in, int8_t *out);
int tg_avgpool_s8(const tg_pool_params_t *p, const int8_t *in, int8_t *out);

/* The same on int16 activations (16x8 models): TFLite-Micro's int16 MaxPool / AveragePool. */
int tg_maxpool_s16(const tg_pool_params_t *p, const int16_t *in, int16_t *out);
int tg_avgpool_s16(const tg_pool_params_t *p, const int16_t *in, int16_t *out);

#endif
