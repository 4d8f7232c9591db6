/* af_targets.h — ActionFormer-style training targets and crops.
 *
 * Label assignment (reference-methods.md §1.3): every position of every
 * pyramid level is a candidate; it is positive for a ground-truth segment
 * when it lies inside the segment's centre region (centre +- radius x the
 * level's stride, intersected with the segment, strict) and the larger of
 * its distances to the two boundaries falls in the level's regression
 * range.  Among the segments that qualify, the shortest wins; every
 * qualifying segment within 1e-3 of that length adds its class (so a
 * position can be multi-class, as THUMOS14's CliffDiving inside Diving).
 * The regression target is the distance to both boundaries of the winner,
 * in units of the level's stride.
 *
 * Positions and segments are in snippets of the input grid (level 0);
 * position t of level l (stride s = 2^l) sits at t*s.
 */
#ifndef TAL_MODELS_AF_TARGETS_H
#define TAL_MODELS_AF_TARGETS_H

#include "../util/rng.h"

#include <stdint.h>

#define TAL_AF_TARGET_LEVELS 16

typedef struct {
    int nlevels;
    int strides[TAL_AF_TARGET_LEVELS];        /* 1, 2, 4, ... */
    float reg_lo[TAL_AF_TARGET_LEVELS], reg_hi[TAL_AF_TARGET_LEVELS];
    float center_radius;                   /* 1.5; <= 0: whole segment */
} tal_af_assign_cfg;

/* ActionFormer's defaults for n levels: strides 2^l, ranges
 * (0,4) (4,8) ... (2^(n+1), 10000). */
void tal_af_assign_default(tal_af_assign_cfg *c, int nlevels);

typedef struct {
    float start, end;     /* in snippets of level 0 */
    int cls;
} tal_af_seg;

/* Targets for one sequence of (padded) length T with `valid` snippets:
 * positions are level-major: level 0's T, level 1's T/2, ... (T must be a
 * multiple of the largest stride).  cls is (npos, ncls) row-major 0/1,
 * reg is (npos, 2) left/right distances in strides (only meaningful where
 * pos[i] = 1).  Returns the number of positive positions.  Positions
 * beyond `valid` (scaled by the level's stride) are never positive. */
int64_t tal_af_positions(const tal_af_assign_cfg *c, int T);
int tal_af_assign(const tal_af_assign_cfg *c, int T, int valid, const tal_af_seg *segs, int nseg, int ncls,
                  float *cls, float *reg, uint8_t *pos);

/* Training crop (reference-methods.md §1.5): for a sequence of T snippets
 * with segments in snippets, choose a window of length min(T, max_len),
 * or for T <= max_len a random length in [round(lo*T), round(hi*T)] when
 * lo < 1; try up to 200 random starts until one keeps a segment with at
 * least `trunc` of its length inside the window widened by `offset`
 * snippets on both sides.  Kept segments are clipped to the widened
 * window and shifted to start at the window; the others are dropped.
 * Returns the number of segments kept (written back into segs). */
int tal_af_crop(tal_rng *g, int T, int max_len, double lo, double hi, double trunc, double offset,
                tal_af_seg *segs, int nseg, int *start, int *len);

#endif
