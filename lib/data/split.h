/* split.h — choosing which sequences are labelled, and turning full
 * labels into weaker supervision (points, video-level tags).
 *
 * Sequences are described only by the classes they contain (classes_of),
 * so the same code serves streams, annotation sets and tests.
 */
#ifndef TAL_DATA_SPLIT_H
#define TAL_DATA_SPLIT_H

#include "record.h"
#include "../util/rng.h"

/* Classes per sequence, compressed: sequence i holds cls[off[i] .. off[i+1]). */
typedef struct {
    uint32_t n, ncls;
    uint32_t *off, *cls;
    size_t cls_cap;
} tal_seqclasses;

void tal_seqclasses_init(tal_seqclasses *s, uint32_t ncls);
/* Append a sequence with the classes its labels name (segments that are
 * not ambiguous, points, video labels). */
int tal_seqclasses_add(tal_seqclasses *s, const tal_record *r);
void tal_seqclasses_free(tal_seqclasses *s);

/* labelled[i] = 1 for round(frac * n) sequences (at least 1 when frac > 0)
 * drawn at random with `seed`.  With stratify, one sequence of every class
 * that has any is drawn first (so the count can exceed round(frac * n)
 * when there are more classes than that; *extra says by how many). */
int tal_split_random(const tal_seqclasses *s, double frac, int stratify, uint64_t seed,
                     uint8_t *labelled, uint32_t *extra);

/* Semi(k) of TTC-Loc: for every class, the first k sequences that contain
 * it are labelled, in input order or (shuffle) in a random order drawn
 * from seed.  A class that some sequences hold, but fewer than k, cannot
 * have k labelled: TAL_EINVAL with *short_cls set to it (the caller names
 * it); *unused (may be NULL) counts the classes no sequence holds. */
int tal_split_per_class(const tal_seqclasses *s, uint32_t k, int shuffle, uint64_t seed, uint8_t *labelled,
                        int32_t *short_cls, uint32_t *unused);

/* How a point is placed inside its instance. */
enum { TAL_POINTS_CENTRE, TAL_POINTS_UNIFORM, TAL_POINTS_GAUSSIAN };

/* Replace r's points by one per real instance: at the centre, uniform in
 * [start, end], or centre + N(0, (spread*length)^2) clipped to the
 * instance.  The caller removes the segments if they must not be seen. */
int tal_points_from_segments(tal_record *r, int mode, double spread, tal_rng *g);

#endif
