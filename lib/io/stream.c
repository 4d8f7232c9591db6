/* stream.c — chunks and sections of the talcore stream (data-spec.md §3–5).
 *
 * The frame layer (frame.c) gives a checked logical byte stream; this file
 * parses it into a header and records.  Every count and length is checked
 * against the bytes its container has left before it is used, and arrays
 * grow as their bytes actually arrive, so a lying length field costs at
 * most one 64 MiB step before the input runs out.
 */
#include "stream.h"
#include "frame.h"
#include "../util/endian.h"
#include "../util/half.h"
#include "../util/mem.h"
#include "../util/output.h"
#include "../util/strmap.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ELEM_HEADER 16            /* type u32, flags u32, length u64 */
#define GROW_STEP   ((size_t)16 << 20)   /* floats read before the array grows again */

struct tal_stream {
    char *name;
    /* reading */
    int fd, own_fd;
    tal_frame_reader *fr;
    tal_header hdr;
    uint32_t skip_mask;
    int ended;
    uint16_t *half;               /* f16 staging */
    size_t half_cap;
    /* writing */
    tal_output *out;
    tal_frame_writer *fw;
    tal_buf buf;
};

const char *tal_stream_name(const tal_stream *s) { return s->name; }
const tal_header *tal_stream_header(const tal_stream *s) { return &s->hdr; }
void tal_stream_skip(tal_stream *s, uint32_t mask) { s->skip_mask = mask; }

/* ---- reading: bounded cursor over one section ------------------------- */

typedef struct {
    tal_stream *s;
    uint64_t left;        /* bytes of the section not yet consumed */
    const char *what;     /* section name for messages */
    const char *rec;      /* record id, once known */
} cursor;

static int corrupt(const cursor *c, const char *fmt, ...) TAL_PRINTF(2, 3);
static int corrupt(const cursor *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unsigned long long off = tal_fr_frame_offset(c->s->fr);
    if (c->rec && *c->rec)
        return tal_err(TAL_ECORRUPT, "corrupt stream: '%s': record '%s' (frame at byte offset %llu): %s: %s",
                       c->s->name, c->rec, off, c->what, msg);
    return tal_err(TAL_ECORRUPT, "corrupt stream: '%s': frame at byte offset %llu: %s: %s",
                   c->s->name, off, c->what, msg);
}

static int cur_read(cursor *c, void *dst, uint64_t n)
{
    if (n > c->left)
        return corrupt(c, "section ends %llu bytes early", (unsigned long long)(n - c->left));
    int rc = tal_fr_read(c->s->fr, dst, (size_t)n);
    if (rc)
        return rc;
    c->left -= n;
    return 0;
}

static int cur_skip_rest(cursor *c)
{
    int rc = tal_fr_skip(c->s->fr, c->left);
    if (!rc)
        c->left = 0;
    return rc;
}

static int cur_u32(cursor *c, uint32_t *v)
{
    unsigned char b[4];
    int rc = cur_read(c, b, 4);
    if (!rc)
        *v = tal_le32(b);
    return rc;
}

/* A string: u32 length, then bytes (no terminator). */
static int cur_str(cursor *c, char **out, uint32_t max)
{
    uint32_t n;
    int rc = cur_u32(c, &n);
    if (rc)
        return rc;
    if (n > max || n > c->left)
        return corrupt(c, "string of %u bytes does not fit (limit %u, %llu left)", n, max,
                       (unsigned long long)c->left);
    char *p = tal_malloc((size_t)n + 1);
    if (!p)
        return TAL_ENOMEM;
    if ((rc = cur_read(c, p, n))) {
        free(p);
        return rc;
    }
    p[n] = 0;
    if (memchr(p, 0, n)) {
        free(p);
        return corrupt(c, "string contains a NUL byte");
    }
    free(*out);
    *out = p;
    return 0;
}

/* Count of fixed-size elements that must fit in what is left. */
static int cur_count(cursor *c, uint32_t *n, uint64_t elem, uint32_t max)
{
    int rc = cur_u32(c, n);
    if (rc)
        return rc;
    if (*n > max || (uint64_t)*n * elem > c->left)
        return corrupt(c, "%u elements of %llu bytes do not fit in %llu bytes", *n,
                       (unsigned long long)elem, (unsigned long long)c->left);
    return 0;
}

/* Read `count` values stored as `dtype` into a growing float array. */
static int cur_floats(cursor *c, float **p, size_t *cap, uint64_t count, int dtype)
{
    size_t esz = tal_dtype_size(dtype);
    if (!esz)
        return tal_err(TAL_EUNSUP, "unsupported stream: '%s': %s: unknown dtype %d", c->s->name, c->what, dtype);
    if (count * esz > c->left)
        return corrupt(c, "%llu values do not fit in %llu bytes", (unsigned long long)count,
                       (unsigned long long)c->left);
    uint64_t done = 0;
    while (done < count) {
        size_t step = done < GROW_STEP ? GROW_STEP : (size_t)done;
        size_t piece = count - done < step ? (size_t)(count - done) : step;
        if (tal_floats_reserve(p, cap, (size_t)done + piece))
            return TAL_ENOMEM;
        if (esz == 4) {
            int rc = cur_read(c, *p + done, (uint64_t)piece * 4);
            if (rc)
                return rc;
        } else {
            /* halves go through a staging buffer of at most 1 Mi values */
            for (size_t k = 0; k < piece;) {
                size_t m = piece - k < ((size_t)1 << 20) ? piece - k : ((size_t)1 << 20);
                if (m > c->s->half_cap) {
                    uint16_t *h = tal_realloc(c->s->half, m * 2);
                    if (!h)
                        return TAL_ENOMEM;
                    c->s->half = h;
                    c->s->half_cap = m;
                }
                int rc = cur_read(c, c->s->half, (uint64_t)m * 2);
                if (rc)
                    return rc;
                tal_f16_to_f32_n(*p + done + k, c->s->half, m);
                k += m;
            }
        }
        done += piece;
    }
    return 0;
}

/* ---- reading: header --------------------------------------------------- */

static int read_elem_header(tal_stream *s, uint32_t *type, uint32_t *flags, uint64_t *len)
{
    unsigned char b[ELEM_HEADER];
    int rc = tal_fr_read(s->fr, b, sizeof b);
    if (rc)
        return rc;
    *type = tal_le32(b);
    *flags = tal_le32(b + 4);
    *len = tal_le64(b + 8);
    return 0;
}

static int keep_raw(cursor *c, tal_raw_section **v, uint32_t *n, uint32_t type, uint32_t flags)
{
    tal_raw_section *p = tal_reallocarray(*v, *n + 1, sizeof *p);
    if (!p)
        return TAL_ENOMEM;
    *v = p;
    /* grow with the data, as for floats */
    tal_buf b = { 0 };
    while (c->left) {
        size_t piece = c->left < GROW_STEP ? (size_t)c->left : GROW_STEP;
        if (tal_buf_reserve(&b, piece))
            return TAL_ENOMEM;
        int rc = cur_read(c, b.data + b.len, piece);
        if (rc) {
            tal_buf_free(&b);
            return rc;
        }
        b.len += piece;
    }
    p[*n] = (tal_raw_section){ type, flags, b.len, b.data ? b.data : tal_malloc(1) };
    (*n)++;
    return 0;
}

static int unknown_section(cursor *c, tal_raw_section **v, uint32_t *n, uint32_t type, uint32_t flags)
{
    if (flags & TAL_SEC_CRITICAL)
        return tal_err(TAL_EUNSUP, "unsupported stream: '%s': %s section type %u must be understood but is unknown to this version",
                       c->s->name, c->what, type);
    if (flags & TAL_SEC_COPYSAFE)
        return keep_raw(c, v, n, type, flags);
    return cur_skip_rest(c);
}

static int parse_header_section(cursor *c, tal_header *h, uint32_t type, uint32_t flags)
{
    unsigned char b[24];
    uint32_t n;
    int rc;
    switch (type) {
    case TAL_HS_CLASSES:
        c->what = "class table";
        if ((rc = cur_count(c, &n, 8, TAL_MAX_CLASSES)))
            return rc;
        tal_strmap names;
        tal_strmap_init(&names);
        for (uint32_t i = 0; i < n && !rc; i++) {
            char *name = NULL;
            if ((rc = cur_read(c, b, 4)) || (rc = cur_str(c, &name, TAL_MAX_STRING)))
                break;
            if (tal_strmap_get(&names, name) >= 0)
                rc = corrupt(c, "class '%s' is listed twice", name);
            else if (!(rc = tal_strmap_put(&names, name, i)))
                rc = tal_classes_add(&h->classes, name, (int32_t)tal_le32(b));
            free(name);
        }
        tal_strmap_free(&names);
        return rc;
    case TAL_HS_FEATURES:
        c->what = "feature description";
        if ((rc = cur_read(c, b, 8)))
            return rc;
        h->feat_dim = tal_le32(b);
        h->feat_dtype = b[4];
        if (h->feat_dim > TAL_MAX_D)
            return corrupt(c, "feature dimension %u is over the limit %u", h->feat_dim, TAL_MAX_D);
        if (!tal_dtype_size(h->feat_dtype))
            return tal_err(TAL_EUNSUP, "unsupported stream: '%s': unknown feature dtype %u", c->s->name, b[4]);
        return 0;
    case TAL_HS_GRID:
        c->what = "time grid";
        if ((rc = cur_read(c, b, 24)))
            return rc;
        h->fps = tal_lef64(b);
        h->stride = tal_lef64(b + 8);
        h->clip = tal_lef64(b + 16);
        if (!isfinite(h->fps) || !isfinite(h->stride) || !isfinite(h->clip) || h->fps < 0 || h->stride < 0 || h->clip < 0)
            return corrupt(c, "grid values must be finite and not negative");
        return 0;
    case TAL_HS_PROV:
        c->what = "provenance";
        if ((rc = cur_count(c, &n, 12, 1u << 16)))
            return rc;
        for (uint32_t i = 0; i < n; i++) {
            tal_prov p = { 0 };
            if ((rc = cur_str(c, &p.tool, TAL_MAX_STRING)) || (rc = cur_str(c, &p.version, TAL_MAX_STRING)) ||
                (rc = cur_str(c, &p.argv, TAL_MAX_STRING))) {
                free(p.tool); free(p.version); free(p.argv);
                return rc;
            }
            tal_prov *v = tal_reallocarray(h->prov, h->nprov + 1, sizeof *v);
            if (!v) {
                free(p.tool); free(p.version); free(p.argv);
                return TAL_ENOMEM;
            }
            h->prov = v;
            h->prov[h->nprov++] = p;
        }
        return 0;
    case TAL_HS_META:
        c->what = "metadata";
        if ((rc = cur_count(c, &n, 8, 1u << 16)))
            return rc;
        for (uint32_t i = 0; i < n; i++) {
            char *k = NULL, *v = NULL;
            if (!(rc = cur_str(c, &k, TAL_MAX_STRING)) && !(rc = cur_str(c, &v, TAL_MAX_STRING)))
                rc = tal_header_set_meta(h, k, v);
            free(k);
            free(v);
            if (rc)
                return rc;
        }
        return 0;
    }
    return unknown_section(c, &h->extra, &h->nextra, type, flags);
}

static int read_header(tal_stream *s, tal_header *h)
{
    uint32_t type, flags;
    uint64_t len;
    uint64_t off = tal_fr_frame_offset(s->fr);
    cursor c = { s, 0, "stream header", NULL };
    int rc = read_elem_header(s, &type, &flags, &len);
    if (rc)
        return rc;
    if (type != TAL_CHUNK_HEADER)
        return tal_err(TAL_ECORRUPT, "corrupt stream: '%s': stream at byte offset %llu does not begin with a header",
                       s->name, (unsigned long long)off);
    if (len < 12 || len > TAL_MAX_HEADER)
        return tal_err(TAL_ECORRUPT, "corrupt stream: '%s': header at byte offset %llu has impossible length %llu",
                       s->name, (unsigned long long)off, (unsigned long long)len);
    unsigned char b[12];
    if ((rc = tal_fr_read(s->fr, b, 12)))
        return rc;
    tal_header_init(h);
    h->version_major = tal_le16(b);
    h->version_minor = tal_le16(b + 2);
    h->compat_flags = tal_le32(b + 4);
    h->incompat_flags = tal_le32(b + 8);
    if (h->version_major != TAL_STREAM_VERSION_MAJOR)
        return tal_err(TAL_EUNSUP, "unsupported stream: '%s': format version %u.%u (this talcore reads %u.x)",
                       s->name, h->version_major, h->version_minor, TAL_STREAM_VERSION_MAJOR);
    if (h->incompat_flags)   /* version 1.0 defines none */
        return tal_err(TAL_EUNSUP, "unsupported stream: '%s': header sets must-understand flags 0x%08x unknown to this version",
                       s->name, h->incompat_flags);
    uint64_t left = len - 12;
    while (left) {
        if (left < ELEM_HEADER)
            return corrupt(&c, "%llu stray bytes after the last section", (unsigned long long)left);
        if ((rc = read_elem_header(s, &type, &flags, &len)))
            return rc;
        left -= ELEM_HEADER;
        if (len > left)
            return corrupt(&c, "section type %u claims %llu bytes, %llu left", type,
                           (unsigned long long)len, (unsigned long long)left);
        c.left = len;
        if ((rc = parse_header_section(&c, h, type, flags)) || (rc = cur_skip_rest(&c)))
            return rc;
        c.what = "stream header";
        left -= len;
    }
    return 0;
}

static tal_stream *open_fd(int fd, int own, const char *name)
{
    tal_stream *s = tal_calloc(1, sizeof *s);
    if (!s) {
        if (own)
            close(fd);
        return NULL;
    }
    tal_header_init(&s->hdr);
    s->fd = fd;
    s->own_fd = own;
    s->name = tal_strdup(strcmp(name, "-") ? name : "standard input");
    if (!s->name)
        goto fail;
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    if (!(s->fr = tal_fr_open(s->fd, name)))
        goto fail;
    int rc = tal_fr_next_stream(s->fr);
    if (rc == 0)
        tal_err(TAL_ETRUNC, "empty input: '%s': not a talcore stream", s->name);
    if (rc <= 0 || read_header(s, &s->hdr))
        goto fail;
    return s;
fail:
    tal_stream_close(s);
    return NULL;
}

tal_stream *tal_stream_open(const char *path)
{
    if (!strcmp(path, "-"))
        return open_fd(STDIN_FILENO, 0, path);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        tal_err(TAL_EIO, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    return open_fd(fd, 1, path);
}

tal_stream *tal_stream_fdopen(int fd, const char *name) { return open_fd(fd, 0, name); }

/* ---- reading: records ---------------------------------------------------- */

static int read_segset(cursor *c, tal_segset *set)
{
    unsigned char b[40 + 4 * 32];
    uint32_t n, qmask;
    int rc;
    if ((rc = cur_count(c, &n, 32, UINT32_MAX)) || (rc = cur_u32(c, &qmask)))
        return rc;
    int nq = __builtin_popcount(qmask);
    uint64_t stride = 32 + 4 * (uint64_t)nq;
    if ((uint64_t)n * stride > c->left)
        return corrupt(c, "%u segments do not fit in %llu bytes", n, (unsigned long long)c->left);
    tal_segset_clear(set);
    set->qmask = qmask & ((1u << TAL_Q_COUNT) - 1);
    for (uint32_t i = 0; i < n; i++) {
        if ((rc = cur_read(c, b, stride)))
            return rc;
        tal_segment seg = { tal_lef64(b), tal_lef64(b + 8), tal_lef64(b + 16),
                            (int32_t)tal_le32(b + 24), tal_le32(b + 28), { 0 } };
        int k = 0;
        for (int bit = 0; bit < 32; bit++)
            if (qmask & (1u << bit)) {
                if (bit < TAL_Q_COUNT)
                    seg.q[bit] = tal_lef32(b + 32 + 4 * k);
                k++;
            }
        if ((rc = tal_segset_push(set, &seg)))
            return rc;
    }
    return 0;
}

static int read_array_header(cursor *c, uint32_t *T, uint32_t *D, int *dtype)
{
    unsigned char b[12];
    int rc = cur_read(c, b, 12);
    if (rc)
        return rc;
    *T = tal_le32(b);
    *D = tal_le32(b + 4);
    *dtype = b[8];
    if (*T > TAL_MAX_T || *D > TAL_MAX_D || (uint64_t)*T * *D > TAL_MAX_ELEMENTS)
        return corrupt(c, "%u x %u is over the size limits", *T, *D);
    if (!tal_dtype_size(*dtype))
        return tal_err(TAL_EUNSUP, "unsupported stream: '%s': %s: unknown dtype %d", c->s->name, c->what, *dtype);
    return 0;
}

/* n f64 seconds, the array growing as the bytes arrive (a lying count
 * costs one bounded step) */
static int read_timemap(cursor *c, tal_record *r, uint32_t n)
{
    unsigned char b[8 * 512];
    if (tal_record_alloc_timemap(r, 0))
        return TAL_ENOMEM;
    for (uint32_t done = 0; done < n;) {
        uint32_t piece = n - done < 512 ? n - done : 512;
        int rc;
        void *v = r->timemap;
        if (tal_grow(&v, &r->timemap_cap, (size_t)done + piece, sizeof *r->timemap))
            return TAL_ENOMEM;
        r->timemap = v;
        if ((rc = cur_read(c, b, (uint64_t)piece * 8)))
            return rc;
        for (uint32_t i = 0; i < piece; i++)
            r->timemap[done + i] = tal_lef64(b + 8 * i);
        done += piece;
        r->ntimemap = done;
    }
    return 0;
}

static int parse_record_section(cursor *c, tal_record *r, uint32_t type, uint32_t flags)
{
    tal_stream *s = c->s;
    unsigned char b[32];
    uint32_t n, T, D;
    int dtype, rc;
    switch (type) {
    case TAL_RS_CORE:
        c->what = "core";
        if ((rc = cur_str(c, &r->id, TAL_MAX_STRING)))
            return rc;
        c->rec = r->id;
        if ((rc = cur_str(c, &r->subset, TAL_MAX_STRING)) || (rc = cur_read(c, b, 24)))
            return rc;
        r->duration = tal_lef64(b);
        r->fps = tal_lef64(b + 8);
        r->supervision = b[16];
        r->role = b[17];
        r->flags = tal_le32(b + 20);
        if (!isfinite(r->duration) || r->duration < 0 || !isfinite(r->fps) || r->fps < 0)
            return corrupt(c, "duration and fps must be finite and not negative");
        /* 1.3: the record's own stride and clip follow when it has them */
        if (c->left >= 16) {
            if ((rc = cur_read(c, b, 16)))
                return rc;
            r->stride = tal_lef64(b);
            r->clip = tal_lef64(b + 8);
            if (!isfinite(r->stride) || r->stride < 0 || !isfinite(r->clip) || r->clip < 0)
                return corrupt(c, "stride and clip must be finite and not negative");
        }
        return 0;
    case TAL_RS_FEATURES:
        c->what = "features";
        if ((rc = read_array_header(c, &T, &D, &dtype)))
            return rc;
        if (s->hdr.feat_dim && D != s->hdr.feat_dim)
            return corrupt(c, "%u channels where the header says %u", D, s->hdr.feat_dim);
        r->T = T;
        r->D = D;
        r->feat_dtype = (uint8_t)dtype;
        if (s->skip_mask & TAL_HAS_FEATURES)
            return cur_skip_rest(c);
        if ((rc = cur_floats(c, &r->feat, &r->feat_cap, (uint64_t)T * D, dtype)))
            return rc;
        r->present |= TAL_HAS_FEATURES;
        return 0;
    case TAL_RS_SEGMENTS:
    case TAL_RS_DETECTIONS:
        c->what = type == TAL_RS_SEGMENTS ? "segments" : "detections";
        if ((rc = read_segset(c, type == TAL_RS_SEGMENTS ? &r->segs : &r->dets)))
            return rc;
        r->present |= type == TAL_RS_SEGMENTS ? TAL_HAS_SEGMENTS : TAL_HAS_DETECTIONS;
        return 0;
    case TAL_RS_POINTS:
        c->what = "points";
        if ((rc = cur_count(c, &n, 16, UINT32_MAX)))
            return rc;
        r->present |= TAL_HAS_POINTS;
        for (uint32_t i = 0; i < n; i++) {
            if ((rc = cur_read(c, b, 16)) ||
                (rc = tal_record_add_point(r, tal_lef64(b), (int32_t)tal_le32(b + 8), tal_lef32(b + 12))))
                return rc;
        }
        return 0;
    case TAL_RS_LABELS:
        c->what = "video labels";
        if ((rc = cur_count(c, &n, 8, UINT32_MAX)))
            return rc;
        r->present |= TAL_HAS_LABELS;
        for (uint32_t i = 0; i < n; i++) {
            if ((rc = cur_read(c, b, 8)))
                return rc;
            void *v = r->labels;
            if (tal_grow(&v, &r->labels_cap, (size_t)r->nlabels + 1, sizeof *r->labels))
                return TAL_ENOMEM;
            r->labels = v;
            r->labels[r->nlabels++] = (tal_label){ (int32_t)tal_le32(b), tal_lef32(b + 4) };
        }
        return 0;
    case TAL_RS_DIST:
        c->what = "snippet distributions";
        if ((rc = read_array_header(c, &T, &D, &dtype)))
            return rc;
        r->dist_T = T;
        r->dist_K = D;
        r->dist_dtype = (uint8_t)dtype;
        if (s->skip_mask & TAL_HAS_DIST)
            return cur_skip_rest(c);
        if ((rc = cur_floats(c, &r->dist, &r->dist_cap, (uint64_t)T * D, dtype)))
            return rc;
        r->present |= TAL_HAS_DIST;
        return 0;
    case TAL_RS_TIMEMAP:
        c->what = "time map";
        if ((rc = cur_count(c, &n, 8, TAL_MAX_T)) || (rc = cur_read(c, b, 4)))
            return rc;
        return read_timemap(c, r, n);
    case TAL_RS_PROV:
        c->what = "record provenance";
        if ((rc = cur_count(c, &n, 8, 1u << 16)))
            return rc;
        r->present |= TAL_HAS_PROV;
        for (uint32_t i = 0; i < n; i++) {
            char *k = NULL, *v = NULL;
            if (!(rc = cur_str(c, &k, TAL_MAX_STRING)) && !(rc = cur_str(c, &v, TAL_MAX_STRING)))
                rc = tal_record_set_prov(r, k, v);
            free(k);
            free(v);
            if (rc)
                return rc;
        }
        return 0;
    }
    c->what = "record";
    return unknown_section(c, &r->extra, &r->nextra, type, flags);
}

/* Checks that need the header; the same rules the writer enforces. */
static int check_record(cursor *c, const tal_record *r)
{
    int rc = tal_record_validate(r, &c->s->hdr);
    if (rc) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", tal_errmsg());
        c->what = "record";
        return corrupt(c, "%s", msg);
    }
    return 0;
}

static int read_record_chunk(tal_stream *s, tal_record *r, uint64_t len)
{
    cursor c = { s, 0, "record", NULL };
    uint32_t seen = 0, nsections = 0;
    int rc;
    tal_record_clear(r);
    while (len) {
        uint32_t type, flags;
        uint64_t slen;
        if (len < ELEM_HEADER)
            return corrupt(&c, "%llu stray bytes after the last section", (unsigned long long)len);
        if ((rc = read_elem_header(s, &type, &flags, &slen)))
            return rc;
        len -= ELEM_HEADER;
        if (slen > len)
            return corrupt(&c, "section type %u claims %llu bytes, %llu left", type,
                           (unsigned long long)slen, (unsigned long long)len);
        if (!nsections++ && type != TAL_RS_CORE)
            return corrupt(&c, "the first section is type %u, not the core", type);
        if (type >= TAL_RS_CORE && type <= TAL_RS_TIMEMAP) {
            uint32_t bit = 1u << type;
            if (seen & bit)
                return corrupt(&c, "section type %u appears twice", type);
            seen |= bit;
        }
        c.left = slen;
        if ((rc = parse_record_section(&c, r, type, flags)) || (rc = cur_skip_rest(&c)))
            return rc;
        len -= slen;
    }
    if (!nsections)
        return corrupt(&c, "empty record");
    return check_record(&c, r);
}

int tal_record_read(tal_stream *s, tal_record *r)
{
    if (s->ended)
        return 0;
    for (;;) {
        int rc = tal_fr_more(s->fr);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            /* EOF marker: the end, or another stream joined by cat */
            uint64_t off = tal_fr_input_offset(s->fr);
            if ((rc = tal_fr_next_stream(s->fr)) < 0)
                return rc;
            if (rc == 0) {
                s->ended = 1;
                return 0;
            }
            tal_header h2;
            rc = read_header(s, &h2);
            if (!rc && (rc = tal_header_compatible(&s->hdr, &h2)))
                rc = tal_err_wrap(TAL_EINCOMPAT, "incompatible concatenated stream: '%s' at byte offset %llu",
                                  s->name, (unsigned long long)off);
            tal_header_free(&h2);
            if (rc)
                return rc;
            continue;
        }
        uint32_t type, flags;
        uint64_t len;
        uint64_t off = tal_fr_frame_offset(s->fr);
        if ((rc = read_elem_header(s, &type, &flags, &len)))
            return rc;
        if (type == TAL_CHUNK_RECORD)
            return (rc = read_record_chunk(s, r, len)) ? rc : 1;
        if (type == TAL_CHUNK_HEADER)
            return tal_err(TAL_ECORRUPT, "corrupt stream: '%s': a second header inside one stream (frame at byte offset %llu)",
                           s->name, (unsigned long long)off);
        if (flags & TAL_SEC_CRITICAL)
            return tal_err(TAL_EUNSUP, "unsupported stream: '%s': chunk type %u at byte offset %llu must be understood but is unknown to this version",
                           s->name, type, (unsigned long long)off);
        if ((rc = tal_fr_skip(s->fr, len)))
            return rc;
    }
}

uint64_t tal_stream_bytes_read(const tal_stream *s) { return s->fr ? tal_fr_input_offset(s->fr) : 0; }

static void stream_free(tal_stream *s)
{
    tal_fr_close(s->fr);
    if (s->own_fd)
        close(s->fd);
    tal_fw_close(s->fw);
    tal_output_abort(s->out);   /* NULL once committed */
    tal_buf_free(&s->buf);
    tal_header_free(&s->hdr);
    free(s->half);
    free(s->name);
    free(s);
}

void tal_stream_close(tal_stream *s)
{
    if (s)
        stream_free(s);
}

/* ---- validation ------------------------------------------------------------ */

static int check_segs(const tal_segset *set, const char *what, int32_t ncls)
{
    for (uint32_t i = 0; i < set->n; i++) {
        const tal_segment *g = &set->v[i];
        if (!isfinite(g->start) || !isfinite(g->end) || isnan(g->score))
            return tal_err(TAL_EINVAL, "%s %u has a time or score that is not a number", what, i);
        if (g->cls < -1 || g->cls >= ncls)
            return tal_err(TAL_EINVAL, "%s %u has class %d outside 0..%d", what, i, g->cls, ncls - 1);
    }
    return 0;
}

int tal_record_validate(const tal_record *r, const tal_header *h)
{
    int32_t ncls = (int32_t)h->classes.n;
    if (!r->id || !*r->id)
        return tal_err(TAL_EINVAL, "a record has an empty id");
    if (!isfinite(r->duration) || r->duration < 0 || !isfinite(r->fps) || r->fps < 0)
        return tal_err(TAL_EINVAL, "duration and fps must be finite and not negative");
    if (!isfinite(r->stride) || r->stride < 0 || !isfinite(r->clip) || r->clip < 0)
        return tal_err(TAL_EINVAL, "stride and clip must be finite and not negative");
    if (r->supervision >= TAL_SUP_COUNT || r->role >= TAL_ROLE_COUNT)
        return tal_err(TAL_EINVAL, "unknown supervision kind %u or role %u", r->supervision, r->role);
    if ((r->present & TAL_HAS_FEATURES) && (!r->T || !r->D))
        return tal_err(TAL_EINVAL, "empty feature array (%u x %u)", r->T, r->D);
    if ((r->present & TAL_HAS_FEATURES) && h->feat_dim && r->D != h->feat_dim)
        return tal_err(TAL_EINVAL, "features have %u channels, the stream %u", r->D, h->feat_dim);
    int rc;
    if ((rc = check_segs(&r->segs, "segment", ncls)) || (rc = check_segs(&r->dets, "detection", ncls)))
        return rc;
    for (uint32_t i = 0; i < r->npoints; i++) {
        if (!isfinite(r->points[i].time))
            return tal_err(TAL_EINVAL, "point %u has a time that is not a number", i);
        if (r->points[i].cls < -1 || r->points[i].cls >= ncls)
            return tal_err(TAL_EINVAL, "point %u has class %d outside 0..%d", i, r->points[i].cls, ncls - 1);
    }
    for (uint32_t i = 0; i < r->nlabels; i++)
        if (r->labels[i].cls < 0 || r->labels[i].cls >= ncls)
            return tal_err(TAL_EINVAL, "video label %u has class %d outside 0..%d", i, r->labels[i].cls, ncls - 1);
    if (r->present & TAL_HAS_TIMEMAP) {
        if (!r->ntimemap)
            return tal_err(TAL_EINVAL, "empty time map");
        if ((r->present & TAL_HAS_FEATURES) && r->ntimemap != r->T)
            return tal_err(TAL_EINVAL, "the time map has %u entries for %u snippets of features", r->ntimemap, r->T);
        if ((r->present & TAL_HAS_DIST) && r->ntimemap != r->dist_T)
            return tal_err(TAL_EINVAL, "the time map has %u entries for %u snippets of distributions", r->ntimemap,
                           r->dist_T);
        for (uint32_t i = 0; i < r->ntimemap; i++) {
            if (!isfinite(r->timemap[i]))
                return tal_err(TAL_EINVAL, "time map entry %u is not a number", i);
            if (i && !(r->timemap[i] > r->timemap[i - 1]))
                return tal_err(TAL_EINVAL, "time map entry %u (%.9g s) does not follow entry %u (%.9g s)", i,
                               r->timemap[i], i - 1, r->timemap[i - 1]);
        }
    }
    return 0;
}

/* ---- writing ------------------------------------------------------------- */

static int put_raw(tal_buf *b, const void *p, size_t n) { return tal_buf_append(b, p, n); }

static int put_u32(tal_buf *b, uint32_t v)
{
    unsigned char x[4];
    tal_put32(x, v);
    return put_raw(b, x, 4);
}

static int put_str(tal_buf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > TAL_MAX_STRING)
        return tal_err(TAL_EINVAL, "string of %zu bytes is over the limit %u", n, TAL_MAX_STRING);
    return put_u32(b, (uint32_t)n) || put_raw(b, s, n) ? TAL_ENOMEM : 0;
}

/* Open a section: write a header with length 0 and return its position;
 * end_section patches the length in. */
static size_t begin_section(tal_buf *b, uint32_t type, uint32_t flags)
{
    unsigned char h[ELEM_HEADER] = { 0 };
    tal_put32(h, type);
    tal_put32(h + 4, flags);
    size_t at = b->len;
    return put_raw(b, h, sizeof h) ? (size_t)-1 : at;
}

static void end_section(tal_buf *b, size_t at)
{
    tal_put64(b->data + at + 8, b->len - at - ELEM_HEADER);
}

static int encode_header(tal_buf *b, const tal_header *h)
{
    unsigned char x[32];
    size_t chunk = begin_section(b, TAL_CHUNK_HEADER, TAL_SEC_CRITICAL), at;
    if (chunk == (size_t)-1)
        return TAL_ENOMEM;
    tal_put16(x, TAL_STREAM_VERSION_MAJOR);
    tal_put16(x + 2, TAL_STREAM_VERSION_MINOR);
    tal_put32(x + 4, 0);    /* compat flags: none defined */
    tal_put32(x + 8, 0);    /* incompat flags: none defined */
    int rc = put_raw(b, x, 12);

    at = begin_section(b, TAL_HS_CLASSES, TAL_SEC_CRITICAL);
    rc |= put_u32(b, h->classes.n);
    for (uint32_t i = 0; i < h->classes.n; i++) {
        tal_put32(x, (uint32_t)h->classes.ext_ids[i]);
        rc |= put_raw(b, x, 4) | put_str(b, h->classes.names[i]);
    }
    end_section(b, at);

    at = begin_section(b, TAL_HS_FEATURES, TAL_SEC_CRITICAL);
    memset(x, 0, 8);
    tal_put32(x, h->feat_dim);
    x[4] = h->feat_dtype;
    rc |= put_raw(b, x, 8);
    end_section(b, at);

    at = begin_section(b, TAL_HS_GRID, TAL_SEC_CRITICAL);
    tal_putf64(x, h->fps);
    tal_putf64(x + 8, h->stride);
    tal_putf64(x + 16, h->clip);
    rc |= put_raw(b, x, 24);
    end_section(b, at);

    at = begin_section(b, TAL_HS_PROV, 0);
    rc |= put_u32(b, h->nprov);
    for (uint32_t i = 0; i < h->nprov; i++)
        rc |= put_str(b, h->prov[i].tool) | put_str(b, h->prov[i].version) | put_str(b, h->prov[i].argv);
    end_section(b, at);

    if (h->nmeta) {
        at = begin_section(b, TAL_HS_META, 0);
        rc |= put_u32(b, h->nmeta);
        for (uint32_t i = 0; i < h->nmeta; i++)
            rc |= put_str(b, h->meta[i].key) | put_str(b, h->meta[i].value);
        end_section(b, at);
    }
    for (uint32_t i = 0; i < h->nextra; i++) {
        at = begin_section(b, h->extra[i].type, h->extra[i].flags);
        rc |= put_raw(b, h->extra[i].data, h->extra[i].len);
        end_section(b, at);
    }
    end_section(b, chunk);
    return rc ? (tal_errcode() ? tal_errcode() : TAL_ENOMEM) : 0;
}

tal_stream *tal_stream_create(const char *path, const tal_header *h, const tal_write_opts *opts)
{
    tal_write_opts o = { 0 };
    if (opts)
        o = *opts;
    tal_stream *s = tal_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->fd = -1;
    s->name = tal_strdup(strcmp(path, "-") ? path : "standard output");
    if (!s->name || tal_header_copy(&s->hdr, h))
        goto fail;
    if (o.feat_dtype)
        s->hdr.feat_dtype = (uint8_t)o.feat_dtype;
    if (!tal_dtype_size(s->hdr.feat_dtype))
        s->hdr.feat_dtype = TAL_DTYPE_F32;
    s->hdr.version_major = TAL_STREAM_VERSION_MAJOR;
    s->hdr.version_minor = TAL_STREAM_VERSION_MINOR;
    {
        /* readers reject a class table with a name twice: never write one */
        tal_strmap names;
        tal_strmap_init(&names);
        int dup = 0;
        for (uint32_t i = 0; i < h->classes.n && !dup; i++) {
            dup = tal_strmap_get(&names, h->classes.names[i]) >= 0;
            if (dup)
                tal_err(TAL_EINVAL, "cannot write '%s': class '%s' is listed twice", s->name, h->classes.names[i]);
            else if (tal_strmap_put(&names, h->classes.names[i], i))
                dup = -1;
        }
        tal_strmap_free(&names);
        if (dup)
            goto fail;
    }
    if (!(s->out = tal_output_open(path, TAL_OUT_BINARY | (o.force ? TAL_OUT_FORCE : 0))))
        goto fail;
    if (!(s->fw = tal_fw_open(tal_output_fd(s->out), path, o.level, o.frame_size)))
        goto fail;
    s->buf.len = 0;
    if (encode_header(&s->buf, &s->hdr) || tal_fw_write(s->fw, s->buf.data, s->buf.len))
        goto fail;
    return s;
fail:
    tal_stream_abort(s);
    return NULL;
}

static int encode_segset(tal_buf *b, uint32_t type, const tal_segset *set)
{
    unsigned char x[32 + 4 * TAL_Q_COUNT];
    uint32_t qmask = set->qmask & ((1u << TAL_Q_COUNT) - 1);
    size_t at = begin_section(b, type, 0);
    int rc = put_u32(b, set->n) | put_u32(b, qmask);
    for (uint32_t i = 0; i < set->n && !rc; i++) {
        const tal_segment *g = &set->v[i];
        tal_putf64(x, g->start);
        tal_putf64(x + 8, g->end);
        tal_putf64(x + 16, g->score);
        tal_put32(x + 24, (uint32_t)g->cls);
        tal_put32(x + 28, g->flags);
        size_t k = 32;
        for (int q = 0; q < TAL_Q_COUNT; q++)
            if (qmask & (1u << q)) {
                tal_putf32(x + k, g->q[q]);
                k += 4;
            }
        rc |= put_raw(b, x, k);
    }
    end_section(b, at);
    return rc ? TAL_ENOMEM : 0;
}

/* Everything but the two float arrays, which are written straight from
 * the record's memory. */
static int encode_record_small(tal_buf *b, const tal_record *r)
{
    unsigned char x[24];
    size_t at = begin_section(b, TAL_RS_CORE, TAL_SEC_CRITICAL);
    int rc = put_str(b, r->id) | put_str(b, r->subset);
    memset(x, 0, sizeof x);
    tal_putf64(x, r->duration);
    tal_putf64(x + 8, r->fps);
    x[16] = r->supervision;
    x[17] = r->role;
    tal_put32(x + 20, r->flags);
    rc |= put_raw(b, x, 24);
    if (r->stride > 0 || r->clip > 0) {   /* only then: other streams stay as 1.2 wrote them */
        tal_putf64(x, r->stride);
        tal_putf64(x + 8, r->clip);
        rc |= put_raw(b, x, 16);
    }
    end_section(b, at);

    if (r->present & TAL_HAS_SEGMENTS)
        rc |= encode_segset(b, TAL_RS_SEGMENTS, &r->segs);
    if (r->present & TAL_HAS_DETECTIONS)
        rc |= encode_segset(b, TAL_RS_DETECTIONS, &r->dets);
    if (r->present & TAL_HAS_POINTS) {
        at = begin_section(b, TAL_RS_POINTS, 0);
        rc |= put_u32(b, r->npoints);
        for (uint32_t i = 0; i < r->npoints; i++) {
            tal_putf64(x, r->points[i].time);
            tal_put32(x + 8, (uint32_t)r->points[i].cls);
            tal_putf32(x + 12, r->points[i].weight);
            rc |= put_raw(b, x, 16);
        }
        end_section(b, at);
    }
    if (r->present & TAL_HAS_LABELS) {
        at = begin_section(b, TAL_RS_LABELS, 0);
        rc |= put_u32(b, r->nlabels);
        for (uint32_t i = 0; i < r->nlabels; i++) {
            tal_put32(x, (uint32_t)r->labels[i].cls);
            tal_putf32(x + 4, r->labels[i].score);
            rc |= put_raw(b, x, 8);
        }
        end_section(b, at);
    }
    if (r->nprov) {
        at = begin_section(b, TAL_RS_PROV, 0);
        rc |= put_u32(b, r->nprov);
        for (uint32_t i = 0; i < r->nprov; i++)
            rc |= put_str(b, r->prov[i].key) | put_str(b, r->prov[i].value);
        end_section(b, at);
    }
    if (r->present & TAL_HAS_TIMEMAP) {
        /* copy-safe: a tool that does not know it copies it with the features it describes */
        at = begin_section(b, TAL_RS_TIMEMAP, TAL_SEC_COPYSAFE);
        memset(x, 0, 8);
        tal_put32(x, r->ntimemap);
        rc |= put_raw(b, x, 8);
        for (uint32_t i = 0; i < r->ntimemap; i++) {
            tal_putf64(x, r->timemap[i]);
            rc |= put_raw(b, x, 8);
        }
        end_section(b, at);
    }
    for (uint32_t i = 0; i < r->nextra; i++) {
        if (!(r->extra[i].flags & TAL_SEC_COPYSAFE))
            continue;
        at = begin_section(b, r->extra[i].type, r->extra[i].flags);
        rc |= put_raw(b, r->extra[i].data, r->extra[i].len);
        end_section(b, at);
    }
    return rc ? (tal_errcode() ? tal_errcode() : TAL_ENOMEM) : 0;
}

static uint64_t array_section_len(uint32_t T, uint32_t D, int dtype)
{
    return 12 + (uint64_t)T * D * tal_dtype_size(dtype);
}

static int write_array(tal_stream *s, uint32_t type, uint32_t T, uint32_t D, int dtype, const float *v)
{
    unsigned char h[ELEM_HEADER + 12] = { 0 };
    tal_put32(h, type);
    tal_put64(h + 8, array_section_len(T, D, dtype));
    tal_put32(h + 16, T);
    tal_put32(h + 20, D);
    h[24] = (unsigned char)dtype;
    int rc = tal_fw_write(s->fw, h, sizeof h);
    size_t n = (size_t)T * D;
    if (rc || !n)
        return rc;
    if (dtype == TAL_DTYPE_F32)
        return tal_fw_write(s->fw, v, n * 4);
    for (size_t k = 0; k < n;) {
        size_t m = n - k < ((size_t)1 << 20) ? n - k : ((size_t)1 << 20);
        if (m > s->half_cap) {
            uint16_t *p = tal_realloc(s->half, m * 2);
            if (!p)
                return TAL_ENOMEM;
            s->half = p;
            s->half_cap = m;
        }
        tal_f32_to_f16_n(s->half, v + k, m);
        if ((rc = tal_fw_write(s->fw, s->half, m * 2)))
            return rc;
        k += m;
    }
    return 0;
}

int tal_record_write(tal_stream *s, const tal_record *r)
{
    int rc = tal_record_validate(r, &s->hdr);
    if (rc)
        return tal_err_wrap(rc, "cannot write record '%s' to '%s'", r->id ? r->id : "", s->name);
    int has_feat = (r->present & TAL_HAS_FEATURES) != 0;
    int has_dist = (r->present & TAL_HAS_DIST) != 0;
    int dist_dtype = tal_dtype_size(r->dist_dtype) ? r->dist_dtype : TAL_DTYPE_F32;
    s->buf.len = 0;
    size_t chunk = begin_section(&s->buf, TAL_CHUNK_RECORD, TAL_SEC_CRITICAL);
    if (chunk == (size_t)-1 || (rc = encode_record_small(&s->buf, r)))
        return rc ? rc : TAL_ENOMEM;
    uint64_t total = s->buf.len - ELEM_HEADER;
    if (has_dist)
        total += ELEM_HEADER + array_section_len(r->dist_T, r->dist_K, dist_dtype);
    if (has_feat)
        total += ELEM_HEADER + array_section_len(r->T, r->D, s->hdr.feat_dtype);
    tal_put64(s->buf.data + chunk + 8, total);
    if ((rc = tal_fw_write(s->fw, s->buf.data, s->buf.len)))
        return rc;
    if (has_dist && (rc = write_array(s, TAL_RS_DIST, r->dist_T, r->dist_K, dist_dtype, r->dist)))
        return rc;
    if (has_feat && (rc = write_array(s, TAL_RS_FEATURES, r->T, r->D, s->hdr.feat_dtype, r->feat)))
        return rc;
    /* let downstream tools start once a useful amount is pending */
    return tal_fw_flush(s->fw, (size_t)256 << 10);
}

uint64_t tal_stream_bytes_written(const tal_stream *s) { return s->fw ? tal_fw_bytes_out(s->fw) : 0; }

int tal_stream_finish(tal_stream *s)
{
    int rc = tal_fw_end(s->fw);
    tal_fw_close(s->fw);
    s->fw = NULL;
    if (rc) {
        tal_output_abort(s->out);
    } else {
        rc = tal_output_commit(s->out);
    }
    s->out = NULL;
    stream_free(s);
    return rc;
}

void tal_stream_abort(tal_stream *s)
{
    if (s)
        stream_free(s);
}
