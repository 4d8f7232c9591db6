/* instfeat.h — one feature vector for an instance: the maximum over time
 * of the record's features at the snippets inside it (APL's instance
 * consistency discriminator, METHODS.md §3 ICD).
 *
 * A snippet is inside [start, end] (seconds) when its position, through
 * the record's time map if it has one and its grid otherwise, lies in
 * [pos(start), pos(end)]; an instance too short to hold a whole position
 * takes the snippet nearest its middle.  An instance that ends before 0
 * or starts after the sequence's last snippet, or whose start is after its
 * end or not finite, is an error (TAL_EINVAL) naming the times.
 */
#ifndef TAL_DATA_INSTFEAT_H
#define TAL_DATA_INSTFEAT_H

#include "grid.h"
#include "record.h"

/* out: r->D values.  0 or TAL_EINVAL (message set; the caller names the
 * file and sequence). */
int tal_instance_feature(const tal_record *r, const tal_grid *g, double start, double end, float *out);

/* Does [start, end] (a segment) reach the record's features?  Annotations
 * of real datasets may run past the end of the features extracted (the
 * last snippets of a video dropped): a reference leaves those out. */
int tal_instance_in_features(const tal_record *r, const tal_grid *g, double start, double end);

#endif
