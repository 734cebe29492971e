/* Board support for the QEMU RISC-V virt twin of the ESP32-C3 (rv32imc).
 * ns16550a UART at 0x10000000; exit through the SiFive test device at 0x100000.
 * The RISC-V toolchain here has no libc, so the few routines GCC may call are defined below. */
#include <stddef.h>
#include <stdint.h>

#include "tg_bsp.h"

#define UART_BASE 0x10000000u
#define UART_RBR (*(volatile uint8_t *)(UART_BASE + 0u))
#define UART_THR (*(volatile uint8_t *)(UART_BASE + 0u))
#define UART_LSR (*(volatile uint8_t *)(UART_BASE + 5u))
#define UART_LSR_DR 0x01u
#define UART_LSR_THRE 0x20u
#define TEST_DEVICE (*(volatile uint32_t *)0x00100000u)

#ifndef TG_BSP_CPU_HZ
#define TG_BSP_CPU_HZ 160000000u /* the ESP32-C3's clock; the twin's counter counts instructions */
#endif

/* Keep GCC from turning the loops below back into calls to themselves. */
#if defined(__GNUC__) && !defined(__clang__)
#define TG_NO_LIBCALL __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define TG_NO_LIBCALL
#endif

extern int main(void);
void tg_riscv_main(void);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void tg_riscv_main(void)
{
    bsp_exit(main());
}

void bsp_init(void)
{
}

void bsp_uart_write(const uint8_t *buf, uint32_t len)
{
    uint32_t i;
    for (i = 0; i < len; ++i) {
        while (!(UART_LSR & UART_LSR_THRE)) {
        }
        UART_THR = buf[i];
    }
}

int bsp_uart_read_byte(void)
{
    while (!(UART_LSR & UART_LSR_DR)) {
    }
    return (int)UART_RBR;
}

uint32_t bsp_cycles(void)
{
    uint32_t c;
    /* csrr %0, cycle, spelled as .insn so plain rv32imc (no zicsr) assembles it */
    __asm__ volatile(".insn i 0x73, 2, %0, x0, -1024" : "=r"(c));
    return c;
}

uint32_t bsp_cpu_hz(void)
{
    return TG_BSP_CPU_HZ;
}

void bsp_exit(int code)
{
    /* 0x5555 = pass; (code << 16) | 0x3333 = fail with code. */
    TEST_DEVICE = (code == 0) ? 0x5555u : (((uint32_t)code << 16) | 0x3333u);
    for (;;) {
    }
}

TG_NO_LIBCALL void *memcpy(void *dst, const void *src, size_t n)
{
    uint8_t *d = (uint8_t *)dst;
    const uint8_t *s = (const uint8_t *)src;
    while (n--) {
        *d++ = *s++;
    }
    return dst;
}

TG_NO_LIBCALL void *memmove(void *dst, const void *src, size_t n)
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

TG_NO_LIBCALL void *memset(void *dst, int c, size_t n)
{
    uint8_t *d = (uint8_t *)dst;
    while (n--) {
        *d++ = (uint8_t)c;
    }
    return dst;
}

TG_NO_LIBCALL int memcmp(const void *a, const void *b, size_t n)
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
