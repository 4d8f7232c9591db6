/* ttc_loc.h — TTC-Loc (METHODS.md §4; man tal-train, "TTC-Loc"): weakly
 * and semi-weakly supervised localisation that compares each class score
 * with a predicted per-snippet threshold, the same way in training and at
 * inference.
 *
 * The network (ttc_loc.c) maps a sequence's features to class scores s
 * (C x T, channel-first) and a threshold b (T).  This header is the part
 * of inference that works on those scores on the host (ttc_decode.c), so
 * that tests can hand it planted scores:
 *
 *   gate      g_tc = f(s_tc - thr_tc), f the configured gate function;
 *             thr_tc = b_t (predicted) or (max_t s_tc + min_t s_tc) / 2
 *             (manual: the rule of the top-k MIL method)
 *   video     p = softmax(pooled s_1..s_C, mean_t b_t), pooled as in
 *             training (ttc.pool) with the training gate (ttc.train_threshold)
 *   keep      the classes with p_c above the mean of p_1..p_C
 *   segments  the maximal runs where s_tc > thr_tc (g > 0.5 for every gate
 *             function) of each kept class, scored by test.ttc_score.
 */
#ifndef TAL_MODELS_TTC_LOC_H
#define TAL_MODELS_TTC_LOC_H

#include "det_config.h"
#include "../data/grid.h"
#include "../data/record.h"
#include "../post/runs.h"

/* f(z) of a gate kind (TAL_TTC_GATE_*): sigmoid, softsign (z/(1+|z|)+1)/2,
 * or the step z > 0 */
double tal_ttc_gate(int gate, double z);

/* thr[c] = (max_t + min_t) / 2 of row c of s (C x T) */
void tal_ttc_manual_thresholds(const float *s, int C, int T, double *thr);

/* The video-level probabilities p[0..C] (C: background) of scores s
 * (C x T) and threshold b (T), as training computes them. */
void tal_ttc_video_probs(const tal_det_config *cfg, const float *s, const float *b, int C, int T, double *p);

/* Append to dets the candidate segments of one sequence in seconds on
 * grid g (clamped to duration when > 0), unsuppressed; `runs` is scratch.
 * 0 or <0 (no memory). */
int tal_ttc_segments(const tal_det_config *cfg, const float *s, const float *b, int C, int T, const tal_grid *g,
                     double duration, tal_runs *runs, tal_segset *dets);

#endif
