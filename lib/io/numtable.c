/* numtable.c — numeric text tables (see numtable.h). */
#include "numtable.h"
#include "stream.h"
#include "../util/error.h"
#include "../util/mem.h"
#include "../util/text.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLS 65536

int tal_numtable_read(const char *path, float **data, size_t *cap, uint32_t *rows, uint32_t *cols)
{
    tal_lines *l = tal_lines_open(path);
    if (!l)
        return tal_errcode();
    char *line;
    size_t len;
    int rc, sep = -1;
    uint64_t nrows = 0;
    uint32_t ncols = 0;
    while ((rc = tal_lines_next(l, &line, &len)) > 0) {
        char *s = tal_trim(line);
        if (!*s || *s == '#')
            continue;
        if (sep < 0)
            sep = strchr(s, ',') ? ',' : 0;
        /* parse in place: count fields while converting */
        uint32_t k = 0;
        char *p = s;
        int header = 0;
        for (;;) {
            while (*p == ' ' || *p == '\t')
                p++;
            if (!*p)
                break;
            char *end;
            errno = 0;
            double v = strtod(p, &end);
            char *after = end;
            while (*after == ' ' || *after == '\t')
                after++;
            int ok = end != p && errno != ERANGE &&
                     (sep ? (*after == 0 || *after == ',') : (*end == 0 || *end == ' ' || *end == '\t'));
            if (!ok) {
                if (nrows == 0 && ncols == 0) {
                    header = 1;
                    break;
                }
                rc = tal_err(TAL_EINVAL, "bad numeric table: '%s' line %ld column %u: not a number", path,
                             tal_lines_lineno(l), k + 1);
                goto out;
            }
            if (!isfinite(v)) {
                rc = tal_err(TAL_EINVAL, "bad numeric table: '%s' line %ld column %u: not a finite number", path,
                             tal_lines_lineno(l), k + 1);
                goto out;
            }
            if (ncols && k >= ncols) {
                rc = tal_err(TAL_EINVAL, "bad numeric table: '%s' line %ld: more than %u columns", path,
                             tal_lines_lineno(l), ncols);
                goto out;
            }
            if (k >= MAX_COLS) {
                rc = tal_err(TAL_EINVAL, "bad numeric table: '%s' line %ld: over %d columns", path,
                             tal_lines_lineno(l), MAX_COLS);
                goto out;
            }
            size_t at = (size_t)nrows * (ncols ? ncols : MAX_COLS) + k;
            if (!ncols) {
                /* first data row: stage it at the start of the array */
                at = k;
            }
            if ((rc = tal_floats_reserve(data, cap, at + 1 > *cap ? (at + 1) * 2 : at + 1)))
                goto out;
            (*data)[at] = (float)v;
            k++;
            p = after;
            if (sep && *p == ',')
                p++;
        }
        if (header)
            continue;
        if (!ncols) {
            ncols = k;
        } else if (k != ncols) {
            rc = tal_err(TAL_EINVAL, "bad numeric table: '%s' line %ld: %u columns, earlier lines have %u", path,
                         tal_lines_lineno(l), k, ncols);
            goto out;
        }
        nrows++;
        if (nrows > TAL_MAX_T) {
            rc = tal_err(TAL_EINVAL, "bad numeric table: '%s': over %u rows", path, TAL_MAX_T);
            goto out;
        }
    }
    if (rc < 0)
        goto out;
    if (!nrows) {
        rc = tal_err(TAL_EINVAL, "bad numeric table: '%s': no numeric rows", path);
        goto out;
    }
    *rows = (uint32_t)nrows;
    *cols = ncols;
    rc = 0;
out:
    tal_lines_close(l);
    return rc;
}
