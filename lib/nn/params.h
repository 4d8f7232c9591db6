/* params.h — a model's parameters in one contiguous buffer.
 *
 * Parameters are declared by name and shape, then allocated together: all
 * values in one buffer, all gradients in another (each tensor starts on a
 * 64-byte boundary), so that a checkpoint writes each buffer once and an
 * optimiser or EMA sweeps one array.  The tensors handed out at declaration
 * get their data and grad pointers at tal_params_alloc().
 *
 *   tal_params *P = tal_params_new();
 *   tal_tensor *w = tal_param(P, "embd.0.weight", TAL_PARAM_DECAY, 3, (int64_t[]){512, 2048, 3});
 *   tal_tensor *b = tal_param(P, "embd.0.bias", 0, 1, (int64_t[]){512});
 *   if (tal_params_alloc(P, NULL)) ...;   // NULL: the CPU backend
 *   tal_init_kaiming_uniform(P, w, sqrtf(5.0f), &rng);
 *
 * Gradients accumulate across backward calls until tal_params_zero_grad,
 * which only marks them unset: the first backward kernel to reach a
 * parameter writes its gradient, and tal_params_finish_grads (called by
 * the optimisers and clipping) zero-fills any parameter no kernel reached.
 */
#ifndef TAL_NN_PARAMS_H
#define TAL_NN_PARAMS_H

#include "backends/backend.h"
#include "nn/tensor.h"

#include <stddef.h>
#include <stdint.h>

typedef struct tal_params tal_params;

enum {
    TAL_PARAM_DECAY = 1,   /* weight decay applies (conv/linear weights; not biases, norms, scales) */
};

tal_params *tal_params_new(void);
void tal_params_free(tal_params *P);

/* Declare a parameter (before tal_params_alloc).  NULL on error (duplicate
 * name, bad shape); the error is also reported by tal_params_alloc. */
tal_tensor *tal_param(tal_params *P, const char *name, int flags, int ndim, const int64_t *shape);
/* Allocate values (zeroed) and gradients on backend `be` (NULL: CPU). */
int tal_params_alloc(tal_params *P, const tal_backend *be);

const tal_backend *tal_params_backend(const tal_params *P);
int tal_params_count(const tal_params *P);
tal_tensor *tal_params_get(const tal_params *P, int i);
int tal_params_flags(const tal_params *P, int i);
/* the parameter called `name`, or NULL */
tal_tensor *tal_params_find(const tal_params *P, const char *name);
/* offset (floats) of parameter i in the buffers; their total length */
size_t tal_params_offset(const tal_params *P, int i);
size_t tal_params_size(const tal_params *P);
/* number of parameter values (without alignment padding) */
size_t tal_params_numel(const tal_params *P);
float *tal_params_data(const tal_params *P);
float *tal_params_grads(const tal_params *P);

void tal_params_zero_grad(tal_params *P);
void tal_params_finish_grads(tal_params *P);

#endif
