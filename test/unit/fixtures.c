/* fixtures.c — test content and broken streams, each named for its fault
 * (see fixtures.h and data-spec.md). */
#include "fixtures.h"
#include "util/endian.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

void fixture_header(tal_header *h, uint32_t ncls, uint32_t dim)
{
    tal_header_init(h);
    for (uint32_t c = 0; c < ncls; c++) {
        char name[32];
        snprintf(name, sizeof name, "class_%02u", c);
        tal_classes_add(&h->classes, name, (int32_t)(c * 3 + 7));
    }
    h->feat_dim = dim;
    h->fps = 30;
    h->stride = 4;
    h->clip = 16;
    tal_header_set_meta(h, "dataset", "unit");
    char *argv[] = { "unit", "--flag", "it's quoted" };
    tal_header_add_prov(h, "unit", "0", 3, argv);
}

void fixture_record(tal_rng *g, tal_record *r, const tal_header *h, int idx)
{
    char id[32];
    snprintf(id, sizeof id, "seq_%04d", idx);
    tal_record_clear(r);
    tal_record_set_id(r, id);
    tal_record_set_subset(r, idx % 2 ? "validation" : "test");
    r->duration = 10 + 100 * tal_rng_double(g);
    r->fps = idx % 3 ? 30 : 0;
    r->supervision = (uint8_t)tal_rng_below(g, TAL_SUP_COUNT);
    r->role = (uint8_t)tal_rng_below(g, TAL_ROLE_COUNT);
    if (h->feat_dim && idx % 5 != 4) {
        uint32_t T = 1 + tal_rng_below(g, 300);
        tal_record_alloc_features(r, T, h->feat_dim);
        for (size_t i = 0; i < (size_t)T * h->feat_dim; i++)
            r->feat[i] = (float)tal_rng_normal(g);
    }
    int ncls = (int)h->classes.n;
    uint32_t nseg = tal_rng_below(g, 12);
    r->present |= TAL_HAS_SEGMENTS;
    for (uint32_t i = 0; i < nseg; i++) {
        double s = r->duration * tal_rng_double(g);
        tal_segment seg = { s, s + 5 * tal_rng_double(g), 1.0, (int32_t)tal_rng_below(g, (uint32_t)ncls), 0, { 0 } };
        if (i == 0 && idx % 2) {
            seg.cls = -1;
            seg.flags = TAL_SEG_AMBIGUOUS;
        }
        tal_segset_push(&r->segs, &seg);
    }
    if (idx % 2) {
        r->present |= TAL_HAS_DETECTIONS;
        r->dets.qmask = (1u << TAL_Q_TIOU) | (1u << TAL_Q_ICD);
        for (uint32_t i = 0; i < 20; i++) {
            tal_segment d = { tal_rng_double(g) * 50, 50 + tal_rng_double(g) * 50, tal_rng_double(g),
                              (int32_t)tal_rng_below(g, (uint32_t)ncls), 0, { 0 } };
            d.q[TAL_Q_TIOU] = tal_rng_float(g);
            d.q[TAL_Q_ICD] = tal_rng_float(g);
            tal_segset_push(&r->dets, &d);
        }
    }
    for (uint32_t i = 0; i < nseg; i++)
        tal_record_add_point(r, r->duration * tal_rng_double(g), (int32_t)tal_rng_below(g, (uint32_t)ncls), 1.0f);
    tal_record_labels_from_segments(r);
    if (idx % 4 == 1) {
        uint32_t T = 1 + tal_rng_below(g, 50);
        tal_record_alloc_dist(r, T, (uint32_t)ncls + 1);
        for (size_t i = 0; i < (size_t)T * ((uint32_t)ncls + 1); i++)
            r->dist[i] = tal_rng_float(g);
    }
    tal_record_set_prov(r, "features", "unit.npy");
}

const char *fixture_dir(void)
{
    static char dir[512];
    const char *src = getenv("TAL_SRCDIR");
    snprintf(dir, sizeof dir, "%s/test/data/broken", src ? src : ".");
    return dir;
}

/* ---- building fixtures from logical bytes ---------------------------- */

typedef struct { unsigned char *p; size_t n, cap; } bytes;

static void put(bytes *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void put_frame(bytes *out, const unsigned char *p, size_t n)
{
    unsigned char h[TAL_FRAME_HEADER_SIZE];
    uint32_t c = n ? (uint32_t)crc32(0, p, (uInt)n) : 0;
    tal_frame_header_encode(h, TAL_CODEC_STORED, (uint32_t)n, (uint32_t)n, c);
    put(out, h, sizeof h);
    put(out, p, n);
}

/* Frame logical bytes into stored frames of `fs` bytes, then EOF. */
static bytes reframe(const bytes *logical, size_t fs)
{
    bytes out = { 0 };
    for (size_t off = 0; off < logical->n; off += fs)
        put_frame(&out, logical->p + off, logical->n - off < fs ? logical->n - off : fs);
    put_frame(&out, NULL, 0);
    return out;
}

/* The logical bytes of a small valid stream: 3 classes, 4-d features,
 * three records with two segments each. */
static int valid_logical(const char *dir, bytes *logical)
{
    char path[600];
    snprintf(path, sizeof path, "%s/.tmp-valid.tal", dir);
    tal_header h;
    tal_header_init(&h);
    const char *names[] = { "Jump", "Run", "Throw" };
    for (int c = 0; c < 3; c++)
        tal_classes_add(&h.classes, names[c], -1);
    h.feat_dim = 4;
    h.fps = 30;
    h.stride = 4;
    h.clip = 16;
    tal_write_opts o = { .level = 0, .frame_size = TAL_FRAME_MAX };
    tal_stream *w = tal_stream_create(path, &h, &o);
    if (!w)
        return -1;
    tal_record r;
    tal_record_init(&r);
    for (int i = 0; i < 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "video_%d", i);
        tal_record_clear(&r);
        tal_record_set_id(&r, id);
        tal_record_set_subset(&r, "validation");
        r.duration = 20 + i;
        r.supervision = TAL_SUP_FULL;
        r.role = TAL_ROLE_TRAIN;
        tal_record_alloc_features(&r, 6, 4);
        for (int k = 0; k < 24; k++)
            r.feat[k] = (float)(k * 0.25 - i);
        r.present |= TAL_HAS_SEGMENTS;
        for (int s = 0; s < 2; s++) {
            tal_segment g = { 1.5 + 5 * s, 3.0 + 5 * s + i, 1, (int32_t)((i + s) % 3), 0, { 0 } };
            tal_segset_push(&r.segs, &g);
        }
        tal_record_labels_from_segments(&r);
        if (tal_record_write(w, &r))
            return -1;
    }
    tal_record_free(&r);
    tal_header_free(&h);
    if (tal_stream_finish(w))
        return -1;
    /* one big frame: its payload is the whole logical stream */
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    unsigned char hdr[TAL_FRAME_HEADER_SIZE];
    if (fread(hdr, 1, sizeof hdr, f) != sizeof hdr) {
        fclose(f);
        return -1;
    }
    size_t n = tal_le32(hdr + 12);
    logical->p = malloc(n);
    logical->n = logical->cap = n;
    size_t got = fread(logical->p, 1, n, f);
    fclose(f);
    remove(path);
    return got == n ? 0 : -1;
}

static int save(const char *dir, const char *name, const void *p, size_t n)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return tal_err(TAL_EIO, "cannot write '%s'", path);
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : tal_err(TAL_EIO, "cannot write '%s'", path);
}

static int save_framed(const char *dir, const char *name, const bytes *logical)
{
    bytes f = reframe(logical, 64);
    int rc = save(dir, name, f.p, f.n);
    free(f.p);
    return rc;
}

static bytes copy(const bytes *b)
{
    bytes c = { malloc(b->n), b->n, b->n };
    memcpy(c.p, b->p, b->n);
    return c;
}

/* Offset of the first record chunk and of its section of `type`. */
static size_t first_record(const bytes *l) { return 16 + (size_t)tal_le64(l->p + 8); }
static size_t find_section(const bytes *l, size_t rec, uint32_t type)
{
    size_t end = rec + 16 + (size_t)tal_le64(l->p + rec + 8);
    for (size_t s = rec + 16; s < end; s += 16 + (size_t)tal_le64(l->p + s + 8))
        if (tal_le32(l->p + s) == type)
            return s;
    return 0;
}

int fixtures_write(const char *dir)
{
    bytes L = { 0 };
    if (valid_logical(dir, &L))
        return tal_errcode() ? tal_errcode() : TAL_EIO;
    int rc = 0;
    bytes v = reframe(&L, 64);
    rc |= save(dir, "valid.tal", v.p, v.n);
    rc |= save(dir, "empty.tal", "", 0);
    rc |= save(dir, "truncated.tal", v.p, 3 * 88 + 24 + 10);          /* inside frame 3's payload */
    rc |= save(dir, "truncated-header.tal", v.p, 3 * 88 + 10);        /* inside frame 3's header */
    rc |= save(dir, "truncated-noeof.tal", v.p, v.n - TAL_FRAME_HEADER_SIZE);

    bytes x = copy(&v);
    x.p[0] = 'X';
    rc |= save(dir, "bad-magic.tal", x.p, x.n);
    memcpy(x.p, v.p, v.n);
    x.p[2 * 88 + 1] ^= 0x20;                                             /* frame 2's magic */
    rc |= save(dir, "bad-frame-magic.tal", x.p, x.n);
    memcpy(x.p, v.p, v.n);
    x.p[2 * 88 + 24 + 5] ^= 0x01;                                        /* frame 2's payload */
    rc |= save(dir, "crc-mismatch.tal", x.p, x.n);
    memcpy(x.p, v.p, v.n);
    x.p[2 * 88 + 12] ^= 0x01;                                            /* frame 2's usize */
    rc |= save(dir, "header-crc-mismatch.tal", x.p, x.n);
    free(x.p);

    /* a deflated frame whose data is not deflate (block type 3) */
    {
        bytes out = { 0 };
        unsigned char h[TAL_FRAME_HEADER_SIZE], junk[40];
        memset(junk, 0xFF, sizeof junk);
        tal_frame_header_encode(h, TAL_CODEC_DEFLATE, sizeof junk, (uint32_t)L.n, (uint32_t)crc32(0, L.p, (uInt)L.n));
        put(&out, h, sizeof h);
        put(&out, junk, sizeof junk);
        put_frame(&out, NULL, 0);
        rc |= save(dir, "bad-deflate.tal", out.p, out.n);
        free(out.p);
    }
    /* a frame that declares 100 MiB */
    {
        unsigned char h[TAL_FRAME_HEADER_SIZE];
        tal_frame_header_encode(h, TAL_CODEC_STORED, 100u << 20, 100u << 20, 0);
        rc |= save(dir, "oversized-frame.tal", h, sizeof h);
    }
    size_t rec = first_record(&L);
    {   /* the core section claims a terabyte */
        bytes m = copy(&L);
        tal_put64(m.p + rec + 16 + 8, (uint64_t)1 << 40);
        rc |= save_framed(dir, "oversized-length.tal", &m);
        free(m.p);
    }
    {   /* 2^31 segments in a section of a few bytes */
        bytes m = copy(&L);
        size_t s = find_section(&m, rec, TAL_RS_SEGMENTS);
        tal_put32(m.p + s + 16, 0x7FFFFFFFu);
        rc |= save_framed(dir, "huge-count.tal", &m);
        free(m.p);
    }
    {   /* a segment of class 9 in a 3-class stream */
        bytes m = copy(&L);
        size_t s = find_section(&m, rec, TAL_RS_SEGMENTS);
        tal_put32(m.p + s + 16 + 8 + 24, 9);
        rc |= save_framed(dir, "class-out-of-range.tal", &m);
        free(m.p);
    }
    for (int critical = 0; critical < 2; critical++) {
        /* an unknown section type 99 appended to the first record */
        size_t end = rec + 16 + (size_t)tal_le64(L.p + rec + 8);
        bytes m = { 0 };
        put(&m, L.p, end);
        unsigned char sec[20] = { 0 };
        tal_put32(sec, 99);
        tal_put32(sec + 4, critical ? TAL_SEC_CRITICAL : 0);
        tal_put64(sec + 8, 4);
        put(&m, sec, sizeof sec);
        put(&m, L.p + end, L.n - end);
        tal_put64(m.p + rec + 8, tal_le64(L.p + rec + 8) + sizeof sec);
        rc |= save_framed(dir, critical ? "unknown-critical-section.tal" : "unknown-skippable-section.tal", &m);
        free(m.p);
    }
    {
        bytes m = copy(&L);
        tal_put32(m.p + 16 + 8, 1);                  /* incompat flags */
        rc |= save_framed(dir, "unknown-must-understand-flag.tal", &m);
        memcpy(m.p, L.p, L.n);
        tal_put16(m.p + 16, 2);                      /* version 2.0 */
        rc |= save_framed(dir, "version-2.tal", &m);
        memcpy(m.p, L.p, L.n);
        tal_put16(m.p + 18, 0);                      /* 1.0, before the candidate flag */
        rc |= save_framed(dir, "version-1.0.tal", &m);
        tal_put16(m.p + 18, 9);                      /* 1.9: a later minor version */
        rc |= save_framed(dir, "version-1.9.tal", &m);
        free(m.p);
    }
    {   /* an EOF marker in the middle of the first record */
        bytes out = { 0 };
        size_t cut = rec + 40;
        put_frame(&out, L.p, cut);
        put_frame(&out, NULL, 0);
        put_frame(&out, L.p + cut, L.n - cut);
        put_frame(&out, NULL, 0);
        rc |= save(dir, "eof-inside-record.tal", out.p, out.n);
        free(out.p);
    }
    free(v.p);
    free(L.p);
    return rc ? TAL_EIO : 0;
}
