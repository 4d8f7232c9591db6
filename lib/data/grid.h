/* grid.h — seconds <-> snippet positions on a stream's time grid.
 *
 * Snippet t spans frames [t*stride, t*stride + clip) at fps, so its centre
 * is at (t*stride + clip/2)/fps seconds; a position g on the grid (a real
 * number) is at (g*stride + clip/2)/fps seconds.  This is ActionFormer's
 * convention (THUMOS14 I3D: stride 4, clip 16, 30 fps): an offset of half
 * a clip costs mAP at high tIoU, so every tool converts through here.
 */
#ifndef TAL_DATA_GRID_H
#define TAL_DATA_GRID_H

typedef struct {
    double fps, stride, clip;
} tal_grid;

static inline double tal_grid_to_sec(const tal_grid *g, double pos)
{
    return (pos * g->stride + 0.5 * g->clip) / g->fps;
}

static inline double tal_grid_from_sec(const tal_grid *g, double sec)
{
    return (sec * g->fps - 0.5 * g->clip) / g->stride;
}

#endif
