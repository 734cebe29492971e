/* Watchdog and reset cause for Espressif boards under ESP-IDF: the task watchdog (TWDG, backed by
 * the timer group's hardware WDT) subscribed by the harness task and set to panic, which resets
 * the chip; esp_reset_reason() says why the chip last reset. The field layer's reset record lives
 * in .noinit, which ESP-IDF's linker scripts keep across a software or watchdog reset.
 * Not compiled here (no Xtensa/ESP-IDF toolchain offline); ESP-IDF v4.4 and v5.x APIs. */
#include <stdint.h>

#include "esp_idf_version.h"
#include "esp_system.h"
#include "esp_task_wdt.h"

#include "tg_bsp.h"

static uint8_t tg_wdt_armed;

int bsp_watchdog_start(uint32_t timeout_ms)
{
#if ESP_IDF_VERSION_MAJOR >= 5
    const esp_task_wdt_config_t cfg = {
        .timeout_ms = timeout_ms,
        .idle_core_mask = 0u,       /* watch the harness task, not the idle tasks */
        .trigger_panic = true,      /* a panic resets the chip */
    };
    if (esp_task_wdt_reconfigure(&cfg) != ESP_OK && esp_task_wdt_init(&cfg) != ESP_OK) {
        return -1;
    }
#else
    if (esp_task_wdt_init((timeout_ms + 999u) / 1000u, true) != ESP_OK) {
        return -1;
    }
#endif
    if (esp_task_wdt_add(NULL) != ESP_OK) {
        return -1;
    }
    tg_wdt_armed = 1u;
    return 0;
}

void bsp_watchdog_feed(void)
{
    if (tg_wdt_armed) {
        (void)esp_task_wdt_reset();
    }
}

uint32_t bsp_reset_cause(void)
{
    switch (esp_reset_reason()) {
    case ESP_RST_POWERON:
    case ESP_RST_BROWNOUT:
        return TG_RESET_POWER_ON;
    case ESP_RST_TASK_WDT:
    case ESP_RST_INT_WDT:
    case ESP_RST_WDT:
        return TG_RESET_WATCHDOG;
    default:
        return TG_RESET_OTHER;
    }
}

void bsp_system_reset(void)
{
    esp_restart();
}
