/* progress.h — a progress line on stderr for long work.
 *
 * Shown only when stderr is a terminal and the tool was not asked to be
 * quiet; redrawn at most a few times a second; erased when done.
 */
#ifndef TAL_UTIL_PROGRESS_H
#define TAL_UTIL_PROGRESS_H

#include <stdint.h>

typedef struct {
    const char *what;     /* "sequences", "frames", ... */
    uint64_t total;       /* 0 if unknown */
    uint64_t done, bytes;
    double start, last;
    int enabled, drawn;
} tal_progress;

void tal_progress_start(tal_progress *p, const char *what, uint64_t total);
void tal_progress_update(tal_progress *p, uint64_t done, uint64_t bytes);
void tal_progress_end(tal_progress *p);

/* Seconds on a monotonic clock. */
double tal_now(void);

#endif
