/* NUCLEO-H743ZI watchdog and reset cause: IWDG1 (tg_iwdg_stm32.h), frozen while a debugger halts
 * the core; the reset cause from RCC_RSR (RM0433 8.7.37), whose flags are then cleared. */
#include <stdint.h>

#include "tg_bsp.h"

#define TG_IWDG_BASE 0x58004800u
#define TG_LSI_MAX_HZ 34000u         /* LSI 32 kHz typical, 29.5-34 kHz (DS12110) */
#include "../cortex_m/tg_iwdg_stm32.h"

#define RCC_RSR (*(volatile uint32_t *)(0x58024400u + 0x0D0u))
#define RSR_RMVF (1u << 16)
#define RSR_BORRSTF (1u << 21)
#define RSR_PORRSTF (1u << 23)
#define RSR_IWDG1RSTF (1u << 26)
#define DBGMCU_APB4FZ1 (*(volatile uint32_t *)0x5C001054u)
#define DBG_IWDG1 (1u << 18)

int bsp_watchdog_start(uint32_t timeout_ms)
{
    DBGMCU_APB4FZ1 |= DBG_IWDG1;
    return tg_iwdg_start(timeout_ms);
}

void bsp_watchdog_feed(void)
{
    tg_iwdg_feed();
}

uint32_t bsp_reset_cause(void)
{
    uint32_t rsr = RCC_RSR, cause = TG_RESET_OTHER;
    if (rsr & RSR_IWDG1RSTF) {
        cause = TG_RESET_WATCHDOG;
    } else if (rsr & (RSR_PORRSTF | RSR_BORRSTF)) {
        cause = TG_RESET_POWER_ON;
    }
    RCC_RSR |= RSR_RMVF;
    return cause;
}
