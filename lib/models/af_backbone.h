/* af_backbone.h — an ActionFormer-style network built from the op set
 * (reference-methods.md §1.2): masked-conv embedding, transformer blocks
 * with multi-head convolutional local attention (stem blocks at stride 1,
 * branch blocks at stride 2), a LayerNorm neck, and the shared
 * classification and regression heads.
 *
 * This is the compute core's reference model: the unit tests compare one
 * block with PyTorch and the benchmark times the whole network.  Label
 * assignment, losses and decoding belong to the detector built on it.
 */
#ifndef TAL_MODELS_AF_BACKBONE_H
#define TAL_MODELS_AF_BACKBONE_H

#include "nn/graph.h"
#include "nn/params.h"
#include "util/rng.h"

#define TAL_AF_MAX_BLOCKS 16
#define TAL_AF_MAX_LEVELS 16

typedef struct {
    int d_in;           /* input feature dimension (2048 for THUMOS I3D) */
    int ch;             /* embedding = FPN = head channels (512) */
    int n_embd;         /* embedding convolutions (2) */
    int n_stem;         /* stride-1 transformer blocks (2) */
    int n_branch;       /* stride-2 transformer blocks (5): n_branch + 1 levels */
    int heads;          /* attention heads (4) */
    int window;         /* local attention window (19; <= 1 global) */
    int mlp_ratio;      /* MLP hidden = mlp_ratio * ch (4) */
    int kernel;         /* embedding and head kernel size (3) */
    int num_classes;    /* classification outputs (20) */
    int head_layers;    /* head convolutions before the last (2) */
    float drop_path;    /* stochastic depth (0.1) */
    float layer_scale;  /* LayerScale initial value (1e-4) */
    float prior;        /* classifier prior probability (0.01) */
    int quality;        /* localisation-quality outputs beside the regression
                           head (APL's ALQA: 0, 1 or 2), sharing all its
                           layers but the last */
    int no_heads;       /* backbone and neck only (contrastive pre-training) */
} tal_af_config;

/* ActionFormer's THUMOS14 I3D settings */
tal_af_config tal_af_config_thumos(void);

/* The network a detector config describes, for d_in-d features and ncls
 * classes (quality outputs and heads as the config says). */
tal_af_config tal_af_config_of(const void *det_config, int d_in, int ncls);

/* The padded length of a sequence of T snippets: a multiple of the
 * largest stride, 2^n_branch. */
int tal_af_padded(int T, int n_branch);

/* One sequence's input: `len` rows of D features (row-major) written
 * channel-first into x (D, T), the rest of x's rows left as they are, and
 * mask[0..len) set to 1. */
void tal_af_fill_input(float *x, float *mask, const float *feat, int len, int D, int T);

typedef struct {
    tal_tensor *ln1_w, *ln1_b, *ln2_w, *ln2_b;
    tal_tensor *dw[3], *dn_w[3], *dn_b[3];      /* depthwise convs of q, k, v and their norms */
    tal_tensor *pw[3], *pb[3];                  /* 1x1 projections of q, k, v */
    tal_tensor *proj_w, *proj_b;
    tal_tensor *fc1_w, *fc1_b, *fc2_w, *fc2_b;
    tal_tensor *ls1, *ls2;                      /* LayerScale (1,C,1) */
} tal_af_block;

typedef struct {
    tal_af_config cfg;
    tal_tensor *embd_w[4], *embd_ln_w[4], *embd_ln_b[4];
    tal_af_block blk[TAL_AF_MAX_BLOCKS];
    tal_tensor *neck_w[TAL_AF_MAX_LEVELS], *neck_b[TAL_AF_MAX_LEVELS];
    tal_tensor *cls_w[4], *cls_ln_w[4], *cls_ln_b[4], *cls_out_w, *cls_out_b;
    tal_tensor *reg_w[4], *reg_ln_w[4], *reg_ln_b[4], *reg_out_w, *reg_out_b;
    tal_tensor *reg_scale[TAL_AF_MAX_LEVELS];
    tal_tensor *qual_out_w, *qual_out_b;        /* cfg.quality > 0 */
} tal_af_model;

/* Declare the model's parameters in P (names follow ActionFormer's state
 * dict where there is one). */
int tal_af_define(tal_af_model *m, tal_params *P, const tal_af_config *cfg);
/* Declare one block's parameters under `prefix`. */
int tal_af_block_define(tal_af_block *b, tal_params *P, const char *prefix, int ch, int mlp_ratio);
/* PyTorch's default initialisation (kaiming-uniform a=sqrt(5), default
 * biases), then ActionFormer's: conv biases 0, LayerNorm 1/0, LayerScale
 * and Scale constants, classifier prior bias.  After tal_params_alloc. */
int tal_af_init(tal_af_model *m, tal_params *P, tal_rng *r);
int tal_af_block_init(tal_af_block *b, tal_params *P, float layer_scale, tal_rng *r);

/* One transformer block: x (B,C,T), mask (B,T) -> (B,C,T/stride); the
 * output mask goes to *mask_out. */
tal_tensor *tal_af_block_forward(tal_graph *g, const tal_af_block *b, tal_tensor *x, tal_tensor *mask, int stride,
                                 int heads, int window, float drop_path, tal_tensor **mask_out);

/* The whole network: x (B,d_in,T), mask (B,T) -> per level l: cls[l]
 * (B,num_classes,T_l) logits, reg[l] (B,2,T_l) distances, masks[l] (B,T_l).
 * Returns the number of levels, or <0. */
int tal_af_forward(tal_graph *g, const tal_af_model *m, tal_tensor *x, tal_tensor *mask, tal_tensor **cls,
                   tal_tensor **reg, tal_tensor **masks);
/* The same, and when the model has quality outputs and qual is not NULL,
 * qual[l] (B,quality,T_l) logits of the localisation-quality branches;
 * when fpn is not NULL, fpn[l] (B,ch,T_l) the neck's output at each level
 * (a model without heads gives only these: cls and reg may be NULL). */
int tal_af_forward_q(tal_graph *g, const tal_af_model *m, tal_tensor *x, tal_tensor *mask, tal_tensor **cls,
                     tal_tensor **reg, tal_tensor **qual, tal_tensor **fpn, tal_tensor **masks);

#endif
