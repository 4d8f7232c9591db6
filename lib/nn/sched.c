/* sched.c — see sched.h. */
#include "nn/sched.h"

#include <math.h>

double tal_sched_lr(const tal_sched *s, int64_t step)
{
    if (step < 0)
        step = 0;
    if (s->warmup_steps > 0 && step < s->warmup_steps) {
        if (s->warmup_steps == 1)
            return s->base_lr;
        return s->warmup_start + (double)step * (s->base_lr - s->warmup_start) / (double)(s->warmup_steps - 1);
    }
    switch (s->kind) {
    case TAL_SCHED_COSINE: {
        int64_t span = s->total_steps - s->warmup_steps;
        if (span <= 0)
            return s->eta_min;
        double p = (double)(step - s->warmup_steps) / (double)span;
        if (p > 1)
            p = 1;
        return s->eta_min + 0.5 * (s->base_lr - s->eta_min) * (1.0 + cos(M_PI * p));
    }
    case TAL_SCHED_STEP: {
        int k = 0;
        for (int i = 0; i < s->nmilestones; i++)
            k += step >= s->milestones[i];
        return s->base_lr * pow(s->gamma, k);
    }
    default:
        return s->base_lr;
    }
}
