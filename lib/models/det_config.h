/* det_config.h — everything a detector's training and inference read
 * from a config: the model, its losses, the optimiser and schedule, the
 * training crops, and post-processing.  One typed schema (io/config.h)
 * for every model kind; the defaults are ActionFormer's THUMOS14 I3D
 * settings (reference-methods.md §1.2–1.6), and pipelines/configs/ holds
 * a file per model and benchmark.
 *
 * A config is written into every checkpoint, so that tal-detect rebuilds
 * the very model that was trained.
 */
#ifndef TAL_MODELS_DET_CONFIG_H
#define TAL_MODELS_DET_CONFIG_H

#include "../io/config.h"

#define TAL_DET_MAX_LEVELS 16
#define TAL_DET_MAX_THRESH 32

enum { TAL_DET_ACTIONFORMER = 0, TAL_DET_SPOT = 1, TAL_DET_LINEAR = 2, TAL_DET_TTC = 3, TAL_DET_FSPTAL = 4, TAL_DET_ICD = 5,
       TAL_DET_ACP = 6 };
/* TTC-Loc (ttc_loc.h): video-score pooling, gate, threshold regulariser, threshold rule */
enum { TAL_TTC_POOL_GATED = 0, TAL_TTC_POOL_ATTENTION = 1, TAL_TTC_POOL_TOPK = 2 };
enum { TAL_TTC_GATE_SIGMOID = 0, TAL_TTC_GATE_SOFTSIGN = 1, TAL_TTC_GATE_BINARY = 2 };
enum { TAL_TTC_REG_INNER = 0, TAL_TTC_REG_L1 = 1, TAL_TTC_REG_L2 = 2, TAL_TTC_REG_COSINE = 3, TAL_TTC_REG_NONE = 4 };
enum { TAL_TTC_PREDICTED = 0, TAL_TTC_MANUAL = 1 };
enum { TAL_TTC_SCORE_VIDEO_GATE = 0, TAL_TTC_SCORE_MEAN = 1 };

/* alqa.branches: APL's localisation-quality branches (af_quality.h) */
enum { TAL_ALQA_NONE = 0, TAL_ALQA_TIOU = 1, TAL_ALQA_DIOU = 2, TAL_ALQA_TIOU_TND = 3 };

/* semi.loss: what pseudo-labelled records are trained with (tal-train(1)) */
enum { TAL_SEMI_HARD = 0, TAL_SEMI_SOFT = 1, TAL_SEMI_COMPLEMENTARY = 2, TAL_SEMI_NONTARGET = 3 };

typedef struct {
    /* model */
    int kind;                    /* actionformer | spot | linear | ttc-loc | fs-ptal | icd | acp */
    int input_dim;               /* 0: the stream's feature dimension */
    int channels, embd_layers, stem_blocks, branch_blocks, heads, window, mlp_ratio, kernel, head_layers;
    double drop_path, layer_scale, prior;
    int max_seq_len;             /* longest training window (snippets) */
    double reg_range[2 * TAL_DET_MAX_LEVELS];
    int n_reg_range;             /* 0: ActionFormer's defaults for the level count */
    double center_radius;
    /* SPOT-style */
    int temporal_scale;          /* fixed length every sequence is resampled to */
    double mask_bce_weight;      /* share of weighted BCE in the mask loss (Dice gets the rest) */
    double cls_weight, recon_weight;
    int resample;                /* TAL_SPOT_LINEAR | TAL_SPOT_AREA (spot.h) */
    int pos_encoding;            /* sinusoidal positions after the embedding */
    /* TTC-Loc */
    double ttc_dropout, ttc_bg_weight, ttc_lambda, ttc_eta;
    int ttc_pool, ttc_topk_ratio, ttc_gate, ttc_reg, ttc_train_threshold, ttc_loc_tagged;
    /* FS-PTAL (point supervision; fsptal.h, man fs-ptal) */
    double fsp_dropout, fsp_gamma_bkg, fsp_gamma_act, fsp_delta, fsp_psi_same, fsp_psi_diff, fsp_focal_gamma;
    int fsp_topk_ratio, fsp_point_loss, fsp_mining, fsp_class_check, fsp_score_contrast, fsp_oic, fsp_feature_sep;
    int fsp_fs_points, fsp_mine_reach, fsp_mined_trains_b;
    double fsp_w_vid, fsp_w_point, fsp_w_score, fsp_w_fs;
    /* losses */
    double focal_alpha, focal_gamma, reg_weight, init_loss_norm, loss_norm_momentum, label_smoothing;
    /* APL's ALQA (ActionFormer-style): quality branches, their loss weight,
     * the DIoU soft-label quality focal loss and its exponent */
    int alqa_branches, alqa_soft_label;
    double alqa_weight, alqa_beta;
    /* APL's instance consistency discriminator (model.kind icd, icd.h) */
    int icd_hidden, icd_same, icd_other;
    /* APL's action-aware contrastive pre-training (model.kind acp, acp.h) */
    int acp_partitions, acp_fine_k, acp_coarse, acp_fine, acp_iters, acp_on_pseudo;
    double acp_tau, acp_weight;   /* acp.weight: L_acp in the detector's loss, true/pseudo classes as labels */
    /* training */
    int epochs, warmup_epochs, batch_size, optimizer, schedule, checkpoint_every;
    double lr, weight_decay, eta_min, clip_grad, ema_decay;
    double crop_ratio[2];
    int n_crop_ratio;
    double trunc_thresh;
    int seed;
    /* inference */
    double pre_nms_thresh, duration_thresh;
    int pre_nms_topk;
    int nms_method, max_seg_num, class_agnostic;
    double nms_sigma, iou_thresh, min_score, voting_iou;
    /* semi-supervised training (tal-train --unlabelled) */
    int semi_loss;               /* TAL_SEMI_* */
    double semi_weight;          /* alpha: weight of the pseudo-labelled records' loss */
    int semi_batch;              /* pseudo-labelled records per step */
    double semi_lambda;          /* positive classes: p >= lambda * max p */
    int semi_pos, semi_neg;      /* the positive and negative terms of non-target learning */
    /* SPOT-style inference: threshold sets on class probability and mask score */
    double spot_class_thresh[TAL_DET_MAX_THRESH], spot_mask_thresh[TAL_DET_MAX_THRESH];
    int n_spot_class_thresh, n_spot_mask_thresh, spot_top_k;
    int ttc_test_threshold, ttc_score;   /* TTC-Loc inference */
    /* FS-PTAL inference: classes by video score, runs of the final score above each threshold */
    double fsp_video_thresh, fsp_video_weight, fsp_thresh[TAL_DET_MAX_THRESH];
    int n_fsp_thresh;
} tal_det_config;

extern const tal_cfg_field tal_det_schema[];

/* Defaults, then each file, then each "key=value" override.  Checks that
 * the result is consistent (levels vs ranges, sizes).  0 or <0. */
int tal_det_config_load(tal_det_config *c, const char *const *files, int nfiles, const char *const *sets, int nsets);
/* The same from a checkpoint's stored text. */
int tal_det_config_from_text(tal_det_config *c, const char *text, const char *name);
/* The config as YAML text (malloc'd), which reads back to the same values. */
char *tal_det_config_dump(const tal_det_config *c);
int tal_det_config_check(tal_det_config *c);

const char *tal_det_kind_name(int kind);

#endif
