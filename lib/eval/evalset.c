/* evalset.c — ground truth and detections gathered for evaluation (eval.h). */
#include "eval.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ANET_TOL 1e-3   /* ActionFormer's remove_duplicate_annotations */

void tal_evalset_init(tal_evalset *e)
{
    memset(e, 0, sizeof *e);
    tal_strmap_init(&e->vindex);
}

void tal_evalset_free(tal_evalset *e)
{
    for (uint32_t i = 0; i < e->nvideos; i++)
        free(e->videos[i]);
    free(e->videos);
    free(e->duration);
    free(e->has_gt);
    free(e->gt);
    free(e->gt_first);
    free(e->det);
    tal_classes_free(&e->classes);
    tal_strmap_free(&e->vindex);
    tal_evalset_init(e);
}

int64_t tal_evalset_video(tal_evalset *e, const char *id, int gt)
{
    int64_t v = tal_strmap_get(&e->vindex, id);
    if (v < 0) {
        if (e->nvideos == UINT32_MAX - 1)
            return tal_err(TAL_EINVAL, "too many sequences");
        size_t cap = e->videos_cap;
        void *p = e->videos;
        if (tal_grow(&p, &cap, (size_t)e->nvideos + 1, sizeof *e->videos))
            return TAL_ENOMEM;
        e->videos = p;
        if (cap != e->videos_cap) {
            double *d = tal_reallocarray(e->duration, cap, sizeof *d);
            if (!d)
                return TAL_ENOMEM;
            e->duration = d;
            uint8_t *h = tal_reallocarray(e->has_gt, cap, 1);
            if (!h)
                return TAL_ENOMEM;
            e->has_gt = h;
            e->videos_cap = cap;
        }
        if (!(e->videos[e->nvideos] = tal_strdup(id)))
            return TAL_ENOMEM;
        e->duration[e->nvideos] = 0;
        e->has_gt[e->nvideos] = 0;
        if (tal_strmap_put(&e->vindex, id, e->nvideos)) {
            free(e->videos[e->nvideos]);
            return TAL_ENOMEM;
        }
        v = e->nvideos++;
    }
    if (gt)
        e->has_gt[v] = 1;
    return v;
}

int tal_evalset_add_gt(tal_evalset *e, uint32_t video, double start, double end, int32_t cls)
{
    if (!isfinite(start) || !isfinite(end))
        return tal_err(TAL_EINVAL, "ground truth of '%s' has a non-finite time", e->videos[video]);
    if (cls < -1 || cls >= (int32_t)e->classes.n)
        return tal_err(TAL_EINVAL, "ground truth of '%s' has class %d out of range", e->videos[video], cls);
    void *p = e->gt;
    if (tal_grow(&p, &e->gt_cap, e->ngt + 1, sizeof *e->gt))
        return TAL_ENOMEM;
    e->gt = p;
    e->gt[e->ngt] = (tal_eval_gt){ start, end, cls, video, (uint32_t)e->ngt, 0 };
    e->ngt++;
    e->has_gt[video] = 1;
    return 0;
}

int tal_evalset_add_det(tal_evalset *e, uint32_t video, double start, double end, double score, int32_t cls)
{
    if (!isfinite(start) || !isfinite(end) || !isfinite(score))
        return tal_err(TAL_EINVAL, "a detection of '%s' has a non-finite time or score", e->videos[video]);
    if (cls < 0 || cls >= (int32_t)e->classes.n)
        return tal_err(TAL_EINVAL, "a detection of '%s' has class %d out of range", e->videos[video], cls);
    if (e->ndet >= UINT32_MAX)
        return tal_err(TAL_EINVAL, "too many detections");
    void *p = e->det;
    if (tal_grow(&p, &e->det_cap, e->ndet + 1, sizeof *e->det))
        return TAL_ENOMEM;
    e->det = p;
    e->det[e->ndet] = (tal_eval_det){ start, end, score, cls, video, (uint32_t)e->ndet };
    e->ndet++;
    return 0;
}

static int cmp_gt(const void *a, const void *b)
{
    const tal_eval_gt *x = a, *y = b;
    if (x->video != y->video)
        return x->video < y->video ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

int tal_evalset_finish(tal_evalset *e, int reversed)
{
    if (e->finished)
        return tal_err(TAL_EINVAL, "evaluation set finished twice");
    if (reversed != TAL_REVERSED_KEEP) {
        size_t k = 0;
        for (size_t i = 0; i < e->ndet; i++) {
            tal_eval_det d = e->det[i];
            if (d.start > d.end) {
                if (reversed == TAL_REVERSED_DROP)
                    continue;
                double t = d.start;
                d.start = d.end;
                d.end = t;
            }
            d.order = (uint32_t)k;
            e->det[k++] = d;
        }
        e->ndet = k;
    }
    if (e->ngt > 1)
        qsort(e->gt, e->ngt, sizeof *e->gt, cmp_gt);
    free(e->gt_first);
    if (!(e->gt_first = tal_calloc((size_t)e->nvideos + 1, sizeof *e->gt_first)))
        return TAL_ENOMEM;
    for (size_t i = 0; i < e->ngt; i++)
        e->gt_first[e->gt[i].video + 1]++;
    for (uint32_t v = 0; v < e->nvideos; v++)
        e->gt_first[v + 1] += e->gt_first[v];
    /* ActivityNet filter, per video in input order */
    for (uint32_t v = 0; v < e->nvideos; v++) {
        for (uint32_t i = e->gt_first[v]; i < e->gt_first[v + 1]; i++) {
            tal_eval_gt *g = &e->gt[i];
            int ok = g->cls >= 0 && g->end - g->start >= ANET_TOL;
            for (uint32_t j = e->gt_first[v]; j < i && ok; j++) {
                const tal_eval_gt *p = &e->gt[j];
                if (p->valid && p->cls == g->cls && fabs(g->start - p->start) <= ANET_TOL &&
                    fabs(g->end - p->end) <= ANET_TOL)
                    ok = 0;
            }
            g->valid = (uint8_t)ok;
        }
    }
    e->finished = 1;
    return 0;
}

/* ---- tIoU lists ---------------------------------------------------------- */

static int push_value(double **v, uint32_t *n, size_t *cap, double x, const char *spec)
{
    if (!(x > 0 && x <= 1))
        return tal_err(TAL_EINVAL, "invalid tIoU list '%s': %g is not in (0, 1]", spec, x);
    if (*n >= 1000)
        return tal_err(TAL_EINVAL, "invalid tIoU list '%s': more than 1000 thresholds", spec);
    void *p = *v;
    if (tal_grow(&p, cap, (size_t)*n + 1, sizeof **v))
        return TAL_ENOMEM;
    *v = p;
    (*v)[(*n)++] = x;
    return 0;
}

int tal_tiou_parse(const char *spec, double **out, uint32_t *n)
{
    char *copy = tal_strdup(spec);
    double *v = NULL;
    size_t cap = 0;
    uint32_t k = 0;
    int rc = copy ? 0 : TAL_ENOMEM;
    char *next = copy;
    while (next && !rc) {
        char *tok = next, *comma = strchr(next, ',');
        if (comma)
            *comma = 0;
        next = comma ? comma + 1 : NULL;
        char *part[4];
        int np = 0;
        for (char *s = tok, *c; np < 4; s = c + 1) {
            part[np++] = s;
            if (!(c = strchr(s, ':')))
                break;
            *c = 0;
        }
        double x[4];
        for (int i = 0; i < np && !rc; i++) {
            char *end;
            x[i] = strtod(part[i], &end);
            while (*end == ' ')
                end++;
            if (end == part[i] || *end || !isfinite(x[i]))
                rc = tal_err(TAL_EINVAL, "invalid tIoU list '%s': '%s' is not a number", spec, part[i]);
        }
        if (rc)
            break;
        if (np == 1) {
            rc = push_value(&v, &k, &cap, x[0], spec);
        } else if (np == 3) {
            double a = x[0], step = x[1], b = x[2];
            double m = (b - a) / step;
            if (!(step > 0) || !(b >= a) || m > 1000 || fabs(m - floor(m + 0.5)) > 1e-6)
                rc = tal_err(TAL_EINVAL, "invalid tIoU range '%s': expected START:STEP:STOP with STOP-START a "
                             "multiple of STEP > 0", spec);
            long cnt = lround(m) + 1;
            for (long i = 0; i < cnt && !rc; i++) {
                double t = cnt == 1 ? a : (i == cnt - 1 ? b : a + (double)i * ((b - a) / (double)(cnt - 1)));
                rc = push_value(&v, &k, &cap, t, spec);
            }
        } else {
            rc = tal_err(TAL_EINVAL, "invalid tIoU list '%s': '%s' is neither a number nor START:STEP:STOP", spec, tok);
        }
    }
    free(copy);
    if (!rc && !k)
        rc = tal_err(TAL_EINVAL, "invalid tIoU list '%s': no thresholds", spec);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = k;
    return 0;
}
