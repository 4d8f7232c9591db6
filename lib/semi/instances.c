/* instances.c — instance pseudo labels from detections (see instances.h). */
#include "instances.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_number(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return *s && !*end && !errno && isfinite(*v) ? 0 : -1;
}

int tal_pick_rule_parse(const char *spec, tal_pick_rule *r)
{
    memset(r, 0, sizeof *r);
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    double v = 0;
    if (n == 5 && !strncmp(spec, "fixed", 5)) {
        r->rule = TAL_PICK_FIXED;
        if (!colon || parse_number(colon + 1, &v) || v < 0 || v > 1)
            return tal_err(TAL_EINVAL, "'%s': fixed needs a threshold in [0, 1] (fixed:0.3)", spec);
        r->thresh = v;
        return 0;
    }
    if (n == 4 && !strncmp(spec, "topk", 4)) {
        r->rule = TAL_PICK_TOPK;
        if (!colon || parse_number(colon + 1, &v) || v < 1 || v > 1e7 || v != floor(v))
            return tal_err(TAL_EINVAL, "'%s': topk needs a count of at least 1 (topk:10)", spec);
        r->k = (uint32_t)v;
        return 0;
    }
    int set = n == 12 && !strncmp(spec, "adaptive-set", 12);
    if (set || (n == 8 && !strncmp(spec, "adaptive", 8))) {
        const char *name = set ? "adaptive-set" : "adaptive";
        r->rule = set ? TAL_PICK_ADAPTIVE_SET : TAL_PICK_ADAPTIVE;
        r->thresh = 0.15;
        if (colon && (parse_number(colon + 1, &v) || v < 0 || v > 1))
            return tal_err(TAL_EINVAL, "'%s': %s takes a lower threshold in [0, 1] (%s:0.15)", spec, name, name);
        if (colon)
            r->thresh = v;
        return 0;
    }
    return tal_err(TAL_EINVAL, "'%s' is not a selection rule (fixed:T, topk:K, adaptive[:TL], adaptive-set[:TL])",
                   spec);
}

const char *tal_pick_rule_str(const tal_pick_rule *r)
{
    static char buf[48];
    if (r->rule == TAL_PICK_TOPK)
        snprintf(buf, sizeof buf, "topk:%u", r->k);
    else
        snprintf(buf, sizeof buf, "%s:%g",
                 r->rule == TAL_PICK_FIXED ? "fixed" : r->rule == TAL_PICK_ADAPTIVE ? "adaptive" : "adaptive-set",
                 r->thresh);
    return buf;
}

int tal_rank_parse(const char *name)
{
    if (!strcmp(name, "score"))
        return TAL_RANK_SCORE;
    if (!strcmp(name, "joint"))
        return TAL_RANK_JOINT;
    for (int q = 0; q < TAL_Q_COUNT; q++)
        if (!strcmp(name, tal_q_name(q)))
            return q;
    return INT_MIN;
}

const char *tal_rank_name(int key)
{
    return key == TAL_RANK_SCORE ? "score" : key == TAL_RANK_JOINT ? "joint" : tal_q_name(key);
}

uint32_t tal_rank_needs(int key)
{
    if (key == TAL_RANK_JOINT)   /* tnd is 0 where absent (a one-branch model) */
        return 1u << TAL_Q_CLS | 1u << TAL_Q_TIOU;
    return key >= 0 ? 1u << key : 0;
}

double tal_rank_value(const tal_segment *s, int key)
{
    if (key == TAL_RANK_SCORE)
        return s->score;
    if (key == TAL_RANK_JOINT)
        return (double)s->q[TAL_Q_CLS] * fmax((double)s->q[TAL_Q_TIOU] - s->q[TAL_Q_TND], 1e-3);
    return s->q[key];
}

/* a detection's key, or NaN where it is never kept (no class) */
static double key_of(const tal_segment *s, int key)
{
    return s->cls >= 0 ? tal_rank_value(s, key) : NAN;
}

int tal_pick_measure(const tal_segset *dets, const tal_pick_rule *r, int key, tal_pick_stats *st)
{
    uint32_t need = tal_rank_needs(key);
    if ((dets->qmask & need) != need)
        return tal_err(TAL_EINVAL, "the detections carry no '%s' score to rank by", tal_rank_name(key));
    for (uint32_t i = 0; i < dets->n; i++) {
        double v = key_of(&dets->v[i], key);
        if (!(v >= r->thresh))   /* NaN too */
            continue;
        st->n += 1;
        double delta = v - st->mean;
        st->mean += delta / st->n;
        st->m2 += delta * (v - st->mean);
    }
    return 0;
}

void tal_pick_fix(tal_pick_rule *r, const tal_pick_stats *st)
{
    r->th_set = st->n > 0 ? st->mean + sqrt(fmax(st->m2, 0) / st->n) : 0;
}

typedef struct {
    double v;
    uint32_t i;
} keyed;

/* best key first; equal keys in input order */
static int by_key(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->v != y->v)
        return x->v > y->v ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

int tal_pick_instances(const tal_segset *dets, const tal_pick_rule *r, int key, tal_segset *out,
                       tal_pick_count *count)
{
    uint32_t need = tal_rank_needs(key);
    if ((dets->qmask & need) != need)
        return tal_err(TAL_EINVAL, "the detections carry no '%s' score to rank by", tal_rank_name(key));
    keyed *k = tal_malloc((dets->n ? dets->n : 1) * sizeof *k);
    if (!k)
        return TAL_ENOMEM;
    uint32_t n = 0;
    for (uint32_t i = 0; i < dets->n; i++) {
        double v = key_of(&dets->v[i], key);
        if (!isnan(v))
            k[n++] = (keyed){ v, i };
        else
            count->dropped++;
    }
    qsort(k, n, sizeof *k, by_key);
    double th_pos = -INFINITY, th_keep = -INFINITY;
    uint32_t keep = n;
    if (r->rule == TAL_PICK_FIXED) {
        th_pos = th_keep = r->thresh;
    } else if (r->rule == TAL_PICK_TOPK) {
        if (keep > r->k)
            keep = r->k;
    } else if (r->rule == TAL_PICK_ADAPTIVE_SET) {
        th_keep = r->thresh;
        th_pos = r->th_set;
    } else {
        /* APL eq. 6: TH = mean + sd of the keys that pass TL */
        th_keep = r->thresh;
        double sum = 0, sq = 0;
        uint32_t m = 0;
        for (uint32_t i = 0; i < n && k[i].v >= th_keep; i++, m++)
            sum += k[i].v;
        double mean = m ? sum / m : 0;
        for (uint32_t i = 0; i < m; i++)
            sq += (k[i].v - mean) * (k[i].v - mean);
        th_pos = mean + (m ? sqrt(sq / m) : 0);
    }
    int rc = 0;
    for (uint32_t i = 0; i < n && !rc; i++) {
        if (i >= keep || k[i].v < th_keep) {
            count->dropped++;
            continue;
        }
        tal_segment s = dets->v[k[i].i];
        s.flags = TAL_SEG_PSEUDO;
        if (k[i].v < th_pos) {
            s.flags |= TAL_SEG_CANDIDATE;
            count->candidates++;
        } else {
            count->positives++;
        }
        rc = tal_segset_push(out, &s);
    }
    out->qmask |= dets->qmask;
    free(k);
    return rc;
}
