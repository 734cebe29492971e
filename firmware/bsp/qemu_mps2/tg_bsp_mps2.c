/* Board support for the QEMU MPS2 twins (mps2-an500 Cortex-M7, mps2-an386 Cortex-M4).
 * UART0 is a CMSDK APB UART at 0x40004000; the process exits through semihosting
 * (QEMU needs -semihosting-config enable=on,target=native). The watchdog: tg_wdt_mps2.c.
 * C99, no libc I/O. */
#include <stdint.h>

#include "tg_bsp.h"

#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x00u))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x04u))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x08u))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10u))
#define UART_STATE_TX_FULL 0x1u
#define UART_STATE_RX_FULL 0x2u

#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)

#ifndef TG_BSP_CPU_HZ
#define TG_BSP_CPU_HZ 25000000u /* MPS2 FPGA images run the core at 25 MHz */
#endif

void bsp_init(void)
{
    UART_BAUDDIV = 16u;
    UART_CTRL = 3u; /* TX and RX enable */
    /* Cycle counter: real silicon counts; QEMU reads 0 (use tinygen bench for counts). */
    DEMCR |= (1u << 24);
    DWT_CYCCNT = 0u;
    DWT_CTRL |= 1u;
}

void bsp_uart_write(const uint8_t *buf, uint32_t len)
{
    uint32_t i;
    for (i = 0; i < len; ++i) {
        while (UART_STATE & UART_STATE_TX_FULL) {
            bsp_watchdog_feed(); /* waiting on the line is not a hang */
        }
        UART_DATA = buf[i];
    }
}

int bsp_uart_read_byte(void)
{
    while (!(UART_STATE & UART_STATE_RX_FULL)) {
        bsp_watchdog_feed(); /* waiting for the host is not a hang */
    }
    return (int)(UART_DATA & 0xFFu);
}

uint32_t bsp_cycles(void)
{
    return DWT_CYCCNT;
}

uint32_t bsp_cpu_hz(void)
{
    return TG_BSP_CPU_HZ;
}
