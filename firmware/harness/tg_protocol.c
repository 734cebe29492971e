/* tinygen validation protocol, firmware side: a frame parser and four commands over tg_bsp.h.
 * Frame layout and commands: tg_protocol.h. Static buffers only; nothing here allocates. */
#include "tg_protocol.h"

#if defined(__GNUC__) && !defined(__clang__)
/* Frames between inferences, not the inference: size over speed (1 KB less than -O2 on a
 * Cortex-M7), and the one payload copy stays a loop rather than a call that links memcpy
 * (308 B) for it. */
#pragma GCC optimize("Os", "no-tree-loop-distribute-patterns")
#endif

#include <stddef.h>

#include "tg_bsp.h"
#include "tg_field.h"

#if defined(__BYTE_ORDER__) && (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__)
#error "tensors cross the wire as their raw little-endian bytes: a big-endian core needs swaps here"
#endif

#if defined(__GNUC__) && !defined(__clang__)
#define TG_NOIPA __attribute__((noipa, used))
#elif defined(__GNUC__)
#define TG_NOIPA __attribute__((noinline, used))
#else
#define TG_NOIPA
#endif

/* INFO block (little-endian), offsets in bytes; tinygen/wire.py INFO_HEAD / INFO_TENSOR. */
enum {
    TG_INFO_VERSION = 0,       /* u16 protocol version */
    TG_INFO_FLAGS = 2,         /* u16 bit0: has a front end (INFER_RAW); bit1: twin build */
    TG_INFO_SHA256 = 4,        /* u8[32] SHA-256 of the .tflite */
    TG_INFO_ARENA_BYTES = 36,  /* u32 */
    TG_INFO_RAW_SAMPLES = 40,  /* u32 int16 samples per window, 0 if none */
    TG_INFO_MAX_PAYLOAD = 44,  /* u32 */
    TG_INFO_CPU_HZ = 48,       /* u32 */
    TG_INFO_N_INPUTS = 52,     /* u8 */
    TG_INFO_N_OUTPUTS = 53,    /* u8, then u16 0 */
    TG_INFO_TENSORS = 56,      /* 16 bytes per input, then per output: see put_tensor() */
    TG_INFO_TENSOR_BYTES = 16
};

#define TG_INFO_MAX_STRING 64u
#define TG_FLAG_FRONT_END 1u
#define TG_FLAG_TWIN 2u

/* 8-byte aligned, so that tensors spread to TG_TENSOR_ALIGN offsets are aligned in memory. */
static union {
    uint64_t align;
    uint8_t bytes[TG_PROTO_MAX_PAYLOAD];
} rx_buf;

static union {
    uint64_t align;
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

/* Byte moves inside one buffer. Copying up (to > from) must start at the end, down at the start,
 * so that an overlapping source is read before it is overwritten. */
static void move_up(uint8_t *buf, uint32_t to, uint32_t from, uint32_t n)
{
    while (n > 0u) {
        --n;
        buf[to + n] = buf[from + n];
    }
}

static void move_down(uint8_t *buf, uint32_t to, uint32_t from, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; ++i) {
        buf[to + i] = buf[from + i];
    }
}

static uint32_t align_up(uint32_t n)
{
    return (n + TG_TENSOR_ALIGN - 1u) & ~(TG_TENSOR_ALIGN - 1u);
}

static uint32_t tensor_bytes(const tg_tensor_t *t)
{
    return t->count * t->elem_bytes;
}

/* Bytes of n tensors: packed (as on the wire) or each padded to TG_TENSOR_ALIGN. */
static uint32_t total_bytes(const tg_tensor_t *t, uint8_t n, int aligned)
{
    uint32_t sum = 0;
    uint8_t k;
    for (k = 0; k < n; ++k) {
        sum += aligned ? align_up(tensor_bytes(&t[k])) : tensor_bytes(&t[k]);
    }
    return sum;
}

/* Packed tensors at buf[0..] -> aligned offsets in the same buffer, last first: each moves up, and
 * only over bytes already moved. ptrs[k] gets tensor k's new place. */
static void spread(uint8_t *buf, const tg_tensor_t *t, uint8_t n, const void **ptrs)
{
    uint32_t packed = total_bytes(t, n, 0);
    uint32_t aligned = total_bytes(t, n, 1);
    uint8_t k = n;
    while (k > 0u) {
        uint32_t bytes;
        --k;
        bytes = tensor_bytes(&t[k]);
        packed -= bytes;
        aligned -= align_up(bytes);
        move_up(buf, aligned, packed, bytes);
        ptrs[k] = buf + aligned;
    }
}

/* Where the model writes its outputs: aligned offsets from buf. */
static void place(uint8_t *buf, const tg_tensor_t *t, uint8_t n, void **ptrs)
{
    uint32_t offset = 0;
    uint8_t k;
    for (k = 0; k < n; ++k) {
        ptrs[k] = buf + offset;
        offset += align_up(tensor_bytes(&t[k]));
    }
}

/* Outputs placed at buf[from..] -> packed at buf[to..] (to <= from), first first. Returns the
 * packed size. */
static uint32_t gather(uint8_t *buf, uint32_t to, uint32_t from, const tg_tensor_t *t, uint8_t n)
{
    uint32_t packed = 0, aligned = 0;
    uint8_t k;
    for (k = 0; k < n; ++k) {
        uint32_t bytes = tensor_bytes(&t[k]);
        move_down(buf, to + packed, from + aligned, bytes);
        packed += bytes;
        aligned += align_up(bytes);
    }
    return packed;
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
            p[1u + n] = (uint8_t)s[n];
            ++n;
        }
    }
    p[0] = (uint8_t)n;
    return n + 1u;
}

static uint32_t put_tensor(uint8_t *p, const tg_tensor_t *t)
{
    p[0] = t->dtype;
    p[1] = 0u;
    put_u16(p + 2, 0u);
    put_u32(p + 4, t->count);
    put_f32(p + 8, t->scale);
    put_u32(p + 12, (uint32_t)t->zero_point);
    return TG_INFO_TENSOR_BYTES;
}

static int has_front_end(const tg_app_t *app)
{
    return app->features != NULL && app->raw_samples > 0u && app->n_inputs == 1u;
}

static void do_info(const tg_app_t *app)
{
    uint8_t *p = tx_buf.bytes;
    uint32_t n, flags = 0;
    uint8_t k;
    for (n = 0; n < TG_INFO_TENSORS; ++n) {
        p[n] = 0u;
    }
    if (has_front_end(app)) {
        flags |= TG_FLAG_FRONT_END;
    }
    if (app->twin != NULL && app->twin[0] != '\0') {
        flags |= TG_FLAG_TWIN;
    }
    put_u16(p + TG_INFO_VERSION, TG_PROTOCOL_VERSION);
    put_u16(p + TG_INFO_FLAGS, flags);
    for (n = 0; n < 32u && app->model_sha256 != NULL; ++n) {
        p[TG_INFO_SHA256 + n] = app->model_sha256[n];
    }
    put_u32(p + TG_INFO_ARENA_BYTES, app->arena_bytes);
    put_u32(p + TG_INFO_RAW_SAMPLES, has_front_end(app) ? app->raw_samples : 0u);
    put_u32(p + TG_INFO_MAX_PAYLOAD, TG_PROTO_MAX_PAYLOAD);
    put_u32(p + TG_INFO_CPU_HZ, bsp_cpu_hz());
    p[TG_INFO_N_INPUTS] = app->n_inputs;
    p[TG_INFO_N_OUTPUTS] = app->n_outputs;
    n = TG_INFO_TENSORS;
    for (k = 0; k < app->n_inputs; ++k) {
        n += put_tensor(p + n, &app->inputs[k]);
    }
    for (k = 0; k < app->n_outputs; ++k) {
        n += put_tensor(p + n, &app->outputs[k]);
    }
    n += put_string(p + n, app->board);
    n += put_string(p + n, app->twin);
    n += put_string(p + n, app->build_flags);
    /* The field block (health, watchdog, ...): zeros when the firmware has no field layer. */
    for (k = 0; k < TG_FIELD_INFO_BYTES; ++k) {
        p[n + k] = 0u;
    }
    if (app->field != NULL && app->field->info != NULL) {
        app->field->info(p + n);
    }
    n += TG_FIELD_INFO_BYTES;
    send_frame(TG_REPLY(TG_CMD_INFO), p, n);
}

/* Safe mode or constants that failed their check: refuse with an ERROR frame (nonzero). */
static int refused(const tg_app_t *app, uint8_t cmd)
{
    uint32_t detail = 0u;
    int code;
    if (app->field == NULL || app->field->gate == NULL) {
        return 0;
    }
    code = app->field->gate(&detail);
    if (code != 0) {
        send_error((uint8_t)code, cmd, detail);
    }
    return code;
}

/* After a successful inference: the field layer's bookkeeping (drift statistics; a completed
 * inference also clears the watchdog-reset count), counted apart from the network (mark 3). */
static void done(const tg_app_t *app, const int16_t *samples, const int8_t *features,
                 void *const *outputs)
{
    if (app->field != NULL && app->field->done != NULL) {
        tg_mark_begin(3u);
        app->field->done(app, samples, features, outputs);
        tg_mark_end(3u);
    }
}

/* Every inference starts from the model's initial state, as the host's reference does. */
static void reset_state(const tg_app_t *app)
{
    if (app->reset != NULL) {
        app->reset();
    }
}

static void do_infer(const tg_app_t *app, uint32_t len)
{
    const void *in[TG_MAX_TENSORS];
    void *out[TG_MAX_TENSORS];
    uint32_t t0, t1, n;
    int status;
    if (refused(app, TG_CMD_INFER)) {
        return;
    }
    if (len != total_bytes(app->inputs, app->n_inputs, 0)) {
        send_error(TG_ERR_BAD_LENGTH, TG_CMD_INFER, total_bytes(app->inputs, app->n_inputs, 0));
        return;
    }
    if (total_bytes(app->inputs, app->n_inputs, 1) > TG_PROTO_MAX_PAYLOAD ||
        8u + total_bytes(app->outputs, app->n_outputs, 1) > TG_PROTO_MAX_PAYLOAD) {
        send_error(TG_ERR_TOO_LONG, TG_CMD_INFER, TG_PROTO_MAX_PAYLOAD);
        return;
    }
    spread(rx_buf.bytes, app->inputs, app->n_inputs, in);
    place(tx_buf.bytes + 8, app->outputs, app->n_outputs, out);
    reset_state(app);
    tg_mark_begin(2u);
    t0 = bsp_cycles();
    status = app->invoke(in, out);
    t1 = bsp_cycles();
    tg_mark_end(2u);
    if (status != 0) {
        send_error(TG_ERR_INVOKE, TG_CMD_INFER, (uint32_t)status);
        return;
    }
    done(app, NULL, NULL, out);
    n = gather(tx_buf.bytes, 4u, 8u, app->outputs, app->n_outputs);
    put_u32(tx_buf.bytes, t1 - t0);
    send_frame(TG_REPLY(TG_CMD_INFER), tx_buf.bytes, 4u + n);
}

static void do_infer_raw(const tg_app_t *app, uint32_t len)
{
    const void *in[1];
    int8_t *features_out = (int8_t *)(tx_buf.bytes + 8);
    void *out[TG_MAX_TENSORS];
    uint32_t i, t0, t1, t2, t3, n, features, base;
    int status;
    int16_t *samples = (int16_t *)(void *)rx_buf.bytes;
    if (!has_front_end(app)) {
        send_error(TG_ERR_NO_FRONT_END, TG_CMD_INFER_RAW, 0u);
        return;
    }
    if (refused(app, TG_CMD_INFER_RAW)) {
        return;
    }
    if (len != 2u * app->raw_samples) {
        send_error(TG_ERR_BAD_LENGTH, TG_CMD_INFER_RAW, 2u * app->raw_samples);
        return;
    }
    features = tensor_bytes(&app->inputs[0]);
    base = 8u + align_up(features);
    if (base + total_bytes(app->outputs, app->n_outputs, 1) > TG_PROTO_MAX_PAYLOAD) {
        send_error(TG_ERR_TOO_LONG, TG_CMD_INFER_RAW, TG_PROTO_MAX_PAYLOAD);
        return;
    }
    /* Little-endian bytes -> int16, in place (same positions). */
    for (i = 0; i < app->raw_samples; ++i) {
        uint16_t u = (uint16_t)(rx_buf.bytes[2u * i] | ((uint16_t)rx_buf.bytes[2u * i + 1u] << 8));
        samples[i] = (int16_t)(u >= 0x8000u ? (int32_t)u - 0x10000 : (int32_t)u);
    }
    in[0] = features_out;
    place(tx_buf.bytes + base, app->outputs, app->n_outputs, out);
    reset_state(app);
    tg_mark_begin(1u);
    t0 = bsp_cycles();
    status = app->features(samples, features_out);
    t1 = bsp_cycles();
    tg_mark_end(1u);
    if (status != 0) {
        send_error(TG_ERR_INVOKE, TG_CMD_INFER_RAW, (uint32_t)status);
        return;
    }
    tg_mark_begin(2u);
    t2 = bsp_cycles();
    status = app->invoke(in, out);
    t3 = bsp_cycles();
    tg_mark_end(2u);
    if (status != 0) {
        send_error(TG_ERR_INVOKE, TG_CMD_INFER_RAW, (uint32_t)status);
        return;
    }
    done(app, samples, features_out, out);
    n = gather(tx_buf.bytes, 8u + features, base, app->outputs, app->n_outputs);
    put_u32(tx_buf.bytes, t1 - t0);
    put_u32(tx_buf.bytes + 4, t3 - t2);
    send_frame(TG_REPLY(TG_CMD_INFER_RAW), tx_buf.bytes, 8u + features + n);
}

/* Commands beyond the core protocol go to the field layer (INTEGRITY, STATS, CLEAR, HANG). */
static int field_command(const tg_app_t *app, uint8_t cmd, const uint8_t *payload, uint32_t len)
{
    uint32_t detail = 0u;
    int32_t n;
    if (app->field == NULL || app->field->command == NULL) {
        send_error(TG_ERR_UNKNOWN_CMD, cmd, 0u);
        return -1;
    }
    n = app->field->command(cmd, payload, len, tx_buf.bytes, TG_PROTO_MAX_PAYLOAD, &detail);
    if (n < 0) {
        send_error((uint8_t)(-n), cmd, detail);
        return -1;
    }
    send_frame(TG_REPLY(cmd), tx_buf.bytes, (uint32_t)n);
    return 0;
}

int tg_protocol_handle(const tg_app_t *app, uint8_t cmd, const uint8_t *payload, uint32_t len)
{
    uint32_t i;
    if (payload != rx_buf.bytes && len <= TG_PROTO_MAX_PAYLOAD) {
        for (i = 0; i < len; ++i) { /* INFER and INFER_RAW work in place in rx_buf */
            rx_buf.bytes[i] = payload[i];
        }
    }
    switch (cmd) {
    case TG_CMD_INFO:
        if (len != 0u) {
            send_error(TG_ERR_BAD_LENGTH, cmd, 0u);
        } else {
            do_info(app);
        }
        return 0;
    case TG_CMD_INFER:
        do_infer(app, len);
        return 0;
    case TG_CMD_INFER_RAW:
        do_infer_raw(app, len);
        return 0;
    case TG_CMD_ECHO:
        send_frame(TG_REPLY(TG_CMD_ECHO), payload, len);
        return 0;
    default:
        return field_command(app, cmd, payload, len);
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
