/* graph.h — one training or inference step: an arena for its tensors, a
 * reverse-mode tape of the ops it ran, and the gradients backward makes.
 *
 *   tal_graph *g = tal_graph_new(NULL);          // NULL: the CPU backend
 *   for (each step) {
 *       tal_graph_reset(g);                      // drops last step's tensors
 *       tal_graph_set_rng(g, &step_rng);         // dropout, drop-path
 *       tal_tensor *x = tal_tensor_from(g, 3, (int64_t[]){B, C, T}, host);
 *       tal_tensor *loss = model_forward(g, params, x, ...);
 *       tal_params_zero_grad(P);
 *       if (tal_backward(g, loss)) error: tal_errmsg();
 *       ... optimiser step ...
 *   }
 *
 * Ops (ops.h) take the graph first and return a new tensor, or NULL after
 * recording an error; an op given a NULL input returns NULL at once, so a
 * forward pass can be written without checks and tested once at the end
 * (tal_graph_status gives the first error of the step).
 *
 * Memory: a step's tensors come from an arena that keeps its memory
 * between steps (after the first step it is one block the size of the
 * largest step); gradients of intermediate tensors come from a pool of
 * recycled blocks and go back to it as soon as backward is past the op that
 * made the tensor, so the gradient memory alive at once is a narrow front,
 * not a copy of every activation.
 */
#ifndef TAL_NN_GRAPH_H
#define TAL_NN_GRAPH_H

#include "backends/backend.h"
#include "nn/tensor.h"
#include "util/rng.h"

#include <stddef.h>
#include <stdint.h>

typedef struct tal_graph tal_graph;

tal_graph *tal_graph_new(const tal_backend *be);
void tal_graph_free(tal_graph *g);
/* Forget every tensor, node and gradient of the last step. */
void tal_graph_reset(tal_graph *g);
const tal_backend *tal_graph_backend(const tal_graph *g);

/* Training mode (dropout and drop-path active); default off. */
void tal_graph_set_training(tal_graph *g, int on);
int tal_graph_training(const tal_graph *g);
/* Record the tape (default on); off for inference saves memory. */
void tal_graph_set_grad(tal_graph *g, int on);
/* The random stream this step's dropout and drop-path draw from: each call
 * of such an op takes the next child stream (tal_rng_split). */
void tal_graph_set_rng(tal_graph *g, const tal_rng *r);

/* A training step's batch as one of several processes sees it (data-
 * parallel training, models/trainer.h): each process runs the step on
 * its rows of the global batch.  So that N processes compute what one
 * does, whatever is drawn per record is drawn from a stream named by the
 * record's row in the global batch (drop-path here; crops and
 * augmentation in the losses, through tal_graph_row_rng), and whatever a
 * loss normalises by over the whole batch (a count of positives, of
 * snippets) is totalled over the processes first (tal_graph_batch_sum).
 * Dropout's masks stay per process.  Not set (the default): one process,
 * local row b is global row b, sums are the local values. */
typedef struct {
    const int64_t *rows;                        /* local row b < n is global row rows[b] */
    int64_t n;
    int64_t total;                              /* rows of the global batch */
    int (*sum)(void *ctx, double *v, int n);    /* v <- its sum over the processes, the same bits on each; 0 or <0 */
    void *ctx;
} tal_graph_batch;
void tal_graph_set_batch(tal_graph *g, const tal_graph_batch *b);   /* NULL: one process */
int64_t tal_graph_row(const tal_graph *g, int64_t b);
/* Rows of the whole batch over every process: `local` in one. */
int64_t tal_graph_batch_rows(const tal_graph *g, int64_t local);
/* The stream of local row b's draws: r split by its global row. */
tal_rng tal_graph_row_rng(const tal_graph *g, const tal_rng *r, int64_t b);
/* v[0..n) <- their totals over the processes (unchanged in one). */
int tal_graph_batch_sum(tal_graph *g, double *v, int n);

/* 0, or the first error of this step (its message is tal_errmsg()). */
int tal_graph_status(const tal_graph *g);

/* New tensors in the arena: uninitialised, zero, or copied from host. */
tal_tensor *tal_tensor_new(tal_graph *g, int ndim, const int64_t *shape);
tal_tensor *tal_tensor_zeros(tal_graph *g, int ndim, const int64_t *shape);
tal_tensor *tal_tensor_from(tal_graph *g, int ndim, const int64_t *shape, const float *host);
/* Mark a leaf tensor as needing a gradient. */
void tal_tensor_requires_grad(tal_tensor *t);
/* Copy a tensor's values (any strides) to host memory, row-major. */
int tal_tensor_download(tal_graph *g, const tal_tensor *t, float *host);

/* Backward from a one-element tensor (its gradient seeded with 1), or from
 * any tensor with an explicit seed (host memory, numel floats, read in place
 * on the CPU: keep it unchanged until backward returns).  Returns 0 or <0.  Gradients of leaves that require them are in t->grad; parameter
 * gradients accumulate into their tal_params. */
int tal_backward(tal_graph *g, tal_tensor *loss);
int tal_backward_seed(tal_graph *g, tal_tensor *out, const float *seed);

/* Inference scopes.  With the tape off, nothing an op made is needed again
 * unless the caller says so: a scope begins at a mark, and its release moves
 * the tensors it names down to the mark (contiguous) and gives the rest of
 * the arena back, so a forward pass holds one block's working set rather
 * than every activation of the sequence, as a reference-counted framework
 * would.  Tensors made after the mark and not kept are invalid after the
 * release, and so are other views of a moved tensor's old memory; kept
 * tensors made before the mark are left as they are.  With the tape on (or
 * if it recorded anything since the mark) a release does nothing: backward
 * needs every tensor.
 *
 *   tal_graph_mark mk = tal_graph_mark_get(g);
 *   y = block_forward(g, x, ...);
 *   if (tal_graph_release(g, mk, 1, &y)) error;
 */
typedef struct {
    int chunk;
    size_t used, total;
    unsigned long step;   /* the step it was taken in (stale marks are refused) */
    size_t nodes;         /* tape length then: a scope the tape recorded in is kept */
} tal_graph_mark;
tal_graph_mark tal_graph_mark_get(const tal_graph *g);
int tal_graph_release(tal_graph *g, tal_graph_mark mark, int n, tal_tensor **keep);

/* Memory use (bytes): arena in use now and at most; gradient pool held. */
typedef struct {
    size_t arena_used, arena_peak, arena_reserved;
    int arena_blocks;   /* 1 in a steady loop: each reset makes one of the step's peak */
    size_t pool_reserved, pool_peak_live;
    int nodes;
} tal_graph_stats;
void tal_graph_get_stats(const tal_graph *g, tal_graph_stats *s);

#endif
