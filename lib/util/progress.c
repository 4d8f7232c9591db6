/* progress.c — progress line on stderr (see progress.h). */
#include "progress.h"
#include "error.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double tal_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void tal_progress_start(tal_progress *p, const char *what, uint64_t total)
{
    p->what = what;
    p->total = total;
    p->done = p->bytes = 0;
    p->start = p->last = tal_now();
    p->enabled = !tal_quiet() && isatty(STDERR_FILENO);
    p->drawn = 0;
}

static void draw(tal_progress *p, double now)
{
    double el = now - p->start;
    double mbs = el > 0 ? (double)p->bytes / el / 1e6 : 0;
    fprintf(stderr, "\r%s: %llu", tal_progname(), (unsigned long long)p->done);
    if (p->total) {
        fprintf(stderr, "/%llu %s (%d%%)", (unsigned long long)p->total, p->what,
                (int)(100.0 * (double)p->done / (double)p->total));
        if (p->done && p->done < p->total) {
            double left = el * (double)(p->total - p->done) / (double)p->done;
            fprintf(stderr, ", %d:%02d left", (int)left / 60, (int)left % 60);
        }
    } else {
        fprintf(stderr, " %s", p->what);
    }
    if (p->bytes)
        fprintf(stderr, ", %.0f MB/s", mbs);
    fputs("\033[K", stderr);
    p->drawn = 1;
}

void tal_progress_update(tal_progress *p, uint64_t done, uint64_t bytes)
{
    p->done = done;
    p->bytes = bytes;
    if (!p->enabled)
        return;
    double now = tal_now();
    if (now - p->last < 0.2)
        return;
    p->last = now;
    draw(p, now);
}

void tal_progress_end(tal_progress *p)
{
    if (p->enabled && p->drawn)
        fputs("\r\033[K", stderr);
    p->drawn = 0;
}
