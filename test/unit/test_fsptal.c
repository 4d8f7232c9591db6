/* test_fsptal.c — FS-PTAL's snippet labels on constructed sequences:
 * points on snippets, Alg. 2's pseudo-label mining (its reach over the gap
 * or contiguous) and LACP's rule, the
 * pseudo segments with their outer flanks (original and optimised OIC);
 * the point loss of a tiny detector against a direct computation. */
#include "harness.h"
#include "tal.h"
#include "models/detector.h"
#include "models/fsptal.h"
#include "data/timemap.h"
#include "nn/graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { T = 30, C = 2 };

/* Two annotated points: class 0 at snippet 8, class 1 at 20.  Background
 * score high at 0..3 and 26..29, low at 6..11 and 18..23, 0.5 elsewhere
 * but for a bump at 14; class 0 on top at 5..10, class 1 at 11..25. */
static void scene(tal_fsptal_labels *L, float *b, float *q)
{
    CHECK(tal_fsptal_labels_reset(L, T, C) == 0);
    for (int t = 0; t < T; t++) {
        b[t] = t <= 3 || t >= 26 ? 0.9f : (t >= 6 && t <= 11) || (t >= 18 && t <= 23) ? 0.1f : 0.5f;
        q[t] = t >= 5 && t <= 10 ? 0.8f : 0.1f;          /* class 0 */
        q[T + t] = t >= 11 && t <= 25 ? 0.8f : 0.2f;     /* class 1 */
    }
    b[14] = 0.7f;
    L->act[8 * C + 0] = 1;
    L->annot[8] = 1;
    L->act[20 * C + 1] = 1;
    L->annot[20] = 1;
}

static void expect_range(const uint8_t *x, int lo, int hi, int want, const char *what)
{
    for (int t = lo; t <= hi; t++)
        CHECK_MSG(x[t] == want, "%s at snippet %d is %d, want %d", what, t, x[t], want);
}

TEST(fsptal_mining_alg2)
{
    tal_fsptal_labels L = { 0 };
    float b[T], q[C * T];
    scene(&L, b, q);
    tal_fsptal_mine_cfg cfg = { TAL_FSPTAL_MINE_FSPTAL, 0.85, 0.25, 1, 0 };
    CHECK(tal_fsptal_mine(&L, b, q, &cfg) == 0);
    /* background: above gamma_bkg, and the argmax between the two points */
    expect_range(L.bkg, 0, 3, 1, "bkg");
    expect_range(L.bkg, 4, 13, 0, "bkg");
    CHECK(L.bkg[14] == 1);
    expect_range(L.bkg, 15, 25, 0, "bkg");
    expect_range(L.bkg, 26, 29, 1, "bkg");
    CHECK_EQ_INT(L.nbkg, 9);
    /* mined: low background, no background point between, the same top class */
    for (int t = 6; t <= 10; t++)
        if (t != 8)
            CHECK_MSG(L.mined[t] && L.act[t * C + 0] && !L.act[t * C + 1], "snippet %d", t);
    CHECK(!L.mined[11]);   /* top class 1; its class-1 neighbour lies beyond the background at 14 */
    for (int t = 18; t <= 23; t++)
        if (t != 20)
            CHECK_MSG(L.mined[t] && L.act[t * C + 1] && !L.act[t * C + 0], "snippet %d", t);
    CHECK_EQ_INT(L.nmined, 9);
    CHECK_EQ_INT(L.nact, 11);
    /* without the class check, 11 takes its left neighbour's class */
    scene(&L, b, q);
    cfg.class_check = 0;
    CHECK(tal_fsptal_mine(&L, b, q, &cfg) == 0);
    CHECK(L.mined[11] && L.act[11 * C + 0] && !L.act[11 * C + 1]);
    tal_fsptal_labels_free(&L);
}

TEST(fsptal_mining_joins_background_between_points_only)
{
    tal_fsptal_labels L = { 0 };
    float b[T], q[C * T];
    scene(&L, b, q);
    b[12] = 0.95f;   /* two background points between the actions: the run 12..14 joins */
    b[16] = 0.95f;   /* and 14..16 */
    tal_fsptal_mine_cfg cfg = { TAL_FSPTAL_MINE_FSPTAL, 0.85, 0.25, 1, 0 };
    CHECK(tal_fsptal_mine(&L, b, q, &cfg) == 0);
    expect_range(L.bkg, 12, 16, 1, "bkg");
    CHECK(!L.bkg[11] && !L.bkg[17]);
    /* the background at 0..3 and at 12 are not joined across the point at 8 */
    expect_range(L.bkg, 4, 11, 0, "bkg");
    tal_fsptal_labels_free(&L);
}

TEST(fsptal_mining_contiguous_reach)
{
    tal_fsptal_labels L = { 0 };
    float b[T], q[C * T];
    scene(&L, b, q);
    b[16] = 0.1f;            /* a low island, cut off from the point at 20 by 17 */
    q[22] = 0.9f;            /* class 0 on top at 22, inside the low run of class 1's point */
    tal_fsptal_mine_cfg cfg = { TAL_FSPTAL_MINE_FSPTAL, 0.85, 0.25, 1, 0 };
    CHECK(tal_fsptal_mine(&L, b, q, &cfg) == 0);
    /* the gap rule: the island and 23, past the snippet the class check skips, are mined */
    CHECK(L.mined[16] && L.act[16 * C + 1]);
    CHECK(!L.mined[22] && L.mined[23]);
    scene(&L, b, q);
    b[16] = 0.1f;
    q[22] = 0.9f;
    cfg.contiguous = 1;
    CHECK(tal_fsptal_mine(&L, b, q, &cfg) == 0);
    /* contiguous: the walk from 20 stops at 17 (b too high) and at 22 (class) */
    CHECK(!L.mined[16] && !L.mined[17]);
    expect_range(L.mined, 18, 19, 1, "mined");
    CHECK(L.mined[21] && !L.mined[22] && !L.mined[23]);
    /* the walk from 8 reaches 6 and 10 as before, and the background is Alg. 2's */
    expect_range(L.mined, 6, 7, 1, "mined");
    expect_range(L.mined, 9, 10, 1, "mined");
    CHECK(!L.mined[5] && !L.mined[11]);
    CHECK(L.bkg[14] && L.nbkg == 9);
    CHECK_EQ_INT(L.nmined, 7);
    /* without the class check the walk from 20 goes on through 22 and 23 */
    scene(&L, b, q);
    b[16] = 0.1f;
    q[22] = 0.9f;
    cfg.class_check = 0;
    CHECK(tal_fsptal_mine(&L, b, q, &cfg) == 0);
    expect_range(L.mined, 21, 23, 1, "mined");
    CHECK(L.mined[11] && !L.mined[16]);
    tal_fsptal_labels_free(&L);
}

TEST(fsptal_mining_lacp_rule)
{
    tal_fsptal_labels L = { 0 };
    float b[T], q[C * T];
    scene(&L, b, q);
    tal_fsptal_mine_cfg cfg = { TAL_FSPTAL_MINE_LACP, 0.85, 0.25, 1, 0 };
    CHECK(tal_fsptal_mine(&L, b, q, &cfg) == 0);
    expect_range(L.bkg, 0, 3, 1, "bkg");      /* up to the last high one before the first point */
    expect_range(L.bkg, 26, 29, 1, "bkg");    /* from the first high one after the last */
    CHECK(L.bkg[14] == 1);                    /* fewer than two high ones between: the argmax */
    CHECK_EQ_INT(L.nbkg, 9);
    /* action points grow while b <= gamma_act, with no class check */
    for (int t = 6; t <= 11; t++)
        if (t != 8)
            CHECK_MSG(L.mined[t] && L.act[t * C + 0], "snippet %d", t);
    CHECK(!L.mined[5] && !L.mined[12]);
    for (int t = 18; t <= 23; t++)
        if (t != 20)
            CHECK_MSG(L.mined[t] && L.act[t * C + 1], "snippet %d", t);
    /* no high background before the first point: up to the argmax */
    scene(&L, b, q);
    for (int t = 0; t < 8; t++)
        b[t] = t == 2 ? 0.6f : 0.3f;
    CHECK(tal_fsptal_mine(&L, b, q, &cfg) == 0);
    expect_range(L.bkg, 0, 2, 1, "bkg");
    CHECK(!L.bkg[3]);
    tal_fsptal_labels_free(&L);
}

TEST(fsptal_segments_and_flanks)
{
    tal_fsptal_labels L = { 0 };
    CHECK(tal_fsptal_labels_reset(&L, T, C) == 0);
    for (int t = 5; t <= 7; t++)
        L.act[t * C] = 1;
    for (int t = 10; t <= 20; t++)
        L.act[t * C] = 1;
    L.act[25 * C + 1] = 1;
    tal_fsptal_seg *v = NULL;
    size_t cap = 0;
    CHECK_EQ_INT(tal_fsptal_flank(3, 0.25), 1);   /* max(1, round(0.75)) */
    CHECK_EQ_INT(tal_fsptal_flank(11, 0.25), 3);
    int n = tal_fsptal_segments(&L, 0.25, TAL_FSPTAL_OIC_ORIGINAL, &v, &cap);
    CHECK_EQ_INT(n, 3);
    CHECK(v[0].cls == 0 && v[0].s == 5 && v[0].e == 7 && v[0].ls == 4 && v[0].le == 4 && v[0].rs == 8 && v[0].re == 8);
    CHECK(v[1].cls == 0 && v[1].s == 10 && v[1].e == 20 && v[1].ls == 7 && v[1].le == 9 && v[1].rs == 21 &&
          v[1].re == 23);
    CHECK(v[2].cls == 1 && v[2].s == 25 && v[2].e == 25 && v[2].ls == 24 && v[2].rs == 26 && v[2].re == 26);
    /* optimised: the second segment's left flank stops after the first segment */
    n = tal_fsptal_segments(&L, 0.25, TAL_FSPTAL_OIC_OPTIMISED, &v, &cap);
    CHECK_EQ_INT(n, 3);
    CHECK(v[1].ls == 8 && v[1].le == 9 && v[0].re == 8);
    /* at the sequence's end the flank is clipped, and empty at the start */
    L.act[29 * C + 1] = 1;
    L.act[0 * C + 1] = 1;
    n = tal_fsptal_segments(&L, 0.25, TAL_FSPTAL_OIC_OPTIMISED, &v, &cap);
    CHECK_EQ_INT(n, 5);
    CHECK(v[2].s == 0 && v[2].le < v[2].ls);
    CHECK(v[4].s == 29 && v[4].re < v[4].rs);
    /* contrast: inside 1, flanks 0 -> 1; a flat score -> 0 */
    float x[T];
    for (int t = 0; t < T; t++)
        x[t] = t >= 10 && t <= 20 ? 1.0f : 0.0f;
    CHECK_NEAR(tal_fsptal_oic(x, &v[1]), 1.0, 1e-12);
    for (int t = 0; t < T; t++)
        x[t] = 0.3f;
    CHECK_NEAR(tal_fsptal_oic(x, &v[1]), 0.0, 1e-7);
    x[8] = 0.9f;   /* one flank snippet of 5 */
    CHECK_NEAR(tal_fsptal_oic(x, &v[1]), -0.6 / 5, 1e-7);
    free(v);
    tal_fsptal_labels_free(&L);
}

TEST(fsptal_points_land_on_snippets_through_the_time_map)
{
    tal_grid g = { 30, 16, 16 };
    tal_record r;
    tal_record_init(&r);
    tal_record_add_point(&r, tal_grid_to_sec(&g, 4.3), 1, 1.0f);
    tal_record_add_point(&r, tal_grid_to_sec(&g, 9.6), 0, 1.0f);
    tal_record_add_point(&r, 1e6, 0, 1.0f);       /* past the end: the last snippet */
    tal_record_add_point(&r, 3.0, -1, 1.0f);      /* no class: ignored */
    tal_fsptal_labels L = { 0 };
    CHECK(tal_fsptal_labels_reset(&L, 12, 2) == 0);
    CHECK(tal_fsptal_label_points(&L, &r, &g) == 0);
    CHECK(L.act[4 * 2 + 1] && L.act[10 * 2 + 0] && L.act[11 * 2 + 0]);
    CHECK_EQ_INT(L.nact, 3);
    /* a time map that stretches the first half twofold */
    tal_record_alloc_timemap(&r, 12);
    for (int i = 0; i < 12; i++)
        r.timemap[i] = i < 6 ? tal_grid_to_sec(&g, i * 0.5) : tal_grid_to_sec(&g, i - 3);
    r.points[0].time = r.timemap[5];
    r.points[1].time = r.timemap[8];
    CHECK(tal_fsptal_labels_reset(&L, 12, 2) == 0);
    CHECK(tal_fsptal_label_points(&L, &r, &g) == 0);
    CHECK(L.act[5 * 2 + 1] && L.act[8 * 2 + 0] && L.annot[11]);
    tal_fsptal_labels_free(&L);
    tal_record_free(&r);
}

/* focal BCE of one probability against a 0/1 target, as eq. 5-6 and the
 * model's man page: clamped to [1e-6, 1 - 1e-6] inside the logarithm */
static double focal(double p, int y)
{
    double c = p < 1e-6 ? 1e-6 : p > 1 - 1e-6 ? 1 - 1e-6 : p;
    return y ? -(1 - p) * (1 - p) * log(c) : -p * p * log(1 - c);
}

/* Eq. 6 at background points reads b itself: with gamma_bkg 0 every
 * snippet but the points is background, gamma_act 0 mines no action,
 * dropout 0 makes the training forward the detection forward, so the
 * logged point loss must be eq. 5 at the points plus eq. 6 over the rest,
 * computed here from the detector's own per-snippet scores.  (Reading the
 * fused map's background row b (1 - b) there instead gives another value.) */
TEST(fsptal_point_loss_reads_b_at_background_points)
{
    enum { D = 3, TT = 19, CC = 2 };
    tal_header h;
    tal_header_init(&h);
    tal_classes_add(&h.classes, "a", -1);
    tal_classes_add(&h.classes, "b", -1);
    h.feat_dim = D;
    h.fps = 1;
    h.stride = 1;
    h.clip = 1;
    tal_record rec;
    tal_record_init(&rec);
    tal_record_set_id(&rec, "pts");
    tal_record_alloc_features(&rec, TT, D);
    tal_rng r;
    tal_rng_seed(&r, 5);
    for (int k = 0; k < TT * D; k++)
        rec.feat[k] = (float)tal_rng_normal(&r);
    rec.duration = TT;
    tal_record_add_point(&rec, 4.5, 0, 1.0f);    /* snippet 4 */
    tal_record_add_point(&rec, 13.5, 1, 1.0f);   /* snippet 13 */
    rec.present |= TAL_HAS_POINTS;
    rec.supervision = TAL_SUP_POINT;
    const char *sets[] = { "model.kind=fs-ptal", "model.channels=4", "fs_ptal.dropout=0", "fs_ptal.gamma_bkg=0",
                           "fs_ptal.gamma_act=0", "fs_ptal.score_contrast=false", "fs_ptal.feature_separation=false",
                           "fs_ptal.lambda_vid=0", "train.ema_decay=0" };
    tal_det_config cfg;
    CHECK_MSG(!tal_det_config_load(&cfg, NULL, 0, sets, (int)(sizeof sets / sizeof *sets)), "%s", tal_errmsg());
    tal_detector *d = tal_detector_new(&cfg, &h, NULL);
    CHECK_MSG(d, "%s", tal_errmsg());
    tal_rng_seed(&r, 9);
    CHECK(!tal_detector_init(d, &r));
    /* the scores: qhat per class and b, per snippet */
    tal_graph *g = tal_graph_new(NULL);
    tal_graph_set_grad(g, 0);
    tal_segset dets = { 0 };
    tal_record dist;
    tal_record_init(&dist);
    CHECK_MSG(!tal_detector_detect(d, g, &rec, &dets, &dist), "%s", tal_errmsg());
    tal_graph_free(g);
    CHECK_EQ_INT((int)dist.dist_T, TT);
    double act = 0, bkg = 0;
    int cls_at[TT];
    for (int t = 0; t < TT; t++)
        cls_at[t] = t == 4 ? 0 : t == 13 ? 1 : -1;
    for (int t = 0; t < TT; t++) {
        const float *p = dist.dist + (size_t)t * (CC + 1);
        for (int k = 0; k < CC; k++)
            if (cls_at[t] >= 0)
                act += focal(p[k], k == cls_at[t]);
            else
                bkg += focal(p[k], 0);
        if (cls_at[t] < 0)
            bkg += focal(p[CC], 1);
    }
    double want = act / 2 + bkg / (TT - 2);
    /* the training step's logged terms */
    g = tal_graph_new(NULL);
    tal_graph_set_training(g, 1);
    tal_rng_seed(&r, 1);
    const tal_record *batch[1] = { &rec };
    tal_loss_log log;
    CHECK_MSG(tal_detector_loss(d, g, batch, 1, &r, &log), "%s", tal_errmsg());
    int found = 0;
    for (int k = 0; k < log.n; k++) {
        if (!strcmp(log.name[k], "point")) {
            found = 1;
            CHECK_MSG(fabs(log.value[k] - want) <= 2e-5 * (1 + want), "point %.9g, want %.9g", log.value[k], want);
        } else if (!strcmp(log.name[k], "mined_bkg")) {
            CHECK_MSG(fabs(log.value[k] - (TT - 2)) < 1e-9, "mined_bkg %g, want %d", log.value[k], TT - 2);
        }
    }
    CHECK(found);
    tal_graph_free(g);
    free(dets.v);
    tal_record_free(&dist);
    tal_detector_free(d);
    tal_record_free(&rec);
    tal_header_free(&h);
}
