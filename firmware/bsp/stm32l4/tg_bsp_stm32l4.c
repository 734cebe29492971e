/* NUCLEO-L4R5ZI board support: 80 MHz core clock, LPUART1 on PG7 (TX) / PG8 (RX), which the
 * ST-LINK/V2-1 exposes as its virtual COM port. Register-level (RM0432), no vendor HAL.
 *
 * Clock: range 1 (normal mode, the reset state), PLL from HSI16 (16 MHz / 2 = 8 MHz, x20 =
 * 160 MHz VCO, R /2 = 80 MHz), flash 4 wait states (one more than the table needs) + caches;
 * AHB, APB1, APB2 all 80 MHz. Port G is powered from VDDIO2, which must be declared valid
 * (PWR_CR2.IOSV) before PG7/PG8 work. LPUART1 runs from PCLK1. */
#include <stdint.h>

#include "tg_bsp.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

#define RCC_BASE 0x40021000u
#define RCC_CR REG(RCC_BASE + 0x00u)
#define RCC_CFGR REG(RCC_BASE + 0x08u)
#define RCC_PLLCFGR REG(RCC_BASE + 0x0Cu)
#define RCC_AHB2ENR REG(RCC_BASE + 0x4Cu)
#define RCC_APB1ENR1 REG(RCC_BASE + 0x58u)
#define RCC_APB1ENR2 REG(RCC_BASE + 0x5Cu)
#define RCC_CCIPR REG(RCC_BASE + 0x88u)

#define PWR_CR2 REG(0x40007004u)
#define FLASH_ACR REG(0x40022000u)

#define GPIOG_BASE 0x48001800u
#define GPIOG_MODER REG(GPIOG_BASE + 0x00u)
#define GPIOG_OSPEEDR REG(GPIOG_BASE + 0x08u)
#define GPIOG_PUPDR REG(GPIOG_BASE + 0x0Cu)
#define GPIOG_AFRL REG(GPIOG_BASE + 0x20u)
#define GPIOG_AFRH REG(GPIOG_BASE + 0x24u)

#define LPUART1_BASE 0x40008000u
#define LPUART1_CR1 REG(LPUART1_BASE + 0x00u)
#define LPUART1_CR3 REG(LPUART1_BASE + 0x08u)
#define LPUART1_BRR REG(LPUART1_BASE + 0x0Cu)
#define LPUART1_ISR REG(LPUART1_BASE + 0x1Cu)
#define LPUART1_ICR REG(LPUART1_BASE + 0x20u)
#define LPUART1_RDR REG(LPUART1_BASE + 0x24u)
#define LPUART1_TDR REG(LPUART1_BASE + 0x28u)

#define TG_L4_SYSCLK_HZ 80000000u
#ifndef TG_BAUD
#define TG_BAUD 115200u
#endif

static uint32_t cpu_hz = 4000000u; /* MSI 4 MHz after reset */

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
    RCC_CR |= (1u << 8); /* HSI16 on */
    if (wait_set(&RCC_CR, 1u << 10, 1u << 10) != 0) {
        return;
    }
    FLASH_ACR = (FLASH_ACR & ~0xFu) | 4u | (1u << 8) | (1u << 9) | (1u << 10);
    if ((FLASH_ACR & 0xFu) != 4u) {
        return;
    }
    RCC_CR &= ~(1u << 24); /* PLL off while configuring */
    (void)wait_set(&RCC_CR, 1u << 25, 0u);
    RCC_PLLCFGR = (2u << 0)      /* source HSI16 */
                  | (1u << 4)    /* M = 2  -> 8 MHz */
                  | (20u << 8)   /* N = 20 -> 160 MHz VCO */
                  | (0u << 25)   /* R = 2  -> 80 MHz */
                  | (1u << 24);  /* R output enabled */
    RCC_CR |= (1u << 24);
    if (wait_set(&RCC_CR, 1u << 25, 1u << 25) != 0) {
        return;
    }
    RCC_CFGR = (RCC_CFGR & ~((0xFu << 4) | (7u << 8) | (7u << 11) | 3u)) | 3u; /* /1, PLL */
    if (wait_set(&RCC_CFGR, 3u << 2, 3u << 2) != 0) {
        return;
    }
    cpu_hz = TG_L4_SYSCLK_HZ;
}

static void uart_init(void)
{
    uint32_t pclk1 = cpu_hz;
    RCC_APB1ENR1 |= (1u << 28); /* PWR */
    (void)RCC_APB1ENR1;
    PWR_CR2 |= (1u << 9);       /* IOSV: VDDIO2 valid, port G usable */
    RCC_AHB2ENR |= (1u << 6);   /* GPIOG */
    RCC_APB1ENR2 |= (1u << 0);  /* LPUART1 */
    (void)RCC_APB1ENR2;
    RCC_CCIPR &= ~(3u << 10);   /* LPUART1 clock = PCLK1 */
    /* PG7, PG8: alternate function 8, high speed, pull-up on RX. */
    GPIOG_MODER = (GPIOG_MODER & ~((3u << 14) | (3u << 16))) | (2u << 14) | (2u << 16);
    GPIOG_OSPEEDR |= (3u << 14) | (3u << 16);
    GPIOG_PUPDR = (GPIOG_PUPDR & ~(3u << 16)) | (1u << 16);
    GPIOG_AFRL = (GPIOG_AFRL & ~(0xFu << 28)) | (8u << 28);
    GPIOG_AFRH = (GPIOG_AFRH & ~0xFu) | 8u;
    LPUART1_CR1 = 0u;
    LPUART1_CR3 = (1u << 12); /* OVRDIS */
    /* LPUART: BRR = 256 * f_ck / baud (80 MHz: 177778, within 0x300..0xFFFFF). */
    LPUART1_BRR = (uint32_t)((((uint64_t)pclk1 << 8) + TG_BAUD / 2u) / TG_BAUD);
    LPUART1_CR1 = (1u << 3) | (1u << 2) | (1u << 0); /* TE, RE, UE */
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
        while (!(LPUART1_ISR & (1u << 7))) { /* TXE */
            bsp_watchdog_feed(); /* waiting on the line is not a hang */
        }
        LPUART1_TDR = buf[i];
    }
    while (!(LPUART1_ISR & (1u << 6))) { /* TC */
    }
}

int bsp_uart_read_byte(void)
{
    while (!(LPUART1_ISR & (1u << 5))) { /* RXNE */
        bsp_watchdog_feed(); /* waiting for the host is not a hang */
        if (LPUART1_ISR & 0xFu) {
            LPUART1_ICR = 0xFu;
        }
    }
    return (int)(LPUART1_RDR & 0xFFu);
}

uint32_t bsp_cpu_hz(void)
{
    return cpu_hz;
}
