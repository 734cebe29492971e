/* Reset handler and vector table for the Cortex-M QEMU twins: copy .data, zero .bss, turn the
 * FPU on (CPACR CP10/CP11 full access) for hard-float builds, run main(), exit with its status. */
#include <stdint.h>

#include "tg_bsp.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int main(void);

void tg_reset_handler(void);
void tg_fault_handler(void);
/* The NMI: a fault unless the BSP's watchdog claims it (tg_wdt_*.c defines it). */
void tg_nmi_handler(void) __attribute__((weak, alias("tg_fault_handler")));

TG_RESET_LOOPS void tg_reset_handler(void)
{
    uint32_t *src = &_sidata;
    uint32_t *dst = &_sdata;
    while (dst < &_edata) {
        *dst++ = *src++;
    }
    for (dst = &_sbss; dst < &_ebss; ++dst) {
        *dst = 0u;
    }
#if defined(__ARM_FP)
    *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20);
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    bsp_exit(main());
}

void tg_fault_handler(void)
{
    bsp_exit(3); /* any fault: QEMU exits with status 3 */
}

typedef void (*tg_vector_t)(void);

__attribute__((section(".isr_vector"), used)) const tg_vector_t tg_vectors[16] = {
    (tg_vector_t)(uintptr_t)&_estack, /* initial stack pointer */
    tg_reset_handler,
    tg_nmi_handler,   /* NMI: the watchdog's early warning on the MPS2 twins */
    tg_fault_handler, /* HardFault */
    tg_fault_handler, /* MemManage */
    tg_fault_handler, /* BusFault */
    tg_fault_handler, /* UsageFault */
    0, 0, 0, 0,
    tg_fault_handler, /* SVC */
    tg_fault_handler, /* DebugMon */
    0,
    tg_fault_handler, /* PendSV */
    tg_fault_handler  /* SysTick */
};
