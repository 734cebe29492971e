/* tinygen validation protocol, firmware side: a frame parser and four commands over tg_bsp.h.
 * Frame layout and commands: tg_protocol.h. Static buffers only; nothing here allocates. */
#include "tg_protocol.h"

#include <stddef.h>

#include "tg_bsp.h"

#if defined(__GNUC__) && !defined(__clang__)
#define TG_NOIPA __attribute__((noipa, used))
#elif defined(__GNUC__)
#define TG_NOIPA __attribute__((noinline, used))
#else
#define TG_NOIPA
#endif

/* INFO reply layout (little-endian), offsets in bytes. */
enum {
    TG_INFO_VERSION = 0,       /* u16 protocol version */
    TG_INFO_FLAGS = 2,         /* u16 bit0: has a front end (INFER_RAW) */
    TG_INFO_SHA256 = 4,        /* u8[32] SHA-256 of the .tflite */
    TG_INFO_INPUT_BYTES = 36,  /* u32 */
    TG_INFO_OUTPUT_BYTES = 40, /* u32 */
    TG_INFO_ARENA_BYTES = 44,  /* u32 */
    TG_INFO_RAW_SAMPLES = 48,  /* u32 int16 samples per window, 0 if none */
    TG_INFO_MAX_PAYLOAD = 52,  /* u32 */
    TG_INFO_CPU_HZ = 56,       /* u32 */
    TG_INFO_IN_SCALE = 60,     /* f32 */
    TG_INFO_IN_ZP = 64,        /* i32 */
    TG_INFO_OUT_SCALE = 68,    /* f32 */
    TG_INFO_OUT_ZP = 72,       /* i32 */
    TG_INFO_STRINGS = 76       /* u8 len + board, u8 len + build flags (each at most 64 bytes) */
};

#define TG_INFO_MAX_STRING 64u

/* Aligned so that payloads can be read as int16 in place. */
static union {
    uint32_t align;
    uint8_t bytes[TG_PROTO_MAX_PAYLOAD];
} rx_buf;

static union {
    uint32_t align;
    uint8_t bytes[TG_PROTO_MAX_PAYLOAD];
} tx_buf;

uint16_t tg_crc16(uint16_t crc, const uint8_t *data, uint32_t len)
{
    uint32_t i;
    int bit;
    for (i = 0; i < len; ++i) {
        crc = (uint16_t)(crc ^ ((uint16_t)data[i] << 8));
        for (bit = 0; bit < 8; ++bit) {
            if (crc & 0x8000u) {
                crc = (uint16_t)((crc << 1) ^ 0x1021u);
            } else {
                crc = (uint16_t)(crc << 1);
            }
        }
    }
    return crc;
}

TG_NOIPA void tg_mark_begin(uint32_t id)
{
    (void)id;
#if defined(__GNUC__)
    __asm__ volatile("" ::: "memory");
#endif
}

TG_NOIPA void tg_mark_end(uint32_t id)
{
    (void)id;
#if defined(__GNUC__)
    __asm__ volatile("" ::: "memory");
#endif
}

static void put_u16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
    p[2] = (uint8_t)((v >> 16) & 0xFFu);
    p[3] = (uint8_t)((v >> 24) & 0xFFu);
}

static void put_f32(uint8_t *p, float f)
{
    union {
        float f;
        uint32_t u;
    } v; /* C99 type punning through a union: the float's IEEE-754 bits */
    v.f = f;
    put_u32(p, v.u);
}

static void copy_bytes(uint8_t *dst, const uint8_t *src, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; ++i) {
        dst[i] = src[i];
    }
}

static void send_frame(uint8_t cmd, const uint8_t *payload, uint32_t len)
{
    uint8_t head[4];
    uint8_t tail[2];
    uint16_t crc;
    head[0] = (uint8_t)TG_FRAME_START;
    head[1] = cmd;
    put_u16(&head[2], len);
    crc = tg_crc16(0xFFFFu, &head[1], 3u);
    crc = tg_crc16(crc, payload, len);
    put_u16(tail, crc);
    bsp_uart_write(head, 4u);
    if (len > 0u) {
        bsp_uart_write(payload, len);
    }
    bsp_uart_write(tail, 2u);
}

static void send_error(uint8_t code, uint8_t cmd, uint32_t detail)
{
    uint8_t p[8];
    p[0] = code;
    p[1] = cmd;
    p[2] = 0u;
    p[3] = 0u;
    put_u32(&p[4], detail);
    send_frame((uint8_t)TG_CMD_ERROR, p, 8u);
}

static uint32_t put_string(uint8_t *p, const char *s)
{
    uint32_t n = 0;
    if (s != NULL) {
        while (s[n] != '\0' && n < TG_INFO_MAX_STRING) {
            ++n;
        }
        copy_bytes(p + 1, (const uint8_t *)s, n);
    }
    p[0] = (uint8_t)n;
    return n + 1u;
}

static void do_info(const tg_app_t *app)
{
    uint8_t *p = tx_buf.bytes;
    uint32_t n;
    for (n = 0; n < TG_INFO_STRINGS; ++n) {
        p[n] = 0u;
    }
    put_u16(p + TG_INFO_VERSION, TG_PROTOCOL_VERSION);
    put_u16(p + TG_INFO_FLAGS, (app->features != NULL && app->raw_samples > 0u) ? 1u : 0u);
    if (app->model_sha256 != NULL) {
        copy_bytes(p + TG_INFO_SHA256, app->model_sha256, 32u);
    }
    put_u32(p + TG_INFO_INPUT_BYTES, app->input_bytes);
    put_u32(p + TG_INFO_OUTPUT_BYTES, app->output_bytes);
    put_u32(p + TG_INFO_ARENA_BYTES, app->arena_bytes);
    put_u32(p + TG_INFO_RAW_SAMPLES, app->raw_samples);
    put_u32(p + TG_INFO_MAX_PAYLOAD, TG_PROTO_MAX_PAYLOAD);
    put_u32(p + TG_INFO_CPU_HZ, bsp_cpu_hz());
    put_f32(p + TG_INFO_IN_SCALE, app->input_scale);
    put_u32(p + TG_INFO_IN_ZP, (uint32_t)app->input_zero_point);
    put_f32(p + TG_INFO_OUT_SCALE, app->output_scale);
    put_u32(p + TG_INFO_OUT_ZP, (uint32_t)app->output_zero_point);
    n = TG_INFO_STRINGS;
    n += put_string(p + n, app->board);
    n += put_string(p + n, app->build_flags);
    send_frame(TG_REPLY(TG_CMD_INFO), p, n);
}

static void do_infer_features(const tg_app_t *app, const uint8_t *payload, uint32_t len)
{
    uint32_t t0, t1;
    int status;
    int8_t *out = (int8_t *)(tx_buf.bytes + 4);
    if (len != app->input_bytes) {
        send_error(TG_ERR_BAD_LENGTH, TG_CMD_INFER_FEATURES, app->input_bytes);
        return;
    }
    if (4u + app->output_bytes > TG_PROTO_MAX_PAYLOAD) {
        send_error(TG_ERR_TOO_LONG, TG_CMD_INFER_FEATURES, TG_PROTO_MAX_PAYLOAD);
        return;
    }
    tg_mark_begin(2u);
    t0 = bsp_cycles();
    status = app->invoke((const int8_t *)payload, out);
    t1 = bsp_cycles();
    tg_mark_end(2u);
    if (status != 0) {
        send_error(TG_ERR_INVOKE, TG_CMD_INFER_FEATURES, (uint32_t)status);
        return;
    }
    put_u32(tx_buf.bytes, t1 - t0);
    send_frame(TG_REPLY(TG_CMD_INFER_FEATURES), tx_buf.bytes, 4u + app->output_bytes);
}

static void do_infer_raw(const tg_app_t *app, uint8_t *payload, uint32_t len)
{
    uint32_t i, t0, t1, t2, t3;
    int status;
    int16_t *samples = (int16_t *)(void *)payload;
    int8_t *features = (int8_t *)(tx_buf.bytes + 8);
    int8_t *out = (int8_t *)(tx_buf.bytes + 8 + app->input_bytes);
    if (app->features == NULL || app->raw_samples == 0u) {
        send_error(TG_ERR_NO_FRONT_END, TG_CMD_INFER_RAW, 0u);
        return;
    }
    if (len != 2u * app->raw_samples) {
        send_error(TG_ERR_BAD_LENGTH, TG_CMD_INFER_RAW, 2u * app->raw_samples);
        return;
    }
    if (8u + app->input_bytes + app->output_bytes > TG_PROTO_MAX_PAYLOAD) {
        send_error(TG_ERR_TOO_LONG, TG_CMD_INFER_RAW, TG_PROTO_MAX_PAYLOAD);
        return;
    }
    /* Little-endian bytes -> int16, in place (same positions), whatever the core's byte order. */
    for (i = 0; i < app->raw_samples; ++i) {
        uint16_t u = (uint16_t)(payload[2u * i] | ((uint16_t)payload[2u * i + 1u] << 8));
        samples[i] = (int16_t)(u >= 0x8000u ? (int32_t)u - 0x10000 : (int32_t)u);
    }
    tg_mark_begin(1u);
    t0 = bsp_cycles();
    status = app->features(samples, features);
    t1 = bsp_cycles();
    tg_mark_end(1u);
    if (status != 0) {
        send_error(TG_ERR_INVOKE, TG_CMD_INFER_RAW, (uint32_t)status);
        return;
    }
    tg_mark_begin(2u);
    t2 = bsp_cycles();
    status = app->invoke(features, out);
    t3 = bsp_cycles();
    tg_mark_end(2u);
    if (status != 0) {
        send_error(TG_ERR_INVOKE, TG_CMD_INFER_RAW, (uint32_t)status);
        return;
    }
    put_u32(tx_buf.bytes, t1 - t0);
    put_u32(tx_buf.bytes + 4, t3 - t2);
    send_frame(TG_REPLY(TG_CMD_INFER_RAW), tx_buf.bytes,
               8u + app->input_bytes + app->output_bytes);
}

int tg_protocol_handle(const tg_app_t *app, uint8_t cmd, const uint8_t *payload, uint32_t len)
{
    switch (cmd) {
    case TG_CMD_INFO:
        if (len != 0u) {
            send_error(TG_ERR_BAD_LENGTH, cmd, 0u);
        } else {
            do_info(app);
        }
        return 0;
    case TG_CMD_INFER_FEATURES:
        do_infer_features(app, payload, len);
        return 0;
    case TG_CMD_INFER_RAW:
        do_infer_raw(app, rx_buf.bytes, len); /* payload is rx_buf; writable and aligned */
        return 0;
    case TG_CMD_ECHO:
        send_frame(TG_REPLY(TG_CMD_ECHO), payload, len);
        return 0;
    default:
        send_error(TG_ERR_UNKNOWN_CMD, cmd, 0u);
        return -1;
    }
}

void tg_protocol_run(const tg_app_t *app)
{
    uint8_t boot[2];
    uint8_t head[3];
    uint32_t len, i;
    uint16_t crc, got;
    int c;

    put_u16(boot, TG_PROTOCOL_VERSION);
    send_frame((uint8_t)TG_CMD_BOOT, boot, 2u);

    for (;;) {
        /* Hunt for the start byte; anything else is line noise. */
        do {
            c = bsp_uart_read_byte();
        } while (c != (int)TG_FRAME_START);
        for (i = 0; i < 3u; ++i) {
            head[i] = (uint8_t)bsp_uart_read_byte();
        }
        len = (uint32_t)head[1] | ((uint32_t)head[2] << 8);
        if (len > TG_PROTO_MAX_PAYLOAD) {
            /* Cannot be a frame we would accept: report and resynchronise on the next start. */
            send_error(TG_ERR_TOO_LONG, head[0], TG_PROTO_MAX_PAYLOAD);
            continue;
        }
        for (i = 0; i < len; ++i) {
            rx_buf.bytes[i] = (uint8_t)bsp_uart_read_byte();
        }
        got = (uint16_t)bsp_uart_read_byte();
        got = (uint16_t)(got | ((uint16_t)bsp_uart_read_byte() << 8));
        crc = tg_crc16(0xFFFFu, head, 3u);
        crc = tg_crc16(crc, rx_buf.bytes, len);
        if (crc != got) {
            send_error(TG_ERR_BAD_CRC, head[0], crc);
            continue;
        }
        (void)tg_protocol_handle(app, head[0], rx_buf.bytes, len);
    }
}
