/* rng.h — seeded, splittable, reproducible random numbers.
 *
 * Philox4x32-10 (Salmon et al., SC'11), a counter-based generator: the
 * n-th number of a stream is a pure function of (key, n), so a stream can
 * be split into independent children by key, jumped to any position, and
 * reproduced bit for bit on any machine, the GPU included.  The key is
 * derived from a 64-bit seed; tal_rng_split derives a child key from the
 * parent key and a child index, so that (seed, path of indices) names a
 * stream exactly.
 */
#ifndef TAL_UTIL_RNG_H
#define TAL_UTIL_RNG_H

#include <stdint.h>

typedef struct {
    uint32_t key[2];
    uint64_t counter;   /* index of the next 4-word block */
    uint32_t buf[4];
    int used;           /* words of buf already handed out (4 = empty) */
} tal_rng;

void tal_rng_seed(tal_rng *r, uint64_t seed);
/* An independent child stream, e.g. one per epoch, worker or sequence. */
tal_rng tal_rng_split(const tal_rng *parent, uint64_t index);

uint32_t tal_rng_u32(tal_rng *r);
uint64_t tal_rng_u64(tal_rng *r);
/* uniform in [0, 1) with 24 (float) or 53 (double) random bits */
float tal_rng_float(tal_rng *r);
double tal_rng_double(tal_rng *r);
/* uniform integer in [0, n), unbiased (Lemire's method); n > 0 */
uint32_t tal_rng_below(tal_rng *r, uint32_t n);
/* standard normal (Box–Muller, both values used in turn) */
double tal_rng_normal(tal_rng *r);
/* Fisher–Yates shuffle of n indices */
void tal_rng_shuffle_u32(tal_rng *r, uint32_t *v, uint32_t n);

/* The raw block function, exposed for tests and for kernels that must
 * reproduce the CPU stream: 4 words for (counter, key). */
void tal_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

#endif
