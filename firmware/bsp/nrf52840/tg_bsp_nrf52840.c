/* nRF52840-DK board support: 64 MHz core clock (HFXO started for an accurate baud rate), the
 * UARTE0 instance on P0.06 (TX) / P0.08 (RX), which the on-board J-Link OB exposes as its virtual
 * COM port. Register-level (nRF52840 PS v1.x), no nrfx/SDK.
 *
 * The instance is enabled in its non-DMA UART mode (ENABLE = 4), which the nRF52840 still
 * implements at the same address: byte-wise RXD with a 6-byte hardware FIFO suits a polled,
 * byte-at-a-time protocol better than EasyDMA transfers (which could not read flash anyway). */
#include <stdint.h>

#include "tg_bsp.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

#define CLOCK_BASE 0x40000000u
#define CLOCK_TASKS_HFCLKSTART REG(CLOCK_BASE + 0x000u)
#define CLOCK_EVENTS_HFCLKSTARTED REG(CLOCK_BASE + 0x100u)

#define P0_BASE 0x50000000u
#define P0_OUTSET REG(P0_BASE + 0x508u)
#define P0_DIRSET REG(P0_BASE + 0x518u)
#define P0_PIN_CNF(n) REG(P0_BASE + 0x700u + 4u * (n))

#define UART0_BASE 0x40002000u
#define UART_TASKS_STARTRX REG(UART0_BASE + 0x000u)
#define UART_TASKS_STARTTX REG(UART0_BASE + 0x008u)
#define UART_EVENTS_RXDRDY REG(UART0_BASE + 0x108u)
#define UART_EVENTS_TXDRDY REG(UART0_BASE + 0x11Cu)
#define UART_EVENTS_ERROR REG(UART0_BASE + 0x124u)
#define UART_ERRORSRC REG(UART0_BASE + 0x480u)
#define UART_ENABLE REG(UART0_BASE + 0x500u)
#define UART_PSEL_RTS REG(UART0_BASE + 0x508u)
#define UART_PSEL_TXD REG(UART0_BASE + 0x50Cu)
#define UART_PSEL_CTS REG(UART0_BASE + 0x510u)
#define UART_PSEL_RXD REG(UART0_BASE + 0x514u)
#define UART_RXD REG(UART0_BASE + 0x518u)
#define UART_TXD REG(UART0_BASE + 0x51Cu)
#define UART_BAUDRATE REG(UART0_BASE + 0x524u)
#define UART_CONFIG REG(UART0_BASE + 0x56Cu)

#define TX_PIN 6u
#define RX_PIN 8u
#define BAUD_115200 0x01D7E000u

void tg_cm_cycles_init(void);

static void clock_init(void)
{
    uint32_t n;
    CLOCK_EVENTS_HFCLKSTARTED = 0u;
    CLOCK_TASKS_HFCLKSTART = 1u;
    for (n = 0; n < 10000000u && CLOCK_EVENTS_HFCLKSTARTED == 0u; ++n) {
    }
}

static void uart_init(void)
{
    P0_OUTSET = (1u << TX_PIN); /* idle high */
    P0_DIRSET = (1u << TX_PIN);
    P0_PIN_CNF(RX_PIN) = (3u << 2); /* input, buffer connected, pull-up */
    UART_ENABLE = 0u;
    UART_PSEL_RTS = 0xFFFFFFFFu;
    UART_PSEL_CTS = 0xFFFFFFFFu;
    UART_PSEL_TXD = TX_PIN; /* port 0, connected */
    UART_PSEL_RXD = RX_PIN;
    UART_BAUDRATE = BAUD_115200;
    UART_CONFIG = 0u; /* no parity, no flow control */
    UART_ENABLE = 4u;
    UART_EVENTS_RXDRDY = 0u;
    UART_EVENTS_TXDRDY = 0u;
    UART_TASKS_STARTTX = 1u;
    UART_TASKS_STARTRX = 1u;
}

void bsp_init(void)
{
    clock_init();
    uart_init();
    tg_cm_cycles_init();
}

void bsp_uart_write(const uint8_t *buf, uint32_t len)
{
    uint32_t i;
    for (i = 0; i < len; ++i) {
        UART_EVENTS_TXDRDY = 0u;
        UART_TXD = buf[i];
        while (UART_EVENTS_TXDRDY == 0u) {
            bsp_watchdog_feed(); /* waiting on the line is not a hang */
        }
    }
}

int bsp_uart_read_byte(void)
{
    while (UART_EVENTS_RXDRDY == 0u) {
        bsp_watchdog_feed(); /* waiting for the host is not a hang */
        if (UART_EVENTS_ERROR != 0u) {
            UART_EVENTS_ERROR = 0u;
            UART_ERRORSRC = UART_ERRORSRC; /* write 1s to clear */
        }
    }
    UART_EVENTS_RXDRDY = 0u;
    return (int)(UART_RXD & 0xFFu);
}

uint32_t bsp_cpu_hz(void)
{
    return 64000000u;
}
