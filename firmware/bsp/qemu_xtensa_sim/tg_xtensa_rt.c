/* The few run-time routines clang may call on the Xtensa twin. No C library or compiler runtime
 * for the windowed ABI exists in Debian (gcc-xtensa-lx106's libgcc is call0 ABI), so they are
 * here, in plain C, written so that clang cannot turn them back into calls to themselves
 * (-ffreestanding keeps the byte loops loops; checked in the generated .s). The 64-bit product
 * is built from 16-bit halves with 32-bit MULL only: the twin's core has no MULSH/MULUH. */
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
int64_t __muldi3(int64_t a, int64_t b);

void *memcpy(void *dst, const void *src, size_t n)
{
    uint8_t *d = (uint8_t *)dst;
    const uint8_t *s = (const uint8_t *)src;
    while (n--) {
        *d++ = *s++;
    }
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    uint8_t *d = (uint8_t *)dst;
    const uint8_t *s = (const uint8_t *)src;
    if (d < s) {
        while (n--) {
            *d++ = *s++;
        }
    } else {
        while (n--) {
            d[n] = s[n];
        }
    }
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    uint8_t *d = (uint8_t *)dst;
    while (n--) {
        *d++ = (uint8_t)c;
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = (const uint8_t *)a;
    const uint8_t *y = (const uint8_t *)b;
    size_t i;
    for (i = 0; i < n; ++i) {
        if (x[i] != y[i]) {
            return x[i] < y[i] ? -1 : 1;
        }
    }
    return 0;
}

/* High 32 bits of the unsigned 64-bit product a * b, from four 16 x 16 -> 32 products. clang
 * recognises this schoolbook form as a 64-bit multiply and would call __muldi3 for it: the empty
 * asm hides the upper halves' origin from it. */
static uint32_t tg_mulhu32(uint32_t a, uint32_t b)
{
    uint32_t a1 = a >> 16, b1 = b >> 16;
    const uint32_t a0 = a & 0xFFFFu, b0 = b & 0xFFFFu;
    __asm__("" : "+r"(a1), "+r"(b1));
    const uint32_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0;
    const uint32_t mid = (p00 >> 16) + (p01 & 0xFFFFu) + (p10 & 0xFFFFu);
    return a1 * b1 + (p01 >> 16) + (p10 >> 16) + (mid >> 16);
}

/* Low 64 bits of a * b (two's complement: the same bits signed or unsigned). */
int64_t __muldi3(int64_t a, int64_t b)
{
    const uint32_t al = (uint32_t)(uint64_t)a, ah = (uint32_t)((uint64_t)a >> 32);
    const uint32_t bl = (uint32_t)(uint64_t)b, bh = (uint32_t)((uint64_t)b >> 32);
    const uint32_t hi = tg_mulhu32(al, bl) + al * bh + ah * bl;
    return (int64_t)(((uint64_t)hi << 32) | (uint64_t)(al * bl));
}
