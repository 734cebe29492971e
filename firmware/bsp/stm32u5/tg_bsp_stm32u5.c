/* NUCLEO-U575ZI-Q board support: 160 MHz core clock, USART1 on PA9 (TX) / PA10 (RX), which the
 * STLINK-V3E exposes as its virtual COM port. Register-level (RM0456), no vendor HAL; TrustZone
 * off (the board's default option bytes), so the non-secure peripheral addresses apply.
 *
 * Clock: voltage range 1 with the EPOD booster (needed above 55 MHz), PLL1 from HSI16 (M 1,
 * input range 8-16 MHz, N 20 -> 320 MHz VCO, R 2 -> 160 MHz), flash 4 wait states + prefetch;
 * AHB, APB1, APB2 all 160 MHz. USART1 runs from PCLK2. C99, no libc I/O. */
#include <stdint.h>

#include "tg_bsp.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

#define RCC_BASE 0x46020C00u
#define RCC_CR REG(RCC_BASE + 0x000u)
#define RCC_CFGR1 REG(RCC_BASE + 0x01Cu)
#define RCC_CFGR2 REG(RCC_BASE + 0x020u)
#define RCC_PLL1CFGR REG(RCC_BASE + 0x028u)
#define RCC_PLL1DIVR REG(RCC_BASE + 0x034u)
#define RCC_AHB2ENR1 REG(RCC_BASE + 0x08Cu)
#define RCC_AHB3ENR REG(RCC_BASE + 0x094u)
#define RCC_APB2ENR REG(RCC_BASE + 0x0A4u)
#define RCC_CCIPR1 REG(RCC_BASE + 0x0E0u)

#define PWR_VOSR REG(0x46020800u + 0x00Cu)
#define FLASH_ACR REG(0x40022000u)

#define GPIOA_BASE 0x42020000u
#define GPIOA_MODER REG(GPIOA_BASE + 0x00u)
#define GPIOA_OSPEEDR REG(GPIOA_BASE + 0x08u)
#define GPIOA_PUPDR REG(GPIOA_BASE + 0x0Cu)
#define GPIOA_AFRH REG(GPIOA_BASE + 0x24u)

#define USART1_BASE 0x40013800u
#define USART1_CR1 REG(USART1_BASE + 0x00u)
#define USART1_CR3 REG(USART1_BASE + 0x08u)
#define USART1_BRR REG(USART1_BASE + 0x0Cu)
#define USART1_ISR REG(USART1_BASE + 0x1Cu)
#define USART1_ICR REG(USART1_BASE + 0x20u)
#define USART1_RDR REG(USART1_BASE + 0x24u)
#define USART1_TDR REG(USART1_BASE + 0x28u)

#define TG_U5_SYSCLK_HZ 160000000u
#ifndef TG_BAUD
#define TG_BAUD 115200u
#endif

static uint32_t cpu_hz = 4000000u; /* MSIS 4 MHz after reset */

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
    uint32_t n;
    RCC_AHB3ENR |= (1u << 2); /* PWR */
    (void)RCC_AHB3ENR;
    PWR_VOSR |= (3u << 16);   /* VOS: range 1 */
    if (wait_set(&PWR_VOSR, 1u << 15, 1u << 15) != 0) {
        return;
    }
    RCC_CR |= (1u << 8);      /* HSI16 on */
    if (wait_set(&RCC_CR, 1u << 10, 1u << 10) != 0) {
        return;
    }
    FLASH_ACR = (FLASH_ACR & ~0xFu) | 4u | (1u << 8);
    if ((FLASH_ACR & 0xFu) != 4u) {
        return;
    }
    RCC_CR &= ~(1u << 24);    /* PLL1 off while configuring */
    (void)wait_set(&RCC_CR, 1u << 25, 0u);
    RCC_PLL1CFGR = (2u << 0)      /* source HSI16 */
                   | (3u << 2)    /* input range 8-16 MHz */
                   | (0u << 8)    /* M = 1 */
                   | (0u << 12)   /* MBOOST /1: the booster's clock, 16 MHz */
                   | (1u << 18);  /* R output enabled */
    RCC_PLL1DIVR = (19u << 0)     /* N = 20 -> 320 MHz VCO */
                   | (1u << 9)    /* P = 2 (unused) */
                   | (1u << 16)   /* Q = 2 (unused) */
                   | (1u << 24);  /* R = 2 -> 160 MHz */
    PWR_VOSR |= (1u << 18);   /* BOOSTEN, once the booster has its clock (PLL1 source) */
    if (wait_set(&PWR_VOSR, 1u << 14, 1u << 14) != 0) {
        return;
    }
    RCC_CR |= (1u << 24);
    if (wait_set(&RCC_CR, 1u << 25, 1u << 25) != 0) {
        return;
    }
    /* Above 80 MHz the switch goes through AHB / 2 (RM0456: no current step on the core supply);
     * the HCLK is set back to / 1 after the switch. */
    RCC_CFGR2 = (RCC_CFGR2 & ~0xFu) | 0x8u;
    RCC_CFGR1 = (RCC_CFGR1 & ~3u) | 3u; /* SW = PLL1 R */
    if (wait_set(&RCC_CFGR1, 3u << 2, 3u << 2) != 0) {
        return;
    }
    for (n = 0; n < 200u; ++n) {         /* >= 1 us at 80 MHz before HCLK doubles */
        __asm__ volatile("nop");
    }
    RCC_CFGR2 &= ~0xFu;
    cpu_hz = TG_U5_SYSCLK_HZ;
}

static void uart_init(void)
{
    uint32_t pclk2 = cpu_hz;
    RCC_AHB2ENR1 |= (1u << 0); /* GPIOA */
    RCC_APB2ENR |= (1u << 14); /* USART1 */
    (void)RCC_APB2ENR;
    RCC_CCIPR1 &= ~3u;         /* USART1 clock = PCLK2 */
    /* PA9, PA10: alternate function 7, high speed, pull-up on RX. */
    GPIOA_MODER = (GPIOA_MODER & ~((3u << 18) | (3u << 20))) | (2u << 18) | (2u << 20);
    GPIOA_OSPEEDR |= (3u << 18) | (3u << 20);
    GPIOA_PUPDR = (GPIOA_PUPDR & ~(3u << 20)) | (1u << 20);
    GPIOA_AFRH = (GPIOA_AFRH & ~((0xFu << 4) | (0xFu << 8))) | (7u << 4) | (7u << 8);
    USART1_CR1 = 0u;
    USART1_CR3 = (1u << 12);   /* OVRDIS */
    USART1_BRR = (pclk2 + TG_BAUD / 2u) / TG_BAUD; /* oversampling by 16 */
    USART1_CR1 = (1u << 3) | (1u << 2) | (1u << 0); /* TE, RE, UE */
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
        while (!(USART1_ISR & (1u << 7))) { /* TXE */
            bsp_watchdog_feed(); /* waiting on the line is not a hang */
        }
        USART1_TDR = buf[i];
    }
    while (!(USART1_ISR & (1u << 6))) { /* TC */
    }
}

int bsp_uart_read_byte(void)
{
    while (!(USART1_ISR & (1u << 5))) { /* RXNE */
        bsp_watchdog_feed(); /* waiting for the host is not a hang */
        if (USART1_ISR & 0xFu) {
            USART1_ICR = 0xFu;
        }
    }
    return (int)(USART1_RDR & 0xFFu);
}

uint32_t bsp_cpu_hz(void)
{
    return cpu_hz;
}
