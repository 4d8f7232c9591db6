/* profile.h — where a training step's time goes, op by op (benchmarks).
 *
 * Off unless asked for (core-bench --profile).  Ops run eagerly: an op
 * computes its output, then records itself on the tape (graph.c), so the
 * time since the previous record is charged to the forward of the op
 * being recorded (whatever ran in between, such as glue code or an op that
 * records nothing, lands there too).  Each backward function is timed on
 * its own.  Times are wall clock on the calling thread; on the CPU that is
 * the op's cost, on a GPU only the cost of queueing it.
 */
#ifndef TAL_NN_PROFILE_H
#define TAL_NN_PROFILE_H

extern int tal_profile_enabled;

typedef struct {
    const char *op;          /* the name ops record themselves under */
    double fwd, bwd;         /* seconds */
    long nfwd, nbwd;         /* calls */
} tal_profile_row;

/* Start (1: clear the table, start the clock) or stop (0) profiling. */
void tal_profile(int on);
/* Restart the clock without charging anyone (before a step's forward). */
void tal_profile_mark(void);
/* Called by graph.c. */
void tal_profile_forward(const char *op);
void tal_profile_backward(const char *op, double seconds);
/* The rows so far, largest forward + backward first; returns how many
 * (at most max). */
int tal_profile_rows(tal_profile_row *out, int max);

#endif
