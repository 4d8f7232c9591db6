/* refdata.c — see refdata.h. */
#include "refdata.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rd(FILE *fp, void *p, size_t n) { return fread(p, 1, n, fp) == n ? 0 : -1; }

int ref_load(ref_file *f, const char *relpath)
{
    memset(f, 0, sizeof *f);
    const char *src = getenv("TAL_SRCDIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", src ? src : ".", relpath);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return tal_err(TAL_EIO, "cannot open '%s'", path);
    char magic[8];
    uint32_t count;
    if (rd(fp, magic, 8) || memcmp(magic, "TALREF1\n", 8) || rd(fp, &count, 4) || count > 100000)
        goto bad;
    f->a = calloc(count ? count : 1, sizeof *f->a);
    for (uint32_t i = 0; i < count; i++) {
        ref_arr *a = &f->a[i];
        uint16_t len;
        uint8_t dt, nd;
        if (rd(fp, &len, 2))
            goto bad;
        a->name = calloc(len + 1u, 1);
        f->n++;
        if (rd(fp, a->name, len) || rd(fp, &dt, 1) || rd(fp, &nd, 1) || nd > 8 || dt > 1)
            goto bad;
        a->dtype = dt;
        a->ndim = nd;
        a->n = 1;
        for (int d = 0; d < nd; d++) {
            if (rd(fp, &a->shape[d], 8) || a->shape[d] < 0 || a->shape[d] > (1 << 24))
                goto bad;
            a->n *= a->shape[d];
        }
        if (a->n > (1 << 24))
            goto bad;
        a->data = malloc((size_t)(a->n ? a->n : 1) * 4);
        if (rd(fp, a->data, (size_t)a->n * 4))
            goto bad;
    }
    fclose(fp);
    return 0;
bad:
    fclose(fp);
    ref_free(f);
    return tal_err(TAL_ECORRUPT, "bad reference file '%s'", path);
}

void ref_free(ref_file *f)
{
    for (int i = 0; i < f->n; i++) {
        free(f->a[i].name);
        free(f->a[i].data);
    }
    free(f->a);
    memset(f, 0, sizeof *f);
}

const ref_arr *ref_get(const ref_file *f, const char *fmt, ...)
{
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->a[i].name, name))
            return &f->a[i];
    return NULL;
}

tal_tensor *ref_tensor(tal_graph *g, const ref_arr *a)
{
    if (!a || a->dtype != 0 || a->ndim > TAL_MAX_DIMS)
        return NULL;
    return tal_tensor_from(g, a->ndim, a->shape, ref_f(a));
}

double ref_abs_floor;

int ref_compare(const float *got, const ref_arr *want, double rtol, double atol, char *why, size_t nwhy)
{
    const float *w = ref_f(want);
    double mx = 0;
    for (int64_t i = 0; i < want->n; i++)
        mx = fabs(w[i]) > mx ? fabs(w[i]) : mx;
    for (int64_t i = 0; i < want->n; i++) {
        double e = fabs((double)got[i] - w[i]);
        if (!(e <= atol * mx + rtol * fabs(w[i]) + ref_abs_floor)) {
            snprintf(why, nwhy, "%s[%lld]: got %.9g, want %.9g (max |want| %.3g)", want->name, (long long)i, got[i],
                     w[i], mx);
            return 1;
        }
    }
    return 0;
}

int ref_compare_tensor(tal_graph *g, const tal_tensor *t, int grad, const ref_arr *want, double rtol, double atol,
                       char *why, size_t nwhy)
{
    if (!t || !want) {
        snprintf(why, nwhy, "%s: missing", want ? want->name : "reference");
        return 1;
    }
    if (tal_numel(t) != want->n) {
        snprintf(why, nwhy, "%s: %lld elements, want %lld", want->name, (long long)tal_numel(t), (long long)want->n);
        return 1;
    }
    float *buf = malloc(sizeof(float) * (size_t)(want->n ? want->n : 1));
    if (grad) {
        if (t->grad && t->grad_valid)
            tal_graph_backend(g)->download(buf, t->grad, sizeof(float) * (size_t)want->n);
        else
            memset(buf, 0, sizeof(float) * (size_t)want->n);
    } else {
        tal_tensor_download(g, t, buf);
    }
    int rc = ref_compare(buf, want, rtol, atol, why, nwhy);
    free(buf);
    return rc;
}
