/* SHA-256 (FIPS 180-4, section 6.2), written for clarity over speed: the integrity check reads
 * each constant once at boot and on request. Words are read big-endian byte by byte, so neither
 * alignment nor the core's byte order matters. */
#include "tg_sha256.h"

#if defined(__GNUC__) && !defined(__clang__)
/* Boot and on-request checks, not the inference: size over speed. */
#pragma GCC optimize("Os")
#endif

static const uint32_t tg_sha256_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u};

static uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32u - n));
}

static void compress(uint32_t h[8], const uint8_t *block)
{
    uint32_t w[64], v[8];
    unsigned i;
    for (i = 0; i < 16u; ++i) {
        w[i] = ((uint32_t)block[4u * i] << 24) | ((uint32_t)block[4u * i + 1u] << 16) |
               ((uint32_t)block[4u * i + 2u] << 8) | (uint32_t)block[4u * i + 3u];
    }
    for (i = 16; i < 64u; ++i) {
        uint32_t s0 = rotr(w[i - 15u], 7) ^ rotr(w[i - 15u], 18) ^ (w[i - 15u] >> 3);
        uint32_t s1 = rotr(w[i - 2u], 17) ^ rotr(w[i - 2u], 19) ^ (w[i - 2u] >> 10);
        w[i] = w[i - 16u] + s0 + w[i - 7u] + s1;
    }
    for (i = 0; i < 8u; ++i) {
        v[i] = h[i];
    }
    for (i = 0; i < 64u; ++i) {
        uint32_t s1 = rotr(v[4], 6) ^ rotr(v[4], 11) ^ rotr(v[4], 25);
        uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
        uint32_t t1 = v[7] + s1 + ch + tg_sha256_k[i] + w[i];
        uint32_t s0 = rotr(v[0], 2) ^ rotr(v[0], 13) ^ rotr(v[0], 22);
        uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
        v[7] = v[6];
        v[6] = v[5];
        v[5] = v[4];
        v[4] = v[3] + t1;
        v[3] = v[2];
        v[2] = v[1];
        v[1] = v[0];
        v[0] = t1 + s0 + maj;
    }
    for (i = 0; i < 8u; ++i) {
        h[i] += v[i];
    }
}

void tg_sha256_init(tg_sha256_t *s)
{
    static const uint32_t h0[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                   0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
    unsigned i;
    for (i = 0; i < 8u; ++i) {
        s->h[i] = h0[i];
    }
    s->bits_lo = 0u;
    s->bits_hi = 0u;
    s->fill = 0u;
}

void tg_sha256_update(tg_sha256_t *s, const uint8_t *p, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; ++i) {
        s->block[s->fill++] = p[i];
        if (s->fill == 64u) {
            compress(s->h, s->block);
            s->fill = 0u;
        }
    }
    /* 8n more bits, carried into the high word */
    s->bits_hi += (n >> 29);
    if (s->bits_lo + (n << 3) < s->bits_lo) {
        s->bits_hi += 1u;
    }
    s->bits_lo += n << 3;
}

void tg_sha256_final(tg_sha256_t *s, uint8_t digest[32])
{
    uint32_t lo = s->bits_lo, hi = s->bits_hi;
    unsigned i;
    s->block[s->fill++] = 0x80u;
    if (s->fill > 56u) {
        while (s->fill < 64u) {
            s->block[s->fill++] = 0u;
        }
        compress(s->h, s->block);
        s->fill = 0u;
    }
    while (s->fill < 56u) {
        s->block[s->fill++] = 0u;
    }
    for (i = 0; i < 4u; ++i) {
        s->block[56u + i] = (uint8_t)(hi >> (24u - 8u * i));
        s->block[60u + i] = (uint8_t)(lo >> (24u - 8u * i));
    }
    compress(s->h, s->block);
    for (i = 0; i < 32u; ++i) {
        digest[i] = (uint8_t)(s->h[i / 4u] >> (24u - 8u * (i % 4u)));
    }
}
