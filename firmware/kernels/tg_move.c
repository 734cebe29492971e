/* See tg_move.h. */
#include "tg_move.h"

/* GCC would turn the copy and fill loops into memcpy/memset calls, which freestanding builds
 * (-nostdlib) lack. */
#if defined(__GNUC__) && !defined(__clang__)
#define TG_NO_LIBC_CALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define TG_NO_LIBC_CALLS
#endif

TG_INLINE const int8_t *source_at(const tg_move_t *m, int k, const int8_t *base, int32_t i)
{
    return base + (m->src_map[k] != 0 ? m->src_map[k][i] : i * m->src_step[k]);
}

/* The innermost loop: runs of one element are the common case of a transpose, longer runs
 * of a slice or a resize. */
TG_NO_LIBC_CALLS static void move_line(const tg_move_t *m, const int8_t *src, int8_t *dst)
{
    const int32_t n = m->count[TG_MOVE_LOOPS - 1];
    const int32_t run = m->run;
    const int32_t dstep = m->dst_step[TG_MOVE_LOOPS - 1];
    int32_t i, b;
    for (i = 0; i < n; ++i) {
        const int8_t *s = source_at(m, TG_MOVE_LOOPS - 1, src, i);
        int8_t *d = dst + i * dstep;
        if (run == 1) {
            d[0] = s[0];
        } else if (run == 2) {
            d[0] = s[0];
            d[1] = s[1];
        } else {
            for (b = 0; b < run; ++b) {
                d[b] = s[b];
            }
        }
    }
}

void tg_move(const tg_move_t *m, const int8_t *src, int8_t *dst)
{
    int32_t i0, i1, i2, i3, i4;
    const int8_t *s0 = src + m->src;
    int8_t *d0 = dst + m->dst;
    for (i0 = 0; i0 < m->count[0]; ++i0) {
        const int8_t *s1 = source_at(m, 0, s0, i0);
        int8_t *d1 = d0 + i0 * m->dst_step[0];
        for (i1 = 0; i1 < m->count[1]; ++i1) {
            const int8_t *s2 = source_at(m, 1, s1, i1);
            int8_t *d2 = d1 + i1 * m->dst_step[1];
            for (i2 = 0; i2 < m->count[2]; ++i2) {
                const int8_t *s3 = source_at(m, 2, s2, i2);
                int8_t *d3 = d2 + i2 * m->dst_step[2];
                for (i3 = 0; i3 < m->count[3]; ++i3) {
                    const int8_t *s4 = source_at(m, 3, s3, i3);
                    int8_t *d4 = d3 + i3 * m->dst_step[3];
                    for (i4 = 0; i4 < m->count[4]; ++i4) {
                        move_line(m, source_at(m, 4, s4, i4), d4 + i4 * m->dst_step[4]);
                    }
                }
            }
        }
    }
}

TG_NO_LIBC_CALLS void tg_fill(int8_t *dst, int32_t count, int32_t value, int32_t elem)
{
    int32_t i;
    if (elem == 2) {
        int16_t *d = (int16_t *)(void *)dst;
        for (i = 0; i < count; ++i) {
            d[i] = (int16_t)value;
        }
    } else if (elem == 4) {
        int32_t *d = (int32_t *)(void *)dst;
        for (i = 0; i < count; ++i) {
            d[i] = value;
        }
    } else {
        for (i = 0; i < count; ++i) {
            dst[i] = (int8_t)value;
        }
    }
}
