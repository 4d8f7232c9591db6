/* params.c — see params.h. */
#include "nn/params.h"
#include "util/error.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

#define ALIGN_FLOATS 16

typedef struct {
    char *name;
    tal_tensor *t;
    int flags;
    size_t offset, n;
} param;

struct tal_params {
    param *p;
    size_t n, cap;
    const tal_backend *be;
    float *data, *grad;
    size_t size;
    int err;   /* a declaration failed */
};

tal_params *tal_params_new(void) { return tal_calloc(1, sizeof(tal_params)); }

void tal_params_free(tal_params *P)
{
    if (!P)
        return;
    for (size_t i = 0; i < P->n; i++) {
        free(P->p[i].name);
        free(P->p[i].t);
    }
    if (P->be) {
        P->be->free(P->data);
        P->be->free(P->grad);
    }
    free(P->p);
    free(P);
}

tal_tensor *tal_params_find(const tal_params *P, const char *name)
{
    for (size_t i = 0; i < P->n; i++)
        if (!strcmp(P->p[i].name, name))
            return P->p[i].t;
    return NULL;
}

tal_tensor *tal_param(tal_params *P, const char *name, int flags, int ndim, const int64_t *shape)
{
    if (P->data) {
        tal_err(TAL_EINVAL, "parameter '%s' declared after allocation", name);
        P->err = 1;
        return NULL;
    }
    if (!name || !*name || tal_params_find(P, name)) {
        tal_err(TAL_EINVAL, "parameter '%s': %s", name ? name : "", name && *name ? "declared twice" : "no name");
        P->err = 1;
        return NULL;
    }
    int64_t n = 1;
    if (ndim < 0 || ndim > TAL_MAX_DIMS)
        goto bad;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 1 || shape[d] > ((int64_t)1 << 32))
            goto bad;
        n *= shape[d];
        if (n > ((int64_t)1 << 36))
            goto bad;
    }
    if (tal_grow((void **)&P->p, &P->cap, P->n + 1, sizeof *P->p))
        goto oom;
    tal_tensor *t = tal_calloc(1, sizeof *t);
    char *nm = tal_strdup(name);
    if (!t || !nm) {
        free(t);
        free(nm);
        goto oom;
    }
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        t->shape[d] = shape[d];
    tal_strides(ndim, shape, t->stride);
    t->flags = TAL_T_REQUIRES_GRAD | TAL_T_PARAM;
    t->node = -1;
    t->name = nm;
    P->p[P->n++] = (param){ nm, t, flags, 0, (size_t)n };
    return t;
bad:
    tal_err(TAL_EINVAL, "parameter '%s': bad shape", name);
    P->err = 1;
    return NULL;
oom:
    P->err = 1;
    return NULL;
}

int tal_params_alloc(tal_params *P, const tal_backend *be)
{
    if (P->err)
        return tal_err(TAL_EINVAL, "parameters: a declaration failed");
    if (P->data)
        return tal_err(TAL_EINVAL, "parameters allocated twice");
    P->be = be ? be : &tal_backend_cpu;
    size_t off = 0;
    for (size_t i = 0; i < P->n; i++) {
        P->p[i].offset = off;
        off += (P->p[i].n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    }
    P->size = off;
    P->data = P->be->alloc((off ? off : 1) * sizeof(float));
    P->grad = P->be->alloc((off ? off : 1) * sizeof(float));
    if (!P->data || !P->grad)
        return tal_err(TAL_ENOMEM, "out of memory: %zu parameters", off);
    P->be->zero(P->data, off);
    P->be->zero(P->grad, off);
    for (size_t i = 0; i < P->n; i++) {
        P->p[i].t->data = P->data + P->p[i].offset;
        P->p[i].t->grad = P->grad + P->p[i].offset;
        P->p[i].t->grad_valid = 1;
    }
    return 0;
}

const tal_backend *tal_params_backend(const tal_params *P) { return P->be; }
int tal_params_count(const tal_params *P) { return (int)P->n; }
tal_tensor *tal_params_get(const tal_params *P, int i) { return P->p[i].t; }
int tal_params_flags(const tal_params *P, int i) { return P->p[i].flags; }
size_t tal_params_offset(const tal_params *P, int i) { return P->p[i].offset; }
size_t tal_params_size(const tal_params *P) { return P->size; }
float *tal_params_data(const tal_params *P) { return P->data; }
float *tal_params_grads(const tal_params *P) { return P->grad; }

size_t tal_params_numel(const tal_params *P)
{
    size_t s = 0;
    for (size_t i = 0; i < P->n; i++)
        s += P->p[i].n;
    return s;
}

void tal_params_zero_grad(tal_params *P)
{
    for (size_t i = 0; i < P->n; i++)
        P->p[i].t->grad_valid = 0;
}

void tal_params_finish_grads(tal_params *P)
{
    for (size_t i = 0; i < P->n; i++)
        if (!P->p[i].t->grad_valid) {
            P->be->zero(P->p[i].t->grad, P->p[i].n);
            P->p[i].t->grad_valid = 1;
        }
}
