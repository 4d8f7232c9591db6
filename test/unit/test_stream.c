/* test_stream.c — the stream reader and writer: round trips, joins, pipes,
 * float16, and every kind of broken input named by its own error. */
#include "harness.h"
#include "fixtures.h"
#include "tal.h"
#include "util/endian.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

/* ---- random content ------------------------------------------------------ */

static int segsets_equal(const tal_segset *a, const tal_segset *b)
{
    if (a->n != b->n || a->qmask != b->qmask)
        return 0;
    for (uint32_t i = 0; i < a->n; i++) {
        const tal_segment *x = &a->v[i], *y = &b->v[i];
        if (x->start != y->start || x->end != y->end || x->score != y->score || x->cls != y->cls || x->flags != y->flags)
            return 0;
        for (int q = 0; q < TAL_Q_COUNT; q++)
            if ((a->qmask >> q & 1) && x->q[q] != y->q[q])
                return 0;
    }
    return 1;
}

/* Records equal; features compared after rounding through `dtype`. */
static int records_equal(const tal_record *a, const tal_record *b, int dtype)
{
    if (strcmp(a->id, b->id) || strcmp(a->subset, b->subset) || a->duration != b->duration || a->fps != b->fps ||
        a->supervision != b->supervision || a->role != b->role || a->present != b->present)
        return 0;
    if (a->present & TAL_HAS_FEATURES) {
        if (a->T != b->T || a->D != b->D)
            return 0;
        for (size_t i = 0; i < (size_t)a->T * a->D; i++) {
            float want = dtype == TAL_DTYPE_F16 ? tal_f16_to_f32(tal_f32_to_f16(a->feat[i])) : a->feat[i];
            if (memcmp(&want, &b->feat[i], 4))
                return 0;
        }
    }
    if (!segsets_equal(&a->segs, &b->segs) || !segsets_equal(&a->dets, &b->dets))
        return 0;
    if (a->npoints != b->npoints || (a->npoints && memcmp(a->points, b->points, a->npoints * sizeof *a->points)))
        return 0;
    if (a->nlabels != b->nlabels || (a->nlabels && memcmp(a->labels, b->labels, a->nlabels * sizeof *a->labels)))
        return 0;
    if (a->present & TAL_HAS_DIST) {
        if (a->dist_T != b->dist_T || a->dist_K != b->dist_K ||
            memcmp(a->dist, b->dist, (size_t)a->dist_T * a->dist_K * 4))
            return 0;
    }
    if (a->nprov != b->nprov)
        return 0;
    for (uint32_t i = 0; i < a->nprov; i++)
        if (strcmp(a->prov[i].key, b->prov[i].key) || strcmp(a->prov[i].value, b->prov[i].value))
            return 0;
    return 1;
}

/* Write n random records, read them back, compare. */
static void roundtrip(uint64_t seed, int level, size_t frame_size, int dtype, int n)
{
    tal_rng g;
    tal_rng_seed(&g, seed);
    tal_header h;
    fixture_header(&h, 1 + tal_rng_below(&g, 25), tal_rng_below(&g, 2) ? 1 + tal_rng_below(&g, 70) : 0);
    const char *path = tal_test_path("rt.tal");
    tal_write_opts o = { .level = level, .frame_size = frame_size, .feat_dtype = dtype };
    tal_stream *w = tal_stream_create(path, &h, &o);
    CHECK_MSG(w, "create: %s", tal_errmsg());
    tal_record *recs = calloc((size_t)n, sizeof *recs);
    for (int i = 0; i < n; i++) {
        tal_record_init(&recs[i]);
        fixture_record(&g, &recs[i], &h, i);
        CHECK_MSG(tal_record_write(w, &recs[i]) == 0, "write: %s", tal_errmsg());
    }
    CHECK_MSG(tal_stream_finish(w) == 0, "finish: %s", tal_errmsg());

    tal_stream *s = tal_stream_open(path);
    CHECK_MSG(s, "open: %s", tal_errmsg());
    const tal_header *rh = tal_stream_header(s);
    CHECK(tal_classes_equal(&rh->classes, &h.classes));
    CHECK_EQ_INT(rh->feat_dim, h.feat_dim);
    CHECK_EQ_INT(rh->nprov, 1);
    CHECK_STR(rh->prov[0].argv, "unit --flag 'it'\\''s quoted'");
    CHECK_STR(tal_header_get_meta(rh, "dataset"), "unit");
    CHECK(rh->fps == 30 && rh->stride == 4 && rh->clip == 16);
    tal_record r;
    tal_record_init(&r);
    int k = 0, rc;
    while ((rc = tal_record_read(s, &r)) > 0) {
        CHECK_MSG(k < n, "more records than written");
        CHECK_MSG(records_equal(&recs[k], &r, dtype ? dtype : TAL_DTYPE_F32), "record %d differs", k);
        k++;
    }
    CHECK_MSG(rc == 0, "read: %s", tal_errmsg());
    CHECK_EQ_INT(k, n);
    CHECK_EQ_INT(tal_record_read(s, &r), 0);   /* stays at the end */
    tal_stream_close(s);
    tal_record_free(&r);
    for (int i = 0; i < n; i++)
        tal_record_free(&recs[i]);
    free(recs);
    tal_header_free(&h);
}

TEST(stream_roundtrip_stored)        { roundtrip(1, 0, 0, 0, 40); }
TEST(stream_roundtrip_small_frames)  { roundtrip(2, 0, 1000, 0, 30); }
TEST(stream_roundtrip_tiny_frames)   { roundtrip(3, 0, 7, 0, 10); }
TEST(stream_roundtrip_deflate1)      { roundtrip(4, 1, 4096, 0, 30); }
TEST(stream_roundtrip_deflate9)      { roundtrip(5, 9, 0, 0, 20); }
TEST(stream_roundtrip_f16)           { roundtrip(6, 0, 0, TAL_DTYPE_F16, 30); }
TEST(stream_roundtrip_f16_deflate)   { roundtrip(7, 6, 3000, TAL_DTYPE_F16, 20); }
TEST(stream_roundtrip_empty)         { roundtrip(8, 0, 0, 0, 0); }
TEST(stream_roundtrip_many_seeds)
{
    for (uint64_t seed = 100; seed < 120 && !tal_test_failed(); seed++)
        roundtrip(seed, (int)(seed % 3), seed % 2 ? 513 : 0, seed % 4 == 0 ? TAL_DTYPE_F16 : 0, 8);
}

/* ---- float16 ---------------------------------------------------------------- */

TEST(half_every_value_roundtrips)
{
    for (uint32_t h = 0; h < 65536; h++) {
        float f = tal_f16_to_f32((uint16_t)h);
        uint16_t back = tal_f32_to_f16(f);
        int nan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF);
        if (nan)
            CHECK_MSG((back & 0x7C00) == 0x7C00 && (back & 0x3FF), "NaN 0x%04x stays NaN", h);
        else
            CHECK_MSG(back == h, "0x%04x -> %g -> 0x%04x", h, f, back);
    }
}

TEST(half_rounding_known_values)
{
    CHECK_EQ_INT(tal_f32_to_f16(1.0f), 0x3C00);
    CHECK_EQ_INT(tal_f32_to_f16(-2.0f), 0xC000);
    CHECK_EQ_INT(tal_f32_to_f16(65504.0f), 0x7BFF);
    CHECK_EQ_INT(tal_f32_to_f16(65520.0f), 0x7C00);    /* rounds up to infinity */
    CHECK_EQ_INT(tal_f32_to_f16(65519.0f), 0x7BFF);
    CHECK_EQ_INT(tal_f32_to_f16(5.9604645e-8f), 0x0001);  /* smallest subnormal */
    CHECK_EQ_INT(tal_f32_to_f16(2.9802322e-8f), 0x0000);  /* half of it: ties to even (0) */
    CHECK_EQ_INT(tal_f32_to_f16(1.0f + 0x1p-11f), 0x3C00); /* tie, even stays */
    CHECK_EQ_INT(tal_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3C02); /* tie, odd rounds up */
    CHECK_NEAR(tal_f16_to_f32(0x3555), 0.33325195, 1e-8);
}

TEST(half_bulk_matches_scalar)
{
    tal_rng g;
    tal_rng_seed(&g, 42);
    enum { N = 100003 };
    float *f = malloc(N * 4), *back = malloc(N * 4);
    uint16_t *h = malloc(N * 2);
    for (int i = 0; i < N; i++) {
        uint32_t u = tal_rng_u32(&g);
        memcpy(&f[i], &u, 4);
        if (i % 3 == 0)
            f[i] = (float)tal_rng_normal(&g) * 1000;
    }
    tal_f32_to_f16_n(h, f, N);
    for (int i = 0; i < N; i++)
        CHECK_MSG(h[i] == tal_f32_to_f16(f[i]), "bulk vs scalar at %d: %04x vs %04x", i, h[i], tal_f32_to_f16(f[i]));
    tal_f16_to_f32_n(back, h, N);
    for (int i = 0; i < N; i++) {
        float want = tal_f16_to_f32(h[i]);
        CHECK_MSG(!memcmp(&want, &back[i], 4) || (isnan(want) && isnan(back[i])), "f16->f32 bulk at %d", i);
    }
    free(f); free(back); free(h);
}

/* ---- concatenation and pipes ---------------------------------------------- */

static void write_simple(const char *path, uint32_t ncls, int first, int n, int level)
{
    tal_rng g;
    tal_rng_seed(&g, (uint64_t)first);
    tal_header h;
    fixture_header(&h, ncls, 8);
    tal_write_opts o = { .level = level };
    tal_stream *w = tal_stream_create(path, &h, &o);
    tal_record r;
    tal_record_init(&r);
    for (int i = 0; i < n; i++) {
        fixture_record(&g, &r, &h, first + i);
        if (tal_record_write(w, &r))
            break;
    }
    if (tal_stream_finish(w))
        tal_test_fail(__FILE__, __LINE__, "finish: %s", tal_errmsg());
    tal_record_free(&r);
    tal_header_free(&h);
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(*n + 1);
    if (fread(b, 1, *n, f) != *n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static void spit(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
}

static int count_records(const char *path, int *rc_out)
{
    tal_stream *s = tal_stream_open(path);
    if (!s) {
        *rc_out = tal_errcode();
        return -1;
    }
    tal_record r;
    tal_record_init(&r);
    int n = 0, rc;
    while ((rc = tal_record_read(s, &r)) > 0)
        n++;
    *rc_out = rc;
    tal_record_free(&r);
    tal_stream_close(s);
    return n;
}

TEST(stream_concatenation_reads_as_one)
{
    write_simple(tal_test_path("a.tal"), 5, 0, 7, 0);
    write_simple(tal_test_path("b.tal"), 5, 100, 4, 3);
    size_t na, nb;
    char *a = slurp(tal_test_path("a.tal"), &na), *b = slurp(tal_test_path("b.tal"), &nb);
    char *ab = malloc(na + nb);
    memcpy(ab, a, na);
    memcpy(ab + na, b, nb);
    spit(tal_test_path("ab.tal"), ab, na + nb);
    int rc;
    CHECK_EQ_INT(count_records(tal_test_path("ab.tal"), &rc), 11);
    CHECK_EQ_INT(rc, 0);
    free(a); free(b); free(ab);
}

TEST(stream_concatenation_refuses_other_classes)
{
    write_simple(tal_test_path("c5.tal"), 5, 0, 2, 0);
    write_simple(tal_test_path("c6.tal"), 6, 0, 2, 0);
    size_t na, nb;
    char *a = slurp(tal_test_path("c5.tal"), &na), *b = slurp(tal_test_path("c6.tal"), &nb);
    char *ab = malloc(na + nb);
    memcpy(ab, a, na);
    memcpy(ab + na, b, nb);
    spit(tal_test_path("c56.tal"), ab, na + nb);
    int rc;
    count_records(tal_test_path("c56.tal"), &rc);
    CHECK_EQ_INT(rc, TAL_EINCOMPAT);
    CHECK(strstr(tal_errmsg(), "class tables differ") != NULL);
    CHECK(strstr(tal_errmsg(), "incompatible concatenated stream") != NULL);
    free(a); free(b); free(ab);
}

TEST(stream_reads_from_a_pipe)
{
    write_simple(tal_test_path("p.tal"), 4, 0, 25, 1);
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        /* child: dribble the file into the pipe in odd-sized pieces */
        close(fds[0]);
        size_t n;
        char *b = slurp(tal_test_path("p.tal"), &n);
        for (size_t off = 0; off < n; off += 777)
            if (write(fds[1], b + off, n - off < 777 ? n - off : 777) < 0)
                _exit(1);
        _exit(0);
    }
    close(fds[1]);
    char path[64];
    snprintf(path, sizeof path, "/dev/fd/%d", fds[0]);
    int rc;
    CHECK_EQ_INT(count_records(path, &rc), 25);
    CHECK_EQ_INT(rc, 0);
    close(fds[0]);
    waitpid(pid, NULL, 0);
}

TEST(stream_skip_features_keeps_shape)
{
    write_simple(tal_test_path("s.tal"), 4, 0, 3, 0);
    tal_stream *s = tal_stream_open(tal_test_path("s.tal"));
    CHECK(s);
    tal_stream_skip(s, TAL_HAS_FEATURES);
    tal_record r;
    tal_record_init(&r);
    CHECK_EQ_INT(tal_record_read(s, &r), 1);
    CHECK(!(r.present & TAL_HAS_FEATURES));
    CHECK(r.T > 0 && r.D == 8);
    tal_record_free(&r);
    tal_stream_close(s);
}

TEST(stream_writer_rejects_bad_records)
{
    tal_header h;
    fixture_header(&h, 3, 4);
    tal_stream *w = tal_stream_create(tal_test_path("bad.tal"), &h, NULL);
    CHECK(w);
    tal_record r;
    tal_record_init(&r);
    tal_record_set_id(&r, "x");
    tal_segment seg = { 1, 2, 1, 3, 0, { 0 } };   /* class 3 of 3 */
    tal_segset_push(&r.segs, &seg);
    r.present |= TAL_HAS_SEGMENTS;
    CHECK_EQ_INT(tal_record_write(w, &r), TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "class 3 outside 0..2") != NULL);
    r.segs.v[0].cls = 2;
    tal_record_alloc_features(&r, 5, 3);   /* 3 channels, stream says 4 */
    CHECK_EQ_INT(tal_record_write(w, &r), TAL_EINVAL);
    tal_stream_abort(w);
    CHECK(access(tal_test_path("bad.tal"), F_OK) != 0);   /* nothing left behind */
    tal_record_free(&r);
    tal_header_free(&h);
}

/* ---- broken inputs --------------------------------------------------------- */

static void expect_error(const char *fixture, int code, const char *needle)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fixture_dir(), fixture);
    int rc;
    count_records(path, &rc);
    CHECK_MSG(rc == code, "%s: code %d, want %d (%s)", fixture, rc, code, tal_errmsg());
    CHECK_MSG(strstr(tal_errmsg(), needle) != NULL, "%s: message '%s' lacks '%s'", fixture, tal_errmsg(), needle);
}

TEST(broken_valid_fixture_reads)
{
    char path[512];
    snprintf(path, sizeof path, "%s/valid.tal", fixture_dir());
    int rc;
    CHECK_EQ_INT(count_records(path, &rc), 3);
    CHECK_EQ_INT(rc, 0);
}
TEST(broken_truncated)       { expect_error("truncated.tal", TAL_ETRUNC, "payload bytes"); }
TEST(broken_truncated_header){ expect_error("truncated-header.tal", TAL_ETRUNC, "frame header at byte offset"); }
TEST(broken_no_eof)          { expect_error("truncated-noeof.tal", TAL_ETRUNC, "EOF marker is absent"); }
TEST(broken_bad_magic)       { expect_error("bad-magic.tal", TAL_ECORRUPT, "not a talcore stream"); }
TEST(broken_bad_frame_magic) { expect_error("bad-frame-magic.tal", TAL_ECORRUPT, "bad frame magic at byte offset"); }
TEST(broken_crc_mismatch)    { expect_error("crc-mismatch.tal", TAL_ECORRUPT, "CRC mismatch in frame at byte offset"); }
TEST(broken_header_crc)      { expect_error("header-crc-mismatch.tal", TAL_ECORRUPT, "frame header CRC mismatch"); }
TEST(broken_bad_deflate)     { expect_error("bad-deflate.tal", TAL_ECORRUPT, "bad deflate data"); }
TEST(broken_oversized_length){ expect_error("oversized-length.tal", TAL_ECORRUPT, "claims"); }
TEST(broken_oversized_frame) { expect_error("oversized-frame.tal", TAL_ECORRUPT, "declares"); }
TEST(broken_huge_count)      { expect_error("huge-count.tal", TAL_ECORRUPT, "do not fit"); }
TEST(broken_unknown_critical){ expect_error("unknown-critical-section.tal", TAL_EUNSUP, "must be understood"); }
TEST(broken_unknown_flag)    { expect_error("unknown-must-understand-flag.tal", TAL_EUNSUP, "must-understand flags"); }
TEST(broken_newer_major)     { expect_error("version-2.tal", TAL_EUNSUP, "format version 2."); }

/* any minor version of the major is read: older (1.0) and newer */
TEST(other_minor_versions_are_read)
{
    const char *names[] = { "version-1.0.tal", "version-1.9.tal" };
    for (int i = 0; i < 2; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", fixture_dir(), names[i]);
        int rc;
        CHECK_MSG(count_records(path, &rc) == 3 && rc == 0, "%s: %s", names[i], tal_errmsg());
    }
}
TEST(broken_eof_inside)      { expect_error("eof-inside-record.tal", TAL_ECORRUPT, "EOF marker at byte offset"); }
TEST(broken_bad_class)       { expect_error("class-out-of-range.tal", TAL_ECORRUPT, "class 9 outside 0..2"); }
TEST(broken_empty)           { expect_error("empty.tal", TAL_ETRUNC, "empty input"); }
TEST(skippable_unknown_section_is_skipped)
{
    char path[512];
    snprintf(path, sizeof path, "%s/unknown-skippable-section.tal", fixture_dir());
    int rc;
    CHECK_EQ_INT(count_records(path, &rc), 3);
    CHECK_EQ_INT(rc, 0);
}

/* The committed fixtures are exactly what the generator makes today. */
TEST(broken_fixtures_are_current)
{
    const char *dir = tal_test_path("regen");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    CHECK(system(cmd) == 0);
    CHECK_MSG(fixtures_write(dir) == 0, "generator failed: %s", tal_errmsg());
    snprintf(cmd, sizeof cmd, "diff -r '%s' '%s' >/dev/null", dir, fixture_dir());
    CHECK_MSG(system(cmd) == 0, "test/data/broken differs from the generator: run 'build/rel/test/unit-tests --write-fixtures test/data/broken'");
}
