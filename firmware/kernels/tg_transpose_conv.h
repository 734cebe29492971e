/* TRANSPOSE_CONV, int8 and 16x8, as TFLite-Micro's reference_integer_ops::TransposeConv.
 *
 * TFLite-Micro scatters every input pixel over the output through a zeroed int32/int64 scratch
 * buffer, then requantises. Integer sums do not depend on their order, so this kernel gathers
 * instead: output (oy, ox, oc) sums in[iy][ix][ic] * w[oc][fy][fx][ic] over the taps with
 * oy = iy * stride_h - pad_top + fy (likewise x). No scratch, the same sums, bit for bit.
 * int8: (x + in_offset) * w in int32, MultiplyByQuantizedMultiplier + out_offset.
 * int16: x * w in int64, requantised by tg_rq16 (tg_conv16.h); weights in its run layout. */
#ifndef TG_TRANSPOSE_CONV_H
#define TG_TRANSPOSE_CONV_H

#include "tg_runtime.h"
#include "tg_conv16.h"

typedef struct {
    int32_t in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
    int32_t stride_h, stride_w, pad_top, pad_left;
    int32_t in_offset, out_offset, act_min, act_max, acc64, has_bias;
    const int8_t *weights;    /* [OC][KH][KW][IC] (int16: each IC run in tg_conv16.h's layout) */
    const int64_t *bias;      /* [OC] */
    const int32_t *mult;      /* [OC] */
    const int32_t *shift;     /* [OC] */
    const int32_t *shape;     /* [4]: the only output_shape the model can be given */
} tg_tconv_params_t;

/* First tap f >= 0 with (o + pad - f) divisible by stride, and the input index it reads. */
TG_INLINE int32_t tg_tconv_first(int32_t o, int32_t pad, int32_t stride)
{
    return (o + pad) % stride;
}

TG_INLINE void tg_tconv_s8_inline(const tg_tconv_params_t *p, const int8_t *in, int8_t *out)
{
    int32_t oy, ox, oc, fy, fx, ic;
    for (oy = 0; oy < p->out_h; ++oy) {
        for (ox = 0; ox < p->out_w; ++ox) {
            for (oc = 0; oc < p->out_c; ++oc) {
                int32_t acc = p->has_bias ? (int32_t)p->bias[oc] : 0;
                for (fy = tg_tconv_first(oy, p->pad_top, p->stride_h); fy < p->k_h; fy += p->stride_h) {
                    const int32_t iy = (oy + p->pad_top - fy) / p->stride_h;
                    if (iy < 0 || iy >= p->in_h) {
                        continue;
                    }
                    for (fx = tg_tconv_first(ox, p->pad_left, p->stride_w); fx < p->k_w; fx += p->stride_w) {
                        const int32_t ix = (ox + p->pad_left - fx) / p->stride_w;
                        const int8_t *x, *w;
                        if (ix < 0 || ix >= p->in_w) {
                            continue;
                        }
                        x = in + (iy * p->in_w + ix) * p->in_c;
                        w = p->weights + ((oc * p->k_h + fy) * p->k_w + fx) * p->in_c;
                        for (ic = 0; ic < p->in_c; ++ic) {
                            acc += (x[ic] + p->in_offset) * w[ic];
                        }
                    }
                }
                acc = tg_requantize(acc, p->mult[oc], p->shift[oc]) + p->out_offset;
                *out++ = tg_clamp_s8(acc, p->act_min, p->act_max);
            }
        }
    }
}

TG_INLINE void tg_tconv_s16_inline(const tg_tconv_params_t *p, const int16_t *in, int16_t *out)
{
    int32_t oy, ox, oc, fy, fx;
    for (oy = 0; oy < p->out_h; ++oy) {
        for (ox = 0; ox < p->out_w; ++ox) {
            for (oc = 0; oc < p->out_c; ++oc) {
                int64_t acc = p->has_bias ? p->bias[oc] : 0;
                for (fy = tg_tconv_first(oy, p->pad_top, p->stride_h); fy < p->k_h; fy += p->stride_h) {
                    const int32_t iy = (oy + p->pad_top - fy) / p->stride_h;
                    if (iy < 0 || iy >= p->in_h) {
                        continue;
                    }
                    for (fx = tg_tconv_first(ox, p->pad_left, p->stride_w); fx < p->k_w; fx += p->stride_w) {
                        const int32_t ix = (ox + p->pad_left - fx) / p->stride_w;
                        if (ix < 0 || ix >= p->in_w) {
                            continue;
                        }
                        acc = tg_dot16(in + (iy * p->in_w + ix) * p->in_c,
                                       p->weights + ((oc * p->k_h + fy) * p->k_w + fx) * p->in_c,
                                       p->in_c, acc);
                    }
                }
                *out++ = tg_rq16(acc, p->acc64, p->mult[oc], p->shift[oc], p->act_min, p->act_max);
            }
        }
    }
}

/* The output_shape input: TFLite-Micro ignores it (no dynamic tensors); a static model has one
 * output shape, so any other value is refused rather than silently ignored. */
TG_INLINE int tg_tconv_shape_ok(const tg_tconv_params_t *p, const int32_t *shape)
{
    int32_t i;
    for (i = 0; i < 4; ++i) {
        if (shape[i] != p->shape[i]) {
            return 0;
        }
    }
    return 1;
}

int tg_tconv_s8(const tg_tconv_params_t *p, const int8_t *in, int8_t *out);
int tg_tconv_s16(const tg_tconv_params_t *p, const int16_t *in, int16_t *out);

#endif
