/* test_readers.c — .npy, numeric tables, annotation readers, splits,
 * JSON number printing, the string map. */
#include "harness.h"
#include "tal.h"
#include "data/annoset.h"
#include "data/split.h"
#include "io/anno.h"
#include "io/jsonout.h"
#include "io/npy.h"
#include "io/numtable.h"
#include "util/strmap.h"

#include <stdlib.h>
#include <string.h>

static const char *write_text(const char *name, const char *text)
{
    const char *p = tal_test_path(name);
    FILE *f = fopen(p, "wb");
    fputs(text, f);
    fclose(f);
    return p;
}

/* ---- .npy -------------------------------------------------------------------- */

/* A .npy in memory: header dict as given, then n raw bytes of data. */
static size_t npy_bytes(unsigned char *out, int version, const char *dict, const void *data, size_t n)
{
    size_t pre = version == 1 ? 10 : 12, dl = strlen(dict);
    size_t total = (pre + dl + 1 + 63) / 64 * 64, hlen = total - pre;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)version;
    out[7] = 0;
    for (size_t i = 0; i < (version == 1 ? 2u : 4u); i++)
        out[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(out + pre, dict, dl);
    memset(out + pre + dl, ' ', total - pre - dl - 1);
    out[total - 1] = '\n';
    memcpy(out + total, data, n);
    return total + n;
}

TEST(npy_decodes_each_dtype_and_version)
{
    unsigned char buf[1024];
    float f4[6] = { 0, 1, 2, 3, 4, 5.5f };
    double f8[6] = { 0, 1, 2, 3, 4, 5.5 };
    uint16_t f2[6];
    for (int i = 0; i < 6; i++)
        f2[i] = tal_f32_to_f16(f4[i]);
    struct { int ver; const char *dict; const void *data; size_t n; } cases[] = {
        { 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", f4, sizeof f4 },
        { 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", f8, sizeof f8 },
        { 3, "{\"descr\": \"<f2\", \"fortran_order\": False, \"shape\": (3L, 2L)}", f2, sizeof f2 },
    };
    for (size_t k = 0; k < 3; k++) {
        size_t n = npy_bytes(buf, cases[k].ver, cases[k].dict, cases[k].data, cases[k].n);
        float *v = NULL;
        size_t cap = 0;
        uint32_t T, D;
        CHECK_MSG(tal_npy_decode(buf, n, "mem", &v, &cap, &T, &D) == 0, "case %zu: %s", k, tal_errmsg());
        CHECK_EQ_INT(T, 3);
        CHECK_EQ_INT(D, 2);
        CHECK(v[5] == 5.5f && v[2] == 2.0f);
        free(v);
    }
}

TEST(npy_one_dimensional_is_a_column)
{
    unsigned char buf[512];
    float f4[4] = { 1, 2, 3, 4 };
    size_t n = npy_bytes(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", f4, sizeof f4);
    float *v = NULL;
    size_t cap = 0;
    uint32_t T, D;
    CHECK(tal_npy_decode(buf, n, "mem", &v, &cap, &T, &D) == 0);
    CHECK(T == 4 && D == 1 && v[3] == 4);
    free(v);
}

static void npy_refused(const char *dict, size_t ndata, int code, const char *needle)
{
    unsigned char buf[1024];
    unsigned char data[256] = { 0 };
    size_t n = npy_bytes(buf, 1, dict, data, ndata);
    float *v = NULL;
    size_t cap = 0;
    uint32_t T, D;
    int rc = tal_npy_decode(buf, n, "x.npy", &v, &cap, &T, &D);
    free(v);
    CHECK_MSG(rc == code, "%s: code %d, want %d (%s)", dict, rc, code, tal_errmsg());
    CHECK_MSG(strstr(tal_errmsg(), needle) != NULL, "'%s' lacks '%s'", tal_errmsg(), needle);
}

TEST(npy_refuses_what_it_cannot_read)
{
    npy_refused("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", 16, TAL_EUNSUP, "big-endian dtype '>f4'");
    npy_refused("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }", 32, TAL_EUNSUP, "dtype '<i8'");
    npy_refused("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16, TAL_EUNSUP, "dtype '|O'");
    npy_refused("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 2), }", 32, TAL_EUNSUP, "3-dimensional");
    npy_refused("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 2), }", 0, TAL_EINVAL, "empty .npy array");
    npy_refused("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2), }", 16, TAL_ETRUNC, "32 data bytes expected, 16 present");
    npy_refused("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 20, TAL_ECORRUPT, "4 bytes after the array");
    npy_refused("{'descr': '<f4', 'shape': (2, 2), }", 16, TAL_ECORRUPT, "lacks descr, fortran_order or shape");
    npy_refused("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", 16, TAL_ECORRUPT, "not a number");
    npy_refused("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999), }", 0, TAL_EUNSUP, "size limits");
    npy_refused("['descr']", 0, TAL_ECORRUPT, "expected '{'");
}

TEST(npy_file_reader_matches_decoder)
{
    unsigned char buf[100000];
    float data[3000];
    for (int i = 0; i < 3000; i++)
        data[i] = (float)i * 0.5f;
    size_t n = npy_bytes(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 3), }", data, sizeof data);
    const char *p = tal_test_path("a.npy");
    FILE *f = fopen(p, "wb");
    fwrite(buf, 1, n, f);
    fclose(f);
    float *v = NULL;
    size_t cap = 0;
    uint32_t T, D;
    CHECK_MSG(tal_npy_read(p, &v, &cap, &T, &D) == 0, "%s", tal_errmsg());
    CHECK(T == 1000 && D == 3 && v[2999] == 1499.5f && v[0] == 0);
    /* float64 goes through the staging buffer: same values */
    double d8[3000];
    for (int i = 0; i < 3000; i++)
        d8[i] = data[i];
    static unsigned char big[200000];
    n = npy_bytes(big, 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (1000, 3), }", d8, sizeof d8);
    f = fopen(p, "wb");
    fwrite(big, 1, n, f);
    fclose(f);
    CHECK(tal_npy_read(p, &v, &cap, &T, &D) == 0);
    CHECK(v[2999] == 1499.5f && v[1234] == 617.0f);
    /* cut short: truncated, with the file named */
    f = fopen(p, "wb");
    fwrite(big, 1, n - 100, f);
    fclose(f);
    CHECK_EQ_INT(tal_npy_read(p, &v, &cap, &T, &D), TAL_ETRUNC);
    CHECK(strstr(tal_errmsg(), "a.npy") != NULL);
    free(v);
}

/* ---- numeric tables ----------------------------------------------------------- */

TEST(numtable_reads_csv_and_blanks_with_header)
{
    float *v = NULL;
    size_t cap = 0;
    uint32_t R, C;
    CHECK(tal_numtable_read(write_text("a.csv", "x,y,z\n1,2,3\n4, 5 ,6e1\n"), &v, &cap, &R, &C) == 0);
    CHECK(R == 2 && C == 3 && v[5] == 60);
    CHECK(tal_numtable_read(write_text("b.txt", "# comment\n 1.5 -2\n\n3\t4\n"), &v, &cap, &R, &C) == 0);
    CHECK(R == 2 && C == 2 && v[1] == -2 && v[3] == 4);
    CHECK_EQ_INT(tal_numtable_read(write_text("c.txt", "1 2\n3 x\n"), &v, &cap, &R, &C), TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "line 2 column 2") != NULL);
    CHECK_EQ_INT(tal_numtable_read(write_text("d.txt", "1 2\n3 4 5\n"), &v, &cap, &R, &C), TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "more than 2 columns") != NULL);
    CHECK_EQ_INT(tal_numtable_read(write_text("e.txt", "1 2abc\n"), &v, &cap, &R, &C), TAL_EINVAL);
    CHECK_EQ_INT(tal_numtable_read(write_text("f.txt", "a b\n"), &v, &cap, &R, &C), TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "no numeric rows") != NULL);
    /* a long table grows its array as it goes */
    char *big = malloc(200000), *w = big;
    for (int i = 0; i < 10000; i++)
        w += sprintf(w, "%d,%d\n", i, -i);
    CHECK(tal_numtable_read(write_text("g.csv", big), &v, &cap, &R, &C) == 0);
    CHECK(R == 10000 && C == 2 && v[19999] == -9999 && v[19998] == 9999);
    free(big);
    free(v);
}

/* ---- annotations ------------------------------------------------------------- */

TEST(anno_json_orders_classes_by_label_id)
{
    tal_annoset a;
    tal_annoset_init(&a);
    const char *p = write_text("a.json",
        "{\"database\": {\"v2\": {\"subset\": \"training\", \"duration\": 9, \"fps\": 25, \"annotations\": ["
        "{\"label\": \"B\", \"label_id\": 1, \"segment\": [1, 2]}, {\"label\": \"A\", \"label_id\": 7, \"segment\": [\"3\", \"4.5\"]}]},"
        "\"v1\": {\"subset\": \"testing\", \"annotations\": [{\"label\": \"C\", \"label_id\": 0, \"segment\": [0, 1]}]}}}");
    CHECK_MSG(tal_anno_read_json(p, &a, NULL) == 0, "%s", tal_errmsg());
    CHECK(tal_annoset_order_classes(&a) == 0 && tal_annoset_sort(&a) == 0);
    CHECK_EQ_INT(a.classes.n, 3);
    CHECK_STR(a.classes.names[0], "C");
    CHECK_STR(a.classes.names[1], "B");
    CHECK_STR(a.classes.names[2], "A");
    CHECK_STR(a.v[0].id, "v1");
    tal_record *r = tal_annoset_find(&a, "v2");
    CHECK(r && r->segs.n == 2 && r->segs.v[0].cls == 1 && r->segs.v[1].cls == 2 && r->segs.v[1].end == 4.5);
    CHECK(r->fps == 25 && r->duration == 9 && r->supervision == TAL_SUP_FULL);
    tal_annoset_free(&a);
}

TEST(anno_json_sorts_names_without_ids)
{
    tal_annoset a;
    tal_annoset_init(&a);
    const char *p = write_text("b.json",
        "{\"database\": {\"v\": {\"annotations\": [{\"label\": \"zeta\", \"segment\": [1, 2]},"
        "{\"label\": \"alpha\", \"segment\": [3, 4]}]}}}");
    CHECK(tal_anno_read_json(p, &a, NULL) == 0 && tal_annoset_order_classes(&a) == 0);
    CHECK_STR(a.classes.names[0], "alpha");
    CHECK(a.v[0].segs.v[0].cls == 1 && a.v[0].segs.v[1].cls == 0);   /* references follow */
    tal_annoset_free(&a);
}

TEST(anno_json_errors_name_the_value)
{
    tal_annoset a;
    tal_annoset_init(&a);
    CHECK_EQ_INT(tal_anno_read_json(write_text("c.json", "{\"database\": {\"v\": {\"annotations\": [{\"segment\": [1, 2]}]}}}"),
                                    &a, NULL), TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "database.v: annotations[0] has no label") != NULL);
    CHECK_EQ_INT(tal_anno_read_json(write_text("d.json", "{\"database\": {\"v\": {\"duration\": -1}}}"), &a, NULL),
                 TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "duration is not a non-negative number") != NULL);
    CHECK_EQ_INT(tal_anno_read_json(write_text("e.json", "[1, 2]"), &a, NULL), TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "top level is not an object") != NULL);
    CHECK_EQ_INT(tal_anno_read_json(write_text("f.json", "{\"a\": 1}"), &a, NULL), TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "BSN form") != NULL);
    tal_annoset_free(&a);
}

TEST(anno_classlist_and_fixed_tables)
{
    tal_annoset a;
    tal_annoset_init(&a);
    CHECK(tal_anno_read_classlist(write_text("cl.txt", "# ids\n7 BaseballPitch\n9 Basketball Dunk\n"), &a.classes) == 0);
    CHECK(a.classes.n == 2 && a.classes.ext_ids[1] == 9);
    CHECK_STR(a.classes.names[1], "Basketball Dunk");
    CHECK(tal_anno_read_classlist(write_text("cl2.txt", "action\nApplying sunscreen\nArm wrestling\n"), &a.classes) == 0);
    CHECK(a.classes.n == 2 && a.classes.ext_ids[0] == -1);
    CHECK_STR(a.classes.names[0], "Applying sunscreen");
    CHECK_EQ_INT(tal_anno_read_classlist(write_text("cl3.txt", "A\nB\nA\n"), &a.classes), TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "line 3: class 'A' is listed twice") != NULL);
    tal_annoset_free(&a);
}

TEST(anno_points_and_video_info)
{
    tal_annoset a;
    tal_annoset_init(&a);
    tal_anno_opts o = { .existing_only = 0 };
    CHECK(tal_anno_read_videoinfo(write_text("vi.csv", "video-name,frame-rate,video-duration\nv1,25,10\nv1,25,10\nv2,30,20\n"),
                                  &a, &o) == 0);
    CHECK(a.n == 2 && tal_annoset_find(&a, "v2")->fps == 30 && tal_annoset_find(&a, "v1")->duration == 10);
    CHECK(tal_anno_read_points(write_text("p.csv", "class,start_frame,stop_frame,video_id,point\nRun,0,100,v1,50\nJump,0,60,v2,30\n"),
                               &a, &o) == 0);
    CHECK_NEAR(tal_annoset_find(&a, "v1")->points[0].time, 2.0, 1e-12);
    CHECK_NEAR(tal_annoset_find(&a, "v2")->points[0].time, 1.0, 1e-12);
    o.existing_only = 1;
    CHECK(tal_anno_read_points(write_text("q.txt", "v3,1.0,Run\nv1,3.5,Run\n"), &a, &o) == 0);
    CHECK(a.n == 2 && tal_annoset_find(&a, "v1")->npoints == 2);
    CHECK_EQ_INT(tal_anno_read_points(write_text("r.txt", "v1,abc,Run\n"), &a, &o), TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "line 1: expected 'video,time,class'") != NULL);
    tal_annoset_free(&a);
}

TEST(subset_names_match_their_aliases)
{
    CHECK(tal_subset_matches("Validation", "val"));
    CHECK(tal_subset_matches("training", "TRAIN"));
    CHECK(tal_subset_matches("test", "testing"));
    CHECK(!tal_subset_matches("training_unlabel", "training"));
    CHECK(!tal_subset_matches("validation", "test"));
}

/* ---- splits ------------------------------------------------------------------ */

/* 100 sequences; sequence i holds class i % 10, and class 9 only once. */
static void make_seqclasses(tal_seqclasses *s)
{
    tal_seqclasses_init(s, 10);
    tal_record r;
    tal_record_init(&r);
    for (int i = 0; i < 100; i++) {
        tal_record_clear(&r);
        int c = i == 99 ? 9 : i % 9;
        tal_segment g = { 0, 1, 1, c, 0, { 0 } };
        tal_segset_push(&r.segs, &g);
        tal_segment amb = { 2, 3, 1, -1, TAL_SEG_AMBIGUOUS, { 0 } };
        tal_segset_push(&r.segs, &amb);
        tal_seqclasses_add(s, &r);
    }
    tal_record_free(&r);
}

TEST(split_random_count_and_determinism)
{
    tal_seqclasses s;
    make_seqclasses(&s);
    uint8_t a[100], b[100], c[100];
    CHECK(tal_split_random(&s, 0.1, 0, 7, a, NULL) == 0);
    CHECK(tal_split_random(&s, 0.1, 0, 7, b, NULL) == 0);
    CHECK(tal_split_random(&s, 0.1, 0, 8, c, NULL) == 0);
    int na = 0;
    for (int i = 0; i < 100; i++)
        na += a[i];
    CHECK_EQ_INT(na, 10);
    CHECK(!memcmp(a, b, 100));
    CHECK(memcmp(a, c, 100));
    CHECK(tal_split_random(&s, 0.001, 0, 7, a, NULL) == 0);
    na = 0;
    for (int i = 0; i < 100; i++)
        na += a[i];
    CHECK_EQ_INT(na, 1);   /* at least one */
    tal_seqclasses_free(&s);
}

TEST(split_stratified_covers_every_class)
{
    tal_seqclasses s;
    make_seqclasses(&s);
    uint8_t a[100];
    uint32_t extra;
    for (uint64_t seed = 0; seed < 20; seed++) {
        CHECK(tal_split_random(&s, 0.05, 1, seed, a, &extra) == 0);
        CHECK_MSG(a[99], "seed %llu: the only class-9 sequence must be labelled", (unsigned long long)seed);
        int covered[10] = { 0 }, n = 0;
        for (int i = 0; i < 100; i++)
            if (a[i]) {
                covered[i == 99 ? 9 : i % 9] = 1;
                n++;
            }
        for (int c = 0; c < 10; c++)
            CHECK(covered[c]);
        CHECK_EQ_INT(n, 10);
        CHECK_EQ_INT(extra, 5);
    }
    tal_seqclasses_free(&s);
}

TEST(split_per_class_takes_the_first_k)
{
    tal_seqclasses s;
    make_seqclasses(&s);
    uint8_t a[100], b[100];
    int32_t short_cls;
    uint32_t unused = 7;
    CHECK(tal_split_per_class(&s, 1, 0, 0, a, &short_cls, &unused) == 0);
    CHECK(short_cls == -1 && unused == 0);
    for (int i = 0; i < 100; i++)
        CHECK_MSG(a[i] == (i < 9 || i == 99), "sequence %d", i);
    /* class 9 is in one sequence only: Semi(2) cannot be had, and says which */
    CHECK(tal_split_per_class(&s, 2, 0, 0, a, &short_cls, NULL) == TAL_EINVAL);
    CHECK_EQ_INT(short_cls, 9);
    /* shuffled: K of each class still, in another order; the same seed, the same split */
    tal_seqclasses t, u;
    tal_seqclasses_init(&t, 10);
    tal_seqclasses_init(&u, 12);   /* the same with two classes no sequence holds */
    tal_record r;
    tal_record_init(&r);
    for (int i = 0; i < 100; i++) {   /* ten classes, ten sequences each */
        tal_record_clear(&r);
        tal_segment g = { 0, 1, 1, i % 10, 0, { 0 } };
        tal_segset_push(&r.segs, &g);
        tal_seqclasses_add(&t, &r);
        tal_seqclasses_add(&u, &r);
    }
    tal_record_free(&r);
    CHECK(tal_split_per_class(&t, 3, 1, 5, a, &short_cls, NULL) == 0);
    CHECK(tal_split_per_class(&t, 3, 1, 5, b, &short_cls, NULL) == 0);
    CHECK(!memcmp(a, b, 100));
    int per[10] = { 0 }, first = 1;
    for (int i = 0; i < 100; i++) {
        per[i % 10] += a[i];
        first &= a[i] == (i < 30);
    }
    for (int c = 0; c < 10; c++)
        CHECK_EQ_INT(per[c], 3);
    CHECK(!first);   /* not the input order's first three */
    CHECK(tal_split_per_class(&t, 3, 1, 6, b, &short_cls, NULL) == 0);
    CHECK(memcmp(a, b, 100));
    /* a class no sequence holds is counted, not an error */
    CHECK(tal_split_per_class(&u, 3, 1, 5, b, &short_cls, &unused) == 0);
    CHECK(unused == 2 && short_cls == -1 && !memcmp(a, b, 100));
    tal_seqclasses_free(&u);
    tal_seqclasses_free(&t);
    tal_seqclasses_free(&s);
}

TEST(points_from_segments_modes)
{
    tal_record r;
    tal_record_init(&r);
    tal_segment g = { 10, 20, 1, 1, 0, { 0 } }, amb = { 0, 5, 1, -1, TAL_SEG_AMBIGUOUS, { 0 } };
    tal_segset_push(&r.segs, &amb);
    tal_segset_push(&r.segs, &g);
    tal_rng rng;
    tal_rng_seed(&rng, 1);
    CHECK(tal_points_from_segments(&r, TAL_POINTS_CENTRE, 0, &rng) == 0);
    CHECK(r.npoints == 1 && r.points[0].time == 15 && r.points[0].cls == 1);
    for (int k = 0; k < 1000; k++) {
        CHECK(tal_points_from_segments(&r, TAL_POINTS_UNIFORM, 0, &rng) == 0);
        CHECK(r.points[0].time >= 10 && r.points[0].time <= 20);
        CHECK(tal_points_from_segments(&r, TAL_POINTS_GAUSSIAN, 1.0, &rng) == 0);
        CHECK(r.points[0].time >= 10 && r.points[0].time <= 20);
    }
    tal_record_free(&r);
}

/* ---- small pieces ---------------------------------------------------------- */

TEST(json_doubles_are_shortest_and_exact)
{
    char b[32];
    double vals[] = { 0, 30, -2, 67.5, 0.1, 1.0 / 3, 29.97, 1e-7, 123456789.125, 1e20, 5e-324 };
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        tal_json_double(b, vals[i]);
        CHECK_MSG(strtod(b, NULL) == vals[i], "%.17g printed as %s", vals[i], b);
    }
    tal_json_double(b, 30);
    CHECK_STR(b, "30");
    tal_json_double(b, 0.1);
    CHECK_STR(b, "0.1");
    tal_json_double(b, 0.0015);
    CHECK_STR(b, "0.0015");
    tal_json_double(b, 1.0 / 0.0);
    CHECK_STR(b, "null");
}

TEST(strmap_grows_and_finds)
{
    tal_strmap m;
    tal_strmap_init(&m);
    char k[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "key%d", i);
        CHECK(tal_strmap_put(&m, k, i) == 0);
    }
    CHECK(tal_strmap_put(&m, "key17", -5) == 0);
    CHECK_EQ_INT(m.n, 5000);
    CHECK_EQ_INT(tal_strmap_get(&m, "key4999"), 4999);
    CHECK_EQ_INT(tal_strmap_get(&m, "key17"), -5);
    CHECK_EQ_INT(tal_strmap_get(&m, "nokey"), -1);
    tal_strmap_free(&m);
}

TEST(rng_is_reproducible_and_splits)
{
    tal_rng a, b;
    tal_rng_seed(&a, 42);
    tal_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++)
        CHECK(tal_rng_u32(&a) == tal_rng_u32(&b));
    tal_rng c1 = tal_rng_split(&a, 1), c2 = tal_rng_split(&a, 2), c1b = tal_rng_split(&b, 1);
    CHECK(tal_rng_u64(&c1) == tal_rng_u64(&c1b));
    CHECK(tal_rng_u64(&c1) != tal_rng_u64(&c2));
    /* Philox4x32-10 known-answer test (Random123's kat_vectors: ctr 0, key 0) */
    uint32_t ctr[4] = { 0, 0, 0, 0 }, key[2] = { 0, 0 }, out[4];
    tal_philox4x32(ctr, key, out);
    CHECK_EQ_INT(out[0], 0x6627e8d5u);
    CHECK_EQ_INT(out[1], 0xe169c58du);
    CHECK_EQ_INT(out[2], 0xbc57ac4cu);
    CHECK_EQ_INT(out[3], 0x9b00dbd8u);
    /* below(n) is unbiased enough to hit every value; normal has ~unit variance */
    int hit[7] = { 0 };
    double s = 0, s2 = 0;
    for (int i = 0; i < 70000; i++) {
        hit[tal_rng_below(&a, 7)]++;
        double z = tal_rng_normal(&a);
        s += z;
        s2 += z * z;
    }
    for (int i = 0; i < 7; i++)
        CHECK(hit[i] > 9000 && hit[i] < 11000);
    CHECK_NEAR(s / 70000, 0, 0.02);
    CHECK_NEAR(s2 / 70000, 1, 0.03);
}
