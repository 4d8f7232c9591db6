/* spot_targets.c — the SPOT-style detector's host-side pieces: resampling
 * to the fixed scale, training targets, BMN weights, inference candidates
 * (see spot.h). */
#include "spot.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- resampling ------------------------------------------------------------------ */

void tal_spot_resample(const float *x, ptrdiff_t xt, ptrdiff_t xc, int T_in, int C, int T_out, int mode, float *y,
                       ptrdiff_t yt, ptrdiff_t yc)
{
    if (mode == TAL_SPOT_AREA) {
        double s = (double)T_in / T_out;
        for (int j = 0; j < T_out; j++) {
            double a = j * s, b = (j + 1) * s;
            int i0 = (int)floor(a), i1 = (int)ceil(b);
            if (i1 > T_in)
                i1 = T_in;
            for (int c = 0; c < C; c++) {
                double acc = 0;
                for (int i = i0; i < i1; i++) {
                    double w = fmin(b, i + 1.0) - fmax(a, (double)i);
                    if (w > 0)
                        acc += w * x[i * xt + c * xc];
                }
                y[j * yt + c * yc] = (float)(acc / s);
            }
        }
        return;
    }
    /* linear, align_corners=False, in float arithmetic as PyTorch's CPU kernel */
    float scale = (float)T_in / (float)T_out;
    for (int j = 0; j < T_out; j++) {
        float src = scale * ((float)j + 0.5f) - 0.5f;
        if (src < 0)
            src = 0;
        int i0 = (int)src;
        if (i0 > T_in - 1)
            i0 = T_in - 1;
        int i1 = i0 < T_in - 1 ? i0 + 1 : i0;
        float l1 = src - (float)i0;
        l1 = l1 < 0 ? 0 : l1 > 1 ? 1 : l1;
        float l0 = 1.0f - l1;
        for (int c = 0; c < C; c++)
            y[j * yt + c * yc] = l0 * x[i0 * xt + c * xc] + l1 * x[i1 * xt + c * xc];
    }
}

/* ---- fixed scale and targets ------------------------------------------------------- */

tal_spot_map tal_spot_map_make(int T_in, int T)
{
    return (tal_spot_map){ T_in, T, T > 0 ? (double)T_in / T : 1 };
}

int tal_spot_span(const tal_spot_map *m, double start, double end, int *lo, int *hi)
{
    double ua = tal_spot_to_cell(m, fmin(start, end)), ub = tal_spot_to_cell(m, fmax(start, end));
    if (!(ub > 0 && ua < m->T))   /* entirely outside [0, T) (NaN too) */
        return 0;
    /* snippets j with ua <= j + 0.5 <= ub */
    double fl = ceil(ua - 0.5), fh = floor(ub - 0.5);
    int l = fl < 0 ? 0 : (int)fl, h = fh > m->T - 1 ? m->T - 1 : (int)fh;
    if (l > h) {   /* shorter than a snippet: the one holding the midpoint */
        double mid = floor(0.5 * (ua + ub));
        l = h = mid < 0 ? 0 : mid > m->T - 1 ? m->T - 1 : (int)mid;
    }
    *lo = l;
    *hi = h;
    return 1;
}

int tal_spot_targets(const tal_spot_map *m, const tal_spot_seg *segs, int nseg, int C, int32_t *cls, float *mask)
{
    int T = m->T;
    /* owner[t]: index of the shortest instance covering t (the first of
     * equal lengths), -1 for background */
    int *owner = tal_malloc((size_t)T * sizeof *owner), *lo = tal_malloc((size_t)(nseg ? nseg : 1) * sizeof *lo),
        *hi = tal_malloc((size_t)(nseg ? nseg : 1) * sizeof *hi);
    double *len = tal_malloc((size_t)T * sizeof *len);
    int fg = -1;
    if (!owner || !lo || !hi || !len)
        goto out;
    for (int t = 0; t < T; t++) {
        owner[t] = -1;
        len[t] = INFINITY;
    }
    for (int i = 0; i < nseg; i++) {
        if (!tal_spot_span(m, segs[i].start, segs[i].end, &lo[i], &hi[i]) || segs[i].cls < 0 || segs[i].cls >= C) {
            lo[i] = 1;
            hi[i] = 0;
            continue;
        }
        double l = fabs(segs[i].end - segs[i].start);
        for (int t = lo[i]; t <= hi[i]; t++)
            if (l < len[t]) {
                len[t] = l;
                owner[t] = i;
            }
    }
    fg = 0;
    for (int t = 0; t < T; t++) {
        cls[t] = owner[t] < 0 ? C : segs[owner[t]].cls;
        fg += owner[t] >= 0;
    }
    if (mask) {
        memset(mask, 0, (size_t)T * T * sizeof *mask);
        for (int t = 0; t < T; t++)
            if (owner[t] >= 0)
                for (int j = lo[owner[t]]; j <= hi[owner[t]]; j++)
                    mask[(size_t)j * T + t] = 1;
    }
out:
    free(owner);
    free(lo);
    free(hi);
    free(len);
    return fg < 0 ? TAL_ENOMEM : fg;
}

void tal_spot_bce_weights(double npos, double n, double *w_pos, double *w_neg)
{
    if (npos <= 0) {
        *w_pos = 0;
        *w_neg = 0.5;
    } else if (npos >= n) {
        *w_pos = 0.5;
        *w_neg = 0;
    } else {
        double r = n / npos;
        *w_pos = 0.5 * r;
        *w_neg = 0.5 * r / (r - 1);
    }
}

/* ---- candidates ----------------------------------------------------------------- */

typedef struct {
    int cls, a, b;   /* snippets a..b inclusive */
    double score;
    int order;
} cand;

typedef struct {
    cand *v;
    size_t n, cap;
} cands;

static int push(cands *cs, int cls, int a, int b, double score)
{
    if (cs->n == cs->cap) {
        size_t cap = cs->cap ? 2 * cs->cap : 256;
        cand *v = tal_realloc(cs->v, cap * sizeof *v);
        if (!v)
            return TAL_ENOMEM;
        cs->v = v;
        cs->cap = cap;
    }
    cs->v[cs->n] = (cand){ cls, a, b, score, (int)cs->n };
    cs->n++;
    return 0;
}

static int cmp_cand(const void *pa, const void *pb)
{
    const cand *x = pa, *y = pb;
    if (x->cls != y->cls)
        return x->cls < y->cls ? -1 : 1;
    if (x->a != y->a)
        return x->a < y->a ? -1 : 1;
    if (x->b != y->b)
        return x->b < y->b ? -1 : 1;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

typedef struct {
    float p;
    int t, c;
} seed;

static int cmp_seed(const void *pa, const void *pb)
{
    const seed *x = pa, *y = pb;
    if (x->p != y->p)
        return x->p > y->p ? -1 : 1;
    return x->t < y->t ? -1 : x->t > y->t;
}

/* The mask's rows, summed: S[t*W + q] = sum of mask(t, j) over j < q, W = T + 1. */
typedef struct {
    const float *prob;
    int T, K;
    double *S;
} scorer;

static double row_sum(const scorer *z, int t, int a, int b)   /* mask(t, a..b) */
{
    const double *r = z->S + (size_t)t * (z->T + 1);
    return r[b + 1] - r[a];
}

/* confidence of class c on snippets a..b: mean class probability x mean
 * soft tIoU of each snippet's mask with [a, b] */
static double score(const scorer *z, int c, int a, int b)
{
    int n = b - a + 1;
    double ps = 0, iou = 0;
    for (int t = a; t <= b; t++) {
        ps += z->prob[(size_t)t * z->K + c];
        double in = row_sum(z, t, a, b), all = row_sum(z, t, 0, z->T - 1), un = all + n - in;
        iou += un > 0 ? in / un : 0;
    }
    return (ps / n) * (iou / n);
}

int tal_spot_candidates(const tal_spot_infer_cfg *c, const float *prob, const float *mask, int T, int C,
                        tal_segset *out)
{
    int K = C + 1, rc = 0;
    size_t W = (size_t)T + 1;
    cands cs = { 0 };
    scorer z = { prob, T, K, tal_malloc((size_t)T * W * sizeof *z.S) };
    seed *seeds = tal_malloc((size_t)(T ? T : 1) * sizeof *seeds);
    if (!z.S || !seeds) {
        rc = TAL_ENOMEM;
        goto out;
    }
    for (int t = 0; t < T; t++) {
        double *r = z.S + (size_t)t * W;
        r[0] = 0;
        for (int j = 0; j < T; j++)
            r[j + 1] = r[j] + mask[(size_t)j * T + t];
    }
    /* class candidates: runs above each class threshold */
    for (int k = 0; k < c->n_cls && !rc; k++) {
        double th = c->cls_thresh[k];
        for (int cl = 0; cl < C && !rc; cl++)
            for (int t = 0; t < T && !rc;) {
                if (!(prob[(size_t)t * K + cl] > th)) {
                    t++;
                    continue;
                }
                int a = t;
                while (t < T && prob[(size_t)t * K + cl] > th)
                    t++;
                rc = push(&cs, cl, a, t - 1, score(&z, cl, a, t - 1));
            }
    }
    /* seeds: the most probable snippet of each run of snippets whose most
     * probable action class is the same and reaches the lowest threshold */
    double kmin = INFINITY;
    for (int k = 0; k < c->n_cls; k++)
        kmin = fmin(kmin, c->cls_thresh[k]);
    int ns = 0, run_c = -1;
    for (int t = 0; t < T && C > 0; t++) {
        int best = 0;
        for (int cl = 1; cl < C; cl++)
            if (prob[(size_t)t * K + cl] > prob[(size_t)t * K + best])
                best = cl;
        float p = prob[(size_t)t * K + best];
        if (!(p >= kmin)) {
            run_c = -1;
            continue;
        }
        if (best != run_c)
            seeds[ns++] = (seed){ p, t, best };
        else if (p > seeds[ns - 1].p)
            seeds[ns - 1] = (seed){ p, t, best };
        run_c = best;
    }
    qsort(seeds, (size_t)ns, sizeof *seeds, cmp_seed);
    if (c->top_k > 0 && ns > c->top_k)
        ns = c->top_k;
    /* mask candidates: the run of each seed's mask row that holds the seed */
    for (int i = 0; i < ns && !rc; i++) {
        int t = seeds[i].t;
        const float *row = mask + t;   /* row[j * T] = mask(t, j) */
        for (int k = 0; k < c->n_mask && !rc; k++) {
            double th = c->mask_thresh[k];
            if (!(row[(size_t)t * T] > th))
                continue;
            int a = t, b = t;
            while (a > 0 && row[(size_t)(a - 1) * T] > th)
                a--;
            while (b < T - 1 && row[(size_t)(b + 1) * T] > th)
                b++;
            rc = push(&cs, seeds[i].c, a, b, score(&z, seeds[i].c, a, b));
        }
    }
    if (rc)
        goto out;
    /* one candidate per (class, start, end) */
    qsort(cs.v, cs.n, sizeof *cs.v, cmp_cand);
    for (size_t i = 0; i < cs.n && !rc; i++) {
        if (i && cs.v[i].cls == cs.v[i - 1].cls && cs.v[i].a == cs.v[i - 1].a && cs.v[i].b == cs.v[i - 1].b)
            continue;
        tal_segment s = { cs.v[i].a, cs.v[i].b + 1.0, cs.v[i].score, cs.v[i].cls, 0, { 0 } };
        rc = tal_segset_push(out, &s);
    }
out:
    free(cs.v);
    free(z.S);
    free(seeds);
    return rc;
}

void tal_spot_cells_to_sec(const tal_spot_map *m, const tal_grid *g, double duration, tal_segset *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        tal_segment *x = &s->v[i];
        double a = tal_grid_to_sec(g, tal_spot_to_grid(m, x->start)), b = tal_grid_to_sec(g, tal_spot_to_grid(m, x->end));
        a = fmax(a, 0);
        b = fmax(b, 0);
        if (duration > 0) {
            a = fmin(a, duration);
            b = fmin(b, duration);
        }
        x->start = a;
        x->end = b;
    }
}
