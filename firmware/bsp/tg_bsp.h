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

#endif
