/* sched.h — learning-rate schedules, evaluated per step (iteration).
 *
 * Cosine (ActionFormer's LinearWarmupCosineAnnealingLR, closed form): lr
 * rises linearly from warmup_start (0) at step 0 to base at step
 * warmup - 1, then follows eta_min + (base - eta_min)(1 + cos(pi (step -
 * warmup) / (total - warmup))) / 2, reaching eta_min at step total.
 * Step: the same warmup, then base * gamma^(number of milestones <= step).
 */
#ifndef TAL_NN_SCHED_H
#define TAL_NN_SCHED_H

#include <stdint.h>

enum { TAL_SCHED_CONSTANT = 0, TAL_SCHED_COSINE = 1, TAL_SCHED_STEP = 2 };

#define TAL_SCHED_MAX_MILESTONES 16

typedef struct {
    int kind;
    double base_lr;
    int64_t warmup_steps;     /* 0: no warmup */
    double warmup_start;      /* lr at step 0 of the warmup */
    int64_t total_steps;      /* cosine: the step at which eta_min is reached */
    double eta_min;
    int nmilestones;
    int64_t milestones[TAL_SCHED_MAX_MILESTONES];
    double gamma;
} tal_sched;

double tal_sched_lr(const tal_sched *s, int64_t step);

#endif
