/* graph.c — arena, gradient pool, tape and backward (see graph.h). */
#include "nn/graph_impl.h"
#include "nn/profile.h"
#include "util/progress.h"
#include "util/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ------------------------------------------------------------------
 * Bump allocation in chunks.  At reset, a step that needed more than one
 * chunk has them replaced by one chunk of the total, so a steady training
 * loop runs in one block that never moves. */

#define ARENA_ALIGN 64
#define ARENA_MIN ((size_t)16 << 20)

typedef struct {
    char *base;
    size_t size, used;
} chunk;

typedef struct {
    const tal_backend *be;   /* NULL: host memory */
    chunk *c;
    size_t cap;
    int n, cur;
    size_t used, peak, step_peak;   /* step_peak: since the last reset */
} arena;

static void *arena_raw_alloc(arena *a, size_t n)
{
    return a->be ? a->be->alloc(n) : tal_malloc_aligned(n);
}

static void arena_raw_free(arena *a, void *p)
{
    if (a->be)
        a->be->free(p);
    else
        tal_free_aligned(p);
}

/* bytes newly in use: the step's and the arena's high-water marks follow */
static void arena_count(arena *a, size_t bytes)
{
    a->used += bytes;
    if (a->used > a->step_peak)
        a->step_peak = a->used;
    if (a->used > a->peak)
        a->peak = a->used;
}

static void *arena_alloc(arena *a, size_t bytes)
{
    bytes = (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (!bytes)
        bytes = ARENA_ALIGN;
    for (; a->cur < a->n; a->cur++) {
        chunk *c = &a->c[a->cur];
        if (c->size - c->used >= bytes) {
            void *p = c->base + c->used;
            c->used += bytes;
            arena_count(a, bytes);
            return p;
        }
    }
    if (tal_grow((void **)&a->c, &a->cap, (size_t)a->n + 1, sizeof *a->c))
        return NULL;
    size_t size = bytes > ARENA_MIN ? bytes : ARENA_MIN;
    if (size < a->used / 2)
        size = (a->used / 2 + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    char *base = arena_raw_alloc(a, size);
    if (!base)
        return NULL;
    a->c[a->n] = (chunk){ base, size, bytes };
    a->cur = a->n++;
    arena_count(a, bytes);
    return base;
}

static void arena_reset(arena *a)
{
    if (a->n > 1) {
        /* one block for the most the last step had in use at once (more
         * than it holds at the end when inference scopes gave some back) */
        size_t total = a->step_peak + ARENA_ALIGN * 64;
        for (int i = 0; i < a->n; i++)
            arena_raw_free(a, a->c[i].base);
        a->n = 0;
        char *base = arena_raw_alloc(a, total);
        if (base)
            a->c[a->n++] = (chunk){ base, total, 0 };
    }
    for (int i = 0; i < a->n; i++)
        a->c[i].used = 0;
    a->cur = 0;
    a->used = 0;
    a->step_peak = 0;
}

static void arena_free(arena *a)
{
    for (int i = 0; i < a->n; i++)
        arena_raw_free(a, a->c[i].base);
    free(a->c);
    memset(a, 0, sizeof *a);
}

static size_t arena_reserved(const arena *a)
{
    size_t s = 0;
    for (int i = 0; i < a->n; i++)
        s += a->c[i].size;
    return s;
}

/* ---- pool --------------------------------------------------------------------
 * Blocks of exact (rounded) sizes, recycled within and across steps.  A
 * loop whose shapes change from step to step (batches padded to their own
 * longest sequence) would leave a set of blocks behind for every shape it
 * has seen, so at reset, once the pool holds more than twice what the step
 * just finished had live at its peak, the blocks that step did not touch
 * are given back.  A loop of fixed shapes never frees anything. */

typedef struct {
    void *p;
    size_t bytes;
    int busy;
    unsigned long last;   /* the step that last took it */
} block;

typedef struct {
    const tal_backend *be;
    block *b;
    size_t n, cap;
    size_t reserved, live, peak_live, step_peak;
    unsigned long step;   /* resets so far (inference marks carry it too) */
} pool;

static size_t pool_round(size_t bytes)
{
    size_t q = bytes > ((size_t)64 << 10) ? 4096 : 64;
    return (bytes + q - 1) / q * q;
}

static void *pool_get(pool *p, size_t bytes)
{
    bytes = pool_round(bytes ? bytes : 1);
    for (size_t i = 0; i < p->n; i++)
        if (!p->b[i].busy && p->b[i].bytes == bytes) {
            p->b[i].busy = 1;
            p->b[i].last = p->step;
            p->live += bytes;
            if (p->live > p->peak_live)
                p->peak_live = p->live;
            if (p->live > p->step_peak)
                p->step_peak = p->live;
            return p->b[i].p;
        }
    if (tal_grow((void **)&p->b, &p->cap, p->n + 1, sizeof *p->b))
        return NULL;
    void *m = p->be->alloc(bytes);
    if (!m)
        return NULL;
    p->b[p->n++] = (block){ m, bytes, 1, p->step };
    p->reserved += bytes;
    p->live += bytes;
    if (p->live > p->peak_live)
        p->peak_live = p->live;
    if (p->live > p->step_peak)
        p->step_peak = p->live;
    return m;
}

static void pool_put(pool *p, void *m)
{
    if (!m)
        return;
    for (size_t i = p->n; i-- > 0;)
        if (p->b[i].p == m) {
            p->b[i].busy = 0;
            p->live -= p->b[i].bytes;
            return;
        }
}

static void pool_reset(pool *p)
{
    if (p->reserved > 2 * p->step_peak) {
        size_t k = 0;
        for (size_t i = 0; i < p->n; i++) {
            if (p->b[i].last != p->step) {
                p->be->free(p->b[i].p);
                p->reserved -= p->b[i].bytes;
            } else {
                p->b[k++] = p->b[i];
            }
        }
        p->n = k;
    }
    for (size_t i = 0; i < p->n; i++)
        p->b[i].busy = 0;
    p->live = 0;
    p->step_peak = 0;
    p->step++;
}

static void pool_free(pool *p)
{
    for (size_t i = 0; i < p->n; i++)
        p->be->free(p->b[i].p);
    free(p->b);
    memset(p, 0, sizeof *p);
}

/* ---- the graph ------------------------------------------------------------ */

struct tal_graph {
    const tal_backend *be;
    arena meta;     /* host: tensor structs, node payloads */
    arena data;     /* backend memory: tensor values, saved buffers */
    pool grads;     /* backend memory: gradients and scratch */
    tal_node *nodes;
    size_t nnodes, cap;
    int grad_on, training, status;
    tal_rng rng;
    uint64_t rng_calls;
    tal_graph_batch batch;   /* rows NULL, sum NULL: one process */
};

tal_graph *tal_graph_new(const tal_backend *be)
{
    tal_graph *g = tal_calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->be = be ? be : &tal_backend_cpu;
    g->meta.be = NULL;
    g->data.be = g->be;
    g->grads.be = g->be;
    g->grad_on = 1;
    tal_rng_seed(&g->rng, 0);
    return g;
}

void tal_graph_free(tal_graph *g)
{
    if (!g)
        return;
    arena_free(&g->meta);
    arena_free(&g->data);
    pool_free(&g->grads);
    free(g->nodes);
    free(g);
}

void tal_graph_reset(tal_graph *g)
{
    arena_reset(&g->meta);
    arena_reset(&g->data);
    pool_reset(&g->grads);
    g->nnodes = 0;
    g->status = 0;
    g->rng_calls = 0;
}

const tal_backend *tal_graph_backend(const tal_graph *g) { return g->be; }
const tal_backend *tal__be(const tal_graph *g) { return g->be; }
void tal_graph_set_training(tal_graph *g, int on) { g->training = on != 0; }
int tal_graph_training(const tal_graph *g) { return g->training; }
void tal_graph_set_grad(tal_graph *g, int on) { g->grad_on = on != 0; }
int tal_graph_status(const tal_graph *g) { return g->status; }

void tal_graph_set_rng(tal_graph *g, const tal_rng *r)
{
    g->rng = *r;
    g->rng_calls = 0;
}

tal_rng tal__next_rng(tal_graph *g) { return tal_rng_split(&g->rng, g->rng_calls++); }

void tal_graph_set_batch(tal_graph *g, const tal_graph_batch *b)
{
    if (b)
        g->batch = *b;
    else
        memset(&g->batch, 0, sizeof g->batch);
}

int64_t tal_graph_row(const tal_graph *g, int64_t b)
{
    return g->batch.rows && b >= 0 && b < g->batch.n ? g->batch.rows[b] : b;
}

int64_t tal_graph_batch_rows(const tal_graph *g, int64_t local) { return g->batch.rows ? g->batch.total : local; }

tal_rng tal_graph_row_rng(const tal_graph *g, const tal_rng *r, int64_t b)
{
    return tal_rng_split(r, (uint64_t)tal_graph_row(g, b));
}

int tal_graph_batch_sum(tal_graph *g, double *v, int n)
{
    return g->batch.sum ? g->batch.sum(g->batch.ctx, v, n) : 0;
}

void tal_graph_get_stats(const tal_graph *g, tal_graph_stats *s)
{
    s->arena_used = g->data.used;
    s->arena_peak = g->data.peak;
    s->arena_reserved = arena_reserved(&g->data);
    s->arena_blocks = g->data.n;
    s->pool_reserved = g->grads.reserved;
    s->pool_peak_live = g->grads.peak_live;
    s->nodes = (int)g->nnodes;
}

/* ---- inference scopes ----------------------------------------------------- */

tal_graph_mark tal_graph_mark_get(const tal_graph *g)
{
    const arena *a = &g->data;
    return (tal_graph_mark){ a->cur, a->n ? a->c[a->cur].used : 0, a->used, g->grads.step, g->nnodes };
}

/* Is p in the part of the arena allocated after the mark? */
static int after_mark(const arena *a, const tal_graph_mark *m, const void *p)
{
    const char *q = p;
    for (int i = m->chunk; i < a->n; i++)
        if (q >= a->c[i].base && q < a->c[i].base + a->c[i].size)
            return i > m->chunk || (size_t)(q - a->c[i].base) >= m->used;
    return 0;
}

/* floats from one kept tensor to the next in a scratch block (64-byte steps) */
static size_t keep_stride(const tal_tensor *t)
{
    size_t q = ARENA_ALIGN / sizeof(float);
    return ((size_t)tal_numel(t) + q - 1) / q * q;
}

int tal_graph_release(tal_graph *g, tal_graph_mark mark, int n, tal_tensor **keep)
{
    arena *a = &g->data;
    if (g->grad_on || g->status || g->nnodes != mark.nodes)
        return g->status;
    if (n < 0 || n > 64)
        return tal__fail(g, TAL_EINVAL, "release: %d tensors to keep (0 to 64)", n), g->status;
    if (mark.step != g->grads.step || mark.total > a->used || mark.chunk < 0 || (a->n && mark.chunk > a->cur) ||
        (!a->n && (mark.chunk || mark.used)) || (a->n && mark.used > a->c[mark.chunk].used))
        return tal__fail(g, TAL_EINVAL, "release: a mark from another step"), g->status;
    /* which tensors move: those made after the mark, each once */
    tal_tensor *mv[64];
    int nmv = 0;
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < nmv; j++)
            seen |= mv[j] == keep[i];
        if (keep[i] && !seen && after_mark(a, &mark, keep[i]->data)) {
            mv[nmv++] = keep[i];
            total += keep_stride(keep[i]);
        }
    }
    /* the kept values wait in one pool block while the arena rewinds, then
     * come back contiguous from the mark on: two copies of the scope's
     * outputs, small next to the work that made them */
    float *tmp = NULL;
    if (nmv && !(tmp = pool_get(&g->grads, total * sizeof(float))))
        return tal__fail(g, TAL_ENOMEM, "out of memory: %zu bytes to keep across a scope", total * sizeof(float)),
               g->status;
    size_t at = 0;
    for (int i = 0; i < nmv; i++) {
        tal_tensor *t = mv[i];
        if (tal_is_contiguous(t)) {
            g->be->copy(tmp + at, t->data, (size_t)tal_numel(t));
        } else {
            int64_t sh[4], st[4];
            tal_shape4(t, sh, st);
            g->be->strided_copy(tmp + at, t->data, sh, st);
        }
        at += keep_stride(t);
    }
    if (a->n) {
        a->cur = mark.chunk;
        a->c[mark.chunk].used = mark.used;
        for (int i = mark.chunk + 1; i < a->n; i++)
            a->c[i].used = 0;
    }
    a->used = mark.total;
    at = 0;
    for (int i = 0; i < nmv; i++) {
        tal_tensor *t = mv[i];
        size_t k = (size_t)tal_numel(t);
        float *d = arena_alloc(a, k * sizeof(float));
        if (!d) {
            pool_put(&g->grads, tmp);
            return tal__fail(g, TAL_ENOMEM, "out of memory: cannot keep a tensor of %zu floats", k), g->status;
        }
        g->be->copy(d, tmp + at, k);
        t->data = d;
        tal_strides(t->ndim, t->shape, t->stride);
        at += keep_stride(t);
    }
    pool_put(&g->grads, tmp);
    return 0;
}

/* ---- errors ------------------------------------------------------------------ */

void *tal__fail(tal_graph *g, int code, const char *fmt, ...)
{
    if (!g->status) {
        va_list ap;
        va_start(ap, fmt);
        tal_verr(code, fmt, ap);
        va_end(ap);
        g->status = code;
    }
    return NULL;
}

int tal__bad(tal_graph *g, int n, ...)
{
    int bad = g->status != 0;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        if (!va_arg(ap, const tal_tensor *))
            bad = 1;
    va_end(ap);
    if (bad && !g->status)
        g->status = tal_err(TAL_EINVAL, "an op was given a NULL tensor");
    return bad;
}

/* ---- tensors ------------------------------------------------------------- */

static tal_tensor *new_meta(tal_graph *g, int ndim, const int64_t *shape)
{
    if (ndim < 0 || ndim > TAL_MAX_DIMS)
        return tal__fail(g, TAL_EINVAL, "tensor: %d dimensions (at most %d)", ndim, TAL_MAX_DIMS);
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 0 || shape[d] > ((int64_t)1 << 40))
            return tal__fail(g, TAL_EINVAL, "tensor: dimension %d has size %lld", d, (long long)shape[d]);
    tal_tensor *t = arena_alloc(&g->meta, sizeof *t);
    if (!t)
        return tal__fail(g, TAL_ENOMEM, "out of memory: tensor");
    memset(t, 0, sizeof *t);
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        t->shape[d] = shape[d];
    tal_strides(ndim, shape, t->stride);
    t->node = -1;
    return t;
}

tal_tensor *tal__out(tal_graph *g, int ndim, const int64_t *shape)
{
    tal_tensor *t = new_meta(g, ndim, shape);
    if (!t)
        return NULL;
    size_t n = (size_t)tal_numel(t);
    if (n > (SIZE_MAX >> 3))
        return tal__fail(g, TAL_ENOMEM, "tensor too large");
    t->data = arena_alloc(&g->data, n * sizeof(float));
    if (!t->data)
        return tal__fail(g, TAL_ENOMEM, "out of memory: cannot allocate a tensor of %zu floats", n);
    return t;
}

tal_tensor *tal__view(tal_graph *g, const tal_tensor *base, int ndim, const int64_t *shape, const int64_t *stride,
                      int64_t offset)
{
    tal_tensor *t = new_meta(g, ndim, shape);
    if (!t)
        return NULL;
    for (int d = 0; d < ndim; d++)
        t->stride[d] = stride[d];
    t->data = base->data + offset;
    return t;
}

void *tal__save(tal_graph *g, size_t bytes)
{
    void *p = arena_alloc(&g->data, bytes);
    if (!p)
        tal__fail(g, TAL_ENOMEM, "out of memory: cannot keep %zu bytes for backward", bytes);
    return p;
}

void *tal__host(tal_graph *g, size_t bytes)
{
    void *p = arena_alloc(&g->meta, bytes);
    if (!p)
        tal__fail(g, TAL_ENOMEM, "out of memory: %zu bytes of bookkeeping", bytes);
    return p;
}

tal_tensor *tal_tensor_new(tal_graph *g, int ndim, const int64_t *shape)
{
    if (g->status)
        return NULL;
    return tal__out(g, ndim, shape);
}

tal_tensor *tal_tensor_zeros(tal_graph *g, int ndim, const int64_t *shape)
{
    tal_tensor *t = tal_tensor_new(g, ndim, shape);
    if (t)
        g->be->zero(t->data, (size_t)tal_numel(t));
    return t;
}

tal_tensor *tal_tensor_from(tal_graph *g, int ndim, const int64_t *shape, const float *host)
{
    tal_tensor *t = tal_tensor_new(g, ndim, shape);
    if (t)
        g->be->upload(t->data, host, (size_t)tal_numel(t) * sizeof(float));
    return t;
}

void tal_tensor_requires_grad(tal_tensor *t)
{
    if (t)
        t->flags |= TAL_T_REQUIRES_GRAD;
}

int tal_tensor_download(tal_graph *g, const tal_tensor *t, float *host)
{
    size_t n = (size_t)tal_numel(t);
    if (tal_is_contiguous(t)) {
        g->be->download(host, t->data, n * sizeof(float));
        return g->be->status();
    }
    float *tmp = pool_get(&g->grads, n * sizeof(float));
    if (!tmp)
        return tal_err(TAL_ENOMEM, "out of memory: cannot copy a tensor of %zu floats", n);
    int64_t sh[4], st[4];
    tal_shape4(t, sh, st);
    g->be->strided_copy(tmp, t->data, sh, st);
    g->be->download(host, tmp, n * sizeof(float));
    pool_put(&g->grads, tmp);
    return g->be->status();
}

/* ---- tape -------------------------------------------------------------------- */

tal_node *tal__record(tal_graph *g, const char *op, tal_backward_fn fn, tal_tensor *out, int nin, tal_tensor **in)
{
    if (tal_profile_enabled)
        tal_profile_forward(op);
    if (!g->grad_on || !out)
        return NULL;
    int need = 0;
    for (int i = 0; i < nin; i++)
        need |= tal__needs_grad(in[i]);
    if (!need)
        return NULL;
    if (tal_grow((void **)&g->nodes, &g->cap, g->nnodes + 1, sizeof *g->nodes)) {
        tal__fail(g, TAL_ENOMEM, "out of memory: tape");
        return NULL;
    }
    tal_node *n = &g->nodes[g->nnodes];
    memset(n, 0, sizeof *n);
    n->backward = fn;
    n->op = op;
    n->out = out;
    n->nin = nin;
    if (nin <= TAL_NODE_IN) {
        for (int i = 0; i < nin; i++)
            n->in[i] = in[i];
    } else {
        n->inv = arena_alloc(&g->meta, sizeof(tal_tensor *) * (size_t)nin);
        if (!n->inv) {
            tal__fail(g, TAL_ENOMEM, "out of memory: tape");
            return NULL;
        }
        memcpy(n->inv, in, sizeof(tal_tensor *) * (size_t)nin);
    }
    out->flags |= TAL_T_REQUIRES_GRAD;
    out->node = (int)g->nnodes;
    g->nnodes++;
    return n;
}

float *tal__grad(tal_graph *g, tal_tensor *t, int *acc)
{
    if (!tal__needs_grad(t))
        return NULL;
    if (!t->grad) {
        t->grad = pool_get(&g->grads, (size_t)tal_numel(t) * sizeof(float));
        if (!t->grad) {
            tal__fail(g, TAL_ENOMEM, "out of memory: gradient of %lld floats", (long long)tal_numel(t));
            return NULL;
        }
        t->grad_valid = 0;
    }
    *acc = t->grad_valid;
    t->grad_valid = 1;
    return t->grad;
}

float *tal__scratch(tal_graph *g, size_t nfloats)
{
    float *p = pool_get(&g->grads, nfloats * sizeof(float));
    if (!p)
        tal__fail(g, TAL_ENOMEM, "out of memory: cannot allocate %zu floats of scratch", nfloats);
    return p;
}

void tal__scratch_free(tal_graph *g, void *p) { pool_put(&g->grads, p); }

/* ---- contiguous copies ----------------------------------------------------- */

static void contig_backward(tal_graph *g, tal_node *n)
{
    int acc;
    float *d = tal__grad(g, n->in[0], &acc);
    if (d)
        g->be->axpy(d, n->out->grad, 1.0f, (size_t)tal_numel(n->out), acc);
}

tal_tensor *tal__contig(tal_graph *g, tal_tensor *t)
{
    if (!t || tal_is_contiguous(t))
        return t;
    tal_tensor *o = tal__out(g, t->ndim, t->shape);
    if (!o)
        return NULL;
    int64_t sh[4], st[4];
    tal_shape4(t, sh, st);
    g->be->strided_copy(o->data, t->data, sh, st);
    tal__record(g, "contiguous", contig_backward, o, 1, &t);
    return o;
}

/* ---- backward ---------------------------------------------------------------- */

int tal_backward_seed(tal_graph *g, tal_tensor *out, const float *seed)
{
    if (g->status)
        return g->status;
    if (!out)
        return tal_err(TAL_EINVAL, "backward: no output tensor");
    if (!(out->flags & TAL_T_REQUIRES_GRAD))
        return tal_err(TAL_EINVAL, "backward: the output does not depend on anything that requires a gradient");
    size_t n = (size_t)tal_numel(out);
    int acc;
    float *d;
    if (!out->grad && g->be == &tal_backend_cpu && out->node >= 0 && !(out->flags & (TAL_T_PARAM | TAL_T_RETAIN_GRAD))) {
        /* host memory is the device's: read the seed where it lies (only
         * the output's own backward reads it, and nothing writes it) */
        out->grad = (float *)seed;
        out->grad_valid = 1;
        goto run;
    }
    d = tal__grad(g, out, &acc);
    if (!d)
        return g->status;
    if (acc) {
        float *tmp = tal__scratch(g, n);
        if (!tmp)
            return g->status;
        g->be->upload(tmp, seed, n * sizeof(float));
        g->be->axpy(d, tmp, 1.0f, n, 1);
        tal__scratch_free(g, tmp);
    } else {
        g->be->upload(d, seed, n * sizeof(float));
    }
run:
    for (size_t i = g->nnodes; i-- > 0;) {
        tal_node *nd = &g->nodes[i];
        tal_tensor *o = nd->out;
        if (!o->grad || !o->grad_valid)
            continue;
        if (tal_profile_enabled) {
            double t0 = tal_now();
            nd->backward(g, nd);
            tal_profile_backward(nd->op, tal_now() - t0);
        } else {
            nd->backward(g, nd);
        }
        if (g->status)
            return tal_err_wrap(g->status, "backward of %s", nd->op);
        if (!(o->flags & (TAL_T_PARAM | TAL_T_RETAIN_GRAD))) {
            pool_put(&g->grads, o->grad);   /* a borrowed seed is not in the pool: ignored */
            o->grad = NULL;
            o->grad_valid = 0;
        }
    }
    if (out->grad == seed) {   /* leave no pointer to the caller's memory */
        out->grad = NULL;
        out->grad_valid = 0;
    }
    return g->be->status();   /* an asynchronous backend's first error, if any */
}

int tal_backward(tal_graph *g, tal_tensor *loss)
{
    if (g->status)
        return g->status;
    if (!loss)
        return tal_err(TAL_EINVAL, "backward: no loss tensor");
    if (tal_numel(loss) != 1) {
        char b[96];
        return tal_err(TAL_EINVAL, "backward: the loss must have one element, not %s",
                       tal_shape_str(loss, b, sizeof b));
    }
    const float one = 1.0f;
    return tal_backward_seed(g, loss, &one);
}
