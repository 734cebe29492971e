/* System reset for tinygen's real Cortex-M boards: SYSRESETREQ through the SCB's AIRCR (ARMv6-M
 * and ARMv7-M alike). The field layer's watchdogs (tg_wdt_*.c) and bsp_system_reset() use it. */
#include <stdint.h>

#include "tg_bsp.h"

#define SCB_AIRCR (*(volatile uint32_t *)0xE000ED0Cu)
#define AIRCR_VECTKEY_SYSRESETREQ 0x05FA0004u

void bsp_system_reset(void)
{
    __asm__ volatile("dsb" ::: "memory");
    SCB_AIRCR = AIRCR_VECTKEY_SYSRESETREQ;
    __asm__ volatile("dsb" ::: "memory");
    for (;;) {
    }
}
