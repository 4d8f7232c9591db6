/* recset.h — a whole stream in memory: its header and every record.
 *
 * Training reads its sequences many times, in random order, so it keeps
 * them; everything else should stream one record at a time.
 */
#ifndef TAL_DATA_RECSET_H
#define TAL_DATA_RECSET_H

#include "record.h"

typedef struct {
    tal_header hdr;
    tal_record *v;
    uint32_t n;
    size_t cap;
} tal_recset;

void tal_recset_init(tal_recset *s);
void tal_recset_free(tal_recset *s);
/* Read every record of `path` ("-": stdin) for which keep(r, ctx) is 1
 * (keep NULL: all).  *skipped counts the others (may be NULL). */
int tal_recset_load(tal_recset *s, const char *path, int (*keep)(const tal_record *r, void *ctx), void *ctx,
                    uint32_t *skipped);
/* The same without reading the sections in `skip` (TAL_HAS_*): labels
 * only, say, for a reference that is looked up, not trained on. */
int tal_recset_load_skip(tal_recset *s, const char *path, int (*keep)(const tal_record *r, void *ctx), void *ctx,
                         uint32_t *skipped, uint32_t skip);

#endif
