/* gridfit.h — do a sequence's features fit its duration on a time grid?
 *
 * T snippets on a grid (fps, stride, clip) span ((T-1)*stride + clip)/fps
 * seconds.  When the annotation says the sequence lasts much longer or
 * shorter, the grid is wrong (a missing --stride, features resampled to a
 * fixed length, another frame rate): every label would land on the wrong
 * snippets and every detection come back at the wrong time, with no
 * error anywhere.  featpack checks each sequence as it packs it and
 * tal-train each training record at start-up.
 *
 * The tolerance is one snippet (stride/fps) plus 2 % of the duration:
 * feature extractors drop or pad a partial window at the end, and frame
 * counts and durations disagree by a few frames in real datasets.
 */
#ifndef TAL_DATA_GRIDFIT_H
#define TAL_DATA_GRIDFIT_H

#include "grid.h"
#include "record.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double span;        /* seconds the snippets cover on the grid */
    double duration;    /* what the annotation says */
    double tolerance;   /* seconds */
    double fit_stride;  /* the stride (frames) that would make them agree:
                           a whole number of frames when one does */
} tal_gridfit;

/* 1: the T snippets fit `duration` on g; 0: they do not (*f says how);
 * -1: cannot tell (no duration, no frame rate, no snippets). */
int tal_grid_check(const tal_grid *g, uint32_t T, double duration, tal_gridfit *f);

/* "164 snippets on the grid (30 fps, stride 1, clip 1) span 5.47 s but the
 * sequence lasts 24.00 s; stride 4.39 would fit" into buf. */
void tal_gridfit_describe(char *buf, size_t n, const tal_grid *g, uint32_t T, const tal_gridfit *f);

/* Check n records (those with features, a duration and no time map) on
 * their grids; warn on stderr about the first that does not fit, with
 * `hint` (what to do) after it, and once with the count.  `name`: the
 * input, for the message.  Returns how many did not fit. */
uint32_t tal_grid_warn_records(const tal_record *v, uint32_t n, const tal_header *h, const char *name,
                               const char *hint);

#endif
