/* trainer.h — a tiny but complete training loop for the reproducibility
 * and checkpoint tests: an ActionFormer-style network with drop-path,
 * random data from an advancing RNG, focal + regression loss with an EMA
 * normaliser, clipping, AdamW over two parameter groups, warmup + cosine,
 * weight EMA. */
#ifndef TAL_TEST_TRAINER_H
#define TAL_TEST_TRAINER_H

#include "tal.h"
#include "io/checkpoint.h"
#include "models/af_backbone.h"
#include "nn/clip.h"
#include "nn/ema.h"
#include "nn/optim.h"
#include "nn/sched.h"

typedef struct {
    tal_params *P;
    tal_af_model m;
    tal_optim *opt;
    tal_ema *ema;
    tal_graph *g;
    tal_sched sched;
    tal_rng data_rng;     /* advances with every batch drawn */
    tal_rng train_rng;    /* fixed; step s uses tal_rng_split(train_rng, s) */
    int64_t step;
    double loss_norm;
    double last_loss;
    int B, T;
} trainer;

/* medium = 0: a tiny network (runs in microseconds); 1: big enough that
 * the kernels' OpenMP loops and the split sgemm run on every thread */
int trainer_init(trainer *t, uint64_t seed, int medium);
/* the same on backend `be` (NULL: the CPU): parameters, optimiser state,
 * weight average and graph live there; the data are drawn on the host */
int trainer_init_on(trainer *t, uint64_t seed, int medium, const tal_backend *be);
int trainer_run(trainer *t, int nsteps);
/* one step in two halves, for the backend parity test: trainer_grad draws
 * a batch and leaves clipped gradients (last_loss set); trainer_update
 * applies the optimiser and the weight average */
int trainer_grad(trainer *t);
int trainer_update(trainer *t);
void trainer_free(trainer *t);
int trainer_save(trainer *t, const char *path);
int trainer_load(trainer *t, const char *path);
/* the parameters, optimiser state and EMA of a and b bit-identical? */
int trainer_same(const trainer *a, const trainer *b);

#endif
