/* mem.h — checked allocation.
 *
 * Every allocation in libtalcore goes through these so that a failure
 * records TAL_ENOMEM with the size asked for, multiplications cannot
 * overflow silently, and fuzz builds can cap what a hostile input may
 * make the reader allocate.
 */
#ifndef TAL_UTIL_MEM_H
#define TAL_UTIL_MEM_H

#include <stddef.h>
#include <stdint.h>

/* Largest single allocation a fuzz build allows (normal builds: none). */
#define TAL_FUZZ_ALLOC_LIMIT ((size_t)256 << 20)

void *tal_malloc(size_t n);
void *tal_calloc(size_t count, size_t size);
void *tal_realloc(void *p, size_t n);
/* realloc for arrays: count*size, with an overflow check */
void *tal_reallocarray(void *p, size_t count, size_t size);
char *tal_strdup(const char *s);
char *tal_strndup(const char *s, size_t n);

/* 64-byte aligned memory (for SIMD kernels and float arrays); free with
 * tal_free_aligned. */
void *tal_malloc_aligned(size_t n);
void tal_free_aligned(void *p);

/* a*b without overflow: returns 0 and sets *out, or -1 on overflow */
static inline int tal_mul_size(size_t a, size_t b, size_t *out)
{
    if (a && b > SIZE_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

/* Grow a dynamic array `*v` of `*cap` elements of `size` bytes so that it
 * holds at least `need`; geometric growth.  Returns 0 or TAL_ENOMEM. */
int tal_grow(void **v, size_t *cap, size_t need, size_t size);

/* Make the array at *(T **)pp hold at least n elements of `size` bytes,
 * exactly n when it must grow (scratch buffers sized by the largest batch,
 * where doubling would waste memory).  pp is the address of any object
 * pointer.  Returns 0 or TAL_ENOMEM. */
int tal_reserve(void *pp, size_t *cap, size_t n, size_t size);

/* A growable byte buffer. */
typedef struct {
    unsigned char *data;
    size_t len, cap;
} tal_buf;

int tal_buf_reserve(tal_buf *b, size_t extra);
int tal_buf_append(tal_buf *b, const void *p, size_t n);
int tal_buf_printf(tal_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tal_buf_free(tal_buf *b);

#endif
