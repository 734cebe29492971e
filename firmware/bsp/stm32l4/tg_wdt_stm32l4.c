/* NUCLEO-L4R5ZI watchdog and reset cause: the IWDG (tg_iwdg_stm32.h), frozen while a debugger
 * halts the core; the reset cause from RCC_CSR (RM0432 6.4.33), whose flags are then cleared. The
 * L4 has no POR flag: a power-on sets BORRSTF. */
#include <stdint.h>

#include "tg_bsp.h"

#define TG_IWDG_BASE 0x40003000u
#define TG_LSI_MAX_HZ 33000u         /* LSI 32 kHz, 31-33 kHz (DS12023) */
#include "../cortex_m/tg_iwdg_stm32.h"

#define RCC_CSR (*(volatile uint32_t *)(0x40021000u + 0x094u))
#define CSR_RMVF (1u << 23)
#define CSR_BORRSTF (1u << 27)
#define CSR_IWDGRSTF (1u << 29)
#define DBGMCU_APB1FZR1 (*(volatile uint32_t *)0xE0042008u)
#define DBG_IWDG_STOP (1u << 12)

int bsp_watchdog_start(uint32_t timeout_ms)
{
    DBGMCU_APB1FZR1 |= DBG_IWDG_STOP;
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
    } else if (csr & CSR_BORRSTF) {
        cause = TG_RESET_POWER_ON;
    }
    RCC_CSR |= CSR_RMVF;
    return cause;
}
