/* record.c — headers and records in memory (see record.h). */
#include "record.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- enumerations -------------------------------------------------- */

static const char *const sup_names[TAL_SUP_COUNT] = { "none", "full", "point", "video" };
static const char *const role_names[TAL_ROLE_COUNT] = { "unset", "train", "test" };
static const char *const q_names[TAL_Q_COUNT] = { "tiou", "tnd", "icd", "cls" };

const char *tal_supervision_name(int s) { return s >= 0 && s < TAL_SUP_COUNT ? sup_names[s] : "?"; }
const char *tal_role_name(int r) { return r >= 0 && r < TAL_ROLE_COUNT ? role_names[r] : "?"; }
const char *tal_q_name(int i) { return i >= 0 && i < TAL_Q_COUNT ? q_names[i] : "?"; }

int tal_supervision_parse(const char *name)
{
    for (int i = 0; i < TAL_SUP_COUNT; i++)
        if (!strcasecmp(name, sup_names[i]))
            return i;
    if (!strcasecmp(name, "points"))
        return TAL_SUP_POINT;
    return -1;
}

int tal_role_parse(const char *name)
{
    for (int i = 0; i < TAL_ROLE_COUNT; i++)
        if (!strcasecmp(name, role_names[i]))
            return i;
    return -1;
}

const char *tal_dtype_name(int d)
{
    return d == TAL_DTYPE_F32 ? "f32" : d == TAL_DTYPE_F16 ? "f16" : "?";
}

int tal_dtype_parse(const char *name)
{
    if (!strcasecmp(name, "f32") || !strcasecmp(name, "float32") || !strcasecmp(name, "float"))
        return TAL_DTYPE_F32;
    if (!strcasecmp(name, "f16") || !strcasecmp(name, "float16") || !strcasecmp(name, "half"))
        return TAL_DTYPE_F16;
    return -1;
}

size_t tal_dtype_size(int d) { return d == TAL_DTYPE_F32 ? 4 : d == TAL_DTYPE_F16 ? 2 : 0; }

/* ---- class tables ------------------------------------------------------ */

int tal_classes_add(tal_classes *c, const char *name, int32_t ext_id)
{
    char **nn = tal_reallocarray(c->names, c->n + 1, sizeof *nn);
    if (!nn)
        return TAL_ENOMEM;
    c->names = nn;
    int32_t *ne = tal_reallocarray(c->ext_ids, c->n + 1, sizeof *ne);
    if (!ne)
        return TAL_ENOMEM;
    c->ext_ids = ne;
    if (!(c->names[c->n] = tal_strdup(name)))
        return TAL_ENOMEM;
    c->ext_ids[c->n] = ext_id;
    c->n++;
    return 0;
}

int tal_classes_find(const tal_classes *c, const char *name)
{
    for (uint32_t i = 0; i < c->n; i++)
        if (!strcmp(c->names[i], name))
            return (int)i;
    return -1;
}

int tal_classes_find_ext(const tal_classes *c, int32_t ext_id)
{
    for (uint32_t i = 0; i < c->n; i++)
        if (c->ext_ids[i] == ext_id)
            return (int)i;
    return -1;
}

int tal_classes_equal(const tal_classes *a, const tal_classes *b)
{
    if (a->n != b->n)
        return 0;
    for (uint32_t i = 0; i < a->n; i++)
        if (strcmp(a->names[i], b->names[i]))
            return 0;
    return 1;
}

void tal_classes_free(tal_classes *c)
{
    for (uint32_t i = 0; i < c->n; i++)
        free(c->names[i]);
    free(c->names);
    free(c->ext_ids);
    memset(c, 0, sizeof *c);
}

int tal_classes_copy(tal_classes *dst, const tal_classes *src)
{
    memset(dst, 0, sizeof *dst);
    for (uint32_t i = 0; i < src->n; i++)
        if (tal_classes_add(dst, src->names[i], src->ext_ids[i])) {
            tal_classes_free(dst);
            return TAL_ENOMEM;
        }
    return 0;
}

/* ---- header ------------------------------------------------------------ */

void tal_header_init(tal_header *h)
{
    memset(h, 0, sizeof *h);
    h->version_major = 1;
    h->version_minor = 0;
    h->feat_dtype = TAL_DTYPE_F32;
}

static void free_kvs(tal_kv *kv, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

static void free_raw(tal_raw_section *x, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        free(x[i].data);
    free(x);
}

void tal_header_free(tal_header *h)
{
    if (!h)
        return;
    tal_classes_free(&h->classes);
    for (uint32_t i = 0; i < h->nprov; i++) {
        free(h->prov[i].tool);
        free(h->prov[i].version);
        free(h->prov[i].argv);
    }
    free(h->prov);
    free_kvs(h->meta, h->nmeta);
    free_raw(h->extra, h->nextra);
    tal_header_init(h);
}

static int add_kv(tal_kv **kv, uint32_t *n, const char *key, const char *value)
{
    for (uint32_t i = 0; i < *n; i++)
        if (!strcmp((*kv)[i].key, key)) {
            char *v = tal_strdup(value);
            if (!v)
                return TAL_ENOMEM;
            free((*kv)[i].value);
            (*kv)[i].value = v;
            return 0;
        }
    tal_kv *p = tal_reallocarray(*kv, *n + 1, sizeof *p);
    if (!p)
        return TAL_ENOMEM;
    *kv = p;
    p[*n].key = tal_strdup(key);
    p[*n].value = tal_strdup(value);
    if (!p[*n].key || !p[*n].value) {
        free(p[*n].key);
        free(p[*n].value);
        return TAL_ENOMEM;
    }
    (*n)++;
    return 0;
}

static const char *get_kv(const tal_kv *kv, uint32_t n, const char *key)
{
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(kv[i].key, key))
            return kv[i].value;
    return NULL;
}

int tal_header_set_meta(tal_header *h, const char *key, const char *value)
{
    return add_kv(&h->meta, &h->nmeta, key, value);
}

const char *tal_header_get_meta(const tal_header *h, const char *key)
{
    return get_kv(h->meta, h->nmeta, key);
}

static int copy_raw(tal_raw_section **dst, uint32_t *ndst, const tal_raw_section *src, uint32_t n)
{
    *dst = NULL;
    *ndst = 0;
    if (!n)
        return 0;
    tal_raw_section *p = tal_calloc(n, sizeof *p);
    if (!p)
        return TAL_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        p[i] = src[i];
        p[i].data = tal_malloc(src[i].len ? src[i].len : 1);
        if (!p[i].data) {
            free_raw(p, i);
            return TAL_ENOMEM;
        }
        memcpy(p[i].data, src[i].data, src[i].len);
    }
    *dst = p;
    *ndst = n;
    return 0;
}

int tal_header_copy(tal_header *dst, const tal_header *src)
{
    tal_header_init(dst);
    dst->version_major = src->version_major;
    dst->version_minor = src->version_minor;
    dst->compat_flags = src->compat_flags;
    dst->incompat_flags = src->incompat_flags;
    dst->feat_dim = src->feat_dim;
    dst->feat_dtype = src->feat_dtype;
    dst->fps = src->fps;
    dst->stride = src->stride;
    dst->clip = src->clip;
    if (tal_classes_copy(&dst->classes, &src->classes))
        goto fail;
    for (uint32_t i = 0; i < src->nprov; i++) {
        tal_prov *p = tal_reallocarray(dst->prov, dst->nprov + 1, sizeof *p);
        if (!p)
            goto fail;
        dst->prov = p;
        p[dst->nprov].tool = tal_strdup(src->prov[i].tool);
        p[dst->nprov].version = tal_strdup(src->prov[i].version);
        p[dst->nprov].argv = tal_strdup(src->prov[i].argv);
        dst->nprov++;
        if (!p[dst->nprov - 1].tool || !p[dst->nprov - 1].version || !p[dst->nprov - 1].argv)
            goto fail;
    }
    for (uint32_t i = 0; i < src->nmeta; i++)
        if (tal_header_set_meta(dst, src->meta[i].key, src->meta[i].value))
            goto fail;
    if (copy_raw(&dst->extra, &dst->nextra, src->extra, src->nextra))
        goto fail;
    return 0;
fail:
    tal_header_free(dst);
    return TAL_ENOMEM;
}

/* Quote an argument for a POSIX shell when it needs it. */
static int append_quoted(char **out, size_t *len, const char *arg)
{
    int plain = *arg != 0;
    for (const char *p = arg; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%", *p))
            plain = 0;
    size_t need = strlen(arg) * 4 + 4;
    char *s = tal_realloc(*out, *len + need);
    if (!s)
        return TAL_ENOMEM;
    *out = s;
    char *w = s + *len;
    if (*len)
        *w++ = ' ';
    if (plain) {
        w = stpcpy(w, arg);
    } else {
        *w++ = '\'';
        for (const char *p = arg; *p; p++) {
            if (*p == '\'') {
                w = stpcpy(w, "'\\''");
            } else {
                *w++ = *p;
            }
        }
        *w++ = '\'';
        *w = 0;
    }
    *len = (size_t)(w - s);
    return 0;
}

int tal_header_add_prov(tal_header *h, const char *tool, const char *version,
                        int argc, char *const *argv)
{
    char *cmd = NULL;
    size_t len = 0;
    for (int i = 0; i < argc; i++)
        if (append_quoted(&cmd, &len, argv[i])) {
            free(cmd);
            return TAL_ENOMEM;
        }
    if (!cmd && !(cmd = tal_strdup("")))
        return TAL_ENOMEM;
    tal_prov *p = tal_reallocarray(h->prov, h->nprov + 1, sizeof *p);
    if (!p) {
        free(cmd);
        return TAL_ENOMEM;
    }
    h->prov = p;
    p[h->nprov].tool = tal_strdup(tool);
    p[h->nprov].version = tal_strdup(version);
    p[h->nprov].argv = cmd;
    h->nprov++;
    if (!p[h->nprov - 1].tool || !p[h->nprov - 1].version)
        return TAL_ENOMEM;
    return 0;
}

static int same_double(double a, double b)
{
    return a == b || fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b));
}

int tal_header_compatible(const tal_header *a, const tal_header *b)
{
    if (!tal_classes_equal(&a->classes, &b->classes)) {
        if (a->classes.n != b->classes.n)
            return tal_err(TAL_EINCOMPAT, "class tables differ: %u classes vs %u", a->classes.n, b->classes.n);
        for (uint32_t i = 0; i < a->classes.n; i++)
            if (strcmp(a->classes.names[i], b->classes.names[i]))
                return tal_err(TAL_EINCOMPAT, "class tables differ: class %u is '%s' vs '%s'",
                               i, a->classes.names[i], b->classes.names[i]);
    }
    if (a->feat_dim && b->feat_dim && a->feat_dim != b->feat_dim)
        return tal_err(TAL_EINCOMPAT, "feature dimensions differ: %u vs %u", a->feat_dim, b->feat_dim);
    if (!same_double(a->fps, b->fps) || !same_double(a->stride, b->stride) || !same_double(a->clip, b->clip))
        return tal_err(TAL_EINCOMPAT, "time grids differ: fps %g stride %g clip %g vs fps %g stride %g clip %g",
                       a->fps, a->stride, a->clip, b->fps, b->stride, b->clip);
    return 0;
}

/* ---- records ------------------------------------------------------------ */

void tal_record_init(tal_record *r) { memset(r, 0, sizeof *r); }

void tal_record_clear(tal_record *r)
{
    if (r->id)
        r->id[0] = 0;
    if (r->subset)
        r->subset[0] = 0;
    r->duration = r->fps = r->stride = r->clip = 0;
    r->supervision = TAL_SUP_NONE;
    r->role = TAL_ROLE_UNSET;
    r->flags = r->present = 0;
    r->T = r->D = 0;
    r->feat_dtype = 0;
    tal_segset_clear(&r->segs);
    tal_segset_clear(&r->dets);
    r->npoints = r->nlabels = 0;
    r->dist_T = r->dist_K = 0;
    r->ntimemap = 0;
    free_kvs(r->prov, r->nprov);
    r->prov = NULL;
    r->nprov = 0;
    free_raw(r->extra, r->nextra);
    r->extra = NULL;
    r->nextra = 0;
}

void tal_record_free(tal_record *r)
{
    if (!r)
        return;
    free(r->id);
    free(r->subset);
    free(r->feat);
    free(r->segs.v);
    free(r->dets.v);
    free(r->points);
    free(r->labels);
    free(r->dist);
    free(r->timemap);
    free_kvs(r->prov, r->nprov);
    free_raw(r->extra, r->nextra);
    tal_record_init(r);
}

static int set_str(char **dst, const char *s)
{
    char *d = tal_strdup(s ? s : "");
    if (!d)
        return TAL_ENOMEM;
    free(*dst);
    *dst = d;
    return 0;
}

int tal_record_set_id(tal_record *r, const char *id) { return set_str(&r->id, id); }
int tal_record_set_subset(tal_record *r, const char *subset) { return set_str(&r->subset, subset); }

/* Float arrays grow with realloc so that a reader can extend them as data
 * arrives (see stream.c); contents are kept. */
int tal_floats_reserve(float **p, size_t *cap, size_t n)
{
    if (n <= *cap)
        return 0;
    float *q = tal_reallocarray(*p, n, sizeof(float));
    if (!q)
        return TAL_ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

static int alloc_floats(float **p, size_t *cap, uint32_t a, uint32_t b)
{
    size_t n;
    if (tal_mul_size(a, b, &n))
        return tal_err(TAL_ENOMEM, "out of memory: %u x %u array", a, b);
    return tal_floats_reserve(p, cap, n);
}

int tal_record_alloc_features(tal_record *r, uint32_t T, uint32_t D)
{
    int rc = alloc_floats(&r->feat, &r->feat_cap, T, D);
    if (rc)
        return rc;
    r->T = T;
    r->D = D;
    if (!r->feat_dtype)
        r->feat_dtype = TAL_DTYPE_F32;
    r->present |= TAL_HAS_FEATURES;
    return 0;
}

int tal_record_alloc_dist(tal_record *r, uint32_t T, uint32_t K)
{
    int rc = alloc_floats(&r->dist, &r->dist_cap, T, K);
    if (rc)
        return rc;
    r->dist_T = T;
    r->dist_K = K;
    if (!r->dist_dtype)
        r->dist_dtype = TAL_DTYPE_F32;
    r->present |= TAL_HAS_DIST;
    return 0;
}

void tal_record_drop_features(tal_record *r)
{
    r->T = r->D = 0;
    r->present &= ~TAL_HAS_FEATURES;
}

int tal_record_alloc_timemap(tal_record *r, uint32_t n)
{
    void *v = r->timemap;
    if (tal_grow(&v, &r->timemap_cap, n ? n : 1, sizeof *r->timemap))
        return TAL_ENOMEM;
    r->timemap = v;
    r->ntimemap = n;
    r->present |= TAL_HAS_TIMEMAP;
    return 0;
}

int tal_segset_push(tal_segset *s, const tal_segment *seg)
{
    void *v = s->v;
    if (tal_grow(&v, &s->cap, (size_t)s->n + 1, sizeof *s->v))
        return TAL_ENOMEM;
    s->v = v;
    s->v[s->n++] = *seg;
    return 0;
}

void tal_segset_clear(tal_segset *s)
{
    s->n = 0;
    s->qmask = 0;
}

int tal_segset_copy(tal_segset *dst, const tal_segset *src)
{
    void *v = dst->v;
    if (tal_grow(&v, &dst->cap, src->n, sizeof *src->v))
        return TAL_ENOMEM;
    dst->v = v;
    if (src->n)
        memcpy(dst->v, src->v, src->n * sizeof *src->v);
    dst->n = src->n;
    dst->qmask = src->qmask;
    return 0;
}

static int cmp_segment(const void *a, const void *b)
{
    const tal_segment *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    if (x->cls != y->cls)
        return (x->cls > y->cls) - (x->cls < y->cls);
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->flags > y->flags) - (x->flags < y->flags);
}

void tal_segset_sort(tal_segset *s)
{
    /* the key covers every field that matters, so ties are true duplicates
     * and the order does not depend on the sort's stability */
    if (s->n > 1)
        qsort(s->v, s->n, sizeof *s->v, cmp_segment);
}

int tal_record_add_point(tal_record *r, double time, int32_t cls, float weight)
{
    void *v = r->points;
    if (tal_grow(&v, &r->points_cap, (size_t)r->npoints + 1, sizeof *r->points))
        return TAL_ENOMEM;
    r->points = v;
    r->points[r->npoints++] = (tal_point){ time, cls, weight };
    r->present |= TAL_HAS_POINTS;
    return 0;
}

static int cmp_point(const void *a, const void *b)
{
    const tal_point *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    if (x->cls != y->cls)
        return (x->cls > y->cls) - (x->cls < y->cls);
    return (x->weight < y->weight) - (x->weight > y->weight);
}

int tal_record_sort_points(tal_record *r)
{
    if (r->npoints > 1)
        qsort(r->points, r->npoints, sizeof *r->points, cmp_point);
    return 0;
}

int tal_record_add_label(tal_record *r, int32_t cls, float score)
{
    r->present |= TAL_HAS_LABELS;
    for (uint32_t i = 0; i < r->nlabels; i++)
        if (r->labels[i].cls == cls) {
            if (score > r->labels[i].score)
                r->labels[i].score = score;
            return 0;
        }
    void *v = r->labels;
    if (tal_grow(&v, &r->labels_cap, (size_t)r->nlabels + 1, sizeof *r->labels))
        return TAL_ENOMEM;
    r->labels = v;
    r->labels[r->nlabels++] = (tal_label){ cls, score };
    return 0;
}

int tal_record_set_prov(tal_record *r, const char *key, const char *value)
{
    r->present |= TAL_HAS_PROV;
    return add_kv(&r->prov, &r->nprov, key, value);
}

const char *tal_record_get_prov(const tal_record *r, const char *key)
{
    return get_kv(r->prov, r->nprov, key);
}

static int cmp_label(const void *a, const void *b)
{
    const tal_label *x = a, *y = b;
    return (x->cls > y->cls) - (x->cls < y->cls);
}

int tal_record_labels_from_segments(tal_record *r)
{
    r->nlabels = 0;
    r->present |= TAL_HAS_LABELS;
    for (uint32_t i = 0; i < r->segs.n; i++) {
        const tal_segment *s = &r->segs.v[i];
        if (!(s->flags & TAL_SEG_AMBIGUOUS) && s->cls >= 0 && tal_record_add_label(r, s->cls, 1.0f))
            return TAL_ENOMEM;
    }
    if (r->nlabels > 1)
        qsort(r->labels, r->nlabels, sizeof *r->labels, cmp_label);
    return 0;
}

uint32_t tal_record_ninstances(const tal_record *r)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->segs.n; i++)
        n += !(r->segs.v[i].flags & TAL_SEG_AMBIGUOUS);
    return n;
}

double tal_record_fps(const tal_record *r, const tal_header *h)
{
    return r->fps > 0 ? r->fps : (h ? h->fps : 0);
}

tal_grid tal_header_grid(const tal_header *h)
{
    double stride = h->stride > 0 ? h->stride : 1;
    return (tal_grid){ h->fps, stride, h->clip > 0 ? h->clip : stride };
}

tal_grid tal_record_grid(const tal_record *r, const tal_header *h)
{
    return tal_grid_for_record(tal_header_grid(h), r);
}

tal_grid tal_grid_for_record(tal_grid g, const tal_record *r)
{
    if (r->fps > 0)
        g.fps = r->fps;
    if (r->stride > 0) {
        g.stride = r->stride;
        g.clip = r->clip > 0 ? r->clip : r->stride;
    } else if (r->clip > 0) {
        g.clip = r->clip;
    }
    return g;
}

int tal_record_copy(tal_record *dst, const tal_record *src)
{
    tal_record_clear(dst);
    if (set_str(&dst->id, src->id) || set_str(&dst->subset, src->subset))
        return TAL_ENOMEM;
    dst->duration = src->duration;
    dst->fps = src->fps;
    dst->stride = src->stride;
    dst->clip = src->clip;
    dst->supervision = src->supervision;
    dst->role = src->role;
    dst->flags = src->flags;
    dst->present = src->present;
    if (src->present & TAL_HAS_FEATURES) {
        if (tal_record_alloc_features(dst, src->T, src->D))
            return TAL_ENOMEM;
        memcpy(dst->feat, src->feat, (size_t)src->T * src->D * sizeof(float));
        dst->feat_dtype = src->feat_dtype;
    }
    if (tal_segset_copy(&dst->segs, &src->segs) || tal_segset_copy(&dst->dets, &src->dets))
        return TAL_ENOMEM;
    for (uint32_t i = 0; i < src->npoints; i++)
        if (tal_record_add_point(dst, src->points[i].time, src->points[i].cls, src->points[i].weight))
            return TAL_ENOMEM;
    for (uint32_t i = 0; i < src->nlabels; i++)
        if (tal_record_add_label(dst, src->labels[i].cls, src->labels[i].score))
            return TAL_ENOMEM;
    if (src->present & TAL_HAS_DIST) {
        if (tal_record_alloc_dist(dst, src->dist_T, src->dist_K))
            return TAL_ENOMEM;
        memcpy(dst->dist, src->dist, (size_t)src->dist_T * src->dist_K * sizeof(float));
        dst->dist_dtype = src->dist_dtype;
    }
    if (src->present & TAL_HAS_TIMEMAP) {
        if (tal_record_alloc_timemap(dst, src->ntimemap))
            return TAL_ENOMEM;
        memcpy(dst->timemap, src->timemap, (size_t)src->ntimemap * sizeof *src->timemap);
    }
    for (uint32_t i = 0; i < src->nprov; i++)
        if (tal_record_set_prov(dst, src->prov[i].key, src->prov[i].value))
            return TAL_ENOMEM;
    if (copy_raw(&dst->extra, &dst->nextra, src->extra, src->nextra))
        return TAL_ENOMEM;
    dst->present = src->present;
    return 0;
}
