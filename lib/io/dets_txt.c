/* dets_txt.c — the THUMOS14 kit's detection text (see dets.h). */
#include "dets.h"
#include "../util/error.h"
#include "../util/text.h"

#include <math.h>
#include <string.h>

static void strip_suffix(char *id)
{
    static const char *const ext[] = { ".mp4", ".mpeg" };
    size_t n = strlen(id);
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        size_t k = strlen(ext[i]);
        if (n > k && !strcmp(id + n - k, ext[i])) {
            id[n - k] = 0;
            return;
        }
    }
}

int tal_dets_read_txt(const char *path, tal_annoset *a, const tal_anno_opts *o, long *ignored)
{
    tal_lines *l = tal_lines_open(path);
    if (!l)
        return tal_errcode();
    const char *name = tal_lines_name(l);
    char *line, *f[6];
    size_t len;
    long skipped = 0;
    int rc;
    while ((rc = tal_lines_next(l, &line, &len)) > 0) {
        int n = tal_split(line, 0, f, 6);
        if (n == 0)
            continue;
        long lineno = tal_lines_lineno(l);
        double s, e, score;
        long id;
        if (n != 5) {
            rc = tal_err(TAL_EINVAL, "bad detections: '%s' line %ld: expected 'video start end class_id score', found %d "
                         "field%s", name, lineno, n > 5 ? 6 : n, n == 1 ? "" : "s");
            break;
        }
        if (tal_parse_double(f[1], &s) || tal_parse_double(f[2], &e) || !isfinite(s) || !isfinite(e)) {
            rc = tal_err(TAL_EINVAL, "bad detections: '%s' line %ld: start and end must be numbers", name, lineno);
            break;
        }
        if (tal_parse_long(f[3], &id)) {
            rc = tal_err(TAL_EINVAL, "bad detections: '%s' line %ld: class id '%s' is not an integer", name, lineno, f[3]);
            break;
        }
        if (tal_parse_double(f[4], &score) || !isfinite(score)) {
            rc = tal_err(TAL_EINVAL, "bad detections: '%s' line %ld: score '%s' is not a number", name, lineno, f[4]);
            break;
        }
        int cls = id >= INT32_MIN && id <= INT32_MAX ? tal_classes_find_ext(&a->classes, (int32_t)id) : -1;
        if (cls < 0) {
            if (o && o->ignore_unknown_classes) {
                skipped++;
                continue;
            }
            rc = tal_err(TAL_EINVAL, "bad detections: '%s' line %ld: class id %ld is not in the class list%s", name,
                         lineno, id, a->classes.n ? "" : " (give one: the kit's det.txt)");
            break;
        }
        strip_suffix(f[0]);
        tal_record *r = tal_annoset_get(a, f[0]);
        if (!r) {
            rc = tal_err(TAL_ENOMEM, "out of memory");
            break;
        }
        r->present |= TAL_HAS_DETECTIONS;
        tal_segment g = { s, e, score, cls, 0, { 0 } };
        if ((rc = tal_segset_push(&r->dets, &g)))
            break;
    }
    tal_lines_close(l);
    if (ignored)
        *ignored = skipped;
    return rc < 0 ? rc : 0;
}
