/* Reset handler, vector table and DWT cycle counter shared by tinygen's real Cortex-M boards.
 *
 * The reset handler copies .data from flash, zeroes .bss, grants the FPU (CPACR CP10/CP11 full
 * access) in hard-float builds, then calls main(). No interrupt is enabled by tinygen's firmware
 * (the UART is polled), so the table stops after the 16 system exceptions; a fault parks the core
 * in tg_fault_handler, where a debugger finds it. C99, no libc start files. */
#include <stdint.h>

#include "tg_bsp.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int main(void);

void tg_reset_handler(void);
void tg_fault_handler(void);

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define DWT_LAR (*(volatile uint32_t *)0xE0001FB0u)

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
    SCB_CPACR |= (0xFu << 20);
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    (void)main();
    for (;;) {
    }
}

void tg_fault_handler(void)
{
    for (;;) {
    }
}

typedef void (*tg_vector_t)(void);

__attribute__((section(".isr_vector"), used)) const tg_vector_t tg_vectors[16] = {
    (tg_vector_t)(uintptr_t)&_estack, /* initial stack pointer */
    tg_reset_handler,
    tg_fault_handler, /* NMI */
    tg_fault_handler, /* HardFault */
    tg_fault_handler, /* MemManage */
    tg_fault_handler, /* BusFault */
    tg_fault_handler, /* UsageFault */
    0, 0, 0, 0,
    tg_fault_handler, /* SVCall */
    tg_fault_handler, /* DebugMonitor */
    0,
    tg_fault_handler, /* PendSV */
    tg_fault_handler  /* SysTick */
};

/* DWT CYCCNT: enable trace (DEMCR.TRCENA), unlock (Cortex-M7 has a lock), start counting. */
void tg_cm_cycles_init(void);
void tg_cm_cycles_init(void)
{
    DEMCR |= (1u << 24);
    DWT_LAR = 0xC5ACCE55u;
    DWT_CYCCNT = 0u;
    DWT_CTRL |= 1u;
}

/* Weak: ARMv6-M cores (the RP2040's M0+) have no CYCCNT, their BSP counts with a timer. */
__attribute__((weak)) uint32_t bsp_cycles(void)
{
    return DWT_CYCCNT;
}

void bsp_exit(int code)
{
    (void)code; /* real hardware: nothing to return to */
    for (;;) {
    }
}
