/* ttc_decode.c — TTC-Loc inference on the host: gates, video-level
 * probabilities and candidate segments from class scores and thresholds
 * (see ttc_loc.h). */
#include "ttc_loc.h"
#include "../util/error.h"

#include <math.h>
#include <stdlib.h>

/* what keeps a pooled score finite when every gate is shut: the same
 * constant as the training graph's (ttc_loc.c) */
#define TTC_POOL_EPS 1e-6

double tal_ttc_gate(int gate, double z)
{
    switch (gate) {
    case TAL_TTC_GATE_SOFTSIGN: return 0.5 * (z / (1 + fabs(z)) + 1);
    case TAL_TTC_GATE_BINARY: return z > 0 ? 1 : 0;
    default: return 1 / (1 + exp(-z));
    }
}

void tal_ttc_manual_thresholds(const float *s, int C, int T, double *thr)
{
    for (int c = 0; c < C; c++) {
        const float *row = s + (size_t)c * T;
        double lo = INFINITY, hi = -INFINITY;
        for (int t = 0; t < T; t++) {
            lo = fmin(lo, row[t]);
            hi = fmax(hi, row[t]);
        }
        thr[c] = T > 0 ? 0.5 * (lo + hi) : 0;
    }
}

static int cmp_desc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

/* the mean of the k largest values of row (T values), via a sorted copy in ws */
static double topk_mean(const float *row, int T, int k, float *ws)
{
    for (int t = 0; t < T; t++)
        ws[t] = row[t];
    qsort(ws, (size_t)T, sizeof *ws, cmp_desc);
    double sum = 0;
    for (int i = 0; i < k; i++)
        sum += ws[i];
    return sum / k;
}

/* p from scores; ws holds T floats (top-k only) */
static void video_probs(const tal_det_config *cfg, const float *s, const float *b, int C, int T, double *p, float *ws)
{
    double bsum = 0;
    for (int t = 0; t < T; t++)
        bsum += b[t];
    p[C] = T > 0 ? bsum / T : 0;
    double att_den = 0;
    if (cfg->ttc_pool == TAL_TTC_POOL_ATTENTION)
        for (int t = 0; t < T; t++)
            att_den += tal_ttc_gate(cfg->ttc_gate, -b[t]);
    for (int c = 0; c < C; c++) {
        const float *row = s + (size_t)c * T;
        if (cfg->ttc_pool == TAL_TTC_POOL_TOPK) {
            int k = T / cfg->ttc_topk_ratio;
            p[c] = T > 0 ? topk_mean(row, T, k < 1 ? 1 : k, ws) : 0;
            continue;
        }
        double thr = 0, num = 0, den = 0;
        if (cfg->ttc_pool == TAL_TTC_POOL_GATED && cfg->ttc_train_threshold == TAL_TTC_MANUAL)
            tal_ttc_manual_thresholds(row, 1, T, &thr);
        for (int t = 0; t < T; t++) {
            double w = cfg->ttc_pool == TAL_TTC_POOL_ATTENTION ? tal_ttc_gate(cfg->ttc_gate, -b[t])
                       : tal_ttc_gate(cfg->ttc_gate, row[t] - (cfg->ttc_train_threshold == TAL_TTC_MANUAL ? thr : b[t]));
            num += w * row[t];
            den += w;
        }
        if (cfg->ttc_pool == TAL_TTC_POOL_ATTENTION)
            den = att_den;
        p[c] = num / (den + TTC_POOL_EPS);
    }
    double mx = -INFINITY, z = 0;
    for (int c = 0; c <= C; c++)
        mx = fmax(mx, p[c]);
    for (int c = 0; c <= C; c++)
        z += (p[c] = exp(p[c] - mx));
    for (int c = 0; c <= C; c++)
        p[c] /= z;
}

void tal_ttc_video_probs(const tal_det_config *cfg, const float *s, const float *b, int C, int T, double *p)
{
    float *ws = cfg->ttc_pool == TAL_TTC_POOL_TOPK ? malloc((size_t)(T > 0 ? T : 1) * sizeof *ws) : NULL;
    if (cfg->ttc_pool == TAL_TTC_POOL_TOPK && !ws) {
        for (int c = 0; c <= C; c++)
            p[c] = NAN;   /* no memory: nothing kept */
        return;
    }
    video_probs(cfg, s, b, C, T, p, ws);
    free(ws);
}

int tal_ttc_segments(const tal_det_config *cfg, const float *s, const float *b, int C, int T, const tal_grid *g,
                     double duration, tal_runs *runs, tal_segset *dets)
{
    if (T <= 0)
        return 0;
    float *z = malloc((size_t)T * sizeof *z);
    double *p = malloc((size_t)(C + 1) * sizeof *p), *thr = malloc((size_t)C * sizeof *thr);
    if (!z || !p || !thr) {
        free(z);
        free(p);
        free(thr);
        return tal_err(TAL_ENOMEM, "out of memory");
    }
    video_probs(cfg, s, b, C, T, p, z);
    double mean = 0;
    for (int c = 0; c < C; c++)
        mean += p[c] / C;
    int manual = cfg->ttc_test_threshold == TAL_TTC_MANUAL, rc = 0;
    if (manual)
        tal_ttc_manual_thresholds(s, C, T, thr);
    for (int c = 0; c < C && !rc; c++) {
        if (!(p[c] > mean))
            continue;
        const float *row = s + (size_t)c * T;
        for (int t = 0; t < T; t++)
            z[t] = (float)((double)row[t] - (manual ? thr[c] : (double)b[t]));
        runs->n = 0;
        int n = tal_runs_above(runs, z, 1, T, 0);
        if (n < 0) {
            rc = n;
            break;
        }
        for (size_t i = 0; i < runs->n && !rc; i++) {
            tal_run r = runs->v[i];
            double acc = 0;
            for (int t = r.start; t < r.end; t++)
                acc += cfg->ttc_score == TAL_TTC_SCORE_MEAN ? row[t] : tal_ttc_gate(cfg->ttc_gate, z[t]);
            acc /= r.end - r.start;
            double score = cfg->ttc_score == TAL_TTC_SCORE_MEAN ? 1 / (1 + exp(-acc)) : p[c] * acc;
            tal_segment seg = { 0, 0, score, c, 0, { 0 } };
            tal_run_to_sec(g, r, duration, &seg.start, &seg.end);
            rc = tal_segset_push(dets, &seg);
        }
    }
    free(z);
    free(p);
    free(thr);
    return rc;
}
