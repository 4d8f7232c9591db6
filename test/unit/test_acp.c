/* test_acp.c — APL's contrastive pre-training pieces: the InfoNCE against
 * a direct computation in double, k-means on separable and degenerate
 * points, the frames a step draws, and a pre-training step end to end
 * (finite, deterministic, the parameter names a detector shares). */
#include "harness.h"
#include "tal.h"
#include "models/acp.h"
#include "models/acp_check.h"
#include "models/det_config.h"
#include "nn/kmeans.h"
#include "nn/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

TEST(acp_supcon_matches_a_direct_computation)
{
    enum { N = 7, E = 4 };
    tal_rng r;
    tal_rng_seed(&r, 17);
    float z[N * E];
    for (int i = 0; i < N * E; i++)
        z[i] = (float)tal_rng_normal(&r);
    int32_t lab[N] = { 0, 1, 0, 2, 1, 0, 3 };   /* 3 and 6 have no positive */
    double tau = 0.1, want = 0;
    int anchors = 0;
    for (int i = 0; i < N; i++) {
        double den = 0;
        for (int a = 0; a < N; a++)
            if (a != i) {
                double dot = 0;
                for (int k = 0; k < E; k++)
                    dot += (double)z[i * E + k] * z[a * E + k];
                den += exp(dot / tau);
            }
        int np = 0;
        double sum = 0;
        for (int p = 0; p < N; p++)
            if (p != i && lab[p] == lab[i]) {
                double dot = 0;
                for (int k = 0; k < E; k++)
                    dot += (double)z[i * E + k] * z[p * E + k];
                sum += dot / tau - log(den);
                np++;
            }
        if (np) {
            want += -sum / np;
            anchors++;
        }
    }
    want /= anchors;
    tal_graph *g = tal_graph_new(NULL);
    tal_tensor *l = tal_supcon(g, tal_tensor_from(g, 2, (int64_t[]){ N, E }, z), lab, (float)tau);
    CHECK_MSG(l, "%s", tal_errmsg());
    float got;
    tal_tensor_download(g, l, &got);
    CHECK_MSG(fabs(got - want) <= 1e-4 * fabs(want), "supcon %.9g, direct %.9g", got, want);
    /* the gradient in double: with s_ij = z_i.z_j / tau, q_ij the softmax of
     * row i over j != i, and w_ij = 1/|P(i)| at positives,
     * dL/ds_ij = (q_ij - w_ij) / A for anchors i, and z enters s twice */
    {
        double s[N][N], q[N][N], dz[N][E];
        memset(dz, 0, sizeof dz);
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                double dot = 0;
                for (int k = 0; k < E; k++)
                    dot += (double)z[i * E + k] * z[j * E + k];
                s[i][j] = dot / tau;
            }
        for (int i = 0; i < N; i++) {
            double den = 0;
            int np = 0;
            for (int j = 0; j < N; j++)
                if (j != i) {
                    den += exp(s[i][j]);
                    np += lab[j] == lab[i];
                }
            for (int j = 0; j < N; j++)
                q[i][j] = j != i ? exp(s[i][j]) / den : 0;
            if (!np)
                continue;
            for (int j = 0; j < N; j++) {
                if (j == i)
                    continue;
                double gsij = (q[i][j] - (lab[j] == lab[i] ? 1.0 / np : 0)) / anchors / tau;
                for (int k = 0; k < E; k++) {
                    dz[i][k] += gsij * z[j * E + k];
                    dz[j][k] += gsij * z[i * E + k];
                }
            }
        }
        tal_graph *g2 = tal_graph_new(NULL);
        tal_graph_set_training(g2, 1);
        tal_tensor *zt = tal_tensor_from(g2, 2, (int64_t[]){ N, E }, z);
        tal_tensor_requires_grad(zt);
        tal_tensor *l2 = tal_supcon(g2, zt, lab, (float)tau);
        CHECK(!tal_backward(g2, l2));
        for (int i = 0; i < N; i++)
            for (int k = 0; k < E; k++)
                CHECK_MSG(fabs(zt->grad[i * E + k] - dz[i][k]) <= 2e-5 * (1 + fabs(dz[i][k])),
                          "dz[%d][%d] %.9g, direct %.9g", i, k, zt->grad[i * E + k], dz[i][k]);
        tal_graph_free(g2);
    }
    /* every label distinct: no anchor, 0 */
    int32_t distinct[N] = { 0, 1, 2, 3, 4, 5, 6 };
    tal_tensor_download(g, tal_supcon(g, tal_tensor_from(g, 2, (int64_t[]){ N, E }, z), distinct, 0.1f), &got);
    CHECK(got == 0.0f);
    CHECK(!tal_supcon(g, tal_tensor_from(g, 2, (int64_t[]){ N, E }, z), lab, 0.0f));
    tal_graph_free(g);
}

TEST(acp_kmeans_separable_and_degenerate)
{
    enum { N = 60, D = 3 };
    float x[N * D];
    tal_rng r;
    tal_rng_seed(&r, 3);
    /* three tight clusters far apart, interleaved */
    for (int i = 0; i < N; i++)
        for (int k = 0; k < D; k++)
            x[i * D + k] = (float)(10 * (i % 3) * (k + 1) + 0.1 * tal_rng_normal(&r));
    int32_t lab[N], lab2[N];
    tal_rng a, b;
    tal_rng_seed(&a, 9);
    CHECK(!tal_kmeans(x, N, D, 3, 20, &a, lab));
    for (int i = 3; i < N; i++)
        CHECK_EQ_INT(lab[i], lab[i % 3]);
    CHECK(lab[0] != lab[1] && lab[1] != lab[2] && lab[0] != lab[2]);
    /* the same stream, the same labels */
    tal_rng_seed(&b, 9);
    CHECK(!tal_kmeans(x, N, D, 3, 20, &b, lab2));
    CHECK(!memcmp(lab, lab2, sizeof lab));
    /* more clusters than points; identical points; bad sizes */
    CHECK(!tal_kmeans(x, 2, D, 5, 20, &a, lab));
    CHECK(lab[0] >= 0 && lab[0] < 2 && lab[1] >= 0 && lab[1] < 2 && lab[0] != lab[1]);
    float same[4 * D] = { 0 };
    CHECK(!tal_kmeans(same, 4, D, 2, 20, &a, lab));
    for (int i = 0; i < 4; i++)
        CHECK(lab[i] >= 0 && lab[i] < 2);
    CHECK(tal_kmeans(x, 0, D, 2, 20, &a, lab) == TAL_EINVAL);
}

TEST(acp_sample_one_frame_per_part)
{
    tal_rng r;
    tal_rng_seed(&r, 1);
    int32_t pos[64];
    for (int trial = 0; trial < 50; trial++) {
        int len = 1 + (int)tal_rng_below(&r, 300), P = 2 + (int)tal_rng_below(&r, 40);
        int n = tal_acp_sample(&r, len, P, pos);
        CHECK_EQ_INT(n, P < len ? P : len);
        for (int p = 0; p < n; p++) {
            int lo = (int)((int64_t)p * len / n), hi = (int)((int64_t)(p + 1) * len / n);
            CHECK_MSG(pos[p] >= lo && pos[p] < hi, "len %d P %d part %d: %d not in [%d, %d)", len, P, p, pos[p], lo, hi);
        }
    }
}

TEST(acp_step_end_to_end)
{
    tal_header h;
    tal_header_init(&h);
    tal_classes_add(&h.classes, "a", -1);
    h.feat_dim = 6;
    h.fps = 30;
    h.stride = 4;
    h.clip = 16;
    tal_record rec[2];
    tal_rng r;
    tal_rng_seed(&r, 2);
    for (int i = 0; i < 2; i++) {
        tal_record_init(&rec[i]);
        tal_record_set_id(&rec[i], i ? "b" : "a");
        tal_record_alloc_features(&rec[i], 50 + 10 * i, 6);
        for (size_t k = 0; k < (size_t)rec[i].T * 6; k++)
            rec[i].feat[k] = (float)tal_rng_normal(&r) + (k / 6 % 20 < 10 ? 2.0f : -2.0f);
    }
    const char *sets[] = { "model.kind=acp", "model.channels=8", "model.heads=2", "model.window=5", "model.stem_blocks=1",
                           "model.branch_blocks=2", "model.head_layers=1", "model.max_seq_len=64", "acp.partitions=16" };
    tal_det_config cfg;
    CHECK_MSG(!tal_det_config_load(&cfg, NULL, 0, sets, 9), "%s", tal_errmsg());
    tal_detector *d = tal_detector_new(&cfg, &h, NULL);
    CHECK_MSG(d, "%s", tal_errmsg());
    tal_rng_seed(&r, 3);
    CHECK(!tal_detector_init(d, &r));
    /* the backbone's and neck's names, no head */
    CHECK(tal_params_find(d->P, "backbone.embd.0.conv.weight"));
    CHECK(tal_params_find(d->P, "neck.fpn_norms.2.weight"));
    CHECK(!tal_params_find(d->P, "cls_head.cls_head.conv.weight"));
    const tal_record *batch[2] = { &rec[0], &rec[1] };
    double v[2];
    for (int k = 0; k < 2; k++) {
        tal_graph *g = tal_graph_new(NULL);
        tal_graph_set_training(g, 1);
        tal_rng s;
        tal_rng_seed(&s, 5);
        tal_loss_log log;
        tal_tensor *l = tal_detector_loss(d, g, batch, 2, &s, &log);
        CHECK_MSG(l, "%s", tal_errmsg());
        CHECK_EQ_INT(log.n, 2);
        CHECK_STR(log.name[0], "coarse");
        CHECK(log.value[0] > 0 && log.value[1] > 0 && isfinite(log.total));
        CHECK_EQ_INT(log.positives, 32);
        CHECK(!tal_backward(g, l));
        v[k] = log.total;
        tal_graph_free(g);
    }
    CHECK(v[0] == v[1]);
    tal_graph *g = tal_graph_new(NULL);
    tal_segset dets = { 0 };
    CHECK(tal_detector_detect(d, g, &rec[0], &dets, NULL) == TAL_EINVAL);
    tal_graph_free(g);
    tal_detector_free(d);
    for (int i = 0; i < 2; i++)
        tal_record_free(&rec[i]);
    tal_header_free(&h);
}

/* --clusters' count: features that split action from background exactly
 * give coarse clusters whose positive pairs are always of one true label,
 * and chance below that; pair counts follow from the frames drawn. */
TEST(acp_check_counts_agreement_with_the_truth)
{
    enum { N = 4, T = 64, D = 2 };
    tal_header h;
    tal_header_init(&h);
    tal_classes_add(&h.classes, "a", 0);
    h.feat_dim = D;
    h.fps = 1;
    h.stride = 1;
    h.clip = 1;
    tal_record rec[N];
    const tal_record *recs[N];
    tal_rng r;
    tal_rng_seed(&r, 4);
    for (int i = 0; i < N; i++) {
        tal_record_init(&rec[i]);
        char id[8];
        snprintf(id, sizeof id, "s%d", i);
        tal_record_set_id(&rec[i], id);
        rec[i].duration = T;
        rec[i].supervision = TAL_SUP_FULL;
        tal_record_alloc_features(&rec[i], T, D);
        /* the action: snippets 16..47 (centres 16.5..47.5 s) */
        tal_segment s = { 16, 48, 1.0, 0, 0, { 0 } };
        tal_segset_push(&rec[i].segs, &s);
        rec[i].present |= TAL_HAS_SEGMENTS;
        for (int t = 0; t < T; t++)
            for (int k = 0; k < D; k++)
                rec[i].feat[t * D + k] = (float)((t >= 16 && t < 48 ? 10 : 0) + 0.1 * tal_rng_normal(&r));
        recs[i] = &rec[i];
    }
    const char *sets[] = { "model.kind=acp", "acp.partitions=16", "train.batch_size=2", "train.crop_ratio=[1.0, 1.0]" };
    tal_det_config cfg;
    CHECK_MSG(!tal_det_config_load(&cfg, NULL, 0, sets, 4), "%s", tal_errmsg());
    tal_acp_agreement a, b;
    CHECK_MSG(!tal_acp_check(&cfg, recs, N, &h, 7, 3, &a), "%s", tal_errmsg());
    /* 3 passes of 2 batches of 2 sequences of 16 frames */
    CHECK_EQ_INT((int)a.batches, 6);
    CHECK_EQ_INT((int)a.frames, 3 * N * 16);
    CHECK_EQ_INT((int)a.coarse.pairs, 3 * N * 16 * 15 / 2);
    CHECK_EQ_INT((int)a.fine.pairs, 6 * 32 * 31 / 2);
    CHECK(a.coarse.same_cluster > 0 && a.coarse.same_action_clustered == a.coarse.same_cluster);
    CHECK(a.coarse.same_class_clustered == a.coarse.same_cluster);   /* one class: class = action here */
    CHECK(a.coarse.same_action < a.coarse.pairs);
    CHECK(a.fine.same_class_clustered == a.fine.same_cluster);       /* k = 4 splits within a side only */
    /* deterministic for a seed */
    CHECK(!tal_acp_check(&cfg, recs, N, &h, 7, 3, &b));
    CHECK(!memcmp(&a, &b, sizeof a));
    /* no partitions to draw: an error, not a count */
    cfg.acp_partitions = 1;
    CHECK(tal_acp_check(&cfg, recs, N, &h, 7, 3, &b) == TAL_EINVAL);
    for (int i = 0; i < N; i++)
        tal_record_free(&rec[i]);
    tal_header_free(&h);
}
