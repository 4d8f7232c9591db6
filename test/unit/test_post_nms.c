/* test_post_nms.c — NMS and Soft-NMS: cases worked by hand, the
 * properties every result must have, and agreement with a plain
 * quadratic implementation of the textbook algorithm on random input. */
#include "harness.h"
#include "tal.h"
#include "post/nms.h"
#include "post/runs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void add(tal_segset *s, double a, double b, double score, int cls)
{
    tal_segment g = { a, b, score, cls, 0, { 0 } };
    tal_segset_push(s, &g);
}

static tal_nms_opts opts(int method)
{
    tal_nms_opts o = { .method = method, .sigma = 0.5, .iou_thresh = 0.3, .min_score = 0.001 };
    return o;
}

static int run(tal_segset *s, double duration, const tal_nms_opts *o)
{
    tal_nms_ws *w = tal_nms_ws_new();
    int rc = tal_nms(w, s, duration, o);
    tal_nms_ws_free(w);
    return rc;
}

/* ---- by hand ------------------------------------------------------------------------ */

TEST(nms_gaussian_by_hand)
{
    tal_segset s = { 0 };
    add(&s, 0, 10, 0.9, 0);    /* A */
    add(&s, 5, 15, 0.8, 0);    /* B: IoU(A, B) = 5/15 */
    add(&s, 20, 30, 0.7, 0);   /* C: apart */
    tal_nms_opts o = opts(TAL_NMS_GAUSSIAN);
    CHECK(!run(&s, 0, &o));
    CHECK_EQ_INT(s.n, 3);
    CHECK(s.v[0].start == 0 && s.v[0].score == 0.9);
    CHECK(s.v[1].start == 20 && s.v[1].score == 0.7);
    CHECK(s.v[2].start == 5);
    CHECK_NEAR(s.v[2].score, 0.8 * exp(-(1.0 / 9) / 0.5), 1e-15);
    free(s.v);
}

TEST(nms_hard_and_linear_by_hand)
{
    tal_segset s = { 0 };
    add(&s, 0, 10, 0.9, 0);
    add(&s, 5, 15, 0.8, 0);
    add(&s, 20, 30, 0.7, 0);
    tal_nms_opts o = opts(TAL_NMS_HARD);   /* Nt 0.3 <= 1/3: B goes */
    CHECK(!run(&s, 0, &o));
    CHECK(s.n == 2 && s.v[0].score == 0.9 && s.v[1].score == 0.7);
    tal_segset_clear(&s);
    add(&s, 0, 10, 0.9, 0);
    add(&s, 5, 15, 0.8, 0);
    o.iou_thresh = 0.4;                    /* 1/3 < 0.4: B stays as it was */
    CHECK(!run(&s, 0, &o));
    CHECK(s.n == 2 && s.v[1].score == 0.8);
    tal_segset_clear(&s);
    add(&s, 0, 10, 0.9, 0);
    add(&s, 5, 15, 0.8, 0);
    o = opts(TAL_NMS_LINEAR);              /* B: 0.8 * (1 - 1/3) */
    CHECK(!run(&s, 0, &o));
    CHECK(s.n == 2);
    CHECK_NEAR(s.v[1].score, 0.8 * (1 - 1.0 / 3), 1e-15);
    /* hard NMS with min score 0 still removes the suppressed one */
    tal_segset_clear(&s);
    add(&s, 0, 10, 0.9, 0);
    add(&s, 0, 10, 0.8, 0);
    o = opts(TAL_NMS_HARD);
    o.min_score = 0;
    CHECK(!run(&s, 0, &o));
    CHECK_EQ_INT(s.n, 1);
    free(s.v);
}

TEST(nms_min_score_actionformer_semantics)
{
    tal_segset s = { 0 };
    add(&s, 0, 10, 0.9, 0);
    add(&s, 5, 15, 0.8, 0);      /* decays to 0.64 */
    add(&s, 50, 60, 0.5, 0);     /* never overlapped, but below: tested after the first step */
    add(&s, 100, 110, 0.3, 1);   /* alone in its class: never tested, kept */
    tal_nms_opts o = opts(TAL_NMS_GAUSSIAN);
    o.min_score = 0.65;
    CHECK(!run(&s, 0, &o));
    CHECK_EQ_INT(s.n, 2);
    CHECK(s.v[0].score == 0.9 && s.v[1].cls == 1 && s.v[1].score == 0.3);
    free(s.v);
}

TEST(nms_max_keep_and_classes)
{
    tal_segset s = { 0 };
    add(&s, 0, 10, 0.9, 0);
    add(&s, 5, 15, 0.8, 1);      /* overlaps A but another class */
    add(&s, 20, 30, 0.7, 0);
    tal_nms_opts o = opts(TAL_NMS_GAUSSIAN);
    CHECK(!run(&s, 0, &o));
    CHECK(s.n == 3 && s.v[1].cls == 1 && s.v[1].score == 0.8);   /* per class: untouched */
    tal_segset_clear(&s);
    add(&s, 0, 10, 0.9, 0);
    add(&s, 5, 15, 0.8, 1);
    add(&s, 20, 30, 0.7, 0);
    o.class_agnostic = 1;
    CHECK(!run(&s, 0, &o));
    CHECK(s.n == 3 && s.v[1].score == 0.7 && s.v[2].cls == 1 && s.v[2].score < 0.8);
    tal_segset_clear(&s);
    add(&s, 0, 10, 0.9, 0);
    add(&s, 5, 15, 0.8, 1);
    add(&s, 20, 30, 0.7, 0);
    o.class_agnostic = 0;
    o.max_keep = 2;
    CHECK(!run(&s, 0, &o));
    CHECK(s.n == 2 && s.v[0].score == 0.9 && s.v[1].score == 0.8);
    free(s.v);
}

TEST(nms_adaptive_threshold_bmn)
{
    tal_segset s = { 0 };
    add(&s, 0, 10, 0.9, 0);
    add(&s, 5, 15, 0.8, 0);     /* IoU 1/3 < 0.5 + 0.4 * 10/100: untouched */
    add(&s, 1, 11, 0.7, 0);     /* IoU 9/11 > 0.54: decayed */
    tal_nms_opts o = opts(TAL_NMS_GAUSSIAN);
    o.sigma = 0.4;
    o.adaptive = 1;
    o.t1 = 0.5;
    o.t2 = 0.9;
    o.min_score = 0;
    CHECK(!run(&s, 100, &o));
    CHECK_EQ_INT(s.n, 3);
    CHECK(s.v[1].start == 5 && s.v[1].score == 0.8);
    double iou = 9.0 / 11;
    /* B is taken second: IoU(B, C) = 6/14 < 0.5 + 0.4 * 0.1, no second decay */
    CHECK_NEAR(s.v[2].score, 0.7 * exp(-iou * iou / 0.4), 1e-15);
    free(s.v);
}

TEST(nms_voting_by_hand)
{
    tal_segset s = { 0 };
    add(&s, 0, 10, 0.9, 0);
    add(&s, 1, 11, 0.6, 0);
    tal_nms_opts o = opts(TAL_NMS_GAUSSIAN);
    o.vote_iou = 0.75;
    CHECK(!run(&s, 0, &o));
    CHECK_EQ_INT(s.n, 2);
    double wa = 1 * 0.9, wb = 9.0 / 11 * 0.6;
    CHECK_NEAR(s.v[0].start, (wa * 0 + wb * 1) / (wa + wb), 1e-12);
    CHECK_NEAR(s.v[0].end, (wa * 10 + wb * 11) / (wa + wb), 1e-12);
    CHECK(s.v[0].score == 0.9);   /* scores are not voted */
    free(s.v);
}

TEST(nms_rejects_non_finite)
{
    tal_segset s = { 0 };
    add(&s, 0, NAN, 0.9, 0);
    tal_nms_opts o = opts(TAL_NMS_GAUSSIAN);
    CHECK(run(&s, 0, &o) == TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "non-finite"));
    free(s.v);
}

/* ---- against the plain algorithm --------------------------------------------------- */

/* Bodla's loop as ActionFormer writes it (selection by scan, removal when
 * below min_score after each step), in double, per class; weight 0 removes. */
static void reference(const tal_segset *in, const tal_nms_opts *o, tal_segset *out)
{
    uint32_t n = in->n;
    double *sc = malloc(n * sizeof *sc);
    char *alive = malloc(n), *seen = calloc(n, 1);
    tal_segset_clear(out);
    for (uint32_t g = 0; g < n; g++) {
        if (seen[g])
            continue;
        int cls = in->v[g].cls;
        for (uint32_t i = 0; i < n; i++) {
            alive[i] = in->v[i].cls == cls;
            seen[i] |= alive[i];
            sc[i] = in->v[i].score;
        }
        uint32_t taken = 0;
        for (;;) {
            long best = -1;
            for (uint32_t i = 0; i < n; i++)
                if (alive[i] && (best < 0 || sc[i] > sc[best]))
                    best = (long)i;
            if (best < 0 || (o->max_keep && taken >= o->max_keep))
                break;
            alive[best] = 0;
            taken++;
            tal_segment k = in->v[best];
            k.score = sc[best];
            tal_segset_push(out, &k);
            for (uint32_t i = 0; i < n; i++) {
                if (!alive[i])
                    continue;
                double iou = tal_nms_iou(k.start, k.end, in->v[i].start, in->v[i].end), w = 1;
                if (o->method == TAL_NMS_HARD)
                    w = iou >= o->iou_thresh ? 0 : 1;
                else if (o->method == TAL_NMS_LINEAR)
                    w = iou >= o->iou_thresh ? 1 - iou : 1;
                else
                    w = exp(-iou * iou / o->sigma);
                sc[i] *= w;
                if (w == 0 || sc[i] < o->min_score)
                    alive[i] = 0;
            }
        }
    }
    free(sc);
    free(alive);
    free(seen);
}

static int cmp_seg(const void *a, const void *b)
{
    const tal_segment *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->cls - y->cls;
}

static void random_set(tal_rng *g, tal_segset *s, uint32_t n, int ncls)
{
    tal_segset_clear(s);
    for (uint32_t i = 0; i < n; i++) {
        double a = tal_rng_double(g) * 200, len = 0.5 + tal_rng_double(g) * 30;
        add(s, a, a + len, tal_rng_double(g), (int)tal_rng_below(g, (uint32_t)ncls));
    }
}

TEST(nms_matches_plain_algorithm_on_random_input)
{
    tal_rng g;
    tal_rng_seed(&g, 20240611);
    tal_segset in = { 0 }, a = { 0 }, b = { 0 };
    tal_nms_ws *w = tal_nms_ws_new();
    for (int trial = 0; trial < 300; trial++) {
        tal_nms_opts o = opts(trial % 3);
        o.sigma = 0.3 + 0.5 * tal_rng_double(&g);
        o.iou_thresh = 0.1 + 0.8 * tal_rng_double(&g);
        o.min_score = trial % 4 ? 0.001 * (trial % 7) * 20 : 0;
        o.max_keep = trial % 5 ? 0 : 1 + tal_rng_below(&g, 30);
        random_set(&g, &in, 1 + tal_rng_below(&g, 150), 1 + (int)tal_rng_below(&g, 4));
        reference(&in, &o, &a);
        qsort(a.v, a.n, sizeof *a.v, cmp_seg);
        if (o.max_keep && a.n > o.max_keep)
            a.n = o.max_keep;
        tal_segset_copy(&b, &in);
        CHECK(!tal_nms(w, &b, 0, &o));
        CHECK_MSG(a.n == b.n, "trial %d: %u kept, the plain algorithm keeps %u", trial, b.n, a.n);
        for (uint32_t i = 0; i < a.n; i++)
            CHECK_MSG(a.v[i].start == b.v[i].start && a.v[i].end == b.v[i].end && a.v[i].cls == b.v[i].cls &&
                          fabs(a.v[i].score - b.v[i].score) <= 1e-12,
                      "trial %d, rank %u differs", trial, i);
    }
    tal_nms_ws_free(w);
    free(in.v);
    free(a.v);
    free(b.v);
}

TEST(nms_properties)
{
    tal_rng g;
    tal_rng_seed(&g, 7);
    tal_segset in = { 0 }, s = { 0 };
    tal_nms_ws *w = tal_nms_ws_new();
    for (int trial = 0; trial < 200; trial++) {
        tal_nms_opts o = opts(trial % 3);
        o.iou_thresh = 0.2 + 0.6 * tal_rng_double(&g);
        o.max_keep = trial % 2 ? 50 : 0;
        o.class_agnostic = trial % 4 == 3;
        o.vote_iou = trial % 5 == 4 ? 0.8 : 0;
        random_set(&g, &in, 1 + tal_rng_below(&g, 400), 1 + (int)tal_rng_below(&g, 5));
        tal_segset_copy(&s, &in);
        CHECK(!tal_nms(w, &s, 0, &o));
        CHECK(!o.max_keep || s.n <= o.max_keep);
        for (uint32_t i = 0; i < s.n; i++) {
            /* selection order: non-increasing scores */
            CHECK(i == 0 || s.v[i].score <= s.v[i - 1].score);
            /* a subset of the input, scores never raised */
            int found = 0;
            for (uint32_t j = 0; j < in.n && !found; j++)
                found = in.v[j].cls == s.v[i].cls && s.v[i].score <= in.v[j].score &&
                        (o.vote_iou > 0 || (in.v[j].start == s.v[i].start && in.v[j].end == s.v[i].end));
            CHECK_MSG(found, "trial %d: output %u is not from the input", trial, i);
        }
        /* hard NMS: no same-class pair at IoU >= Nt */
        if (o.method == TAL_NMS_HARD && !o.vote_iou)
            for (uint32_t i = 0; i < s.n; i++)
                for (uint32_t j = i + 1; j < s.n; j++)
                    CHECK_MSG((!o.class_agnostic && s.v[i].cls != s.v[j].cls) ||
                                  tal_nms_iou(s.v[i].start, s.v[i].end, s.v[j].start, s.v[j].end) < o.iou_thresh,
                              "trial %d: pair %u %u overlaps", trial, i, j);
        /* deterministic */
        tal_segset t = { 0 };
        tal_segset_copy(&t, &in);
        CHECK(!tal_nms(w, &t, 0, &o));
        CHECK(t.n == s.n && !memcmp(t.v, s.v, s.n * sizeof *s.v));
        free(t.v);
    }
    tal_nms_ws_free(w);
    free(in.v);
    free(s.v);
}

/* ---- runs above a threshold (post/runs.h) ------------------------------------------- */

TEST(runs_above_threshold)
{
    /* strided: every other value of a (T=7) sequence interleaved with junk */
    float x[14] = { 0.6f, 9, 0.7f, 9, 0.1f, 9, NAN, 9, 0.9f, 9, 0.5f, 9, 0.8f, 9 };
    tal_runs r = { 0 };
    CHECK_EQ_INT(tal_runs_above(&r, x, 2, 7, 0.5), 3);
    CHECK_EQ_INT(r.n, 3);
    CHECK(r.v[0].start == 0 && r.v[0].end == 2);   /* 0.6 0.7 */
    CHECK(r.v[1].start == 4 && r.v[1].end == 5);   /* 0.9; 0.5 is not above 0.5, NaN never */
    CHECK(r.v[2].start == 6 && r.v[2].end == 7);   /* to the end */
    CHECK_EQ_INT(tal_runs_above(&r, x, 2, 7, 1.0), 0);
    CHECK_EQ_INT(tal_runs_above(&r, x, 2, 7, -1.0), 2);   /* appended: split at the NaN */
    CHECK(r.n == 5 && r.v[3].start == 0 && r.v[3].end == 3 && r.v[4].start == 4 && r.v[4].end == 7);
    /* 1000 alternating runs grow the array */
    float y[2000];
    for (int i = 0; i < 2000; i++)
        y[i] = (float)(i % 2);
    tal_runs_free(&r);
    CHECK_EQ_INT(tal_runs_above(&r, y, 1, 2000, 0.5), 1000);
    CHECK(r.v[999].start == 1999 && r.v[999].end == 2000);
    /* seconds: a run of one snippet lasts one stride; clamped */
    tal_grid g = { 30, 4, 16 };
    double a, b;
    tal_run_to_sec(&g, (tal_run){ 10, 11 }, 100, &a, &b);
    CHECK_NEAR(a, (9.5 * 4 + 8) / 30.0, 1e-12);
    CHECK_NEAR(b - a, 4 / 30.0, 1e-12);
    tal_run_to_sec(&g, (tal_run){ 0, 1000 }, 20, &a, &b);
    CHECK(a == 6.0 / 30 && b == 20);
    tal_runs_free(&r);
}
