/* See tg_pool.h. */
#include "tg_pool.h"

typedef struct {
    int32_t start, end; /* window taps [start, end) that fall inside the input */
    int32_t origin;     /* input coordinate of tap 0 */
} tg_span_t;

static tg_span_t window_span(int32_t out_pos, int32_t stride, int32_t pad, int32_t filter,
                             int32_t in_size)
{
    tg_span_t s;
    s.origin = out_pos * stride - pad;
    s.start = s.origin < 0 ? -s.origin : 0;
    s.end = in_size - s.origin < filter ? in_size - s.origin : filter;
    return s;
}

/* Running max of one output position's C channels, kept in the output itself: taps are visited
 * in increasing input order, the first one is copied, later ones are max-ed in. In place this is
 * safe because tinygen only allows it when every tap of output p lies at input position >= p (so
 * the only tap that can share bytes with the output is the first, read before any write). */
#if defined(__GNUC__) && defined(__ARM_FEATURE_DSP) && !defined(TG_NO_DSP)
#define TG_POOL_DSP 1
TG_INLINE uint32_t pool_ld32(const int8_t *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4); /* unaligned LDR is legal on ARMv7E-M */
    return v;
}

TG_INLINE void pool_st32(int8_t *p, uint32_t v)
{
    __builtin_memcpy(p, &v, 4);
}

/* Four signed byte lanes: SSUB8 sets GE where a >= b, SEL picks a there, b elsewhere. */
TG_INLINE uint32_t max4_s8(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(r) : "r"(a), "r"(b) : "cc");
    return r;
}

TG_INLINE uint32_t min4_s8(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %2, %1" : "=&r"(r) : "r"(a), "r"(b) : "cc");
    return r;
}
#else
#define TG_POOL_DSP 0
#endif

TG_INLINE void row_copy(int8_t *o, const int8_t *x, int32_t n)
{
    int32_t c = 0;
    if (o == x) {
        return;
    }
#if TG_POOL_DSP
    for (; c + 4 <= n; c += 4) {
        pool_st32(o + c, pool_ld32(x + c));
    }
#endif
    for (; c < n; ++c) {
        o[c] = x[c];
    }
}

TG_INLINE void row_max(int8_t *o, const int8_t *x, int32_t n)
{
    int32_t c = 0;
#if TG_POOL_DSP
    for (; c + 4 <= n; c += 4) {
        pool_st32(o + c, max4_s8(pool_ld32(o + c), pool_ld32(x + c)));
    }
#endif
    for (; c < n; ++c) {
        o[c] = x[c] > o[c] ? x[c] : o[c];
    }
}

TG_INLINE void row_clamp(int8_t *o, int32_t n, int32_t lo, int32_t hi)
{
    int32_t c = 0;
#if TG_POOL_DSP
    const uint32_t lo4 = 0x01010101u * (uint8_t)lo;
    const uint32_t hi4 = 0x01010101u * (uint8_t)hi;
    for (; c + 4 <= n; c += 4) {
        pool_st32(o + c, min4_s8(max4_s8(pool_ld32(o + c), lo4), hi4));
    }
#endif
    for (; c < n; ++c) {
        o[c] = tg_clamp_s8(o[c], lo, hi);
    }
}

int tg_maxpool_s8(const tg_pool_params_t *p, const int8_t *in, int8_t *out)
{
    const int32_t C = p->channels;
    const int32_t row = p->in_w * C;
    const int clamp = p->act_min > -128 || p->act_max < 127;
    int32_t b, oy, ox, fy, fx;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_b = in + (size_t)b * p->in_h * row;
        for (oy = 0; oy < p->out_h; ++oy) {
            const tg_span_t sy = window_span(oy, p->stride_h, p->pad_top, p->filter_h, p->in_h);
            if (sy.start >= sy.end) {
                return TG_ERROR;
            }
            for (ox = 0; ox < p->out_w; ++ox) {
                const tg_span_t sx = window_span(ox, p->stride_w, p->pad_left, p->filter_w, p->in_w);
                const int8_t *x = in_b + (sy.origin + sy.start) * row + (sx.origin + sx.start) * C;
                const int32_t taps_x = sx.end - sx.start;
                if (taps_x <= 0) {
                    return TG_ERROR;
                }
                row_copy(out, x, C);
                for (fy = sy.start; fy < sy.end; ++fy, x += row) {
                    for (fx = (fy == sy.start) ? 1 : 0; fx < taps_x; ++fx) {
                        row_max(out, x + fx * C, C);
                    }
                }
                if (clamp) {
                    row_clamp(out, C, p->act_min, p->act_max);
                }
                out += C;
            }
        }
    }
    return TG_OK;
}

/* Round half away from zero of acc / n, as TFLite-Micro's AveragePool. With a reciprocal,
 * floor(mag / n) = floor(2 * mag * mult / 2^(32 + ell)): one UMULL (high word) and one shift. */
TG_INLINE int32_t rounded_mean(int32_t acc, int32_t n, uint32_t mult, int ell, int exact)
{
    const uint32_t mag = (uint32_t)(acc > 0 ? acc : -acc) + (uint32_t)(n / 2);
    uint32_t q;
    if (exact) {
        q = (uint32_t)(((uint64_t)(mag << 1) * mult) >> 32) >> ell;
    } else {
        q = mag / (uint32_t)n;
    }
    return acc > 0 ? (int32_t)q : -(int32_t)q;
}


int tg_avgpool_s8(const tg_pool_params_t *p, const int8_t *in, int8_t *out)
{
    const int32_t C = p->channels;
    const int32_t row = p->in_w * C;
    const int32_t lo = p->act_min, hi = p->act_max; /* locals: int8 stores may alias *p */
    int32_t b, oy, ox, c, fy, fx;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_b = in + (size_t)b * p->in_h * row;
        for (oy = 0; oy < p->out_h; ++oy) {
            const tg_span_t sy = window_span(oy, p->stride_h, p->pad_top, p->filter_h, p->in_h);
            for (ox = 0; ox < p->out_w; ++ox) {
                const tg_span_t sx = window_span(ox, p->stride_w, p->pad_left, p->filter_w, p->in_w);
                const int32_t n = (sy.end - sy.start) * (sx.end - sx.start);
                uint32_t mult = 0;
                int ell = 0;
                int exact = 0;
                if (p->recip_mult != NULL && n >= p->count_min && n <= p->count_max) {
                    mult = p->recip_mult[n - p->count_min];
                    ell = p->recip_shift[n - p->count_min];
                    exact = mult != 0u;
                }
                if (sy.start >= sy.end || sx.start >= sx.end) {
                    return TG_ERROR;
                }
                /* Four channels at a time, sums in registers; each output's taps are all read
                 * before it is written (in-place safety). */
                const int8_t *base = in_b + (sy.origin + sy.start) * row + (sx.origin + sx.start) * C;
                const int32_t tx = sx.end - sx.start, ty = sy.end - sy.start;
                for (c = 0; c + 4 <= C; c += 4) {
                    const int8_t *r0 = base + c;
                    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                    for (fy = 0; fy < ty; ++fy, r0 += row) {
                        const int8_t *r = r0;
                        for (fx = 0; fx < tx; ++fx, r += C) {
                            a0 += r[0];
                            a1 += r[1];
                            a2 += r[2];
                            a3 += r[3];
                        }
                    }
                    out[0] = tg_clamp_s8(rounded_mean(a0, n, mult, ell, exact), lo, hi);
                    out[1] = tg_clamp_s8(rounded_mean(a1, n, mult, ell, exact), lo, hi);
                    out[2] = tg_clamp_s8(rounded_mean(a2, n, mult, ell, exact), lo, hi);
                    out[3] = tg_clamp_s8(rounded_mean(a3, n, mult, ell, exact), lo, hi);
                    out += 4;
                }
                for (; c < C; ++c) {
                    const int8_t *r0 = base + c;
                    int32_t acc = 0;
                    for (fy = 0; fy < ty; ++fy, r0 += row) {
                        const int8_t *r = r0;
                        for (fx = 0; fx < tx; ++fx, r += C) {
                            acc += *r;
                        }
                    }
                    *out++ = tg_clamp_s8(rounded_mean(acc, n, mult, ell, exact), lo, hi);
                }
            }
        }
    }
    return TG_OK;
}

/* int16: one output position at a time, channel by channel (the in-place rule above holds: an
 * output is written after every tap it reads, and later outputs read no earlier position). */
typedef struct {
    tg_span_t sy, sx;
    const int16_t *base; /* first tap */
    int32_t row;         /* elements between input rows */
} tg_window16_t;

static int window16(const tg_pool_params_t *p, const int16_t *in_b, int32_t oy, int32_t ox,
                    tg_window16_t *w)
{
    w->sy = window_span(oy, p->stride_h, p->pad_top, p->filter_h, p->in_h);
    w->sx = window_span(ox, p->stride_w, p->pad_left, p->filter_w, p->in_w);
    if (w->sy.start >= w->sy.end || w->sx.start >= w->sx.end) {
        return TG_ERROR;
    }
    w->row = p->in_w * p->channels;
    w->base = in_b + (w->sy.origin + w->sy.start) * w->row + (w->sx.origin + w->sx.start) * p->channels;
    return TG_OK;
}

TG_INLINE int16_t tg_clamp_s16v(int32_t v, int32_t lo, int32_t hi)
{
    return (int16_t)(v < lo ? lo : (v > hi ? hi : v));
}

/* One output position, every channel. */
typedef void (*tg_pool16_fn)(const tg_pool_params_t *p, const tg_window16_t *w, int16_t *out);

static int pool16(const tg_pool_params_t *p, const int16_t *in, int16_t *out, tg_pool16_fn at)
{
    int32_t b, oy, ox;
    for (b = 0; b < p->batches; ++b) {
        const int16_t *in_b = in + (size_t)b * p->in_h * p->in_w * p->channels;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                tg_window16_t w;
                if (window16(p, in_b, oy, ox, &w) != TG_OK) {
                    return TG_ERROR;
                }
                at(p, &w, out);
                out += p->channels;
            }
        }
    }
    return TG_OK;
}

static void max16_at(const tg_pool_params_t *p, const tg_window16_t *w, int16_t *out)
{
    const int32_t C = p->channels;
    int32_t c, fy, fx;
    for (c = 0; c < C; ++c) {
        int32_t m = -32768;
        for (fy = 0; fy < w->sy.end - w->sy.start; ++fy) {
            const int16_t *r = w->base + fy * w->row + c;
            for (fx = 0; fx < w->sx.end - w->sx.start; ++fx) {
                m = r[fx * C] > m ? r[fx * C] : m;
            }
        }
        out[c] = tg_clamp_s16v(m, p->act_min, p->act_max);
    }
}

static void avg16_at(const tg_pool_params_t *p, const tg_window16_t *w, int16_t *out)
{
    const int32_t C = p->channels;
    const int32_t n = (w->sy.end - w->sy.start) * (w->sx.end - w->sx.start);
    int32_t c, fy, fx;
    uint32_t mult = 0;
    int ell = 0, exact = 0;
    if (p->recip_mult != NULL && n >= p->count_min && n <= p->count_max) {
        mult = p->recip_mult[n - p->count_min];
        ell = p->recip_shift[n - p->count_min];
        exact = mult != 0u;
    }
    for (c = 0; c < C; ++c) {
        int32_t acc = 0;
        for (fy = 0; fy < w->sy.end - w->sy.start; ++fy) {
            const int16_t *r = w->base + fy * w->row + c;
            for (fx = 0; fx < w->sx.end - w->sx.start; ++fx) {
                acc += r[fx * C];
            }
        }
        out[c] = tg_clamp_s16v(rounded_mean(acc, n, mult, ell, exact), p->act_min, p->act_max);
    }
}

int tg_maxpool_s16(const tg_pool_params_t *p, const int16_t *in, int16_t *out)
{
    return pool16(p, in, out, max16_at);
}

int tg_avgpool_s16(const tg_pool_params_t *p, const int16_t *in, int16_t *out)
{
    return pool16(p, in, out, avg16_at);
}
