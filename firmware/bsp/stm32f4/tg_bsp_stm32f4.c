/* NUCLEO-F446RE board support: 180 MHz core clock, USART2 on PA2 (TX) / PA3 (RX), which the
 * ST-LINK/V2-1 exposes as its virtual COM port. Register-level (RM0390), no vendor HAL.
 *
 * Clock: voltage scale 1, PLL from HSI (16 MHz / 8 = 2 MHz, x180 = 360 MHz VCO, /2 = 180 MHz),
 * over-drive on, flash 5 wait states + caches + prefetch; AHB 180 MHz, APB1 45 MHz, APB2 90 MHz.
 * USART2 sits on APB1. */
#include <stdint.h>

#include "tg_bsp.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

#define RCC_BASE 0x40023800u
#define RCC_CR REG(RCC_BASE + 0x00u)
#define RCC_PLLCFGR REG(RCC_BASE + 0x04u)
#define RCC_CFGR REG(RCC_BASE + 0x08u)
#define RCC_AHB1ENR REG(RCC_BASE + 0x30u)
#define RCC_APB1ENR REG(RCC_BASE + 0x40u)

#define PWR_CR REG(0x40007000u)
#define PWR_CSR REG(0x40007004u)
#define FLASH_ACR REG(0x40023C00u)

#define GPIOA_BASE 0x40020000u
#define GPIOA_MODER REG(GPIOA_BASE + 0x00u)
#define GPIOA_OSPEEDR REG(GPIOA_BASE + 0x08u)
#define GPIOA_PUPDR REG(GPIOA_BASE + 0x0Cu)
#define GPIOA_AFRL REG(GPIOA_BASE + 0x20u)

#define USART2_BASE 0x40004400u
#define USART2_SR REG(USART2_BASE + 0x00u)
#define USART2_DR REG(USART2_BASE + 0x04u)
#define USART2_BRR REG(USART2_BASE + 0x08u)
#define USART2_CR1 REG(USART2_BASE + 0x0Cu)

#define TG_F4_SYSCLK_HZ 180000000u
#define TG_F4_PCLK1_HZ 45000000u
#ifndef TG_BAUD
#define TG_BAUD 115200u
#endif

static uint32_t cpu_hz = 16000000u;

void tg_cm_cycles_init(void);

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

static void clock_init(void)
{
    RCC_APB1ENR |= (1u << 28); /* PWR */
    (void)RCC_APB1ENR;
    PWR_CR = (PWR_CR & ~(3u << 14)) | (3u << 14); /* VOS = scale 1 */
    RCC_CR |= 1u;                                  /* HSI on (it is, after reset) */
    if (wait_set(&RCC_CR, 1u << 1, 1u << 1) != 0) {
        return;
    }
    RCC_CR &= ~(1u << 24); /* PLL off while configuring */
    (void)wait_set(&RCC_CR, 1u << 25, 0u);
    RCC_PLLCFGR = (8u << 0)      /* M = 8   -> 2 MHz */
                  | (180u << 6)  /* N = 180 -> 360 MHz */
                  | (0u << 16)   /* P = 2   -> 180 MHz */
                  | (0u << 22)   /* source HSI */
                  | (8u << 24)   /* Q = 8 (unused) */
                  | (2u << 28);  /* R = 2 (unused) */
    RCC_CR |= (1u << 24);
    if (wait_set(&RCC_CR, 1u << 25, 1u << 25) != 0) {
        return;
    }
    /* Over-drive for 180 MHz: ODEN, wait ODRDY, ODSWEN, wait ODSWRDY. */
    PWR_CR |= (1u << 16);
    if (wait_set(&PWR_CSR, 1u << 16, 1u << 16) != 0) {
        return;
    }
    PWR_CR |= (1u << 17);
    if (wait_set(&PWR_CSR, 1u << 17, 1u << 17) != 0) {
        return;
    }
    FLASH_ACR = 5u | (1u << 8) | (1u << 9) | (1u << 10); /* 5 WS, prefetch, I/D caches */
    if ((FLASH_ACR & 0xFu) != 5u) {
        return;
    }
    /* AHB /1, APB1 /4, APB2 /2, then switch to the PLL. */
    RCC_CFGR = (RCC_CFGR & ~((0xFu << 4) | (7u << 10) | (7u << 13))) | (5u << 10) | (4u << 13);
    RCC_CFGR = (RCC_CFGR & ~3u) | 2u;
    if (wait_set(&RCC_CFGR, 3u << 2, 2u << 2) != 0) {
        return;
    }
    cpu_hz = TG_F4_SYSCLK_HZ;
}

static void uart_init(void)
{
    uint32_t pclk1 = cpu_hz == TG_F4_SYSCLK_HZ ? TG_F4_PCLK1_HZ : 16000000u;
    RCC_AHB1ENR |= (1u << 0);  /* GPIOA */
    RCC_APB1ENR |= (1u << 17); /* USART2 */
    (void)RCC_APB1ENR;
    /* PA2, PA3: alternate function 7, high speed, pull-up on RX. */
    GPIOA_MODER = (GPIOA_MODER & ~((3u << 4) | (3u << 6))) | (2u << 4) | (2u << 6);
    GPIOA_OSPEEDR |= (3u << 4) | (3u << 6);
    GPIOA_PUPDR = (GPIOA_PUPDR & ~(3u << 6)) | (1u << 6);
    GPIOA_AFRL = (GPIOA_AFRL & ~((0xFu << 8) | (0xFu << 12))) | (7u << 8) | (7u << 12);
    USART2_CR1 = 0u;
    USART2_BRR = (pclk1 + TG_BAUD / 2u) / TG_BAUD; /* oversampling by 16: 12.4 fixed point */
    USART2_CR1 = (1u << 13) | (1u << 3) | (1u << 2); /* UE, TE, RE */
}

void bsp_init(void)
{
    clock_init();
    uart_init();
    tg_cm_cycles_init();
}

void bsp_uart_write(const uint8_t *buf, uint32_t len)
{
    uint32_t i;
    for (i = 0; i < len; ++i) {
        while (!(USART2_SR & (1u << 7))) { /* TXE */
            bsp_watchdog_feed(); /* waiting on the line is not a hang */
        }
        USART2_DR = buf[i];
    }
    while (!(USART2_SR & (1u << 6))) { /* TC */
    }
}

int bsp_uart_read_byte(void)
{
    /* RXNE, or an error flag: reading SR then DR clears ORE/FE/NE. */
    while (!(USART2_SR & ((1u << 5) | 0xFu))) {
        bsp_watchdog_feed(); /* waiting for the host is not a hang */
    }
    return (int)(USART2_DR & 0xFFu);
}

uint32_t bsp_cpu_hz(void)
{
    return cpu_hz;
}
