/* npz.c — NumPy .npz reader (see npz.h).
 *
 * The zip structures used (APPNOTE.TXT; all integers little-endian):
 *
 *   local file header   "PK\3\4" (0x04034b50), 30 bytes, then name, extra
 *                       field and the member's data
 *   central directory   one "PK\1\2" (0x02014b50) entry of 46 bytes per
 *                       member, then its name, extra field and comment
 *   zip64 end record    "PK\6\6" (0x06064b50), 56 bytes: 64-bit counts,
 *                       directory size and offset
 *   zip64 locator       "PK\6\7" (0x07064b50), 20 bytes, just before the
 *                       end record: where the zip64 end record is
 *   end record (EOCD)   "PK\5\6" (0x06054b50), 22 bytes, then a comment of
 *                       up to 65535 bytes: the file's last bytes
 *
 * Sizes and CRCs are taken from the central directory only.  Python's
 * zipfile, which NumPy uses with force_zip64, leaves the 32-bit sizes of
 * the local header at 0xffffffff with the real ones in a zip64 extra
 * field, and when it cannot seek it sets flag bit 3 and writes zeros there
 * and a data descriptor after the data; the directory is right in every
 * case.  A 32-bit field of 0xffffffff (0xffff for a disk number) in the
 * directory means "look in the zip64 extra field (id 0x0001)", which holds
 * the 64-bit values of just those fields, in the order uncompressed size,
 * compressed size, local header offset, disk.
 *
 * The member is read in pieces (from the file or the buffer), inflated
 * when deflated, checksummed, and its .npy header parsed and values
 * converted as they arrive, so that memory holds the result and two
 * pieces, never the whole member.
 */
#include "npz.h"
#include "npy.h"
#include "stream.h"
#include "../util/crc32.h"
#include "../util/endian.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SIG_LOCAL   0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD    0x06054b50u
#define SIG_EOCD64  0x06064b50u
#define SIG_LOC64   0x07064b50u

#define EOCD_LEN    22
#define EOCD64_LEN  56
#define LOC64_LEN   20
#define CENTRAL_LEN 46
#define LOCAL_LEN   30
#define MAX_COMMENT 65535

/* An archive of one array has a directory of a hundred bytes; a bigger
 * one is refused rather than read whole. */
#define MAX_DIRECTORY ((uint64_t)16 << 20)
/* The largest .npy member the npy limits allow: preamble, header, data. */
#define MAX_MEMBER (12 + (uint64_t)TAL_NPY_MAX_HEADER + TAL_MAX_ELEMENTS * 8)
/* Pieces of member data read and inflated at a time; the scratch buffer
 * of this size also holds the file's tail while the end record is sought. */
#define CHUNK ((size_t)1 << 20)
#define NAMES_SHOWN 4      /* array names a refusal lists */
#define NAME_SHOWN 64      /* bytes of a name a message shows */

/* ---- where the bytes come from ------------------------------------------ */

typedef struct {
    const unsigned char *mem;   /* the archive in memory, or NULL: read fd */
    int fd;
    uint64_t size;
    const char *name;           /* the archive, for messages */
} source;

/* A message "<what> .npz file: 'name': ...", what chosen by the code. */
static int fail(const source *s, int code, const char *fmt, ...) TAL_PRINTF(3, 4);
static int fail(const source *s, int code, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    const char *what = code == TAL_ETRUNC ? "truncated" : code == TAL_EUNSUP ? "unsupported" : "bad";
    return tal_err(code, "%s .npz file: '%s': %s", what, s->name, why);
}

/* n bytes at off (the caller keeps off + n <= size): a pointer into the
 * buffer, or the bytes read into scratch.  NULL with a message on error. */
static const unsigned char *src_get(const source *s, uint64_t off, size_t n, unsigned char *scratch)
{
    if (s->mem)
        return s->mem + off;
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(s->fd, scratch + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            tal_err(TAL_EIO, "cannot read '%s': %s", s->name, strerror(errno));
            return NULL;
        }
        if (k == 0) {   /* it was longer when we looked */
            fail(s, TAL_ETRUNC, "the file ended at byte offset %llu while being read",
                 (unsigned long long)(off + got));
            return NULL;
        }
        got += (size_t)k;
    }
    return scratch;
}

/* A member name for a message: at most NAME_SHOWN bytes, control bytes
 * and quotes shown as '?', so that one message stays one line. */
static void show_name(char *out, const unsigned char *p, size_t n)
{
    size_t k = n < NAME_SHOWN ? n : NAME_SHOWN;
    for (size_t i = 0; i < k; i++)
        out[i] = p[i] < 0x20 || p[i] == 0x7f || p[i] == '\'' ? '?' : (char)p[i];
    strcpy(out + k, n > k ? "..." : "");
}

/* ---- end of central directory -------------------------------------------- */

typedef struct {
    uint64_t entries, dir_size, dir_offset;
    uint64_t end;     /* where the directory must end: the first end record */
} directory;

/* No end record: an archive that starts as one (a local header) was cut
 * short; anything else is damaged. */
static int no_end_record(const source *s)
{
    unsigned char b[4];
    const unsigned char *p = s->size >= 4 ? src_get(s, 0, 4, b) : NULL;
    if (s->size >= 4 && !p)
        return tal_errcode();
    if (p && tal_le32(p) == SIG_LOCAL)
        return fail(s, TAL_ETRUNC, "end of central directory not found (the archive is cut short)");
    return fail(s, TAL_ECORRUPT, "end of central directory not found");
}

/* Check the file's magic before anything else: the commonest mistakes
 * (a .npy named .npz, a text file) get a message that says so. */
static int check_magic(const source *s, unsigned char *scratch)
{
    if (!s->size)
        return fail(s, TAL_ETRUNC, "the file is empty");
    size_t n = s->size < 6 ? (size_t)s->size : 6;
    const unsigned char *p = src_get(s, 0, n, scratch);
    if (!p)
        return tal_errcode();
    if (n == 6 && !memcmp(p, "\x93NUMPY", 6))
        return tal_err(TAL_ECORRUPT, "not a .npz file: '%s': it is a .npy array, not a zip archive", s->name);
    if (n < 4 && !memcmp(p, "PK\3\4", n))
        return fail(s, TAL_ETRUNC, "only %zu bytes", n);
    if (n < 4 || p[0] != 'P' || p[1] != 'K')
        return tal_err(TAL_ECORRUPT, "not a .npz file: '%s': bad magic", s->name);
    return 0;
}

/* Read the zip64 end record the locator at loc points to.  end64 is where
 * the record must end (the locator). */
static int read_eocd64(const source *s, const unsigned char *loc, uint64_t end64, directory *d, unsigned char *scratch)
{
    uint64_t at = tal_le64(loc + 8);
    if (tal_le32(loc + 4) != 0 || tal_le32(loc + 16) > 1)
        return fail(s, TAL_EUNSUP, "the archive spans several disks");
    if (at > end64 || end64 - at < EOCD64_LEN)
        return fail(s, TAL_ECORRUPT, "zip64 end of central directory at byte offset %llu is outside the file",
                    (unsigned long long)at);
    const unsigned char *p = src_get(s, at, EOCD64_LEN, scratch);
    if (!p)
        return tal_errcode();
    if (tal_le32(p) != SIG_EOCD64)
        return fail(s, TAL_ECORRUPT, "no zip64 end of central directory at byte offset %llu", (unsigned long long)at);
    if (tal_le32(p + 16) || tal_le32(p + 20) || tal_le64(p + 24) != tal_le64(p + 32))
        return fail(s, TAL_EUNSUP, "the archive spans several disks");
    d->entries = tal_le64(p + 32);
    d->dir_size = tal_le64(p + 40);
    d->dir_offset = tal_le64(p + 48);
    d->end = at;
    return 0;
}

/* Find the end record: the last "PK\5\6" whose comment reaches exactly to
 * the end of the file (a signature inside the comment or the data would
 * not). */
static int find_directory(const source *s, directory *d, unsigned char *scratch)
{
    size_t tail = s->size < LOC64_LEN + EOCD_LEN + MAX_COMMENT ? (size_t)s->size : LOC64_LEN + EOCD_LEN + MAX_COMMENT;
    uint64_t base = s->size - tail;
    const unsigned char *t = src_get(s, base, tail, scratch);
    if (!t)
        return tal_errcode();
    if (tail < EOCD_LEN)
        return no_end_record(s);
    size_t pos = tail - EOCD_LEN;
    while (tal_le32(t + pos) != SIG_EOCD || pos + EOCD_LEN + tal_le16(t + pos + 20) != tail)
        if (pos-- == 0)
            return no_end_record(s);
    const unsigned char *e = t + pos;
    if (pos >= LOC64_LEN && tal_le32(e - LOC64_LEN) == SIG_LOC64) {
        /* the zip64 record has the real values (the end record's may be
         * saturated at 0xffff...); copy the locator first: reading the
         * record reuses scratch */
        unsigned char loc[LOC64_LEN];
        memcpy(loc, e - LOC64_LEN, LOC64_LEN);
        int rc = read_eocd64(s, loc, base + pos - LOC64_LEN, d, scratch);
        if (rc)
            return rc;
    } else {
        if (tal_le16(e + 4) || tal_le16(e + 6) || tal_le16(e + 8) != tal_le16(e + 10))
            return fail(s, TAL_EUNSUP, "the archive spans several disks");
        d->entries = tal_le16(e + 10);
        d->dir_size = tal_le32(e + 12);
        d->dir_offset = tal_le32(e + 16);
        d->end = base + pos;
    }
    if (d->dir_offset > d->end || d->end - d->dir_offset < d->dir_size)
        return fail(s, TAL_ECORRUPT, "central directory (%llu bytes at byte offset %llu) runs past its end record",
                    (unsigned long long)d->dir_size, (unsigned long long)d->dir_offset);
    if (d->dir_size > MAX_DIRECTORY)
        return fail(s, TAL_EUNSUP, "central directory of %llu bytes is over the size limits (one array per file is read)",
                    (unsigned long long)d->dir_size);
    if (d->entries > d->dir_size / CENTRAL_LEN)
        return fail(s, TAL_ECORRUPT, "central directory of %llu bytes cannot hold %llu entries",
                    (unsigned long long)d->dir_size, (unsigned long long)d->entries);
    return 0;
}

/* ---- central directory ----------------------------------------------------- */

typedef struct {
    uint16_t flags, method;
    uint32_t crc;
    uint64_t csize, usize, offset;   /* offset: of the local header */
    const unsigned char *name;       /* into the directory */
    size_t name_len;
} entry;

/* Replace the fields saturated at 0xffffffff (0xffff) by their 64-bit
 * values from the zip64 extra field. */
static int zip64_extra(const source *s, entry *e, const unsigned char *x, size_t n, uint32_t *disk)
{
    uint64_t *wide[3] = { &e->usize, &e->csize, &e->offset };
    int need = *disk == 0xffff;
    for (int i = 0; i < 3; i++)
        need |= *wide[i] == 0xffffffffu;
    if (!need)
        return 0;
    char nm[NAME_SHOWN + 4];
    show_name(nm, e->name, e->name_len);
    while (n >= 4) {
        size_t id = tal_le16(x), len = tal_le16(x + 2);
        if (len > n - 4)
            break;
        if (id == 0x0001) {
            size_t at = 0;
            for (int i = 0; i < 3; i++) {
                if (*wide[i] != 0xffffffffu)
                    continue;
                if (len - at < 8)
                    return fail(s, TAL_ECORRUPT, "member '%s' has a zip64 extra field too short for its sizes", nm);
                *wide[i] = tal_le64(x + 4 + at);
                at += 8;
            }
            if (*disk == 0xffff) {
                if (len - at < 4)
                    return fail(s, TAL_ECORRUPT, "member '%s' has a zip64 extra field too short for its sizes", nm);
                *disk = tal_le32(x + 4 + at);
            }
            return 0;
        }
        x += 4 + len;
        n -= 4 + len;
    }
    return fail(s, TAL_ECORRUPT, "member '%s' lacks the zip64 extra field its sizes point to", nm);
}

/* Parse the directory entry at dir[*at] and step past it. */
static int directory_entry(const source *s, const directory *d, const unsigned char *dir, size_t *at, uint64_t i,
                           entry *e)
{
    size_t left = (size_t)d->dir_size - *at;
    const unsigned char *p = dir + *at;
    unsigned long long where = (unsigned long long)(d->dir_offset + *at);
    if (left < CENTRAL_LEN || tal_le32(p) != SIG_CENTRAL)
        return fail(s, TAL_ECORRUPT, "central directory entry %llu at byte offset %llu is %s", (unsigned long long)i,
                    where, left < CENTRAL_LEN ? "cut short" : "not an entry header");
    e->flags = tal_le16(p + 8);
    e->method = tal_le16(p + 10);
    e->crc = tal_le32(p + 16);
    e->csize = tal_le32(p + 20);
    e->usize = tal_le32(p + 24);
    size_t name_len = tal_le16(p + 28), extra_len = tal_le16(p + 30), comment_len = tal_le16(p + 32);
    uint32_t disk = tal_le16(p + 34);
    e->offset = tal_le32(p + 42);
    if (left - CENTRAL_LEN < name_len + extra_len + comment_len)
        return fail(s, TAL_ECORRUPT, "central directory entry %llu at byte offset %llu is cut short",
                    (unsigned long long)i, where);
    e->name = p + CENTRAL_LEN;
    e->name_len = name_len;
    int rc = zip64_extra(s, e, p + CENTRAL_LEN + name_len, extra_len, &disk);
    if (rc)
        return rc;
    if (disk)
        return fail(s, TAL_EUNSUP, "the archive spans several disks");
    *at += CENTRAL_LEN + name_len + extra_len + comment_len;
    return 0;
}

static int ends_with(const entry *e, const char *suffix)
{
    size_t k = strlen(suffix);
    return e->name_len >= k && !memcmp(e->name + e->name_len - k, suffix, k);
}

/* "N arrays ('a', 'b', ...)": NumPy's keys, the names without ".npy". */
static int too_many(const source *s, const entry *shown, uint64_t narrays)
{
    char list[NAMES_SHOWN * (NAME_SHOWN + 8) + 8] = "";
    size_t len = 0;
    for (uint64_t i = 0; i < narrays && i < NAMES_SHOWN; i++) {
        char nm[NAME_SHOWN + 4];
        show_name(nm, shown[i].name, shown[i].name_len - 4);
        len += (size_t)snprintf(list + len, sizeof list - len, "%s'%s'", i ? ", " : "", nm);
    }
    if (narrays > NAMES_SHOWN)
        snprintf(list + len, sizeof list - len, ", ...");
    return fail(s, TAL_EUNSUP, "%llu arrays (%s); save one array per file", (unsigned long long)narrays, list);
}

/* Walk the whole directory and pick its one .npy member.  Directories
 * ("name/") are passed over. */
static int pick_member(const source *s, const directory *d, const unsigned char *dir, entry *pick)
{
    entry shown[NAMES_SHOWN], other = { 0 };
    uint64_t narrays = 0;
    int have_other = 0;
    size_t at = 0;
    for (uint64_t i = 0; i < d->entries; i++) {
        entry e;
        int rc = directory_entry(s, d, dir, &at, i, &e);
        if (rc)
            return rc;
        if (ends_with(&e, "/"))
            continue;
        if (!ends_with(&e, ".npy")) {
            if (!have_other)
                other = e;
            have_other = 1;
            continue;
        }
        if (narrays < NAMES_SHOWN)
            shown[narrays] = e;
        narrays++;
    }
    if (at != d->dir_size)
        return fail(s, TAL_ECORRUPT, "central directory holds %llu bytes after its %llu entries",
                    (unsigned long long)(d->dir_size - at), (unsigned long long)d->entries);
    if (narrays == 1) {
        *pick = shown[0];
        return 0;
    }
    if (narrays > 1)
        return too_many(s, shown, narrays);
    if (have_other) {
        char nm[NAME_SHOWN + 4];
        show_name(nm, other.name, other.name_len);
        return fail(s, TAL_EUNSUP, "member '%s' is not a .npy array (an archive of one array is read)", nm);
    }
    return tal_err(TAL_EINVAL, "empty .npz archive: '%s': no arrays", s->name);
}

/* ---- the member's .npy, as its bytes arrive ------------------------------ */

typedef struct {
    const char *name;        /* "archive.npz:member.npy", for messages */
    uint64_t size;           /* the member's uncompressed size */
    tal_buf head;            /* first bytes, kept until the header parses */
    int ready;               /* header parsed and output reserved */
    tal_npy_info info;
    uint64_t count, done;    /* values in the array, values converted */
    unsigned char part[8];   /* a value split between two pieces */
    size_t part_len;
    float **data;
    size_t *cap;
} npy_sink;

/* The header is in: check the member's size against it before reserving
 * the output, so that a size the header does not explain costs nothing. */
static int sink_start(npy_sink *k)
{
    const tal_npy_info *in = &k->info;
    k->count = in->shape[0] * in->shape[1];
    uint64_t bytes = k->count * in->itemsize, have = k->size - in->data_offset;
    if (have < bytes)
        return tal_err(TAL_ETRUNC, "truncated .npy file: '%s': %llu data bytes expected, %llu present", k->name,
                       (unsigned long long)bytes, (unsigned long long)have);
    if (have > bytes)
        return tal_err(TAL_ECORRUPT, "bad .npy file: '%s': %llu bytes after the array", k->name,
                       (unsigned long long)(have - bytes));
    k->ready = 1;
    return tal_floats_reserve(k->data, k->cap, (size_t)k->count);
}

/* Convert the whole values in p, keeping a split one for the next piece. */
static int sink_values(npy_sink *k, const unsigned char *p, size_t n)
{
    size_t w = k->info.itemsize;
    if (k->part_len) {
        size_t take = w - k->part_len < n ? w - k->part_len : n;
        memcpy(k->part + k->part_len, p, take);
        k->part_len += take;
        p += take;
        n -= take;
        if (k->part_len < w)
            return 0;
        if (k->done == k->count)
            return tal_err(TAL_ECORRUPT, "bad .npy file: '%s': more data than the array holds", k->name);
        tal_npy_convert(&k->info, *k->data, k->done++, k->part, 1);
        k->part_len = 0;
    }
    size_t whole = n / w;
    if (whole > k->count - k->done)
        return tal_err(TAL_ECORRUPT, "bad .npy file: '%s': more data than the array holds", k->name);
    tal_npy_convert(&k->info, *k->data, k->done, p, whole);
    k->done += whole;
    k->part_len = n - whole * w;
    memcpy(k->part, p + whole * w, k->part_len);
    return 0;
}

static int sink_feed(npy_sink *k, const unsigned char *p, size_t n)
{
    if (k->ready)
        return sink_values(k, p, n);
    /* parse in place when the first piece holds the whole header (the
     * usual case); otherwise gather pieces (bounded: the parser refuses a
     * header over TAL_NPY_MAX_HEADER as soon as it sees its length) */
    const unsigned char *h = p;
    size_t hn = n;
    if (k->head.len) {
        if (tal_buf_append(&k->head, p, n))
            return TAL_ENOMEM;
        h = k->head.data;
        hn = k->head.len;
    }
    int rc = tal_npy_parse_header(h, hn, k->name, &k->info);
    if (rc == TAL_ETRUNC)
        return k->head.len ? 0 : tal_buf_append(&k->head, p, n);
    if (rc || (rc = sink_start(k)))
        return rc;
    rc = sink_values(k, h + k->info.data_offset, hn - k->info.data_offset);
    tal_buf_free(&k->head);
    return rc;
}

static int sink_finish(npy_sink *k)
{
    if (!k->ready)
        return tal_err(TAL_ETRUNC, "truncated .npy file: '%s': header is incomplete", k->name);
    if (k->done != k->count || k->part_len)
        return tal_err(TAL_ETRUNC, "truncated .npy file: '%s': %llu data bytes expected", k->name,
                       (unsigned long long)(k->count * k->info.itemsize));
    return 0;
}

/* ---- the member's data ------------------------------------------------------ */

/* The running state of one member: its CRC and the first error of the
 * .npy sink.  After a sink error the data is still read to the end for
 * the CRC, so that a damaged member is reported as such and not as the
 * odd .npy header the damage made. */
typedef struct {
    const source *s;
    const entry *e;
    char nm[NAME_SHOWN + 4];
    uint64_t data;           /* file offset of the member's data */
    uint32_t crc;
    int sink_rc;
    npy_sink *sink;
} member;

static void deliver(member *m, const unsigned char *p, size_t n)
{
    m->crc = tal_crc32(m->crc, p, n);
    if (!m->sink_rc)
        m->sink_rc = sink_feed(m->sink, p, n);
}

static int read_stored(member *m, unsigned char *in)
{
    for (uint64_t at = 0; at < m->e->csize;) {
        size_t n = m->e->csize - at < CHUNK ? (size_t)(m->e->csize - at) : CHUNK;
        const unsigned char *p = src_get(m->s, m->data + at, n, in);
        if (!p)
            return tal_errcode();
        deliver(m, p, n);
        at += n;
    }
    return 0;
}

/* Raw deflate (no zlib header), its output held to the stated size. */
static int inflate_member(member *m, z_stream *z, unsigned char *in, unsigned char *out)
{
    const entry *e = m->e;
    uint64_t fed = 0, produced = 0;
    int zrc = Z_OK;
    while (zrc != Z_STREAM_END) {
        if (!z->avail_in) {
            if (fed == e->csize)
                return fail(m->s, TAL_ECORRUPT, "member '%s' ends before its deflate stream does", m->nm);
            size_t n = e->csize - fed < CHUNK ? (size_t)(e->csize - fed) : CHUNK;
            const unsigned char *p = src_get(m->s, m->data + fed, n, in);
            if (!p)
                return tal_errcode();
            z->next_in = (unsigned char *)p;   /* zlib does not write it */
            z->avail_in = (uInt)n;
            fed += n;
        }
        z->next_out = out;
        z->avail_out = (uInt)CHUNK;
        zrc = inflate(z, Z_NO_FLUSH);
        if (zrc == Z_MEM_ERROR)
            return tal_err(TAL_ENOMEM, "out of memory inflating '%s'", m->s->name);
        if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR)
            return fail(m->s, TAL_ECORRUPT, "member '%s' is not valid deflate data (near byte offset %llu)", m->nm,
                        (unsigned long long)(m->data + fed - z->avail_in));
        size_t got = CHUNK - z->avail_out;
        if (got > e->usize - produced)
            return fail(m->s, TAL_ECORRUPT, "member '%s' inflates to more than the %llu bytes stated", m->nm,
                        (unsigned long long)e->usize);
        produced += got;
        deliver(m, out, got);
    }
    if (produced != e->usize)
        return fail(m->s, TAL_ECORRUPT, "member '%s' inflates to %llu bytes, %llu stated", m->nm,
                    (unsigned long long)produced, (unsigned long long)e->usize);
    return 0;
}

static int read_deflated(member *m, unsigned char *in)
{
    unsigned char *out = tal_malloc(CHUNK);
    if (!out)
        return TAL_ENOMEM;
    z_stream z;
    memset(&z, 0, sizeof z);
    int rc;
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
        rc = tal_err(TAL_ENOMEM, "out of memory inflating '%s'", m->s->name);
    else
        rc = inflate_member(m, &z, in, out);
    inflateEnd(&z);
    free(out);
    return rc;
}

/* Check what the directory says of the member against what we read and
 * the limits, then find its data behind the local header. */
static int locate_member(member *m, const directory *d, unsigned char *scratch)
{
    const entry *e = m->e;
    if (e->flags & 0x41)   /* bit 0: encrypted; bit 6: strong encryption */
        return fail(m->s, TAL_EUNSUP, "member '%s' is encrypted (decrypt it first)", m->nm);
    if (e->method != 0 && e->method != 8) {
        const char *how = e->method == 9 ? "deflate64" : e->method == 12 ? "bzip2" : e->method == 14 ? "lzma"
                        : e->method == 93 ? "zstd" : e->method == 95 ? "xz" : "an unknown method";
        return fail(m->s, TAL_EUNSUP, "member '%s' is compressed with %s (method %u); stored or deflated members are read",
                    m->nm, how, e->method);
    }
    if (e->usize > MAX_MEMBER)
        return fail(m->s, TAL_EUNSUP, "member '%s' of %llu bytes is over the size limits", m->nm,
                    (unsigned long long)e->usize);
    if (e->method == 0 && e->csize != e->usize)
        return fail(m->s, TAL_ECORRUPT, "stored member '%s' has %llu bytes but is said to hold %llu", m->nm,
                    (unsigned long long)e->csize, (unsigned long long)e->usize);
    /* the member lies before the directory */
    if (e->offset > d->dir_offset || d->dir_offset - e->offset < LOCAL_LEN)
        return fail(m->s, TAL_ECORRUPT, "member '%s' has its local header at byte offset %llu, outside the archive",
                    m->nm, (unsigned long long)e->offset);
    const unsigned char *p = src_get(m->s, e->offset, LOCAL_LEN, scratch);
    if (!p)
        return tal_errcode();
    if (tal_le32(p) != SIG_LOCAL)
        return fail(m->s, TAL_ECORRUPT, "no local header for member '%s' at byte offset %llu", m->nm,
                    (unsigned long long)e->offset);
    size_t name_len = tal_le16(p + 26), extra_len = tal_le16(p + 28);
    m->data = e->offset + LOCAL_LEN + name_len + extra_len;
    if (m->data > d->dir_offset || d->dir_offset - m->data < e->csize)
        return fail(m->s, TAL_ECORRUPT, "member '%s' (%llu bytes at byte offset %llu) runs into the central directory",
                    m->nm, (unsigned long long)e->csize, (unsigned long long)m->data);
    p = src_get(m->s, e->offset + LOCAL_LEN, name_len, scratch);
    if (!p)
        return tal_errcode();
    if (name_len != e->name_len || memcmp(p, e->name, name_len))
        return fail(m->s, TAL_ECORRUPT, "member '%s' has another name in its local header", m->nm);
    return 0;
}

/* Read the member into the sink; the CRC decides between a damaged member
 * and a .npy the sink refused. */
static int read_member(const source *s, const directory *d, const entry *e, npy_sink *sink, unsigned char *scratch)
{
    member m = { .s = s, .e = e, .sink = sink };
    show_name(m.nm, e->name, e->name_len);
    int rc = locate_member(&m, d, scratch);
    if (!rc)
        rc = e->method == 0 ? read_stored(&m, scratch) : read_deflated(&m, scratch);
    if (rc)
        return rc;
    if (m.crc != e->crc)
        return fail(s, TAL_ECORRUPT, "CRC mismatch in member '%s' (data %08x, directory %08x)", m.nm,
                    (unsigned)m.crc, (unsigned)e->crc);
    return m.sink_rc ? m.sink_rc : sink_finish(sink);
}

/* ---- entry points --------------------------------------------------------- */

static int load(const source *s, float **data, size_t *cap, uint32_t *T, uint32_t *D)
{
    _Static_assert(CHUNK >= LOC64_LEN + EOCD_LEN + MAX_COMMENT, "the scratch buffer holds the tail");
    /* (a buffer in memory is used in place: no scratch) */
    unsigned char *scratch = s->mem ? NULL : tal_malloc(CHUNK);
    unsigned char *dir = NULL;
    char *sink_name = NULL;
    npy_sink sink = { .data = data, .cap = cap };
    directory d = { 0 };
    entry e;
    int rc;
    if (!s->mem && !scratch)
        return TAL_ENOMEM;
    if ((rc = check_magic(s, scratch)) || (rc = find_directory(s, &d, scratch)))
        goto out;
    /* from a file the directory is read whole (bounded by MAX_DIRECTORY) */
    if (!s->mem && !(dir = tal_malloc(d.dir_size ? (size_t)d.dir_size : 1))) {
        rc = TAL_ENOMEM;
        goto out;
    }
    const unsigned char *dp = src_get(s, d.dir_offset, (size_t)d.dir_size, dir);
    if (!dp) {
        rc = tal_errcode();
        goto out;
    }
    if ((rc = pick_member(s, &d, dp, &e)))
        goto out;
    size_t len = strlen(s->name) + NAME_SHOWN + 8;
    if (!(sink_name = tal_malloc(len))) {
        rc = TAL_ENOMEM;
        goto out;
    }
    char nm[NAME_SHOWN + 4];
    show_name(nm, e.name, e.name_len);
    snprintf(sink_name, len, "%s:%s", s->name, nm);
    sink.name = sink_name;
    sink.size = e.usize;
    if ((rc = read_member(s, &d, &e, &sink, scratch)))
        goto out;
    *T = (uint32_t)sink.info.shape[0];
    *D = (uint32_t)sink.info.shape[1];
out:
    tal_buf_free(&sink.head);
    free(sink_name);
    free(dir);
    free(scratch);
    return rc;
}

int tal_npz_decode(const unsigned char *buf, size_t n, const char *name,
                   float **data, size_t *cap, uint32_t *T, uint32_t *D)
{
    source s = { .mem = buf, .fd = -1, .size = n, .name = name };
    return load(&s, data, cap, T, D);
}

int tal_npz_read(const char *path, float **data, size_t *cap, uint32_t *T, uint32_t *D)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return tal_err(TAL_EIO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    int rc;
    if (fstat(fd, &st))
        rc = tal_err(TAL_EIO, "cannot read '%s': %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))   /* a zip is read from its end */
        rc = tal_err(TAL_EUNSUP, "unsupported .npz file: '%s': not a regular file", path);
    else {
        source s = { .fd = fd, .size = (uint64_t)st.st_size, .name = path };
        rc = load(&s, data, cap, T, D);
    }
    close(fd);
    return rc;
}
