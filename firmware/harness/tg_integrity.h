/* Integrity of the constant arrays in flash: the model's weights, biases, multipliers and tables
 * (model.c) and the front end's tables (tg_features_config.h), each set with the digest tinygen
 * computed from the model file and generated beside them.
 *
 * CRC-32 is zlib's crc32() (reflected polynomial 0xEDB88320, init and final xor 0xFFFFFFFF), run
 * with a 16-entry nibble table (64 bytes of flash); SHA-256 is FIPS 180-4. Both run over each
 * array's bytes in the set's order, as if they were one buffer. C99, no malloc. */
#ifndef TG_INTEGRITY_H
#define TG_INTEGRITY_H

#include <stdint.h>

enum tg_integrity_algo {
    TG_INTEGRITY_OFF = 0,
    TG_INTEGRITY_CRC32 = 1,
    TG_INTEGRITY_SHA256 = 2
};

#define TG_DIGEST_MAX 32u

/* Which constants a set covers (the INTEGRITY reply names sets by these ids). */
enum tg_const_set_id {
    TG_SET_MODEL = 0,
    TG_SET_FRONT_END = 1
};

/* One group of constant arrays and the digests generated beside them. */
typedef struct {
    uint8_t id;                         /* enum tg_const_set_id */
    uint32_t count;                     /* arrays */
    const void *const *data;            /* each array's first byte */
    const uint32_t *bytes;              /* each array's size in bytes */
    uint32_t expected_crc32;
    const uint8_t *expected_sha256;     /* 32 bytes (NULL in a CRC-32 build) */
} tg_const_set_t;

/* zlib's crc32(crc, p, n): start with 0, continue with the last value. */
uint32_t tg_crc32(uint32_t crc, const uint8_t *p, uint32_t n);

/* The set's digest into digest[]; returns its length: CRC-32 (4 bytes, little-endian) or
 * SHA-256 (32 bytes). The watchdog is fed between 4 KB chunks: a big model is not a hang. The
 * harness names the one it was built with, so the linker drops the other. */
typedef uint32_t (*tg_digest_fn)(const tg_const_set_t *set, uint8_t *digest);
uint32_t tg_set_crc32(const tg_const_set_t *set, uint8_t *digest);
uint32_t tg_set_sha256(const tg_const_set_t *set, uint8_t *digest);

/* The digest generated beside the set, in the same layout as `algo`'s; returns its length. */
uint32_t tg_set_expected(const tg_const_set_t *set, uint8_t algo, uint8_t *digest);

/* Total bytes the set covers. */
uint32_t tg_set_bytes(const tg_const_set_t *set);

#endif
