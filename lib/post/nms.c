/* nms.c — hard, linear and Gaussian NMS of temporal detections (nms.h).
 *
 * The selection is the textbook one (take the best, decay the rest), but
 * organised so that a sequence of thousands of candidates costs little:
 * the best remaining detection comes from an indexed max-heap whose keys
 * are lowered in place when scores decay, and only detections that
 * overlap the one taken can change, so only those are visited: a group's
 * detections are kept sorted by start, and the ones overlapping [s, e)
 * all start in (s - longest, e).
 */
#include "nms.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *tal_nms_method_name(int m)
{
    return m == TAL_NMS_HARD ? "hard" : m == TAL_NMS_LINEAR ? "linear" : m == TAL_NMS_GAUSSIAN ? "gaussian" : "?";
}

int tal_nms_method_parse(const char *s)
{
    if (!strcmp(s, "hard") || !strcmp(s, "nms"))
        return TAL_NMS_HARD;
    if (!strcmp(s, "linear"))
        return TAL_NMS_LINEAR;
    if (!strcmp(s, "gaussian"))
        return TAL_NMS_GAUSSIAN;
    return -1;
}

double tal_nms_iou(double as, double ae, double bs, double be)
{
    double inter = (ae < be ? ae : be) - (as > bs ? as : bs);
    if (!(inter > 0))
        return 0;
    double uni = (ae - as) + (be - bs) - inter;
    return uni > 0 ? inter / uni : 0;
}

typedef struct {
    uint32_t off, m;     /* its detections: order[off .. off+m), bystart and heap alike */
    uint32_t hn;         /* live entries of its heap */
    uint32_t taken;
    double longest;
    int32_t cls;
} group;

struct tal_nms_ws {
    size_t cap, gcap;
    uint32_t *order;    /* detections by (group, input order) */
    uint32_t *bystart;  /* each group's detections by start */
    double *score;      /* current scores */
    uint8_t *alive;
    uint32_t *heap, *hpos;   /* per group, at the group's offset */
    uint32_t *kept;     /* detections kept, in the order taken */
    tal_segment *out;
    group *g;
    uint32_t *gheap;    /* groups by the score of their best remaining detection */
};

tal_nms_ws *tal_nms_ws_new(void)
{
    return tal_calloc(1, sizeof(tal_nms_ws));
}

void tal_nms_ws_free(tal_nms_ws *w)
{
    if (!w)
        return;
    free(w->order);
    free(w->bystart);
    free(w->score);
    free(w->alive);
    free(w->heap);
    free(w->hpos);
    free(w->kept);
    free(w->out);
    free(w->g);
    free(w->gheap);
    free(w);
}

#define GROW(p, cap)                                             \
    do {                                                         \
        void *q = tal_reallocarray(w->p, cap, sizeof *w->p);     \
        if (!q)                                                  \
            return TAL_ENOMEM;                                   \
        w->p = q;                                                \
    } while (0)

static int ws_reserve(tal_nms_ws *w, size_t n)
{
    if (n <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap : 64;
    while (cap < n)
        cap *= 2;
    GROW(order, cap);
    GROW(bystart, cap);
    GROW(score, cap);
    GROW(alive, cap);
    GROW(heap, cap);
    GROW(hpos, cap);
    GROW(kept, cap);
    GROW(out, cap);
    w->cap = cap;
    return 0;
}

static int ws_reserve_groups(tal_nms_ws *w, size_t n)
{
    if (n <= w->gcap)
        return 0;
    size_t cap = w->gcap ? w->gcap : 16;
    while (cap < n)
        cap *= 2;
    GROW(g, cap);
    GROW(gheap, cap);
    w->gcap = cap;
    return 0;
}
#undef GROW

/* ---- a group's indexed max-heap on (score desc, index asc) ---------------------- */

static int above(const tal_nms_ws *w, uint32_t a, uint32_t b)
{
    return w->score[a] > w->score[b] || (w->score[a] == w->score[b] && a < b);
}

static void heap_set(tal_nms_ws *w, uint32_t *h, uint32_t at, uint32_t x)
{
    h[at] = x;
    w->hpos[x] = at;
}

static void sift_up(tal_nms_ws *w, uint32_t *h, uint32_t at)
{
    uint32_t x = h[at];
    while (at > 0) {
        uint32_t parent = (at - 1) / 2;
        if (!above(w, x, h[parent]))
            break;
        heap_set(w, h, at, h[parent]);
        at = parent;
    }
    heap_set(w, h, at, x);
}

static void sift_down(tal_nms_ws *w, uint32_t *h, uint32_t hn, uint32_t at)
{
    uint32_t x = h[at];
    for (;;) {
        uint32_t c = 2 * at + 1;
        if (c >= hn)
            break;
        if (c + 1 < hn && above(w, h[c + 1], h[c]))
            c++;
        if (!above(w, h[c], x))
            break;
        heap_set(w, h, at, h[c]);
        at = c;
    }
    heap_set(w, h, at, x);
}

static void heap_remove(tal_nms_ws *w, group *g, uint32_t x)
{
    uint32_t *h = w->heap + g->off;
    uint32_t at = w->hpos[x];
    uint32_t last = h[--g->hn];
    if (at == g->hn)
        return;
    heap_set(w, h, at, last);
    sift_up(w, h, at);
    sift_down(w, h, g->hn, w->hpos[last]);
}

/* ---- the heap of groups: best remaining score first, then lower class --------- */

static int group_above(const tal_nms_ws *w, uint32_t a, uint32_t b)
{
    const group *x = &w->g[a], *y = &w->g[b];
    double sx = w->score[w->heap[x->off]], sy = w->score[w->heap[y->off]];
    return sx > sy || (sx == sy && x->cls < y->cls);
}

static void gheap_down(tal_nms_ws *w, uint32_t n, uint32_t at)
{
    uint32_t x = w->gheap[at];
    for (;;) {
        uint32_t c = 2 * at + 1;
        if (c >= n)
            break;
        if (c + 1 < n && group_above(w, w->gheap[c + 1], w->gheap[c]))
            c++;
        if (!group_above(w, w->gheap[c], x))
            break;
        w->gheap[at] = w->gheap[c];
        at = c;
    }
    w->gheap[at] = x;
}

/* ---- ordering helpers ---------------------------------------------------------- */

static const tal_segment *cmp_v;

static int cmp_group(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (cmp_v[x].cls != cmp_v[y].cls)
        return cmp_v[x].cls < cmp_v[y].cls ? -1 : 1;
    return (x > y) - (x < y);
}

static int cmp_start(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (cmp_v[x].start != cmp_v[y].start)
        return cmp_v[x].start < cmp_v[y].start ? -1 : 1;
    return (x > y) - (x < y);
}

/* Counting sort of the detections by class, input order within a class,
 * into w->order (bystart as scratch).  1 if the class range is too wide
 * for it (then qsort does the job). */
static int group_by_class(tal_nms_ws *w, const tal_segment *v, uint32_t n)
{
    int32_t lo = v[0].cls, hi = v[0].cls;
    for (uint32_t i = 1; i < n; i++) {
        if (v[i].cls < lo)
            lo = v[i].cls;
        if (v[i].cls > hi)
            hi = v[i].cls;
    }
    uint64_t range = (uint64_t)((int64_t)hi - lo) + 1;
    if (range > n || range > 65536)
        return 1;
    uint32_t count[65537];
    memset(count, 0, (size_t)(range + 1) * sizeof *count);
    for (uint32_t i = 0; i < n; i++)
        count[v[i].cls - lo + 1]++;
    for (uint64_t c = 0; c < range; c++)
        count[c + 1] += count[c];
    for (uint32_t i = 0; i < n; i++)
        w->bystart[count[v[i].cls - lo]++] = i;
    memcpy(w->order, w->bystart, n * sizeof *w->order);
    return 0;
}

/* first position in bystart[0..m) whose start is > x */
static uint32_t first_after(const tal_segment *v, const uint32_t *bystart, uint32_t m, double x)
{
    uint32_t lo = 0, hi = m;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (v[bystart[mid]].start > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static double weight(const tal_nms_opts *o, double iou, double thr)
{
    if (o->adaptive && !(iou > thr))
        return 1;
    switch (o->method) {
    case TAL_NMS_HARD:
        return o->adaptive || iou >= thr ? 0 : 1;
    case TAL_NMS_LINEAR:
        return o->adaptive || iou >= thr ? 1 - iou : 1;
    default:
        return exp(-(iou * iou) / o->sigma);
    }
}

/* ---- one step: group g takes its best ----------------------------------------------- */

static uint32_t take(tal_nms_ws *w, const tal_segment *v, group *g, double duration, const tal_nms_opts *o)
{
    uint32_t *h = w->heap + g->off, *bs = w->bystart + g->off, m = g->m;
    uint32_t s = h[0];
    heap_remove(w, g, s);
    w->alive[s] = 0;
    if (g->taken++ == 0) {
        /* the first step tests every other score, decayed or not */
        for (uint32_t i = 0; i < m; i++) {
            uint32_t x = bs[i];
            if (w->alive[x] && w->score[x] < o->min_score) {
                w->alive[x] = 0;
                heap_remove(w, g, x);
            }
        }
    }
    double ss = v[s].start, se = v[s].end;
    double thr = o->adaptive ? o->t1 + (o->t2 - o->t1) * ((se - ss) / duration) : o->iou_thresh;
    for (uint32_t k = first_after(v, bs, m, ss - g->longest); k < m && v[bs[k]].start < se; k++) {
        uint32_t x = bs[k];
        if (!w->alive[x])
            continue;
        double wt = weight(o, tal_nms_iou(ss, se, v[x].start, v[x].end), thr);
        if (wt == 1)
            continue;
        w->score[x] *= wt;
        if (wt == 0 || w->score[x] < o->min_score) {
            w->alive[x] = 0;
            heap_remove(w, g, x);
        } else {
            sift_down(w, h, g->hn, w->hpos[x]);
        }
    }
    return s;
}

static void vote(const tal_segment *v, const uint32_t *bs, uint32_t m, double longest, double thr, tal_segment *k)
{
    double sw = 0, s0 = 0, s1 = 0;
    for (uint32_t i = first_after(v, bs, m, k->start - longest); i < m && v[bs[i]].start < k->end; i++) {
        const tal_segment *x = &v[bs[i]];
        double iou = tal_nms_iou(k->start, k->end, x->start, x->end);
        if (iou < thr)
            continue;
        double wt = iou * x->score;
        sw += wt;
        s0 += wt * x->start;
        s1 += wt * x->end;
    }
    if (sw > 0) {
        k->start = s0 / sw;
        k->end = s1 / sw;
    }
}

/* The groups are run side by side: the next detection kept is always the
 * best of the groups' next ones, so the kept list comes out in its final
 * order (score, then class) and work stops once max_keep are kept. */
int tal_nms(tal_nms_ws *w, tal_segset *dets, double duration, const tal_nms_opts *o)
{
    uint32_t n = dets->n;
    if (!n)
        return 0;
    const tal_segment *v = dets->v;
    double latest = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!isfinite(v[i].start) || !isfinite(v[i].end) || !isfinite(v[i].score))
            return tal_err(TAL_EINVAL, "detection %u has a non-finite time or score", i);
        if (v[i].end > latest)
            latest = v[i].end;
    }
    if (!(duration > 0))
        duration = latest > 0 ? latest : 1;
    if (ws_reserve(w, n))
        return tal_err(TAL_ENOMEM, "out of memory for %u detections", n);
    for (uint32_t i = 0; i < n; i++)
        w->order[i] = i;
    cmp_v = v;
    if (!o->class_agnostic && group_by_class(w, v, n))
        qsort(w->order, n, sizeof *w->order, cmp_group);
    /* the groups, each with its detections by start and its heap */
    uint32_t ng = 0;
    for (uint32_t a = 0, b; a < n; a = b) {
        b = a + 1;
        if (o->class_agnostic)
            b = n;
        else
            while (b < n && v[w->order[b]].cls == v[w->order[a]].cls)
                b++;
        if (ws_reserve_groups(w, (size_t)ng + 1))
            return tal_err(TAL_ENOMEM, "out of memory");
        group *g = &w->g[ng];
        *g = (group){ .off = a, .m = b - a, .cls = v[w->order[a]].cls };
        uint32_t *bs = w->bystart + a, *h = w->heap + a;
        memcpy(bs, w->order + a, g->m * sizeof *bs);
        qsort(bs, g->m, sizeof *bs, cmp_start);
        for (uint32_t i = 0; i < g->m; i++) {
            uint32_t x = w->order[a + i];
            double len = v[x].end - v[x].start;
            if (len > g->longest)
                g->longest = len;
            w->score[x] = v[x].score;
            w->alive[x] = 1;
            heap_set(w, h, g->hn++, x);
        }
        for (uint32_t i = g->hn / 2; i-- > 0;)
            sift_down(w, h, g->hn, i);
        w->gheap[ng] = ng;
        ng++;
    }
    for (uint32_t i = ng / 2; i-- > 0;)
        gheap_down(w, ng, i);
    uint32_t nkept = 0;
    while (ng && (!o->max_keep || nkept < o->max_keep)) {
        uint32_t gi = w->gheap[0];
        group *g = &w->g[gi];
        uint32_t s = take(w, v, g, duration, o);
        w->out[nkept] = v[s];
        w->out[nkept].score = w->score[s];
        w->kept[nkept++] = gi;
        if (!g->hn)
            w->gheap[0] = w->gheap[--ng];
        if (ng)
            gheap_down(w, ng, 0);
    }
    if (o->vote_iou > 0)
        for (uint32_t i = 0; i < nkept; i++) {
            const group *g = &w->g[w->kept[i]];
            vote(v, w->bystart + g->off, g->m, g->longest, o->vote_iou, &w->out[i]);
        }
    memcpy(dets->v, w->out, nkept * sizeof *dets->v);
    dets->n = nkept;
    return 0;
}
