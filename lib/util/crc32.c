/* crc32.c — CRC-32 by carry-less multiplication (see crc32.h).
 *
 * The message is a polynomial over GF(2); its CRC is (message · x^32) mod P
 * with P = 0x104C11DB7, computed here in the bit-reflected form that zlib
 * uses.  Four 128-bit lanes are "folded" forward 512 bits at a time: a lane
 * L = H·x^64 + Lo (two 64-bit halves) moved forward by n bits is congruent
 * to H·(x^(n+32) mod P)·… + Lo·(x^(n-32) mod P)·…, so each step is two
 * carry-less products and two XORs.  Then the lanes fold into one, 128 bits
 * reduce to 64 and 32, and a Barrett reduction gives the remainder.
 *
 * In the reflected domain every constant k is the 33-bit reversal of
 * x^e mod P:
 *     e = 544, 480   fold by 4 x 128 bits (512 ± 32)
 *     e = 160, 96    fold by 128 bits (128 ± 32)
 *     e = 64         96 -> 64 bits
 * and the Barrett pair is reversal33(P) and reversal33(floor(x^64 / P)).
 * test/unit/test_crc32.c derives them again from P and checks every
 * length against zlib.
 */
#include "crc32.h"

#include <zlib.h>

const uint64_t tal_crc32_fold_constants[8] = {
    0x154442bd4ull, 0x1c6e41596ull,   /* x^544, x^480 */
    0x1751997d0ull, 0x0ccaa009eull,   /* x^160, x^96 */
    0x163cd6124ull, 0,                /* x^64 */
    0x1db710641ull, 0x1f7011641ull,   /* P, mu = floor(x^64 / P) */
};

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>

#define K(i) ((long long)tal_crc32_fold_constants[i])

/* Fold a 128-bit lane forward: lo*k_lo ^ hi*k_hi ^ next. */
__attribute__((target("pclmul,sse4.1")))
static inline __m128i fold(__m128i lane, __m128i k, __m128i next)
{
    __m128i lo = _mm_clmulepi64_si128(lane, k, 0x00);
    __m128i hi = _mm_clmulepi64_si128(lane, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(lo, hi), next);
}

/* The raw (not inverted) CRC state after n bytes, n >= 64 and a multiple
 * of 16; `state` is the raw state before them. */
__attribute__((target("pclmul,sse4.1")))
static uint32_t crc32_fold(uint32_t state, const unsigned char *p, size_t n)
{
    const __m128i k512 = _mm_set_epi64x(K(1), K(0));
    const __m128i k128 = _mm_set_epi64x(K(3), K(2));
    __m128i a = _mm_loadu_si128((const __m128i *)p);
    __m128i b = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i c = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i d = _mm_loadu_si128((const __m128i *)(p + 48));
    a = _mm_xor_si128(a, _mm_cvtsi32_si128((int)state));
    p += 64;
    n -= 64;
    for (; n >= 64; p += 64, n -= 64) {
        a = fold(a, k512, _mm_loadu_si128((const __m128i *)p));
        b = fold(b, k512, _mm_loadu_si128((const __m128i *)(p + 16)));
        c = fold(c, k512, _mm_loadu_si128((const __m128i *)(p + 32)));
        d = fold(d, k512, _mm_loadu_si128((const __m128i *)(p + 48)));
    }
    /* four lanes into one, then the 16-byte blocks left */
    a = fold(a, k128, b);
    a = fold(a, k128, c);
    a = fold(a, k128, d);
    for (; n >= 16; p += 16, n -= 16)
        a = fold(a, k128, _mm_loadu_si128((const __m128i *)p));

    /* 128 -> 96 bits: the low half times x^96 into the high half */
    const __m128i low32 = _mm_setr_epi32(-1, 0, -1, 0);
    __m128i t = _mm_clmulepi64_si128(a, k128, 0x10);
    a = _mm_xor_si128(_mm_srli_si128(a, 8), t);
    /* 96 -> 64 bits: the low 32 bits times x^64 */
    t = _mm_srli_si128(a, 4);
    a = _mm_clmulepi64_si128(_mm_and_si128(a, low32), _mm_set_epi64x(0, K(4)), 0x00);
    a = _mm_xor_si128(a, t);
    /* Barrett: q = floor(a_low32 * mu), remainder = a ^ q * P */
    const __m128i pm = _mm_set_epi64x(K(7), K(6));
    t = _mm_clmulepi64_si128(_mm_and_si128(a, low32), pm, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, low32), pm, 0x00);
    a = _mm_xor_si128(a, t);
    return (uint32_t)_mm_extract_epi32(a, 1);
}

static int have_pclmul(void)
{
    static int have = -1;
    if (have < 0) {
        unsigned a, b, c, d;
        /* PCLMULQDQ: ECX bit 1; SSE4.1: ECX bit 19 */
        have = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 1)) && (c & (1u << 19));
    }
    return have;
}
#endif

uint32_t tal_crc32(uint32_t crc, const void *buf, size_t n)
{
    const unsigned char *p = buf;
#if defined(__x86_64__) && defined(__GNUC__)
    if (n >= 64 && have_pclmul()) {
        size_t m = n & ~(size_t)15;
        crc = ~crc32_fold(~crc, p, m);
        p += m;
        n -= m;
    }
#endif
    /* short inputs and tails: zlib's tables */
    while (n) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, p, k);
        p += k;
        n -= k;
    }
    return crc;
}
