/* sha256.h: SHA-256 (FIPS 180-4), for content-addressed caches */
#ifndef UTIL_SHA256_H
#define UTIL_SHA256_H

#include "util/osdep.h"

struct sha256 {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t nbuf;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t out[32]);
/* Hex digest of a buffer into out (65 bytes with the NUL). */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif
