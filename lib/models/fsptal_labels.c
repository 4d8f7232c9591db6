/* fsptal_labels.c — FS-PTAL's snippet labels: points on snippets, pseudo
 * label mining (Alg. 2 and LACP's rule), pseudo segments and their outer
 * flanks (see fsptal.h). */
#include "fsptal.h"
#include "../data/timemap.h"
#include "../post/runs.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void tal_fsptal_labels_free(tal_fsptal_labels *L)
{
    free(L->act);
    free(L->annot);
    free(L->mined);
    free(L->bkg);
    memset(L, 0, sizeof *L);
}

int tal_fsptal_labels_reset(tal_fsptal_labels *L, int T, int C)
{
    size_t n = T > 0 ? (size_t)T : 1, cap = L->cap, cap2 = L->cap, cap3 = L->cap;
    void *a = L->annot, *m = L->mined, *k = L->bkg, *act = L->act;
    if (tal_grow(&a, &cap, n, 1) || tal_grow(&m, &cap2, n, 1) || tal_grow(&k, &cap3, n, 1)) {
        L->annot = a, L->mined = m, L->bkg = k;
        return TAL_ENOMEM;
    }
    L->annot = a, L->mined = m, L->bkg = k;
    L->cap = cap < cap2 ? (cap < cap3 ? cap : cap3) : (cap2 < cap3 ? cap2 : cap3);
    if (tal_grow(&act, &L->act_cap, n * (size_t)(C > 0 ? C : 1), 1))
        return TAL_ENOMEM;
    L->act = act;
    L->T = T;
    L->C = C;
    memset(L->annot, 0, n);
    memset(L->mined, 0, n);
    memset(L->bkg, 0, n);
    memset(L->act, 0, n * (size_t)C);
    L->nact = L->nbkg = L->nmined = 0;
    return 0;
}

static int count(const uint8_t *x, int T)
{
    int n = 0;
    for (int t = 0; t < T; t++)
        n += x[t] != 0;
    return n;
}

static void recount(tal_fsptal_labels *L)
{
    L->nbkg = count(L->bkg, L->T);
    L->nmined = count(L->mined, L->T);
    L->nact = 0;
    for (int t = 0; t < L->T; t++)
        L->nact += L->annot[t] || L->mined[t];
}

int tal_fsptal_label_points(tal_fsptal_labels *L, const tal_record *r, const tal_grid *g)
{
    for (uint32_t k = 0; k < r->npoints; k++) {
        int c = r->points[k].cls;
        if (c < 0 || c >= L->C)
            continue;
        double p = floor(tal_record_sec_to_pos(r, g, r->points[k].time) + 0.5);
        int t = p < 0 ? 0 : p > L->T - 1 ? L->T - 1 : (int)p;
        L->act[(size_t)t * L->C + c] = 1;
        L->annot[t] = 1;
    }
    recount(L);
    return 0;
}

/* argmax of b over [lo, hi] (the first of equal maxima) */
static int argmax(const float *b, int lo, int hi)
{
    int k = lo;
    for (int t = lo + 1; t <= hi; t++)
        if (b[t] > b[k])
            k = t;
    return k;
}

static void mark(tal_fsptal_labels *L, int lo, int hi)
{
    for (int t = lo; t <= hi; t++)
        if (!L->annot[t])
            L->bkg[t] = 1;
}

/* the class of highest qhat at snippet t */
static int top_class(const float *qhat, int C, int T, int t)
{
    int top = 0;
    for (int c = 1; c < C; c++)
        if (qhat[(size_t)c * T + t] > qhat[(size_t)top * T + t])
            top = c;
    return top;
}

/* Action points grow outward from every annotated snippet, one snippet at
 * a time, while b <= gamma_act, the snippet is neither annotated nor
 * background and (qhat given: the class check) its top class is one of
 * the point's; the first snippet that fails stops the walk.  LACP's
 * growing rule, and Alg. 2's search when fs_ptal.mine_reach is contiguous. */
static void grow_actions(tal_fsptal_labels *L, const float *b, const float *qhat, double gamma_act)
{
    int T = L->T, C = L->C;
    for (int a = 0; a < T; a++) {
        if (!L->annot[a])
            continue;
        const uint8_t *src = L->act + (size_t)a * C;
        for (int dir = -1; dir <= 1; dir += 2)
            for (int t = a + dir; t >= 0 && t < T && !L->annot[t] && !L->bkg[t] && b[t] <= gamma_act; t += dir) {
                if (qhat && !src[top_class(qhat, C, T, t)])
                    break;
                uint8_t *dst = L->act + (size_t)t * C;
                for (int c = 0; c < C; c++)
                    dst[c] |= src[c];
                L->mined[t] = 1;
            }
    }
}

/* FS-PTAL's Alg. 2 */
static void mine_fsptal(tal_fsptal_labels *L, const float *b, const float *qhat, const tal_fsptal_mine_cfg *cfg,
                        int *tmp)
{
    int T = L->T, C = L->C;
    for (int t = 0; t < T; t++)
        if (!L->annot[t] && b[t] > cfg->gamma_bkg)
            L->bkg[t] = 1;
    /* each interval between adjacent action points (and before the first,
     * after the last) holds at least one background point */
    for (int prev = -1, t = 0; t <= T; t++) {
        if (t < T && !L->annot[t])
            continue;
        int lo = prev + 1, hi = t - 1, any = 0;
        for (int k = lo; k <= hi && !any; k++)
            any = L->bkg[k];
        if (lo <= hi && !any)
            L->bkg[argmax(b, lo, hi)] = 1;
        prev = t;
    }
    /* adjacent background points with no action point between them join */
    for (int prev = -1, t = 0; t < T; t++) {
        if (L->annot[t]) {
            prev = -1;
            continue;
        }
        if (!L->bkg[t])
            continue;
        if (prev >= 0)
            mark(L, prev, t);
        prev = t;
    }
    if (cfg->contiguous) {
        grow_actions(L, b, cfg->class_check ? qhat : NULL, cfg->gamma_act);
        return;
    }
    /* pseudo action points: nearest action point on each side with no
     * background point between, and (class check) the same top class */
    int *left = tmp, *right = tmp + T;
    for (int t = 0, last = -1; t < T; t++) {
        left[t] = last;
        if (L->annot[t])
            last = t;
    }
    for (int t = T - 1, next = T; t >= 0; t--) {
        right[t] = next;
        if (L->annot[t])
            next = t;
    }
    /* background between: the last background point before t, the first after */
    int *bk_before = tmp + 2 * T, *bk_after = tmp + 3 * T;
    for (int t = 0, last = -1; t < T; t++) {
        bk_before[t] = last;
        if (L->bkg[t])
            last = t;
    }
    for (int t = T - 1, next = T; t >= 0; t--) {
        bk_after[t] = next;
        if (L->bkg[t])
            next = t;
    }
    for (int t = 0; t < T; t++) {
        if (L->annot[t] || L->bkg[t] || !(b[t] <= cfg->gamma_act))
            continue;
        int top = top_class(qhat, C, T, t);
        uint8_t *dst = L->act + (size_t)t * C;
        int got = 0;
        for (int side = 0; side < 2; side++) {
            int a = side ? right[t] : left[t];
            if (a < 0 || a >= T)
                continue;
            int blocked = side ? bk_after[t] < a : bk_before[t] > a;
            const uint8_t *src = L->act + (size_t)a * C;
            if (blocked || (cfg->class_check && !src[top]))
                continue;
            for (int c = 0; c < C; c++)
                dst[c] |= src[c];
            got = 1;
        }
        L->mined[t] = (uint8_t)got;
    }
}

/* LACP's select_seed */
static void mine_lacp(tal_fsptal_labels *L, const float *b, const tal_fsptal_mine_cfg *cfg)
{
    int T = L->T, first = -1, last = -1;
    for (int t = 0; t < T; t++)
        if (L->annot[t]) {
            if (first < 0)
                first = t;
            last = t;
        }
    if (first < 0)
        return;
    if (first > 0) {
        int hi = -1;
        for (int t = 0; t < first; t++)
            if (b[t] >= cfg->gamma_bkg)
                hi = t;
        mark(L, 0, hi >= 0 ? hi : argmax(b, 0, first - 1));
    }
    if (last < T - 1) {
        int lo = -1;
        for (int t = T - 1; t > last; t--)
            if (b[t] >= cfg->gamma_bkg)
                lo = t;
        mark(L, lo >= 0 ? lo : argmax(b, last + 1, T - 1), T - 1);
    }
    for (int a = first; a < last;) {
        int n = a + 1;
        while (!L->annot[n])
            n++;
        if (n - a > 1) {
            int lo = -1, hi = -1, k = 0;
            for (int t = a + 1; t < n; t++)
                if (b[t] >= cfg->gamma_bkg) {
                    if (lo < 0)
                        lo = t;
                    hi = t;
                    k++;
                }
            if (k >= 2)
                mark(L, lo, hi);
            else
                L->bkg[argmax(b, a + 1, n - 1)] = 1;
        }
        a = n;
    }
    grow_actions(L, b, NULL, cfg->gamma_act);
}

int tal_fsptal_mine(tal_fsptal_labels *L, const float *b, const float *qhat, const tal_fsptal_mine_cfg *cfg)
{
    if (cfg->rule == TAL_FSPTAL_MINE_FSPTAL) {
        int *tmp = tal_malloc(sizeof(int) * 4 * (size_t)(L->T > 0 ? L->T : 1));
        if (!tmp)
            return TAL_ENOMEM;
        mine_fsptal(L, b, qhat, cfg, tmp);
        free(tmp);
    } else if (cfg->rule == TAL_FSPTAL_MINE_LACP) {
        mine_lacp(L, b, cfg);
    }
    recount(L);
    return 0;
}

/* ---- pseudo segments and the outer-inner contrast ------------------------------- */

int tal_fsptal_flank(int n, double delta)
{
    int w = (int)floor(delta * n + 0.5);
    return w < 1 ? 1 : w;
}

int tal_fsptal_segments(const tal_fsptal_labels *L, double delta, int oic, tal_fsptal_seg **v, size_t *cap)
{
    int T = L->T, C = L->C, n = 0;
    for (int c = 0; c < C; c++) {
        int first = n;
        tal_run run;
        for (int t = 0; tal_run_next_set(L->act + c, C, T, &t, &run);) {
            if (tal_reserve(v, cap, (size_t)n + 1, sizeof **v))
                return TAL_ENOMEM;
            int s = run.start, e = run.end - 1, w = tal_fsptal_flank(e - s + 1, delta);
            (*v)[n++] = (tal_fsptal_seg){ c, s, e, s - w < 0 ? 0 : s - w, s - 1, e + 1, e + w > T - 1 ? T - 1 : e + w };
        }
        if (oic == TAL_FSPTAL_OIC_OPTIMISED)
            for (int i = first; i < n; i++) {
                /* never into the neighbouring segments of the same class */
                tal_fsptal_seg *g = &(*v)[i];
                if (i > first && g->ls <= (*v)[i - 1].e)
                    g->ls = (*v)[i - 1].e + 1;
                if (i + 1 < n && g->re >= (*v)[i + 1].s)
                    g->re = (*v)[i + 1].s - 1;
            }
    }
    return n;
}

double tal_fsptal_oic(const float *x, const tal_fsptal_seg *s)
{
    double in = 0, out = 0;
    for (int t = s->s; t <= s->e; t++)
        in += x[t];
    int nout = 0;
    for (int t = s->ls; t <= s->le; t++, nout++)
        out += x[t];
    for (int t = s->rs; t <= s->re; t++, nout++)
        out += x[t];
    return in / (s->e - s->s + 1) - (nout ? out / nout : 0);
}
