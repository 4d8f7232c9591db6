/* test_gridfit.c — a record's own time grid (stream 1.3: written, read,
 * honoured by every seconds <-> snippet conversion), the check of
 * features against the duration, and fixed-length resampling. */
#include "harness.h"
#include "fixtures.h"
#include "tal.h"
#include "data/gridfit.h"
#include "data/lblext.h"
#include "data/resize.h"
#include "data/snippets.h"
#include "data/timemap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A record of T snippets resampled to cover `dur` seconds evenly, as
 * featpack --stride auto packs it: stride = clip = dur * fps / T. */
static void auto_record(tal_record *r, uint32_t T, double dur, double fps)
{
    tal_record_init(r);
    tal_record_set_id(r, "v_fixed");
    r->duration = dur;
    r->fps = fps;
    r->stride = r->clip = dur * fps / T;
    r->supervision = TAL_SUP_FULL;
    tal_record_alloc_features(r, T, 2);
    for (size_t i = 0; i < (size_t)T * 2; i++)
        r->feat[i] = (float)i;
    r->present |= TAL_HAS_FEATURES;
}

TEST(record_grid_stream_roundtrip)
{
    tal_header h;
    fixture_header(&h, 3, 2);
    const char *path = tal_test_path("grid.tal");
    tal_stream *w = tal_stream_create(path, &h, &(tal_write_opts){ 0 });
    CHECK(w);
    tal_record a, plain, back;
    auto_record(&a, 100, 37.3, 29.97);
    auto_record(&plain, 10, 5, 0);
    plain.stride = plain.clip = 0;
    tal_record_set_id(&plain, "v_plain");
    CHECK_MSG(tal_record_write(w, &a) == 0, "%s", tal_errmsg());
    CHECK_MSG(tal_record_write(w, &plain) == 0, "%s", tal_errmsg());
    CHECK_MSG(tal_stream_finish(w) == 0, "%s", tal_errmsg());
    tal_stream *s = tal_stream_open(path);
    CHECK(s);
    CHECK_EQ_INT(tal_stream_header(s)->version_minor, 3);
    tal_record_init(&back);
    CHECK_EQ_INT(tal_record_read(s, &back), 1);
    CHECK(back.stride == a.stride && back.clip == a.clip);   /* bit-exact */
    tal_grid g = tal_record_grid(&back, tal_stream_header(s));
    CHECK(g.stride == a.stride && g.clip == a.clip && g.fps == 29.97);
    CHECK_EQ_INT(tal_record_read(s, &back), 1);
    CHECK(back.stride == 0 && back.clip == 0);
    g = tal_record_grid(&back, tal_stream_header(s));
    CHECK(g.stride == 4 && g.clip == 16 && g.fps == 30);   /* the header's */
    CHECK_EQ_INT(tal_record_read(s, &back), 0);
    tal_stream_close(s);
    /* a negative stride is refused by the writer */
    a.stride = -1;
    w = tal_stream_create(tal_test_path("bad.tal"), &h, &(tal_write_opts){ 0 });
    CHECK(w);
    CHECK(tal_record_write(w, &a) != 0);
    tal_stream_abort(w);
    tal_record_free(&a);
    tal_record_free(&plain);
    tal_record_free(&back);
    tal_header_free(&h);
}

/* The case: 164 snippets of a 24 s video packed with the default
 * grid (30 fps, stride 1, clip 1) cover 5.47 s. */
TEST(gridfit_names_the_stride_that_fits)
{
    tal_gridfit f;
    tal_grid g = { 30, 1, 1 };
    CHECK_EQ_INT(tal_grid_check(&g, 164, 24, &f), 0);
    CHECK_NEAR(f.span, 164.0 / 30, 1e-12);
    CHECK_NEAR(f.fit_stride, 24.0 * 30 / 164, 1e-12);
    g.stride = g.clip = f.fit_stride;
    CHECK_EQ_INT(tal_grid_check(&g, 164, 24, &f), 1);
    /* a clip of its own stays; the stride takes the rest */
    g = (tal_grid){ 30, 4, 16 };
    CHECK_EQ_INT(tal_grid_check(&g, 164, 24, &f), 0);
    CHECK_NEAR(f.fit_stride, (24.0 * 30 - 16) / 163, 1e-12);
    g.stride = f.fit_stride;
    CHECK_EQ_INT(tal_grid_check(&g, 164, 24, &f), 1);
    /* THUMOS14's layout: T = (frames - 16) / 4 + 1 fits, one snippet short too */
    g = (tal_grid){ 30, 4, 16 };
    CHECK_EQ_INT(tal_grid_check(&g, (7200 - 16) / 4 + 1, 240, &f), 1);
    CHECK_EQ_INT(tal_grid_check(&g, (7200 - 16) / 4, 240, &f), 1);
    /* the tolerance: one snippet plus 2 % */
    CHECK_NEAR(f.tolerance, 4.0 / 30 + 0.02 * 240, 1e-12);
    CHECK_EQ_INT(tal_grid_check(&g, (7200 - 16) / 4 + 1 - 40, 240, &f), 0);
    /* nothing to check against */
    CHECK_EQ_INT(tal_grid_check(&g, 10, 0, &f), -1);
    g.fps = 0;
    CHECK_EQ_INT(tal_grid_check(&g, 10, 5, &f), -1);
    char buf[320];
    g = (tal_grid){ 30, 1, 1 };
    tal_grid_check(&g, 164, 24, &f);
    tal_gridfit_describe(buf, sizeof buf, &g, 164, &f);
    CHECK_MSG(strstr(buf, "span 5.47 s but the sequence lasts 24.00 s; stride 4.39 would fit"), "%s", buf);
}

/* Segments land on the snippets whose centres they hold: with the
 * record's own grid, snippet t of T is centred at (t + 1/2) * dur / T. */
TEST(record_grid_places_labels_like_a_direct_computation)
{
    tal_header h;
    fixture_header(&h, 3, 2);   /* header grid 30 fps, stride 4, clip 16: must not be used */
    tal_record r;
    const uint32_t T = 100;
    const double dur = 123.4;
    auto_record(&r, T, dur, 25);
    tal_segment segs[] = { { .start = 10.0, .end = 20.5, .score = 1, .cls = 0 },
                           { .start = 50.2, .end = 51.0, .score = 1, .cls = 2 },
                           { .start = 100.0, .end = 123.4, .score = 1, .cls = 1 } };
    for (int i = 0; i < 3; i++)
        tal_segset_push(&r.segs, &segs[i]);
    r.present |= TAL_HAS_SEGMENTS;
    tal_grid g = tal_record_grid(&r, &h);
    int32_t cls[100];
    tal_snippet_classes(&r.segs, &g, T, -1, 0, cls);
    int labelled = 0;
    for (uint32_t t = 0; t < T; t++) {
        double c = (t + 0.5) * dur / T;
        int32_t want = -1;
        for (int i = 0; i < 3; i++)
            if (c >= segs[i].start && c <= segs[i].end)
                want = segs[i].cls;
        CHECK_MSG(cls[t] == want, "snippet %u (centre %.3f s): class %d, want %d", t, c, cls[t], want);
        labelled += want >= 0;
        /* and back: the snippet's position maps to its centre and back */
        CHECK_NEAR(tal_record_pos_to_sec(&r, &g, t), c, 1e-9);
        CHECK_NEAR(tal_record_sec_to_pos(&r, &g, c), t, 1e-9);
    }
    CHECK(labelled > 20);
    /* the edges of the sequence: position -1/2 is 0 s, T - 1/2 the duration */
    CHECK_NEAR(tal_record_pos_to_sec(&r, &g, -0.5), 0, 1e-9);
    CHECK_NEAR(tal_record_pos_to_sec(&r, &g, T - 0.5), dur, 1e-9);
    tal_record_free(&r);
    tal_header_free(&h);
}

/* Records that need the check are told from those that do not. */
TEST(grid_warn_records_counts_misfits)
{
    tal_header h;
    fixture_header(&h, 3, 2);   /* 30 fps, stride 4, clip 16 */
    tal_record v[3];
    auto_record(&v[0], 100, 60, 30);   /* own grid: fits */
    auto_record(&v[1], 100, 60, 30);
    v[1].stride = v[1].clip = 0;       /* header grid: 100 snippets = 13.7 s of 60 */
    auto_record(&v[2], 447, 60, 30);
    v[2].stride = v[2].clip = 0;       /* (1800 - 16) / 4 + 1 = 447: fits */
    int q = tal_quiet();
    tal_set_quiet(2);
    CHECK_EQ_INT(tal_grid_warn_records(v, 3, &h, "x.tal", "hint"), 1);
    tal_set_quiet(q);
    for (int i = 0; i < 3; i++)
        tal_record_free(&v[i]);
    tal_header_free(&h);
}

/* Linear resampling as PyTorch's interpolate(align_corners=False). */
TEST(resize_matches_a_direct_computation)
{
    const uint32_t T = 7, D = 3;
    float src[7 * 3], dst[16 * 3];
    for (uint32_t i = 0; i < T * D; i++)
        src[i] = (float)(i * i % 11) - 3.5f;
    uint32_t sizes[] = { 1, 3, 7, 16 };
    for (int k = 0; k < 4; k++) {
        uint32_t N = sizes[k];
        tal_features_resize(dst, N, src, T, D);
        for (uint32_t i = 0; i < N; i++) {
            double x = fmin(fmax((i + 0.5) * T / N - 0.5, 0), T - 1);
            int a = (int)x, b = a + 1 < (int)T ? a + 1 : a;
            for (uint32_t d = 0; d < D; d++) {
                double want = src[a * D + d] + (x - a) * (src[b * D + d] - src[a * D + d]);
                CHECK_NEAR(dst[i * D + d], want, 1e-5);
            }
        }
    }
    tal_features_resize(dst, T, src, T, D);   /* same length: the identity */
    CHECK(!memcmp(dst, src, sizeof src));
}

/* lblext's time map starts from the record's own grid: with unit weights
 * nothing moves and entry t is snippet t's centre, (t + 1/2) * dur / T,
 * not where the header's grid would put it. */
TEST(lblext_maps_a_record_on_its_own_grid)
{
    tal_header h;
    fixture_header(&h, 3, 2);   /* 30 fps, stride 4, clip 16 */
    tal_record r;
    const uint32_t T = 100;
    const double dur = 61.7;
    auto_record(&r, T, dur, 30);
    r.supervision = TAL_SUP_POINT;
    tal_record_add_point(&r, 12.3, 1, 1.0f);
    tal_record_add_point(&r, 40.0, 0, 1.0f);
    tal_grid g = tal_record_grid(&r, &h);
    tal_lblext_ws *w = tal_lblext_ws_new();
    tal_lblext_opts unit = { 1, 1, 1 }, dflt = TAL_LBLEXT_DEFAULTS;
    CHECK_MSG(tal_lblext_record(w, &r, &g, &unit) == 0, "%s", tal_errmsg());
    CHECK_EQ_INT(r.T, T);
    for (uint32_t t = 0; t < T; t++)
        CHECK_NEAR(r.timemap[t], (t + 0.5) * dur / T, 1e-9);
    /* extended for real, the map still spans the sequence's own seconds */
    tal_record_free(&r);
    auto_record(&r, T, dur, 30);
    r.supervision = TAL_SUP_POINT;
    tal_record_add_point(&r, 12.3, 1, 1.0f);
    CHECK_MSG(tal_lblext_record(w, &r, &g, &dflt) == 0, "%s", tal_errmsg());
    CHECK(r.T > T);
    CHECK(r.timemap[0] >= 0 && r.timemap[r.T - 1] <= dur);
    CHECK(r.timemap[r.T - 1] > dur - dur / T);
    tal_lblext_ws_free(w);
    tal_record_free(&r);
    tal_header_free(&h);
}
