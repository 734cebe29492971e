/* The field-ready layer: integrity, watchdog and safe mode, drift statistics (tg_field.h). */
#include "tg_field.h"

#if defined(__GNUC__) && !defined(__clang__)
/* Cold code (boot, safe mode, statistics on request): size over speed. */
#pragma GCC optimize("Os")
#endif

#include "tg_bsp.h"
#include "tg_protocol.h"

#if defined(__GNUC__)
/* Not zeroed by the start-up code, not loaded from the image: survives a watchdog reset. */
#define TG_NOINIT __attribute__((section(".noinit")))
#define TG_WEAK __attribute__((weak))
#else
#define TG_NOINIT
#define TG_WEAK
#endif

#define TG_RECORD_MAGIC 0x54474644u     /* "TGFD" */

/* What survives a reset. Garbage after power-on on real RAM: the magic and the seal decide. */
typedef struct {
    uint32_t magic;
    uint32_t boots;         /* resets since the record was made */
    uint32_t resets;        /* watchdog resets since the last completed inference */
    uint32_t seal;
} tg_record_t;

static TG_NOINIT tg_record_t tg_record;

static const tg_field_config_t *tg_cfg;
static uint8_t tg_health;
static uint8_t tg_watchdog_armed;
static uint32_t tg_failed_word;         /* first word of the digest that failed */

/* Boards without these keep the defaults: no watchdog, reset cause unknown. */
TG_WEAK int bsp_watchdog_start(uint32_t timeout_ms)
{
    (void)timeout_ms;
    return -1;
}

TG_WEAK void bsp_watchdog_feed(void)
{
}

TG_WEAK uint32_t bsp_reset_cause(void)
{
    return TG_RESET_UNKNOWN;
}

TG_WEAK void bsp_system_reset(void)
{
}

static uint32_t seal_of(const tg_record_t *r)
{
    return ~(r->magic ^ r->boots ^ (r->resets * 0x9E3779B9u));
}

static void reseal(void)
{
    tg_record.seal = seal_of(&tg_record);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* ---- integrity ------------------------------------------------------------------------------ */

/* One set's check: expected and computed digests written to want/got; 1 when they agree. */
static int check_set(const tg_const_set_t *set, uint8_t *want, uint8_t *got, uint32_t *len)
{
    uint32_t i;
    int same = 1;
    *len = tg_cfg->digest(set, got);
    (void)tg_set_expected(set, tg_cfg->integrity, want);
    for (i = 0; i < *len; ++i) {
        same &= (want[i] == got[i]);
    }
    return same;
}

/* Every set; the health follows (safe mode is left alone: only CLEAR or a power cycle ends it). */
static void check_all(void)
{
    uint8_t want[TG_DIGEST_MAX], got[TG_DIGEST_MAX];
    uint32_t len, k;
    int ok = 1;
    for (k = 0; k < tg_cfg->n_sets; ++k) {
        if (!check_set(&tg_cfg->sets[k], want, got, &len) && ok) {
            ok = 0;
            tg_failed_word = get_u32(got);
        }
    }
    if (tg_health != TG_HEALTH_SAFE_MODE) {
        tg_health = ok ? TG_HEALTH_READY : TG_HEALTH_INTEGRITY;
    }
}

/* INTEGRITY reply: u8 algorithm, u8 all sets agree, u8 sets, u8 digest bytes L; per set: u8 id,
 * u8 agrees, u16 0, u32 arrays, u32 bytes, L bytes expected, L bytes computed. */
static int32_t cmd_integrity(uint8_t *reply, uint32_t cap)
{
    uint32_t k, i, len = 0, n = 4;
    int all = 1;
    if (tg_cfg->integrity == TG_INTEGRITY_OFF || tg_cfg->digest == 0) {
        return -TG_ERR_NOT_BUILT;
    }
    if (4u + tg_cfg->n_sets * (12u + 2u * TG_DIGEST_MAX) > cap) {
        return -TG_ERR_TOO_LONG;
    }
    for (k = 0; k < tg_cfg->n_sets; ++k) {
        const tg_const_set_t *set = &tg_cfg->sets[k];
        uint8_t *got = reply + n + 12 + TG_DIGEST_MAX;
        int same = check_set(set, reply + n + 12, got, &len);
        if (!same && all) {
            tg_failed_word = get_u32(got);
        }
        for (i = 0; i < len; ++i) { /* the computed digest right after the expected one */
            reply[n + 12 + len + i] = got[i];
        }
        reply[n] = set->id;
        reply[n + 1] = (uint8_t)same;
        reply[n + 2] = 0u;
        reply[n + 3] = 0u;
        put_u32(reply + n + 4, set->count);
        put_u32(reply + n + 8, tg_set_bytes(set));
        n += 12u + 2u * len;
        all &= same;
    }
    if (tg_health != TG_HEALTH_SAFE_MODE) {
        tg_health = all ? TG_HEALTH_READY : TG_HEALTH_INTEGRITY;
    }
    reply[0] = tg_cfg->integrity;
    reply[1] = (uint8_t)all;
    reply[2] = tg_cfg->n_sets;
    reply[3] = (uint8_t)len;
    return (int32_t)n;
}

/* ---- predictions ---------------------------------------------------------------------------- */

/* t[a] > t[b] for an output tensor of any carried type (int64: compared as such). */
static int greater(const tg_tensor_t *t, const void *data, uint32_t a, uint32_t b)
{
    switch (t->dtype) {
    case TG_DTYPE_INT8:
        return ((const int8_t *)data)[a] > ((const int8_t *)data)[b];
    case TG_DTYPE_UINT8:
        return ((const uint8_t *)data)[a] > ((const uint8_t *)data)[b];
    case TG_DTYPE_INT16:
        return ((const int16_t *)data)[a] > ((const int16_t *)data)[b];
    case TG_DTYPE_INT32:
        return ((const int32_t *)data)[a] > ((const int32_t *)data)[b];
    case TG_DTYPE_INT64:
        return ((const int64_t *)data)[a] > ((const int64_t *)data)[b];
    default:
        return ((const float *)data)[a] > ((const float *)data)[b];
    }
}

/* The predicted class: the first largest element of output 0. */
static uint32_t argmax(const tg_tensor_t *t, const void *data)
{
    uint32_t i, best = 0u;
    for (i = 1u; i < t->count; ++i) {
        if (greater(t, data, i, best)) {
            best = i;
        }
    }
    return best;
}

/* ---- hooks ---------------------------------------------------------------------------------- */

static int gate(uint32_t *detail)
{
    if (tg_health == TG_HEALTH_SAFE_MODE) {
        *detail = tg_record.resets;
        return TG_ERR_SAFE_MODE;
    }
    if (tg_health == TG_HEALTH_INTEGRITY) {
        *detail = tg_failed_word;
        return TG_ERR_INTEGRITY;
    }
    bsp_watchdog_feed(); /* the whole bound for the inference */
    return 0;
}

static void done(const tg_app_t *app, const int16_t *samples, const int8_t *features,
                 void *const *outputs)
{
    const tg_stats_hooks_t *st = tg_cfg->stats;
    if (tg_record.resets != 0u) { /* it works again: the watchdog resets were not in a row */
        tg_record.resets = 0u;
        reseal();
    }
    if (st != 0 && samples != 0 && features != 0) {
        st->window(samples, features);
        if (st->classes != 0u && app->n_outputs > 0u && app->outputs[0].count == st->classes) {
            st->predicted(argmax(&app->outputs[0], outputs[0]));
        }
    }
    bsp_watchdog_feed();
}

static void info(uint8_t *p)
{
    uint8_t flags = 0u;
    if (tg_watchdog_armed) {
        flags |= TG_FIELD_FLAG_WATCHDOG;
    }
    if (tg_cfg->stats != 0) {
        flags |= TG_FIELD_FLAG_STATS;
    }
#if defined(TG_TWIN)
    flags |= TG_FIELD_FLAG_TEST_HOOKS;
#endif
    p[0] = tg_health;
    p[1] = tg_cfg->integrity;
    p[2] = flags;
    p[3] = (uint8_t)(tg_record.resets > 255u ? 255u : tg_record.resets);
    put_u32(p + 4, tg_watchdog_armed ? tg_cfg->watchdog_ms : 0u);
    put_u32(p + 8, tg_record.boots);
}

static int32_t cmd_stats(const uint8_t *payload, uint32_t len, uint8_t *reply, uint32_t cap,
                         uint32_t *detail)
{
    const tg_stats_hooks_t *st = tg_cfg->stats;
    uint32_t n;
    if (st == 0) {
        return -TG_ERR_NOT_BUILT;
    }
    if (len != 1u) {
        *detail = 1u;
        return -TG_ERR_BAD_LENGTH;
    }
    n = st->read(reply, cap);
    if (n == 0u) {
        *detail = cap;
        return -TG_ERR_TOO_LONG;
    }
    if (payload[0] & 1u) {
        st->reset();
    }
    return (int32_t)n;
}

static int32_t cmd_clear(uint8_t *reply)
{
    tg_record.resets = 0u;
    reseal();
    tg_health = TG_HEALTH_READY;
    if (tg_cfg->integrity != TG_INTEGRITY_OFF && tg_cfg->digest != 0) {
        check_all();
    }
    reply[0] = tg_health;
    return 1;
}

static int32_t command(uint8_t cmd, const uint8_t *payload, uint32_t len, uint8_t *reply,
                       uint32_t cap, uint32_t *detail)
{
    if ((cmd == TG_CMD_INTEGRITY || cmd == TG_CMD_CLEAR) && len != 0u) {
        *detail = 0u;
        return -TG_ERR_BAD_LENGTH;
    }
    switch (cmd) {
    case TG_CMD_INTEGRITY:
        return cmd_integrity(reply, cap);
    case TG_CMD_STATS:
        return cmd_stats(payload, len, reply, cap, detail);
    case TG_CMD_CLEAR:
        return cmd_clear(reply);
#if defined(TG_TWIN)
    case TG_CMD_HANG: /* a stuck kernel, for the watchdog test: spin, never feed */
        for (;;) {
        }
#endif
    default:
        return -TG_ERR_UNKNOWN_CMD;
    }
}

const struct tg_field_hooks tg_field_hooks = {
    .gate = gate,
    .done = done,
    .info = info,
    .command = command,
};

/* ---- boot ----------------------------------------------------------------------------------- */

static void read_record(void)
{
    uint32_t cause = bsp_reset_cause();
    if (cause == TG_RESET_POWER_ON || tg_record.magic != TG_RECORD_MAGIC ||
        tg_record.seal != seal_of(&tg_record)) {
        tg_record.magic = TG_RECORD_MAGIC;
        tg_record.boots = 0u;
        tg_record.resets = 0u;
    }
    tg_record.boots += 1u;
    if (cause == TG_RESET_WATCHDOG) {
        tg_record.resets += 1u;
    }
    reseal();
}

void tg_field_boot(const tg_field_config_t *config)
{
    tg_cfg = config;
    read_record();
    tg_health = TG_HEALTH_READY;
    if (config->safe_mode_resets != 0u && tg_record.resets >= config->safe_mode_resets) {
        tg_health = TG_HEALTH_SAFE_MODE;
    }
    /* Armed before the check, so that a check that faults or hangs also ends in a reset. */
    if (config->watchdog_ms != 0u) {
        tg_watchdog_armed = (uint8_t)(bsp_watchdog_start(config->watchdog_ms) == 0);
    }
    /* Safe mode runs nothing that may have hung before; INTEGRITY runs the check on request. */
    if (tg_health == TG_HEALTH_READY && config->integrity != TG_INTEGRITY_OFF &&
        config->digest != 0) {
        tg_mark_begin(4u);
        check_all();
        tg_mark_end(4u);
    }
}
