/* rng.c — Philox4x32-10 (see rng.h). */
#include "rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void tal_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c0 = n0;
        c1 = (uint32_t)p1;
        c2 = n2;
        c3 = (uint32_t)p0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* SplitMix64 finaliser: spreads a seed over all key bits. */
static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void tal_rng_seed(tal_rng *r, uint64_t seed)
{
    uint64_t k = mix64(seed);
    r->key[0] = (uint32_t)k;
    r->key[1] = (uint32_t)(k >> 32);
    r->counter = 0;
    r->used = 4;
}

tal_rng tal_rng_split(const tal_rng *parent, uint64_t index)
{
    tal_rng c;
    uint64_t pk = (uint64_t)parent->key[0] | ((uint64_t)parent->key[1] << 32);
    tal_rng_seed(&c, mix64(pk ^ mix64(index + 0x632BE59BD9B4E019ull)));
    return c;
}

uint32_t tal_rng_u32(tal_rng *r)
{
    if (r->used == 4) {
        uint32_t ctr[4] = { (uint32_t)r->counter, (uint32_t)(r->counter >> 32), 0, 0 };
        tal_philox4x32(ctr, r->key, r->buf);
        r->counter++;
        r->used = 0;
    }
    return r->buf[r->used++];
}

uint64_t tal_rng_u64(tal_rng *r)
{
    uint64_t lo = tal_rng_u32(r);
    return lo | ((uint64_t)tal_rng_u32(r) << 32);
}

float tal_rng_float(tal_rng *r) { return (float)(tal_rng_u32(r) >> 8) * 0x1.0p-24f; }
double tal_rng_double(tal_rng *r) { return (double)(tal_rng_u64(r) >> 11) * 0x1.0p-53; }

uint32_t tal_rng_below(tal_rng *r, uint32_t n)
{
    uint64_t m = (uint64_t)tal_rng_u32(r) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t t = -n % n;
        while (low < t) {
            m = (uint64_t)tal_rng_u32(r) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double tal_rng_normal(tal_rng *r)
{
    /* 1 - u keeps the logarithm finite */
    double u1 = 1.0 - tal_rng_double(r), u2 = tal_rng_double(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

void tal_rng_shuffle_u32(tal_rng *r, uint32_t *v, uint32_t n)
{
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = tal_rng_below(r, i);
        uint32_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}
