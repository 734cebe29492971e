/* Watchdog for the QEMU MPS2 twins: the CMSDK APB watchdog at 0x40008000 (ARM DDI0479C), which
 * QEMU models and wires to the NMI. It counts WDOGCLK, the 25 MHz system clock, in QEMU's virtual
 * time (the host's clock unless QEMU runs with -icount). At zero it raises the NMI; tg_nmi_handler
 * notes a watchdog reset in no-init RAM and resets the chip (SYSRESETREQ). Were the NMI handler
 * itself stuck, the second expiry resets the chip in hardware (RESEN).
 * The MPS2 has no reset-cause register: the note in no-init RAM is the cause. */
#include <stdint.h>

#include "tg_bsp.h"

#define WDOG_BASE 0x40008000u
#define WDOG_LOAD (*(volatile uint32_t *)(WDOG_BASE + 0x000u))
#define WDOG_CTRL (*(volatile uint32_t *)(WDOG_BASE + 0x008u))
#define WDOG_INTCLR (*(volatile uint32_t *)(WDOG_BASE + 0x00Cu))
#define WDOG_LOCK (*(volatile uint32_t *)(WDOG_BASE + 0xC00u))
#define WDOG_UNLOCK_KEY 0x1ACCE551u
#define WDOG_CTRL_INTEN 1u
#define WDOG_CTRL_RESEN 2u
#define SCB_AIRCR (*(volatile uint32_t *)0xE000ED0Cu)
#define AIRCR_SYSRESETREQ 0x05FA0004u

#define WDOG_CLOCK_HZ 25000000u
#define NOTE_WATCHDOG 0x57444F47u      /* "WDOG" */
#define NOTE_SEEN 0x53454E31u          /* written at every boot: RAM kept its contents */

/* [0]: what the NMI handler noted; [1]: NOTE_SEEN once this RAM has been through a boot. */
static __attribute__((section(".noinit"))) volatile uint32_t tg_wdt_note[2];
static uint8_t tg_wdt_armed;

void tg_nmi_handler(void);

int bsp_watchdog_start(uint32_t timeout_ms)
{
    uint32_t ticks = (timeout_ms > 0xFFFFFFFFu / (WDOG_CLOCK_HZ / 1000u))
                         ? 0xFFFFFFFFu : timeout_ms * (WDOG_CLOCK_HZ / 1000u);
    WDOG_LOCK = WDOG_UNLOCK_KEY;
    WDOG_LOAD = ticks;
    WDOG_CTRL = WDOG_CTRL_INTEN | WDOG_CTRL_RESEN;
    WDOG_LOCK = 0u;
    tg_wdt_armed = 1u;
    return 0;
}

void bsp_watchdog_feed(void)
{
    if (tg_wdt_armed) {
        WDOG_LOCK = WDOG_UNLOCK_KEY;
        WDOG_INTCLR = 1u; /* clears the interrupt and reloads the counter */
        WDOG_LOCK = 0u;
    }
}

uint32_t bsp_reset_cause(void)
{
    uint32_t cause;
    if (tg_wdt_note[1] != NOTE_SEEN) {
        cause = TG_RESET_POWER_ON; /* no trace of an earlier boot in RAM */
    } else if (tg_wdt_note[0] == NOTE_WATCHDOG) {
        cause = TG_RESET_WATCHDOG;
    } else {
        cause = TG_RESET_OTHER;
    }
    tg_wdt_note[0] = 0u;
    tg_wdt_note[1] = NOTE_SEEN;
    return cause;
}

void bsp_system_reset(void)
{
    __asm__ volatile("dsb" ::: "memory");
    SCB_AIRCR = AIRCR_SYSRESETREQ;
    __asm__ volatile("dsb" ::: "memory");
    for (;;) {
    }
}

/* The watchdog's first expiry. */
void tg_nmi_handler(void)
{
    tg_wdt_note[0] = NOTE_WATCHDOG;
    bsp_system_reset();
}
