/* NUCLEO-H743ZI board support: 400 MHz core clock, USART3 on PD8 (TX) / PD9 (RX), which the
 * ST-LINK/V3 exposes as its virtual COM port. Register-level (RM0433), no vendor HAL.
 *
 * Clock: LDO supply, voltage scale 1, PLL1 from HSI (64 MHz / 4 = 16 MHz reference,
 * x50 = 800 MHz VCO, /2 = 400 MHz sys_ck); AXI/AHB 200 MHz, every APB 100 MHz; flash 2 wait
 * states with WRHIGHFREQ = 2 (RM0433 table 17 for VOS1 at 200 MHz). USART3 runs from PCLK1. */
#include <stdint.h>

#include "tg_bsp.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

#define RCC_BASE 0x58024400u
#define RCC_CR REG(RCC_BASE + 0x000u)
#define RCC_CFGR REG(RCC_BASE + 0x010u)
#define RCC_D1CFGR REG(RCC_BASE + 0x018u)
#define RCC_D2CFGR REG(RCC_BASE + 0x01Cu)
#define RCC_D3CFGR REG(RCC_BASE + 0x020u)
#define RCC_PLLCKSELR REG(RCC_BASE + 0x028u)
#define RCC_PLLCFGR REG(RCC_BASE + 0x02Cu)
#define RCC_PLL1DIVR REG(RCC_BASE + 0x030u)
#define RCC_AHB4ENR REG(RCC_BASE + 0x0E0u)
#define RCC_APB1LENR REG(RCC_BASE + 0x0E8u)

#define PWR_BASE 0x58024800u
#define PWR_CSR1 REG(PWR_BASE + 0x004u)
#define PWR_CR3 REG(PWR_BASE + 0x00Cu)
#define PWR_D3CR REG(PWR_BASE + 0x018u)

#define FLASH_ACR REG(0x52002000u)

#define GPIOD_BASE 0x58020C00u
#define GPIOD_MODER REG(GPIOD_BASE + 0x00u)
#define GPIOD_OSPEEDR REG(GPIOD_BASE + 0x08u)
#define GPIOD_PUPDR REG(GPIOD_BASE + 0x0Cu)
#define GPIOD_AFRH REG(GPIOD_BASE + 0x24u)

#define USART3_BASE 0x40004800u
#define USART3_CR1 REG(USART3_BASE + 0x00u)
#define USART3_CR3 REG(USART3_BASE + 0x08u)
#define USART3_BRR REG(USART3_BASE + 0x0Cu)
#define USART3_ISR REG(USART3_BASE + 0x1Cu)
#define USART3_ICR REG(USART3_BASE + 0x20u)
#define USART3_RDR REG(USART3_BASE + 0x24u)
#define USART3_TDR REG(USART3_BASE + 0x28u)

#define TG_H7_SYSCLK_HZ 400000000u
#define TG_H7_PCLK1_HZ 100000000u
#ifndef TG_BAUD
#define TG_BAUD 115200u
#endif

/* Bounded wait on a ready flag; a clock that never comes up leaves the board on HSI. */
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

static uint32_t cpu_hz = 64000000u;

void tg_cm_cycles_init(void);

static void clock_init(void)
{
    /* Supply: LDO on, SMPS/bypass off (the H743 has no SMPS); then wait for ACTVOSRDY. */
    PWR_CR3 = (PWR_CR3 & ~((1u << 0) | (1u << 2))) | (1u << 1);
    if (wait_set(&PWR_CSR1, 1u << 13, 1u << 13) != 0) {
        return;
    }
    /* Voltage scale 1, wait VOSRDY. */
    PWR_D3CR = (PWR_D3CR & ~(3u << 14)) | (3u << 14);
    if (wait_set(&PWR_D3CR, 1u << 13, 1u << 13) != 0) {
        return;
    }
    /* Flash: 2 wait states, WRHIGHFREQ = 2, before the clock goes up. */
    FLASH_ACR = (FLASH_ACR & ~0x3Fu) | 2u | (2u << 4);
    if ((FLASH_ACR & 0x3Fu) != (2u | (2u << 4))) {
        return;
    }
    /* PLL1: source HSI, DIVM1 = 4; input 16 MHz (PLL1RGE = 8-16 MHz), wide VCO, P enabled. */
    RCC_CR &= ~(1u << 24); /* PLL1 off while configuring */
    (void)wait_set(&RCC_CR, 1u << 25, 0u);
    RCC_PLLCKSELR = (RCC_PLLCKSELR & ~((0x3Fu << 4) | 3u)) | (4u << 4);
    RCC_PLLCFGR = (RCC_PLLCFGR & ~0xFu) | (3u << 2) | (1u << 16) | (1u << 17) | (1u << 18);
    RCC_PLL1DIVR = (49u << 0)     /* N = 50 -> 800 MHz VCO */
                   | (1u << 9)    /* P = 2  -> 400 MHz */
                   | (3u << 16)   /* Q = 4  -> 200 MHz */
                   | (1u << 24);  /* R = 2  -> 400 MHz */
    RCC_CR |= (1u << 24);
    if (wait_set(&RCC_CR, 1u << 25, 1u << 25) != 0) {
        return;
    }
    /* Bus prescalers: D1CPRE /1, HPRE /2, every APB /2. */
    RCC_D1CFGR = (0u << 8) | (8u << 0) | (4u << 4);
    RCC_D2CFGR = (4u << 4) | (4u << 8);
    RCC_D3CFGR = (4u << 4);
    /* System clock: PLL1. */
    RCC_CFGR = (RCC_CFGR & ~7u) | 3u;
    if (wait_set(&RCC_CFGR, 7u << 3, 3u << 3) != 0) {
        return;
    }
    cpu_hz = TG_H7_SYSCLK_HZ;
}

static void uart_init(void)
{
    uint32_t pclk1 = cpu_hz == TG_H7_SYSCLK_HZ ? TG_H7_PCLK1_HZ : 64000000u;
    RCC_AHB4ENR |= (1u << 3);   /* GPIOD */
    RCC_APB1LENR |= (1u << 18); /* USART3 */
    (void)RCC_APB1LENR;         /* read back: clock is on before the first access */
    /* PD8, PD9: alternate function 7, high speed, pull-up on RX. */
    GPIOD_MODER = (GPIOD_MODER & ~((3u << 16) | (3u << 18))) | (2u << 16) | (2u << 18);
    GPIOD_OSPEEDR |= (3u << 16) | (3u << 18);
    GPIOD_PUPDR = (GPIOD_PUPDR & ~(3u << 18)) | (1u << 18);
    GPIOD_AFRH = (GPIOD_AFRH & ~0xFFu) | (7u << 0) | (7u << 4);
    USART3_CR1 = 0u;
    USART3_CR3 = (1u << 12); /* OVRDIS: an overrun never blocks reception */
    USART3_BRR = (pclk1 + TG_BAUD / 2u) / TG_BAUD;
    USART3_CR1 = (1u << 3) | (1u << 2) | (1u << 0); /* TE, RE, UE */
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
        while (!(USART3_ISR & (1u << 7))) { /* TXE */
            bsp_watchdog_feed(); /* waiting on the line is not a hang */
        }
        USART3_TDR = buf[i];
    }
    while (!(USART3_ISR & (1u << 6))) { /* TC: last byte on the wire */
    }
}

int bsp_uart_read_byte(void)
{
    while (!(USART3_ISR & (1u << 5))) { /* RXNE */
        bsp_watchdog_feed(); /* waiting for the host is not a hang */
        if (USART3_ISR & 0xFu) {
            USART3_ICR = 0xFu; /* clear PE/FE/NE/ORE */
        }
    }
    return (int)(USART3_RDR & 0xFFu);
}

uint32_t bsp_cpu_hz(void)
{
    return cpu_hz;
}
