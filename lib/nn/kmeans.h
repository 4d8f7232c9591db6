/* kmeans.h — k-means clustering of a few hundred points (APL's ACP:
 * clusters of sampled frames' input features stand in for labels).
 *
 * k-means++ seeding from a seeded stream, then Lloyd's iterations until no
 * assignment changes or `iters` are done; squared Euclidean distances in
 * double; ties go to the lower cluster; a cluster left empty keeps its
 * centre.  Deterministic: the same points and stream give the same labels.
 * Runs on the host: its points are copies of input features, never on a
 * device.
 */
#ifndef TAL_NN_KMEANS_H
#define TAL_NN_KMEANS_H

#include "util/rng.h"

#include <stdint.h>

/* labels (n) in [0, k) of the rows of x (n x d); k is capped at n.
 * 0 or TAL_ENOMEM / TAL_EINVAL. */
int tal_kmeans(const float *x, int n, int d, int k, int iters, tal_rng *r, int32_t *labels);

#endif
