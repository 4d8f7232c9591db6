/* af_detector.c — the ActionFormer-style detector (reference-methods.md §1):
 * the backbone and heads of af_backbone.c, label assignment and crops of
 * af_targets.c, sigmoid focal + DIoU losses normalised by a moving average
 * of the positive count, and decoding (af_decode.c) + Soft-NMS (post/nms.c).
 *
 * With APL's quality branches (alqa.*, af_quality.h) the loss adds L_q
 * and may classify by the quality focal loss on the joint score, and
 * detections are ranked by the joint score and carry the quality fields.
 *
 * Training batches are cropped, then padded to the longest sequence in the
 * batch rounded up to 2^branch_blocks (ActionFormer pads to max_seq_len;
 * masks make the two equivalent, and the shorter padding is faster).
 */
#include "detector.h"
#include "acp.h"
#include "af_backbone.h"
#include "af_decode.h"
#include "af_quality.h"
#include "af_semi.h"
#include "af_targets.h"
#include "../nn/init.h"
#include "../nn/ops.h"
#include "../post/nms.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    tal_af_model m;
    tal_af_assign_cfg assign;
    tal_nms_ws *nms;
    /* host scratch, reused between steps */
    float *x, *mask, *cls_t, *reg_t, *reg_pos, *host, *w, *qpred, *qbranch, *qsoft;
    int32_t *acp_rows, *acp_lab;
    uint8_t *pos;
    int32_t *pos_idx;
    tal_af_seg *segs;
    size_t x_cap, mask_cap, cls_cap, reg_cap, pos_cap, idx_cap, regpos_cap, host_cap, seg_cap, w_cap, qpred_cap,
        qbranch_cap, qsoft_cap, acp_rows_cap, acp_lab_cap;
} af_state;

/* the loss normalisers in d->state: of the labelled records, and of the
 * pseudo-labelled ones (semi-supervised training) */
#define NORM 0
#define NORM_U 1

static af_state *S(tal_detector *d) { return d->model; }

static int af_define(tal_detector *d)
{
    af_state *s = tal_calloc(1, sizeof *s);
    if (!s)
        return TAL_ENOMEM;
    d->model = s;
    const tal_det_config *c = &d->cfg;
    int levels = c->branch_blocks + 1;
    tal_af_assign_default(&s->assign, levels);
    s->assign.center_radius = (float)c->center_radius;
    for (int l = 0; l < levels && c->n_reg_range; l++) {
        s->assign.reg_lo[l] = (float)c->reg_range[2 * l];
        s->assign.reg_hi[l] = (float)c->reg_range[2 * l + 1];
    }
    d->nstate = 2;
    d->state_name[NORM] = "loss_norm";
    d->state[NORM] = c->init_loss_norm;
    d->state_name[NORM_U] = "loss_norm_pseudo";
    d->state[NORM_U] = c->init_loss_norm;
    if (!(s->nms = tal_nms_ws_new()))
        return TAL_ENOMEM;
    tal_af_config bc = tal_af_config_of(&d->cfg, d->input_dim, d->num_classes);
    return tal_af_define(&s->m, d->P, &bc);
}

static int af_init(tal_detector *d, tal_rng *r) { return tal_af_init(&S(d)->m, d->P, r); }

static void af_free(tal_detector *d)
{
    af_state *s = S(d);
    if (!s)
        return;
    tal_nms_ws_free(s->nms);
    free(s->x);
    free(s->mask);
    free(s->cls_t);
    free(s->reg_t);
    free(s->reg_pos);
    free(s->host);
    free(s->w);
    free(s->qpred);
    free(s->qbranch);
    free(s->qsoft);
    free(s->acp_rows);
    free(s->acp_lab);
    free(s->pos);
    free(s->pos_idx);
    free(s->segs);
    free(s);
    d->model = NULL;
}

/* A record's instances on its feature grid (ambiguous ones left out).  Of
 * a pseudo-labelled record, the pseudo instances: candidates are tagged
 * with class + C, so that they go through the crop with the positives and
 * can be told apart after it. */
static int record_segments(tal_detector *d, const tal_record *r, int *nseg)
{
    af_state *s = S(d);
    tal_grid g = tal_detector_grid(d, r);
    if (tal_reserve(&s->segs, &s->seg_cap, r->segs.n ? r->segs.n : 1, sizeof *s->segs))
        return TAL_ENOMEM;
    int n = 0, pseudo = r->supervision == TAL_SUP_NONE;
    for (uint32_t i = 0; i < r->segs.n; i++) {
        const tal_segment *x = &r->segs.v[i];
        if ((x->flags & TAL_SEG_AMBIGUOUS) || x->cls < 0 || (pseudo && !(x->flags & TAL_SEG_PSEUDO)))
            continue;
        int cls = pseudo && (x->flags & TAL_SEG_CANDIDATE) ? x->cls + d->num_classes : x->cls;
        double a = fmin(x->start, x->end), b = fmax(x->start, x->end);
        s->segs[n++] = (tal_af_seg){ (float)tal_grid_from_sec(&g, a), (float)tal_grid_from_sec(&g, b), cls };
    }
    *nseg = n;
    return 0;
}

/* Move the candidates (class >= C) of segs[0..n) to cand, keeping the
 * positives in place; returns the number of positives. */
static int split_candidates(tal_af_seg *segs, int n, int C, tal_af_seg *cand, int *ncand)
{
    int kept = 0;
    *ncand = 0;
    for (int i = 0; i < n; i++) {
        if (segs[i].cls >= C)
            cand[(*ncand)++] = (tal_af_seg){ segs[i].start, segs[i].end, segs[i].cls - C };
        else
            segs[kept++] = segs[i];
    }
    return kept;
}

/* The pseudo-labelled part of a batch: its targets and weights (af_semi.h). */
static int pseudo_targets(tal_detector *d, const tal_record *rec, int start, int len, int T, tal_af_seg *segs, int npos_seg,
                          tal_af_seg *cand, int ncand, tal_rng *r, float *y, float *reg, uint8_t *pos, float *w,
                          int *positives)
{
    af_state *s = S(d);
    const tal_det_config *c = &d->cfg;
    int C = d->num_classes;
    int64_t npos = tal_af_positions(&s->assign, T);
    *positives = tal_af_assign(&s->assign, T, len, segs, npos_seg, C, y, reg, pos);
    /* the positions candidates claim (their targets are not used) */
    float *cy = tal_malloc((size_t)npos * C * sizeof *cy), *creg = tal_malloc((size_t)npos * 2 * sizeof *creg);
    uint8_t *cpos = tal_malloc((size_t)npos);
    int rc = cy && creg && cpos ? 0 : TAL_ENOMEM;
    if (!rc)
        tal_af_assign(&s->assign, T, len, cand, ncand, C, cy, creg, cpos);
    const float *dist = NULL;
    if (!rc && (rec->present & TAL_HAS_DIST)) {
        if (rec->dist_T != rec->T || rec->dist_K != (uint32_t)C + 1)
            rc = tal_err(TAL_EINVAL, "pseudo-labelled sequence '%s': distributions of %u x %u for %u snippets, %d "
                         "classes and background", rec->id, rec->dist_T, rec->dist_K, rec->T, C);
        dist = rec->dist + (size_t)start * (C + 1);
    }
    if (!rc) {
        tal_af_semi_cfg sc = { c->semi_loss, c->semi_lambda, c->semi_pos, c->semi_neg };
        rc = tal_af_semi_targets(&sc, s->assign.nlevels, T, len, C, dist, cpos, pos, r, y, w);
        if (rc && tal_errcode() == TAL_EINVAL)
            rc = tal_err_wrap(rc, "pseudo-labelled sequence '%s'", rec->id);
    }
    free(cy);
    free(creg);
    free(cpos);
    return rc;
}

/* The class of snippet t among segments on the crop's grid: the shortest
 * segment holding it, C (background) when none does; -1 inside a
 * candidate (of a pseudo-labelled sequence: not known either way). */
static int32_t class_at(const tal_af_seg *segs, int n, const tal_af_seg *cand, int ncand, int C, double t)
{
    for (int i = 0; i < ncand; i++)
        if (t >= cand[i].start && t <= cand[i].end)
            return -1;
    int32_t best = C;
    double len = INFINITY;
    for (int i = 0; i < n; i++)
        if (t >= segs[i].start && t <= segs[i].end && segs[i].end - segs[i].start < len) {
            len = segs[i].end - segs[i].start;
            best = segs[i].cls;
        }
    return best;
}

/* APL's L_acp after pre-training (acp.weight): frames drawn as in
 * pre-training, labelled by their true or pseudo classes; coarse: action
 * or background within a sequence, fine: class (background one more)
 * across the batch. */
static tal_tensor *acp_term(tal_detector *d, tal_graph *g, tal_tensor *const *fpn, int L, const tal_record *const *batch,
                            int B, int T, const int *len, tal_af_seg *const *segs, const int *nseg,
                            tal_af_seg *const *cand, const int *ncand, tal_rng *r)
{
    af_state *s = S(d);
    const tal_det_config *c = &d->cfg;
    int P = c->acp_partitions, C = d->num_classes;
    size_t M = (size_t)B * P;
    int *nf = tal_calloc((size_t)B, sizeof *nf);
    int32_t *pos = tal_malloc((size_t)P * sizeof *pos);
    if (!nf || !pos || tal_reserve(&s->acp_rows, &s->acp_rows_cap, M, sizeof *s->acp_rows) ||
        tal_reserve(&s->acp_lab, &s->acp_lab_cap, 2 * M, sizeof *s->acp_lab)) {
        free(nf);
        free(pos);
        return NULL;
    }
    int m = 0;
    int32_t *coarse_lab = s->acp_lab, *fine_lab = s->acp_lab + M;
    /* fine labels first, coarse ones from them after: the coarse labels of
     * one sequence must be contiguous, and so they are */
    for (int b = 0; b < B; b++) {
        if (batch[b]->supervision == TAL_SUP_NONE && !c->acp_on_pseudo)
            continue;
        int n = tal_acp_sample(r, len[b], P, pos);
        for (int i = 0; i < n; i++) {
            int32_t k = class_at(segs[b], nseg[b], cand[b], ncand[b], C, pos[i]);
            if (k < 0)
                continue;
            s->acp_rows[m] = b * T + pos[i];
            fine_lab[m] = k;
            coarse_lab[m] = k < C;
            m++;
            nf[b]++;
        }
    }
    tal_tensor *out = NULL;
    if (m >= 2) {
        tal_tensor *z = tal_acp_embed(g, fpn, L, B, T, s->acp_rows, m), *co, *fi;
        tal_acp_contrast(g, z, B, nf, coarse_lab, fine_lab, (float)c->acp_tau, &co, &fi);
        out = co && fi ? tal_add(g, co, fi) : co ? co : fi;
    }
    free(nf);
    free(pos);
    return out;
}

static tal_tensor *af_loss(tal_detector *d, tal_graph *g, const tal_record *const *batch, int B, tal_rng *r,
                           tal_loss_log *log)
{
    af_state *s = S(d);
    const tal_det_config *c = &d->cfg;
    int C = d->num_classes, D = d->input_dim;
    /* crops first: they decide the padded length */
    int *start = tal_malloc((size_t)B * sizeof *start), *len = tal_malloc((size_t)B * sizeof *len);
    int *nseg = tal_malloc((size_t)B * sizeof *nseg), *ncand = tal_calloc((size_t)B, sizeof *ncand);
    tal_af_seg **segs = tal_calloc((size_t)B, sizeof *segs), **cand = tal_calloc((size_t)B, sizeof *cand);
    /* each record's crop and pseudo-label draws: by its global row (graph.h) */
    tal_rng *rr = tal_malloc((size_t)B * sizeof *rr);
    tal_tensor *out = NULL;
    int has_pseudo = 0;
    if (!start || !len || !nseg || !ncand || !segs || !cand || !rr)
        goto done;
    int Tmax = 1;
    double lo = c->n_crop_ratio == 2 ? c->crop_ratio[0] : 1, hi = c->n_crop_ratio == 2 ? c->crop_ratio[1] : 1;
    for (int b = 0; b < B; b++) {
        const tal_record *rec = batch[b];
        tal_grid g0 = tal_detector_grid(d, rec);
        double offset = 0.5 * g0.clip / g0.stride;   /* half a clip, in snippets */
        size_t sz = (size_t)1 + rec->segs.n;
        if (record_segments(d, rec, &nseg[b]) || !(segs[b] = tal_malloc(sz * sizeof **segs)) ||
            !(cand[b] = tal_malloc(sz * sizeof **cand)))
            goto done;
        memcpy(segs[b], s->segs, (size_t)nseg[b] * sizeof **segs);
        rr[b] = tal_graph_row_rng(g, r, b);
        nseg[b] = tal_af_crop(&rr[b], (int)rec->T, c->max_seq_len, lo, hi, c->trunc_thresh, offset, segs[b], nseg[b],
                              &start[b], &len[b]);
        if (rec->supervision == TAL_SUP_NONE) {
            has_pseudo = 1;
            nseg[b] = split_candidates(segs[b], nseg[b], C, cand[b], &ncand[b]);
        }
        if (len[b] > Tmax)
            Tmax = len[b];
    }
    int T = tal_af_padded(Tmax, c->branch_blocks);
    int64_t npos = tal_af_positions(&s->assign, T);
    if (tal_reserve(&s->x, &s->x_cap, (size_t)B * D * T, sizeof *s->x) ||
        tal_reserve(&s->mask, &s->mask_cap, (size_t)B * T, sizeof *s->mask) ||
        tal_reserve(&s->cls_t, &s->cls_cap, (size_t)B * npos * C, sizeof *s->cls_t) ||
        tal_reserve(&s->reg_t, &s->reg_cap, (size_t)B * npos * 2, sizeof *s->reg_t) ||
        tal_reserve(&s->pos, &s->pos_cap, (size_t)B * npos, sizeof *s->pos) ||
        (has_pseudo && tal_reserve(&s->w, &s->w_cap, (size_t)2 * B * npos * C, sizeof *s->w)))
        goto done;
    /* features channel-first, zero padding; masks; targets */
    memset(s->x, 0, (size_t)B * D * T * sizeof *s->x);
    memset(s->mask, 0, (size_t)B * T * sizeof *s->mask);
    int positives = 0, upositives = 0;
    for (int b = 0; b < B; b++) {
        tal_af_fill_input(s->x + (size_t)b * D * T, s->mask + (size_t)b * T, batch[b]->feat + (size_t)start[b] * D,
                          len[b], D, T);
        float *yb = s->cls_t + (size_t)b * npos * C, *rb = s->reg_t + (size_t)b * npos * 2;
        uint8_t *pb = s->pos + (size_t)b * npos;
        if (batch[b]->supervision != TAL_SUP_NONE) {
            positives += tal_af_assign(&s->assign, T, len[b], segs[b], nseg[b], C, yb, rb, pb);
            if (c->label_smoothing > 0) {
                float e = (float)c->label_smoothing;
                for (size_t i = 0; i < (size_t)npos * C; i++)
                    yb[i] = yb[i] * (1 - e) + e / (float)(C + 1);
            }
            if (has_pseudo) {   /* weights: this row counts in the labelled sum only */
                for (size_t i = 0; i < (size_t)npos * C; i++) {
                    s->w[(size_t)b * npos * C + i] = 1.0f;
                    s->w[(size_t)(B + b) * npos * C + i] = 0.0f;
                }
            }
        } else {
            int p = 0;
            float *wu = s->w + (size_t)(B + b) * npos * C;
            if (pseudo_targets(d, batch[b], start[b], len[b], T, segs[b], nseg[b], cand[b], ncand[b], &rr[b], yb, rb, pb,
                               wu, &p))
                goto done;
            upositives += p;
            memset(s->w + (size_t)b * npos * C, 0, (size_t)npos * C * sizeof *s->w);
        }
    }
    /* the regression targets and indices of the positive positions,
     * labelled ones first, then pseudo-labelled ones */
    if (tal_reserve(&s->pos_idx, &s->idx_cap, (size_t)B * npos, sizeof *s->pos_idx) ||
        tal_reserve(&s->reg_pos, &s->regpos_cap, (size_t)B * npos * 2, sizeof *s->reg_pos))
        goto done;
    int P = 0, Pl = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int b = 0; b < B; b++) {
            if ((batch[b]->supervision == TAL_SUP_NONE) != pass)
                continue;
            for (int64_t i = (int64_t)b * npos; i < (int64_t)(b + 1) * npos; i++)
                if (s->pos[i]) {
                    s->pos_idx[P] = (int32_t)i;
                    s->reg_pos[2 * P] = s->reg_t[2 * i];
                    s->reg_pos[2 * P + 1] = s->reg_t[2 * i + 1];
                    P++;
                }
        }
        if (!pass)
            Pl = P;
    }

    tal_tensor *x = tal_tensor_from(g, 3, (int64_t[]){ B, D, T }, s->x);
    tal_tensor *m = tal_tensor_from(g, 2, (int64_t[]){ B, T }, s->mask);
    tal_tensor *cls[TAL_AF_MAX_LEVELS], *reg[TAL_AF_MAX_LEVELS], *qual[TAL_AF_MAX_LEVELS], *masks[TAL_AF_MAX_LEVELS];
    tal_tensor *fpn[TAL_AF_MAX_LEVELS];
    int nq = tal_alqa_outputs(c->alqa_branches);
    int L = tal_af_forward_q(g, &s->m, x, m, cls, reg, nq ? qual : NULL, c->acp_weight > 0 ? fpn : NULL, masks);
    if (L < 0)
        goto done;
    tal_tensor *acp_loss = c->acp_weight > 0 ? acp_term(d, g, fpn, L, batch, B, T, len, segs, nseg, cand, ncand, r)
                                             : NULL;
    tal_tensor *ct[TAL_AF_MAX_LEVELS], *rt[TAL_AF_MAX_LEVELS], *qt[TAL_AF_MAX_LEVELS];
    for (int l = 0; l < L; l++) {
        ct[l] = tal_transpose(g, cls[l], 1, 2);     /* (B,T_l,C) */
        rt[l] = tal_transpose(g, reg[l], 1, 2);     /* (B,T_l,2) */
        if (nq)
            qt[l] = tal_transpose(g, qual[l], 1, 2);    /* (B,T_l,nq) */
    }
    tal_tensor *regs = P ? tal_reshape(g, tal_concat(g, L, rt, 1), 2, (int64_t[]){ (int64_t)B * npos, 2 }) : NULL;
    tal_tensor *quals = nq ? tal_reshape(g, tal_concat(g, L, qt, 1), 2, (int64_t[]){ (int64_t)B * npos, nq }) : NULL;
    /* ALQA: the quality of each positive position's decoded segment,
     * measured on the regression head's prediction (data, no gradient):
     * the branches' targets, and the soft labels of the joint score */
    tal_tensor *q_loss = NULL, *uq_loss = NULL;
    if (nq && P) {
        if (tal_reserve(&s->qpred, &s->qpred_cap, (size_t)P * 2, sizeof *s->qpred) ||
            tal_reserve(&s->qbranch, &s->qbranch_cap, (size_t)P * nq, sizeof *s->qbranch) ||
            tal_reserve(&s->qsoft, &s->qsoft_cap, (size_t)P, sizeof *s->qsoft))
            goto done;
        if (tal_tensor_download(g, tal_gather(g, regs, 0, s->pos_idx, P), s->qpred))
            goto done;
        tal_alqa_targets(c->alqa_branches, s->qpred, s->reg_pos, P, s->qbranch, s->qsoft);
        tal_tensor *qpos = tal_gather(g, quals, 0, s->pos_idx, P);
        tal_tensor *bce = tal_bce_logits(g, qpos, tal_tensor_from(g, 2, (int64_t[]){ P, nq }, s->qbranch));
        if (Pl)
            q_loss = tal_sum_all(g, tal_slice(g, bce, 0, 0, Pl));
        if (P > Pl)
            uq_loss = tal_sum_all(g, tal_slice(g, bce, 0, Pl, P));
        if (c->alqa_soft_label)   /* y_soft = y x max(tIoU - tND, 1e-3) (or the variant's quality) */
            for (int k = 0; k < P; k++) {
                float *yk = s->cls_t + (size_t)s->pos_idx[k] * C;
                for (int j = 0; j < C; j++)
                    yk[j] *= s->qsoft[k];
            }
    }
    tal_tensor *logits = tal_concat(g, L, ct, 1);                          /* (B,npos,C) */
    tal_tensor *valid = tal_reshape(g, tal_concat(g, L, masks, 1), 3, (int64_t[]){ B, npos, 1 });
    tal_tensor *y = tal_tensor_from(g, 3, (int64_t[]){ B, npos, C }, s->cls_t);
    tal_tensor *focal;
    if (c->alqa_soft_label) {
        /* APL eq. 5 (reading): the quality focal loss on the joint score
         * P_cls x r; it trains the branches through r as well */
        tal_tensor *r = tal_reshape(g, tal_alqa_reliability(g, c->alqa_branches, quals), 3, (int64_t[]){ B, npos, 1 });
        tal_tensor *joint = tal_mul(g, tal_sigmoid(g, logits), r);
        focal = tal_mul(g, tal_quality_focal_prob(g, joint, y, (float)c->alqa_beta), valid);
    } else {
        focal = tal_mul(g, tal_sigmoid_focal(g, logits, y, (float)c->focal_alpha, (float)c->focal_gamma), valid);
    }
    tal_tensor *cls_loss, *ucls_loss = NULL;
    if (has_pseudo) {
        int64_t shp[3] = { B, npos, C };
        cls_loss = tal_sum_all(g, tal_mul(g, focal, tal_tensor_from(g, 3, shp, s->w)));
        ucls_loss = tal_sum_all(g, tal_mul(g, focal, tal_tensor_from(g, 3, shp, s->w + (size_t)B * npos * C)));
    } else {
        cls_loss = tal_sum_all(g, focal);
    }
    tal_tensor *reg_loss = NULL, *ureg_loss = NULL;
    if (P) {
        if (Pl) {
            tal_tensor *pred = tal_gather(g, regs, 0, s->pos_idx, Pl);
            tal_tensor *tgt = tal_tensor_from(g, 2, (int64_t[]){ Pl, 2 }, s->reg_pos);
            reg_loss = tal_sum_all(g, tal_diou_1d(g, pred, tgt));
        }
        if (P > Pl) {
            tal_tensor *pred = tal_gather(g, regs, 0, s->pos_idx + Pl, P - Pl);
            tal_tensor *tgt = tal_tensor_from(g, 2, (int64_t[]){ P - Pl, 2 }, s->reg_pos + 2 * Pl);
            ureg_loss = tal_sum_all(g, tal_diou_1d(g, pred, tgt));
        }
    }
    /* ActionFormer: N <- m N + (1 - m) max(#positives, 1), before use;
     * the pseudo-labelled records have a normaliser of their own */
    double mom = c->loss_norm_momentum, count[2] = { positives, upositives };   /* the whole batch's */
    if (tal_graph_batch_sum(g, count, 2))
        goto done;
    d->state[NORM] = mom * d->state[NORM] + (1 - mom) * (count[0] > 1 ? count[0] : 1);
    double norm = d->state[NORM], unorm = 1;
    if (has_pseudo) {
        d->state[NORM_U] = mom * d->state[NORM_U] + (1 - mom) * (count[1] > 1 ? count[1] : 1);
        unorm = d->state[NORM_U];
    }
    /* the terms, the labelled records' first; those of the pseudo-labelled
     * records are logged only in a semi-supervised step, L_q only with
     * the branches */
    enum { NTERM = 7 };
    tal_tensor *term[NTERM] = { cls_loss, reg_loss, q_loss, ucls_loss, ureg_loss, uq_loss, acp_loss };
    double aw = c->alqa_weight, sw = c->semi_weight;
    double weight[NTERM] = { 1.0 / norm, c->reg_weight / norm, aw / norm,
                             sw / unorm, sw * c->reg_weight / unorm, sw * aw / unorm, c->acp_weight };
    static const char *name[NTERM] = { "cls", "reg", "q", "u_cls", "u_reg", "u_q", "acp" };
    int logged[NTERM];
    log->n = 0;
    for (int i = 0; i < NTERM; i++) {
        if (i == 6 ? !(c->acp_weight > 0) : (i % 3 == 2 && !nq) || (i >= 3 && !has_pseudo))
            continue;
        logged[log->n] = i;
        log->name[log->n++] = name[i];
        if (!term[i])
            continue;
        tal_tensor *t = tal_scale(g, term[i], (float)weight[i]);
        out = out ? tal_add(g, out, t) : t;
    }
    if (tal_graph_status(g)) {
        out = NULL;
        goto done;
    }
    for (int k = 0; k < log->n; k++) {
        int i = logged[k];
        float v = 0;
        if (term[i])
            tal_tensor_download(g, term[i], &v);
        log->value[k] = weight[i] * v;
    }
    float v = 0;
    tal_tensor_download(g, out, &v);
    log->total = v;
    log->positives = positives + upositives;
done:
    free(rr);
    for (int b = 0; b < B; b++) {
        if (segs)
            free(segs[b]);
        if (cand)
            free(cand[b]);
    }
    free(segs);
    free(cand);
    free(start);
    free(len);
    free(nseg);
    free(ncand);
    return out;
}

static int af_detect(tal_detector *d, tal_graph *g, const tal_record *rec, tal_segset *dets, tal_record *dist)
{
    af_state *s = S(d);
    const tal_det_config *c = &d->cfg;
    int C = d->num_classes, D = d->input_dim, Tv = (int)rec->T;
    int T = tal_af_padded(Tv, c->branch_blocks);
    if (tal_reserve(&s->x, &s->x_cap, (size_t)D * T, sizeof *s->x) ||
        tal_reserve(&s->mask, &s->mask_cap, (size_t)T, sizeof *s->mask))
        return TAL_ENOMEM;
    memset(s->x, 0, (size_t)D * T * sizeof *s->x);
    memset(s->mask, 0, (size_t)T * sizeof *s->mask);
    tal_af_fill_input(s->x, s->mask, rec->feat, Tv, D, T);
    tal_tensor *x = tal_tensor_from(g, 3, (int64_t[]){ 1, D, T }, s->x);
    tal_tensor *m = tal_tensor_from(g, 2, (int64_t[]){ 1, T }, s->mask);
    tal_tensor *cls[TAL_AF_MAX_LEVELS], *reg[TAL_AF_MAX_LEVELS], *qual[TAL_AF_MAX_LEVELS], *masks[TAL_AF_MAX_LEVELS];
    int nq = tal_alqa_outputs(c->alqa_branches);
    int L = tal_af_forward_q(g, &s->m, x, m, cls, reg, nq ? qual : NULL, NULL, masks);
    if (L < 0)
        return L;
    tal_af_decode_cfg dc = { (float)c->pre_nms_thresh, c->pre_nms_topk, (float)c->duration_thresh, c->alqa_branches };
    tal_segset_clear(dets);
    for (int l = 0; l < L; l++) {
        int stride = 1 << l, Tl = T / stride, valid = (Tv + stride - 1) / stride;
        if (tal_reserve(&s->host, &s->host_cap, (size_t)(C + 2 + nq) * Tl, sizeof *s->host))
            return TAL_ENOMEM;
        float *lg = s->host, *rg = s->host + (size_t)C * Tl, *qg = nq ? rg + (size_t)2 * Tl : NULL;
        int rc = tal_tensor_download(g, cls[l], lg);
        if (rc || (rc = tal_tensor_download(g, reg[l], rg)) || (nq && (rc = tal_tensor_download(g, qual[l], qg))))
            return rc;
        if ((rc = tal_af_decode_level(&dc, lg, rg, qg, C, Tl, valid, stride, dets)) < 0)
            return rc;
    }
    dets->qmask = tal_alqa_qmask(c->alqa_branches);
    if (dist) {
        /* snippet scores from the candidates' extents (af_decode.h) */
        int rc = tal_record_alloc_dist(dist, (uint32_t)Tv, (uint32_t)C + 1);
        if (rc)
            return rc;
        tal_af_coverage(dets, Tv, C, dist->dist);
    }
    tal_nms_opts no = { .method = c->nms_method, .sigma = c->nms_sigma, .iou_thresh = c->iou_thresh,
                        .min_score = c->min_score, .max_keep = (uint32_t)c->max_seg_num,
                        .class_agnostic = c->class_agnostic, .vote_iou = c->voting_iou };
    int rc = tal_nms(s->nms, dets, 0, &no);
    if (rc)
        return rc;
    tal_grid grid = tal_detector_grid(d, rec);
    tal_af_to_seconds(dets, &grid, rec->duration);
    return 0;
}

/* The loss is a sum over records divided by the batch's positive counts
 * (totalled over processes); L_acp contrasts frames across the batch. */
static int af_data_parallel(const tal_detector *d)
{
    if (d->cfg.acp_weight > 0)
        return tal_err(TAL_EINVAL, "acp.weight %g: L_acp contrasts frames across the records of a batch, which "
                       "does not split over processes: train with acp.weight=0 or as one process",
                       d->cfg.acp_weight);
    return 0;
}

const tal_det_ops tal_det_actionformer_ops = {
    .name = "actionformer",
    .trains_on = TAL_TRAINS_ON(TAL_SUP_FULL),
    .semi = 1,
    .define = af_define,
    .init = af_init,
    .loss = af_loss,
    .detect = af_detect,
    .data_parallel = af_data_parallel,
    .free = af_free,
};
