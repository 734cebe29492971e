/* Board support for the Cortex-M0 twin: QEMU's lm3s6965evb run with -cpu cortex-m0 (the Pico's
 * RP2040 is a Cortex-M0+, the same ARMv6-M instruction set). UART0 is a PL011 at 0x4000C000
 * (QEMU's Stellaris variant; the RP2040's UARTs are PL011s too). ARMv6-M has no DWT cycle
 * counter: bsp_cycles() reads 0 (tinygen bench counts instructions). No watchdog: the field
 * layer's weak defaults report none. C99, no libc I/O. */
#include <stdint.h>

#include "tg_bsp.h"

#define UART0_BASE 0x4000C000u
#define UART_DR (*(volatile uint32_t *)(UART0_BASE + 0x000u))
#define UART_FR (*(volatile uint32_t *)(UART0_BASE + 0x018u))
#define UART_FR_RXFE 0x10u /* receive FIFO empty */
#define UART_FR_TXFF 0x20u /* transmit FIFO full */

#ifndef TG_BSP_CPU_HZ
#define TG_BSP_CPU_HZ 50000000u /* the LM3S6965's maximum; QEMU does not model time */
#endif

void bsp_init(void)
{
    /* QEMU's PL011 is enabled out of reset; on silicon UARTCTL/IBRD would be set here. */
}

void bsp_uart_write(const uint8_t *buf, uint32_t len)
{
    uint32_t i;
    for (i = 0; i < len; ++i) {
        while (UART_FR & UART_FR_TXFF) {
        }
        UART_DR = buf[i];
    }
}

int bsp_uart_read_byte(void)
{
    while (UART_FR & UART_FR_RXFE) {
    }
    return (int)(UART_DR & 0xFFu);
}

uint32_t bsp_cycles(void)
{
    return 0u;
}

uint32_t bsp_cpu_hz(void)
{
    return TG_BSP_CPU_HZ;
}
