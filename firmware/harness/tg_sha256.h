/* SHA-256 (FIPS 180-4), streaming. C99, no malloc; about 1 KB of code and 256 bytes of round
 * constants. Used by the integrity check when it is built with --integrity sha256. */
#ifndef TG_SHA256_H
#define TG_SHA256_H

#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint32_t bits_lo;          /* message length in bits, 64 bits as two words */
    uint32_t bits_hi;
    uint32_t fill;             /* bytes waiting in block[] */
    uint8_t block[64];
} tg_sha256_t;

void tg_sha256_init(tg_sha256_t *s);
void tg_sha256_update(tg_sha256_t *s, const uint8_t *p, uint32_t n);
void tg_sha256_final(tg_sha256_t *s, uint8_t digest[32]);

#endif
