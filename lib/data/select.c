/* select.c — record selection shared by the tools (see select.h). */
#include "select.h"
#include "annoset.h"
#include "../util/error.h"
#include "../util/mem.h"
#include "../util/text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void tal_select_init(tal_select *s)
{
    memset(s, 0, sizeof *s);
    tal_strmap_init(&s->ids);
    s->role = s->supervision = -1;
}

void tal_select_free(tal_select *s)
{
    free(s->subset_text);
    free(s->subsets);
    tal_strmap_free(&s->ids);
    tal_select_init(s);
}

int tal_select_subsets(tal_select *s, const char *list)
{
    free(s->subset_text);
    free(s->subsets);
    s->subsets = NULL;
    s->nsubsets = 0;
    if (!(s->subset_text = tal_strdup(list)))
        return TAL_ENOMEM;
    char *save = NULL;
    for (char *t = strtok_r(s->subset_text, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char **p = tal_reallocarray(s->subsets, (size_t)s->nsubsets + 1, sizeof *p);
        if (!p)
            return TAL_ENOMEM;
        s->subsets = p;
        p[s->nsubsets++] = tal_trim(t);
    }
    return 0;
}

static int add_id(void *ctx, const char *item, long lineno)
{
    (void)lineno;
    return tal_strmap_put(ctx, item, 1);
}

int tal_select_ids_file(tal_select *s, const char *path)
{
    s->use_ids = 1;
    return tal_read_list(path, add_id, &s->ids);
}

uint32_t tal_shard_of(const char *id, uint32_t nshards)
{
    /* FNV-1a's low bits depend only on the ids' low bits; the 64-bit
     * finaliser of MurmurHash3 spreads every bit of the hash over all */
    uint64_t h = tal_hash_str(id);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (uint32_t)(h % nshards);
}

int tal_select_shard(tal_select *s, const char *spec)
{
    char *end;
    errno = 0;
    unsigned long i = strtoul(spec, &end, 10), n = 0;
    int ok = end != spec && *end == '/' && spec[0] >= '0' && spec[0] <= '9';
    if (ok) {
        const char *q = end + 1;
        n = strtoul(q, &end, 10);
        ok = end != q && *end == 0 && q[0] >= '0' && q[0] <= '9' && !errno && n >= 1 && n <= 65536 && i < n;
    }
    if (!ok)
        return tal_err(TAL_EINVAL, "shard '%s': expected I/N with 0 <= I < N <= 65536", spec);
    s->shard = (uint32_t)i;
    s->nshards = (uint32_t)n;
    return 0;
}

int tal_select_match(const tal_select *s, const tal_record *r)
{
    if (s->nshards > 1 && tal_shard_of(r->id, s->nshards) != s->shard)
        return 0;
    if (s->role >= 0 && r->role != s->role)
        return 0;
    if (s->supervision >= 0 && r->supervision != s->supervision)
        return 0;
    if (s->nsubsets) {
        int ok = 0;
        for (int i = 0; i < s->nsubsets && !ok; i++)
            ok = tal_subset_matches(r->subset ? r->subset : "", s->subsets[i]);
        if (!ok)
            return 0;
    }
    return !s->use_ids || tal_strmap_get(&s->ids, r->id) >= 0;
}
