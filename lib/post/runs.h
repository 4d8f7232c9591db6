/* runs.h — maximal runs of a score sequence above a threshold, and their
 * extent in seconds: how the weakly and point-supervised detectors turn
 * per-snippet scores into candidate segments.
 *
 * A run [start, end) of snippets covers grid positions start - 0.5 to
 * end - 0.5 (each snippet spans half a position either side of its
 * centre; data/grid.h), so a run of one snippet lasts one stride.
 */
#ifndef TAL_POST_RUNS_H
#define TAL_POST_RUNS_H

#include "../data/grid.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t start, end;   /* snippets [start, end), end > start */
} tal_run;

typedef struct {
    tal_run *v;
    size_t n, cap;
} tal_runs;

/* Append to `out` the maximal runs of t in [0, T) with x[t * step] >
 * thresh, in order (a NaN is never above).  Returns the number appended,
 * or <0 (no memory). */
int tal_runs_above(tal_runs *out, const float *x, ptrdiff_t step, int T, double thresh);
void tal_runs_free(tal_runs *r);

/* The next maximal run of t in [*t, T) with x[t * step] != 0 (a mask of
 * labelled snippets): returns 1 with the run in *r and *t just past it, or
 * 0 when there is none left.  Allocates nothing: for loops on a hot path. */
int tal_run_next_set(const uint8_t *x, ptrdiff_t step, int T, int *t, tal_run *r);

/* The run's extent in seconds on grid g, clamped to [0, duration]
 * (duration <= 0: only at 0). */
void tal_run_to_sec(const tal_grid *g, tal_run r, double duration, double *start, double *end);

#endif
