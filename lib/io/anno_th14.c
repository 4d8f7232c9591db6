/* anno_th14.c — the THUMOS14 official annotation folders (see anno.h).
 *
 * A folder holds <Class>_<subset>.txt per class and Ambiguous_<subset>.txt,
 * each line "video_name start end" in seconds.  Ambiguous segments are
 * kept, flagged TAL_SEG_AMBIGUOUS with class -1, so that the official
 * protocol can leave detections on them out of the false positives.
 */
#include "anno.h"
#include "../util/error.h"
#include "../util/mem.h"
#include "../util/text.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The subset a file suffix names: "val" -> "validation". */
static const char *subset_name(const char *suffix)
{
    if (!strcmp(suffix, "val"))
        return "validation";
    return suffix;
}

static int read_file(const char *path, const char *cls_name, const char *subset, tal_annoset *a,
                     const tal_anno_opts *o)
{
    int ambiguous = !strcmp(cls_name, "Ambiguous");
    int cls = -1;
    if (!ambiguous) {
        cls = tal_classes_find(&a->classes, cls_name);
        if (cls < 0 && a->fixed_classes && o && o->ignore_unknown_classes)
            return 0;
        if (cls < 0 && (cls = tal_annoset_class(a, cls_name)) < 0)
            return tal_err_wrap(TAL_EINVAL, "bad annotations: '%s'", path);
    }
    tal_lines *l = tal_lines_open(path);
    if (!l)
        return tal_errcode();
    char *line, *f[4];
    size_t len;
    int rc;
    while ((rc = tal_lines_next(l, &line, &len)) > 0) {
        int n = tal_split(line, 0, f, 4);
        if (n == 0)
            continue;
        double s, e;
        if (n != 3 || tal_parse_double(f[1], &s) || tal_parse_double(f[2], &e)) {
            rc = tal_err(TAL_EINVAL, "bad annotations: '%s' line %ld: expected 'video start end'", path,
                         tal_lines_lineno(l));
            break;
        }
        tal_record *r = tal_annoset_get(a, f[0]);
        if (!r) {
            rc = TAL_ENOMEM;
            break;
        }
        if (!*r->subset && tal_record_set_subset(r, subset)) {
            rc = TAL_ENOMEM;
            break;
        }
        r->supervision = TAL_SUP_FULL;
        r->present |= TAL_HAS_SEGMENTS;
        tal_segment g = { s, e, 1.0, cls, ambiguous ? TAL_SEG_AMBIGUOUS : 0, { 0 } };
        if ((rc = tal_segset_push(&r->segs, &g)))
            break;
    }
    tal_lines_close(l);
    return rc < 0 ? rc : 0;
}

int tal_anno_read_th14(const char *dir, tal_annoset *a, const tal_anno_opts *o)
{
    DIR *d = opendir(dir);
    if (!d)
        return tal_err(TAL_EIO, "cannot open '%s': %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        size_t k = strlen(e->d_name);
        const char *us = strrchr(e->d_name, '_');
        if (k < 5 || strcmp(e->d_name + k - 4, ".txt") || !us || us == e->d_name)
            continue;
        void *v = names;
        if (tal_grow(&v, &cap, n + 1, sizeof *names) || !(((char **)v)[n] = tal_strdup(e->d_name))) {
            names = v;
            rc = TAL_ENOMEM;
            break;
        }
        names = v;
        n++;
    }
    closedir(d);
    if (!rc && n == 0)
        rc = tal_err(TAL_EINVAL, "bad annotations: '%s': no <Class>_<subset>.txt files", dir);
    if (!rc)
        qsort(names, n, sizeof *names, cmp_str);   /* classes in name order */
    for (size_t i = 0; i < n && !rc; i++) {
        char *us = strrchr(names[i], '_');
        *us = 0;
        char *suffix = us + 1;
        suffix[strlen(suffix) - 4] = 0;
        size_t plen = strlen(dir) + strlen(names[i]) + strlen(suffix) + 8;
        char *path = tal_malloc(plen);
        if (!path) {
            rc = TAL_ENOMEM;
            break;
        }
        snprintf(path, plen, "%s/%s_%s.txt", dir, names[i], suffix);
        rc = read_file(path, names[i], subset_name(suffix), a, o);
        free(path);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}
