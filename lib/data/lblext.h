/* lblext.h — label extension of a point-labelled record (FS-PTAL's
 * Alg. 1 and eq. 1; METHODS.md §5; man lblext for the readings).
 *
 * Each point labels the snippet nearest it.  The snippets of a record get
 * sampling weights: tau1 on every maximal run of labelled snippets, tau2 on
 * the one snippet either side of a run, 1 elsewhere.  Snippet j spreads
 * its weight evenly over j - 1/2 .. j + 1/2, so the weights are a density
 * on the snippet scale; with S their sum, the record is resampled at
 * T' = round(S) positions x_0 < ... < x_{T'-1}, x_i the point where the
 * cumulative weight reaches (i + 1/2) S / T' (the inverse CDF sampled
 * uniformly).  Where the weights are 1 the new positions are one snippet
 * apart, as before; around a point they are tau1 times as dense.
 *
 * Features are interpolated linearly at x_i (held at the first and last
 * snippet beyond them); the record's time map gets the time of each x_i
 * (through its old map if it had one, so extending twice composes); and
 * each point is copied to every new position i with |x_i - j| <= theta,
 * j its snippet (at least to the nearest one), each copy at that
 * position's time, with the point's class and weight.  Snippet class
 * distributions no longer match the features and are dropped.
 *
 * With no labelled snippet (or tau1 = tau2 = 1) nothing moves: T' = T,
 * x_i = i exactly, and the features are copied bit for bit.
 */
#ifndef TAL_DATA_LBLEXT_H
#define TAL_DATA_LBLEXT_H

#include "grid.h"
#include "record.h"

typedef struct {
    double tau1;    /* weight of runs of labelled snippets [2.5] */
    double tau2;    /* weight of the snippet either side of a run [1.67] */
    double theta;   /* a point reaches new positions within theta snippets [1] */
} tal_lblext_opts;

#define TAL_LBLEXT_DEFAULTS { 2.5, 1.67, 1.0 }

/* Scratch space, reusable from one record to the next. */
typedef struct tal_lblext_ws tal_lblext_ws;
tal_lblext_ws *tal_lblext_ws_new(void);
void tal_lblext_ws_free(tal_lblext_ws *w);

/* Extend record r in place; g is its grid (its own fps when it has one).
 * r must have features and at least one point, its points in time order,
 * each inside the sequence.  0, or <0 with a message naming what is wrong
 * (the caller adds the record's id); r is unchanged on error. */
int tal_lblext_record(tal_lblext_ws *w, tal_record *r, const tal_grid *g, const tal_lblext_opts *o);

/* The new positions (on the old snippet scale) of the last extension, and
 * how many there are: for tests and diagnostics. */
const double *tal_lblext_positions(const tal_lblext_ws *w, uint32_t *n);

#endif
