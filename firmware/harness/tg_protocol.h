/* tinygen validation protocol, firmware side.
 *
 * Frame (both directions), all integers little-endian:
 *
 *   +------+-----+---------+-----------------+-----------+
 *   | 0xA5 | cmd | len u16 | payload[len]    | crc16 u16 |
 *   +------+-----+---------+-----------------+-----------+
 *
 * crc16 = CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no xorout) over
 * cmd, len and payload (not the start byte). A reply's cmd is the request's cmd | 0x80;
 * errors use TG_CMD_ERROR. At reset the device sends one TG_CMD_BOOT frame, so the host can
 * tell a reset mid-run from a slow answer.
 *
 * Tensors travel packed: each one's raw little-endian bytes, concatenated in model order. The
 * firmware spreads them to TG_TENSOR_ALIGN-aligned places inside its frame buffer before it runs
 * the model, and packs the outputs back; tinygen sizes the buffer with that slack.
 *
 * tinygen/wire.py is the host side of this file; the two change together (TG_PROTOCOL_VERSION).
 * C99, no malloc, static buffers only. */
#ifndef TG_PROTOCOL_H
#define TG_PROTOCOL_H

#include <stdint.h>

#include "tg_app.h"

#define TG_PROTOCOL_VERSION 2u
#define TG_FRAME_START 0xA5u
#define TG_TENSOR_ALIGN 8u
#define TG_MAX_TENSORS 16u

/* Largest payload accepted or sent: the generated project sets it for its model. */
#ifndef TG_PROTO_MAX_PAYLOAD
#define TG_PROTO_MAX_PAYLOAD 4096u
#endif

enum tg_cmd {
    TG_CMD_INFO = 0x01,            /* -> info block (tinygen/wire.py; tg_protocol.c do_info) */
    TG_CMD_INFER = 0x02,           /* inputs, packed -> u32 net_cycles, outputs, packed */
    TG_CMD_INFER_RAW = 0x03,       /* int16[raw_samples] -> u32 fe_cycles, u32 net_cycles,
                                      int8 features (input 0), outputs, packed */
    TG_CMD_ECHO = 0x04,            /* any payload -> the same payload */
    /* Field-ready commands (tg_field.c; tinygen/wire.py has the reply layouts): */
    TG_CMD_INTEGRITY = 0x10,       /* () -> the constants' digests, recomputed now */
    TG_CMD_STATS = 0x11,           /* u8 flags (bit0: reset after reading) -> drift statistics */
    TG_CMD_CLEAR = 0x12,           /* () -> u8 health: forget the watchdog resets, leave safe mode */
    TG_CMD_HANG = 0x1F,            /* () -> never answers, never feeds the watchdog (twin builds) */
    TG_CMD_BOOT = 0x70,            /* device -> host at reset: u16 protocol version */
    TG_CMD_ERROR = 0x7F            /* u8 code, u8 cmd, u16 reserved, u32 detail */
};

#define TG_REPLY(cmd) ((uint8_t)((cmd) | 0x80u))

enum tg_error_code {
    TG_ERR_BAD_CRC = 1,        /* detail: the CRC the device computed */
    TG_ERR_BAD_LENGTH = 2,     /* detail: the length the command expects */
    TG_ERR_UNKNOWN_CMD = 3,    /* detail: 0 */
    TG_ERR_TOO_LONG = 4,       /* detail: TG_PROTO_MAX_PAYLOAD */
    TG_ERR_INVOKE = 5,         /* detail: the status returned by invoke()/features() */
    TG_ERR_NO_FRONT_END = 6,   /* detail: 0 */
    TG_ERR_INTEGRITY = 16,     /* refused: constants in flash differ; detail: their CRC-32 (or the
                                  first 4 bytes of their SHA-256) */
    TG_ERR_SAFE_MODE = 17,     /* refused: safe mode; detail: watchdog resets in a row */
    TG_ERR_NOT_BUILT = 18      /* the firmware was built without this feature; detail: 0 */
};

/* CRC-16/CCITT-FALSE, continuing from `crc` (start with 0xFFFF). */
uint16_t tg_crc16(uint16_t crc, const uint8_t *data, uint32_t len);

/* Instruction-count markers: empty, never inlined or analysed across, so the code between a
 * begin and an end stays between them. Emulators (tinygen bench) count instructions from the
 * call of tg_mark_begin(id) to the call of tg_mark_end(id): id 1 = front end, 2 = network,
 * 3 = the field layer's work after an inference (drift statistics), 4 = the boot integrity check. */
void tg_mark_begin(uint32_t id);
void tg_mark_end(uint32_t id);

/* Handle one received frame; exposed for host tests. Returns 0 if handled. */
int tg_protocol_handle(const tg_app_t *app, uint8_t cmd, const uint8_t *payload, uint32_t len);

#endif
