/* Board support for QEMU's mps2-an505 (Cortex-M33, the IoTKit / SSE-200 subsystem). The core
 * boots secure and stays so, so UART0, a CMSDK APB UART like the other mps2 images' (see
 * ../qemu_mps2), is reached through its secure alias 0x50200000 (non-secure: 0x40200000). No
 * watchdog here: the field layer's weak defaults report none. C99, no libc I/O. */
#include <stdint.h>

#include "tg_bsp.h"

#define UART0_BASE 0x50200000u
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
#define TG_BSP_CPU_HZ 20000000u /* the AN505 FPGA image runs the core at 20 MHz */
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
        }
        UART_DATA = buf[i];
    }
}

int bsp_uart_read_byte(void)
{
    while (!(UART_STATE & UART_STATE_RX_FULL)) {
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
