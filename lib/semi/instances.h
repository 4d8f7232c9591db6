/* instances.h — which detections become instance pseudo labels.
 *
 * Detections of one unlabelled sequence are ranked by a key (the
 * detection's score, one of its quality fields, or APL's joint score) and
 * a rule keeps some as positives and some as candidates:
 *   fixed:T     positives: key >= T (APL's self-training baseline: 0.3)
 *   topk:K      positives: the K highest (ties: earlier first)
 *   adaptive[:TL]  APL eq. 6: drop key < TL (0.15); of the rest, positives
 *               have key >= TH = mean + standard deviation (population) of
 *               their keys, the others are candidates.  TH is computed per
 *               sequence (METHODS.md §3, reading).
 *   adaptive-set[:TL]  the other reading of eq. 6: TH is the mean + sd of
 *               the keys that pass TL in every sequence of the input
 *               together, so a sequence whose detections all score high
 *               keeps them all as positives.  The caller measures the set
 *               first (tal_pick_measure) and fixes TH (tal_pick_fix).
 * Detections without a class (-1) are never kept.
 */
#ifndef TAL_SEMI_INSTANCES_H
#define TAL_SEMI_INSTANCES_H

#include "../data/record.h"

enum { TAL_PICK_FIXED = 0, TAL_PICK_TOPK = 1, TAL_PICK_ADAPTIVE = 2, TAL_PICK_ADAPTIVE_SET = 3 };

typedef struct {
    int rule;
    double thresh;    /* fixed: T; adaptive, adaptive-set: TL */
    uint32_t k;       /* topk */
    double th_set;    /* adaptive-set: TH of the whole input (tal_pick_fix) */
} tal_pick_rule;

/* "fixed:0.3", "topk:10", "adaptive", "adaptive:0.15", "adaptive-set",
 * "adaptive-set:0.15".  0 or TAL_EINVAL with a message. */
int tal_pick_rule_parse(const char *spec, tal_pick_rule *r);
/* The rule as text, the way parse reads it (static buffer). */
const char *tal_pick_rule_str(const tal_pick_rule *r);

/* Ranking keys: the score, a quality field (TAL_Q_*), or the joint score
 * cls * max(tiou - tnd, 1e-3) of APL eq. 4 (tnd 0 where the detections
 * carry none: a one-branch quality model writes its prediction as tiou). */
enum { TAL_RANK_SCORE = -1, TAL_RANK_JOINT = -2 };
/* "score", "joint", "tiou", "tnd", "icd", "cls"; <0 ... TAL_Q_* or
 * TAL_RANK_*; INT_MIN if unknown. */
int tal_rank_parse(const char *name);
const char *tal_rank_name(int key);
/* The quality fields a key needs (a qmask; 0 for the score). */
uint32_t tal_rank_needs(int key);
/* The key of one segment of a set whose quality fields are qmask. */
double tal_rank_value(const tal_segment *s, int key);

typedef struct {
    uint32_t positives, candidates, dropped;
} tal_pick_count;

/* The keys at or above TL over a whole input, for adaptive-set: their
 * count, mean and sum of squared deviations (Welford's update, in input
 * order, so the same input gives the same bits). */
typedef struct {
    double n, mean, m2;
} tal_pick_stats;

/* Add the keys of one sequence's detections that pass r's TL.  0, or
 * TAL_EINVAL when the detections lack the key's fields. */
int tal_pick_measure(const tal_segset *dets, const tal_pick_rule *r, int key, tal_pick_stats *st);
/* Fix adaptive-set's TH = mean + population sd of the measured keys (0
 * when there are none). */
void tal_pick_fix(tal_pick_rule *r, const tal_pick_stats *st);

/* Append the kept detections of `dets` to `out` (best key first), each
 * flagged PSEUDO, and CANDIDATE for candidates; scores and quality fields
 * travel with them.  dets->qmask must hold tal_rank_needs(key).  Adds to
 * *count.  0 or <0. */
int tal_pick_instances(const tal_segset *dets, const tal_pick_rule *r, int key, tal_segset *out,
                       tal_pick_count *count);

#endif
