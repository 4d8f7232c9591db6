/* test_npz.c — Fortran-order .npy and one-array .npz, decoded from memory:
 * values land at [t][d] whatever the order, dtype, zip layout or
 * compression, and every damaged or unsupported archive is refused with
 * the status and message that tell the cases apart.
 *
 * The .npy and zip bytes are made here, by code of the test's own (zlib's
 * crc32 and deflate), not by the readers under test. */
#include "harness.h"
#include "tal.h"
#include "io/npy.h"
#include "io/npz.h"

#include <sys/mman.h>
#include <unistd.h>

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- making .npy bytes ------------------------------------------------------ */

static void put(tal_buf *b, uint64_t v, int n)
{
    unsigned char x[8];
    for (int i = 0; i < n; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    if (tal_buf_append(b, x, (size_t)n))
        abort();
}

static float value(uint32_t t, uint32_t d) { return (float)(t * 1000 + d); }

/* The value as stored in dtype itemsize 2, 4 or 8, back as float32. */
static float stored_as(float x, int itemsize)
{
    return itemsize == 2 ? tal_f16_to_f32(tal_f32_to_f16(x)) : x;
}

#define PAD64 (-1)

/* A T x D .npy of t*1000+d in b: version 1, C or Fortran order, header
 * padded with `pad` spaces, or to a multiple of 64 bytes as NumPy pads
 * (PAD64); a header of odd length makes values straddle the pieces a
 * reader gets. */
static void npy_make(tal_buf *b, int itemsize, int fortran, uint32_t T, uint32_t D, int pad)
{
    char dict[128];
    const char *descr = itemsize == 2 ? "<f2" : itemsize == 8 ? "<f8" : "<f4";
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': %s, 'shape': (%u, %u), }", descr,
                     fortran ? "True" : "False", T, D);
    if (pad == PAD64)
        pad = (int)((10 + (size_t)n + 1 + 63) / 64 * 64 - 10 - (size_t)n - 1);
    tal_buf_append(b, "\x93NUMPY\x01\x00", 8);
    put(b, (uint64_t)n + (uint64_t)pad + 1, 2);
    tal_buf_append(b, dict, (size_t)n);
    for (int i = 0; i < pad; i++)
        tal_buf_append(b, " ", 1);
    tal_buf_append(b, "\n", 1);
    for (uint64_t k = 0; k < (uint64_t)T * D; k++) {
        uint32_t t = (uint32_t)(fortran ? k % T : k / D), d = (uint32_t)(fortran ? k / T : k % D);
        float x = value(t, d);
        if (itemsize == 2) {
            put(b, tal_f32_to_f16(x), 2);
        } else if (itemsize == 8) {
            double y = x;
            tal_buf_append(b, &y, 8);
        } else {
            tal_buf_append(b, &x, 4);
        }
    }
}

/* Every value at [t][d] is t*1000+d as the dtype stores it. */
static int values_ok(const float *v, uint32_t T, uint32_t D, int itemsize)
{
    for (uint32_t t = 0; t < T; t++)
        for (uint32_t d = 0; d < D; d++)
            if (v[(size_t)t * D + d] != stored_as(value(t, d), itemsize)) {
                printf("# [%u][%u] = %g, expected %g\n", t, d, v[(size_t)t * D + d], stored_as(value(t, d), itemsize));
                return 0;
            }
    return 1;
}

/* ---- making zip bytes ------------------------------------------------------- */

typedef struct {
    int deflated;      /* method 8, else 0 */
    int descriptor;    /* flag bit 3, zeros in the local header, descriptor after the data */
    int zip64;         /* directory fields saturated, zip64 extra field and end records */
    uint16_t flags;    /* more flag bits (encryption) */
    int method;        /* another method number to claim, when not 0 */
} zip_opts;

typedef struct {
    size_t data_at[4];      /* where each member's data starts */
    size_t central_at[4];   /* where each member's directory entry starts */
} zip_map;

static void deflate_raw(tal_buf *out, const tal_buf *in)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    size_t cap = deflateBound(&z, (uLong)in->len);
    if (tal_buf_reserve(out, cap))
        abort();
    z.next_in = in->data;
    z.avail_in = (uInt)in->len;
    z.next_out = out->data + out->len;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        abort();
    out->len += cap - z.avail_out;
    deflateEnd(&z);
}

/* An archive in z of n members, each named names[i] and holding npy. */
static void zip_make(tal_buf *z, const char *const *names, int n, const tal_buf *npy, const zip_opts *o, zip_map *map)
{
    uint32_t crc = (uint32_t)crc32(0, npy->data, (uInt)npy->len);
    tal_buf data = { 0 };
    if (o->deflated)
        deflate_raw(&data, npy);
    else
        tal_buf_append(&data, npy->data, npy->len);
    int method = o->method ? o->method : o->deflated ? 8 : 0;
    uint16_t flags = (uint16_t)(o->flags | (o->descriptor ? 8 : 0));
    size_t offset[4];
    for (int i = 0; i < n; i++) {
        size_t nl = strlen(names[i]);
        offset[i] = z->len;
        put(z, 0x04034b50, 4); put(z, 45, 2); put(z, flags, 2); put(z, (uint64_t)method, 2);
        put(z, 0, 2); put(z, 0x21, 2);
        put(z, o->descriptor ? 0 : crc, 4); put(z, 0xffffffff, 4); put(z, 0xffffffff, 4);
        put(z, nl, 2); put(z, 20, 2);
        tal_buf_append(z, names[i], nl);
        put(z, 1, 2); put(z, 16, 2);
        put(z, o->descriptor ? 0 : npy->len, 8); put(z, o->descriptor ? 0 : data.len, 8);
        map->data_at[i] = z->len;
        tal_buf_append(z, data.data, data.len);
        if (o->descriptor) {
            put(z, 0x08074b50, 4); put(z, crc, 4); put(z, data.len, 8); put(z, npy->len, 8);
        }
    }
    size_t dir = z->len;
    for (int i = 0; i < n; i++) {
        size_t nl = strlen(names[i]);
        map->central_at[i] = z->len;
        put(z, 0x02014b50, 4); put(z, 0x032d, 2); put(z, 45, 2); put(z, flags, 2); put(z, (uint64_t)method, 2);
        put(z, 0, 2); put(z, 0x21, 2); put(z, crc, 4);
        put(z, o->zip64 ? 0xffffffff : data.len, 4); put(z, o->zip64 ? 0xffffffff : npy->len, 4);
        put(z, nl, 2); put(z, o->zip64 ? 28 : 0, 2); put(z, 0, 2); put(z, 0, 2); put(z, 0, 2);
        put(z, 0600u << 16, 4); put(z, o->zip64 ? 0xffffffff : offset[i], 4);
        tal_buf_append(z, names[i], nl);
        if (o->zip64) {
            put(z, 1, 2); put(z, 24, 2); put(z, npy->len, 8); put(z, data.len, 8); put(z, offset[i], 8);
        }
    }
    size_t dir_size = z->len - dir;
    if (o->zip64) {
        size_t at = z->len;
        put(z, 0x06064b50, 4); put(z, 44, 8); put(z, 45, 2); put(z, 45, 2); put(z, 0, 4); put(z, 0, 4);
        put(z, (uint64_t)n, 8); put(z, (uint64_t)n, 8); put(z, dir_size, 8); put(z, dir, 8);
        put(z, 0x07064b50, 4); put(z, 0, 4); put(z, at, 8); put(z, 1, 4);
    }
    put(z, 0x06054b50, 4); put(z, 0, 2); put(z, 0, 2);
    put(z, o->zip64 ? 0xffff : (uint64_t)n, 2); put(z, o->zip64 ? 0xffff : (uint64_t)n, 2);
    put(z, o->zip64 ? 0xffffffff : dir_size, 4); put(z, o->zip64 ? 0xffffffff : dir, 4); put(z, 0, 2);
    tal_buf_free(&data);
}

/* One member "arr_0.npy" holding a T x D f4 array in C order. */
static void npz_one(tal_buf *z, const zip_opts *o, zip_map *map)
{
    tal_buf npy = { 0 };
    npy_make(&npy, 4, 0, 6, 3, PAD64);
    const char *name = "arr_0.npy";
    zip_make(z, &name, 1, &npy, o, map);
    tal_buf_free(&npy);
}

/* tal_npz_decode fails with code and a message holding needle. */
static int npz_refuses(const tal_buf *z, int code, const char *needle)
{
    float *v = NULL;
    size_t cap = 0;
    uint32_t T, D;
    int rc = tal_npz_decode(z->data, z->len, "mem.npz", &v, &cap, &T, &D);
    free(v);
    if (rc != code || !strstr(tal_errmsg(), needle)) {
        printf("# got %d '%s', expected %d and '%s'\n", rc, tal_errmsg(), code, needle);
        return 0;
    }
    if (strchr(tal_errmsg(), '\n')) {
        printf("# message is not one line: '%s'\n", tal_errmsg());
        return 0;
    }
    return 1;
}

/* ---- Fortran-order .npy --------------------------------------------------- */

TEST(npy_fortran_order_is_transposed)
{
    const int sizes[3] = { 4, 8, 2 };
    for (int k = 0; k < 3; k++) {
        tal_buf b = { 0 };
        npy_make(&b, sizes[k], 1, 5, 3, 7);
        float *v = NULL;
        size_t cap = 0;
        uint32_t T = 0, D = 0;
        int rc = tal_npy_decode(b.data, b.len, "f.npy", &v, &cap, &T, &D);
        tal_buf_free(&b);
        CHECK_MSG(rc == 0, "itemsize %d: %s", sizes[k], tal_errmsg());
        CHECK(T == 5 && D == 3);
        CHECK_MSG(values_ok(v, T, D, sizes[k]), "itemsize %d", sizes[k]);
        free(v);
    }
}

TEST(npy_fortran_one_dimensional_and_header)
{
    /* a 1-D array reads the same in either order */
    const char *dict = "{'descr': '<f4', 'fortran_order': True, 'shape': (4,), }";
    float f4[4] = { 0, 1000, 2000, 3000 };
    tal_buf b = { 0 };
    tal_buf_append(&b, "\x93NUMPY\x01\x00", 8);
    put(&b, strlen(dict) + 1, 2);
    tal_buf_append(&b, dict, strlen(dict));
    tal_buf_append(&b, "\n", 1);
    tal_buf_append(&b, f4, sizeof f4);
    float *v = NULL;
    size_t cap = 0;
    uint32_t T, D;
    CHECK_MSG(tal_npy_decode(b.data, b.len, "f.npy", &v, &cap, &T, &D) == 0, "%s", tal_errmsg());
    CHECK(T == 4 && D == 1 && values_ok(v, T, D, 4));
    tal_npy_info info;
    CHECK(tal_npy_parse_header(b.data, b.len, "f.npy", &info) == 0 && info.fortran == 1);
    tal_buf_free(&b);
    free(v);
}

/* The file reader converts in pieces of 2^20 values: with T = 1100 a piece
 * ends inside a column, which must carry on in the next piece. */
TEST(npy_fortran_file_reader_across_pieces)
{
    const int sizes[2] = { 4, 2 };
    for (int k = 0; k < 2; k++) {
        tal_buf b = { 0 };
        npy_make(&b, sizes[k], 1, 1100, 1000, 7);
        const char *p = tal_test_path("fortran.npy");
        FILE *f = fopen(p, "wb");
        CHECK(f && fwrite(b.data, 1, b.len, f) == b.len && !fclose(f));
        tal_buf_free(&b);
        float *v = NULL;
        size_t cap = 0;
        uint32_t T, D;
        CHECK_MSG(tal_npy_read(p, &v, &cap, &T, &D) == 0, "%s", tal_errmsg());
        CHECK(T == 1100 && D == 1000);
        CHECK_MSG(values_ok(v, T, D, sizes[k]), "itemsize %d", sizes[k]);
        free(v);
    }
}

/* ---- .npz ------------------------------------------------------------------- */

/* layouts 0-7: bit 0 deflated, bit 1 data descriptors, bit 2 zip64 */
static zip_opts layout_opts(int layout)
{
    return (zip_opts){ .deflated = layout & 1, .descriptor = (layout >> 1) & 1, .zip64 = (layout >> 2) & 1 };
}

TEST(npz_stored_and_deflated_in_each_layout)
{
    for (int layout = 0; layout < 8; layout++) {
        zip_opts o = layout_opts(layout);
        zip_map map;
        tal_buf z = { 0 };
        npz_one(&z, &o, &map);
        float *v = NULL;
        size_t cap = 0;
        uint32_t T = 0, D = 0;
        int rc = tal_npz_decode(z.data, z.len, "mem.npz", &v, &cap, &T, &D);
        tal_buf_free(&z);
        CHECK_MSG(rc == 0, "layout %d: %s", layout, tal_errmsg());
        CHECK_MSG(T == 6 && D == 3 && values_ok(v, T, D, 4), "layout %d", layout);
        free(v);
    }
}

/* Big members go through several pieces, inflated or not; an odd header
 * length makes values straddle them; Fortran order and f8 as well.  The
 * file reader gives what the decoder gives. */
TEST(npz_large_members_from_memory_and_file)
{
    const struct { int itemsize, fortran, deflated; } cases[] = {
        { 4, 0, 0 }, { 4, 0, 1 }, { 8, 1, 1 }, { 2, 1, 0 }, { 4, 1, 1 },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tal_buf npy = { 0 }, z = { 0 };
        npy_make(&npy, cases[k].itemsize, cases[k].fortran, 700, 1000, 0);
        zip_opts o = { .deflated = cases[k].deflated, .descriptor = 1 };
        zip_map map;
        const char *name = "feats.npy";
        zip_make(&z, &name, 1, &npy, &o, &map);
        tal_buf_free(&npy);
        float *v = NULL, *w = NULL;
        size_t cap = 0, wcap = 0;
        uint32_t T = 0, D = 0;
        CHECK_MSG(tal_npz_decode(z.data, z.len, "mem.npz", &v, &cap, &T, &D) == 0, "case %zu: %s", k, tal_errmsg());
        CHECK(T == 700 && D == 1000);
        CHECK_MSG(values_ok(v, T, D, cases[k].itemsize), "case %zu", k);
        const char *p = tal_test_path("big.npz");
        FILE *f = fopen(p, "wb");
        CHECK(f && fwrite(z.data, 1, z.len, f) == z.len && !fclose(f));
        tal_buf_free(&z);
        CHECK_MSG(tal_npz_read(p, &w, &wcap, &T, &D) == 0, "case %zu: %s", k, tal_errmsg());
        CHECK(T == 700 && D == 1000 && !memcmp(v, w, sizeof(float) * T * D));
        free(v);
        free(w);
    }
}

TEST(npz_refuses_several_arrays_and_other_members)
{
    tal_buf npy = { 0 }, z = { 0 };
    npy_make(&npy, 4, 0, 2, 2, 7);
    zip_opts o = { 0 };
    zip_map map;
    const char *two[] = { "a.npy", "b.npy" };
    zip_make(&z, two, 2, &npy, &o, &map);
    CHECK(npz_refuses(&z, TAL_EUNSUP, "unsupported .npz file: 'mem.npz': 2 arrays ('a', 'b'); save one array per file"));
    z.len = 0;
    const char *many[] = { "w.npy", "x.npy", "y.npy", "z.npy" };
    zip_make(&z, many, 4, &npy, &o, &map);
    CHECK(npz_refuses(&z, TAL_EUNSUP, "4 arrays ('w', 'x', 'y', 'z')"));
    z.len = 0;
    const char *txt = "notes.txt";
    zip_make(&z, &txt, 1, &npy, &o, &map);
    CHECK(npz_refuses(&z, TAL_EUNSUP, "member 'notes.txt' is not a .npy array"));
    z.len = 0;
    zip_make(&z, NULL, 0, &npy, &o, &map);
    CHECK(npz_refuses(&z, TAL_EINVAL, "empty .npz archive: 'mem.npz': no arrays"));
    tal_buf_free(&npy);
    tal_buf_free(&z);
}

TEST(npz_refuses_encryption_and_other_methods)
{
    tal_buf z = { 0 };
    zip_map map;
    zip_opts enc = { .flags = 1 };
    npz_one(&z, &enc, &map);
    CHECK(npz_refuses(&z, TAL_EUNSUP, "member 'arr_0.npy' is encrypted"));
    z.len = 0;
    zip_opts lzma = { .method = 14 };
    npz_one(&z, &lzma, &map);
    CHECK(npz_refuses(&z, TAL_EUNSUP, "member 'arr_0.npy' is compressed with lzma (method 14)"));
    tal_buf_free(&z);
}

TEST(npz_crc_mismatch_is_corrupt)
{
    for (int deflated = 0; deflated < 2; deflated++) {
        tal_buf z = { 0 };
        zip_map map;
        zip_opts o = { .deflated = deflated };
        npz_one(&z, &o, &map);
        /* the directory's CRC */
        z.data[map.central_at[0] + 16] ^= 1;
        CHECK(npz_refuses(&z, TAL_ECORRUPT, "bad .npz file: 'mem.npz': CRC mismatch in member 'arr_0.npy'"));
        z.data[map.central_at[0] + 16] ^= 1;
        if (!deflated) {
            /* a value, then the .npy magic: the CRC is what is reported, not
             * the odd header the damage made */
            z.data[z.len / 2] ^= 0x40;
            CHECK(npz_refuses(&z, TAL_ECORRUPT, "CRC mismatch in member 'arr_0.npy'"));
            z.data[z.len / 2] ^= 0x40;
            z.data[map.data_at[0] + 1] ^= 0x20;
            CHECK(npz_refuses(&z, TAL_ECORRUPT, "CRC mismatch in member 'arr_0.npy'"));
        }
        tal_buf_free(&z);
    }
}

TEST(npz_truncated_at_every_length)
{
    for (int layout = 0; layout < 8; layout += 3) {
        tal_buf z = { 0 };
        zip_map map;
        zip_opts o = layout_opts(layout);
        npz_one(&z, &o, &map);
        size_t n = z.len;
        for (size_t k = 0; k < n; k++) {
            float *v = NULL;
            size_t cap = 0;
            uint32_t T, D;
            int rc = tal_npz_decode(z.data, k, "cut.npz", &v, &cap, &T, &D);
            free(v);
            CHECK_MSG(rc == TAL_ETRUNC, "layout %d, %zu of %zu bytes: %d %s", layout, k, n, rc, tal_errmsg());
            CHECK(strstr(tal_errmsg(), "truncated .npz file: 'cut.npz'"));
        }
        tal_buf_free(&z);
    }
}

TEST(npz_damage_is_named)
{
    tal_buf z = { 0 };
    zip_map map;
    zip_opts o = { .deflated = 1 };
    npz_one(&z, &o, &map);
    /* deflate data that is not deflate data */
    memset(z.data + map.data_at[0], 0xff, 8);
    CHECK(npz_refuses(&z, TAL_ECORRUPT, "member 'arr_0.npy' is not valid deflate data"));
    z.len = 0;
    npz_one(&z, &o, &map);
    /* the directory points at no local header */
    z.data[map.central_at[0] + 42] += 1;
    CHECK(npz_refuses(&z, TAL_ECORRUPT, "no local header for member 'arr_0.npy'"));
    z.len = 0;
    npz_one(&z, &o, &map);
    /* the stated size is not what inflates */
    z.data[map.central_at[0] + 24] += 1;
    CHECK(npz_refuses(&z, TAL_ECORRUPT, "member 'arr_0.npy' inflates to 200 bytes, 201 stated"));
    z.len = 0;
    zip_opts stored = { 0 };
    npz_one(&z, &stored, &map);
    z.data[map.central_at[0] + 24] += 1;
    CHECK(npz_refuses(&z, TAL_ECORRUPT, "stored member 'arr_0.npy' has 200 bytes but is said to hold 201"));
    /* not a zip at all; a .npy named .npz */
    tal_buf npy = { 0 };
    npy_make(&npy, 4, 0, 2, 2, 7);
    CHECK(npz_refuses(&npy, TAL_ECORRUPT, "not a .npz file: 'mem.npz': it is a .npy array, not a zip archive"));
    memcpy(npy.data, "hello", 5);
    CHECK(npz_refuses(&npy, TAL_ECORRUPT, "not a .npz file: 'mem.npz': bad magic"));
    tal_buf_free(&npy);
    tal_buf_free(&z);
}

/* A member whose .npy claims more values than it holds: the .npy message,
 * naming archive and member. */
TEST(npz_member_npy_errors_name_both)
{
    tal_buf npy = { 0 }, z = { 0 };
    npy_make(&npy, 4, 0, 3, 2, 7);
    npy.len -= 8;
    zip_opts o = { .deflated = 1 };
    zip_map map;
    const char *name = "arr_0.npy";
    zip_make(&z, &name, 1, &npy, &o, &map);
    CHECK(npz_refuses(&z, TAL_ETRUNC, "truncated .npy file: 'mem.npz:arr_0.npy': 24 data bytes expected, 16 present"));
    tal_buf_free(&npy);
    tal_buf_free(&z);
}

/* Every single-byte change of a valid archive gives the array or an error,
 * never a crash or a claim of more values than were stored (run under
 * SAN=1 for the memory checks). */
TEST(npz_survives_every_byte_flipped)
{
    for (int layout = 0; layout < 8; layout += 7) {
        tal_buf z = { 0 };
        zip_map map;
        zip_opts o = layout_opts(layout);
        npz_one(&z, &o, &map);
        for (size_t k = 0; k < z.len; k++)
            for (int bit = 0; bit < 8; bit += 3) {
                z.data[k] ^= (unsigned char)(1 << bit);
                float *v = NULL;
                size_t cap = 0;
                uint32_t T = 0, D = 0;
                int rc = tal_npz_decode(z.data, z.len, "flip.npz", &v, &cap, &T, &D);
                free(v);
                z.data[k] ^= (unsigned char)(1 << bit);
                CHECK_MSG(rc <= 0, "byte %zu", k);
                CHECK_MSG(rc < 0 || (uint64_t)T * D <= cap, "byte %zu", k);
            }
        tal_buf_free(&z);
    }
}

/* A header whose shape digits run to the last byte of the buffer (found by
 * fuzz_npy): the digits are read within the header, never past it.  The
 * buffer ends where an unreadable page begins, so an overread crashes. */
TEST(npy_shape_digits_at_the_end_of_the_header)
{
    static const char text[] = "\x93NUMPY\x02\x00\x34\x00\x00\x00"
                               "{'descr': '<f8', 'fortran_order': False, 'shape': (2";
    size_t n = sizeof text - 1, page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *pages = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(pages != MAP_FAILED);
    if (pages == MAP_FAILED)
        return;
    CHECK(mprotect(pages + page, page, PROT_NONE) == 0);
    unsigned char *buf = pages + page - n;
    memcpy(buf, text, n);
    tal_npy_info info;
    CHECK(n == 12 + 0x34);
    CHECK(tal_npy_parse_header(buf, n, "end.npy", &info) == TAL_ECORRUPT);
    /* a digit run too long for 64 bits is out of range */
    static const char big[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 3), }";
    size_t hl = sizeof big - 1;
    unsigned char *b2 = malloc(10 + hl);
    memcpy(b2, "\x93NUMPY\x01\x00", 8);
    b2[8] = (unsigned char)(hl & 0xff);
    b2[9] = (unsigned char)(hl >> 8);
    memcpy(b2 + 10, big, hl);
    CHECK(tal_npy_parse_header(b2, 10 + hl, "big.npy", &info) == TAL_ECORRUPT);
    CHECK(strstr(tal_errmsg(), "out of range") != NULL);
    free(b2);
    munmap(pages, 2 * page);
}
