/* trainer.h — the supervised training loop every detector shares.
 *
 * Epochs of shuffled mini-batches (the last incomplete batch dropped, as
 * ActionFormer does), AdamW/Adam/SGD with linear warmup and a cosine,
 * step or constant schedule stepped per iteration, global-norm gradient
 * clipping, a weight EMA, and an atomic checkpoint every few epochs and at
 * the end.
 *
 * Every random choice is drawn from a stream named by (seed, purpose,
 * epoch or step): the epoch's order, each step's crops, each step's
 * dropout and drop-path (crops and drop-path split again by the record's
 * place in the step's batch, so that data-parallel ranks draw them
 * alike).  Nothing random carries over from one step to the next except
 * through the checkpointed state, so training resumed from a checkpoint
 * continues exactly as if it had not stopped, and the same seed and
 * thread count give the same weights bit for bit on the CPU.
 *
 * A loss or gradient norm that is not finite stops training with the step
 * and the loss term named; the last checkpoint stays as it was.
 *
 * Semi-supervised training (unlabelled records given): every step takes
 * train.batch_size labelled records and semi.batch_size pseudo-labelled
 * ones, labelled first.  An epoch is a pass over the pseudo-labelled
 * records (shuffled each epoch, the last incomplete batch dropped); the
 * labelled records are drawn in passes of their own, each shuffled, that
 * run on across epochs.  Which records a step takes depends only on the
 * seed and the step, so resuming stays exact.
 */
#ifndef TAL_MODELS_TRAINER_H
#define TAL_MODELS_TRAINER_H

#include "detector.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Data-parallel training: this process is rank `rank` of `size`, each
 * running the same model from the same seed.  Every global batch (the one
 * a single process would take) is cut into `size` contiguous parts, rank r
 * takes part r (of the labelled and of the pseudo-labelled records alike);
 * the batch-wide counts a loss normalises by are totalled over the ranks
 * before it divides (nn/graph.h), so the ranks' losses add up to the one
 * process's, and so do their gradients: summed over the ranks before the
 * clipping and the optimiser step, every rank takes the same step and
 * holds the same weights.  Rank 0 alone writes checkpoints and metrics and
 * draws the progress line.  What differs from one process is the order of
 * floating-point sums (per-rank partial sums, then across the ranks), and
 * dropout's masks, which are per rank: the weights after K steps match one
 * process's to rounding (test/mpi.bats states how closely), and the same
 * N, seed and threads give the same bits.  Only models whose loss is a sum
 * over records (ops->data_parallel) train this way. */
typedef struct tal_dist {
    int rank, size;
    /* v[0..n) <- the sum over the ranks of their v, added in rank order (the
     * same bits on every rank); 0, or <0 with the error set */
    int (*sum_f32)(struct tal_dist *dd, float *v, size_t n);
    int (*sum_f64)(struct tal_dist *dd, double *v, size_t n);
    double comm_s;           /* seconds spent in sum_f32 (the gradient exchange), so far */
    double wait_s;           /* of which waiting for the other ranks to reach it */
    uint64_t comm_bytes;     /* bytes this rank received in sum_f32, so far */
} tal_dist;

typedef struct {
    const char *ckpt_path;       /* written every train.checkpoint_every epochs and at the end */
    const char *resume_path;     /* continue from this checkpoint (NULL: start afresh) */
    const char *init_path;       /* start from the matching weights of this checkpoint */
    FILE *metrics;               /* JSON lines, one per logged step and per epoch (may be NULL) */
    int log_every;               /* steps between logged lines (0: epochs only) */
    int progress;                /* a progress line on stderr */
    const tal_backend *be;       /* NULL: CPU */
    int stop_after_epochs;       /* > 0: return after this many epochs of this run (tests) */
    tal_dist *dist;              /* NULL or size 1: one process */
} tal_train_opts;

/* Train d on n records (each with features and the labels the model
 * learns from), and on nu pseudo-labelled records (nu = 0: supervised). */
int tal_train(tal_detector *d, const tal_record *const *recs, uint32_t n, const tal_record *const *unl, uint32_t nu,
              const tal_train_opts *o);

/* Load a checkpoint's weights into d: the EMA weights when the checkpoint
 * has them and use_ema is set, else the live ones. */
int tal_detector_load(tal_detector *d, const char *path, int use_ema);

/* The model a checkpoint holds, rebuilt from its stored config (changed by
 * the "key=value" overrides sets, may be none) for streams like h (named
 * `stream` in messages), its weights loaded as tal_detector_load does,
 * after checking that h's classes and features fit it.  kind >= 0: the
 * model must be of that kind (TAL_DET_*).  NULL with the error set. */
tal_detector *tal_detector_open(const char *path, const tal_header *h, const char *stream, const tal_backend *be,
                                int use_ema, int kind, const char *const *sets, int nsets);

#endif
