/* Raspberry Pi Pico (RP2040) board support: core 0 at 125 MHz, UART0 on GP0 (TX) / GP1 (RX), the
 * pins the Raspberry Pi Debug Probe (or a picoprobe) bridges to USB. Register-level (RP2040
 * datasheet), no Pico SDK. Core 1 stays asleep in the boot ROM.
 *
 * Clock: the 12 MHz crystal (XOSC) drives clk_ref; PLL_SYS: REFDIV 1, FBDIV 125 -> 1500 MHz VCO,
 * POSTDIV 6 x 2 -> 125 MHz, the Pico SDK's default and within the 133 MHz rating; clk_sys from
 * PLL_SYS, clk_peri (UART) from clk_sys. Cycles: the RP2040's M0+ has no DWT counter, so
 * bsp_cycles() scales the 1 MHz TIMER (ticked by the watchdog from clk_ref) to core cycles:
 * 125 cycles per microsecond, exact to a microsecond. C99, no libc I/O. */
#include <stdint.h>

#include "tg_bsp.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define SET(addr) REG((addr) + 0x2000u) /* atomic set alias */
#define CLR(addr) REG((addr) + 0x3000u) /* atomic clear alias */

#define RESETS_BASE 0x4000C000u
#define RESETS_RESET (RESETS_BASE + 0x0u)
#define RESETS_DONE REG(RESETS_BASE + 0x8u)
#define RESET_IO_BANK0 (1u << 5)
#define RESET_PADS_BANK0 (1u << 8)
#define RESET_PLL_SYS (1u << 12)
#define RESET_TIMER (1u << 21)
#define RESET_UART0 (1u << 22)

#define XOSC_CTRL REG(0x40024000u)
#define XOSC_STATUS REG(0x40024004u)
#define XOSC_STARTUP REG(0x4002400Cu)

#define CLK_REF_CTRL REG(0x40008030u)
#define CLK_REF_SELECTED REG(0x40008038u)
#define CLK_SYS_CTRL REG(0x4000803Cu)
#define CLK_SYS_SELECTED REG(0x40008044u)
#define CLK_PERI_CTRL REG(0x40008048u)

#define PLL_SYS_CS REG(0x40028000u)
#define PLL_SYS_PWR REG(0x40028004u)
#define PLL_SYS_FBDIV REG(0x40028008u)
#define PLL_SYS_PRIM REG(0x4002800Cu)

#define WATCHDOG_TICK REG(0x4005802Cu)
#define TIMER_TIMERAWL REG(0x40054028u)

#define IO_GPIO0_CTRL REG(0x40014004u)
#define IO_GPIO1_CTRL REG(0x4001400Cu)
#define FUNCSEL_UART 2u

#define UART0_BASE 0x40034000u
#define UART_DR REG(UART0_BASE + 0x000u)
#define UART_FR REG(UART0_BASE + 0x018u)
#define UART_IBRD REG(UART0_BASE + 0x024u)
#define UART_FBRD REG(UART0_BASE + 0x028u)
#define UART_LCR_H REG(UART0_BASE + 0x02Cu)
#define UART_CR REG(UART0_BASE + 0x030u)
#define UART_FR_RXFE 0x10u
#define UART_FR_TXFF 0x20u

#define XOSC_HZ 12000000u
#define SYS_HZ 125000000u
#ifndef TG_BAUD
#define TG_BAUD 115200u
#endif

static uint32_t cpu_hz = 6500000u; /* the ring oscillator the boot ROM leaves running (nominal) */

static int wait_set(volatile uint32_t *reg, uint32_t mask, uint32_t value)
{
    uint32_t n;
    for (n = 0; n < 10000000u; ++n) {
        if ((*reg & mask) == value) {
            return 0;
        }
    }
    return -1;
}

static void unreset(uint32_t bits)
{
    CLR(RESETS_RESET) = bits;
    (void)wait_set(&RESETS_DONE, bits, bits);
}

static void clock_init(void)
{
    XOSC_CTRL = 0xAA0u;                            /* FREQ_RANGE 1-15 MHz */
    XOSC_STARTUP = ((XOSC_HZ / 1000u) + 128u) / 256u; /* ~1 ms, in units of 256 cycles */
    SET(0x40024000u) = 0xFABu << 12;               /* ENABLE */
    if (wait_set(&XOSC_STATUS, 1u << 31, 1u << 31) != 0) {
        return;                                     /* no crystal: stay on the ring oscillator */
    }
    /* clk_sys back to clk_ref, clk_ref to the crystal, while the PLL is configured. */
    CLK_SYS_CTRL &= ~1u;
    (void)wait_set(&CLK_SYS_SELECTED, 1u, 1u);
    CLK_REF_CTRL = 2u;                              /* SRC = xosc_clksrc */
    (void)wait_set(&CLK_REF_SELECTED, 1u << 2, 1u << 2);

    SET(RESETS_RESET) = RESET_PLL_SYS;
    unreset(RESET_PLL_SYS);
    PLL_SYS_CS = 1u;                                /* REFDIV 1: 12 MHz reference */
    PLL_SYS_FBDIV = 125u;                           /* VCO 1500 MHz */
    CLR(0x40028004u) = (1u << 0) | (1u << 5);       /* PWR: PD, VCOPD off -> powered */
    if (wait_set(&PLL_SYS_CS, 1u << 31, 1u << 31) != 0) {
        return;
    }
    PLL_SYS_PRIM = (6u << 16) | (2u << 12);         /* POSTDIV1 6, POSTDIV2 2 -> 125 MHz */
    CLR(0x40028004u) = 1u << 3;                     /* POSTDIVPD off */

    CLK_SYS_CTRL = (CLK_SYS_CTRL & ~(7u << 5)) | 1u; /* AUXSRC pll_sys, SRC aux */
    if (wait_set(&CLK_SYS_SELECTED, 2u, 2u) != 0) {
        return;
    }
    CLK_PERI_CTRL = 1u << 11;                       /* ENABLE, AUXSRC clk_sys */
    cpu_hz = SYS_HZ;
    WATCHDOG_TICK = (1u << 9) | (XOSC_HZ / 1000000u); /* 1 us ticks for TIMER, from clk_ref */
}

static void uart_init(void)
{
    /* PL011: divisor = clk_peri / (16 * baud), 6 fractional bits (64ths), rounded. */
    uint32_t div64 = (uint32_t)(((uint64_t)cpu_hz * 4u + TG_BAUD / 2u) / TG_BAUD);
    unreset(RESET_IO_BANK0 | RESET_PADS_BANK0 | RESET_UART0 | RESET_TIMER);
    UART_IBRD = div64 >> 6;
    UART_FBRD = div64 & 0x3Fu;
    UART_LCR_H = (3u << 5) | (1u << 4);             /* 8 bits, FIFOs on (written after the divisors) */
    UART_CR = (1u << 9) | (1u << 8) | 1u;           /* RXE, TXE, UARTEN */
    IO_GPIO0_CTRL = FUNCSEL_UART;                   /* GP0 = UART0 TX */
    IO_GPIO1_CTRL = FUNCSEL_UART;                   /* GP1 = UART0 RX */
}

void bsp_init(void)
{
    clock_init();
    uart_init();
}

void bsp_uart_write(const uint8_t *buf, uint32_t len)
{
    uint32_t i;
    for (i = 0; i < len; ++i) {
        while (UART_FR & UART_FR_TXFF) {
            bsp_watchdog_feed(); /* waiting on the line is not a hang */
        }
        UART_DR = buf[i];
    }
}

int bsp_uart_read_byte(void)
{
    while (UART_FR & UART_FR_RXFE) {
        bsp_watchdog_feed(); /* waiting for the host is not a hang */
    }
    return (int)(UART_DR & 0xFFu);
}

uint32_t bsp_cycles(void)
{
    return TIMER_TIMERAWL * (cpu_hz / 1000000u); /* wraps mod 2^32 like a cycle counter */
}

uint32_t bsp_cpu_hz(void)
{
    return cpu_hz;
}
