/* NUCLEO-F446RE watchdog and reset cause: the IWDG (tg_iwdg_stm32.h), frozen while a debugger
 * halts the core; the reset cause from RCC_CSR (RM0390 6.3.22), whose flags are then cleared. */
#include <stdint.h>

#include "tg_bsp.h"

#define TG_IWDG_BASE 0x40003000u
#define TG_LSI_MAX_HZ 47000u         /* LSI 32 kHz typical, 17-47 kHz (DS10693) */
#include "../cortex_m/tg_iwdg_stm32.h"

#define RCC_CSR (*(volatile uint32_t *)(0x40023800u + 0x074u))
#define CSR_RMVF (1u << 24)
#define CSR_BORRSTF (1u << 25)
#define CSR_PORRSTF (1u << 27)
#define CSR_IWDGRSTF (1u << 29)
#define DBGMCU_APB1_FZ (*(volatile uint32_t *)0xE0042008u)
#define DBG_IWDG_STOP (1u << 12)

int bsp_watchdog_start(uint32_t timeout_ms)
{
    DBGMCU_APB1_FZ |= DBG_IWDG_STOP;
    return tg_iwdg_start(timeout_ms);
}

void bsp_watchdog_feed(void)
{
    tg_iwdg_feed();
}

uint32_t bsp_reset_cause(void)
{
    uint32_t csr = RCC_CSR, cause = TG_RESET_OTHER;
    if (csr & CSR_IWDGRSTF) {
        cause = TG_RESET_WATCHDOG;
    } else if (csr & (CSR_PORRSTF | CSR_BORRSTF)) {
        cause = TG_RESET_POWER_ON;
    }
    RCC_CSR |= CSR_RMVF;
    return cause;
}
