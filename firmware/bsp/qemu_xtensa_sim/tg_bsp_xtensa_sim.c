/* Board support for the Xtensa twin: QEMU's `sim` machine with the de233_fpu core (see
 * tg_start.S). The machine has no UART. Its serial line is what QEMU's simcalls read and write on
 * the guest's file descriptors 0 and 1. The twin runs QEMU with `-serial none`, so these are
 * QEMU's own stdin and stdout (a socket tinygen holds the other end of), read and written by the
 * vCPU thread alone; with a `-serial` device they would go through QEMU's simcall console, whose
 * input buffer two threads share without a lock and which loses bytes under load (tinygen/twin.py).
 * The read waits in a select with a timeout, so the guest sleeps rather than spins while the host
 * is silent, and its vCPU is never blocked for longer than that (QEMU can always stop it). The
 * bytes pass unchanged both ways (binary-clean, checked with every byte value). SIMCALL also ends
 * QEMU with a status. C99; the instruction is written as bytes, because LLVM's assembler has no
 * mnemonic for it. */
#include <stdint.h>

#include "tg_bsp.h"

#define TG_SYS_EXIT 1
#define TG_SYS_READ 3
#define TG_SYS_WRITE 4
#define TG_FD_IN 0
#define TG_FD_OUT 1
#define TG_SYS_SELECT_ONE 29
#define TG_SELECT_READ 1
#define TG_READ_WAIT_US 20000 /* one select's longest wait for input */
#define TG_RX_BYTES 64u       /* bytes taken per read: fewer simcalls for a long frame */

#ifndef TG_BSP_CPU_HZ
#define TG_BSP_CPU_HZ 240000000u /* the ESP32's clock; the twin's counter counts instructions */
#endif

extern int main(void);
void tg_xtensa_main(void);

/* QEMU's simcall ABI: a2 = call number, a3..a5 = arguments; a2 = result, a3 = errno. */
static int32_t tg_simcall(int32_t nr, int32_t a, int32_t b, int32_t c)
{
    register int32_t r2 __asm__("a2") = nr;
    register int32_t r3 __asm__("a3") = a;
    register int32_t r4 __asm__("a4") = b;
    register int32_t r5 __asm__("a5") = c;
    __asm__ volatile(".byte 0x00, 0x51, 0x00" : "+r"(r2), "+r"(r3) : "r"(r4), "r"(r5) : "memory");
    return r2;
}

void tg_xtensa_main(void)
{
    bsp_exit(main());
}

void bsp_init(void)
{
}

void bsp_uart_write(const uint8_t *buf, uint32_t len)
{
    while (len > 0u) {
        const int32_t n = tg_simcall(TG_SYS_WRITE, TG_FD_OUT, (int32_t)(uintptr_t)buf, (int32_t)len);
        if (n <= 0) {
            return; /* the host has gone: nothing to deliver to */
        }
        buf += n;
        len -= (uint32_t)n;
    }
}

static uint8_t tg_rx[TG_RX_BYTES];
static uint32_t tg_rx_head;
static uint32_t tg_rx_len;

int bsp_uart_read_byte(void)
{
    while (tg_rx_head == tg_rx_len) {
        /* {seconds, microseconds}, as the host's struct timeval */
        const int32_t wait[2] = {0, TG_READ_WAIT_US};
        if (tg_simcall(TG_SYS_SELECT_ONE, TG_FD_IN, TG_SELECT_READ, (int32_t)(uintptr_t)wait) > 0) {
            const int32_t n = tg_simcall(TG_SYS_READ, TG_FD_IN, (int32_t)(uintptr_t)tg_rx,
                                         (int32_t)TG_RX_BYTES);
            tg_rx_head = 0u;
            tg_rx_len = n > 0 ? (uint32_t)n : 0u; /* 0: the host closed the line; wait on */
        }
    }
    return (int)tg_rx[tg_rx_head++];
}

uint32_t bsp_cycles(void)
{
    uint32_t c;
    __asm__ volatile("rsr %0, ccount" : "=r"(c));
    return c;
}

uint32_t bsp_cpu_hz(void)
{
    return TG_BSP_CPU_HZ;
}

void bsp_exit(int code)
{
    for (;;) {
        (void)tg_simcall(TG_SYS_EXIT, code, 0, 0);
    }
}
