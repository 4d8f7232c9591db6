/* test_synth.c — window statistics, nearest-class-mean tests and the
 * synthetic-feature generator: values against hand computations,
 * determinism, order independence, and what each knob is meant to do. */
#include "harness.h"
#include "tal.h"
#include "data/ncm.h"
#include "data/series.h"
#include "data/synth.h"

#include <stdlib.h>
#include <string.h>

/* ---- series ---------------------------------------------------------------- */

TEST(series_window_statistics)
{
    /* two channels: 1 2 4 7 and 0 0 0 0 */
    const float x[] = { 1, 0, 2, 0, 4, 0, 7, 0 };
    CHECK_EQ_INT(tal_series_nsnippets(4, 2, 1), 3);
    CHECK_EQ_INT(tal_series_nsnippets(4, 3, 2), 1);
    CHECK_EQ_INT(tal_series_nsnippets(4, 5, 1), 0);
    CHECK_EQ_INT(tal_series_nsnippets(4, 2, 0), 0);
    float out[3 * 2 * TAL_SERIES_NSTATS];
    tal_series_window(out, x, 4, 2, 2, 1);
    const float want0[] = { 1.5f, 0.5f, 1, 2, 2.5f, 1 }, want2[] = { 5.5f, 1.5f, 4, 7, 32.5f, 3 };
    for (int k = 0; k < TAL_SERIES_NSTATS; k++) {
        CHECK_NEAR(out[k], want0[k], 1e-6);
        CHECK_NEAR(out[2 * 12 + k], want2[k], 1e-6);
        CHECK_NEAR(out[6 + k], 0, 0);   /* the zero channel */
    }
    /* a window of one sample: sd and mad are 0 */
    tal_series_window(out, x, 4, 2, 1, 3);
    CHECK_NEAR(out[0], 1, 0);
    CHECK_NEAR(out[1], 0, 0);
    CHECK_NEAR(out[5], 0, 0);
    CHECK_NEAR(out[12], 7, 0);
}

TEST(series_sd_is_accurate_with_a_large_offset)
{
    /* 1e4 + (-1, 1, -1, 1): sd 1 although E[x^2] - mean^2 would cancel badly in float */
    const float x[] = { 9999, 10001, 9999, 10001 };
    float out[TAL_SERIES_NSTATS];
    tal_series_window(out, x, 4, 1, 4, 4);
    CHECK_NEAR(out[1], 1, 1e-6);
    CHECK_NEAR(out[5], 2, 1e-6);
}

TEST(series_magnitude)
{
    const float x[] = { 3, 4, 0, 9, 0, 0, 2, 5 };   /* 2 samples x 4 channels */
    float out[2 * 6];
    tal_chan_range r[2] = { { 0, 3 }, { 3, 1 } };
    CHECK(tal_series_magnitude(out, x, 2, 4, r, 2) == 0);
    CHECK_NEAR(out[4], 5, 1e-6);
    CHECK_NEAR(out[5], 9, 1e-6);
    CHECK_NEAR(out[10], 2, 1e-6);
    CHECK_NEAR(out[11], 5, 1e-6);
    CHECK_NEAR(out[6], 0, 0);
    tal_chan_range bad = { 2, 3 };
    CHECK(tal_series_magnitude(out, x, 2, 4, &bad, 1) == TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "3-5 is outside the 4 channels"));
}

/* ---- nearest class mean ------------------------------------------------------ */

TEST(ncm_separable_and_confused)
{
    tal_ncm m;
    CHECK(tal_ncm_init(&m, 2, 1) == 0);
    /* reference: class 0 at 0, class 1 at 10, background at -10 */
    float v;
    v = 0; tal_ncm_add(&m, &v, 0);
    v = 10; tal_ncm_add(&m, &v, 1);
    v = -10; tal_ncm_add(&m, &v, 2);
    v = 99; tal_ncm_add(&m, &v, -1);   /* left out */
    CHECK(tal_ncm_fit(&m) == 0);
    v = 1; CHECK(tal_ncm_eval(&m, &v, 0) == 0);     /* right */
    v = 6; CHECK(tal_ncm_eval(&m, &v, 0) == 0);     /* wrong, true class second */
    v = 9; CHECK(tal_ncm_eval(&m, &v, 1) == 0);     /* right */
    v = -9; CHECK(tal_ncm_eval(&m, &v, 2) == 0);    /* background, below every action */
    v = -4; CHECK(tal_ncm_eval(&m, &v, 2) == 0);    /* background nearer class 0 */
    tal_ncm_result r;
    tal_ncm_result_get(&m, &r);
    CHECK_EQ_INT(r.n_act, 3);
    CHECK_EQ_INT(r.n_bg, 2);
    CHECK_NEAR(r.accuracy, 2.0 / 3, 1e-12);
    CHECK_NEAR(r.top2, 1, 0);
    CHECK_NEAR(r.second, 1, 0);
    /* scores: actions 1 -> 121-1, 6 -> 256-16, 9 -> 361-1; background -9 -> 1-81, -4 -> 36-16: all actions above */
    CHECK_NEAR(r.auc, 1, 0);
    CHECK_NEAR(r.balanced, (1.0 + 0.5) / 2, 1e-12);
    CHECK_EQ_INT(m.confusion[0 * 2 + 1], 1);
    tal_ncm_free(&m);

    /* no background in the reference part */
    CHECK(tal_ncm_init(&m, 2, 1) == 0);
    v = 0; tal_ncm_add(&m, &v, 0);
    CHECK(tal_ncm_fit(&m) == TAL_EINVAL);
    tal_ncm_free(&m);
}

TEST(snippet_labels_by_centre)
{
    tal_segset s = { 0 };
    tal_segment a = { .start = 1.0, .end = 2.0, .score = 1, .cls = 1 };
    tal_segment b = { .start = 1.5, .end = 3.0, .score = 1, .cls = 0 };
    tal_segment amb = { .start = 4.0, .end = 5.0, .score = 1, .cls = -1, .flags = TAL_SEG_AMBIGUOUS };
    CHECK(tal_segset_push(&s, &a) == 0 && tal_segset_push(&s, &b) == 0 && tal_segset_push(&s, &amb) == 0);
    int32_t lab[6];
    /* fps 1, stride 1, clip 1: centres 0.5, 1.5, 2.5, 3.5, 4.5, 5.5 */
    tal_snippet_labels(lab, 6, 1, 1, 1, &s, 2);
    const int32_t want[] = { 2, 1, 0, 2, -1, 2 };
    for (int t = 0; t < 6; t++)
        CHECK_EQ_INT(lab[t], want[t]);
    free(s.v);
}

/* ---- generator --------------------------------------------------------------- */

static void make_record(tal_record *r, const char *id, double dur)
{
    tal_record_init(r);
    tal_record_set_id(r, id);
    tal_record_set_subset(r, "");
    r->duration = dur;
    for (int k = 0; k < 6; k++) {
        tal_segment g = { .start = 5 + 10 * k, .end = 9 + 10 * k, .score = 1, .cls = k % 4 };
        tal_segset_push(&r->segs, &g);
    }
    r->present |= TAL_HAS_SEGMENTS;
}

TEST(synth_grid_and_determinism)
{
    tal_synth_params p;
    tal_synth_defaults(&p);
    p.dim = 16;
    p.seed = 42;
    CHECK_EQ_INT(tal_synth_nsnippets(&p, 64), 120);   /* (64*30 - 16)/16 + 1 = 120 */
    CHECK_EQ_INT(tal_synth_nsnippets(&p, 0.1), 1);
    CHECK_EQ_INT(tal_synth_nsnippets(&p, 0), 0);
    CHECK_EQ_INT(tal_synth_nsnippets(&p, NAN), 0);
    tal_synth *s1 = tal_synth_new(&p, 4), *s2 = tal_synth_new(&p, 4);
    CHECK(s1 && s2);
    tal_record a, b, c;
    make_record(&a, "video_a", 64);
    make_record(&b, "video_a", 64);
    make_record(&c, "video_b", 64);
    CHECK(tal_synth_generate(s1, &a) == 0);
    CHECK(tal_synth_generate(s2, &c) == 0);   /* another sequence first: no effect */
    CHECK(tal_synth_generate(s2, &b) == 0);
    CHECK_EQ_INT(a.T, 120);
    CHECK_EQ_INT(a.D, 16);
    CHECK(memcmp(a.feat, b.feat, (size_t)a.T * a.D * sizeof(float)) == 0);
    CHECK(memcmp(a.feat, c.feat, (size_t)a.T * a.D * sizeof(float)) != 0);
    /* another seed, other features */
    p.seed = 43;
    tal_synth *s3 = tal_synth_new(&p, 4);
    CHECK(tal_synth_generate(s3, &b) == 0);
    CHECK(memcmp(a.feat, b.feat, (size_t)a.T * a.D * sizeof(float)) != 0);
    for (size_t i = 0; i < (size_t)a.T * a.D; i++)
        CHECK(isfinite(a.feat[i]));
    tal_record_free(&a);
    tal_record_free(&b);
    tal_record_free(&c);
    tal_synth_free(s1);
    tal_synth_free(s2);
    tal_synth_free(s3);
}

TEST(synth_presets_and_checks)
{
    tal_synth_params p;
    tal_synth_defaults(&p);
    CHECK(tal_synth_preset(&p, "thumos") == 0);
    CHECK_EQ_INT(p.dim, 2048);
    CHECK_NEAR(p.stride, 4, 0);
    CHECK_NEAR(p.clip, 16, 0);
    CHECK_NEAR(p.fps, 30, 0);
    double share = p.share;
    CHECK(tal_synth_preset(&p, "hard") == 0);
    CHECK(p.share > share && p.noise > 0.8);
    CHECK_EQ_INT(p.dim, 2048);   /* a difficulty leaves the size alone */
    CHECK(tal_synth_preset(&p, "medium") == -1);
    p.share = 1.5;
    CHECK(tal_synth_check(&p) == TAL_EINVAL);
    CHECK(tal_synth_new(&p, 3) == NULL);
    tal_synth_defaults(&p);
    CHECK(tal_synth_new(&p, 0) == NULL);
    char buf[512];
    CHECK(tal_synth_describe(&p, buf, sizeof buf) == 0);
    CHECK(strstr(buf, "seed 0 dim 128 latent 32 fps 30 stride 16 clip 16 group-size 3"));
    CHECK(tal_synth_describe(&p, buf, 10) == -1);
}

/* Nearest-class-mean accuracy of generated features (reference: even
 * sequences, held out: odd ones) for a parameter set. */
static double ncm_accuracy(const tal_synth_params *p, uint32_t C, double *auc)
{
    tal_synth *s = tal_synth_new(p, C);
    tal_ncm m;
    tal_record r;
    int32_t lab[4096];
    if (!s || tal_ncm_init(&m, C, p->dim))
        return -1;
    for (int pass = 0; pass < 2; pass++) {
        for (int v = pass; v < 24; v += 2) {
            char id[32];
            snprintf(id, sizeof id, "seq%d", v);
            tal_record_init(&r);
            tal_record_set_id(&r, id);
            r.duration = 120;
            for (int k = 0; k < 8; k++) {
                tal_segment g = { .start = 4 + 14 * k, .end = 10 + 14 * k, .score = 1,
                                  .cls = (int32_t)((v + k) % C) };
                tal_segset_push(&r.segs, &g);
            }
            if (tal_synth_generate(s, &r) || r.T > 4096)
                return -1;
            tal_snippet_labels(lab, r.T, p->fps, p->stride, p->clip, &r.segs, C);
            for (uint32_t t = 0; t < r.T; t++) {
                if (pass == 0)
                    tal_ncm_add(&m, r.feat + (size_t)t * r.D, lab[t]);
                else if (tal_ncm_eval(&m, r.feat + (size_t)t * r.D, lab[t]))
                    return -1;
            }
            tal_record_free(&r);
        }
        if (pass == 0 && tal_ncm_fit(&m))
            return -1;
    }
    tal_ncm_result res;
    tal_ncm_result_get(&m, &res);
    tal_ncm_free(&m);
    tal_synth_free(s);
    *auc = res.auc;
    return res.accuracy;
}

TEST(synth_knobs_move_difficulty_the_right_way)
{
    tal_synth_params easy, def, hard, clean;
    tal_synth_defaults(&def);
    def.dim = 32;
    easy = hard = def;
    tal_synth_preset(&easy, "easy");
    tal_synth_preset(&hard, "hard");
    double a_easy, a_def, a_hard, a_clean, u_easy, u_def, u_hard, u_clean;
    a_easy = ncm_accuracy(&easy, 6, &u_easy);
    a_def = ncm_accuracy(&def, 6, &u_def);
    a_hard = ncm_accuracy(&hard, 6, &u_hard);
    CHECK(a_easy > 0 && a_def > 0 && a_hard > 0);
    CHECK_MSG(a_easy > a_def && a_def > a_hard, "accuracy easy %.3f default %.3f hard %.3f", a_easy, a_def, a_hard);
    CHECK_MSG(u_easy > u_def && u_def > u_hard, "AUC easy %.3f default %.3f hard %.3f", u_easy, u_def, u_hard);
    /* without confusion, drift, variation, shift, noise and look-alikes the task is trivial */
    clean = def;
    clean.share = clean.drift = clean.variation = clean.shift = clean.noise = clean.ambient = clean.lookalike = 0;
    a_clean = ncm_accuracy(&clean, 6, &u_clean);
    CHECK_MSG(a_clean > 0.97 && u_clean > 0.97, "clean accuracy %.3f AUC %.3f", a_clean, u_clean);
}
