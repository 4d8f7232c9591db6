/* recset.c — a stream held in memory (see recset.h). */
#include "recset.h"
#include "../io/stream.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <stdlib.h>
#include <string.h>

void tal_recset_init(tal_recset *s)
{
    memset(s, 0, sizeof *s);
    tal_header_init(&s->hdr);
}

void tal_recset_free(tal_recset *s)
{
    for (uint32_t i = 0; i < s->n; i++)
        tal_record_free(&s->v[i]);
    free(s->v);
    tal_header_free(&s->hdr);
    tal_recset_init(s);
}

int tal_recset_load(tal_recset *s, const char *path, int (*keep)(const tal_record *r, void *ctx), void *ctx,
                    uint32_t *skipped)
{
    return tal_recset_load_skip(s, path, keep, ctx, skipped, 0);
}

int tal_recset_load_skip(tal_recset *s, const char *path, int (*keep)(const tal_record *r, void *ctx), void *ctx,
                         uint32_t *skipped, uint32_t skip)
{
    tal_stream *in = tal_stream_open(path);
    if (!in)
        return tal_errcode();
    if (skip)
        tal_stream_skip(in, skip);
    int rc = tal_header_copy(&s->hdr, tal_stream_header(in));
    if (skipped)
        *skipped = 0;
    tal_record r;
    tal_record_init(&r);
    while (!rc && (rc = tal_record_read(in, &r)) > 0) {
        rc = 0;
        if (keep && !keep(&r, ctx)) {
            if (skipped)
                ++*skipped;
            continue;
        }
        void *v = s->v;
        if (tal_grow(&v, &s->cap, (size_t)s->n + 1, sizeof *s->v)) {
            rc = TAL_ENOMEM;
            break;
        }
        s->v = v;
        /* move the record in: its buffers become the set's */
        s->v[s->n++] = r;
        tal_record_init(&r);
    }
    tal_record_free(&r);
    tal_stream_close(in);
    return rc < 0 ? rc : 0;
}
