/* annoset.c — annotations keyed by sequence id (see annoset.h). */
#include "annoset.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void tal_annoset_init(tal_annoset *a)
{
    memset(a, 0, sizeof *a);
    tal_strmap_init(&a->index);
}

void tal_annoset_free(tal_annoset *a)
{
    for (uint32_t i = 0; i < a->n; i++)
        tal_record_free(&a->v[i]);
    free(a->v);
    tal_classes_free(&a->classes);
    tal_strmap_free(&a->index);
    free(a->class_key);
    tal_annoset_init(a);
}

tal_record *tal_annoset_find(tal_annoset *a, const char *id)
{
    int64_t i = tal_strmap_get(&a->index, id);
    return i < 0 ? NULL : &a->v[i];
}

tal_record *tal_annoset_get(tal_annoset *a, const char *id)
{
    tal_record *r = tal_annoset_find(a, id);
    if (r)
        return r;
    void *v = a->v;
    if (tal_grow(&v, &a->cap, (size_t)a->n + 1, sizeof *a->v))
        return NULL;
    a->v = v;
    r = &a->v[a->n];
    tal_record_init(r);
    if (tal_record_set_id(r, id) || tal_record_set_subset(r, "") || tal_strmap_put(&a->index, id, a->n)) {
        tal_record_free(r);
        return NULL;
    }
    a->n++;
    return r;
}

int tal_annoset_class(tal_annoset *a, const char *name)
{
    int c = tal_classes_find(&a->classes, name);
    if (c >= 0)
        return c;
    if (a->fixed_classes) {
        tal_err(TAL_EINVAL, "label '%s' is not in the class list", name);
        return -1;
    }
    if (tal_classes_add(&a->classes, name, -1))
        return -1;
    return (int)a->classes.n - 1;
}

static int cmp_record_id(const void *x, const void *y)
{
    return strcmp(((const tal_record *)x)->id, ((const tal_record *)y)->id);
}

static int reindex(tal_annoset *a)
{
    tal_strmap_free(&a->index);
    tal_strmap_init(&a->index);
    for (uint32_t i = 0; i < a->n; i++)
        if (tal_strmap_put(&a->index, a->v[i].id, i))
            return TAL_ENOMEM;
    return 0;
}

int tal_annoset_sort(tal_annoset *a)
{
    if (a->n > 1)
        qsort(a->v, a->n, sizeof *a->v, cmp_record_id);
    return reindex(a);
}

int tal_annoset_class_key(tal_annoset *a, int cls, int64_t key)
{
    size_t old = a->class_key_cap;
    void *v = a->class_key;
    if (tal_grow(&v, &a->class_key_cap, a->classes.n, sizeof *a->class_key))
        return TAL_ENOMEM;
    a->class_key = v;
    for (size_t i = old; i < a->class_key_cap; i++)
        a->class_key[i] = -2;        /* not seen */
    if (a->class_key[cls] == -2)
        a->class_key[cls] = key;
    else if (a->class_key[cls] != key)
        a->class_key[cls] = -1;      /* the sources disagree */
    return 0;
}

static const tal_annoset *sort_set;
static int cmp_class(const void *x, const void *y)
{
    int i = *(const int *)x, j = *(const int *)y;
    if (sort_set->class_key) {
        int64_t a = sort_set->class_key[i], b = sort_set->class_key[j];
        return (a > b) - (a < b);
    }
    return strcmp(sort_set->classes.names[i], sort_set->classes.names[j]);
}

/* Every class has a distinct, known source id. */
static int keys_usable(const tal_annoset *a)
{
    if (!a->class_key || a->class_key_cap < a->classes.n)
        return 0;
    for (uint32_t i = 0; i < a->classes.n; i++) {
        if (a->class_key[i] < 0)
            return 0;
        for (uint32_t j = 0; j < i; j++)
            if (a->class_key[j] == a->class_key[i])
                return 0;
    }
    return 1;
}

static void remap_segs(tal_segset *s, const int *map)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (s->v[i].cls >= 0)
            s->v[i].cls = map[s->v[i].cls];
}

static int cmp_label(const void *x, const void *y)
{
    const tal_label *p = x, *q = y;
    return (p->cls > q->cls) - (p->cls < q->cls);
}

int tal_annoset_order_classes(tal_annoset *a)
{
    uint32_t n = a->classes.n;
    if (n < 2 || a->fixed_classes)
        return 0;
    tal_annoset view = *a;
    if (!keys_usable(a))
        view.class_key = NULL;
    int *order = tal_malloc(n * sizeof *order), *map = tal_malloc(n * sizeof *map);
    if (!order || !map) {
        free(order);
        free(map);
        return TAL_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++)
        order[i] = (int)i;
    sort_set = &view;
    qsort(order, n, sizeof *order, cmp_class);
    tal_classes sorted = { 0 };
    int rc = 0;
    for (uint32_t i = 0; i < n && !rc; i++) {
        map[order[i]] = (int)i;
        rc = tal_classes_add(&sorted, a->classes.names[order[i]], a->classes.ext_ids[order[i]]);
    }
    if (!rc) {
        tal_classes_free(&a->classes);
        a->classes = sorted;
        if (a->class_key) {
            int64_t *keys = tal_malloc(n * sizeof *keys);
            if (!keys) {
                free(order);
                free(map);
                return TAL_ENOMEM;
            }
            for (uint32_t i = 0; i < n; i++)
                keys[i] = a->class_key[order[i]];
            memcpy(a->class_key, keys, n * sizeof *keys);
            free(keys);
        }
        for (uint32_t k = 0; k < a->n; k++) {
            tal_record *r = &a->v[k];
            remap_segs(&r->segs, map);
            remap_segs(&r->dets, map);
            for (uint32_t i = 0; i < r->npoints; i++)
                if (r->points[i].cls >= 0)
                    r->points[i].cls = map[r->points[i].cls];
            for (uint32_t i = 0; i < r->nlabels; i++)
                r->labels[i].cls = map[r->labels[i].cls];
            if (r->nlabels > 1)
                qsort(r->labels, r->nlabels, sizeof *r->labels, cmp_label);
        }
    } else {
        tal_classes_free(&sorted);
    }
    free(order);
    free(map);
    return rc;
}

int tal_annoset_filter(tal_annoset *a, int (*keep)(const tal_record *r, void *ctx), void *ctx)
{
    uint32_t w = 0;
    for (uint32_t i = 0; i < a->n; i++) {
        if (keep(&a->v[i], ctx)) {
            if (w != i)
                a->v[w] = a->v[i];
            w++;
        } else {
            tal_record_free(&a->v[i]);
        }
    }
    a->n = w;
    return reindex(a);
}

int tal_subset_matches(const char *subset, const char *want)
{
    /* the short and long names datasets use for the same split */
    static const char *const alias[][2] = {
        { "val", "validation" }, { "train", "training" }, { "test", "testing" },
    };
    if (!strcasecmp(subset, want))
        return 1;
    for (size_t i = 0; i < sizeof alias / sizeof *alias; i++)
        if ((!strcasecmp(subset, alias[i][0]) && !strcasecmp(want, alias[i][1])) ||
            (!strcasecmp(subset, alias[i][1]) && !strcasecmp(want, alias[i][0])))
            return 1;
    return 0;
}
