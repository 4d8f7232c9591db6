/* test_semi.c — the pieces of semi-supervised learning that are not a
 * network: the softmax positive-negative loss against a direct
 * computation, the label-space partition, instance selection rules, and
 * the pseudo-label quality figures, each on cases worked by hand. */
#include "harness.h"
#include "tal.h"
#include "semi/instances.h"
#include "semi/partition.h"
#include "semi/quality.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- softmax_pn ----------------------------------------------------------------------- */

/* the loss and its gradient of one row, in double, straight from the definition */
static double pn_direct(const float *z, const float *wp, const float *wn, int K, double *grad)
{
    double m = -INFINITY, s = 0;
    for (int k = 0; k < K; k++)
        m = fmax(m, z[k]);
    for (int k = 0; k < K; k++)
        s += exp((double)z[k] - m);
    double L = m + log(s), loss = 0;
    for (int c = 0; c < K; c++) {
        double rest = 0;   /* 1 - p as the others' mass, exact in double */
        for (int k = 0; k < K; k++)
            if (k != c)
                rest += exp((double)z[k] - L);
        loss += (wp ? wp[c] : 0) * (L - z[c]) - (wn ? wn[c] : 0) * log(rest);
    }
    for (int j = 0; j < K; j++) {
        double pj = exp((double)z[j] - L), d = 0;
        for (int c = 0; c < K; c++) {
            double pc = exp((double)z[c] - L), rest = 0;
            for (int k = 0; k < K; k++)
                if (k != c)
                    rest += exp((double)z[k] - L);
            d += (wp ? wp[c] : 0) * (pj - (c == j));
            d += (wn ? wn[c] : 0) * (c == j ? pc : -pc * pj / rest);
        }
        grad[j] = d;
    }
    return loss;
}

TEST(semi_softmax_pn_reference)
{
    enum { N = 6, K = 5 };
    /* ordinary rows, a row whose top class has p = 1 - 1e-21 (float's
     * 1 - p is 0 there), a row of equal logits, and a very negative one */
    float x[N * K] = { 0.3f, -1.2f, 2.0f, 0.1f, -0.5f,   1.0f, 1.0f, 0.5f, -2.0f, 0.0f,
                       50.0f, 0.0f, 1.0f, -3.0f, 2.0f,   0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
                       -80.0f, -81.0f, -79.5f, -90.0f, -80.0f, 3.0f, -40.0f, 2.9f, 0.0f, 1.0f };
    float wp[N * K] = { 0 }, wn[N * K] = { 0 };
    for (int i = 0; i < N; i++)
        for (int k = 0; k < K; k++) {
            wp[i * K + k] = k == i % K ? 1.0f : (k + i) % 3 == 0 ? 0.25f : 0.0f;
            wn[i * K + k] = k != i % K && (k + 2 * i) % 2 == 0 ? 1.0f : 0.0f;
        }
    wn[2 * K + 0] = 1.0f;   /* the nearly certain class as a negative */
    tal_graph *g = tal_graph_new(NULL);
    tal_tensor *tx = tal_tensor_from(g, 2, (int64_t[]){ N, K }, x);
    tal_tensor_requires_grad(tx);
    tal_tensor *tp = tal_tensor_from(g, 2, (int64_t[]){ N, K }, wp), *tn = tal_tensor_from(g, 2, (int64_t[]){ N, K }, wn);
    tal_tensor *l = tal_softmax_pn(g, tx, tp, tn);
    CHECK(l && !tal_graph_status(g));
    float out[N], dx[N * K];
    CHECK(!tal_tensor_download(g, l, out));
    CHECK(!tal_backward(g, tal_sum_all(g, l)));
    CHECK(tx->grad);
    memcpy(dx, tx->grad, sizeof dx);
    for (int i = 0; i < N; i++) {
        double grad[K];
        double want = pn_direct(x + i * K, wp + i * K, wn + i * K, K, grad);
        CHECK_MSG(isfinite(out[i]) && fabs(out[i] - want) <= 2e-6 * fmax(1, fabs(want)), "row %d: %.9g vs %.9g", i,
                  out[i], want);
        for (int j = 0; j < K; j++)
            CHECK_MSG(fabs(dx[i * K + j] - grad[j]) <= 2e-6 * fmax(1, fabs(grad[j])), "row %d d%d: %.9g vs %.9g", i, j,
                      dx[i * K + j], grad[j]);
    }
    /* one-hot positive weights and none negative: cross-entropy itself */
    int32_t tgt[N];
    float oh[N * K] = { 0 }, ce[N], pn[N];
    for (int i = 0; i < N; i++) {
        tgt[i] = (i * 3) % K;
        oh[i * K + tgt[i]] = 1;
    }
    tal_tensor *a = tal_cross_entropy(g, tx, tgt), *b = tal_softmax_pn(g, tx, tal_tensor_from(g, 2, (int64_t[]){ N, K }, oh), NULL);
    CHECK(!tal_tensor_download(g, a, ce) && !tal_tensor_download(g, b, pn));
    for (int i = 0; i < N; i++)
        CHECK_NEAR(pn[i], ce[i], 2e-6 * fmax(1, fabs(ce[i])));
    /* shapes are checked */
    CHECK(!tal_softmax_pn(g, tal_tensor_from(g, 2, (int64_t[]){ N * K, 1 }, x), NULL, NULL));
    tal_graph_free(g);
}

/* ---- the partition ---------------------------------------------------------------------- */

static void part_of(const float *p, int K, double lambda, uint8_t *part, int *tgt)
{
    uint64_t scratch[16];
    *tgt = tal_partition(p, K, lambda, part, scratch);
}

TEST(semi_partition_by_hand)
{
    uint8_t part[8];
    int t;
    /* bottom classes 0.05 + 0.1 + 0.15 = 0.3 <= 0.4 are negative; 0.3 is not
     * within 0.85 of 0.4 (0.34): ambiguous */
    float a[5] = { 0.4f, 0.3f, 0.15f, 0.1f, 0.05f };
    part_of(a, 5, 0.85, part, &t);
    CHECK_EQ_INT(t, 0);
    CHECK(part[0] == TAL_PART_TARGET && part[1] == TAL_PART_AMB && part[2] == TAL_PART_NEG && part[3] == TAL_PART_NEG &&
          part[4] == TAL_PART_NEG);
    part_of(a, 5, 0.75, part, &t);   /* 0.3 >= 0.75 * 0.4 */
    CHECK(part[1] == TAL_PART_POS);
    /* both rules claim class 1 (0.05 + 0.45 = max): positive wins */
    float b[3] = { 0.05f, 0.45f, 0.5f };
    part_of(b, 3, 0.85, part, &t);
    CHECK(t == 2 && part[1] == TAL_PART_POS && part[0] == TAL_PART_NEG);
    /* a confident target makes every other class negative */
    float c[4] = { 0.01f, 0.97f, 0.01f, 0.01f };
    part_of(c, 4, 0.85, part, &t);
    CHECK(t == 1 && part[0] == TAL_PART_NEG && part[2] == TAL_PART_NEG && part[3] == TAL_PART_NEG);
    /* ties: the first maximum is the target; equal others sorted by index */
    float d[4] = { 0.1f, 0.3f, 0.3f, 0.3f };
    part_of(d, 4, 0.95, part, &t);
    CHECK(t == 1 && part[0] == TAL_PART_NEG && part[2] == TAL_PART_POS && part[3] == TAL_PART_POS);
    float e[4] = { 0.34f, 0.0f, 0.33f, 0.33f };
    part_of(e, 4, 0.99, part, &t);   /* 0 + 0.33 <= 0.34, + 0.33 > */
    CHECK(t == 0 && part[1] == TAL_PART_NEG && part[2] == TAL_PART_NEG && part[3] == TAL_PART_AMB);
    CHECK_STR(tal_part_name(TAL_PART_NEG), "negative");
}

/* ---- instance selection ------------------------------------------------------------------ */

static void add(tal_segset *s, double a, double b, double score, int cls)
{
    tal_segment g = { a, b, score, cls, 0, { 0 } };
    tal_segset_push(s, &g);
}

TEST(semi_pick_rules)
{
    tal_pick_rule r;
    CHECK(!tal_pick_rule_parse("fixed:0.3", &r) && r.rule == TAL_PICK_FIXED && r.thresh == 0.3);
    CHECK(!tal_pick_rule_parse("topk:2", &r) && r.rule == TAL_PICK_TOPK && r.k == 2);
    CHECK(!tal_pick_rule_parse("adaptive", &r) && r.rule == TAL_PICK_ADAPTIVE && r.thresh == 0.15);
    CHECK(!tal_pick_rule_parse("adaptive:0.2", &r) && r.thresh == 0.2);
    CHECK_STR(tal_pick_rule_str(&r), "adaptive:0.2");
    const char *bad[] = { "fixed", "fixed:x", "fixed:1.5", "topk:0", "topk:2.5", "adaptive:-1", "best", "" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_MSG(tal_pick_rule_parse(bad[i], &r) == TAL_EINVAL, "'%s' accepted", bad[i]);
    CHECK(tal_rank_parse("joint") == TAL_RANK_JOINT && tal_rank_parse("tiou") == TAL_Q_TIOU &&
          tal_rank_parse("nope") < TAL_RANK_JOINT - 1000);

    tal_segset d = { 0 }, out = { 0 };
    add(&d, 0, 1, 0.9, 0);
    add(&d, 1, 2, 0.5, 1);
    add(&d, 2, 3, 0.3, 0);
    add(&d, 3, 4, 0.2, 2);
    add(&d, 4, 5, 0.1, 1);
    add(&d, 5, 6, 0.95, -1);   /* no class: never kept */
    tal_pick_count n = { 0 };
    tal_pick_rule_parse("fixed:0.3", &r);
    CHECK(!tal_pick_instances(&d, &r, TAL_RANK_SCORE, &out, &n));
    CHECK(n.positives == 3 && n.candidates == 0 && n.dropped == 3 && out.n == 3);
    CHECK(out.v[0].score == 0.9 && out.v[2].score == 0.3 && out.v[1].flags == TAL_SEG_PSEUDO);
    tal_segset_clear(&out);
    n = (tal_pick_count){ 0 };
    tal_pick_rule_parse("topk:2", &r);
    CHECK(!tal_pick_instances(&d, &r, TAL_RANK_SCORE, &out, &n) && n.positives == 2 && out.v[1].score == 0.5);
    /* adaptive: 0.1 < 0.15 goes; the rest 0.9 0.5 0.3 0.2 have mean 0.475
     * and sd 0.2680; positives >= 0.7430: 0.9 only */
    tal_segset_clear(&out);
    n = (tal_pick_count){ 0 };
    tal_pick_rule_parse("adaptive", &r);
    CHECK(!tal_pick_instances(&d, &r, TAL_RANK_SCORE, &out, &n));
    CHECK(n.positives == 1 && n.candidates == 3 && n.dropped == 2 && out.n == 4);
    CHECK(out.v[0].flags == TAL_SEG_PSEUDO && out.v[3].flags == (TAL_SEG_PSEUDO | TAL_SEG_CANDIDATE));
    /* adaptive-set: TH over two sequences together.  The six keys that
     * pass TL (0.9 0.5 0.3 0.2 of the first, 0.85 0.8 of the second) have
     * mean 0.591667 and population sd 0.274494: TH 0.866162, so the
     * second sequence keeps no positive, where per sequence (mean 0.825,
     * sd 0.025, TH 0.85) its 0.85 is one. */
    tal_segset d2 = { 0 };
    add(&d2, 0, 1, 0.85, 0);
    add(&d2, 1, 2, 0.8, 1);
    add(&d2, 2, 3, 0.1, 1);   /* below TL: not measured */
    CHECK(!tal_pick_rule_parse("adaptive-set", &r) && r.rule == TAL_PICK_ADAPTIVE_SET && r.thresh == 0.15);
    CHECK_STR(tal_pick_rule_str(&r), "adaptive-set:0.15");
    tal_pick_stats st = { 0 };
    CHECK(!tal_pick_measure(&d, &r, TAL_RANK_SCORE, &st) && !tal_pick_measure(&d2, &r, TAL_RANK_SCORE, &st));
    CHECK(st.n == 6);
    tal_pick_fix(&r, &st);
    CHECK_MSG(fabs(r.th_set - 0.8661612) < 1e-6, "set threshold %.9g", r.th_set);
    tal_segset_clear(&out);
    n = (tal_pick_count){ 0 };
    CHECK(!tal_pick_instances(&d2, &r, TAL_RANK_SCORE, &out, &n));
    CHECK(n.positives == 0 && n.candidates == 2 && n.dropped == 1);
    tal_segset_clear(&out);
    n = (tal_pick_count){ 0 };
    tal_pick_rule_parse("adaptive", &r);
    CHECK(!tal_pick_instances(&d2, &r, TAL_RANK_SCORE, &out, &n) && n.positives == 1 && n.candidates == 1);
    tal_pick_stats none = { 0 };
    tal_pick_rule_parse("adaptive-set:0.99", &r);
    CHECK(!tal_pick_measure(&d, &r, TAL_RANK_SCORE, &none) && none.n == 0);
    tal_pick_fix(&r, &none);
    CHECK(r.th_set == 0);
    CHECK(tal_pick_rule_parse("adaptive-set:2", &r) == TAL_EINVAL && tal_pick_rule_parse("adaptive-sets", &r) == TAL_EINVAL);
    free(d2.v);
    /* ranking by a quality field needs the field */
    tal_segset_clear(&out);
    CHECK(tal_pick_instances(&d, &r, TAL_RANK_JOINT, &out, &n) == TAL_EINVAL);
    d.qmask = tal_rank_needs(TAL_RANK_JOINT);
    for (uint32_t i = 0; i < d.n; i++) {
        d.v[i].q[TAL_Q_CLS] = (float)(1.0 - d.v[i].score);   /* reverses the order */
        d.v[i].q[TAL_Q_TIOU] = 0.8f;
        d.v[i].q[TAL_Q_TND] = 0.9f;                         /* reliability floor 1e-3 */
    }
    tal_pick_rule_parse("topk:1", &r);
    CHECK(!tal_pick_instances(&d, &r, TAL_RANK_JOINT, &out, &n) && out.n == 1 && out.v[0].score == 0.1);
    CHECK(out.qmask == d.qmask);
    free(d.v);
    free(out.v);
}

/* ---- pseudo-label quality --------------------------------------------------------------- */

TEST(semi_quality_by_hand)
{
    /* grid: snippet t centred at t + 0.5 s (fps 1, stride 1, clip 1) */
    tal_grid g = { 1, 1, 1 };
    tal_record truth, pseudo;
    tal_record_init(&truth);
    tal_record_init(&pseudo);
    tal_record_set_id(&truth, "v");
    tal_record_set_id(&pseudo, "v");
    add(&truth.segs, 0, 4, 1, 0);     /* snippets 0-3 class 0 */
    add(&truth.segs, 6, 8, 1, 1);     /* snippets 6-7 class 1 */
    tal_segment s;
    s = (tal_segment){ 0, 4, 0.9, 0, TAL_SEG_PSEUDO, { 0 } };   /* right, tIoU 1 */
    tal_segset_push(&pseudo.segs, &s);
    s = (tal_segment){ 6, 10, 0.8, 0, TAL_SEG_PSEUDO, { 0 } };  /* wrong class, tIoU 0.5 */
    tal_segset_push(&pseudo.segs, &s);
    s = (tal_segment){ 6, 9, 0.3, 1, TAL_SEG_PSEUDO | TAL_SEG_CANDIDATE, { 0 } };   /* right, 2/3 */
    tal_segset_push(&pseudo.segs, &s);
    s = (tal_segment){ 6, 8, 1, 1, 0, { 0 } };   /* not a pseudo label: ignored */
    tal_segset_push(&pseudo.segs, &s);
    /* distributions over (class 0, class 1, background) for 10 snippets */
    CHECK(!tal_record_alloc_dist(&pseudo, 10, 3));
    for (int t = 0; t < 10; t++) {
        float *q = pseudo.dist + t * 3;
        if (t < 2) { q[0] = 0.8f; q[1] = 0.1f; q[2] = 0.1f; }        /* target right */
        else if (t < 4) { q[0] = 0.45f; q[1] = 0.05f; q[2] = 0.5f; } /* class 0 positive */
        else if (t == 6) { q[0] = 0.25f; q[1] = 0.3f; q[2] = 0.45f; } /* class 1 ambiguous */
        else { q[0] = 0.1f; q[1] = 0.3f; q[2] = 0.6f; }              /* both classes negative */
    }
    tal_pl_quality q;
    tal_pl_quality_init(&q, 0.85);
    CHECK(!tal_pl_quality_add(&q, &pseudo, &truth, &g, 2));
    tal_pl_summary m;
    tal_pl_quality_summary(&q, &m);
    CHECK(q.pseudo == 3 && q.positives == 2 && q.candidates == 1 && q.truth == 2);
    CHECK_NEAR(m.class_acc, 2.0 / 3, 1e-12);
    CHECK_NEAR(m.mean_tiou, (1 + 0.5 + 2.0 / 3) / 3, 1e-12);
    CHECK_NEAR(m.pos_class_acc, 0.5, 1e-12);
    CHECK_NEAR(m.pos_accuracy, 0.5, 1e-12);   /* the wrong-class one also has tIoU only 0.5 */
    CHECK_NEAR(m.recall, 0.5, 1e-12);         /* class 1 is found only by a candidate */
    /* action snippets 0-3 (class 0) and 6-7 (class 1); background 4, 5, 8, 9 */
    CHECK(q.snippets[TAL_QS_ACTION] == 6 && q.snippets[TAL_QS_BACKGROUND] == 4);
    CHECK_NEAR(m.part[TAL_QS_ACTION][TAL_PART_TARGET], 2.0 / 6, 1e-12);
    CHECK_NEAR(m.part[TAL_QS_ACTION][TAL_PART_POS], 2.0 / 6, 1e-12);
    CHECK_NEAR(m.part[TAL_QS_ACTION][TAL_PART_AMB], 1.0 / 6, 1e-12);
    CHECK_NEAR(m.part[TAL_QS_ACTION][TAL_PART_NEG], 1.0 / 6, 1e-12);   /* snippet 7 */
    CHECK_NEAR(m.part[TAL_QS_BACKGROUND][TAL_PART_TARGET], 1.0, 1e-12);
    /* every non-target class negative: snippets 0, 1 (target 0.8) and 7
     * (0.6, the next 0.3 < 0.85 x 0.6) of the action ones, not 2, 3 (a
     * positive) or 6 (an ambiguous class); every background snippet; with
     * the classes alone every action snippet (2, 3: 0.9 / 0.1; 6: 0.545 /
     * 0.455, under 0.85 x 0.545) */
    CHECK_NEAR(m.all_negative[TAL_QS_ACTION], 3.0 / 6, 1e-12);
    CHECK_NEAR(m.all_negative[TAL_QS_BACKGROUND], 1.0, 1e-12);
    CHECK_NEAR(m.all_negative[TAL_QS_ACTION_CLASSES], 1.0, 1e-12);
    /* a distribution of the wrong width is refused */
    CHECK(!tal_record_alloc_dist(&pseudo, 10, 4));
    CHECK(tal_pl_quality_add(&q, &pseudo, &truth, &g, 2) == TAL_EINVAL);
    tal_pl_quality_free(&q);
    tal_record_free(&truth);
    tal_record_free(&pseudo);
}

/* ---- the detectors' targets on pseudo labels ------------------------------------------ */

#include "models/af_semi.h"
#include "models/spot_semi.h"

TEST(semi_af_targets_by_hand)
{
    /* 2 levels of T = 4 (positions t = 0 1 2 3 | 0 2), 3 snippets valid,
     * C = 3 classes; snippet distributions over (a, b, c, background) */
    enum { C = 3, NP = 6 };
    const float dist[3 * 4] = { 0.60f, 0.30f, 0.02f, 0.08f,    /* snippet 0: a, then b */
                                0.05f, 0.05f, 0.10f, 0.80f,    /* snippet 1: background */
                                0.30f, 0.28f, 0.02f, 0.40f };  /* snippet 2: background, a and b close */
    /* position 0 (t 0) and position 4 (level 1, t 0) assigned to a pseudo
     * instance of class a; position 2 (t 2) claimed by a candidate only */
    uint8_t pos[NP] = { 1, 0, 0, 0, 1, 0 }, cand[NP] = { 0, 0, 1, 0, 0, 1 };
    float y[NP * C], w[NP * C];
    tal_rng r;
    tal_rng_seed(&r, 3);
    tal_af_semi_cfg c = { TAL_SEMI_NONTARGET, 0.85, 1, 1 };
#define RESET()                                    \
    do {                                           \
        memset(y, 0, sizeof y);                    \
        y[0 * C + 0] = y[4 * C + 0] = 1;           \
    } while (0)
    RESET();
    CHECK(!tal_af_semi_targets(&c, 2, 4, 3, C, dist, cand, pos, &r, y, w));
    {
        /* position 0, the classes alone: a .6522, b .3261, c .0217; bottom
         * sums .0217, .3478 <= .6522: b and c negative; none positive */
        float want_w[C] = { 1, 1, 1 }, want_y[C] = { 1, 0, 0 };
        for (int j = 0; j < C; j++)
            CHECK_MSG(w[j] == want_w[j] && y[j] == want_y[j], "position 0 class %d: w %g y %g", j, w[j], y[j]);
    }
    /* position 1 (snippet 1, unassigned): background target; a, b, c sum 0.2
     * <= 0.8: all negative */
    for (int j = 0; j < C; j++)
        CHECK(w[1 * C + j] == 1 && y[1 * C + j] == 0);
    /* position 2: a candidate alone claims it: left out */
    for (int j = 0; j < C; j++)
        CHECK(w[2 * C + j] == 0);
    /* position 3: beyond the valid snippets */
    for (int j = 0; j < C; j++)
        CHECK(w[3 * C + j] == 0);
    /* position 5 (level 1, t 2): a candidate only, too */
    for (int j = 0; j < C; j++)
        CHECK(w[5 * C + j] == 0);
    /* snippet 2 unassigned with lambda 0.7: background 0.4 target; c and b
     * negative (0.02 + 0.28 <= 0.4); a 0.30 >= 0.7 x 0.4 positive, but off
     * an instance's centre: left out (checked through a position of
     * snippet 2 that no candidate claims) */
    uint8_t cand2[NP] = { 0 };
    c.lambda = 0.7;
    RESET();
    CHECK(!tal_af_semi_targets(&c, 2, 4, 3, C, dist, cand2, pos, &r, y, w));
    CHECK(w[2 * C + 0] == 0 && w[2 * C + 1] == 1 && y[2 * C + 1] == 0 && w[2 * C + 2] == 1 && y[2 * C + 2] == 0);
    /* at an assigned position a positive class is a target too: snippet 0
     * with lambda 0.4: b (0.326 >= 0.4 x 0.652) positive */
    c.lambda = 0.4;
    RESET();
    CHECK(!tal_af_semi_targets(&c, 2, 4, 3, C, dist, cand2, pos, &r, y, w));
    CHECK(w[1] == 1 && y[1] == 1 && w[2] == 1 && y[2] == 0);
    c.pos = 0;   /* without l_pos it is left out */
    RESET();
    CHECK(!tal_af_semi_targets(&c, 2, 4, 3, C, dist, cand2, pos, &r, y, w));
    CHECK(w[1] == 0 && y[1] == 0);
    /* hard: everything counts; soft: assigned positions take the snippet's
     * distribution */
    c.mode = TAL_SEMI_HARD;
    RESET();
    CHECK(!tal_af_semi_targets(&c, 2, 4, 3, C, NULL, cand2, pos, &r, y, w));
    for (int i = 0; i < 3 * C; i++)
        CHECK(w[i] == 1);
    CHECK(y[0] == 1 && y[1] == 0);
    c.mode = TAL_SEMI_SOFT;
    RESET();
    CHECK(!tal_af_semi_targets(&c, 2, 4, 3, C, dist, cand2, pos, &r, y, w));
    CHECK(y[0] == dist[0] && y[1] == dist[1] && y[2] == dist[2] && y[1 * C] == 0);
    /* complementary: the target and one other class per position */
    c.mode = TAL_SEMI_COMPLEMENTARY;
    RESET();
    CHECK(!tal_af_semi_targets(&c, 2, 4, 3, C, NULL, cand2, pos, &r, y, w));
    for (int i = 0; i < 3; i++) {
        int n = 0;
        for (int j = 0; j < C; j++)
            n += w[i * C + j] != 0;
        CHECK_EQ_INT(n, i == 0 ? 2 : 1);
    }
    CHECK(w[0] == 1 && y[0] == 1);
    /* the distributions are required where the loss reads them */
    c.mode = TAL_SEMI_NONTARGET;
    CHECK(tal_af_semi_targets(&c, 2, 4, 3, C, NULL, cand2, pos, &r, y, w) == TAL_EINVAL);
#undef RESET
}

TEST(semi_spot_weights_by_hand)
{
    enum { T = 2, K = 4 };
    const float q[T * K] = { 0.5f, 0.45f, 0.01f, 0.04f,     /* a, b positive; c, bg negative */
                             0.05f, 0.05f, 0.10f, 0.80f };  /* background */
    float wt[T * K], wp[T * K], wn[T * K];
    tal_det_config c;
    CHECK(!tal_det_config_load(&c, NULL, 0, (const char *[]){ "model.kind=spot", "semi.loss=nontarget" }, 2));
    tal_rng r;
    tal_rng_seed(&r, 1);
    CHECK(!tal_spot_semi_weights(&c, q, NULL, T, K, &r, wt, wp, wn));
    const float want_t[T * K] = { 1, 0, 0, 0, 0, 0, 0, 1 }, want_p[T * K] = { 0, 1, 0, 0, 0, 0, 0, 0 },
                want_n[T * K] = { 0, 0, 1, 1, 1, 1, 1, 0 };
    for (int i = 0; i < T * K; i++)
        CHECK_MSG(wt[i] == want_t[i] && wp[i] == want_p[i] && wn[i] == want_n[i], "entry %d: %g %g %g", i, wt[i], wp[i],
                  wn[i]);
    /* soft: the distribution itself; hard from instance classes */
    CHECK(!tal_config_set(tal_det_schema, &c, "semi.loss=soft"));
    CHECK(!tal_spot_semi_weights(&c, q, NULL, T, K, &r, wt, NULL, NULL));
    CHECK(!memcmp(wt, q, sizeof wt));
    CHECK(!tal_config_set(tal_det_schema, &c, "semi.loss=hard"));
    const int32_t cls[T] = { 2, 3 };
    CHECK(!tal_spot_semi_weights(&c, NULL, cls, T, K, &r, wt, wp, wn));
    CHECK(wt[2] == 1 && wt[K + 3] == 1 && wt[0] == 0);
    /* complementary: one negative per snippet, never the target */
    CHECK(!tal_config_set(tal_det_schema, &c, "semi.loss=complementary"));
    for (int rep = 0; rep < 20; rep++) {
        CHECK(!tal_spot_semi_weights(&c, q, NULL, T, K, &r, wt, wp, wn));
        for (int t = 0; t < T; t++) {
            int n = 0, tgt = t ? 3 : 0;
            for (int k = 0; k < K; k++)
                n += wn[t * K + k] != 0;
            CHECK(n == 1 && wn[t * K + tgt] == 0);
        }
    }
    /* labelled snippets: every class but the truth */
    tal_spot_labelled_neg(cls, T, K, wn);
    CHECK(wn[0] == 1 && wn[2] == 0 && wn[K + 3] == 0 && wn[K] == 1);
    CHECK(!tal_config_set(tal_det_schema, &c, "semi.loss=nontarget"));
    CHECK(tal_spot_semi_weights(&c, NULL, cls, T, K, &r, wt, wp, wn) == TAL_EINVAL);
}
