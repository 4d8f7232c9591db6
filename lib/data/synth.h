/* synth.h — synthetic snippet features on real annotation layouts.
 *
 * Given a record's duration and segments (e.g. a THUMOS14 video's ground
 * truth) and a time grid, generate T x D features whose structure mimics
 * what makes temporal action localisation hard.  The model (man talsynth
 * gives it in full) works in an L-dimensional latent space and maps it to
 * D dimensions with a fixed random matrix W (D x L, entries N(0, 1/L)):
 *
 *   x_t = W z_t + e_t,     e_t ~ N(0, ambient^2 I_D), independent over t
 *   z_t = g_v (a_t act_t + (1 - a_t) bg_t) + o_v + n_t
 *
 *   class prototypes   m_c = sqrt(share) s_group(c) + sqrt(1 - share) u_c
 *                      (s, u ~ N(0, I_L); classes in one confusable group
 *                      share s)
 *   phase drift        m_c(phi) = m_c + drift (max(0, 1 - 2 phi) p_c
 *                                            + max(0, 2 phi - 1) q_c)
 *                      phi in [0, 1] is the position inside the instance
 *   instance variation act = m_c(phi) + v_i, v_i ~ N(0, variation^2 I_L)
 *   soft boundaries    a_i(t) = r((c_t - start)/w) r((end - c_t)/w),
 *                      r(x) = min(1, max(0, x + 1/2)), w = soft + clip/fps
 *   background         K modes b_k ~ N(0, I_L); a sticky chain picks one,
 *                      staying bg_run seconds on average; look-alike
 *                      episodes near instances blend in the nearby
 *                      class's prototype with weight lookalike
 *   domain shift       o_v ~ N(0, shift^2 I_L), g_v = exp(shift/2 N(0, 1))
 *                      per sequence
 *   correlated noise   n_t = rho n_{t-1} + sqrt(1 - rho^2) noise xi_t,
 *                      rho = exp(-(stride/fps) / noise_time)
 *
 * Randomness: Philox (util/rng.h).  The model's parameters come from the
 * seed alone; each sequence's draws come from a stream split off by a
 * hash of its id, so a sequence's features do not depend on which other
 * sequences are generated or in what order.
 */
#ifndef TAL_DATA_SYNTH_H
#define TAL_DATA_SYNTH_H

#include "record.h"

#include <stdint.h>

typedef struct {
    uint32_t dim;            /* D, feature dimension */
    uint32_t latent;         /* L, latent dimension */
    double fps, stride, clip;
    uint32_t group_size;     /* classes per confusable group */
    double share;            /* fraction of a prototype shared in its group, [0, 1] */
    double drift;            /* start/end phase offsets, in prototype units */
    double variation;        /* per-instance offset sd */
    double shift;            /* per-sequence offset sd (and log-gain sd / 2) */
    uint32_t bg_modes;       /* K background modes */
    double bg_run;           /* mean seconds in one background mode */
    double lookalike;        /* weight of a class prototype in a look-alike episode, [0, 1] */
    double lookalike_rate;   /* chance of an episode on each side of an instance, [0, 1] */
    double noise;            /* latent noise sd */
    double noise_time;       /* its correlation time in seconds */
    double ambient;          /* per-dimension white noise sd */
    double soft;             /* boundary ramp in seconds (plus the clip's span) */
    uint64_t seed;
} tal_synth_params;

/* The default difficulty at the small size (D 128, 30 fps, stride 16). */
void tal_synth_defaults(tal_synth_params *p);
/* Apply a named preset: difficulty easy, default or hard (sets the
 * knobs), or size small or thumos (sets dim, latent and the grid).
 * 0, or -1 for an unknown name. */
int tal_synth_preset(tal_synth_params *p, const char *name);
/* Check ranges; 0 or TAL_EINVAL with a message naming the knob. */
int tal_synth_check(const tal_synth_params *p);
/* One line naming every parameter (for the stream's meta data). */
int tal_synth_describe(const tal_synth_params *p, char *buf, size_t n);

typedef struct tal_synth tal_synth;

tal_synth *tal_synth_new(const tal_synth_params *p, uint32_t nclasses);
void tal_synth_free(tal_synth *s);
/* The confusable group of a class. */
uint32_t tal_synth_group(const tal_synth *s, uint32_t cls);

/* Snippets on the grid for a duration: floor((dur*fps - clip)/stride) + 1,
 * at least 1; 0 if the duration is not a finite positive number or the
 * count would pass TAL_MAX_T. */
uint32_t tal_synth_nsnippets(const tal_synth_params *p, double duration);

/* Replace r's features with generated ones (T from its duration).
 * TAL_EINVAL for a sequence with no snippets, over 2^28 feature values,
 * or over 2^33 snippet x segment pairs. */
int tal_synth_generate(const tal_synth *s, tal_record *r);

#endif
