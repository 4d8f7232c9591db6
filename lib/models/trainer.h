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
 * dropout and drop-path.  Nothing random carries over from one step to the
 * next except through the checkpointed state, so training resumed from a
 * checkpoint continues exactly as if it had not stopped, and the same seed
 * and thread count give the same weights bit for bit on the CPU.
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

#include <stdio.h>

typedef struct {
    const char *ckpt_path;       /* written every train.checkpoint_every epochs and at the end */
    const char *resume_path;     /* continue from this checkpoint (NULL: start afresh) */
    const char *init_path;       /* start from the matching weights of this checkpoint */
    FILE *metrics;               /* JSON lines, one per logged step and per epoch (may be NULL) */
    int log_every;               /* steps between logged lines (0: epochs only) */
    int progress;                /* a progress line on stderr */
    const tal_backend *be;       /* NULL: CPU */
    int stop_after_epochs;       /* > 0: return after this many epochs of this run (tests) */
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
