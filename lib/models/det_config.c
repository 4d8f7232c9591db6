/* det_config.c — the detector config schema and its checks (see det_config.h). */
#include "det_config.h"
#include "../util/error.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define F(k, t, m, d, ...) { .key = k, .type = t, .offset = offsetof(tal_det_config, m), .def = d, __VA_ARGS__ }
#define L(k, t, m, cnt, d, capn, ...)                                                                        \
    { .key = k, .type = t, .offset = offsetof(tal_det_config, m), .count_offset = offsetof(tal_det_config, cnt), \
      .def = d, .cap = capn, __VA_ARGS__ }

const tal_cfg_field tal_det_schema[] = {
    F("model.kind", TAL_CFG_ENUM, kind, "actionformer", .choices = "actionformer|spot|linear|ttc-loc|fs-ptal|icd|acp",
      .help = "detector: ActionFormer-style (anchor-free pyramid), SPOT-style (snippet classes + masks), the linear per-snippet baseline, TTC-Loc (video tags, predicted thresholds) or FS-PTAL (point supervision); or icd, APL's instance consistency discriminator (icd-filter); or acp, the ActionFormer-style backbone and neck alone for contrastive pre-training (tal-pretrain-acp)"),
    F("model.input_dim", TAL_CFG_INT, input_dim, "0", .min = 0, .max = 1 << 20,
      .help = "feature dimension; 0 takes the training stream's"),
    F("model.channels", TAL_CFG_INT, channels, "512", .min = 1, .max = 8192),
    F("model.embd_layers", TAL_CFG_INT, embd_layers, "2", .min = 1, .max = 4),
    F("model.stem_blocks", TAL_CFG_INT, stem_blocks, "2", .min = 0, .max = 8,
      .help = "stride-1 transformer blocks (SPOT-style: the whole encoder)"),
    F("model.branch_blocks", TAL_CFG_INT, branch_blocks, "5", .min = 0, .max = 8,
      .help = "stride-2 blocks: the pyramid has branch_blocks + 1 levels"),
    F("model.heads", TAL_CFG_INT, heads, "4", .min = 1, .max = 64),
    F("model.window", TAL_CFG_INT, window, "19", .min = 0, .max = 1025, .help = "local attention window; <= 1: global"),
    F("model.mlp_ratio", TAL_CFG_INT, mlp_ratio, "4", .min = 1, .max = 16),
    F("model.kernel", TAL_CFG_INT, kernel, "3", .min = 1, .max = 15),
    F("model.head_layers", TAL_CFG_INT, head_layers, "2", .min = 0, .max = 4),
    F("model.drop_path", TAL_CFG_FLOAT, drop_path, "0.1", .min = 0, .max = 0.99),
    F("model.layer_scale", TAL_CFG_FLOAT, layer_scale, "1e-4", .min = 0, .max = 10),
    F("model.prior", TAL_CFG_FLOAT, prior, "0.01", .min = 1e-9, .max = 0.999999),
    F("model.max_seq_len", TAL_CFG_INT, max_seq_len, "2304", .min = 1, .max = 1 << 24,
      .help = "training window: longer sequences are cropped to it"),
    L("model.reg_range", TAL_CFG_FLOATS, reg_range, n_reg_range, "[]", 2 * TAL_DET_MAX_LEVELS,
      .help = "per level: lower and upper bound of the larger boundary distance, in snippets; [] gives (0,4) (4,8) ... (.., 10000)"),
    F("model.center_radius", TAL_CFG_FLOAT, center_radius, "1.5", .min = 0, .max = 100),
    F("spot.temporal_scale", TAL_CFG_INT, temporal_scale, "256", .min = 8, .max = 4096,
      .help = "SPOT-style: every sequence is resampled to this many snippets"),
    F("spot.mask_bce_weight", TAL_CFG_FLOAT, mask_bce_weight, "0.4", .min = 0, .max = 1,
      .help = "mask loss = w x weighted BCE + (1 - w) x Dice"),
    F("spot.cls_weight", TAL_CFG_FLOAT, cls_weight, "0.5", .min = 0, .max = 100,
      .help = "weight of the snippet classification cross-entropy"),
    F("spot.recon_weight", TAL_CFG_FLOAT, recon_weight, "1", .min = 0, .max = 100,
      .help = "weight of the feature reconstruction MSE"),
    F("spot.resample", TAL_CFG_ENUM, resample, "linear", .choices = "linear|area",
      .help = "to the fixed scale: linear interpolation (SPOT's) or the mean over each output snippet's span"),
    F("spot.pos_encoding", TAL_CFG_BOOL, pos_encoding, "true",
      .help = "add sinusoidal positions after the embedding (the mask head needs to know where a snippet is)"),
    F("ttc.dropout", TAL_CFG_FLOAT, ttc_dropout, "0.7", .min = 0, .max = 0.99,
      .help = "TTC-Loc: dropout before the output layer"),
    F("ttc.bg_weight", TAL_CFG_FLOAT, ttc_bg_weight, "0", .min = 0, .max = 100,
      .help = "TTC-Loc: weight w_b of the background term of L_clas; 0: 1/C"),
    F("ttc.lambda", TAL_CFG_FLOAT, ttc_lambda, "0.2", .min = 0, .max = 1,
      .help = "TTC-Loc: L = lambda L_clas + (1 - lambda) L_reg + eta L_loc"),
    F("ttc.eta", TAL_CFG_FLOAT, ttc_eta, "3", .min = 0, .max = 1000, .help = "TTC-Loc: weight of L_loc"),
    F("ttc.pool", TAL_CFG_ENUM, ttc_pool, "gated", .choices = "gated|attention|topk",
      .help = "TTC-Loc video scores: gated pooling of class scores, class-agnostic attention sigmoid(-b), or the mean of the top T/topk_ratio scores per class (MIL)"),
    F("ttc.topk_ratio", TAL_CFG_INT, ttc_topk_ratio, "8", .min = 1, .max = 1 << 20,
      .help = "TTC-Loc: ttc.pool topk averages the max(1, T / this) largest scores"),
    F("ttc.gate", TAL_CFG_ENUM, ttc_gate, "sigmoid", .choices = "sigmoid|softsign|binary",
      .help = "TTC-Loc gate of s - b: sigmoid, softsign (x/(1+|x|)+1)/2, or binarisation with the straight-through gradient"),
    F("ttc.reg", TAL_CFG_ENUM, ttc_reg, "inner", .choices = "inner|l1|l2|cosine|none",
      .help = "TTC-Loc threshold regulariser L_reg (man tal-train)"),
    F("ttc.train_threshold", TAL_CFG_ENUM, ttc_train_threshold, "predicted", .choices = "predicted|manual",
      .help = "TTC-Loc: the gate in training compares s with the predicted b, or with (max + min) / 2 of the class's scores in the clip"),
    F("ttc.loc_classes", TAL_CFG_ENUM, ttc_loc_tagged, "all", .choices = "all|tagged",
      .help = "TTC-Loc: L_loc over every class (the paper's eq. 8), or only the classes the clip holds (a diagnostic)"),
    F("fs_ptal.dropout", TAL_CFG_FLOAT, fsp_dropout, "0.7", .min = 0, .max = 0.99,
      .help = "FS-PTAL: dropout before the class activation map (LACP's)"),
    F("fs_ptal.topk_ratio", TAL_CFG_INT, fsp_topk_ratio, "8", .min = 1, .max = 1 << 20,
      .help = "video scores: mean of the top T/ratio snippets"),
    F("fs_ptal.point_loss", TAL_CFG_BOOL, fsp_point_loss, "true",
      .help = "focal BCE at action points (annotated and mined) and background points (eq. 5-7)"),
    F("fs_ptal.mining", TAL_CFG_ENUM, fsp_mining, "fs-ptal", .choices = "none|fs-ptal|lacp",
      .help = "pseudo-label mining: none, FS-PTAL's Alg. 2, or LACP's rule"),
    F("fs_ptal.gamma_bkg", TAL_CFG_FLOAT, fsp_gamma_bkg, "0.85", .min = 0, .max = 1,
      .help = "background where the background score exceeds this (LACP: 0.95)"),
    F("fs_ptal.gamma_act", TAL_CFG_FLOAT, fsp_gamma_act, "0.25", .min = 0, .max = 1,
      .help = "mined action only where the background score is at most this (LACP: 0.1)"),
    F("fs_ptal.class_check", TAL_CFG_BOOL, fsp_class_check, "true",
      .help = "FS-PTAL's mining: a mined snippet's top class must be its neighbouring point's"),
    F("fs_ptal.mine_reach", TAL_CFG_ENUM, fsp_mine_reach, "gap", .choices = "gap|contiguous",
      .help = "FS-PTAL's mining: action anywhere between a point and the nearest background point (Alg. 2), or "
              "only where it grows outward from the point without a break"),
    F("fs_ptal.mined_trains_b", TAL_CFG_BOOL, fsp_mined_trains_b, "true",
      .help = "the point loss at mined action points and the score contrast train the background score (the "
              "paper); false: b enters them without gradient, so mining does not train the score it reads"),
    F("fs_ptal.score_contrast", TAL_CFG_BOOL, fsp_score_contrast, "true", .help = "the score contrast loss (eq. 8-9)"),
    F("fs_ptal.oic", TAL_CFG_ENUM, fsp_oic, "optimised", .choices = "optimised|original",
      .help = "outer flanks stop at neighbouring segments of the same class (optimised) or only at the sequence's ends"),
    F("fs_ptal.delta", TAL_CFG_FLOAT, fsp_delta, "0.25", .min = 0, .max = 10, .help = "outer flank width / segment length"),
    F("fs_ptal.feature_separation", TAL_CFG_BOOL, fsp_feature_sep, "true",
      .help = "the embedding, its attention on the features and the feature separation loss (eq. 10-14)"),
    F("fs_ptal.psi_same", TAL_CFG_FLOAT, fsp_psi_same, "0.9", .min = -1, .max = 1),
    F("fs_ptal.psi_diff", TAL_CFG_FLOAT, fsp_psi_diff, "0.1", .min = -1, .max = 1),
    F("fs_ptal.fs_points", TAL_CFG_INT, fsp_fs_points, "256", .min = 2, .max = 1 << 16,
      .help = "at most this many action and background points each (drawn at random) per sequence in the similarities"),
    F("fs_ptal.focal_gamma", TAL_CFG_FLOAT, fsp_focal_gamma, "2", .min = 0, .max = 10,
      .help = "exponent of the point loss's focal weights"),
    F("fs_ptal.lambda_vid", TAL_CFG_FLOAT, fsp_w_vid, "1", .min = 0, .max = 100),
    F("fs_ptal.lambda_point", TAL_CFG_FLOAT, fsp_w_point, "1", .min = 0, .max = 100),
    F("fs_ptal.lambda_score", TAL_CFG_FLOAT, fsp_w_score, "1", .min = 0, .max = 100),
    F("fs_ptal.lambda_fs", TAL_CFG_FLOAT, fsp_w_fs, "1", .min = 0, .max = 100),
    F("loss.focal_alpha", TAL_CFG_FLOAT, focal_alpha, "0.25", .min = -1, .max = 1, .help = "< 0: no alpha weighting"),
    F("loss.focal_gamma", TAL_CFG_FLOAT, focal_gamma, "2", .min = 0, .max = 10),
    F("loss.reg_weight", TAL_CFG_FLOAT, reg_weight, "1", .min = 0, .max = 100),
    F("loss.init_loss_norm", TAL_CFG_FLOAT, init_loss_norm, "100", .min = 1e-6, .max = 1e9),
    F("loss.loss_norm_momentum", TAL_CFG_FLOAT, loss_norm_momentum, "0.9", .min = 0, .max = 1),
    F("loss.label_smoothing", TAL_CFG_FLOAT, label_smoothing, "0", .min = 0, .max = 1),
    F("alqa.branches", TAL_CFG_ENUM, alqa_branches, "none", .choices = "none|tiou|diou|tiou-tnd",
      .help = "APL's localisation-quality branches beside the regression head: none, one predicting tIoU, one "
              "predicting tIoU - tND (DIoU), or two predicting tIoU and tND; with any, detections are ranked by "
              "the joint score P_cls x max(reliability, 1e-3)"),
    F("alqa.weight", TAL_CFG_FLOAT, alqa_weight, "0.1", .min = 0, .max = 100,
      .help = "weight of L_q, the branches' BCE against the tIoU/tND of the decoded segments"),
    F("alqa.soft_label", TAL_CFG_BOOL, alqa_soft_label, "false",
      .help = "classification by the quality focal loss on the joint score with soft labels max(tIoU - tND, 1e-3) "
              "(APL eq. 5) in place of the sigmoid focal loss; needs alqa.branches"),
    F("alqa.beta", TAL_CFG_FLOAT, alqa_beta, "2", .min = 0, .max = 10, .help = "exponent of the quality focal loss"),
    F("icd.hidden", TAL_CFG_INT, icd_hidden, "128", .min = 1, .max = 1 << 16,
      .help = "instance consistency discriminator: hidden units of its MLP on [f_i; f_j]"),
    F("icd.same", TAL_CFG_INT, icd_same, "10", .min = 0, .max = 1000,
      .help = "same-class partners drawn for each labelled instance per step"),
    F("icd.other", TAL_CFG_INT, icd_other, "10", .min = 0, .max = 1000,
      .help = "other-class partners drawn for each labelled instance per step"),
    F("acp.partitions", TAL_CFG_INT, acp_partitions, "32", .min = 2, .max = 1 << 16,
      .help = "contrastive pre-training: each sequence is cut into this many equal parts, one frame drawn from each"),
    F("acp.fine_k", TAL_CFG_INT, acp_fine_k, "4", .min = 2, .max = 1024,
      .help = "clusters of the fine contrast (over the batch's frames); the coarse contrast has 2 per sequence"),
    F("acp.tau", TAL_CFG_FLOAT, acp_tau, "0.1", .min = 1e-4, .max = 100, .help = "InfoNCE temperature"),
    F("acp.coarse", TAL_CFG_BOOL, acp_coarse, "true", .help = "the coarse (action vs background, per sequence) contrast"),
    F("acp.fine", TAL_CFG_BOOL, acp_fine, "true", .help = "the fine (between actions, over the batch) contrast"),
    F("acp.weight", TAL_CFG_FLOAT, acp_weight, "0", .min = 0, .max = 100,
      .help = "ActionFormer-style training: add L_acp with this weight, the snippets' true (and pseudo) classes in "
              "place of clusters (APL after pre-training: 0.1)"),
    F("acp.on_pseudo", TAL_CFG_BOOL, acp_on_pseudo, "true",
      .help = "with acp.weight: pseudo-labelled sequences take part too, by their pseudo classes"),
    F("acp.kmeans_iters", TAL_CFG_INT, acp_iters, "20", .min = 1, .max = 10000,
      .help = "Lloyd iterations of the clustering at most"),
    F("train.epochs", TAL_CFG_INT, epochs, "30", .min = 1, .max = 100000, .help = "epochs after the warmup"),
    F("train.warmup_epochs", TAL_CFG_INT, warmup_epochs, "5", .min = 0, .max = 100000),
    F("train.batch_size", TAL_CFG_INT, batch_size, "2", .min = 1, .max = 4096),
    F("train.optimizer", TAL_CFG_ENUM, optimizer, "adamw", .choices = "adamw|adam|sgd"),
    F("train.schedule", TAL_CFG_ENUM, schedule, "cosine", .choices = "constant|cosine|step"),
    F("train.lr", TAL_CFG_FLOAT, lr, "1e-4", .min = 0, .max = 100),
    F("train.weight_decay", TAL_CFG_FLOAT, weight_decay, "0.05", .min = 0, .max = 10),
    F("train.eta_min", TAL_CFG_FLOAT, eta_min, "1e-8", .min = 0, .max = 100),
    F("train.clip_grad", TAL_CFG_FLOAT, clip_grad, "1.0", .min = -1, .max = 1e9, .help = "<= 0: no clipping"),
    F("train.ema_decay", TAL_CFG_FLOAT, ema_decay, "0.999", .min = 0, .max = 1, .help = "0: no weight EMA"),
    L("train.crop_ratio", TAL_CFG_FLOATS, crop_ratio, n_crop_ratio, "[0.9, 1.0]", 2, .min = 0.01, .max = 1,
      .help = "random window length as a fraction of a sequence that fits; [] or [1, 1]: none"),
    F("train.trunc_thresh", TAL_CFG_FLOAT, trunc_thresh, "0.5", .min = 0, .max = 1),
    F("train.seed", TAL_CFG_INT, seed, "1234567891", .min = 0, .max = 2147483647),
    F("train.checkpoint_every", TAL_CFG_INT, checkpoint_every, "5", .min = 0, .max = 100000,
      .help = "epochs between checkpoints (0: only the last)"),
    F("semi.loss", TAL_CFG_ENUM, semi_loss, "hard", .choices = "hard|soft|complementary|nontarget",
      .help = "pseudo-labelled records (tal-train --unlabelled): hard = the target class only (self-training), "
              "soft = the teacher's distribution, complementary = target + one random non-target class as negative, "
              "nontarget = target + positive + negative classes of the label-space partition"),
    F("semi.weight", TAL_CFG_FLOAT, semi_weight, "1", .min = 0, .max = 1000,
      .help = "alpha: the pseudo-labelled records' loss is added with this weight"),
    F("semi.batch_size", TAL_CFG_INT, semi_batch, "2", .min = 1, .max = 4096,
      .help = "pseudo-labelled records per step, beside train.batch_size labelled ones; an epoch is a pass over them"),
    F("semi.lambda", TAL_CFG_FLOAT, semi_lambda, "0.85", .min = 0, .max = 1,
      .help = "nontarget: positive classes have p >= lambda x the target's p"),
    F("semi.pos", TAL_CFG_BOOL, semi_pos, "true", .help = "nontarget: learn from the positive classes"),
    F("semi.neg", TAL_CFG_BOOL, semi_neg, "true",
      .help = "nontarget: learn from the negative classes (and, on labelled records, from every non-target class)"),
    F("test.pre_nms_thresh", TAL_CFG_FLOAT, pre_nms_thresh, "0.001", .min = 0, .max = 1),
    F("test.pre_nms_topk", TAL_CFG_INT, pre_nms_topk, "2000", .min = 0, .max = 1 << 24),
    F("test.duration_thresh", TAL_CFG_FLOAT, duration_thresh, "0.05", .min = 0, .max = 1e9),
    F("test.nms", TAL_CFG_ENUM, nms_method, "gaussian", .choices = "hard|linear|gaussian"),
    F("test.nms_sigma", TAL_CFG_FLOAT, nms_sigma, "0.5", .min = 1e-6, .max = 100),
    F("test.iou_thresh", TAL_CFG_FLOAT, iou_thresh, "0.1", .min = 1e-6, .max = 1),
    F("test.min_score", TAL_CFG_FLOAT, min_score, "0.001", .min = 0, .max = 1),
    F("test.max_seg_num", TAL_CFG_INT, max_seg_num, "200", .min = 0, .max = 1 << 24),
    F("test.class_agnostic", TAL_CFG_BOOL, class_agnostic, "false"),
    F("test.voting_iou", TAL_CFG_FLOAT, voting_iou, "0", .min = 0, .max = 1, .help = "> 0: segment voting"),
    L("test.spot_class_thresh", TAL_CFG_FLOATS, spot_class_thresh, n_spot_class_thresh,
      "[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]", TAL_DET_MAX_THRESH, .min = 0, .max = 1,
      .help = "SPOT-style: thresholds on class probability (runs of snippets; the lowest also picks mask seeds)"),
    L("test.spot_mask_thresh", TAL_CFG_FLOATS, spot_mask_thresh, n_spot_mask_thresh, "[0, 0.2, 0.4, 0.6, 0.8]",
      TAL_DET_MAX_THRESH, .min = 0, .max = 1, .help = "SPOT-style: thresholds on mask score"),
    F("test.spot_top_k", TAL_CFG_INT, spot_top_k, "10", .min = 0, .max = 1 << 20,
      .help = "SPOT-style: mask seeds (most probable snippet of a class run) per sequence at most; 0: all"),
    F("test.ttc_threshold", TAL_CFG_ENUM, ttc_test_threshold, "predicted", .choices = "predicted|manual",
      .help = "TTC-Loc: snippets where s > b are in a segment, or (manual) where s > (max + min) / 2 of the class in the sequence"),
    F("test.ttc_score", TAL_CFG_ENUM, ttc_score, "video-gate", .choices = "video-gate|mean-score",
      .help = "TTC-Loc segment score: video probability x mean gate inside, or sigmoid of the mean class score inside"),
    F("test.fs_ptal_video_thresh", TAL_CFG_FLOAT, fsp_video_thresh, "0.25", .min = 0, .max = 1,
      .help = "FS-PTAL: classes whose video score exceeds this are localised (none: the best one)"),
    L("test.fs_ptal_thresh", TAL_CFG_FLOATS, fsp_thresh, n_fsp_thresh,
      "[0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9]",
      TAL_DET_MAX_THRESH, .min = 0, .max = 1, .help = "FS-PTAL: thresholds on the final score; runs above each are proposals"),
    F("test.fs_ptal_video_weight", TAL_CFG_FLOAT, fsp_video_weight, "0.2", .min = 0, .max = 100,
      .help = "FS-PTAL: a proposal scores its outer-inner contrast plus this times the class's video score"),
    { .key = NULL },
};

const char *tal_det_kind_name(int kind)
{
    return kind == TAL_DET_SPOT ? "spot" : kind == TAL_DET_LINEAR ? "linear" : kind == TAL_DET_TTC ? "ttc-loc"
         : kind == TAL_DET_FSPTAL ? "fs-ptal" : kind == TAL_DET_ICD ? "icd" : kind == TAL_DET_ACP ? "acp" : "actionformer";
}

int tal_det_config_check(tal_det_config *c)
{
    int levels = c->branch_blocks + 1;
    if (levels > TAL_DET_MAX_LEVELS)
        return tal_err(TAL_EINVAL, "invalid config: %d pyramid levels (at most %d)", levels, TAL_DET_MAX_LEVELS);
    if (c->n_reg_range && c->n_reg_range != 2 * levels)
        return tal_err(TAL_EINVAL, "invalid config: 'model.reg_range' has %d values; %d levels need %d (a pair each)",
                       c->n_reg_range, levels, 2 * levels);
    for (int i = 0; i + 1 < c->n_reg_range; i += 2)
        if (c->reg_range[i] > c->reg_range[i + 1])
            return tal_err(TAL_EINVAL, "invalid config: 'model.reg_range' pair %d is (%g, %g): lower above upper",
                           i / 2, c->reg_range[i], c->reg_range[i + 1]);
    if (c->kind != TAL_DET_TTC && c->channels % c->heads)
        return tal_err(TAL_EINVAL, "invalid config: %d channels do not split into %d heads", c->channels, c->heads);
    if (c->n_crop_ratio == 1 || (c->n_crop_ratio == 2 && c->crop_ratio[0] > c->crop_ratio[1]))
        return tal_err(TAL_EINVAL, "invalid config: 'train.crop_ratio' must be [low, high] with low <= high");
    int div = 1 << c->branch_blocks;
    if ((c->kind == TAL_DET_ACTIONFORMER || c->kind == TAL_DET_ACP) && c->max_seq_len % div)
        return tal_err(TAL_EINVAL, "invalid config: 'model.max_seq_len' %d is not a multiple of %d (2^branch_blocks)",
                       c->max_seq_len, div);
    if (c->kind == TAL_DET_ACTIONFORMER && c->semi_loss == TAL_SEMI_NONTARGET && !c->semi_neg)
        return tal_err(TAL_EINVAL, "invalid config: 'semi.neg' false leaves the ActionFormer-style head (a sigmoid per "
                       "class) no negative on pseudo-labelled records; the target-only row is 'semi.loss: hard'");
    if (c->alqa_branches != TAL_ALQA_NONE && c->kind != TAL_DET_ACTIONFORMER && c->kind != TAL_DET_ACP)
        return tal_err(TAL_EINVAL, "invalid config: 'alqa.branches' belong to the ActionFormer-style detector, not %s",
                       tal_det_kind_name(c->kind));
    if (c->acp_weight > 0 && c->kind != TAL_DET_ACTIONFORMER && c->kind != TAL_DET_ACP)
        return tal_err(TAL_EINVAL, "invalid config: 'acp.weight' belongs to the ActionFormer-style detector, not %s",
                       tal_det_kind_name(c->kind));
    if (c->kind == TAL_DET_ACP && !c->acp_coarse && !c->acp_fine)
        return tal_err(TAL_EINVAL, "invalid config: 'acp.coarse' and 'acp.fine' are both off: nothing to learn");
    if (c->alqa_soft_label && c->alqa_branches == TAL_ALQA_NONE)
        return tal_err(TAL_EINVAL, "invalid config: 'alqa.soft_label' ranks by the joint score, which needs "
                       "'alqa.branches' (tiou, diou or tiou-tnd)");
    if (c->kind == TAL_DET_SPOT && c->temporal_scale % 2)
        return tal_err(TAL_EINVAL, "invalid config: 'spot.temporal_scale' must be even");
    if (c->kind == TAL_DET_SPOT && (!c->n_spot_class_thresh || !c->n_spot_mask_thresh))
        return tal_err(TAL_EINVAL, "invalid config: '%s' is empty: SPOT-style inference needs at least one threshold",
                       c->n_spot_class_thresh ? "test.spot_mask_thresh" : "test.spot_class_thresh");
    if (c->kind == TAL_DET_FSPTAL && !c->n_fsp_thresh)
        return tal_err(TAL_EINVAL, "invalid config: 'test.fs_ptal_thresh' is empty: FS-PTAL's inference needs at least one threshold");
    return 0;
}

int tal_det_config_load(tal_det_config *c, const char *const *files, int nfiles, const char *const *sets, int nsets)
{
    int rc = tal_config_defaults(tal_det_schema, c);
    for (int i = 0; i < nfiles && !rc; i++)
        rc = tal_config_load(tal_det_schema, c, files[i]);
    for (int i = 0; i < nsets && !rc; i++)
        rc = tal_config_set(tal_det_schema, c, sets[i]);
    return rc ? rc : tal_det_config_check(c);
}

int tal_det_config_from_text(tal_det_config *c, const char *text, const char *name)
{
    int rc = tal_config_defaults(tal_det_schema, c);
    if (!rc)
        rc = tal_config_load_text(tal_det_schema, c, text, name);
    return rc ? rc : tal_det_config_check(c);
}

char *tal_det_config_dump(const tal_det_config *c) { return tal_config_dump(tal_det_schema, c); }
