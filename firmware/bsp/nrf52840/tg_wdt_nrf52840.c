/* nRF52840-DK watchdog and reset cause (nRF52840 PS v1.x: WDT 6.36, POWER RESETREAS 5.3.7.8).
 * The WDT counts the 32.768 kHz LFCLK (it starts the RC oscillator by itself, +-5 % uncalibrated,
 * hence the 5 % longer count) and resets the chip at zero; once started it cannot be stopped or
 * reconfigured. It pauses while a debugger halts the core (CONFIG.HALT = 0). */
#include <stdint.h>

#include "tg_bsp.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define WDT_BASE 0x40010000u
#define WDT_TASKS_START REG(WDT_BASE + 0x000u)
#define WDT_CRV REG(WDT_BASE + 0x504u)
#define WDT_RREN REG(WDT_BASE + 0x508u)
#define WDT_CONFIG REG(WDT_BASE + 0x50Cu)
#define WDT_RR0 REG(WDT_BASE + 0x600u)
#define WDT_RR_KEY 0x6E524635u
#define WDT_CONFIG_SLEEP_RUN 1u
#define POWER_RESETREAS REG(0x40000400u)
#define RESETREAS_DOG (1u << 1)

static uint8_t tg_wdt_armed;

int bsp_watchdog_start(uint32_t timeout_ms)
{
    uint32_t crv = (uint32_t)(((uint64_t)timeout_ms * 32768u * 105u) / 100000u);
    WDT_CONFIG = WDT_CONFIG_SLEEP_RUN;
    WDT_CRV = crv < 15u ? 15u : crv;
    WDT_RREN = 1u; /* RR[0] feeds it */
    WDT_TASKS_START = 1u;
    tg_wdt_armed = 1u;
    return 0;
}

void bsp_watchdog_feed(void)
{
    if (tg_wdt_armed) {
        WDT_RR0 = WDT_RR_KEY;
    }
}

uint32_t bsp_reset_cause(void)
{
    uint32_t why = POWER_RESETREAS, cause = TG_RESET_OTHER;
    if (why & RESETREAS_DOG) {
        cause = TG_RESET_WATCHDOG;
    } else if (why == 0u) {
        cause = TG_RESET_POWER_ON; /* no reason latched: a power-on reset */
    }
    POWER_RESETREAS = why; /* write 1s to clear */
    return cause;
}
