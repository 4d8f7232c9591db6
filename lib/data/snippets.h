/* snippets.h — a record's labels seen snippet by snippet.
 *
 * Snippet t is centred at grid position t (data/grid.h); it belongs to an
 * instance when its centre lies inside the instance's [start, end].
 */
#ifndef TAL_DATA_SNIPPETS_H
#define TAL_DATA_SNIPPETS_H

#include "grid.h"
#include "record.h"

/* cls[t], t < T: the class of the shortest segment of s that holds
 * snippet t's centre (ambiguous segments and class -1 left out; the first
 * of equal lengths), else `none`.  With skip_flags, segments carrying any
 * of those flags are left out too.  Times are on grid g. */
void tal_snippet_classes(const tal_segset *s, const tal_grid *g, uint32_t T, int32_t none, uint32_t skip_flags,
                         int32_t *cls);

#endif
