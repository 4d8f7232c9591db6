/* clip.c — see clip.h. */
#include "nn/clip.h"

#include <math.h>

double tal_clip_grad_norm(tal_params *P, double max_norm)
{
    const tal_backend *be = tal_params_backend(P);
    tal_params_finish_grads(P);
    double ss = 0;
    for (int i = 0; i < tal_params_count(P); i++) {
        tal_tensor *t = tal_params_get(P, i);
        ss += be->sumsq(t->grad, (size_t)tal_numel(t));
    }
    double norm = sqrt(ss);
    if (!isfinite(norm) || max_norm <= 0)
        return norm;
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0)
        for (int i = 0; i < tal_params_count(P); i++) {
            tal_tensor *t = tal_params_get(P, i);
            be->affine(t->grad, t->grad, (float)coef, 0.0f, (size_t)tal_numel(t));
        }
    return norm;
}
