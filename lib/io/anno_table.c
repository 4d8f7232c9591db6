/* anno_table.c — segment tables in samples (see anno_table.h). */
#include "anno_table.h"
#include "../util/error.h"
#include "../util/text.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 64
#define MAX_ID 1024

/* Parse "{N}" or "{N:0W}" at *p (which points at '{'); advance past it. */
static int parse_field(const char **p, int *col, int *width)
{
    const char *s = *p + 1;
    char *end;
    long n = strtol(s, &end, 10);
    if (end == s || n < 1 || n > MAX_FIELDS || *s == '+' || *s == '-')
        return -1;
    *col = (int)n;
    *width = 0;
    if (*end == ':') {
        s = end + 1;
        if (*s != '0')
            return -1;
        long w = strtol(s, &end, 10);
        if (end == s || w < 1 || w > 32)
            return -1;
        *width = (int)w;
    }
    if (*end != '}')
        return -1;
    *p = end + 1;
    return 0;
}

int tal_segtable_check_template(const char *tmpl)
{
    int col, width, fields = 0;
    for (const char *p = tmpl; *p;) {
        if (*p != '{') {
            p++;
            continue;
        }
        if (parse_field(&p, &col, &width))
            return tal_err(TAL_EINVAL, "bad sequence-id template '%s': use {N} or {N:0W} for column N (1-%d)", tmpl,
                           MAX_FIELDS);
        fields++;
    }
    if (!fields)
        return tal_err(TAL_EINVAL, "bad sequence-id template '%s': it names no column ({N})", tmpl);
    return 0;
}

static int template_maxcol(const char *tmpl)
{
    int col, width, m = 0;
    for (const char *p = tmpl; *p;)
        if (*p == '{' && !parse_field(&p, &col, &width))
            m = col > m ? col : m;
        else
            p++;
    return m;
}

/* Expand the template for one line's fields; 0 or an error message. */
static const char *expand(const char *tmpl, char **f, char *out)
{
    size_t n = 0;
    for (const char *p = tmpl; *p;) {
        char piece[64];
        const char *add = piece;
        size_t len;
        if (*p == '{') {
            int col, width;
            parse_field(&p, &col, &width);   /* checked before */
            if (width) {
                long v;
                if (tal_parse_long(f[col - 1], &v) || v < 0)
                    return "a padded id column is not a whole number";
                snprintf(piece, sizeof piece, "%0*ld", width, v);
            } else {
                add = f[col - 1];
            }
            len = strlen(add);
        } else {
            piece[0] = *p++;
            piece[1] = 0;
            len = 1;
        }
        if (n + len >= MAX_ID)
            return "sequence id is too long";
        memcpy(out + n, add, len);
        n += len;
    }
    out[n] = 0;
    return n ? NULL : "sequence id is empty";
}

static int whole(const char *s, long *v)
{
    return !tal_parse_long(s, v) && *v >= 0 && *v <= (1L << 40);
}

int tal_anno_read_segtable(const char *path, tal_annoset *a, const tal_anno_opts *ao,
                           const tal_segtable_opts *o)
{
    const char *tmpl = o->id_template ? o->id_template : "{1}";
    int cs = o->col_start ? o->col_start : 2, ce = o->col_end ? o->col_end : 3,
        cc = o->col_class ? o->col_class : 4;
    if (tal_segtable_check_template(tmpl))
        return TAL_EINVAL;
    if (!(o->rate > 0) || !isfinite(o->rate))
        return tal_err(TAL_EINVAL, "segment table '%s': no sample rate", path);
    int need = template_maxcol(tmpl);
    need = cs > need ? cs : need;
    need = ce > need ? ce : need;
    need = cc > need ? cc : need;
    if (cs < 1 || ce < 1 || cc < 1 || need > MAX_FIELDS)
        return tal_err(TAL_EINVAL, "segment table '%s': columns must be 1-%d", path, MAX_FIELDS);

    tal_lines *l = tal_lines_open(path);
    if (!l)
        return tal_errcode();
    char *line, *f[MAX_FIELDS], id[MAX_ID];
    size_t len;
    int rc, sep = -1;
    long data_lines = 0, ignored = 0, nseg = 0;
#define BAD(...) do { char m_[512]; snprintf(m_, sizeof m_, __VA_ARGS__); \
        rc = tal_err(TAL_EINVAL, "bad segment table: '%s' line %ld: %s", path, tal_lines_lineno(l), m_); \
        goto out; } while (0)
    while ((rc = tal_lines_next(l, &line, &len)) > 0) {
        char *s = tal_trim(line);
        if (!*s || *s == '#')
            continue;
        if (sep < 0)
            sep = strchr(s, ',') ? ',' : 0;
        int first = data_lines++ == 0;
        int nf = tal_split(s, sep, f, MAX_FIELDS);
        long start, end;
        if (nf < need) {
            if (first && nf > 0 && tal_parse_long(f[0], &start))
                continue;   /* a short header line */
            BAD("%d fields, column %d needed", nf, need);
        }
        if (!whole(f[cs - 1], &start)) {
            if (first)
                continue;   /* a header */
            BAD("start sample '%s' (column %d) is not a whole number >= 0", f[cs - 1], cs);
        }
        if (!whole(f[ce - 1], &end))
            BAD("end sample '%s' (column %d) is not a whole number >= 0", f[ce - 1], ce);
        if (end < start)
            BAD("end sample %ld is before the start %ld", end, start);
        const char *msg = expand(tmpl, f, id);
        if (msg)
            BAD("%s", msg);

        const char *cname = f[cc - 1];
        long cid;
        int k;
        if (!*cname)
            BAD("empty class (column %d)", cc);
        if (!tal_parse_long(cname, &cid)) {
            k = cid >= INT32_MIN && cid <= INT32_MAX ? tal_classes_find_ext(&a->classes, (int32_t)cid) : -1;
            if (k < 0 && a->fixed_classes) {
                if (ao && ao->ignore_unknown_classes) {
                    ignored++;
                    continue;
                }
                BAD("class %ld is not in the class list", cid);
            }
            if (k < 0) {
                if ((k = tal_annoset_class(a, cname)) < 0 || tal_annoset_class_key(a, k, cid)) {
                    rc = tal_errcode();
                    goto out;
                }
            }
        } else {
            k = tal_classes_find(&a->classes, cname);
            if (k < 0 && a->fixed_classes && ao && ao->ignore_unknown_classes) {
                ignored++;
                continue;
            }
            if (k < 0 && (k = tal_annoset_class(a, cname)) < 0)
                BAD("%s", tal_errmsg());
        }

        tal_record *r = tal_annoset_find(a, id);
        if (!r && ao && ao->existing_only)
            continue;
        if (!r && !(r = tal_annoset_get(a, id))) {
            rc = tal_errcode();
            goto out;
        }
        tal_segment seg = { .start = start / o->rate, .end = (end + 1) / o->rate, .score = 1, .cls = k };
        if ((rc = tal_segset_push(&r->segs, &seg)))
            goto out;
        r->present |= TAL_HAS_SEGMENTS;
        r->supervision = TAL_SUP_FULL;
        r->fps = o->rate;
        nseg++;
    }
#undef BAD
    if (rc < 0)
        goto out;
    if (!nseg && !ignored) {
        rc = tal_err(TAL_EINVAL, "bad segment table: '%s': no segments", path);
        goto out;
    }
    if (ignored)
        tal_warn("%ld segments in '%s' have classes not in the class list; ignored", ignored, path);
    rc = 0;
out:
    tal_lines_close(l);
    return rc;
}
