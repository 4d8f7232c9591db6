/* profile.c — see profile.h. */
#include "profile.h"
#include "util/progress.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_OPS = 128 };

int tal_profile_enabled;
static tal_profile_row rows[MAX_OPS];
static int nrows;
static double last;

void tal_profile(int on)
{
    if (on) {
        nrows = 0;
        memset(rows, 0, sizeof rows);
        last = tal_now();
    }
    tal_profile_enabled = on;
}

void tal_profile_mark(void) { last = tal_now(); }

/* ops name themselves with string literals: the same pointer, or at
 * least the same text, each time */
static tal_profile_row *row_for(const char *op)
{
    for (int i = 0; i < nrows; i++)
        if (rows[i].op == op || !strcmp(rows[i].op, op))
            return &rows[i];
    if (nrows == MAX_OPS)
        return &rows[MAX_OPS - 1];   /* full: the rest share the last row */
    rows[nrows].op = op;
    return &rows[nrows++];
}

void tal_profile_forward(const char *op)
{
    double t = tal_now();
    tal_profile_row *r = row_for(op);
    r->fwd += t - last;
    r->nfwd++;
    last = tal_now();
}

void tal_profile_backward(const char *op, double seconds)
{
    tal_profile_row *r = row_for(op);
    r->bwd += seconds;
    r->nbwd++;
}

static int by_total(const void *a, const void *b)
{
    const tal_profile_row *x = a, *y = b;
    double tx = x->fwd + x->bwd, ty = y->fwd + y->bwd;
    return tx > ty ? -1 : tx < ty;
}

int tal_profile_rows(tal_profile_row *out, int max)
{
    int n = nrows < max ? nrows : max;
    tal_profile_row tmp[MAX_OPS];
    memcpy(tmp, rows, (size_t)nrows * sizeof *tmp);
    qsort(tmp, (size_t)nrows, sizeof *tmp, by_total);
    memcpy(out, tmp, (size_t)n * sizeof *out);
    return n;
}
