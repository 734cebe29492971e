/* SUM, REDUCE_MAX, REDUCE_MIN, ARG_MAX and ARG_MIN, bit-exact with TFLite-Micro
 * (reduce_common.cc, reference_ops::QuantizedMeanOrSum / ReduceGeneric, arg_min_max.cc).
 * REDUCE_MAX / REDUCE_MIN exist for int16 here, but tinygen emits them for int8 only (TFLite-Micro
 * refuses int16 there).
 * The reduction walks the input once in memory order; tinygen collapses the shape into 5 loops
 * (outermost first) and gives each loop its output stride (0 along a reduced axis), so the
 * output element is found by additions, never by a division. */
#ifndef TG_REDUCE_H
#define TG_REDUCE_H

#include "tg_runtime.h"

typedef struct {
    int32_t shape[5], out_stride[5];
    int32_t out_size;       /* output elements */
    int32_t count;          /* input elements reduced into each output (SUM) */
    int32_t in_zp, out_zp, mult, shift;   /* SUM's requantization */
    int32_t is_max;         /* REDUCE_MAX (1) or REDUCE_MIN (0) */
} tg_reduce_params_t;

/* SUM: `acc` is out_size int32 of scratch. */
int tg_reduce_sum_s8(const tg_reduce_params_t *p, const int8_t *in, int8_t *out, int32_t *acc);
int tg_reduce_sum_s16(const tg_reduce_params_t *p, const int16_t *in, int16_t *out, int32_t *acc);
int tg_reduce_minmax_s8(const tg_reduce_params_t *p, const int8_t *in, int8_t *out);
int tg_reduce_minmax_s16(const tg_reduce_params_t *p, const int16_t *in, int16_t *out);

typedef struct {
    int32_t outer, axis, inner;   /* input = outer x axis x inner, reduced along `axis` */
    int32_t is_max;               /* ARG_MAX (1) or ARG_MIN (0) */
} tg_arg_params_t;

/* int32 indices: TFLite-Micro's ARG_MAX / ARG_MIN refuse an int64 output at run time. */
#define TG_ARG_DECLARE(NAME, TI, TO) int NAME(const tg_arg_params_t *p, const TI *in, TO *out);
TG_ARG_DECLARE(tg_arg_s8_s32, int8_t, int32_t)
TG_ARG_DECLARE(tg_arg_u8_s32, uint8_t, int32_t)
TG_ARG_DECLARE(tg_arg_s16_s32, int16_t, int32_t)
TG_ARG_DECLARE(tg_arg_s32_s32, int32_t, int32_t)
TG_ARG_DECLARE(tg_arg_f32_s32, float, int32_t)

#endif
