/* tinygen runtime: the fixed-point primitives every kernel shares.
 *
 * These reproduce TFLite-Micro's reference integer arithmetic exactly
 * (tensorflow/lite/kernels/internal/common.h, gemmlowp's fixedpoint.h): the same rounding,
 * the same saturation. Multipliers and shifts are computed offline by tinygen (tinygen/quant.py).
 * C99, header-only, freestanding: only <stdint.h> and <stddef.h> (RISC-V builds have no libc). */
#ifndef TG_RUNTIME_H
#define TG_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#define TG_OK 0
#define TG_ERROR 1

#if defined(__GNUC__)
#define TG_INLINE static inline __attribute__((always_inline))
#define TG_LIKELY(x) __builtin_expect(!!(x), 1)
#else
#define TG_INLINE static inline
#define TG_LIKELY(x) (x)
#endif

/* Byte copy without libc (freestanding targets have no memcpy of their own). */
TG_INLINE void tg_copy_bytes(int8_t *dst, const int8_t *src, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) {
        dst[i] = src[i];
    }
}

/* Set n bytes to `value` (the recurrent state's reset; freestanding targets have no memset). */
TG_INLINE void tg_fill_bytes(int8_t *dst, int value, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) {
        dst[i] = (int8_t)value;
    }
}

/* tg_copy_bytes for buffers that do not overlap (the model's input/output copies): a word at a
 * time where the core reads and writes unaligned words (ARMv7-M: __ARM_FEATURE_UNALIGNED). */
TG_INLINE void tg_copy_bytes_fast(int8_t *dst, const int8_t *src, size_t n)
{
    size_t i = 0;
#if defined(__GNUC__) && defined(__ARM_FEATURE_UNALIGNED)
    for (; i + 4 <= n; i += 4) {
        uint32_t v;
        __builtin_memcpy(&v, src + i, 4);
        __builtin_memcpy(dst + i, &v, 4);
    }
#endif
    for (; i < n; ++i) {
        dst[i] = src[i];
    }
}


TG_INLINE int8_t tg_clamp_s8(int32_t x, int32_t lo, int32_t hi)
{
    return (int8_t)(x < lo ? lo : (x > hi ? hi : x));
}

/* gemmlowp SaturatingRoundingDoublingHighMul. */
TG_INLINE int32_t tg_srdhm(int32_t a, int32_t b)
{
    int64_t ab;
    int32_t nudge;
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    ab = (int64_t)a * (int64_t)b;
    nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31)); /* C division truncates toward zero */
}

/* gemmlowp RoundingDivideByPOT: round to nearest, ties away from zero. */
TG_INLINE int32_t tg_rdbpot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((uint32_t)1 << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite MultiplyByQuantizedMultiplier (double rounding, as TFLite-Micro builds it). */
TG_INLINE int32_t tg_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int left = shift > 0 ? (int)shift : 0;
    const int right = shift > 0 ? 0 : (int)-shift;
    return tg_rdbpot(tg_srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

/* MultiplyByQuantizedMultiplierGreaterThanOne (left_shift >= 0). */
TG_INLINE int32_t tg_requantize_lshift(int32_t x, int32_t multiplier, int32_t left_shift)
{
    return tg_srdhm((int32_t)((uint32_t)x << left_shift), multiplier);
}

/* Window taps along one axis (conv and depthwise): a window starting at `origin` with `taps`
 * taps `dil` apart over an axis of `size` has taps [tg_first_tap, tg_end_tap) inside it. */
TG_INLINE int32_t tg_first_tap(int32_t origin, int32_t dil, int32_t taps)
{
    int32_t k = origin < 0 ? (-origin + dil - 1) / dil : 0;
    return k < taps ? k : taps;
}

TG_INLINE int32_t tg_end_tap(int32_t origin, int32_t dil, int32_t taps, int32_t size)
{
    int32_t room = size - origin;
    int32_t k = room > 0 ? (room + dil - 1) / dil : 0;
    return k < taps ? k : taps;
}

#endif
