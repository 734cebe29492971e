/* Integrity of the constants in flash: CRC-32 or SHA-256 over a set of arrays (tg_integrity.h). */
#include "tg_integrity.h"

#if defined(__GNUC__) && !defined(__clang__)
/* Boot and on-request checks, not the inference: size over speed. */
#pragma GCC optimize("Os")
#endif

#include "tg_bsp.h"
#include "tg_sha256.h"

#define TG_CHUNK 4096u

/* CRC-32 of one nibble, reflected polynomial 0xEDB88320: two lookups a byte from 64 bytes of
 * flash (a 256-entry table would take 1 KB for about a third fewer instructions). */
static const uint32_t tg_crc32_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu};

uint32_t tg_crc32(uint32_t crc, const uint8_t *p, uint32_t n)
{
    uint32_t i;
    crc = ~crc;
    for (i = 0; i < n; ++i) {
        crc ^= p[i];
        crc = (crc >> 4) ^ tg_crc32_nibble[crc & 0xFu];
        crc = (crc >> 4) ^ tg_crc32_nibble[crc & 0xFu];
    }
    return ~crc;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

uint32_t tg_set_bytes(const tg_const_set_t *set)
{
    uint32_t k, total = 0;
    for (k = 0; k < set->count; ++k) {
        total += set->bytes[k];
    }
    return total;
}

/* Walk the set in chunks: fn(ctx, bytes, n) for each, feeding the watchdog in between. */
typedef void (*tg_chunk_fn)(void *ctx, const uint8_t *p, uint32_t n);

static void walk(const tg_const_set_t *set, tg_chunk_fn fn, void *ctx)
{
    uint32_t k;
    for (k = 0; k < set->count; ++k) {
        const uint8_t *p = (const uint8_t *)set->data[k];
        uint32_t left = set->bytes[k];
        while (left > 0u) {
            uint32_t n = left < TG_CHUNK ? left : TG_CHUNK;
            fn(ctx, p, n);
            p += n;
            left -= n;
            bsp_watchdog_feed();
        }
    }
}

static void crc_chunk(void *ctx, const uint8_t *p, uint32_t n)
{
    uint32_t *crc = (uint32_t *)ctx;
    *crc = tg_crc32(*crc, p, n);
}

static void sha_chunk(void *ctx, const uint8_t *p, uint32_t n)
{
    tg_sha256_update((tg_sha256_t *)ctx, p, n);
}

uint32_t tg_set_crc32(const tg_const_set_t *set, uint8_t *digest)
{
    uint32_t crc = 0u;
    walk(set, crc_chunk, &crc);
    put_le32(digest, crc);
    return 4u;
}

uint32_t tg_set_sha256(const tg_const_set_t *set, uint8_t *digest)
{
    tg_sha256_t s;
    tg_sha256_init(&s);
    walk(set, sha_chunk, &s);
    tg_sha256_final(&s, digest);
    return 32u;
}

uint32_t tg_set_expected(const tg_const_set_t *set, uint8_t algo, uint8_t *digest)
{
    uint32_t i;
    if (algo == TG_INTEGRITY_CRC32) {
        put_le32(digest, set->expected_crc32);
        return 4u;
    }
    if (algo == TG_INTEGRITY_SHA256 && set->expected_sha256 != 0) {
        for (i = 0; i < 32u; ++i) {
            digest[i] = set->expected_sha256[i];
        }
        return 32u;
    }
    return 0u;
}
