/* test_crc32.c — the carry-less CRC-32 against zlib, and its constants
 * derived again from the polynomial. */
#include "harness.h"
#include "tal.h"
#include "util/crc32.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* x^e mod P over GF(2), P = 0x104C11DB7 */
static uint64_t xpow_mod(int e)
{
    const uint64_t P = 0x104C11DB7ull;
    uint64_t r = 1;
    for (int i = 0; i < e; i++) {
        r <<= 1;
        if (r & (1ull << 32))
            r ^= P;
    }
    return r;
}

static uint64_t reverse33(uint64_t v)
{
    uint64_t r = 0;
    for (int i = 0; i < 33; i++)
        if (v & (1ull << i))
            r |= 1ull << (32 - i);
    return r;
}

TEST(crc32_constants_follow_from_the_polynomial)
{
    const int e[5] = { 544, 480, 160, 96, 64 };
    for (int i = 0; i < 5; i++)
        CHECK_MSG(tal_crc32_fold_constants[i] == reverse33(xpow_mod(e[i])), "x^%d", e[i]);
    CHECK(tal_crc32_fold_constants[6] == reverse33(0x104C11DB7ull));
    /* mu = floor(x^64 / P): long division */
    unsigned __int128 num = (unsigned __int128)1 << 64, P = 0x104C11DB7ull;
    uint64_t q = 0;
    for (int s = 32; s >= 0; s--)
        if ((num >> (32 + s)) & 1) {
            num ^= P << s;
            q |= 1ull << s;
        }
    CHECK(tal_crc32_fold_constants[7] == reverse33(q));
}

TEST(crc32_matches_zlib_for_every_length_and_alignment)
{
    enum { N = 4096 + 64 };
    unsigned char *buf = malloc(N);
    tal_rng g;
    tal_rng_seed(&g, 99);
    for (int i = 0; i < N; i++)
        buf[i] = (unsigned char)tal_rng_u32(&g);
    for (size_t off = 0; off < 17; off++)
        for (size_t n = 0; n + off <= 1200; n++)
            CHECK_MSG(tal_crc32(0, buf + off, n) == (uint32_t)crc32(0, buf + off, (uInt)n), "off %zu n %zu", off, n);
    /* chaining in pieces gives the one-shot value */
    uint32_t c = 0;
    for (size_t at = 0; at < N;) {
        size_t k = 1 + tal_rng_below(&g, 700);
        if (k > N - at)
            k = N - at;
        c = tal_crc32(c, buf + at, k);
        at += k;
    }
    CHECK(c == (uint32_t)crc32(0, buf, N));
    CHECK(tal_crc32(0x12345678, buf, N) == (uint32_t)crc32(0x12345678, buf, N));
    memset(buf, 0, N);
    CHECK(tal_crc32(0, buf, N) == (uint32_t)crc32(0, buf, N));
    memset(buf, 0xFF, N);
    CHECK(tal_crc32(0, buf, N) == (uint32_t)crc32(0, buf, N));
    free(buf);
}

TEST(crc32_large_buffer)
{
    size_t n = (size_t)9 << 20;
    unsigned char *buf = malloc(n);
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(i * 2654435761u >> 13);
    CHECK(tal_crc32(0, buf, n) == (uint32_t)crc32(0, buf, (uInt)n));
    free(buf);
}
