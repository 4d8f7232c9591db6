/* clip.h — global-norm gradient clipping (torch.nn.utils.clip_grad_norm_). */
#ifndef TAL_NN_CLIP_H
#define TAL_NN_CLIP_H

#include "nn/params.h"

/* The L2 norm of all gradients together (computed in double, in a fixed
 * order); when max_norm > 0 and the norm exceeds it, every gradient is
 * scaled by max_norm / (norm + 1e-6).  A norm that is not finite is
 * returned with the gradients untouched: the caller stops on it. */
double tal_clip_grad_norm(tal_params *P, double max_norm);

#endif
