/* init.h — initialisers, PyTorch's defaults included, drawing from a
 * tal_rng so that the same seed gives the same weights everywhere.
 * Values are drawn in row-major order on the host and uploaded. */
#ifndef TAL_NN_INIT_H
#define TAL_NN_INIT_H

#include "nn/params.h"
#include "util/rng.h"

/* fan-in as PyTorch computes it: shape[1] * prod(shape[2:]) (shape[0] for 1-d) */
int64_t tal_fan_in(const tal_tensor *t);

int tal_init_const(tal_params *P, tal_tensor *t, float v);
int tal_init_uniform(tal_params *P, tal_tensor *t, float lo, float hi, tal_rng *r);
int tal_init_normal(tal_params *P, tal_tensor *t, float mean, float std, tal_rng *r);
/* kaiming_uniform_(t, a): bound = sqrt(6 / ((1 + a^2) fan_in)); PyTorch's
 * Conv1d/Linear default is a = sqrt(5), bound = 1/sqrt(fan_in) */
int tal_init_kaiming_uniform(tal_params *P, tal_tensor *t, float a, tal_rng *r);
/* PyTorch's default bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
int tal_init_bias_default(tal_params *P, tal_tensor *b, int64_t fan_in, tal_rng *r);
/* prior-probability bias of a sigmoid classifier: -log((1 - p) / p) */
int tal_init_prior_bias(tal_params *P, tal_tensor *b, float prior);
/* t's values from host memory (numel(t) floats). */
int tal_init_values(tal_params *P, tal_tensor *t, const float *v);

#endif
