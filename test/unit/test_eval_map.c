/* test_eval_map.c — the evaluation library on cases computed by hand, the
 * official codes' quirks, numpy's tie order, and the diagnosis. */
#include "harness.h"
#include "tal.h"
#include "eval/diagnose.h"
#include "eval/eval.h"
#include "io/dets.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------ */

static void set_classes(tal_evalset *e, int n)
{
    static const char *const names[] = { "Jump", "Run", "Throw" };
    for (int i = 0; i < n; i++)
        tal_classes_add(&e->classes, names[i], -1);
}

static uint32_t vid(tal_evalset *e, const char *id, int gt)
{
    int64_t v = tal_evalset_video(e, id, gt);
    return v < 0 ? 0 : (uint32_t)v;
}

static int run(tal_evalset *e, int protocol, const double *thr, uint32_t nt, tal_eval_result *r)
{
    static const uint32_t topk[] = { 1, 5 };
    tal_eval_opts o = { .protocol = protocol, .tiou = thr, .ntiou = nt, .topk = topk, .ntopk = 2, .curves = 1 };
    return tal_eval_run(e, &o, r);
}

/* ---- elementary pieces ---------------------------------------------------------- */

TEST(eval_tiou_by_hand)
{
    CHECK_NEAR(tal_tiou_anet(0, 10, 0, 10), 1, 0);
    CHECK_NEAR(tal_tiou_anet(0, 10, 5, 15), 5.0 / 15, 1e-15);
    CHECK_NEAR(tal_tiou_anet(0, 10, 20, 30), 0, 0);
    CHECK_NEAR(tal_tiou_anet(20, 25, 20, 30), 0.5, 0);
    /* a reversed detection: 0 / negative union = -0, below any threshold */
    CHECK(tal_tiou_anet(35, 20, 10, 20) <= 0);
    /* its length cancels the ground truth's: 0/0, the official quirk */
    CHECK(isnan(tal_tiou_anet(35, 25, 10, 20)));
    /* the kit orders each interval and divides by the hull */
    CHECK_NEAR(tal_overlap_th14(0, 10, 5, 15), 5.0 / 15, 1e-15);
    CHECK_NEAR(tal_overlap_th14(10, 0, 15, 5), 5.0 / 15, 1e-15);
    CHECK_NEAR(tal_overlap_th14(0, 10, 10, 20), 0, 0);   /* touching: no overlap */
}

TEST(eval_ap_by_hand)
{
    /* TP, FP, TP of 2 instances: envelope 1, 1, 2/3 -> 0.5*1 + 0.5*2/3 */
    double prec[] = { 1, 0.5, 2.0 / 3 }, rec[] = { 0.5, 0.5, 1 };
    CHECK_NEAR(tal_ap_interp(prec, rec, 3), 0.5 + 0.5 * 2.0 / 3, 1e-15);
    /* FP first: precision 0 then 1/2 at recall 1/2 */
    double p2[] = { 0, 0.5 }, r2[] = { 0, 0.5 };
    CHECK_NEAR(tal_ap_interp(p2, r2, 2), 0.25, 1e-15);
    CHECK_NEAR(tal_ap_interp(p2, r2, 0), 0, 0);
    /* 11-point: precision 1 up to recall 0.5 (6 points of 11) */
    double p3[] = { 1, 0.5 }, r3[] = { 0.5, 0.5 };
    CHECK_NEAR(tal_ap_11point(p3, r3, 2), 6.0 / 11, 1e-15);
    /* recall exactly 0.3 (3 of 10) is below the kit's 3*0.1 = 0.30000000000000004 */
    double p4[] = { 1 }, r4[] = { 3.0 / 10 };
    CHECK_NEAR(tal_ap_11point(p4, r4, 1), 3.0 / 11, 1e-15);
}

TEST(eval_tiou_lists)
{
    double *t = NULL;
    uint32_t n = 0;
    /* ranges follow numpy.linspace: 0.8999999999999999, not 0.9 */
    CHECK(tal_tiou_parse("0.5:0.05:0.95", &t, &n) == 0);
    CHECK_EQ_INT(n, 10);
    const char *want[] = { "0.5", "0.55", "0.6", "0.65", "0.7", "0.75", "0.8", "0.85", "0.8999999999999999", "0.95" };
    for (int i = 0; i < 10; i++)
        CHECK_MSG(t[i] == strtod(want[i], NULL), "tiou[%d] = %.17g", i, t[i]);
    free(t);
    CHECK(tal_tiou_parse("0.3:0.1:0.7", &t, &n) == 0);
    CHECK(n == 5 && t[1] == 0.39999999999999997 && t[4] == 0.7);
    free(t);
    CHECK(tal_tiou_parse("0.1, 0.3,0.5:0.1:0.7", &t, &n) == 0);
    CHECK(n == 5 && t[0] == 0.1 && t[1] == 0.3 && t[2] == 0.5 && t[4] == 0.7);
    free(t);
    const char *bad[] = { "", "0", "1.5", "x", "0.5:0:0.9", "0.1:0.3:0.5", "0.5:0.1:0.3", "0.1,,", "0.1:0.2", "1:2:3:4" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        t = NULL;
        CHECK_MSG(tal_tiou_parse(bad[i], &t, &n) == TAL_EINVAL, "'%s' accepted", bad[i]);
    }
}

TEST(eval_argsort_matches_numpy)
{
    /* expected orders printed by numpy 1.24's np.argsort on these arrays */
    double a[20];
    for (int i = 0; i < 20; i++)
        a[i] = i % 2 ? 1 : 2;
    const uint32_t wa[] = { 9, 17, 15, 13, 11, 7, 19, 5, 3, 1, 8, 18, 10, 4, 12, 14, 2, 16, 6, 0 };
    uint32_t idx[32];
    tal_argsort_np(a, idx, 20);
    CHECK(!memcmp(idx, wa, sizeof wa));
    double z[17] = { 0 };
    const uint32_t wz[] = { 0, 14, 13, 12, 11, 10, 9, 15, 8, 6, 5, 4, 3, 2, 1, 7, 16 };
    tal_argsort_np(z, idx, 17);
    CHECK(!memcmp(idx, wz, sizeof wz));
    double q[16] = { 0 };   /* 16 or fewer: insertion sort, stable */
    tal_argsort_np(q, idx, 16);
    for (uint32_t i = 0; i < 16; i++)
        CHECK(idx[i] == i);
    const double N = NAN;
    double m[23] = { 0.5, N, 0.5, 0.2, N, 0.5, 0.9, 0.5, N, 0.2, 0.5, 0.5, 0.2, 0.9, N, 0.5, 0.5, 0.2, 0.5, 0.1, 0.5, 0.5, 0.2 };
    const uint32_t wm[] = { 19, 22, 3, 17, 12, 9, 20, 18, 16, 15, 21, 0, 7, 5, 2, 10, 11, 13, 6, 8, 14, 4, 1 };
    tal_argsort_np(m, idx, 23);
    CHECK(!memcmp(idx, wm, sizeof wm));
    tal_rank_np(m, idx, 23);   /* reversed: NaNs first */
    CHECK(idx[0] == 1 && idx[22] == 19);
}

/* ---- protocols on small sets ------------------------------------------------------- */

TEST(eval_anet_by_hand)
{
    tal_evalset e;
    tal_evalset_init(&e);
    set_classes(&e, 2);
    uint32_t v = vid(&e, "v1", 1);
    CHECK(!tal_evalset_add_gt(&e, v, 0, 10, 0) && !tal_evalset_add_gt(&e, v, 20, 30, 0));
    CHECK(!tal_evalset_add_gt(&e, v, 0, 10, 0));        /* duplicate: dropped */
    CHECK(!tal_evalset_add_gt(&e, v, 40, 40.0005, 0));  /* shorter than 1e-3 s: dropped */
    CHECK(!tal_evalset_add_gt(&e, v, 50, 60, 1));
    CHECK(!tal_evalset_add_det(&e, v, 0, 10, 0.9, 0));   /* TP */
    CHECK(!tal_evalset_add_det(&e, v, 1, 10, 0.8, 0));   /* the first is taken: FP */
    CHECK(!tal_evalset_add_det(&e, v, 20, 25, 0.7, 0));  /* tIoU exactly 0.5 */
    CHECK(!tal_evalset_finish(&e, TAL_REVERSED_KEEP));
    double thr[] = { 0.5, 0.7 };
    tal_eval_result r;
    CHECK(!run(&e, TAL_EVAL_ANET, thr, 2, &r));
    CHECK_EQ_INT(r.ncls, 2);
    CHECK_EQ_INT(r.npos[0], 2);
    CHECK_NEAR(r.ap[0 * 2 + 0], 0.5 + 0.5 * 2.0 / 3, 1e-15);   /* >= 0.5 holds */
    CHECK_NEAR(r.ap[1 * 2 + 0], 0.5, 1e-15);
    CHECK_NEAR(r.ap[0 * 2 + 1], 0, 0);                          /* no detections */
    CHECK_NEAR(r.map[0], (0.5 + 1.0 / 3) / 2, 1e-15);
    CHECK_NEAR(r.average, ((0.5 + 1.0 / 3) / 2 + 0.25) / 2, 1e-15);
    /* recall at 1x (top 2 of v1 for class 0): 1 of 2; at 5x both; class 1 none */
    CHECK_NEAR(r.recall[0 * 2 + 0], (0.5 + 0) / 2, 1e-15);
    CHECK_NEAR(r.recall[0 * 2 + 1], (1.0 + 0) / 2, 1e-15);
    /* the curve has a point per true positive and the last detection */
    CHECK_EQ_INT(r.curves[0].n, 2);
    CHECK_NEAR(r.curves[0].recall[1], 1, 0);
    CHECK_NEAR(r.curves[0].precision[1], 2.0 / 3, 1e-15);
    tal_eval_result_free(&r);
    tal_evalset_free(&e);
}

TEST(eval_anet_reversed_quirk)
{
    const int policy[] = { TAL_REVERSED_KEEP, TAL_REVERSED_SWAP, TAL_REVERSED_DROP };
    const double want[] = { 1, 0, 0 };
    for (int p = 0; p < 3; p++) {
        tal_evalset e;
        tal_evalset_init(&e);
        set_classes(&e, 1);
        uint32_t v = vid(&e, "v", 1);
        CHECK(!tal_evalset_add_gt(&e, v, 10, 20, 0));
        CHECK(!tal_evalset_add_det(&e, v, 35, 25, 0.9, 0));   /* length -10 cancels 10 */
        CHECK(!tal_evalset_finish(&e, policy[p]));
        CHECK_EQ_INT(e.ndet, p == 2 ? 0 : 1);
        double thr = 0.95;
        tal_eval_result r;
        CHECK(!run(&e, TAL_EVAL_ANET, &thr, 1, &r));
        CHECK_MSG(r.map[0] == want[p], "policy %d: mAP %g", p, r.map[0]);
        CHECK_NEAR(r.recall[0], 0, 0);   /* recall never counts NaN */
        tal_eval_result_free(&r);
        tal_evalset_free(&e);
    }
}

TEST(eval_th14_by_hand)
{
    tal_evalset e;
    tal_evalset_init(&e);
    set_classes(&e, 1);
    uint32_t v = vid(&e, "v", 1), w = vid(&e, "w", 0);
    CHECK(!tal_evalset_add_gt(&e, v, 0, 10, 0));
    CHECK(!tal_evalset_add_gt(&e, v, 100, 110, 0));
    CHECK(!tal_evalset_add_gt(&e, v, 40, 50, -1));        /* Ambiguous */
    CHECK(!tal_evalset_add_det(&e, v, 41, 45, 0.95, 0));  /* on the Ambiguous segment: ignored */
    CHECK(!tal_evalset_add_det(&e, v, 9, 0, 0.9, 0));     /* reversed: the kit orders it, ov 0.9 */
    CHECK(!tal_evalset_add_det(&e, v, 60, 70, 0.7, 0));   /* FP */
    CHECK(!tal_evalset_add_det(&e, w, 0, 10, 0.6, 0));    /* a video without ground truth: FP */
    CHECK(!tal_evalset_finish(&e, TAL_REVERSED_KEEP));
    double thr[] = { 0.5, 0.9 };
    tal_eval_result r;
    CHECK(!run(&e, TAL_EVAL_TH14, thr, 2, &r));
    /* TP(0.9) FP FP: precision 1 at recall 0.5 -> 6 of 11 points */
    CHECK_NEAR(r.ap[0], 6.0 / 11, 1e-15);
    /* at 0.9 the overlap 0.9 is not > 0.9: no TP, AP 0 */
    CHECK_NEAR(r.ap[1], 0, 0);
    tal_eval_result_free(&r);
    /* the kit's later revision: precision 1 at the one TP, over 2 instances */
    tal_eval_opts no = { .protocol = TAL_EVAL_TH14, .tiou = thr, .ntiou = 1, .th14_ap = TAL_TH14_AP_NONINTERP };
    CHECK(!tal_eval_run(&e, &no, &r));
    CHECK_NEAR(r.ap[0], 0.5, 1e-15);
    tal_eval_result_free(&r);
    /* the same under ActivityNet rules: the Ambiguous hit is a FP ranked
     * first, the reversed detection matches nothing */
    CHECK(!run(&e, TAL_EVAL_ANET, thr, 1, &r));
    CHECK_NEAR(r.ap[0], 0, 0);
    tal_eval_result_free(&r);
    tal_evalset_free(&e);
}

TEST(eval_th14_ties_put_true_positives_first)
{
    tal_evalset e;
    tal_evalset_init(&e);
    set_classes(&e, 1);
    uint32_t a = vid(&e, "a", 1), b = vid(&e, "b", 1);
    CHECK(!tal_evalset_add_gt(&e, b, 0, 10, 0));
    CHECK(!tal_evalset_add_det(&e, a, 50, 60, 0.5, 0));   /* FP, same score, earlier video */
    CHECK(!tal_evalset_add_det(&e, b, 0, 10, 0.5, 0));    /* TP */
    CHECK(!tal_evalset_finish(&e, TAL_REVERSED_KEEP));
    double thr = 0.5;
    tal_eval_result r;
    CHECK(!run(&e, TAL_EVAL_TH14, &thr, 1, &r));
    CHECK_NEAR(r.ap[0], 1, 1e-15);   /* the kit lists true positives before false ones */
    tal_eval_result_free(&r);
    /* its later revision keeps video order: the FP of video "a" comes first */
    tal_eval_opts no = { .protocol = TAL_EVAL_TH14, .tiou = &thr, .ntiou = 1, .th14_ap = TAL_TH14_AP_NONINTERP };
    CHECK(!tal_eval_run(&e, &no, &r));
    CHECK_NEAR(r.ap[0], 0.5, 1e-15);
    tal_eval_result_free(&r);
    tal_evalset_free(&e);
}

TEST(eval_ties_follow_numpy)
{
    /* 20 detections of equal score, only the first on the instance: where
     * it ranks is numpy's introsort order, reversed */
    tal_evalset e;
    tal_evalset_init(&e);
    set_classes(&e, 1);
    uint32_t v = vid(&e, "v", 1);
    CHECK(!tal_evalset_add_gt(&e, v, 0, 10, 0));
    for (int i = 0; i < 20; i++)   /* only detection 0 overlaps */
        CHECK(!tal_evalset_add_det(&e, v, i ? 100 + i : 0, i ? 101 + i : 10, 0.5, 0));
    CHECK(!tal_evalset_finish(&e, TAL_REVERSED_KEEP));
    double s[20];
    for (int i = 0; i < 20; i++)
        s[i] = 0.5;
    uint32_t ord[20];
    tal_rank_np(s, ord, 20);
    int pos = 0;
    while (ord[pos] != 0)
        pos++;
    double thr = 0.5;
    tal_eval_result r;
    CHECK(!run(&e, TAL_EVAL_ANET, &thr, 1, &r));
    CHECK_NEAR(r.ap[0], 1.0 / (pos + 1), 1e-15);
    CHECK(pos == 19);   /* np.argsort(zeros(20)) = [0, 17, 16, ..., 1, 18, 19]: last */
    tal_eval_result_free(&r);
    tal_evalset_free(&e);
}

TEST(eval_named_average)
{
    tal_eval_result r = { 0 };
    double t[] = { 0.1, 0.2, 0.3, 0.4, 0.5 }, m[] = { 0.5, 0.4, 0.3, 0.2, 0.1 };
    r.nt = 5;
    r.tiou = t;
    r.map = m;
    CHECK_NEAR(tal_eval_average(&r, 0.1, 0.5), 0.3, 1e-15);
    CHECK_NEAR(tal_eval_average(&r, 0.3, 0.5), 0.2, 1e-15);
    CHECK(isnan(tal_eval_average(&r, 0.6, 0.9)));
}

/* ---- diagnosis ---------------------------------------------------------------------------- */

TEST(eval_diagnose_by_hand)
{
    tal_evalset e;
    tal_evalset_init(&e);
    set_classes(&e, 2);
    uint32_t v = vid(&e, "v", 1), w = vid(&e, "w", 0);
    e.duration[v] = 100;
    CHECK(!tal_evalset_add_gt(&e, v, 0, 10, 0));
    CHECK(!tal_evalset_add_gt(&e, v, 20, 30, 1));
    CHECK(!tal_evalset_add_det(&e, w, 0, 10, 0.95, 0));    /* background (no ground truth) */
    CHECK(!tal_evalset_add_det(&e, v, 0, 10, 0.9, 0));     /* true positive */
    CHECK(!tal_evalset_add_det(&e, v, 0, 9.5, 0.8, 0));    /* double detection */
    CHECK(!tal_evalset_add_det(&e, v, 20, 30, 0.7, 0));    /* wrong label */
    CHECK(!tal_evalset_add_det(&e, v, 0, 3, 0.6, 0));      /* localization (0.3) */
    CHECK(!tal_evalset_add_det(&e, v, 20, 23, 0.5, 0));    /* confusion (0.3) */
    CHECK(!tal_evalset_add_det(&e, v, 50, 60, 0.4, 0));    /* background */
    CHECK(!tal_evalset_finish(&e, TAL_REVERSED_KEEP));
    tal_diag_opts o = { .tiou = 0.5, .limit = 10, .min_tiou = 0.1, .bins = TAL_DIAG_BINS_THUMOS };
    tal_diag_result d;
    CHECK(!tal_diagnose(&e, &o, &d));
    const int want[] = { TAL_DIAG_BACKGROUND, TAL_DIAG_TP, TAL_DIAG_DOUBLE, TAL_DIAG_WRONG_LABEL,
                         TAL_DIAG_LOCALIZATION, TAL_DIAG_CONFUSION, TAL_DIAG_BACKGROUND };
    /* G = 1: slice k holds rank k */
    for (int k = 0; k < 7; k++)
        for (int t = 0; t < TAL_DIAG_NTYPES; t++)
            CHECK_MSG(d.slice[k][t] == (uint64_t)(t == want[k]), "slice %d type %d", k, t);
    CHECK_EQ_INT(d.total[TAL_DIAG_BACKGROUND], 2);
    /* class 0: FP then TP -> AP 1/2; class 1: 0; removing background -> 1 */
    CHECK_NEAR(d.map, 0.25, 1e-15);
    CHECK_NEAR(d.gain[TAL_DIAG_BACKGROUND], 0.25, 1e-15);
    CHECK_NEAR(d.gain[TAL_DIAG_DOUBLE], 0, 1e-15);
    CHECK_EQ_INT(d.gt, 2);
    CHECK_EQ_INT(d.missed, 1);
    /* lengths 10 and 10 fall in THUMOS's M bin (6, 12]; coverage 0.1 in XL */
    CHECK_EQ_INT(d.fn[TAL_CHAR_LENGTH].n[2], 2);
    CHECK_EQ_INT(d.fn[TAL_CHAR_LENGTH].missed[2], 1);
    CHECK_EQ_INT(d.fn[TAL_CHAR_COVERAGE].n[4], 2);
    CHECK_EQ_INT(d.fn[TAL_CHAR_NINST].n[1], 2);   /* 2 instances: (1, 40] */
    tal_diag_result_free(&d);
    /* limit 1 keeps only the top G = 1 per class */
    o.limit = 1;
    CHECK(!tal_diagnose(&e, &o, &d));
    CHECK_EQ_INT(d.total[TAL_DIAG_BACKGROUND] + d.total[TAL_DIAG_TP] + d.total[TAL_DIAG_DOUBLE], 1);
    tal_diag_result_free(&d);
    tal_evalset_free(&e);
}

/* ---- the kit's text --------------------------------------------------------------------------- */

static const char *write_text(const char *name, const char *text)
{
    const char *p = tal_test_path(name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return p;
}

TEST(eval_dets_txt_reader)
{
    tal_annoset a;
    tal_annoset_init(&a);
    tal_classes_add(&a.classes, "BaseballPitch", 7);
    tal_classes_add(&a.classes, "BasketballDunk", 9);
    a.fixed_classes = 1;
    const char *p = write_text("dets.txt", "video_a.mp4 1.5 2.5 9 0.8\n\nvideo_b 3 2 7 0.25\nvideo_a 0 1 12 0.5\n");
    tal_anno_opts o = { .ignore_unknown_classes = 1 };
    long ign = -1;
    CHECK(!tal_dets_read_txt(p, &a, &o, &ign));
    CHECK_EQ_INT(ign, 1);
    tal_record *r = tal_annoset_find(&a, "video_a");
    CHECK(r && r->dets.n == 1 && r->dets.v[0].cls == 1 && r->dets.v[0].score == 0.8);
    r = tal_annoset_find(&a, "video_b");
    CHECK(r && r->dets.v[0].start == 3 && r->dets.v[0].end == 2);   /* kept as written */
    o.ignore_unknown_classes = 0;
    CHECK(tal_dets_read_txt(p, &a, &o, &ign) == TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "line 4: class id 12 is not in the class list"));
    p = write_text("bad.txt", "v 1 2 7 0.5\nv 1 2 7\n");
    CHECK(tal_dets_read_txt(p, &a, &o, &ign) == TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "line 2: expected 'video start end class_id score', found 4 fields"));
    p = write_text("bad2.txt", "v 1 x 7 0.5\n");
    CHECK(tal_dets_read_txt(p, &a, &o, &ign) == TAL_EINVAL && strstr(tal_errmsg(), "line 1: start and end"));
    p = write_text("bad3.txt", "v 1 2 7.5 0.5\n");
    CHECK(tal_dets_read_txt(p, &a, &o, &ign) == TAL_EINVAL && strstr(tal_errmsg(), "class id '7.5'"));
    p = write_text("bad4.txt", "v 1 2 7 nan\n");
    CHECK(tal_dets_read_txt(p, &a, &o, &ign) == TAL_EINVAL && strstr(tal_errmsg(), "score 'nan'"));
    tal_annoset_free(&a);
}
