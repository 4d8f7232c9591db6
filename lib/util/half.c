/* half.c — binary16 conversion (see half.h). */
#include "half.h"

#include <string.h>

static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

uint16_t tal_f32_to_f16(float f)
{
    uint32_t x = f2u(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t absx = x & 0x7FFFFFFFu;

    if (absx >= 0x7F800000u)                       /* inf or NaN */
        return sign | (absx > 0x7F800000u ? (uint16_t)(0x7E00u | ((absx >> 13) & 0x3FFu))
                                          : 0x7C00u);
    if (absx >= 0x477FF000u)                       /* rounds to >= 65520: inf */
        return sign | 0x7C00u;
    if (absx < 0x38800000u) {                      /* below the smallest normal half */
        if (absx < 0x33000000u)                    /* below half the smallest subnormal */
            return sign;
        /* subnormal: shift the 24-bit significand, round to nearest even */
        uint32_t e = absx >> 23;
        uint32_t m = (absx & 0x7FFFFFu) | 0x800000u;
        uint32_t shift = 126 - e;                  /* 14 .. 24 */
        uint32_t h = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (h & 1)))
            h++;
        return sign | (uint16_t)h;
    }
    /* normal: rebias exponent, round the 13 dropped bits to nearest even */
    uint32_t h = ((absx - 0x38000000u) >> 13);
    uint32_t rem = absx & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1)))
        h++;                                       /* may carry into the exponent: fine */
    return sign | (uint16_t)h;
}

float tal_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
    if (e == 0x1F)
        return u2f(sign | 0x7F800000u | (m << 13) | (m ? 0x400000u : 0));
    if (e == 0) {
        if (!m)
            return u2f(sign);
        /* subnormal half: normalise */
        e = 113;
        while (!(m & 0x400u)) {
            m <<= 1;
            e--;
        }
        m &= 0x3FFu;
        return u2f(sign | (e << 23) | (m << 13));
    }
    return u2f(sign | ((e + 112) << 23) | (m << 13));
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("f16c,avx")))
static void to_f16_f16c(uint16_t *dst, const float *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(dst + i), h);
    }
    for (; i < n; i++)
        dst[i] = tal_f32_to_f16(src[i]);
}

__attribute__((target("f16c,avx")))
static void to_f32_f16c(float *dst, const uint16_t *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++)
        dst[i] = tal_f16_to_f32(src[i]);
}

#include <cpuid.h>

/* F16C and AVX present, and the OS saves the AVX registers (XGETBV). */
static int have_f16c(void)
{
    static int have = -1;
    if (have < 0) {
        unsigned a, b, c, d;
        have = 0;
        if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 27)) && (c & (1u << 28)) && (c & (1u << 29))) {
            unsigned lo, hi;
            __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
            have = (lo & 6) == 6;
        }
    }
    return have;
}
#endif

void tal_f32_to_f16_n(uint16_t *dst, const float *src, size_t n)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (have_f16c()) {
        /* F16C, like the scalar code, truncates a NaN's payload and sets
         * the quiet bit, so both give the same bits. */
        to_f16_f16c(dst, src, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++)
        dst[i] = tal_f32_to_f16(src[i]);
}

void tal_f16_to_f32_n(float *dst, const uint16_t *src, size_t n)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (have_f16c()) {
        to_f32_f16c(dst, src, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++)
        dst[i] = tal_f16_to_f32(src[i]);
}
