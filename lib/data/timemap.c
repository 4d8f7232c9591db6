/* timemap.c — snippet positions <-> seconds through a time map (see timemap.h). */
#include "timemap.h"

#include <math.h>

double tal_timemap_pos_to_sec(const double *map, uint32_t n, double step, double pos)
{
    if (n == 1)
        return map[0] + pos * step;
    double last = (double)(n - 1);
    if (pos <= 0)
        return pos == 0 ? map[0] : map[0] + pos * (map[1] - map[0]);
    if (pos >= last)
        return pos == last ? map[n - 1] : map[n - 1] + (pos - last) * (map[n - 1] - map[n - 2]);
    double i = floor(pos), a = pos - i;
    uint32_t k = (uint32_t)i;
    return a == 0 ? map[k] : map[k] + a * (map[k + 1] - map[k]);
}

double tal_timemap_sec_to_pos(const double *map, uint32_t n, double step, double sec)
{
    if (n == 1)
        return (sec - map[0]) / step;
    if (sec <= map[0])
        return sec == map[0] ? 0 : (sec - map[0]) / (map[1] - map[0]);
    if (sec >= map[n - 1])
        return sec == map[n - 1] ? (double)(n - 1) : (double)(n - 1) + (sec - map[n - 1]) / (map[n - 1] - map[n - 2]);
    /* the last entry at or before sec: map[lo] <= sec < map[hi] */
    uint32_t lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (map[mid] <= sec)
            lo = mid;
        else
            hi = mid;
    }
    return sec == map[lo] ? (double)lo : (double)lo + (sec - map[lo]) / (map[hi] - map[lo]);
}

static int has_map(const tal_record *r)
{
    return (r->present & TAL_HAS_TIMEMAP) && r->ntimemap > 0;
}

double tal_record_pos_to_sec(const tal_record *r, const tal_grid *g, double pos)
{
    if (has_map(r))
        return tal_timemap_pos_to_sec(r->timemap, r->ntimemap, g->stride / g->fps, pos);
    return tal_grid_to_sec(g, pos);
}

double tal_record_sec_to_pos(const tal_record *r, const tal_grid *g, double sec)
{
    if (has_map(r))
        return tal_timemap_sec_to_pos(r->timemap, r->ntimemap, g->stride / g->fps, sec);
    return tal_grid_from_sec(g, sec);
}
