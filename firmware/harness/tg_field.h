/* The field-ready layer of the harness: what an unattended device needs beyond the protocol.
 *
 * - Integrity: at boot and on request (INTEGRITY), a CRC-32 or SHA-256 over every constant array
 *   in flash, compared with the digest generated beside them; on a mismatch the device refuses to
 *   infer (ERROR TG_ERR_INTEGRITY) instead of returning plausible garbage.
 * - Watchdog and safe mode: the board's independent watchdog is armed with a bound tinygen
 *   derived from the inference time, fed while the harness waits and between inferences. A
 *   record in no-init RAM counts watchdog resets in a row; after `safe_mode_resets` of them the
 *   device starts in safe mode: it answers INFO (which says why) but refuses to infer. A
 *   completed inference, a power cycle or CLEAR ends the count.
 * - Drift statistics: each raw window's features and each prediction go to the statistics
 *   (firmware/features/tg_stats.c), read and reset with STATS.
 * Each part is chosen at generation time; the generated src/main.c fills a tg_field_config_t.
 * C99, no malloc. */
#ifndef TG_FIELD_H
#define TG_FIELD_H

#include <stdint.h>

#include "tg_app.h"
#include "tg_integrity.h"

enum tg_health {
    TG_HEALTH_READY = 0,
    TG_HEALTH_INTEGRITY = 1,        /* constants in flash failed their check: no inference */
    TG_HEALTH_SAFE_MODE = 2         /* too many watchdog resets in a row: no inference */
};

/* INFO's field block, after the three strings (tinygen/wire.py FIELD_INFO):
 *   u8 health, u8 integrity algorithm, u8 flags, u8 watchdog resets in a row,
 *   u32 watchdog bound in ms (0: none armed), u32 boots since the record was made */
#define TG_FIELD_INFO_BYTES 12u
#define TG_FIELD_FLAG_WATCHDOG 1u       /* a watchdog is armed */
#define TG_FIELD_FLAG_STATS 2u          /* drift statistics (STATS) */
#define TG_FIELD_FLAG_TEST_HOOKS 4u     /* HANG (twin builds only) */

/* Drift statistics as the harness drives them (firmware/features/tg_stats.h). */
typedef struct {
    void (*window)(const int16_t *samples, const int8_t *features);
    void (*predicted)(uint32_t cls);
    void (*reset)(void);
    uint32_t (*read)(uint8_t *out, uint32_t cap);   /* the STATS reply; 0 when cap is too small */
    uint32_t classes;                               /* histogram length; 0: none */
} tg_stats_hooks_t;

typedef struct {
    uint8_t integrity;                  /* enum tg_integrity_algo */
    tg_digest_fn digest;                /* tg_set_crc32 or tg_set_sha256; NULL when off */
    uint8_t n_sets;
    const tg_const_set_t *sets;
    uint32_t watchdog_ms;               /* 0: no watchdog */
    uint32_t safe_mode_resets;          /* watchdog resets in a row that start safe mode; 0: never */
    const tg_stats_hooks_t *stats;      /* NULL: no statistics */
} tg_field_config_t;

/* What the protocol (tg_protocol.c) calls; every member may be NULL. */
struct tg_field_hooks {
    /* Before an inference: 0 to go ahead, else a TG_ERR_* code and *detail for the ERROR frame. */
    int (*gate)(uint32_t *detail);
    /* After a successful inference; samples and features are NULL for INFER. */
    void (*done)(const tg_app_t *app, const int16_t *samples, const int8_t *features,
                 void *const *outputs);
    /* Writes INFO's field block, TG_FIELD_INFO_BYTES bytes. */
    void (*info)(uint8_t *p);
    /* A command the core protocol does not know: the reply's length (written to reply, at most
     * cap bytes), or -TG_ERR_* with *detail. */
    int32_t (*command)(uint8_t cmd, const uint8_t *payload, uint32_t len, uint8_t *reply,
                       uint32_t cap, uint32_t *detail);
};

extern const struct tg_field_hooks tg_field_hooks;

/* At boot, after bsp_init() and before tg_protocol_run(): read the reset record, decide on safe
 * mode, check the constants, arm the watchdog. */
void tg_field_boot(const tg_field_config_t *config);

#endif
