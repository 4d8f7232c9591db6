/* mem.c — checked allocation (see mem.h). */
#include "mem.h"
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int too_big(size_t n)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    return n > TAL_FUZZ_ALLOC_LIMIT;
#else
    (void)n;
    return 0;
#endif
}

static void *nomem(size_t n)
{
    tal_err(TAL_ENOMEM, "out of memory: cannot allocate %zu bytes", n);
    return NULL;
}

void *tal_malloc(size_t n)
{
    if (too_big(n))
        return nomem(n);
    void *p = malloc(n ? n : 1);
    return p ? p : nomem(n);
}

void *tal_calloc(size_t count, size_t size)
{
    size_t n;
    if (tal_mul_size(count, size, &n) || too_big(n))
        return nomem((size_t)-1);
    void *p = calloc(count ? count : 1, size ? size : 1);
    return p ? p : nomem(n);
}

void *tal_realloc(void *p, size_t n)
{
    if (too_big(n))
        return nomem(n);
    void *q = realloc(p, n ? n : 1);
    return q ? q : nomem(n);
}

void *tal_reallocarray(void *p, size_t count, size_t size)
{
    size_t n;
    if (tal_mul_size(count, size, &n))
        return nomem((size_t)-1);
    return tal_realloc(p, n);
}

char *tal_strndup(const char *s, size_t n)
{
    char *d = tal_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

char *tal_strdup(const char *s) { return tal_strndup(s, strlen(s)); }

void *tal_malloc_aligned(size_t n)
{
    void *p = NULL;
    if (too_big(n))
        return nomem(n);
    /* round up: aligned_alloc wants a multiple of the alignment */
    size_t r = (n + 63) & ~(size_t)63;
    if (r < n || posix_memalign(&p, 64, r ? r : 64))
        return nomem(n);
    return p;
}

void tal_free_aligned(void *p) { free(p); }

int tal_grow(void **v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return tal_err(TAL_ENOMEM, "out of memory: array of %zu elements", need);
        ncap *= 2;
    }
    void *p = tal_reallocarray(*v, ncap, size);
    if (!p)
        return TAL_ENOMEM;
    *v = p;
    *cap = ncap;
    return 0;
}

int tal_reserve(void *pp, size_t *cap, size_t n, size_t size)
{
    void **p = pp;
    if (n <= *cap)
        return 0;
    void *q = tal_reallocarray(*p, n, size);
    if (!q)
        return TAL_ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

int tal_buf_reserve(tal_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return tal_err(TAL_ENOMEM, "out of memory: buffer overflow");
    void *d = b->data;
    int rc = tal_grow(&d, &b->cap, b->len + extra, 1);
    b->data = d;
    return rc;
}

int tal_buf_append(tal_buf *b, const void *p, size_t n)
{
    if (tal_buf_reserve(b, n))
        return TAL_ENOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int tal_buf_printf(tal_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || tal_buf_reserve(b, (size_t)n + 1))
        return TAL_ENOMEM;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void tal_buf_free(tal_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
