/* timemap.h — where the snippets of a record lie in its own time.
 *
 * Snippet t of a record normally sits on the stream's grid, at
 * (t*stride + clip/2)/fps seconds (grid.h).  A record whose features were
 * resampled unevenly (lblext's label extension) carries a time map instead
 * (data-spec.md §5.7): entry t is the time of snippet t's centre in the
 * sequence's own seconds, strictly increasing.  A position p on the
 * snippet scale (a real number; snippet t spans t - 1/2 .. t + 1/2) maps
 * to seconds by linear interpolation between entries floor(p) and
 * floor(p) + 1, extrapolated before the first and after the last entry
 * along the first or last interval (one entry: along stride / fps).
 *
 * Every tool that turns snippet positions into seconds or back goes
 * through tal_record_pos_to_sec / tal_record_sec_to_pos, which use the map
 * when the record has one and the grid otherwise.
 */
#ifndef TAL_DATA_TIMEMAP_H
#define TAL_DATA_TIMEMAP_H

#include "grid.h"
#include "record.h"

#include <stdint.h>

/* map: n >= 1 strictly increasing times; step: seconds per snippet used
 * to extrapolate a map of one entry.  At a whole position p = t the result
 * is map[t] exactly, and at a time equal to map[t] the position is t. */
double tal_timemap_pos_to_sec(const double *map, uint32_t n, double step, double pos);
double tal_timemap_sec_to_pos(const double *map, uint32_t n, double step, double sec);

/* Through the record's time map when it has one, else on grid g (the
 * record's own grid: its fps when it has one). */
double tal_record_pos_to_sec(const tal_record *r, const tal_grid *g, double pos);
double tal_record_sec_to_pos(const tal_record *r, const tal_grid *g, double sec);

#endif
