/* map.c — AP and mAP under the ActivityNet and THUMOS14 protocols, and
 * recall at k x ground truth (see eval.h for the exact semantics). */
#include "eval.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *tal_eval_protocol_name(int p)
{
    return p == TAL_EVAL_TH14 ? "th14" : p == TAL_EVAL_ANET ? "anet" : "?";
}

int tal_eval_protocol_parse(const char *s)
{
    if (!strcmp(s, "anet") || !strcmp(s, "activitynet"))
        return TAL_EVAL_ANET;
    if (!strcmp(s, "th14") || !strcmp(s, "thumos14"))
        return TAL_EVAL_TH14;
    return -1;
}

/* ---- elementary pieces ----------------------------------------------------- */

double tal_tiou_anet(double ds, double de, double gs, double ge)
{
    double t1 = ds > gs ? ds : gs;
    double t2 = de < ge ? de : ge;
    double inter = t2 - t1;
    if (!(inter > 0))
        inter = 0;
    double uni = (ge - gs) + (de - ds) - inter;
    return inter / uni;   /* 0/0 = NaN on purpose: see eval.h */
}

double tal_overlap_th14(double as, double ae, double bs, double be)
{
    if (as > ae) {
        double t = as;
        as = ae;
        ae = t;
    }
    if (bs > be) {
        double t = bs;
        bs = be;
        be = t;
    }
    double ua = (ae > be ? ae : be) - (as < bs ? as : bs);
    double iw = (ae < be ? ae : be) - (as > bs ? as : bs);
    return iw > 0 ? iw / ua : 0;
}

double tal_ap_interp(const double *prec, const double *rec, size_t n)
{
    /* envelope from the right over [0, prec..., 0], summed where recall
     * changes over [0, rec..., 1]; the last step (to recall 1) has
     * precision 0 and adds nothing */
    double run = 0, ap = 0;
    for (size_t i = n; i-- > 0;) {
        if (prec[i] > run)
            run = prec[i];
        double prev = i ? rec[i - 1] : 0;
        if (rec[i] != prev)
            ap += (rec[i] - prev) * run;
    }
    return ap;
}

double tal_ap_11point(const double *prec, const double *rec, size_t n)
{
    double ap = 0;
    for (int k = 0; k <= 10; k++) {
        double t = (double)k * 0.1, p = 0;
        int any = 0;
        for (size_t i = 0; i < n; i++)
            if (rec[i] >= t && (!any || prec[i] > p)) {
                p = prec[i];
                any = 1;
            }
        ap += p / 11;
    }
    return ap;
}

double tal_ap_noninterp(const double *prec, const uint8_t *tp, size_t n, double npos)
{
    double ap = 0;
    for (size_t i = 0; i < n; i++)
        if (tp[i])
            ap += prec[i];
    return ap / npos;
}

/* ---- ordering ------------------------------------------------------------------- */

int tal_eval_sorted_dets(const tal_evalset *e, uint32_t **idx, uint32_t **cls_first)
{
    uint32_t ncls = e->classes.n;
    size_t n = e->ndet ? e->ndet : 1;
    uint32_t *v = tal_malloc(n * sizeof *v), *perm = tal_malloc(n * sizeof *perm);
    uint32_t *f = tal_calloc((size_t)ncls + 1, sizeof *f), *fill = tal_malloc(((size_t)ncls + 1) * sizeof *fill);
    double *key = tal_malloc(n * sizeof *key);
    if (!v || !f || !perm || !fill || !key) {
        free(v);
        free(f);
        free(perm);
        free(fill);
        free(key);
        return tal_err(TAL_ENOMEM, "out of memory");
    }
    /* each class's detections in input order, then ranked as numpy ranks */
    for (size_t i = 0; i < e->ndet; i++)
        f[e->det[i].cls + 1]++;
    for (uint32_t c = 0; c < ncls; c++)
        f[c + 1] += f[c];
    memcpy(fill, f, (size_t)ncls * sizeof *fill);
    for (size_t i = 0; i < e->ndet; i++)
        v[fill[e->det[i].cls]++] = (uint32_t)i;
    for (uint32_t c = 0; c < ncls; c++) {
        size_t m = f[c + 1] - f[c];
        for (size_t i = 0; i < m; i++)
            key[i] = e->det[v[f[c] + i]].score;
        tal_rank_np(key, perm, m);
        for (size_t i = 0; i < m; i++)
            key[i] = (double)v[f[c] + perm[i]];   /* exact: indices < 2^32 */
        for (size_t i = 0; i < m; i++)
            v[f[c] + i] = (uint32_t)key[i];
    }
    free(perm);
    free(fill);
    free(key);
    *idx = v;
    *cls_first = f;
    return 0;
}

/* ---- ActivityNet matching ------------------------------------------------------ */

int tal_eval_match_anet(const tal_evalset *e, const uint32_t *idx, size_t n, const double *thr, uint32_t nt,
                        uint8_t *tp, int64_t *match, int64_t *lock)
{
    /* a detection's candidates: its video's ground truth of its class, in
     * input order, ranked by tIoU as argsort()[::-1] ranks them */
    double *tiou = NULL;
    uint32_t *gid = NULL, *rank = NULL;
    size_t cap = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const tal_eval_det *d = &e->det[idx[i]];
        uint32_t lo = e->gt_first[d->video], hi = e->gt_first[d->video + 1];
        if ((size_t)(hi - lo) > cap) {
            cap = hi - lo;
            free(tiou);
            free(gid);
            free(rank);
            tiou = tal_malloc(cap * sizeof *tiou);
            gid = tal_malloc(cap * sizeof *gid);
            rank = tal_malloc(cap * sizeof *rank);
            if (!tiou || !gid || !rank) {
                rc = tal_err(TAL_ENOMEM, "out of memory");
                break;
            }
        }
        size_t nc = 0;
        for (uint32_t j = lo; j < hi; j++) {
            const tal_eval_gt *g = &e->gt[j];
            if (!g->valid || g->cls != d->cls)
                continue;
            tiou[nc] = tal_tiou_anet(d->start, d->end, g->start, g->end);
            gid[nc++] = j;
        }
        tal_rank_np(tiou, rank, nc);
        for (uint32_t t = 0; t < nt; t++) {
            size_t at = (size_t)t * n + i;
            tp[at] = 0;
            match[at] = -1;
            for (size_t k = 0; k < nc; k++) {
                double x = tiou[rank[k]];
                if (x < thr[t])   /* false for NaN: the official code's quirk */
                    break;
                int64_t *l = &lock[(size_t)t * e->ngt + gid[rank[k]]];
                if (*l >= 0)
                    continue;
                *l = (int64_t)i;
                tp[at] = 1;
                match[at] = gid[rank[k]];
                break;
            }
        }
    }
    free(tiou);
    free(gid);
    free(rank);
    if (rc)
        return rc;
    for (uint32_t t = 0; t < nt; t++)
        for (size_t i = 0; i < n; i++)
            if (match[(size_t)t * n + i] >= 0)
                lock[(size_t)t * e->ngt + match[(size_t)t * n + i]] = -1;
    return 0;
}

/* ---- curves and AP from ranked flags --------------------------------------------- */

static int make_curve(tal_pr_curve *c, const double *prec, const double *rec, const uint8_t *flag, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += flag[i] || i + 1 == n;
    c->n = 0;
    if (!k)
        return 0;
    if (!(c->recall = tal_malloc(k * sizeof *c->recall)) || !(c->precision = tal_malloc(k * sizeof *c->precision)))
        return TAL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (flag[i] || i + 1 == n) {
            c->recall[c->n] = rec[i];
            c->precision[c->n] = prec[i];
            c->n++;
        }
    return 0;
}

/* Cumulative precision and recall of ranked true-positive flags. */
static void pr_from_flags(const uint8_t *tp, size_t n, double npos, double *prec, double *rec)
{
    double ctp = 0, cfp = 0;
    for (size_t i = 0; i < n; i++) {
        if (tp[i])
            ctp += 1;
        else
            cfp += 1;
        rec[i] = ctp / npos;
        prec[i] = ctp / (ctp + cfp);
    }
}

/* ---- the ActivityNet protocol ----------------------------------------------------- */

static int run_anet(const tal_evalset *e, const tal_eval_opts *o, tal_eval_result *r, const uint32_t *idx,
                    const uint32_t *first)
{
    uint32_t nt = r->nt;
    size_t maxn = 0;
    for (uint32_t k = 0; k < r->ncls; k++) {
        size_t n = first[r->cls[k] + 1] - first[r->cls[k]];
        if (n > maxn)
            maxn = n;
    }
    size_t cells;
    uint8_t *tp = NULL;
    int64_t *match = NULL, *lock = NULL;
    double *prec = NULL, *rec = NULL;
    int rc = 0;
    if (tal_mul_size(maxn ? maxn : 1, nt, &cells) || !(tp = tal_malloc(cells)) ||
        !(match = tal_malloc(cells * sizeof *match)) ||
        !(lock = tal_malloc((e->ngt ? e->ngt : 1) * nt * sizeof *lock)) ||
        !(prec = tal_malloc((maxn ? maxn : 1) * sizeof *prec)) || !(rec = tal_malloc((maxn ? maxn : 1) * sizeof *rec))) {
        rc = tal_err(TAL_ENOMEM, "out of memory for %zu detections of one class", maxn);
        goto out;
    }
    for (size_t i = 0; i < e->ngt * nt; i++)
        lock[i] = -1;
    for (uint32_t k = 0; k < r->ncls && !rc; k++) {
        int32_t c = r->cls[k];
        size_t n = first[c + 1] - first[c];
        if (!n)
            continue;
        if ((rc = tal_eval_match_anet(e, idx + first[c], n, r->tiou, nt, tp, match, lock)))
            break;
        for (uint32_t t = 0; t < nt && !rc; t++) {
            pr_from_flags(tp + (size_t)t * n, n, r->npos[k], prec, rec);
            r->ap[(size_t)t * r->ncls + k] = tal_ap_interp(prec, rec, n);
            if (o->curves)
                rc = make_curve(&r->curves[(size_t)t * r->ncls + k], prec, rec, tp + (size_t)t * n, n);
        }
    }
out:
    free(tp);
    free(match);
    free(lock);
    free(prec);
    free(rec);
    return rc;
}

/* ---- the THUMOS14 kit ------------------------------------------------------------ */

static const tal_evalset *kit_set;
static const uint32_t *kit_vrank;

static int cmp_kit_det(const void *a, const void *b)
{
    const tal_eval_det *x = &kit_set->det[*(const uint32_t *)a], *y = &kit_set->det[*(const uint32_t *)b];
    uint32_t vx = kit_vrank[x->video], vy = kit_vrank[y->video];
    if (vx != vy)
        return vx < vy ? -1 : 1;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

static const char *const *vid_names;
static int cmp_vid_name(const void *a, const void *b)
{
    return strcmp(vid_names[*(const uint32_t *)a], vid_names[*(const uint32_t *)b]);
}

typedef struct {
    double score;
    uint32_t seq;
    uint8_t tp;
} kit_entry;

static int cmp_kit_entry(const void *a, const void *b)
{
    const kit_entry *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static int run_th14(const tal_evalset *e, const tal_eval_opts *o, tal_eval_result *r, const uint32_t *idx,
                    const uint32_t *first)
{
    uint32_t nt = r->nt, nv = e->nvideos;
    int rc = 0;
    uint32_t *order = tal_malloc(((size_t)nv + 1) * sizeof *order), *vrank = tal_malloc(((size_t)nv + 1) * sizeof *vrank);
    size_t maxn = 0;
    for (uint32_t k = 0; k < r->ncls; k++)
        if (first[r->cls[k] + 1] - first[r->cls[k]] > maxn)
            maxn = first[r->cls[k] + 1] - first[r->cls[k]];
    size_t m = maxn ? maxn : 1;
    uint32_t *cidx = tal_malloc(m * sizeof *cidx);
    uint8_t *freeflag = tal_malloc(m), *amb = tal_malloc(m), *flags = tal_malloc(m);
    kit_entry *tpl = tal_malloc(m * nt * sizeof *tpl), *fpl = tal_malloc(m * nt * sizeof *fpl);
    size_t *ntp = tal_calloc(nt, sizeof *ntp), *nfp = tal_calloc(nt, sizeof *nfp);
    kit_entry *all = tal_malloc(m * sizeof *all);
    double *prec = tal_malloc(m * sizeof *prec), *rec = tal_malloc(m * sizeof *rec);
    double *ov = NULL;
    size_t ovcap = 0;
    if (!order || !vrank || !cidx || !freeflag || !amb || !flags || !tpl || !fpl || !ntp || !nfp || !all || !prec ||
        !rec) {
        rc = TAL_ENOMEM;
        goto out;
    }
    for (uint32_t v = 0; v < nv; v++)
        order[v] = v;
    vid_names = (const char *const *)e->videos;
    qsort(order, nv, sizeof *order, cmp_vid_name);
    for (uint32_t v = 0; v < nv; v++)
        vrank[order[v]] = v;
    for (uint32_t k = 0; k < r->ncls && !rc; k++) {
        int32_t c = r->cls[k];
        size_t n = first[c + 1] - first[c];
        memset(ntp, 0, nt * sizeof *ntp);
        memset(nfp, 0, nt * sizeof *nfp);
        memcpy(cidx, idx + first[c], n * sizeof *cidx);
        kit_set = e;
        kit_vrank = vrank;
        qsort(cidx, n, sizeof *cidx, cmp_kit_det);
        for (size_t a = 0, b; a < n; a = b) {
            uint32_t v = e->det[cidx[a]].video;
            for (b = a + 1; b < n && e->det[cidx[b]].video == v; b++)
                ;
            size_t nd = b - a;
            const tal_eval_det *d0 = e->det;
            /* ambiguous: a positive overlap with any Ambiguous segment */
            for (size_t j = 0; j < nd; j++) {
                const tal_eval_det *d = &d0[cidx[a + j]];
                amb[j] = 0;
                for (uint32_t g = e->gt_first[v]; g < e->gt_first[v + 1] && !amb[j]; g++)
                    if (e->gt[g].cls < 0 && tal_overlap_th14(e->gt[g].start, e->gt[g].end, d->start, d->end) > 0)
                        amb[j] = 1;
            }
            /* overlaps of this class's ground truth with the detections */
            size_t ng = 0;
            for (uint32_t g = e->gt_first[v]; g < e->gt_first[v + 1]; g++)
                ng += e->gt[g].cls == c;
            size_t need;
            if (tal_mul_size(ng ? ng : 1, nd, &need)) {
                rc = TAL_ENOMEM;
                break;
            }
            if (need > ovcap) {
                free(ov);
                ovcap = need;
                if (!(ov = tal_malloc(ovcap * sizeof *ov))) {
                    rc = TAL_ENOMEM;
                    break;
                }
            }
            size_t gi = 0;
            for (uint32_t g = e->gt_first[v]; g < e->gt_first[v + 1]; g++) {
                if (e->gt[g].cls != c)
                    continue;
                for (size_t j = 0; j < nd; j++) {
                    const tal_eval_det *d = &d0[cidx[a + j]];
                    ov[gi * nd + j] = tal_overlap_th14(e->gt[g].start, e->gt[g].end, d->start, d->end);
                }
                gi++;
            }
            for (uint32_t t = 0; t < nt; t++) {
                memset(freeflag, 1, nd);
                for (size_t q = 0; q < ng; q++) {
                    long best = -1;
                    double bv = 0;
                    for (size_t j = 0; j < nd; j++)
                        if (freeflag[j] && (best < 0 || ov[q * nd + j] > bv)) {
                            best = (long)j;
                            bv = ov[q * nd + j];
                        }
                    if (best >= 0 && bv > r->tiou[t])
                        freeflag[best] = 0;
                }
                for (size_t j = 0; j < nd; j++) {
                    double s = d0[cidx[a + j]].score;
                    /* the kit lists every true positive before the false
                     * ones; its later revision keeps each video's ranking */
                    if (!freeflag[j])
                        tpl[(size_t)t * m + ntp[t]++] = (kit_entry){ s, 0, 1 };
                    else if (!amb[j] && o->th14_ap == TAL_TH14_AP_NONINTERP)
                        tpl[(size_t)t * m + ntp[t]++] = (kit_entry){ s, 0, 0 };
                    else if (!amb[j])
                        fpl[(size_t)t * m + nfp[t]++] = (kit_entry){ s, 0, 0 };
                }
            }
        }
        if (rc)
            break;
        for (uint32_t t = 0; t < nt && !rc; t++) {
            double *ap = &r->ap[(size_t)t * r->ncls + k];
            *ap = 0;
            if (!ntp[t])
                continue;
            size_t na = 0;
            for (size_t i = 0; i < ntp[t]; i++, na++) {
                all[na] = tpl[(size_t)t * m + i];
                all[na].seq = (uint32_t)na;
            }
            for (size_t i = 0; i < nfp[t]; i++, na++) {
                all[na] = fpl[(size_t)t * m + i];
                all[na].seq = (uint32_t)na;
            }
            qsort(all, na, sizeof *all, cmp_kit_entry);
            for (size_t i = 0; i < na; i++)
                flags[i] = all[i].tp;
            pr_from_flags(flags, na, r->npos[k], prec, rec);
            *ap = o->th14_ap == TAL_TH14_AP_NONINTERP ? tal_ap_noninterp(prec, flags, na, r->npos[k])
                                                      : tal_ap_11point(prec, rec, na);
            if (o->curves)
                rc = make_curve(&r->curves[(size_t)t * r->ncls + k], prec, rec, flags, na);
        }
    }
out:
    free(order);
    free(vrank);
    free(cidx);
    free(freeflag);
    free(amb);
    free(flags);
    free(tpl);
    free(fpl);
    free(ntp);
    free(nfp);
    free(all);
    free(prec);
    free(rec);
    free(ov);
    return rc ? (rc == TAL_ENOMEM ? tal_err(TAL_ENOMEM, "out of memory") : rc) : 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* ---- recall at k x ground truth (ActionFormer's Recall@kx) ---------------------- */

static int run_recall(const tal_evalset *e, tal_eval_result *r, const uint32_t *idx, const uint32_t *first,
                      int anet)
{
    uint32_t nt = r->nt, nk = r->nk;
    if (!nk)
        return 0;
    uint32_t kmax = 0;
    for (uint32_t q = 0; q < nk; q++)
        if (r->topk[q] > kmax)
            kmax = r->topk[q];
    int rc = 0;
    double *hits = tal_calloc((size_t)nt * nk, sizeof *hits);
    uint32_t *byvid = tal_malloc((e->ndet ? e->ndet : 1) * sizeof *byvid);
    uint32_t *vfirst = tal_calloc((size_t)e->nvideos + 1, sizeof *vfirst);
    uint32_t *vfill = tal_malloc(((size_t)e->nvideos + 1) * sizeof *vfill);
    uint32_t *inorder = tal_malloc((e->ndet ? e->ndet : 1) * sizeof *inorder), *rk = NULL;
    double *best = NULL, *sc = NULL;
    size_t bcap = 0, scap = 0;
    if (!hits || !byvid || !vfirst || !vfill || !inorder) {
        rc = TAL_ENOMEM;
        goto out;
    }
    for (uint32_t k = 0; k < r->ncls && !rc; k++) {
        int32_t c = r->cls[k];
        size_t n = first[c + 1] - first[c];
        memset(hits, 0, (size_t)nt * nk * sizeof *hits);
        /* this class's detections grouped by video, in rank order */
        memset(vfirst, 0, ((size_t)e->nvideos + 1) * sizeof *vfirst);
        for (size_t i = 0; i < n; i++)
            vfirst[e->det[idx[first[c] + i]].video + 1]++;
        for (uint32_t v = 0; v < e->nvideos; v++)
            vfirst[v + 1] += vfirst[v];
        memcpy(vfill, vfirst, (size_t)e->nvideos * sizeof *vfill);
        /* in input order (detection index), then ranked per video below */
        memcpy(inorder, idx + first[c], n * sizeof *inorder);
        qsort(inorder, n, sizeof *inorder, cmp_u32);
        for (size_t i = 0; i < n; i++) {
            uint32_t d = inorder[i];
            byvid[vfill[e->det[d].video]++] = d;
        }
        for (uint32_t v = 0; v < e->nvideos; v++) {
            uint32_t ng = 0;
            for (uint32_t g = e->gt_first[v]; g < e->gt_first[v + 1]; g++)
                ng += e->gt[g].cls == c && (!anet || e->gt[g].valid);
            uint32_t nd = vfirst[v + 1] - vfirst[v];
            if (!ng || !nd)
                continue;
            /* for each ground truth and k: best tIoU among the top k*ng */
            if ((size_t)nk > bcap || nd > scap) {
                free(best);
                free(sc);
                free(rk);
                bcap = nk > bcap ? nk : bcap;
                scap = nd > scap ? nd : scap;
                best = tal_malloc(bcap * sizeof *best);
                sc = tal_malloc(scap * sizeof *sc);
                rk = tal_malloc(scap * sizeof *rk);
                if (!best || !sc || !rk) {
                    rc = TAL_ENOMEM;
                    break;
                }
            }
            for (uint32_t j = 0; j < nd; j++)
                sc[j] = e->det[byvid[vfirst[v] + j]].score;
            tal_rank_np(sc, rk, nd);
            for (uint32_t g = e->gt_first[v]; g < e->gt_first[v + 1]; g++) {
                const tal_eval_gt *gt = &e->gt[g];
                if (gt->cls != c || (anet && !gt->valid))
                    continue;
                for (uint32_t q = 0; q < nk; q++) {
                    uint64_t lim = (uint64_t)r->topk[q] * ng;
                    double b = -1;
                    for (uint32_t j = 0; j < nd && j < lim; j++) {
                        const tal_eval_det *d = &e->det[byvid[vfirst[v] + rk[j]]];
                        double t = tal_tiou_anet(d->start, d->end, gt->start, gt->end);
                        if (t > b)
                            b = t;   /* NaN never wins: as ">= thr" never holds for it */
                    }
                    best[q] = b;
                }
                for (uint32_t t = 0; t < nt; t++)
                    for (uint32_t q = 0; q < nk; q++)
                        hits[(size_t)t * nk + q] += best[q] >= r->tiou[t];
            }
        }
        for (uint32_t t = 0; t < nt; t++)
            for (uint32_t q = 0; q < nk; q++)
                r->recall[(size_t)t * nk + q] += hits[(size_t)t * nk + q] / r->npos[k];
    }
    if (!rc && r->ncls)
        for (size_t i = 0; i < (size_t)nt * nk; i++)
            r->recall[i] /= r->ncls;
out:
    free(hits);
    free(byvid);
    free(vfirst);
    free(vfill);
    free(best);
    free(inorder);
    free(sc);
    free(rk);
    return rc == TAL_ENOMEM ? tal_err(TAL_ENOMEM, "out of memory") : rc;
}

/* ---- driver ------------------------------------------------------------------------- */

void tal_eval_result_free(tal_eval_result *r)
{
    if (r->curves)
        for (size_t i = 0; i < (size_t)r->nt * r->ncls; i++) {
            free(r->curves[i].recall);
            free(r->curves[i].precision);
        }
    free(r->curves);
    free(r->tiou);
    free(r->cls);
    free(r->npos);
    free(r->ndet);
    free(r->ap);
    free(r->map);
    free(r->topk);
    free(r->recall);
    memset(r, 0, sizeof *r);
}

int tal_eval_run(const tal_evalset *e, const tal_eval_opts *o, tal_eval_result *r)
{
    memset(r, 0, sizeof *r);
    if (!e->finished)
        return tal_err(TAL_EINVAL, "evaluation set not finished");
    if (!o->ntiou)
        return tal_err(TAL_EINVAL, "no tIoU thresholds");
    int anet = o->protocol == TAL_EVAL_ANET;
    uint32_t ncls = e->classes.n;
    r->protocol = o->protocol;
    r->nt = o->ntiou;
    r->nk = o->topk ? o->ntopk : 0;
    uint32_t *cnt = tal_calloc((size_t)ncls + 1, sizeof *cnt);
    if (!cnt)
        return TAL_ENOMEM;
    for (size_t i = 0; i < e->ngt; i++)
        if (e->gt[i].cls >= 0 && (!anet || e->gt[i].valid))
            cnt[e->gt[i].cls]++;
    for (uint32_t c = 0; c < ncls; c++)
        r->ncls += cnt[c] > 0;
    uint32_t *idx = NULL, *first = NULL;
    int rc = 0;
    size_t cells = (size_t)r->nt * (r->ncls ? r->ncls : 1);
    if (!(r->tiou = tal_malloc(r->nt * sizeof *r->tiou)) ||
        !(r->cls = tal_malloc((r->ncls ? r->ncls : 1) * sizeof *r->cls)) ||
        !(r->npos = tal_malloc((r->ncls ? r->ncls : 1) * sizeof *r->npos)) ||
        !(r->ndet = tal_malloc((r->ncls ? r->ncls : 1) * sizeof *r->ndet)) ||
        !(r->ap = tal_calloc(cells, sizeof *r->ap)) || !(r->map = tal_calloc(r->nt, sizeof *r->map)) ||
        !(r->topk = tal_malloc((r->nk ? r->nk : 1) * sizeof *r->topk)) ||
        !(r->recall = tal_calloc((size_t)r->nt * (r->nk ? r->nk : 1), sizeof *r->recall)) ||
        (o->curves && !(r->curves = tal_calloc(cells, sizeof *r->curves))) ||
        (rc = tal_eval_sorted_dets(e, &idx, &first))) {
        free(cnt);
        tal_eval_result_free(r);
        return rc ? rc : tal_err(TAL_ENOMEM, "out of memory");
    }
    memcpy(r->tiou, o->tiou, r->nt * sizeof *r->tiou);
    if (r->nk)
        memcpy(r->topk, o->topk, r->nk * sizeof *r->topk);
    for (uint32_t c = 0, k = 0; c < ncls; c++)
        if (cnt[c]) {
            r->cls[k] = (int32_t)c;
            r->npos[k] = cnt[c];
            r->ndet[k] = first[c + 1] - first[c];
            k++;
        }
    free(cnt);
    rc = anet ? run_anet(e, o, r, idx, first) : run_th14(e, o, r, idx, first);
    if (!rc)
        rc = run_recall(e, r, idx, first, anet);
    free(idx);
    free(first);
    if (rc) {
        tal_eval_result_free(r);
        return rc;
    }
    for (uint32_t t = 0; t < r->nt; t++) {
        double s = 0;
        for (uint32_t k = 0; k < r->ncls; k++)
            s += r->ap[(size_t)t * r->ncls + k];
        r->map[t] = r->ncls ? s / r->ncls : 0;
        r->average += r->map[t];
    }
    r->average /= r->nt;
    r->ngt = 0;
    for (uint32_t k = 0; k < r->ncls; k++)
        r->ngt += r->npos[k];
    r->ndets = e->ndet;
    r->nvideos = e->nvideos;
    return 0;
}

double tal_eval_average(const tal_eval_result *r, double lo, double hi)
{
    double s = 0;
    int n = 0;
    for (uint32_t t = 0; t < r->nt; t++)
        if (r->tiou[t] >= lo - 1e-9 && r->tiou[t] <= hi + 1e-9) {
            s += r->map[t];
            n++;
        }
    return n ? s / n : NAN;
}
