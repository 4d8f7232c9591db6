/* af_quality.c — ALQA targets, reliability and detection fields (see af_quality.h). */
#include "af_quality.h"
#include "det_config.h"
#include "../nn/ops.h"

#include <math.h>

int tal_alqa_outputs(int kind)
{
    return kind == TAL_ALQA_TIOU_TND ? 2 : kind == TAL_ALQA_NONE ? 0 : 1;
}

void tal_alqa_measure(float lp, float rp, float lg, float rg, float *tiou, float *tnd)
{
    /* in double: the targets are compared with probabilities near 0 and 1 */
    double inter = fmin(lp, lg) + fmin(rp, rg);
    double uni = (double)lp + rp + lg + rg - inter;
    double len = fmax(lp, lg) + fmax(rp, rg);
    double rho = 0.5 * ((double)rp - lp - rg + lg);
    *tiou = uni > 1e-8 ? (float)(inter > 0 ? inter / uni : 0) : 0.0f;
    *tnd = len > 1e-8 ? (float)(rho * rho / (len * len)) : 0.0f;
}

void tal_alqa_targets(int kind, const float *pred, const float *target, int P, float *branch, float *quality)
{
    int nq = tal_alqa_outputs(kind);
    for (int i = 0; i < P; i++) {
        float iou, nd;
        tal_alqa_measure(pred[2 * i], pred[2 * i + 1], target[2 * i], target[2 * i + 1], &iou, &nd);
        float diou = iou - nd;
        if (kind == TAL_ALQA_TIOU) {
            branch[i] = iou;
            quality[i] = fmaxf(iou, TAL_ALQA_FLOOR);
        } else if (kind == TAL_ALQA_DIOU) {
            branch[i] = fmaxf(diou, 0.0f);
            quality[i] = fmaxf(diou, TAL_ALQA_FLOOR);
        } else {
            branch[(size_t)i * nq] = iou;
            branch[(size_t)i * nq + 1] = nd;
            quality[i] = fmaxf(diou, TAL_ALQA_FLOOR);
        }
    }
}

tal_tensor *tal_alqa_reliability(tal_graph *g, int kind, tal_tensor *q)
{
    if (!q)
        return NULL;
    tal_tensor *p = tal_sigmoid(g, q);
    tal_tensor *r = kind == TAL_ALQA_TIOU_TND ? tal_sub(g, tal_slice(g, p, 1, 0, 1), tal_slice(g, p, 1, 1, 2)) : p;
    return tal_clamp(g, r, TAL_ALQA_FLOOR, INFINITY);
}

float tal_alqa_reliability_at(int kind, const float *q, size_t stride, float *prob)
{
    int nq = tal_alqa_outputs(kind);
    for (int k = 0; k < nq; k++)
        prob[k] = 1.0f / (1.0f + expf(-q[k * stride]));
    float r = kind == TAL_ALQA_TIOU_TND ? prob[0] - prob[1] : prob[0];
    return fmaxf(r, TAL_ALQA_FLOOR);
}

uint32_t tal_alqa_qmask(int kind)
{
    uint32_t m = 1u << TAL_Q_CLS | 1u << TAL_Q_TIOU;
    return kind == TAL_ALQA_NONE ? 0 : kind == TAL_ALQA_TIOU_TND ? m | 1u << TAL_Q_TND : m;
}

void tal_alqa_fill(int kind, float cls, const float *prob, tal_segment *s)
{
    s->q[TAL_Q_CLS] = cls;
    s->q[TAL_Q_TIOU] = prob[0];
    if (kind == TAL_ALQA_TIOU_TND)
        s->q[TAL_Q_TND] = prob[1];
}
