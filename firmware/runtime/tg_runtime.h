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

/* The exact signed 32x32 -> 64-bit product. ARMv6-M (Cortex-M0/M0+) has no SMULL: GCC calls
 * libgcc's 64x64 __aeabi_lmul there (~40 instructions a call, measured 6-21 % of a network on
 * the M0 twin). Four 16x16 partial products, which fit 32 bits, and 64-bit adds do it inline:
 * a = ah 2^16 + al, b = bh 2^16 + bl (ah, bh signed; al, bl in [0, 2^16)), so
 * a b = ah bh 2^32 + (ah bl + al bh) 2^16 + al bl, summed modulo 2^64 (the product fits int64). */
TG_INLINE int64_t tg_smull(int32_t a, int32_t b)
{
#if defined(__ARM_ARCH_6M__)
    const uint32_t al = (uint32_t)a & 0xFFFFu, bl = (uint32_t)b & 0xFFFFu;
    const int32_t ah = a >> 16, bh = b >> 16;
    const int32_t hl = ah * (int32_t)bl, lh = (int32_t)al * bh;
    uint32_t lo = al * bl, t;
    int32_t hi = ah * bh;
    /* each middle product: its low half into the low word (with the carry), its high half
     * (arithmetic shift: its sign) into the high word */
    t = (uint32_t)hl << 16;
    lo += t;
    hi += (hl >> 16) + (int32_t)(lo < t);
    t = (uint32_t)lh << 16;
    lo += t;
    hi += (lh >> 16) + (int32_t)(lo < t);
    return (int64_t)(((uint64_t)(uint32_t)hi << 32) | lo);
#else
    return (int64_t)a * b;
#endif
}

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
    ab = tg_smull(a, b);
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
