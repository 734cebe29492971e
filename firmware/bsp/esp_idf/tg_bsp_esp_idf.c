/* Board support for Espressif boards under ESP-IDF (the official PlatformIO environment:
 * platform = espressif32, framework = espidf): UART0 through the USB-UART bridge, the CPU cycle
 * counter, and app_main() calling the harness' main(). Not compiled here (no Xtensa compiler
 * and no ESP-IDF offline); it uses only long-stable ESP-IDF v4.4/v5.x APIs. */
#include <stdint.h>

#include "driver/uart.h"
#include "esp_cpu.h"
#include "esp_private/esp_clk.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"

#include "tg_bsp.h"

#ifndef TG_BAUD
#define TG_BAUD 115200
#endif

extern int main(void);

void bsp_init(void)
{
    const uart_config_t cfg = {
        .baud_rate = TG_BAUD,
        .data_bits = UART_DATA_8_BITS,
        .parity = UART_PARITY_DISABLE,
        .stop_bits = UART_STOP_BITS_1,
        .flow_ctrl = UART_HW_FLOWCTRL_DISABLE,
    };
    uart_driver_install(UART_NUM_0, 4096, 0, 0, NULL, 0);
    uart_param_config(UART_NUM_0, &cfg);
}

void bsp_uart_write(const uint8_t *buf, uint32_t len)
{
    uart_write_bytes(UART_NUM_0, (const char *)buf, len);
    uart_wait_tx_done(UART_NUM_0, portMAX_DELAY);
}

int bsp_uart_read_byte(void)
{
    uint8_t b = 0;
    /* Wake every 100 ms to feed the watchdog (tg_wdt_esp_idf.c): waiting is not a hang. */
    while (uart_read_bytes(UART_NUM_0, &b, 1, pdMS_TO_TICKS(100)) != 1) {
        bsp_watchdog_feed();
    }
    return (int)b;
}

uint32_t bsp_cycles(void)
{
    return (uint32_t)esp_cpu_get_cycle_count();
}

uint32_t bsp_cpu_hz(void)
{
    return (uint32_t)esp_clk_cpu_freq();
}

void bsp_exit(int code)
{
    (void)code;
    for (;;) {
        vTaskDelay(1000);
    }
}

void app_main(void)
{
    (void)main();
}
