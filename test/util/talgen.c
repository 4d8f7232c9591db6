/* talgen — makes input files for tests and benchmarks (not installed).
 *
 *   talgen npy FILE T D [f4|f8|f2|>f4|i4] [VERSION] [C|F]
 *                                                       value t*1000+d at [t][d],
 *                                                       in C (row-major, the
 *                                                       default) or Fortran
 *                                                       (column-major) order
 *   talgen npz FILE T D [LAYOUT] [MEMBER...]            a zip of .npy members (f4,
 *                                                       values as npy), each named
 *                                                       MEMBER (default arr_0.npy);
 *                                                       LAYOUT is stored or deflated
 *                                                       (np.savez, np.savez_compressed:
 *                                                       zip64 sizes in the local
 *                                                       header), then +dd for a data
 *                                                       descriptor (zeros in the
 *                                                       local header, as zipfile
 *                                                       writes to a pipe) and +z64
 *                                                       for zip64 fields in the
 *                                                       central directory and a
 *                                                       zip64 end record
 *   talgen npy-random DIR N T D SEED                    N files DIR/seq_%04d.npy,
 *                                                       T +-10%, N(0,1) float32
 *   talgen reverse-points IN.tal OUT.tal                every record's points in
 *                                                       reverse order (as a writer
 *                                                       that does not sort them)
 * The .npy and zip writers are deliberately separate from the library's
 * readers (and checksum with zlib's crc32, not the library's), so that a
 * test of one is not a test of itself.
 */
#include "tal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* n little-endian bytes of v */
static int put(tal_buf *b, uint64_t v, int n)
{
    unsigned char x[8];
    for (int i = 0; i < n; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    return tal_buf_append(b, x, (size_t)n);
}

/* One value in the dtype descr names. */
static int put_value(tal_buf *b, const char *descr, float x)
{
    if (!strcmp(descr, "<f4"))
        return tal_buf_append(b, &x, 4);
    if (!strcmp(descr, ">f4")) {
        unsigned char r[4], *p = (unsigned char *)&x;
        for (int i = 0; i < 4; i++)
            r[i] = p[3 - i];
        return tal_buf_append(b, r, 4);
    }
    if (!strcmp(descr, "<f8")) {
        double y = x;
        return tal_buf_append(b, &y, 8);
    }
    if (!strcmp(descr, "<f2"))
        return put(b, tal_f32_to_f16(x), 2);
    int32_t y = (int32_t)x;
    return tal_buf_append(b, &y, 4);
}

/* A whole .npy in b: header padded to 64 bytes with spaces and '\n' as
 * NumPy does, then the values, column after column when fortran. */
static int npy_bytes(tal_buf *b, const char *descr, int version, int fortran, uint32_t T, uint32_t D,
                     const float *v /* NULL: t*1000+d */)
{
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': %s, 'shape': (%u, %u), }", descr,
                     fortran ? "True" : "False", T, D);
    size_t pre = version == 1 ? 10 : 12;
    size_t total = (pre + (size_t)n + 1 + 63) / 64 * 64;
    int rc = tal_buf_append(b, "\x93NUMPY", 6) | put(b, (uint64_t)version, 1) | put(b, 0, 1) |
             put(b, total - pre, version == 1 ? 2 : 4) | tal_buf_append(b, dict, (size_t)n);
    for (size_t i = pre + (size_t)n; i < total - 1; i++)
        rc |= tal_buf_append(b, " ", 1);
    rc |= tal_buf_append(b, "\n", 1);
    uint64_t count = (uint64_t)T * D;
    for (uint64_t k = 0; k < count && !rc; k++) {
        uint32_t t = (uint32_t)(fortran ? k % T : k / D), d = (uint32_t)(fortran ? k / T : k % D);
        rc = put_value(b, descr, v ? v[(size_t)t * D + d] : (float)(t * 1000 + d));
    }
    return rc;
}

static int write_file(const char *path, const tal_buf *b)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b->data, 1, b->len, f) != b->len || fclose(f)) {
        perror(path);
        return 1;
    }
    return 0;
}

static int write_npy(const char *path, const char *descr, int version, int fortran, uint32_t T, uint32_t D,
                     const float *v)
{
    tal_buf b = { 0 };
    int rc = npy_bytes(&b, descr, version, fortran, T, D, v) ? 1 : write_file(path, &b);
    tal_buf_free(&b);
    return rc;
}

/* ---- zip (.npz) ------------------------------------------------------------ */

typedef struct {
    int deflated, descriptor, zip64;   /* LAYOUT: deflated, +dd, +z64 */
} zip_layout;

typedef struct {
    const char *name;
    uint32_t crc;
    uint64_t csize, usize, offset;
} zip_member;

/* Raw deflate (no zlib header), as zip members hold it. */
static int deflate_raw(tal_buf *out, const unsigned char *p, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t cap = deflateBound(&z, (uLong)n);
    int rc = tal_buf_reserve(out, cap);
    if (!rc) {
        z.next_in = (unsigned char *)p;
        z.avail_in = (uInt)n;
        z.next_out = out->data + out->len;
        z.avail_out = (uInt)cap;
        rc = deflate(&z, Z_FINISH) == Z_STREAM_END ? 0 : -1;
        out->len += cap - z.avail_out;
    }
    deflateEnd(&z);
    return rc;
}

/* Local header, data and (with +dd) data descriptor of one member, as
 * Python's zipfile writes them with force_zip64: 32-bit sizes saturated,
 * the real ones (or zeros, before a descriptor) in a zip64 extra field. */
static int zip_local(tal_buf *z, zip_member *m, const zip_layout *L, const tal_buf *npy)
{
    m->offset = z->len;
    m->usize = npy->len;
    m->crc = (uint32_t)crc32(0, npy->data, (uInt)npy->len);
    tal_buf data = { 0 };
    int rc = L->deflated ? deflate_raw(&data, npy->data, npy->len) : tal_buf_append(&data, npy->data, npy->len);
    m->csize = data.len;
    size_t nl = strlen(m->name);
    rc |= put(z, 0x04034b50, 4) | put(z, 45, 2) | put(z, L->descriptor ? 8 : 0, 2) | put(z, L->deflated ? 8 : 0, 2) |
          put(z, 0, 2) | put(z, 0x21, 2) /* 1980-01-01 00:00 */ | put(z, L->descriptor ? 0 : m->crc, 4) |
          put(z, 0xffffffff, 4) | put(z, 0xffffffff, 4) | put(z, nl, 2) | put(z, 20, 2) |
          tal_buf_append(z, m->name, nl) | put(z, 1, 2) | put(z, 16, 2) |
          put(z, L->descriptor ? 0 : m->usize, 8) | put(z, L->descriptor ? 0 : m->csize, 8) |
          tal_buf_append(z, data.data, data.len);
    if (L->descriptor)
        rc |= put(z, 0x08074b50, 4) | put(z, m->crc, 4) | put(z, m->csize, 8) | put(z, m->usize, 8);
    tal_buf_free(&data);
    return rc;
}

/* One central directory entry: 32-bit fields, or (+z64) all three saturated
 * with their values in a zip64 extra field. */
static int zip_central(tal_buf *z, const zip_member *m, const zip_layout *L)
{
    size_t nl = strlen(m->name);
    uint64_t sat = 0xffffffff;
    int rc = put(z, 0x02014b50, 4) | put(z, 0x0300 | 45, 2) | put(z, 45, 2) | put(z, L->descriptor ? 8 : 0, 2) |
             put(z, L->deflated ? 8 : 0, 2) | put(z, 0, 2) | put(z, 0x21, 2) | put(z, m->crc, 4) |
             put(z, L->zip64 ? sat : m->csize, 4) | put(z, L->zip64 ? sat : m->usize, 4) | put(z, nl, 2) |
             put(z, L->zip64 ? 28 : 0, 2) | put(z, 0, 2) | put(z, 0, 2) | put(z, 0, 2) |
             put(z, 0600u << 16, 4) | put(z, L->zip64 ? sat : m->offset, 4) | tal_buf_append(z, m->name, nl);
    if (L->zip64)
        rc |= put(z, 1, 2) | put(z, 24, 2) | put(z, m->usize, 8) | put(z, m->csize, 8) | put(z, m->offset, 8);
    return rc;
}

/* The end records: (+z64) zip64 end record and locator, then the end of
 * central directory, its fields saturated when zip64 ones exist. */
static int zip_end(tal_buf *z, uint64_t n, uint64_t dir_offset, const zip_layout *L)
{
    uint64_t dir_size = z->len - dir_offset;
    int rc = 0;
    if (L->zip64) {
        uint64_t at = z->len;
        rc |= put(z, 0x06064b50, 4) | put(z, 44, 8) | put(z, 45, 2) | put(z, 45, 2) | put(z, 0, 4) | put(z, 0, 4) |
              put(z, n, 8) | put(z, n, 8) | put(z, dir_size, 8) | put(z, dir_offset, 8);
        rc |= put(z, 0x07064b50, 4) | put(z, 0, 4) | put(z, at, 8) | put(z, 1, 4);
    }
    rc |= put(z, 0x06054b50, 4) | put(z, 0, 2) | put(z, 0, 2) | put(z, L->zip64 ? 0xffff : n, 2) |
          put(z, L->zip64 ? 0xffff : n, 2) | put(z, L->zip64 ? 0xffffffff : dir_size, 4) |
          put(z, L->zip64 ? 0xffffffff : dir_offset, 4) | put(z, 0, 2);
    return rc;
}

static int parse_layout(const char *s, zip_layout *L)
{
    memset(L, 0, sizeof *L);
    size_t k = strcspn(s, "+");
    if (k == 8 && !strncmp(s, "deflated", k))
        L->deflated = 1;
    else if (!(k == 6 && !strncmp(s, "stored", k)))
        return -1;
    for (s += k; *s; s += k) {
        k = strcspn(s + 1, "+") + 1;
        if (k == 3 && !strncmp(s, "+dd", k))
            L->descriptor = 1;
        else if (k == 4 && !strncmp(s, "+z64", k))
            L->zip64 = 1;
        else
            return -1;
    }
    return 0;
}

static int write_npz(const char *path, uint32_t T, uint32_t D, const zip_layout *L, char **names, int nnames)
{
    static char *arr0[] = { "arr_0.npy" };
    if (!nnames) {
        names = arr0;
        nnames = 1;
    }
    tal_buf npy = { 0 }, z = { 0 };
    zip_member *m = calloc((size_t)nnames, sizeof *m);
    int rc = !m || npy_bytes(&npy, "<f4", 1, 0, T, D, NULL);
    for (int i = 0; i < nnames && !rc; i++) {
        m[i].name = names[i];
        rc = zip_local(&z, &m[i], L, &npy);
    }
    uint64_t dir_offset = z.len;
    for (int i = 0; i < nnames && !rc; i++)
        rc = zip_central(&z, &m[i], L);
    rc = rc || zip_end(&z, (uint64_t)nnames, dir_offset, L) ? 1 : write_file(path, &z);
    free(m);
    tal_buf_free(&npy);
    tal_buf_free(&z);
    return rc;
}

/* Copy a stream record by record, each changed by edit (which sees the
 * records in order, starting with first = 1). */
static int rewrite(const char *in_path, const char *out_path, void (*edit)(tal_record *r, int *first))
{
    tal_stream *in = tal_stream_open(in_path), *out = in ? tal_stream_create(out_path, tal_stream_header(in), NULL) : NULL;
    tal_record r;
    tal_record_init(&r);
    int rc = out ? 0 : -1, first = 1;
    while (!rc && (rc = tal_record_read(in, &r)) > 0) {
        edit(&r, &first);
        rc = tal_record_write(out, &r);
    }
    rc = rc ? rc : tal_stream_finish(out);
    if (rc) {
        fprintf(stderr, "talgen: %s\n", tal_errmsg());
        tal_stream_abort(out);
    }
    tal_stream_close(in);
    tal_record_free(&r);
    return rc ? 1 : 0;
}

/* the points of every record in reverse order: unsorted points */
static void reverse_points(tal_record *r, int *first)
{
    (void)first;
    for (uint32_t i = 0; i < r->npoints / 2; i++) {
        tal_point t = r->points[i];
        r->points[i] = r->points[r->npoints - 1 - i];
        r->points[r->npoints - 1 - i] = t;
    }
}

/* the first segment of the first record that has one to move_to: bad
 * instances for the tools that read them */
static double move_to[2];
static void move_first_segment(tal_record *r, int *first)
{
    if (*first && r->segs.n) {
        r->segs.v[0].start = move_to[0];
        r->segs.v[0].end = move_to[1];
        *first = 0;
    }
}

int main(int argc, char **argv)
{
    if (argc >= 5 && argc <= 8 && !strcmp(argv[1], "npy")) {
        const char *dtype = argc > 5 ? argv[5] : "f4", *order = argc > 7 ? argv[7] : "C";
        char descr[8];
        snprintf(descr, sizeof descr, "%s%s", dtype[0] == '>' || dtype[0] == '<' ? "" : "<", dtype);
        if (strcmp(order, "C") && strcmp(order, "F"))
            goto usage;
        return write_npy(argv[2], descr, argc > 6 ? atoi(argv[6]) : 1, !strcmp(order, "F"), (uint32_t)atol(argv[3]),
                         (uint32_t)atol(argv[4]), NULL);
    }
    if (argc >= 5 && !strcmp(argv[1], "npz")) {
        zip_layout L;
        if (parse_layout(argc > 5 ? argv[5] : "stored", &L))
            goto usage;
        return write_npz(argv[2], (uint32_t)atol(argv[3]), (uint32_t)atol(argv[4]), &L, argv + 6,
                         argc > 6 ? argc - 6 : 0);
    }
    if (argc == 7 && !strcmp(argv[1], "npy-random")) {
        int N = atoi(argv[3]);
        uint32_t T0 = (uint32_t)atol(argv[4]), D = (uint32_t)atol(argv[5]);
        tal_rng g;
        tal_rng_seed(&g, strtoull(argv[6], NULL, 10));
        float *v = malloc((size_t)(T0 + T0 / 10 + 1) * D * sizeof *v);
        for (int i = 0; i < N; i++) {
            uint32_t T = T0 - T0 / 10 + tal_rng_below(&g, T0 / 5 + 1);
            for (size_t k = 0; k < (size_t)T * D; k++)
                v[k] = (float)tal_rng_normal(&g);
            char path[4096];
            snprintf(path, sizeof path, "%s/seq_%04d.npy", argv[2], i);
            if (write_npy(path, "<f4", 1, 0, T, D, v))
                return 1;
        }
        free(v);
        return 0;
    }
    if (argc == 6 && !strcmp(argv[1], "move-segment")) {
        move_to[0] = atof(argv[4]);
        move_to[1] = atof(argv[5]);
        return rewrite(argv[2], argv[3], move_first_segment);
    }
    if (argc == 4 && !strcmp(argv[1], "reverse-points"))
        return rewrite(argv[2], argv[3], reverse_points);
usage:
    fprintf(stderr, "usage: talgen npy FILE T D [dtype] [version] [C|F] |\n"
                    "       talgen npz FILE T D [stored|deflated][+dd][+z64] [MEMBER...] |\n"
                    "       talgen npy-random DIR N T D SEED | talgen reverse-points IN.tal OUT.tal |\n"
                    "       talgen move-segment IN.tal OUT.tal START END\n");
    return 2;
}
