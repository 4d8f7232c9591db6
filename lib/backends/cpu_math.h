/* cpu_math.h — branch-free float math that the compiler can vectorise.
 *
 * glibc's expf/logf/erff are scalar calls, which stop a loop from being
 * vectorised; these inline versions are plain arithmetic and selects.
 * Accuracy (checked in test_nn_math.c against double precision):
 *   tal_expf   range reduction by ln 2 (split in two parts) and a degree-7
 *              Taylor polynomial on |r| <= ln2/2: about 2 ulp
 *   tal_logf   exponent split and 2*atanh(s) to s^9, |s| <= 0.172: about 2 ulp
 *   tal_log1pf log(1+u) corrected for the rounding of 1+u
 *   tal_erff   Abramowitz & Stegun 7.1.26, absolute error below 6e-7 (the
 *              formula's 1.5e-7 plus float rounding near 0)
 *
 * TAL_KERNEL marks a hot loop function: on x86-64 the compiler emits an
 * AVX-512, an AVX2 and a baseline copy and the loader picks one for the
 * machine (GCC target_clones), so one binary runs everywhere and still uses
 * wide vectors where they exist.  OpenMP bodies are outlined into separate
 * functions that would not inherit the clones, so a kernel is written as a
 * TAL_KERNEL worker over a range, called from a plain parallel loop.
 */
#ifndef TAL_BACKENDS_CPU_MATH_H
#define TAL_BACKENDS_CPU_MATH_H

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(TAL_NO_CLONES)
#define TAL_KERNEL __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TAL_KERNEL
#endif

static inline float tal_bits_f(int32_t i)
{
    float f;
    memcpy(&f, &i, 4);
    return f;
}

static inline int32_t tal_f_bits(float f)
{
    int32_t i;
    memcpy(&i, &f, 4);
    return i;
}

static inline float tal_expf(float x)
{
    x = x < -87.3f ? -87.3f : x;
    x = x > 88.7f ? 88.7f : x;
    /* n = round(x / ln2) by the 1.5*2^23 trick (exact for |n| < 2^22) */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693145752f;        /* ln2 high part, exact product */
    r = r - n * 1.42860677e-6f;            /* ln2 low part */
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    /* 2^n: n in [-126, 128]; split to stay in the normal range */
    int32_t ni = (int32_t)n;
    int32_t n1 = ni >> 1, n2 = ni - n1;
    return p * tal_bits_f((n1 + 127) << 23) * tal_bits_f((n2 + 127) << 23);
}

/* natural log of x > 0 (x <= 0 or non-finite: undefined, callers avoid) */
static inline float tal_logf(float x)
{
    int32_t i = tal_f_bits(x);
    int32_t e = ((i >> 23) & 0xff) - 127;
    float m = tal_bits_f((i & 0x007fffff) | 0x3f800000);   /* [1, 2) */
    /* move m into [sqrt(1/2), sqrt(2)) */
    int big = m > 1.41421356f;
    m = big ? m * 0.5f : m;
    e += big;
    float s = (m - 1.0f) / (m + 1.0f);
    float s2 = s * s;
    float p = 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    p = p * s2 + 1.0f;
    return 2.0f * s * p + (float)e * 0.693147180559945f;
}

/* log(1 + u) for u >= 0 */
static inline float tal_log1pf(float u)
{
    float w = 1.0f + u;
    float d = w - 1.0f;
    /* log(w) * u / (w - 1) corrects for the rounding of 1 + u */
    float r = tal_logf(w) * (u / (d == 0.0f ? 1.0f : d));
    return d == 0.0f ? u : r;
}

static inline float tal_erff(float x)
{
    float a = x < 0 ? -x : x;
    float t = 1.0f / (1.0f + 0.3275911f * a);
    float p = 1.061405429f;
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    float y = 1.0f - p * t * tal_expf(-a * a);
    return x < 0 ? -y : y;
}

static inline float tal_sigmoidf(float x)
{
    return 1.0f / (1.0f + tal_expf(-x));
}

#endif
