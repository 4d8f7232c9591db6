/* snippets.c — a record's labels snippet by snippet (see snippets.h). */
#include "snippets.h"

#include <math.h>

void tal_snippet_classes(const tal_segset *s, const tal_grid *g, uint32_t T, int32_t none, uint32_t skip_flags,
                         int32_t *cls)
{
    for (uint32_t t = 0; t < T; t++) {
        double centre = tal_grid_to_sec(g, t), best = INFINITY;
        cls[t] = none;
        for (uint32_t i = 0; i < s->n; i++) {
            const tal_segment *x = &s->v[i];
            double a = fmin(x->start, x->end), b = fmax(x->start, x->end);
            if ((x->flags & (TAL_SEG_AMBIGUOUS | skip_flags)) || x->cls < 0 || centre < a || centre > b ||
                b - a >= best)
                continue;
            best = b - a;
            cls[t] = x->cls;
        }
    }
}
