/* ckptdiff — how far apart two checkpoints' weights are, for tests.
 *
 *   ckptdiff STREAM A.ckpt B.ckpt
 *
 * Both models are rebuilt for STREAM's classes and features (their live
 * weights, not the averaged ones) and compared value by value; prints
 *   max_abs X max_rel Y n N
 * where max_rel is the largest |a - b| over the largest |a| of the same
 * parameter tensor.  Exit 0, or 1 on an error (printed). */
#include "data/recset.h"
#include "models/trainer.h"
#include "util/error.h"

#include <math.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    tal_set_progname("ckptdiff");
    if (argc != 4) {
        fputs("usage: ckptdiff STREAM A.ckpt B.ckpt\n", stderr);
        return 2;
    }
    tal_recset set;
    tal_recset_init(&set);
    tal_detector *a = NULL, *b = NULL;
    int rc = tal_recset_load(&set, argv[1], NULL, NULL, NULL);
    if (!rc && (!(a = tal_detector_open(argv[2], &set.hdr, argv[1], NULL, 0, -1, NULL, 0)) ||
                !(b = tal_detector_open(argv[3], &set.hdr, argv[1], NULL, 0, -1, NULL, 0))))
        rc = tal_errcode() ? tal_errcode() : -1;
    if (!rc && tal_params_count(a->P) != tal_params_count(b->P))
        rc = tal_err(TAL_EINCOMPAT, "the two checkpoints hold different models");
    double max_abs = 0, max_rel = 0;
    size_t n = 0;
    for (int i = 0; !rc && i < tal_params_count(a->P); i++) {
        tal_tensor *x = tal_params_get(a->P, i), *y = tal_params_get(b->P, i);
        size_t k = (size_t)tal_numel(x);
        if ((size_t)tal_numel(y) != k) {
            rc = tal_err(TAL_EINCOMPAT, "the two checkpoints hold different models");
            break;
        }
        const float *u = x->data, *v = y->data;
        double d = 0, scale = 0;
        for (size_t j = 0; j < k; j++) {
            d = fmax(d, fabs((double)u[j] - v[j]));
            scale = fmax(scale, fabs((double)u[j]));
        }
        max_abs = fmax(max_abs, d);
        if (d > 0)
            max_rel = fmax(max_rel, scale > 0 ? d / scale : INFINITY);
        n += k;
    }
    if (!rc)
        printf("max_abs %.3g max_rel %.3g n %zu\n", max_abs, max_rel, n);
    else
        fprintf(stderr, "ckptdiff: %s\n", tal_errmsg());
    tal_detector_free(a);
    tal_detector_free(b);
    tal_recset_free(&set);
    return rc ? 1 : 0;
}
