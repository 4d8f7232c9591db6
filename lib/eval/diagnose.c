/* diagnose.c — DETAD-style error analysis (see diagnose.h). */
#include "diagnose.h"
#include "../util/error.h"
#include "../util/mem.h"
#include "../util/text.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[TAL_DIAG_NTYPES] = {
    "true positive", "double detection", "wrong label", "localization", "confusion", "background",
};
static const char *const type_keys[TAL_DIAG_NTYPES] = {
    "true_positive", "double_detection", "wrong_label", "localization", "confusion", "background",
};
static const char *const char_names[TAL_NCHAR] = { "length", "coverage", "num_instances" };

const char *tal_diag_type_name(int t) { return t >= 0 && t < TAL_DIAG_NTYPES ? type_names[t] : "?"; }
const char *tal_diag_type_key(int t) { return t >= 0 && t < TAL_DIAG_NTYPES ? type_keys[t] : "?"; }
const char *tal_char_name(int c) { return c >= 0 && c < TAL_NCHAR ? char_names[c] : "?"; }

/* DETAD's bins (false_positive_analysis.py main()): THUMOS14, ActivityNet */
static void set_bins(tal_diag_fn *fn, int which, int kind)
{
    static const char *const five[] = { "XS", "S", "M", "L", "XL" };
    static const double th_len[] = { 0, 3, 6, 12, 18, INFINITY }, an_len[] = { 0, 30, 60, 120, 180, INFINITY };
    static const double th_cov[] = { 0, 0.02, 0.04, 0.06, 0.08, 1 }, an_cov[] = { 0, 0.2, 0.4, 0.6, 0.8, 1 };
    static const double th_ni[] = { -1, 1, 40, 80, INFINITY }, an_ni[] = { -1, 1, 4, 8, INFINITY };
    const double *edge = which == TAL_CHAR_LENGTH ? (kind == TAL_DIAG_BINS_ANET ? an_len : th_len)
                         : which == TAL_CHAR_COVERAGE ? (kind == TAL_DIAG_BINS_ANET ? an_cov : th_cov)
                                                      : (kind == TAL_DIAG_BINS_ANET ? an_ni : th_ni);
    fn->nbins = which == TAL_CHAR_NINST ? 4 : 5;
    for (uint32_t b = 0; b < fn->nbins; b++)
        fn->bin[b] = five[b];
    for (uint32_t b = 0; b <= fn->nbins; b++)
        fn->edge[b] = edge[b];
}

/* pandas.cut(include_lowest=True): [e0, e1], (e1, e2], ...; -1 outside */
static int bin_of(const tal_diag_fn *fn, double x)
{
    if (isnan(x) || x < fn->edge[0])
        return -1;
    for (uint32_t b = 0; b < fn->nbins; b++)
        if (x <= fn->edge[b + 1])
            return (int)b;
    return -1;
}

static int classify(const tal_evalset *e, const tal_eval_det *d, double a, double min_tiou)
{
    uint32_t lo = e->gt_first[d->video], hi = e->gt_first[d->video + 1];
    double top = 0;
    int32_t label = -1;
    int any = 0;
    for (uint32_t j = lo; j < hi; j++) {
        const tal_eval_gt *g = &e->gt[j];
        if (!g->valid)
            continue;
        double t = tal_tiou_anet(d->start, d->end, g->start, g->end);
        if (isnan(t))
            return TAL_DIAG_BACKGROUND;   /* numpy's max is NaN then: DETAD calls it background */
        if (!any || t > top) {
            top = t;
            label = g->cls;
            any = 1;
        }
    }
    if (!any)
        return TAL_DIAG_BACKGROUND;
    if (top >= a)
        return label == d->cls ? TAL_DIAG_DOUBLE : TAL_DIAG_WRONG_LABEL;
    if (top >= min_tiou)
        return label == d->cls ? TAL_DIAG_LOCALIZATION : TAL_DIAG_CONFUSION;
    return TAL_DIAG_BACKGROUND;
}

/* AP of ranked flags, leaving out entries whose type is `skip` (-1: none) */
static double ap_without(const uint8_t *tp, const uint8_t *type, size_t n, int skip, double npos, double *prec,
                         double *rec)
{
    double ctp = 0, cfp = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (type[i] == skip)
            continue;
        if (tp[i])
            ctp += 1;
        else
            cfp += 1;
        rec[k] = ctp / npos;
        prec[k] = ctp / (ctp + cfp);
        k++;
    }
    return tal_ap_interp(prec, rec, k);
}

void tal_diag_result_free(tal_diag_result *r)
{
    free(r->slice);
    memset(r, 0, sizeof *r);
}

int tal_diagnose(const tal_evalset *e, const tal_diag_opts *o, tal_diag_result *r)
{
    memset(r, 0, sizeof *r);
    if (!e->finished)
        return tal_err(TAL_EINVAL, "evaluation set not finished");
    if (o->limit < 1 || o->limit > TAL_DIAG_MAX_LIMIT)
        return tal_err(TAL_EINVAL, "diagnosis: limit %u out of range", o->limit);
    r->tiou = o->tiou;
    r->min_tiou = o->min_tiou;
    r->limit = o->limit;
    uint32_t ncls = e->classes.n;
    uint32_t *npos = tal_calloc((size_t)ncls + 1, sizeof *npos);
    uint32_t *idx = NULL, *first = NULL;
    uint8_t *tp = NULL, *type = NULL, *gtfound = NULL;
    int64_t *match = NULL, *lock = NULL;
    double *prec = NULL, *rec = NULL;
    double ap_sum = 0, gain_sum[TAL_DIAG_NTYPES] = { 0 };
    uint32_t nclasses = 0;
    int rc = 0;
    if (!npos || !(r->slice = tal_calloc(o->limit, sizeof *r->slice)) || (rc = tal_eval_sorted_dets(e, &idx, &first))) {
        rc = rc ? rc : TAL_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < e->ngt; i++)
        if (e->gt[i].valid)
            npos[e->gt[i].cls]++;
    size_t maxn = 1;
    for (uint32_t c = 0; c < ncls; c++)
        if (first[c + 1] - first[c] > maxn)
            maxn = first[c + 1] - first[c];
    if (!(tp = tal_malloc(maxn)) || !(type = tal_malloc(maxn)) || !(match = tal_malloc(maxn * sizeof *match)) ||
        !(lock = tal_malloc((e->ngt ? e->ngt : 1) * sizeof *lock)) || !(prec = tal_malloc(maxn * sizeof *prec)) ||
        !(rec = tal_malloc(maxn * sizeof *rec)) || !(gtfound = tal_calloc(e->ngt ? e->ngt : 1, 1))) {
        rc = TAL_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < e->ngt; i++)
        lock[i] = -1;
    for (uint32_t c = 0; c < ncls && !rc; c++) {
        if (!npos[c])
            continue;
        nclasses++;
        size_t all = first[c + 1] - first[c];
        /* false negatives: every detection of the class */
        if (all && !(rc = tal_eval_match_anet(e, idx + first[c], all, &o->tiou, 1, tp, match, lock)))
            for (size_t i = 0; i < all; i++)
                if (match[i] >= 0)
                    gtfound[match[i]] = 1;
        if (rc)
            break;
        /* the profile: the top limit x G_j */
        size_t n = (size_t)o->limit * npos[c];
        if (n > all)
            n = all;
        if (!n)
            continue;
        if ((rc = tal_eval_match_anet(e, idx + first[c], n, &o->tiou, 1, tp, match, lock)))
            break;
        for (size_t i = 0; i < n; i++) {
            type[i] = tp[i] ? TAL_DIAG_TP : (uint8_t)classify(e, &e->det[idx[first[c] + i]], o->tiou, o->min_tiou);
            r->slice[i / npos[c]][type[i]]++;
            r->total[type[i]]++;
        }
        double base = ap_without(tp, type, n, -1, npos[c], prec, rec);
        ap_sum += base;
        for (int t = 1; t < TAL_DIAG_NTYPES; t++)
            gain_sum[t] += ap_without(tp, type, n, t, npos[c], prec, rec) - base;
    }
    if (rc)
        goto out;
    r->map = nclasses ? ap_sum / nclasses : 0;
    for (int t = 1; t < TAL_DIAG_NTYPES; t++)
        r->gain[t] = nclasses ? gain_sum[t] / nclasses : 0;
    /* false negatives by characteristic */
    for (int k = 0; k < TAL_NCHAR; k++)
        set_bins(&r->fn[k], k, o->bins);
    for (uint32_t v = 0; v < e->nvideos; v++) {
        uint32_t ninst = 0;
        for (uint32_t g = e->gt_first[v]; g < e->gt_first[v + 1]; g++)
            ninst += e->gt[g].valid;
        for (uint32_t g = e->gt_first[v]; g < e->gt_first[v + 1]; g++) {
            const tal_eval_gt *gt = &e->gt[g];
            if (!gt->valid)
                continue;
            r->gt++;
            r->missed += !gtfound[g];
            double val[TAL_NCHAR] = { gt->end - gt->start,
                                      e->duration[v] > 0 ? (gt->end - gt->start) / e->duration[v] : NAN, ninst };
            for (int k = 0; k < TAL_NCHAR; k++) {
                double x = o->gt_char && !isnan(o->gt_char[(size_t)g * TAL_NCHAR + k])
                               ? o->gt_char[(size_t)g * TAL_NCHAR + k]
                               : val[k];
                int b = bin_of(&r->fn[k], x);
                if (b < 0) {
                    r->fn[k].unknown++;
                    continue;
                }
                r->fn[k].n[b]++;
                r->fn[k].missed[b] += !gtfound[g];
            }
        }
    }
out:
    free(npos);
    free(idx);
    free(first);
    free(tp);
    free(type);
    free(match);
    free(lock);
    free(prec);
    free(rec);
    free(gtfound);
    if (rc) {
        tal_diag_result_free(r);
        return rc == TAL_ENOMEM ? tal_err(TAL_ENOMEM, "out of memory") : rc;
    }
    return 0;
}

/* ---- DETAD's characteristics files ------------------------------------------- */

static double num_or_nan(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : NAN;
}

int tal_diag_read_characteristics(const char *path, const tal_evalset *e, double *out, uint64_t *matched)
{
    char *text;
    size_t len;
    int rc = tal_read_file(path, (size_t)1 << 30, &text, &len);
    if (rc)
        return rc;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    free(text);
    if (!root)
        return tal_err(TAL_EINVAL, "bad JSON: '%s' line %d column %d: %s", path, jerr.line, jerr.column, jerr.text);
    for (size_t i = 0; i < e->ngt * TAL_NCHAR; i++)
        out[i] = NAN;
    *matched = 0;
    const json_t *db = json_object_get(root, "database");
    uint8_t *used = tal_calloc(e->ngt ? e->ngt : 1, 1);
    if (!used) {
        json_decref(root);
        return TAL_ENOMEM;
    }
    if (!json_is_object(db))
        rc = tal_err(TAL_EINVAL, "bad characteristics: '%s': no 'database' object", path);
    const char *id;
    const json_t *v;
    json_object_foreach((json_t *)(rc ? NULL : db), id, v) {
        int64_t vid = tal_strmap_get(&e->vindex, id);
        const json_t *anns = json_object_get(v, "annotations");
        if (!json_is_array(anns)) {
            rc = tal_err(TAL_EINVAL, "bad characteristics: '%s': database.%s.annotations is not a list", path, id);
            break;
        }
        if (vid < 0)
            continue;
        size_t i;
        const json_t *a;
        json_array_foreach(anns, i, a) {
            const json_t *seg = json_object_get(a, "segment"), *lab = json_object_get(a, "label");
            if (!json_is_array(seg) || json_array_size(seg) != 2 || !json_is_number(json_array_get(seg, 0)) ||
                !json_is_number(json_array_get(seg, 1)) || !json_is_string(lab)) {
                rc = tal_err(TAL_EINVAL, "bad characteristics: '%s': database.%s.annotations[%zu] lacks a segment or "
                             "a label", path, id, i);
                break;
            }
            int cls = tal_classes_find(&e->classes, json_string_value(lab));
            double s = json_number_value(json_array_get(seg, 0)), t = json_number_value(json_array_get(seg, 1));
            for (uint32_t g = e->gt_first[vid]; g < e->gt_first[vid + 1] && cls >= 0; g++) {
                const tal_eval_gt *gt = &e->gt[g];
                if (used[g] || gt->cls != cls || fabs(gt->start - s) > 1e-6 || fabs(gt->end - t) > 1e-6)
                    continue;
                used[g] = 1;
                (*matched)++;
                const json_t *ni = json_object_get(a, "num_instances");
                if (!ni)
                    ni = json_object_get(a, "num-instances");
                out[(size_t)g * TAL_NCHAR + TAL_CHAR_LENGTH] = num_or_nan(json_object_get(a, "length"));
                out[(size_t)g * TAL_NCHAR + TAL_CHAR_COVERAGE] = num_or_nan(json_object_get(a, "coverage"));
                out[(size_t)g * TAL_NCHAR + TAL_CHAR_NINST] = num_or_nan(ni);
                break;
            }
        }
        if (rc)
            break;
    }
    free(used);
    json_decref(root);
    return rc;
}
