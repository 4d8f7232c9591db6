/* optim.h — optimisers over a tal_params: AdamW (decoupled weight decay),
 * Adam (L2 decay added to the gradient) and SGD with momentum, following
 * PyTorch's update formulas step for step.
 *
 * Weight decay applies to the parameters declared with TAL_PARAM_DECAY
 * (conv and linear weights) and not to the others (biases, norms, scales),
 * the two parameter groups ActionFormer builds; decay_all = 1 decays every
 * parameter, as a single PyTorch parameter group does.
 *
 * State (moments, momentum buffers) lives in buffers laid out like the
 * parameters, so a checkpoint stores each with one write. */
#ifndef TAL_NN_OPTIM_H
#define TAL_NN_OPTIM_H

#include "nn/params.h"

enum { TAL_OPT_ADAMW = 0, TAL_OPT_ADAM = 1, TAL_OPT_SGD = 2 };

typedef struct {
    int kind;
    float beta1, beta2, eps;   /* Adam(W) */
    float weight_decay;
    float momentum;            /* SGD; 0 = plain SGD */
    int nesterov;              /* SGD */
    int decay_all;
} tal_optim_config;

/* PyTorch's defaults: AdamW betas (0.9, 0.999), eps 1e-8, decay 0.01; Adam
 * the same with decay 0; SGD momentum 0.9, decay 0. */
tal_optim_config tal_optim_defaults(int kind);

typedef struct tal_optim tal_optim;

tal_optim *tal_optim_new(tal_params *P, const tal_optim_config *cfg);
void tal_optim_free(tal_optim *o);
/* One update with learning rate lr from the parameters' gradients
 * (gradients never written since tal_params_zero_grad count as zero). */
int tal_optim_step(tal_optim *o, float lr);

const tal_optim_config *tal_optim_get_config(const tal_optim *o);
int64_t tal_optim_steps(const tal_optim *o);
void tal_optim_set_steps(tal_optim *o, int64_t steps);
/* state buffers (tal_params_size(P) floats each): Adam 2, SGD 1 (0 without momentum) */
int tal_optim_nstate(const tal_optim *o);
float *tal_optim_state(const tal_optim *o, int k);
const char *tal_optim_state_name(const tal_optim *o, int k);
const char *tal_optim_kind_name(int kind);

#endif
