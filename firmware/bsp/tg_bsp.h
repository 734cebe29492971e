/* Board support interface: the only thing the harness and protocol need from a board.
 * One implementation per board family lives in firmware/bsp/<family>/ (owned by the boards work);
 * emulated twins (QEMU) have their own. C99, no malloc, no libc I/O. */
#ifndef TG_BSP_H
#define TG_BSP_H

#include <stdint.h>

/* Clocks, UART (the debug probe's virtual COM port), cycle counter. */
void bsp_init(void);

/* Blocking write of len bytes to the serial port. */
void bsp_uart_write(const uint8_t *buf, uint32_t len);

/* Blocking read of one byte; returns the byte (0..255). */
int bsp_uart_read_byte(void);

/* Free-running CPU cycle counter (DWT CYCCNT on Cortex-M3+); returns 0 where none exists. */
uint32_t bsp_cycles(void);

/* Core clock in Hz (what bsp_cycles() counts). */
uint32_t bsp_cpu_hz(void);

/* End the program: on an emulated twin QEMU exits with `code` (semihosting / test device);
 * on hardware this spins forever. */
void bsp_exit(int code);

/* Watchdog and resets (firmware/harness/tg_field.c arms and feeds it). A board without them keeps
 * the weak defaults in tg_field.c: bsp_watchdog_start returns nonzero ("none"), bsp_reset_cause
 * TG_RESET_UNKNOWN. A BSP that arms a watchdog also feeds it while it waits in its UART loops:
 * waiting for the host is not a hang. */
enum tg_reset_cause {
    TG_RESET_UNKNOWN = 0,
    TG_RESET_POWER_ON = 1,      /* power-on or brown-out: no-init RAM holds garbage */
    TG_RESET_WATCHDOG = 2,      /* the independent watchdog expired */
    TG_RESET_OTHER = 3          /* reset pin, software reset, debugger */
};

/* Arm the independent watchdog to expire timeout_ms after the last feed (at least that long,
 * whatever the clock's tolerance). Returns 0 when armed; it cannot be stopped afterwards. */
int bsp_watchdog_start(uint32_t timeout_ms);
void bsp_watchdog_feed(void);
/* Why the core last reset (enum tg_reset_cause); read once at boot. */
uint32_t bsp_reset_cause(void);
/* Reset the whole chip now. */
void bsp_system_reset(void);

/* For a start-up's reset handler: its data copy and bss zeroing stay loops. GCC would turn
 * them into memcpy and memset calls and link 470 B of newlib for them (issue 12's code budget;
 * start-up runs once). */
#if defined(__GNUC__) && !defined(__clang__)
#define TG_RESET_LOOPS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define TG_RESET_LOOPS
#endif

#endif
