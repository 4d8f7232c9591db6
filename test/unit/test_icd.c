/* test_icd.c — APL's instance consistency discriminator: instance
 * features by hand (inside, short, at the edges, outside), the EAP/MPP
 * rule, the score against a direct computation in double, and the
 * training loss's gradient by finite differences. */
#include "fixtures.h"
#include "harness.h"
#include "tal.h"
#include "data/instfeat.h"
#include "models/det_config.h"
#include "models/icd.h"
#include "semi/consistency.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* a record of T snippets on the grid fps 10, stride 10, clip 10: snippet
 * t is centred at t + 0.5 s; feature (t, k) = pattern */
static void grid_record(tal_record *r, uint32_t T, uint32_t D)
{
    tal_record_init(r);
    tal_record_set_id(r, "r");
    r->duration = T;
    tal_record_alloc_features(r, T, D);
    for (uint32_t t = 0; t < T; t++)
        for (uint32_t k = 0; k < D; k++)
            r->feat[(size_t)t * D + k] = (float)((t * 7 + k * 3) % 5) - (float)k;
}

TEST(icd_instance_feature_by_hand)
{
    tal_record r;
    grid_record(&r, 6, 2);
    tal_grid g = { .fps = 10, .stride = 10, .clip = 10 };
    float f[2];
    /* [1.2, 3.9] s holds the centres of snippets 1 and 2 (1.5, 2.5, 3.5: 3 too) */
    CHECK(!tal_instance_feature(&r, &g, 1.2, 3.9, f));
    for (int k = 0; k < 2; k++) {
        float want = r.feat[2 + k];
        for (int t = 2; t <= 3; t++)
            want = fmaxf(want, r.feat[t * 2 + k]);
        want = fmaxf(want, r.feat[1 * 2 + k]);
        CHECK_NEAR(f[k], want, 0);
    }
    /* too short to hold a centre: the snippet nearest its middle (2.7 s -> 2) */
    CHECK(!tal_instance_feature(&r, &g, 2.6, 2.8, f));
    CHECK(f[0] == r.feat[4] && f[1] == r.feat[5]);
    /* from 0 s and to the end: clipped to the sequence */
    CHECK(!tal_instance_feature(&r, &g, 0, 6, f));
    /* outside, reversed, not finite */
    CHECK(tal_instance_feature(&r, &g, 7.5, 9, f) == TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "outside the sequence"));
    CHECK(tal_instance_feature(&r, &g, 3, 2, f) == TAL_EINVAL);
    CHECK(tal_instance_feature(&r, &g, NAN, 2, f) == TAL_EINVAL);
    tal_record_free(&r);
}

TEST(icd_eap_mpp_rule)
{
    tal_segset s = { 0 };
    /* positives 0.2 (dropped), 0.5 (kept); candidates 0.8 (promoted), 0.6
     * (stays); a true segment passes untouched */
    float icd[5] = { 0.2f, 0.5f, 0.8f, 0.6f, 0.0f };
    uint32_t flags[5] = { TAL_SEG_PSEUDO, TAL_SEG_PSEUDO, TAL_SEG_PSEUDO | TAL_SEG_CANDIDATE,
                          TAL_SEG_PSEUDO | TAL_SEG_CANDIDATE, 0 };
    for (int rule = 0; rule < 3; rule++) {
        tal_segset_clear(&s);
        for (int i = 0; i < 5; i++) {
            tal_segment x = { i, i + 1, 1, 0, flags[i], { 0 } };
            x.q[TAL_Q_ICD] = icd[i];
            tal_segset_push(&s, &x);
        }
        s.qmask = 1u << TAL_Q_ICD;
        tal_icd_rule r = { 0.3, 0.7, rule != 1, rule != 0 };   /* EAP only, MPP only, both */
        tal_icd_count n = { 0 };
        tal_icd_apply_rule(&s, &r, &n);
        CHECK_EQ_INT(n.positives, 2);
        CHECK_EQ_INT(n.candidates, 2);
        CHECK_EQ_INT(n.dropped, r.eap ? 1 : 0);
        CHECK_EQ_INT(n.promoted, r.mpp ? 1 : 0);
        CHECK_EQ_INT(s.n, r.eap ? 4 : 5);
        const tal_segment *c = &s.v[r.eap ? 1 : 2];   /* the 0.8 candidate */
        CHECK(c->q[TAL_Q_ICD] == 0.8f);
        CHECK(!(c->flags & TAL_SEG_CANDIDATE) == !!r.mpp);
        CHECK(s.v[s.n - 1].flags == 0);
    }
    /* without the field nothing is judged */
    s.qmask = 0;
    tal_icd_rule r = { 0.3, 0.7, 1, 1 };
    tal_icd_count n = { 0 };
    uint32_t before = s.n;
    tal_icd_apply_rule(&s, &r, &n);
    CHECK_EQ_INT(s.n, before);
    free(s.v);
}

/* ---- the model ------------------------------------------------------------------------- */

enum { D = 5, C = 3, H = 6 };

static void make_refs(tal_header *h, tal_record rec[3])
{
    fixture_header(h, C, D);
    h->fps = 10;
    h->stride = 10;
    h->clip = 10;
    tal_rng g;
    tal_rng_seed(&g, 21);
    for (int i = 0; i < 3; i++) {
        tal_record_init(&rec[i]);
        char id[8];
        snprintf(id, sizeof id, "s%d", i);
        tal_record_set_id(&rec[i], id);
        rec[i].supervision = TAL_SUP_FULL;
        rec[i].duration = 20;
        tal_record_alloc_features(&rec[i], 20, D);
        for (size_t k = 0; k < 20 * D; k++)
            rec[i].feat[k] = (float)tal_rng_normal(&g);
        rec[i].present |= TAL_HAS_SEGMENTS;
        for (int s = 0; s < 3; s++) {
            tal_segment x = { 1 + 6 * s, 4 + 6 * s, 1, (i + s) % C, 0, { 0 } };
            tal_segset_push(&rec[i].segs, &x);
        }
    }
}

static tal_detector *tiny_icd(const tal_header *h)
{
    const char *sets[] = { "model.kind=icd", "icd.hidden=6", "icd.same=3", "icd.other=4" };
    tal_det_config cfg;
    if (tal_det_config_load(&cfg, NULL, 0, sets, 4))
        return NULL;
    tal_detector *d = tal_detector_new(&cfg, h, NULL);
    tal_rng r;
    tal_rng_seed(&r, 4);
    if (d && tal_detector_init(d, &r)) {
        tal_detector_free(d);
        return NULL;
    }
    return d;
}

TEST(icd_score_matches_a_direct_computation)
{
    tal_header h;
    tal_record rec[3];
    make_refs(&h, rec);
    tal_detector *d = tiny_icd(&h);
    CHECK_MSG(d, "%s", tal_errmsg());
    const float *wa = tal_params_find(d->P, "icd.fc1_a.weight")->data, *wb = tal_params_find(d->P, "icd.fc1_b.weight")->data;
    const float *b1 = tal_params_find(d->P, "icd.fc1.bias")->data, *w2 = tal_params_find(d->P, "icd.fc2.weight")->data;
    const float *b2 = tal_params_find(d->P, "icd.fc2.bias")->data;
    float q[2 * D], ref[4 * D];
    tal_rng g;
    tal_rng_seed(&g, 8);
    for (int i = 0; i < 2 * D; i++)
        q[i] = (float)tal_rng_normal(&g);
    for (int i = 0; i < 4 * D; i++)
        ref[i] = (float)tal_rng_normal(&g);
    double out[2];
    tal_graph *gr = tal_graph_new(NULL);
    CHECK_MSG(!tal_icd_score(d, gr, q, 2, ref, 4, out), "%s", tal_errmsg());
    for (int i = 0; i < 2; i++) {
        double want = 0;
        for (int j = 0; j < 4; j++) {
            double o = b2[0];
            for (int u = 0; u < H; u++) {
                double hsum = b1[u];
                for (int k = 0; k < D; k++)
                    hsum += (double)wa[u * D + k] * q[i * D + k] + (double)wb[u * D + k] * ref[j * D + k];
                o += w2[u] * fmax(hsum, 0);
            }
            want += 1 / (1 + exp(-o));
        }
        want /= 4;
        CHECK_MSG(fabs(out[i] - want) < 1e-6, "query %d: %.9g, direct %.9g", i, out[i], want);
    }
    tal_graph_free(gr);
    tal_detector_free(d);
    for (int i = 0; i < 3; i++)
        tal_record_free(&rec[i]);
    tal_header_free(&h);
}

static double loss_at(tal_detector *d, const tal_record *const *batch, int grad)
{
    tal_graph *g = tal_graph_new(NULL);
    tal_graph_set_training(g, 1);
    tal_rng r;
    tal_rng_seed(&r, 2);
    tal_loss_log log;
    if (grad)
        tal_params_zero_grad(d->P);
    tal_tensor *l = tal_detector_loss(d, g, batch, 2, &r, &log);
    double v = l ? log.total : NAN;
    if (l && grad) {
        if (tal_backward(g, l))
            v = NAN;
        tal_params_finish_grads(d->P);
    }
    tal_graph_free(g);
    return v;
}

TEST(icd_loss_gradient_by_finite_differences)
{
    tal_header h;
    tal_record rec[3];
    make_refs(&h, rec);
    tal_detector *d = tiny_icd(&h);
    CHECK_MSG(d, "%s", tal_errmsg());
    const tal_record *all[3] = { &rec[0], &rec[1], &rec[2] };
    /* no pool yet: a clear error */
    CHECK(isnan(loss_at(d, all, 0)));
    CHECK(strstr(tal_errmsg(), "no instance pool"));
    CHECK(!d->ops->prepare(d, all, 3));
    double l0 = loss_at(d, all, 1);
    CHECK_MSG(isfinite(l0) && l0 > 0, "%s", tal_errmsg());
    size_t N = tal_params_size(d->P);
    float *p = tal_params_data(d->P), *gr = malloc(N * sizeof *gr);
    memcpy(gr, tal_params_grads(d->P), N * sizeof *gr);
    /* an element whose difference quotients at h and h/2 disagree sits
     * near a ReLU kink of some pair: it is skipped, and few may be */
    int checked = 0, kinks = 0;
    for (int i = 0; i < tal_params_count(d->P); i++) {
        tal_tensor *t = tal_params_get(d->P, i);
        size_t off = tal_params_offset(d->P, i);
        for (int64_t e = 0; e < tal_numel(t); e += 2) {
            float keep = p[off + e];
            double num[2];
            for (int k = 0; k < 2; k++) {
                float hs = k ? 2e-3f : 4e-3f;
                p[off + e] = keep + hs;
                double hi = loss_at(d, all, 0);
                p[off + e] = keep - hs;
                double lo = loss_at(d, all, 0);
                p[off + e] = keep;
                num[k] = (hi - lo) / (2.0 * hs);
            }
            double ana = gr[off + e], tol = 2e-2 * fabs(num[1]) + 5e-5;
            if (fabs(num[0] - num[1]) > tol) {
                kinks++;
                continue;
            }
            CHECK_MSG(fabs(num[1] - ana) <= tol, "%s[%lld]: analytic %.6g, numerical %.6g", t->name, (long long)e, ana,
                      num[1]);
            checked++;
        }
    }
    CHECK_MSG(kinks * 5 <= checked, "%d elements near kinks, %d checked", kinks, checked);
    CHECK(checked > 20);
    free(gr);
    tal_detector_free(d);
    for (int i = 0; i < 3; i++)
        tal_record_free(&rec[i]);
    tal_header_free(&h);
}

/* An annotation that runs past the features (real datasets have them) is
 * left out of the pool, with the rest of its sequence kept. */
TEST(icd_pool_leaves_out_instances_beyond_the_features)
{
    tal_header h;
    tal_record rec[3];
    make_refs(&h, rec);
    tal_segment far = { 50, 60, 1, 1, 0, { 0 } };   /* 20 snippets: 0 to 20 s */
    tal_segset_push(&rec[0].segs, &far);
    tal_segment first = rec[0].segs.v[0];
    rec[0].segs.v[0] = far;                          /* and first in its record */
    rec[0].segs.v[rec[0].segs.n - 1] = first;
    tal_grid g = { .fps = 10, .stride = 10, .clip = 10 };
    CHECK(!tal_instance_in_features(&rec[0], &g, 50, 60));
    CHECK(tal_instance_in_features(&rec[0], &g, 19.9, 30));
    tal_detector *d = tiny_icd(&h);
    CHECK_MSG(d, "%s", tal_errmsg());
    const tal_record *all[3] = { &rec[0], &rec[1], &rec[2] };
    tal_set_quiet(2);   /* the warning */
    CHECK_MSG(!d->ops->prepare(d, all, 3), "%s", tal_errmsg());
    tal_set_quiet(0);
    double l = loss_at(d, all, 1);
    CHECK_MSG(isfinite(l) && l > 0, "%s", tal_errmsg());
    tal_detector_free(d);
    for (int i = 0; i < 3; i++)
        tal_record_free(&rec[i]);
    tal_header_free(&h);
}
