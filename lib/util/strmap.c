/* strmap.c — string -> index map (see strmap.h). */
#include "strmap.h"
#include "error.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>

uint64_t tal_hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;   /* FNV-1a 64 */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

void tal_strmap_init(tal_strmap *m) { memset(m, 0, sizeof *m); }

void tal_strmap_free(tal_strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    tal_strmap_init(m);
}

static size_t slot(const tal_strmap *m, const char *key)
{
    size_t i = (size_t)tal_hash_str(key) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key))
        i = (i + 1) & (m->cap - 1);
    return i;
}

int64_t tal_strmap_get(const tal_strmap *m, const char *key)
{
    if (!m->cap)
        return -1;
    size_t i = slot(m, key);
    return m->keys[i] ? m->vals[i] : -1;
}

static int rehash(tal_strmap *m, size_t ncap)
{
    tal_strmap b = { tal_calloc(ncap, sizeof(char *)), tal_calloc(ncap, sizeof(int64_t)), ncap, m->n };
    if (!b.keys || !b.vals) {
        free(b.keys);
        free(b.vals);
        return TAL_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i]) {
            size_t j = slot(&b, m->keys[i]);
            b.keys[j] = m->keys[i];
            b.vals[j] = m->vals[i];
        }
    free(m->keys);
    free(m->vals);
    *m = b;
    return 0;
}

int tal_strmap_put(tal_strmap *m, const char *key, int64_t val)
{
    if ((m->n + 1) * 2 > m->cap && rehash(m, m->cap ? m->cap * 2 : 64))
        return TAL_ENOMEM;
    size_t i = slot(m, key);
    if (!m->keys[i]) {
        if (!(m->keys[i] = tal_strdup(key)))
            return TAL_ENOMEM;
        m->n++;
    }
    m->vals[i] = val;
    return 0;
}
