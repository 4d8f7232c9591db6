/* test_alqa.c — APL's quality branches on the ActionFormer-style detector:
 * tIoU and tND by hand, each variant's targets and soft labels, the
 * reliability on the host against the graph's, the gradient of the whole
 * loss (quality focal on the joint score + L_q) by finite differences in
 * the head's last layers, and detections that carry the quality fields
 * and are ranked by the joint score. */
#include "fixtures.h"
#include "harness.h"
#include "tal.h"
#include "models/af_quality.h"
#include "models/det_config.h"
#include "models/detector.h"
#include "nn/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

TEST(alqa_measure_by_hand)
{
    float iou, nd;
    /* pred [-1, 3], gt [-2, 2] around one position: inter 3, union 5;
     * centres 1 and 0, cover [-2, 3] of length 5: tND 1/25 */
    tal_alqa_measure(1, 3, 2, 2, &iou, &nd);
    CHECK_NEAR(iou, 0.6, 1e-7);
    CHECK_NEAR(nd, 0.04, 1e-7);
    tal_alqa_measure(2, 2, 2, 2, &iou, &nd);   /* the same segment */
    CHECK_NEAR(iou, 1, 1e-7);
    CHECK_NEAR(nd, 0, 1e-7);
    tal_alqa_measure(0, 0, 2, 2, &iou, &nd);   /* an empty prediction at the centre */
    CHECK_NEAR(iou, 0, 1e-7);
    CHECK_NEAR(nd, 0, 1e-7);
    /* 1 - DIoU loss = tIoU - tND, as the DIoU op computes it */
    tal_graph *g = tal_graph_new(NULL);
    float pr[2] = { 1, 3 }, gt[2] = { 2, 2 }, l;
    tal_tensor *x = tal_diou_1d(g, tal_tensor_from(g, 2, (int64_t[]){ 1, 2 }, pr),
                                tal_tensor_from(g, 2, (int64_t[]){ 1, 2 }, gt));
    tal_tensor_download(g, x, &l);
    tal_alqa_measure(1, 3, 2, 2, &iou, &nd);
    CHECK_NEAR(1 - l, iou - nd, 1e-6);
    tal_graph_free(g);
}

TEST(alqa_targets_per_variant)
{
    /* two positives: (tIoU 0.6, tND 0.04) and a poor one with tND > tIoU */
    float pred[4] = { 1, 3, 0.1f, 0.1f }, tgt[4] = { 2, 2, 0, 4 }, br[4], q[2];
    float iou1, nd1;
    tal_alqa_measure(0.1f, 0.1f, 0, 4, &iou1, &nd1);
    CHECK(nd1 > iou1);
    CHECK_EQ_INT(tal_alqa_outputs(TAL_ALQA_NONE), 0);
    CHECK_EQ_INT(tal_alqa_outputs(TAL_ALQA_TIOU), 1);
    CHECK_EQ_INT(tal_alqa_outputs(TAL_ALQA_DIOU), 1);
    CHECK_EQ_INT(tal_alqa_outputs(TAL_ALQA_TIOU_TND), 2);
    tal_alqa_targets(TAL_ALQA_TIOU, pred, tgt, 2, br, q);
    CHECK_NEAR(br[0], 0.6, 1e-6);
    CHECK_NEAR(q[0], 0.6, 1e-6);
    CHECK_NEAR(br[1], iou1, 1e-7);
    tal_alqa_targets(TAL_ALQA_DIOU, pred, tgt, 2, br, q);
    CHECK_NEAR(br[0], 0.56, 1e-6);
    CHECK_NEAR(q[0], 0.56, 1e-6);
    CHECK(br[1] == 0.0f && q[1] == TAL_ALQA_FLOOR);   /* negative DIoU: target 0, label floored */
    tal_alqa_targets(TAL_ALQA_TIOU_TND, pred, tgt, 2, br, q);
    CHECK_NEAR(br[0], 0.6, 1e-6);
    CHECK_NEAR(br[1], 0.04, 1e-6);
    CHECK_NEAR(br[2], iou1, 1e-7);
    CHECK_NEAR(br[3], nd1, 1e-7);
    CHECK_NEAR(q[0], 0.56, 1e-6);
    CHECK(q[1] == TAL_ALQA_FLOOR);
}

TEST(alqa_reliability_host_matches_graph)
{
    /* logits of 4 positions, 2 outputs, channel-first as the head writes them */
    float ql[8] = { 0.3f, -1.0f, 2.0f, 0.0f, /* tIoU */ -2.0f, 1.5f, -4.0f, 0.0f /* tND */ };
    float rows[8];
    for (int t = 0; t < 4; t++)
        for (int k = 0; k < 2; k++)
            rows[2 * t + k] = ql[k * 4 + t];
    for (int kind = TAL_ALQA_TIOU; kind <= TAL_ALQA_TIOU_TND; kind++) {
        int nq = tal_alqa_outputs(kind);
        float in[8], r[4];
        for (int t = 0; t < 4; t++)
            for (int k = 0; k < nq; k++)
                in[t * nq + k] = rows[2 * t + k];
        tal_graph *g = tal_graph_new(NULL);
        tal_tensor_download(g, tal_alqa_reliability(g, kind, tal_tensor_from(g, 2, (int64_t[]){ 4, nq }, in)), r);
        for (int t = 0; t < 4; t++) {
            float prob[2];
            float h = tal_alqa_reliability_at(kind, ql + t, 4, prob);
            CHECK_MSG(fabsf(h - r[t]) < 1e-6f, "kind %d position %d: host %g graph %g", kind, t, h, r[t]);
            CHECK(h >= TAL_ALQA_FLOOR);
        }
        tal_graph_free(g);
    }
    float prob[2];
    /* tIoU 0.5 against tND 0.5: floored */
    CHECK(tal_alqa_reliability_at(TAL_ALQA_TIOU_TND, ql + 3, 4, prob) == TAL_ALQA_FLOOR);
}

/* ---- the detector ------------------------------------------------------------------ */

enum { D = 6, C = 3, T = 64 };

static void make_records(tal_header *h, tal_record rec[2])
{
    fixture_header(h, C, D);   /* 30 fps, stride 4, clip 16 */
    tal_rng r;
    tal_rng_seed(&r, 5);
    static const double seg[2][2][3] = { { { 1.0, 2.5, 0 }, { 4.0, 6.0, 2 } }, { { 0.5, 3.5, 1 }, { 5.0, 5.8, 1 } } };
    for (int i = 0; i < 2; i++) {
        tal_record_init(&rec[i]);
        tal_record_set_id(&rec[i], i ? "b" : "a");
        rec[i].supervision = TAL_SUP_FULL;
        rec[i].duration = T * 4 / 30.0;
        tal_record_alloc_features(&rec[i], T, D);
        for (size_t k = 0; k < (size_t)T * D; k++)
            rec[i].feat[k] = (float)tal_rng_normal(&r);
        rec[i].present |= TAL_HAS_SEGMENTS;
        for (int s = 0; s < 2; s++) {
            tal_segment sg = { seg[i][s][0], seg[i][s][1], 1.0, (int32_t)seg[i][s][2], 0, { 0 } };
            tal_segset_push(&rec[i].segs, &sg);
        }
    }
}

static tal_detector *tiny_af(const tal_header *h, const char *branches, int soft)
{
    char b[64], sl[64];
    snprintf(b, sizeof b, "alqa.branches=%s", branches);
    snprintf(sl, sizeof sl, "alqa.soft_label=%s", soft ? "true" : "false");
    const char *sets[] = { "model.channels=8", "model.heads=2", "model.window=5", "model.stem_blocks=1",
                           "model.branch_blocks=2", "model.head_layers=1", "model.max_seq_len=64",
                           "model.drop_path=0", "train.crop_ratio=[]", "train.ema_decay=0", "loss.init_loss_norm=1", b, sl };
    tal_det_config cfg;
    if (tal_det_config_load(&cfg, NULL, 0, sets, (int)(sizeof sets / sizeof *sets)))
        return NULL;
    tal_detector *d = tal_detector_new(&cfg, h, NULL);
    tal_rng r;
    tal_rng_seed(&r, 3);
    if (d && tal_detector_init(d, &r)) {
        tal_detector_free(d);
        return NULL;
    }
    return d;
}

/* the loss of the batch from a fixed state (the positive-count
 * normalisers move with every call) */
static double loss_at(tal_detector *d, const tal_record *const *batch, int want_grad, tal_loss_log *log)
{
    double keep[2] = { d->state[0], d->state[1] };
    tal_graph *g = tal_graph_new(NULL);
    tal_graph_set_training(g, 1);
    tal_rng r;
    tal_rng_seed(&r, 1);
    if (want_grad)
        tal_params_zero_grad(d->P);
    tal_tensor *loss = tal_detector_loss(d, g, batch, 2, &r, log);
    double v = loss ? log->total : NAN;
    if (loss && want_grad && (tal_backward(g, loss) || (tal_params_finish_grads(d->P), 0)))
        v = NAN;
    tal_graph_free(g);
    d->state[0] = keep[0];
    d->state[1] = keep[1];
    return v;
}

TEST(alqa_loss_gradient_by_finite_differences)
{
    tal_header h;
    tal_record rec[2];
    make_records(&h, rec);
    const tal_record *batch[2] = { &rec[0], &rec[1] };
    static const char *variants[] = { "tiou", "diou", "tiou-tnd" };
    for (int v = 0; v < 3; v++) {
        tal_detector *d = tiny_af(&h, variants[v], 1);
        CHECK_MSG(d, "%s", tal_errmsg());
        tal_loss_log log;
        double l0 = loss_at(d, batch, 1, &log);
        CHECK_MSG(isfinite(l0), "%s", tal_errmsg());
        CHECK(log.positives > 4);
        CHECK_STR(log.name[2], "q");
        CHECK(log.value[2] > 0);
        size_t N = tal_params_size(d->P);
        float *p = tal_params_data(d->P), *gr = malloc(N * sizeof *gr);
        memcpy(gr, tal_params_grads(d->P), N * sizeof *gr);
        static const char *names[] = { "reg_head.quality_head.conv.weight", "reg_head.quality_head.conv.bias",
                                       "cls_head.cls_head.conv.bias", "cls_head.cls_head.conv.weight" };
        int checked = 0;
        for (int i = 0; i < tal_params_count(d->P); i++) {
            tal_tensor *t = tal_params_get(d->P, i);
            int want = 0;
            for (int k = 0; k < 4; k++)
                want |= !strcmp(t->name, names[k]);
            if (!want)
                continue;
            size_t off = tal_params_offset(d->P, i);
            for (int64_t e = 0; e < tal_numel(t); e += 5) {
                float keep = p[off + e];
                float hstep = 2e-2f;
                p[off + e] = keep + hstep;
                double hi = loss_at(d, batch, 0, &log);
                p[off + e] = keep - hstep;
                double lo = loss_at(d, batch, 0, &log);
                p[off + e] = keep;
                double num = (hi - lo) / (2.0 * hstep), ana = gr[off + e];
                CHECK_MSG(fabs(num - ana) <= 3e-2 * fabs(num) + 1e-5, "%s %s[%lld]: analytic %.6g, numerical %.6g",
                          variants[v], t->name, (long long)e, ana, num);
                checked++;
            }
        }
        CHECK(checked > 10);
        free(gr);
        tal_detector_free(d);
    }
    tal_record_free(&rec[0]);
    tal_record_free(&rec[1]);
    tal_header_free(&h);
}

TEST(alqa_detections_carry_quality_and_joint_scores)
{
    tal_header h;
    tal_record rec[2];
    make_records(&h, rec);
    for (int v = 0; v < 2; v++) {
        tal_detector *d = tiny_af(&h, v ? "tiou-tnd" : "tiou", 0);
        CHECK_MSG(d, "%s", tal_errmsg());
        /* no suppression: the scores as decoded */
        d->cfg.nms_method = 0;
        d->cfg.iou_thresh = 1;
        tal_graph *g = tal_graph_new(NULL);
        tal_segset dets = { 0 };
        CHECK_MSG(!tal_detector_detect(d, g, &rec[0], &dets, NULL), "%s", tal_errmsg());
        CHECK(dets.n > 0);
        uint32_t want = 1u << TAL_Q_CLS | 1u << TAL_Q_TIOU | (v ? 1u << TAL_Q_TND : 0);
        CHECK_EQ_INT(dets.qmask, want);
        for (uint32_t i = 0; i < dets.n; i++) {
            const tal_segment *s = &dets.v[i];
            double r = fmax(v ? s->q[TAL_Q_TIOU] - s->q[TAL_Q_TND] : s->q[TAL_Q_TIOU], 1e-3);
            CHECK_MSG(fabs(s->score - s->q[TAL_Q_CLS] * r) <= 1e-6 * (1 + s->score), "detection %u: score %g, cls %g x r %g",
                      i, s->score, s->q[TAL_Q_CLS], r);
        }
        free(dets.v);
        tal_graph_free(g);
        tal_detector_free(d);
    }
    /* a checkpoint's config with the soft label but no branches is refused */
    tal_det_config cfg;
    const char *bad[] = { "alqa.soft_label=true" };
    CHECK(tal_det_config_load(&cfg, NULL, 0, bad, 1) == TAL_EINVAL);
    const char *bad2[] = { "model.kind=spot", "alqa.branches=tiou" };
    CHECK(tal_det_config_load(&cfg, NULL, 0, bad2, 2) == TAL_EINVAL);
    tal_record_free(&rec[0]);
    tal_record_free(&rec[1]);
    tal_header_free(&h);
}
