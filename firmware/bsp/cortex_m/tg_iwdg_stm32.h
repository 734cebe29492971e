/* The STM32 independent watchdog (IWDG), the same block on the F4, L4 and H7 (RM0090 21, RM0351
 * 37, RM0433 45): a 12-bit down-counter clocked by the LSI RC oscillator through a prescaler of
 * 4 x 2^PR, which resets the chip at zero; nothing stops it once started.
 * A family's tg_wdt_stm32*.c defines TG_IWDG_BASE and TG_LSI_MAX_HZ (the datasheet's fastest
 * LSI: the bound is computed at that frequency, so a slower LSI only lengthens it) and includes
 * this header. Header-only, static functions; C99. */
#ifndef TG_IWDG_STM32_H
#define TG_IWDG_STM32_H

#include <stdint.h>

#define TG_IWDG_KR (*(volatile uint32_t *)(TG_IWDG_BASE + 0x00u))
#define TG_IWDG_PR (*(volatile uint32_t *)(TG_IWDG_BASE + 0x04u))
#define TG_IWDG_RLR (*(volatile uint32_t *)(TG_IWDG_BASE + 0x08u))
#define TG_IWDG_SR (*(volatile uint32_t *)(TG_IWDG_BASE + 0x0Cu))
#define TG_IWDG_KEY_START 0xCCCCu
#define TG_IWDG_KEY_ACCESS 0x5555u
#define TG_IWDG_KEY_REFRESH 0xAAAAu

static uint8_t tg_iwdg_armed;

/* Smallest prescaler whose 4096-count range holds timeout_ms at TG_LSI_MAX_HZ; the longest
 * (prescaler 256) if none does. */
static int tg_iwdg_start(uint32_t timeout_ms)
{
    uint32_t pr, ticks = 4096u, n;
    uint32_t lsi_ticks = timeout_ms * (TG_LSI_MAX_HZ / 1000u);   /* < 2^31 for <= 30 s */
    for (pr = 0u; pr <= 6u; ++pr) {
        ticks = (lsi_ticks + (4u << pr) - 1u) / (4u << pr);
        if (ticks <= 4096u) {
            break;
        }
    }
    if (pr > 6u) {
        pr = 6u;
        ticks = 4096u;
    }
    if (ticks == 0u) {
        ticks = 1u;
    }
    TG_IWDG_KR = TG_IWDG_KEY_START;       /* also starts the LSI */
    TG_IWDG_KR = TG_IWDG_KEY_ACCESS;
    TG_IWDG_PR = pr;
    TG_IWDG_RLR = ticks - 1u;
    for (n = 0u; n < 1000000u && TG_IWDG_SR != 0u; ++n) { /* PVU/RVU: a few LSI cycles */
    }
    TG_IWDG_KR = TG_IWDG_KEY_REFRESH;
    tg_iwdg_armed = 1u;
    return 0;
}

static void tg_iwdg_feed(void)
{
    if (tg_iwdg_armed) {
        TG_IWDG_KR = TG_IWDG_KEY_REFRESH;
    }
}

#endif
