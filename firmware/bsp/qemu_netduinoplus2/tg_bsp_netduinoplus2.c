/* Board support for the QEMU netduinoplus2 twin (STM32F405, Cortex-M4F).
 * USART1 at 0x40011000 (QEMU's first serial port); exit through semihosting. C99, no libc I/O. */
#include <stdint.h>

#include "tg_bsp.h"

#define USART1_BASE 0x40011000u
#define USART_SR (*(volatile uint32_t *)(USART1_BASE + 0x00u))
#define USART_DR (*(volatile uint32_t *)(USART1_BASE + 0x04u))
#define USART_CR1 (*(volatile uint32_t *)(USART1_BASE + 0x0Cu))
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_UE (1u << 13)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_RE (1u << 2)

#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)

#ifndef TG_BSP_CPU_HZ
#define TG_BSP_CPU_HZ 168000000u
#endif

void bsp_init(void)
{
    USART_CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE;
    DEMCR |= (1u << 24);
    DWT_CYCCNT = 0u;
    DWT_CTRL |= 1u;
}

void bsp_uart_write(const uint8_t *buf, uint32_t len)
{
    uint32_t i;
    for (i = 0; i < len; ++i) {
        while (!(USART_SR & USART_SR_TXE)) {
        }
        USART_DR = buf[i];
    }
}

int bsp_uart_read_byte(void)
{
    while (!(USART_SR & USART_SR_RXNE)) {
    }
    return (int)(USART_DR & 0xFFu);
}

uint32_t bsp_cycles(void)
{
    return DWT_CYCCNT;
}

uint32_t bsp_cpu_hz(void)
{
    return TG_BSP_CPU_HZ;
}
