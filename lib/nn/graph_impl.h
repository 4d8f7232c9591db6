/* graph_impl.h — what op implementations (ops_*.c) see of the graph:
 * nodes, recording, gradient buffers, scratch memory.  Not installed. */
#ifndef TAL_NN_GRAPH_IMPL_H
#define TAL_NN_GRAPH_IMPL_H

#include "nn/graph.h"
#include "util/error.h"

typedef struct tal_node tal_node;
typedef void (*tal_backward_fn)(tal_graph *g, tal_node *n);

#define TAL_NODE_IN 4

struct tal_node {
    tal_backward_fn backward;
    const char *op;
    tal_tensor *out;
    tal_tensor *in[TAL_NODE_IN];
    tal_tensor **inv;          /* more inputs (concat); NULL otherwise */
    int nin;
    int64_t i[12];             /* integer arguments */
    float f[4];                /* float arguments */
    void *save[4];             /* buffers kept for backward (arena) */
    uint32_t key[2];           /* Philox key of a random op */
    uint64_t ctr;
};

/* Record an error for this step; returns NULL for `return tal__fail(...)`. */
void *tal__fail(tal_graph *g, int code, const char *fmt, ...) TAL_PRINTF(3, 4);
/* 1 if the graph already failed or any of the n tensors is NULL. */
int tal__bad(tal_graph *g, int n, ...);

/* A fresh contiguous output tensor in the arena. */
tal_tensor *tal__out(tal_graph *g, int ndim, const int64_t *shape);
/* A view of `base`'s memory (shape/strides/offset given); no data copied. */
tal_tensor *tal__view(tal_graph *g, const tal_tensor *base, int ndim, const int64_t *shape, const int64_t *stride,
                      int64_t offset);
/* Arena memory kept until the next reset (forward results backward needs):
 * backend memory, or host memory for bookkeeping. */
void *tal__save(tal_graph *g, size_t bytes);
void *tal__host(tal_graph *g, size_t bytes);

/* Append a node when the output needs a gradient (some input requires one
 * and the tape is on); marks `out`.  Returns the node or NULL when nothing
 * is recorded (that is not an error). */
tal_node *tal__record(tal_graph *g, const char *op, tal_backward_fn fn, tal_tensor *out, int nin, tal_tensor **in);

/* Inside a backward function: the buffer to write t's gradient to, or NULL
 * when t needs none; *acc is 0 when the kernel must set it (=) and 1 when
 * it must add (+=).  The gradient counts as written once this returns. */
float *tal__grad(tal_graph *g, tal_tensor *t, int *acc);
/* Scratch memory (floats) for the duration of one forward or backward op. */
float *tal__scratch(tal_graph *g, size_t nfloats);
void tal__scratch_free(tal_graph *g, void *p);

/* A contiguous version of t (t itself, or a recorded copy). */
tal_tensor *tal__contig(tal_graph *g, tal_tensor *t);
/* The graph's random stream for the next random op. */
tal_rng tal__next_rng(tal_graph *g);

const tal_backend *tal__be(const tal_graph *g);

static inline int tal__needs_grad(const tal_tensor *t) { return t && (t->flags & TAL_T_REQUIRES_GRAD); }

#endif
