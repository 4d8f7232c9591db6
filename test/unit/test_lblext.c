/* test_lblext.c — the time map (stream section, position <-> seconds),
 * label extension (lblext) and detections of extended records in the
 * sequence's own seconds. */
#include "harness.h"
#include "fixtures.h"
#include "tal.h"
#include "data/lblext.h"
#include "data/timemap.h"
#include "models/detector.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the stream section ----------------------------------------------------- */

static void mapped_record(tal_record *r, uint32_t T, uint32_t D, tal_rng *g)
{
    tal_record_init(r);
    tal_record_set_id(r, "v1");
    r->duration = 100;
    r->supervision = TAL_SUP_POINT;
    tal_record_alloc_features(r, T, D);
    for (size_t i = 0; i < (size_t)T * D; i++)
        r->feat[i] = (float)tal_rng_normal(g);
    tal_record_alloc_timemap(r, T);
    double t = 0.25;
    for (uint32_t i = 0; i < T; i++) {
        r->timemap[i] = t;
        t += 0.01 + tal_rng_double(g) / 3;   /* uneven, increasing */
    }
    tal_record_add_point(r, r->timemap[T / 2], 1, 1.0f);
}

TEST(timemap_stream_roundtrip_bit_exact)
{
    tal_rng g;
    tal_rng_seed(&g, 5);
    tal_header h;
    fixture_header(&h, 3, 4);
    for (int frames = 0; frames < 2; frames++) {
        tal_write_opts o = { .frame_size = frames ? 7 : 0, .level = frames ? 6 : 0 };
        const char *path = tal_test_path("tm.tal");
        tal_stream *w = tal_stream_create(path, &h, &o);
        CHECK(w);
        tal_record r, back;
        mapped_record(&r, 700, 4, &g);   /* 5600 bytes of map: spans frames */
        CHECK_MSG(tal_record_write(w, &r) == 0, "%s", tal_errmsg());
        CHECK_MSG(tal_stream_finish(w) == 0, "%s", tal_errmsg());
        tal_stream *s = tal_stream_open(path);
        CHECK(s);
        CHECK_EQ_INT(tal_stream_header(s)->version_minor, TAL_STREAM_VERSION_MINOR);
        tal_record_init(&back);
        CHECK_EQ_INT(tal_record_read(s, &back), 1);
        CHECK(back.present & TAL_HAS_TIMEMAP);
        CHECK_EQ_INT(back.ntimemap, 700);
        CHECK(!memcmp(back.timemap, r.timemap, 700 * sizeof(double)));
        /* a copy keeps it */
        tal_record c;
        tal_record_init(&c);
        CHECK(tal_record_copy(&c, &back) == 0);
        CHECK(c.ntimemap == 700 && !memcmp(c.timemap, r.timemap, 700 * sizeof(double)));
        tal_record_free(&c);
        tal_stream_close(s);
        tal_record_free(&r);
        tal_record_free(&back);
    }
    tal_header_free(&h);
}

TEST(timemap_writer_refuses_bad_maps)
{
    tal_rng g;
    tal_rng_seed(&g, 6);
    tal_header h;
    fixture_header(&h, 3, 4);
    tal_stream *w = tal_stream_create(tal_test_path("bad.tal"), &h, NULL);
    CHECK(w);
    tal_record r;
    mapped_record(&r, 10, 4, &g);
    r.timemap[4] = r.timemap[3];
    CHECK_EQ_INT(tal_record_write(w, &r), TAL_EINVAL);
    CHECK_MSG(strstr(tal_errmsg(), "time map entry 4") != NULL, "%s", tal_errmsg());
    r.timemap[4] = NAN;
    CHECK_EQ_INT(tal_record_write(w, &r), TAL_EINVAL);
    r.timemap[4] = (r.timemap[3] + r.timemap[5]) / 2;
    r.ntimemap = 9;
    CHECK_EQ_INT(tal_record_write(w, &r), TAL_EINVAL);
    CHECK_MSG(strstr(tal_errmsg(), "9 entries for 10 snippets") != NULL, "%s", tal_errmsg());
    r.ntimemap = 10;
    CHECK_EQ_INT(tal_record_write(w, &r), 0);
    /* without the features the map still describes them: accepted */
    tal_record_drop_features(&r);
    CHECK_EQ_INT(tal_record_write(w, &r), 0);
    tal_stream_abort(w);
    tal_record_free(&r);
    tal_header_free(&h);
}

/* ---- positions <-> seconds ----------------------------------------------------- */

TEST(timemap_positions_and_seconds)
{
    double m[5] = { 1.0, 1.5, 3.0, 3.25, 7.0 };
    for (int i = 0; i < 5; i++) {
        CHECK(tal_timemap_pos_to_sec(m, 5, 0.5, i) == m[i]);   /* exact at whole positions */
        CHECK(tal_timemap_sec_to_pos(m, 5, 0.5, m[i]) == i);
    }
    CHECK_NEAR(tal_timemap_pos_to_sec(m, 5, 0.5, 1.5), 2.25, 1e-12);
    CHECK_NEAR(tal_timemap_pos_to_sec(m, 5, 0.5, -0.5), 0.75, 1e-12);   /* along the first interval */
    CHECK_NEAR(tal_timemap_pos_to_sec(m, 5, 0.5, 4.5), 8.875, 1e-12);   /* along the last */
    for (double p = -0.5; p <= 4.5; p += 0.125)
        CHECK_NEAR(tal_timemap_sec_to_pos(m, 5, 0.5, tal_timemap_pos_to_sec(m, 5, 0.5, p)), p, 1e-12);
    double one = 4.0;
    CHECK_NEAR(tal_timemap_pos_to_sec(&one, 1, 0.5, 0.5), 4.25, 1e-12);
    CHECK_NEAR(tal_timemap_sec_to_pos(&one, 1, 0.5, 3.5), -1.0, 1e-12);
}

/* ---- label extension ----------------------------------------------------------- */

static const tal_grid GRID = { 30, 16, 16 };   /* 16-frame snippets at 30 fps */

static void point_record(tal_record *r, uint32_t T, uint32_t D, tal_rng *g)
{
    tal_record_init(r);
    tal_record_set_id(r, "p1");
    r->supervision = TAL_SUP_POINT;
    r->duration = ((T - 1) * GRID.stride + GRID.clip) / GRID.fps;
    tal_record_alloc_features(r, T, D);
    for (size_t i = 0; i < (size_t)T * D; i++)
        r->feat[i] = (float)tal_rng_normal(g);
}

TEST(lblext_unit_weights_are_the_identity)
{
    tal_rng g;
    tal_rng_seed(&g, 1);
    tal_record r;
    point_record(&r, 57, 5, &g);
    tal_record_add_point(&r, 3.1, 0, 1.0f);
    tal_record_add_point(&r, 20.0, 2, 1.0f);
    float *orig = malloc((size_t)57 * 5 * sizeof *orig);
    memcpy(orig, r.feat, (size_t)57 * 5 * sizeof *orig);
    tal_lblext_ws *w = tal_lblext_ws_new();
    tal_lblext_opts o = { 1, 1, 1 };
    CHECK_MSG(tal_lblext_record(w, &r, &GRID, &o) == 0, "%s", tal_errmsg());
    CHECK_EQ_INT(r.T, 57);
    CHECK(!memcmp(orig, r.feat, (size_t)57 * 5 * sizeof *orig));   /* bit for bit */
    for (uint32_t i = 0; i < 57; i++)
        CHECK(r.timemap[i] == tal_grid_to_sec(&GRID, i));
    free(orig);
    tal_lblext_ws_free(w);
    tal_record_free(&r);
}

/* x such that the cumulative weight up to x is m, by bisection */
static double inverse_cdf(const double *wt, int T, double m)
{
    double lo = -0.5, hi = T - 0.5;
    for (int it = 0; it < 200; it++) {
        double x = (lo + hi) / 2, c = 0;
        for (int j = 0; j < T; j++) {
            double a = j - 0.5, b = j + 0.5;
            if (x >= b)
                c += wt[j];
            else if (x > a)
                c += wt[j] * (x - a);
        }
        if (c < m)
            lo = x;
        else
            hi = x;
    }
    return (lo + hi) / 2;
}

TEST(lblext_matches_a_direct_computation)
{
    tal_rng g;
    tal_rng_seed(&g, 2);
    enum { T = 40, D = 3 };
    tal_record r;
    point_record(&r, T, D, &g);
    /* points on snippets 5, 6 (one run), 20 and 39 (the last) */
    int lab[] = { 5, 6, 20, 39 };
    for (int k = 0; k < 4; k++)
        tal_record_add_point(&r, tal_grid_to_sec(&GRID, lab[k] + 0.2), k % 2, 1.0f);
    float *orig = malloc(sizeof(float) * T * D);
    memcpy(orig, r.feat, sizeof(float) * T * D);
    double wt[T];
    for (int j = 0; j < T; j++)
        wt[j] = 1;
    wt[5] = wt[6] = wt[20] = wt[39] = 2.5;
    wt[4] = wt[7] = wt[19] = wt[21] = wt[38] = 1.67;
    double S = 0;
    for (int j = 0; j < T; j++)
        S += wt[j];
    int n = (int)floor(S + 0.5);
    tal_lblext_ws *w = tal_lblext_ws_new();
    tal_lblext_opts o = TAL_LBLEXT_DEFAULTS;
    CHECK_MSG(tal_lblext_record(w, &r, &GRID, &o) == 0, "%s", tal_errmsg());
    CHECK_EQ_INT(r.T, n);
    CHECK_EQ_INT(r.ntimemap, n);
    uint32_t np;
    const double *x = tal_lblext_positions(w, &np);
    CHECK_EQ_INT(np, n);
    int labelled_near[4] = { 0 };
    for (int i = 0; i < n; i++) {
        double want = inverse_cdf(wt, T, (i + 0.5) * S / n);
        CHECK_NEAR(x[i], want, 1e-9);
        CHECK_NEAR(r.timemap[i], tal_grid_to_sec(&GRID, want), 1e-9);
        int j = (int)floor(want);
        double a = want - j;
        for (int d = 0; d < D; d++) {
            double f = want <= 0 ? orig[d] : want >= T - 1 ? orig[(T - 1) * D + d]
                                                          : (1 - a) * orig[j * D + d] + a * orig[(j + 1) * D + d];
            CHECK_NEAR(r.feat[i * D + d], f, 1e-5);
        }
        for (int k = 0; k < 4; k++)
            labelled_near[k] += fabs(want - lab[k]) <= 1;
    }
    /* every new position within theta = 1 of a labelled snippet carries its point */
    uint32_t expect = 0;
    for (int k = 0; k < 4; k++)
        expect += (uint32_t)labelled_near[k];
    CHECK_EQ_INT(r.npoints, expect);
    for (uint32_t p = 1; p < r.npoints; p++)
        CHECK(r.points[p].time >= r.points[p - 1].time);
    /* the inverse map is exact at the original snippets: seconds -> new
     * position -> seconds */
    tal_grid gg = GRID;
    for (int j = 0; j < T; j++) {
        double s = tal_grid_to_sec(&GRID, j);
        CHECK_NEAR(tal_record_pos_to_sec(&r, &gg, tal_record_sec_to_pos(&r, &gg, s)), s, 1e-9);
    }
    free(orig);
    tal_lblext_ws_free(w);
    tal_record_free(&r);
}

TEST(lblext_points_stay_inside_their_instance)
{
    tal_rng g;
    tal_rng_seed(&g, 3);
    tal_record r;
    point_record(&r, 200, 2, &g);
    /* instances [10, 14] s and [30.2, 31.6] s (a short one: 3 snippets),
     * points anywhere inside that leaves a snippet on either side */
    double inst[2][2] = { { 10, 14 }, { 30.2, 31.6 } }, pt[2] = { 10.9, 30.9 };
    tal_record_add_point(&r, pt[0], 0, 1.0f);
    tal_record_add_point(&r, pt[1], 1, 1.0f);
    tal_lblext_ws *w = tal_lblext_ws_new();
    tal_lblext_opts o = TAL_LBLEXT_DEFAULTS;
    CHECK_MSG(tal_lblext_record(w, &r, &GRID, &o) == 0, "%s", tal_errmsg());
    int seen[2] = { 0 };
    for (uint32_t p = 0; p < r.npoints; p++) {
        int c = r.points[p].cls;
        CHECK_MSG(r.points[p].time >= inst[c][0] && r.points[p].time <= inst[c][1], "point of class %d at %.4f s",
                  c, r.points[p].time);
        seen[c]++;
    }
    CHECK(seen[0] >= 3 && seen[1] >= 3);
    /* a second extension composes: times stay in the sequence's seconds */
    CHECK(tal_lblext_record(w, &r, &GRID, &o) == 0);
    for (uint32_t p = 0; p < r.npoints; p++) {
        int c = r.points[p].cls;
        CHECK(r.points[p].time >= inst[c][0] - 0.6 && r.points[p].time <= inst[c][1] + 0.6);
    }
    tal_lblext_ws_free(w);
    tal_record_free(&r);
}

TEST(lblext_refuses_bad_points)
{
    tal_rng g;
    tal_rng_seed(&g, 4);
    tal_lblext_ws *w = tal_lblext_ws_new();
    tal_lblext_opts o = TAL_LBLEXT_DEFAULTS;
    tal_record r;
    point_record(&r, 30, 2, &g);
    CHECK_EQ_INT(tal_lblext_record(w, &r, &GRID, &o), TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "no points") != NULL);
    tal_record_add_point(&r, 5.0, 0, 1.0f);
    tal_record_add_point(&r, 2.0, 0, 1.0f);
    CHECK_EQ_INT(tal_lblext_record(w, &r, &GRID, &o), TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "not in time order") != NULL);
    r.points[1].time = 500;
    CHECK_EQ_INT(tal_lblext_record(w, &r, &GRID, &o), TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "outside the sequence") != NULL);
    CHECK_EQ_INT(r.T, 30);   /* untouched */
    tal_record_drop_features(&r);
    CHECK_EQ_INT(tal_lblext_record(w, &r, &GRID, &o), TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "no features") != NULL);
    tal_lblext_ws_free(w);
    tal_record_free(&r);
}

/* ---- detections of an extended record come back in its own seconds ------------- */

TEST(detector_maps_detections_through_the_time_map)
{
    tal_header h;
    fixture_header(&h, 3, 6);
    h.fps = 30, h.stride = 16, h.clip = 16;
    tal_det_config cfg;
    CHECK(tal_det_config_load(&cfg, NULL, 0, (const char *[]){ "model.kind=linear" }, 1) == 0);
    tal_detector *d = tal_detector_new(&cfg, &h, NULL);
    CHECK(d);
    tal_rng g;
    tal_rng_seed(&g, 9);
    CHECK(tal_detector_init(d, &g) == 0);
    tal_record r;
    point_record(&r, 80, 6, &g);
    for (uint32_t t = 0; t < 80; t++)   /* slow features: runs of a few snippets */
        for (int c = 0; c < 6; c++)
            r.feat[t * 6 + c] = (float)(3 * sin(t / (4.0 + c)));
    tal_graph *gr = tal_graph_new(NULL);
    tal_segset plain = { 0 }, mapped = { 0 };
    CHECK(tal_detector_detect(d, gr, &r, &plain, NULL) == 0);
    CHECK(plain.n > 3);
    tal_record_alloc_timemap(&r, 80);
    for (uint32_t i = 0; i < 80; i++)
        r.timemap[i] = 2.0 + 0.3 * i + 0.002 * i * i;
    r.duration = 60;
    tal_graph_reset(gr);
    CHECK(tal_detector_detect(d, gr, &r, &mapped, NULL) == 0);
    CHECK_EQ_INT(mapped.n, plain.n);
    tal_grid grid = { 30, 16, 16 };
    for (uint32_t i = 0; i < plain.n; i++) {
        double a = tal_timemap_pos_to_sec(r.timemap, 80, 16 / 30.0, tal_grid_from_sec(&grid, plain.v[i].start));
        double b = tal_timemap_pos_to_sec(r.timemap, 80, 16 / 30.0, tal_grid_from_sec(&grid, plain.v[i].end));
        CHECK_NEAR(mapped.v[i].start, fmax(a, 0), 1e-9);
        CHECK_NEAR(mapped.v[i].end, fmin(b, 60), 1e-9);
        CHECK(mapped.v[i].score == plain.v[i].score && mapped.v[i].cls == plain.v[i].cls);
    }
    /* a model kind that places labels on the grid refuses to train on it */
    const tal_record *batch[1] = { &r };
    tal_loss_log log;
    tal_graph_reset(gr);
    CHECK(tal_detector_loss(d, gr, batch, 1, &g, &log) == NULL);
    CHECK(strstr(tal_errmsg(), "time map") != NULL);
    free(plain.v);
    free(mapped.v);
    tal_graph_free(gr);
    tal_detector_free(d);
    tal_record_free(&r);
    tal_header_free(&h);
}
