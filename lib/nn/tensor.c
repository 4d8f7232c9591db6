/* tensor.c — shape helpers (see tensor.h). */
#include "tensor.h"

#include <stdio.h>

int64_t tal_numel(const tal_tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    return n;
}

void tal_strides(int ndim, const int64_t *shape, int64_t *stride)
{
    int64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        stride[d] = s;
        s *= shape[d];
    }
}

int tal_is_contiguous(const tal_tensor *t)
{
    int64_t s = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->stride[d] != s)
            return 0;
        s *= t->shape[d];
    }
    return 1;
}

int tal_same_shape(const tal_tensor *a, const tal_tensor *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d])
            return 0;
    return 1;
}

const char *tal_shape_str(const tal_tensor *t, char *buf, size_t size)
{
    size_t at = 0;
    at += (size_t)snprintf(buf + at, size - at, "(");
    for (int d = 0; d < t->ndim && at < size; d++)
        at += (size_t)snprintf(buf + at, size - at, d ? ",%lld" : "%lld", (long long)t->shape[d]);
    if (at < size)
        snprintf(buf + at, size - at, ")");
    return buf;
}

void tal_shape4(const tal_tensor *t, int64_t shape[4], int64_t stride[4])
{
    int pad = 4 - t->ndim;
    for (int d = 0; d < 4; d++) {
        shape[d] = d < pad ? 1 : t->shape[d - pad];
        stride[d] = d < pad ? 0 : t->stride[d - pad];
    }
}
