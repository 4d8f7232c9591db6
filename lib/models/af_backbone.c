/* af_backbone.c — see af_backbone.h. */
#include "models/af_backbone.h"
#include "models/af_quality.h"
#include "models/det_config.h"
#include "nn/init.h"
#include "nn/ops.h"
#include "util/error.h"

#include <math.h>
#include <stdio.h>

#define LN_EPS 1e-5f

tal_af_config tal_af_config_thumos(void)
{
    return (tal_af_config){ .d_in = 2048, .ch = 512, .n_embd = 2, .n_stem = 2, .n_branch = 5, .heads = 4,
                            .window = 19, .mlp_ratio = 4, .kernel = 3, .num_classes = 20, .head_layers = 2,
                            .drop_path = 0.1f, .layer_scale = 1e-4f, .prior = 0.01f };
}

/* ---- parameters ------------------------------------------------------------ */

static tal_tensor *par(tal_params *P, int flags, const char *fmt1, const char *fmt2, int ndim, const int64_t *shape)
{
    char name[160];
    snprintf(name, sizeof name, "%s%s", fmt1, fmt2);
    return tal_param(P, name, flags, ndim, shape);
}

#define V(...) (sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)), (int64_t[]){ __VA_ARGS__ }

int tal_af_block_define(tal_af_block *b, tal_params *P, const char *pre, int C, int ratio)
{
    static const char *qkv[3] = { "query", "key", "value" };
    char s[96];
    b->ln1_w = par(P, 0, pre, ".ln1.weight", V(1, C, 1));
    b->ln1_b = par(P, 0, pre, ".ln1.bias", V(1, C, 1));
    for (int i = 0; i < 3; i++) {
        snprintf(s, sizeof s, ".attn.%s_conv.conv.weight", qkv[i]);
        b->dw[i] = par(P, TAL_PARAM_DECAY, pre, s, V(C, 1, 3));
        snprintf(s, sizeof s, ".attn.%s_norm.weight", qkv[i]);
        b->dn_w[i] = par(P, 0, pre, s, V(1, C, 1));
        snprintf(s, sizeof s, ".attn.%s_norm.bias", qkv[i]);
        b->dn_b[i] = par(P, 0, pre, s, V(1, C, 1));
        snprintf(s, sizeof s, ".attn.%s.weight", qkv[i]);
        b->pw[i] = par(P, TAL_PARAM_DECAY, pre, s, V(C, C, 1));
        snprintf(s, sizeof s, ".attn.%s.bias", qkv[i]);
        b->pb[i] = par(P, 0, pre, s, V(C));
    }
    b->proj_w = par(P, TAL_PARAM_DECAY, pre, ".attn.proj.weight", V(C, C, 1));
    b->proj_b = par(P, 0, pre, ".attn.proj.bias", V(C));
    b->ln2_w = par(P, 0, pre, ".ln2.weight", V(1, C, 1));
    b->ln2_b = par(P, 0, pre, ".ln2.bias", V(1, C, 1));
    b->fc1_w = par(P, TAL_PARAM_DECAY, pre, ".mlp.0.weight", V((int64_t)ratio * C, C, 1));
    b->fc1_b = par(P, 0, pre, ".mlp.0.bias", V((int64_t)ratio * C));
    b->fc2_w = par(P, TAL_PARAM_DECAY, pre, ".mlp.3.weight", V(C, (int64_t)ratio * C, 1));
    b->fc2_b = par(P, 0, pre, ".mlp.3.bias", V(C));
    b->ls1 = par(P, 0, pre, ".drop_path_attn.scale", V(1, C, 1));
    b->ls2 = par(P, 0, pre, ".drop_path_mlp.scale", V(1, C, 1));
    return b->ls2 ? 0 : TAL_EINVAL;
}

int tal_af_define(tal_af_model *m, tal_params *P, const tal_af_config *cfg)
{
    m->cfg = *cfg;
    int C = cfg->ch, K = cfg->kernel;
    if (cfg->n_embd < 1 || cfg->n_embd > 4 || cfg->n_stem + cfg->n_branch > TAL_AF_MAX_BLOCKS ||
        cfg->n_branch + 1 > TAL_AF_MAX_LEVELS || cfg->head_layers > 4 || C % cfg->heads || cfg->quality < 0 ||
        cfg->quality > 2)
        return tal_err(TAL_EINVAL, "actionformer: unsupported configuration");
    char s[96];
    for (int i = 0; i < cfg->n_embd; i++) {
        snprintf(s, sizeof s, "backbone.embd.%d.conv.weight", i);
        m->embd_w[i] = par(P, TAL_PARAM_DECAY, s, "", V(C, i ? C : cfg->d_in, K));
        snprintf(s, sizeof s, "backbone.embd_norm.%d", i);
        m->embd_ln_w[i] = par(P, 0, s, ".weight", V(1, C, 1));
        m->embd_ln_b[i] = par(P, 0, s, ".bias", V(1, C, 1));
    }
    for (int i = 0; i < cfg->n_stem + cfg->n_branch; i++) {
        if (i < cfg->n_stem)
            snprintf(s, sizeof s, "backbone.stem.%d", i);
        else
            snprintf(s, sizeof s, "backbone.branch.%d", i - cfg->n_stem);
        if (tal_af_block_define(&m->blk[i], P, s, C, cfg->mlp_ratio))
            return TAL_EINVAL;
    }
    for (int l = 0; l <= cfg->n_branch; l++) {
        snprintf(s, sizeof s, "neck.fpn_norms.%d", l);
        m->neck_w[l] = par(P, 0, s, ".weight", V(1, C, 1));
        m->neck_b[l] = par(P, 0, s, ".bias", V(1, C, 1));
    }
    if (cfg->no_heads)
        return m->neck_b[cfg->n_branch] ? 0 : TAL_EINVAL;
    for (int i = 0; i < cfg->head_layers; i++) {
        snprintf(s, sizeof s, "cls_head.head.%d.conv.weight", i);
        m->cls_w[i] = par(P, TAL_PARAM_DECAY, s, "", V(C, C, K));
        snprintf(s, sizeof s, "cls_head.norm.%d", i);
        m->cls_ln_w[i] = par(P, 0, s, ".weight", V(1, C, 1));
        m->cls_ln_b[i] = par(P, 0, s, ".bias", V(1, C, 1));
        snprintf(s, sizeof s, "reg_head.head.%d.conv.weight", i);
        m->reg_w[i] = par(P, TAL_PARAM_DECAY, s, "", V(C, C, K));
        snprintf(s, sizeof s, "reg_head.norm.%d", i);
        m->reg_ln_w[i] = par(P, 0, s, ".weight", V(1, C, 1));
        m->reg_ln_b[i] = par(P, 0, s, ".bias", V(1, C, 1));
    }
    m->cls_out_w = par(P, TAL_PARAM_DECAY, "cls_head.cls_head.conv.weight", "", V(cfg->num_classes, C, K));
    m->cls_out_b = par(P, 0, "cls_head.cls_head.conv.bias", "", V(cfg->num_classes));
    m->reg_out_w = par(P, TAL_PARAM_DECAY, "reg_head.offset_head.conv.weight", "", V(2, C, K));
    m->reg_out_b = par(P, 0, "reg_head.offset_head.conv.bias", "", V(2));
    for (int l = 0; l <= cfg->n_branch; l++) {
        snprintf(s, sizeof s, "reg_head.scale.%d.scale", l);
        m->reg_scale[l] = par(P, 0, s, "", V(1));
    }
    if (cfg->quality) {
        m->qual_out_w = par(P, TAL_PARAM_DECAY, "reg_head.quality_head.conv.weight", "", V(cfg->quality, C, K));
        m->qual_out_b = par(P, 0, "reg_head.quality_head.conv.bias", "", V(cfg->quality));
        if (!m->qual_out_b)
            return TAL_EINVAL;
    }
    return m->reg_scale[cfg->n_branch] ? 0 : TAL_EINVAL;
}

/* ---- initialisation -------------------------------------------------------- */

static int init_conv(tal_params *P, tal_tensor *w, tal_tensor *b, tal_rng *r)
{
    int rc = tal_init_kaiming_uniform(P, w, sqrtf(5.0f), r);
    if (!rc && b)   /* PyTorch draws the default bias, ActionFormer then sets it to 0 */
        rc = tal_init_bias_default(P, b, tal_fan_in(w), r) || tal_init_const(P, b, 0.0f);
    return rc;
}

static int init_ln(tal_params *P, tal_tensor *w, tal_tensor *b)
{
    return tal_init_const(P, w, 1.0f) || tal_init_const(P, b, 0.0f);
}

int tal_af_block_init(tal_af_block *b, tal_params *P, float layer_scale, tal_rng *r)
{
    int rc = init_ln(P, b->ln1_w, b->ln1_b) || init_ln(P, b->ln2_w, b->ln2_b);
    for (int i = 0; i < 3 && !rc; i++)
        rc = init_conv(P, b->dw[i], NULL, r) || init_ln(P, b->dn_w[i], b->dn_b[i]) ||
             init_conv(P, b->pw[i], b->pb[i], r);
    if (!rc)
        rc = init_conv(P, b->proj_w, b->proj_b, r) || init_conv(P, b->fc1_w, b->fc1_b, r) ||
             init_conv(P, b->fc2_w, b->fc2_b, r) || tal_init_const(P, b->ls1, layer_scale) ||
             tal_init_const(P, b->ls2, layer_scale);
    return rc ? TAL_EINVAL : 0;
}

int tal_af_init(tal_af_model *m, tal_params *P, tal_rng *r)
{
    const tal_af_config *c = &m->cfg;
    int rc = 0;
    for (int i = 0; i < c->n_embd && !rc; i++)
        rc = init_conv(P, m->embd_w[i], NULL, r) || init_ln(P, m->embd_ln_w[i], m->embd_ln_b[i]);
    for (int i = 0; i < c->n_stem + c->n_branch && !rc; i++)
        rc = tal_af_block_init(&m->blk[i], P, c->layer_scale, r);
    for (int l = 0; l <= c->n_branch && !rc; l++)
        rc = init_ln(P, m->neck_w[l], m->neck_b[l]) || (!c->no_heads && tal_init_const(P, m->reg_scale[l], 1.0f));
    if (c->no_heads)
        return rc ? TAL_EINVAL : 0;
    for (int i = 0; i < c->head_layers && !rc; i++)
        rc = init_conv(P, m->cls_w[i], NULL, r) || init_ln(P, m->cls_ln_w[i], m->cls_ln_b[i]) ||
             init_conv(P, m->reg_w[i], NULL, r) || init_ln(P, m->reg_ln_w[i], m->reg_ln_b[i]);
    if (!rc)
        rc = init_conv(P, m->cls_out_w, m->cls_out_b, r) || tal_init_prior_bias(P, m->cls_out_b, c->prior) ||
             init_conv(P, m->reg_out_w, m->reg_out_b, r);
    /* last, so that the other parameters draw what they draw without it.
     * The tND output (the second of two) starts near 0.01, as the
     * classifier starts at its prior: at 0.5 it would cancel the tIoU
     * output's 0.5 and floor every joint score at the start */
    if (!rc && c->quality) {
        rc = init_conv(P, m->qual_out_w, m->qual_out_b, r);
        float bias[2] = { 0.0f, -logf(0.99f / 0.01f) };
        if (!rc && c->quality == 2)
            rc = tal_init_values(P, m->qual_out_b, bias);
    }
    return rc ? TAL_EINVAL : 0;
}

/* ---- inputs -------------------------------------------------------------------- */

tal_af_config tal_af_config_of(const void *det_config, int d_in, int ncls)
{
    const tal_det_config *c = det_config;
    return (tal_af_config){ .d_in = d_in, .ch = c->channels, .n_embd = c->embd_layers, .n_stem = c->stem_blocks,
                            .n_branch = c->branch_blocks, .heads = c->heads, .window = c->window,
                            .mlp_ratio = c->mlp_ratio, .kernel = c->kernel, .num_classes = ncls,
                            .head_layers = c->head_layers, .drop_path = (float)c->drop_path,
                            .layer_scale = (float)c->layer_scale, .prior = (float)c->prior,
                            .quality = tal_alqa_outputs(c->alqa_branches), .no_heads = c->kind == TAL_DET_ACP };
}

int tal_af_padded(int T, int n_branch)
{
    int m = 1 << n_branch;
    return (T + m - 1) / m * m;
}

void tal_af_fill_input(float *x, float *mask, const float *feat, int len, int D, int T)
{
    for (int t = 0; t < len; t++) {
        for (int k = 0; k < D; k++)
            x[(size_t)k * T + t] = feat[(size_t)t * D + k];
        mask[t] = 1;
    }
}

/* ---- forward ------------------------------------------------------------------ */

/* x * mask broadcast over channels: x (B,C,T), mask (B,T) */
static tal_tensor *mask_mul(tal_graph *g, tal_tensor *x, tal_tensor *mask)
{
    if (!mask)
        return x;
    return tal_mul(g, x, tal_reshape(g, mask, 3, (int64_t[]){ mask->shape[0], 1, mask->shape[1] }));
}

tal_tensor *tal_af_block_forward(tal_graph *g, const tal_af_block *b, tal_tensor *x, tal_tensor *mask, int stride,
                                 int heads, int window, float drop_path, tal_tensor **mask_out)
{
    if (!x || !mask)
        return NULL;
    int64_t C = x->shape[1], T = x->shape[2];
    int64_t Tout = stride > 1 ? (T + 2 - 3) / stride + 1 : T;
    /* the output mask: nearest-neighbour downsampling, as F.interpolate */
    tal_tensor *m = stride > 1 ? tal_resample(g, mask, (int)Tout, TAL_RESAMPLE_NEAREST) : mask;
    if (mask_out)
        *mask_out = m;
    /* inference keeps only what the next step reads (tal_graph_release;
     * nothing happens while the tape is on) */
    tal_graph_mark start = tal_graph_mark_get(g);
    /* attention: depthwise conv + LN on each of q, k, v, 1x1 projections */
    tal_tensor *h = tal_layernorm(g, x, b->ln1_w, b->ln1_b, LN_EPS);
    tal_tensor *qkv[3];
    for (int i = 0; i < 3; i++) {
        tal_graph_mark mk = tal_graph_mark_get(g);
        tal_tensor *t = tal_conv1d(g, h, b->dw[i], NULL, stride, 1, (int)C, m);
        t = tal_layernorm(g, t, b->dn_w[i], b->dn_b[i], LN_EPS);
        /* the query of a padded position only ever meets a zeroed row of
         * probabilities: masking its projection changes no output and
         * lets the convolution skip the padded tail (keys and values are
         * left as they are, -1e4 is not -inf) */
        qkv[i] = tal_conv1d(g, t, b->pw[i], b->pb[i], 1, 0, 1, i == 0 ? m : NULL);
        tal_graph_release(g, mk, 1, &qkv[i]);
    }
    tal_tensor *a = tal_attention(g, qkv[0], qkv[1], qkv[2], m, heads, window);
    a = tal_conv1d(g, a, b->proj_w, b->proj_b, 1, 0, 1, m);
    /* skip (max-pooled when strided), masked, plus the scaled attention */
    tal_tensor *skip = stride > 1 ? tal_maxpool1d(g, x, 3, stride, 1) : x;
    tal_tensor *y = tal_add(g, mask_mul(g, skip, m), tal_drop_path(g, tal_layer_scale(g, a, b->ls1), drop_path));
    tal_graph_release(g, start, 1, &y);
    /* MLP */
    h = tal_layernorm(g, y, b->ln2_w, b->ln2_b, LN_EPS);
    /* the MLP's hidden units at padded positions feed only outputs the
     * mask zeroes: masking them too changes nothing and saves the work */
    h = tal_conv1d(g, h, b->fc1_w, b->fc1_b, 1, 0, 1, m);
    h = tal_gelu(g, h);
    h = tal_conv1d(g, h, b->fc2_w, b->fc2_b, 1, 0, 1, m);
    tal_tensor *out = tal_add(g, y, tal_drop_path(g, tal_layer_scale(g, h, b->ls2), drop_path));
    /* y, kept at the block's start, is not needed past the block */
    tal_graph_release(g, start, 1, &out);
    return out;
}

int tal_af_forward(tal_graph *g, const tal_af_model *m, tal_tensor *x, tal_tensor *mask, tal_tensor **cls,
                   tal_tensor **reg, tal_tensor **masks)
{
    return tal_af_forward_q(g, m, x, mask, cls, reg, NULL, NULL, masks);
}

int tal_af_forward_q(tal_graph *g, const tal_af_model *m, tal_tensor *x, tal_tensor *mask, tal_tensor **cls,
                     tal_tensor **reg, tal_tensor **qual, tal_tensor **fpn, tal_tensor **masks)
{
    const tal_af_config *c = &m->cfg;
    int pad = c->kernel / 2;
    /* inference: the embedding's and the first stem block's outputs are
     * not kept past the stem (tal_graph_release) */
    tal_graph_mark stem = tal_graph_mark_get(g);
    for (int i = 0; i < c->n_embd; i++) {
        tal_graph_mark mk = tal_graph_mark_get(g);
        x = tal_conv1d(g, x, m->embd_w[i], NULL, 1, pad, 1, mask);
        x = tal_layernorm_act(g, x, m->embd_ln_w[i], m->embd_ln_b[i], LN_EPS, TAL_ACT_RELU);
        tal_graph_release(g, mk, 1, &x);
    }
    for (int i = 0; i < c->n_stem; i++)
        x = tal_af_block_forward(g, &m->blk[i], x, mask, 1, c->heads, c->window, c->drop_path, NULL);
    tal_graph_release(g, stem, 1, &x);
    tal_tensor *feats[TAL_AF_MAX_LEVELS];
    int L = c->n_branch + 1;
    feats[0] = x;
    masks[0] = mask;
    for (int i = 0; i < c->n_branch; i++) {
        x = tal_af_block_forward(g, &m->blk[c->n_stem + i], x, masks[i], 2, c->heads, c->window, c->drop_path,
                                 &masks[i + 1]);
        feats[i + 1] = x;
    }
    for (int l = 0; l < L; l++) {
        tal_graph_mark mk = tal_graph_mark_get(g);
        tal_tensor *f = tal_layernorm(g, feats[l], m->neck_w[l], m->neck_b[l], LN_EPS);
        if (fpn)
            fpn[l] = f;
        if (c->no_heads)
            continue;
        tal_tensor *hc = f, *hr = f;
        for (int i = 0; i < c->head_layers; i++) {
            hc = tal_conv1d(g, hc, m->cls_w[i], NULL, 1, pad, 1, masks[l]);
            hc = tal_layernorm_act(g, hc, m->cls_ln_w[i], m->cls_ln_b[i], LN_EPS, TAL_ACT_RELU);
            hr = tal_conv1d(g, hr, m->reg_w[i], NULL, 1, pad, 1, masks[l]);
            hr = tal_layernorm_act(g, hr, m->reg_ln_w[i], m->reg_ln_b[i], LN_EPS, TAL_ACT_RELU);
        }
        cls[l] = tal_conv1d(g, hc, m->cls_out_w, m->cls_out_b, 1, pad, 1, masks[l]);
        int nq = qual && c->quality;
        if (nq)
            qual[l] = tal_conv1d(g, hr, m->qual_out_w, m->qual_out_b, 1, pad, 1, masks[l]);
        hr = tal_conv1d(g, hr, m->reg_out_w, m->reg_out_b, 1, pad, 1, masks[l]);
        reg[l] = tal_relu(g, tal_mul(g, hr, m->reg_scale[l]));
        if (fpn)
            tal_graph_release(g, mk, 3 + nq, (tal_tensor *[]){ f, cls[l], reg[l], nq ? qual[l] : NULL });
        else
            tal_graph_release(g, mk, 2 + nq, (tal_tensor *[]){ cls[l], reg[l], nq ? qual[l] : NULL });
    }
    int st = tal_graph_status(g);
    return st ? st : L;
}
