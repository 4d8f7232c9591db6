/* anno_csv.c — point labels, video information and class lists (see anno.h). */
#include "anno.h"
#include "../util/error.h"
#include "../util/mem.h"
#include "../util/text.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FIELDS 64

/* Index of the first header field named like one of `names`, or -1. */
static int column(char **hdr, int n, const char *const *names)
{
    for (const char *const *nm = names; *nm; nm++)
        for (int i = 0; i < n; i++)
            if (!strcasecmp(hdr[i], *nm))
                return i;
    return -1;
}

static const char *const ID_COLS[] = { "video_id", "video", "video-name", "video_name", "id", "name", NULL };
static const char *const FPS_COLS[] = { "fps", "frame-rate", "frame_rate", NULL };
static const char *const DUR_COLS[] = { "duration", "seconds", "video-duration", "duration_second", NULL };
static const char *const FRAMES_COLS[] = { "numFrame", "num_frame", "video-frames", "frames", "duration_frame", NULL };
static const char *const SUBSET_COLS[] = { "subset", NULL };

/* ---- points ------------------------------------------------------------ */

static tal_record *point_record(tal_annoset *a, const char *id, const tal_anno_opts *o, long *skipped)
{
    tal_record *r = tal_annoset_find(a, id);
    if (!r && o && o->existing_only) {
        ++*skipped;
        return NULL;
    }
    if (!r && (r = tal_annoset_get(a, id)))
        r->supervision = TAL_SUP_POINT;
    return r;
}

static int point_class(tal_annoset *a, const char *name, const tal_anno_opts *o, int *skip)
{
    *skip = 0;
    int k = tal_classes_find(&a->classes, name);
    if (k >= 0)
        return k;
    if (a->fixed_classes && o && o->ignore_unknown_classes) {
        *skip = 1;
        return -1;
    }
    return tal_annoset_class(a, name);
}

int tal_anno_read_points(const char *path, tal_annoset *a, const tal_anno_opts *o)
{
    tal_lines *l = tal_lines_open(path);
    if (!l)
        return tal_errcode();
    char *line, *f[MAX_FIELDS], *hdr[MAX_FIELDS], hdrbuf[4096];
    size_t len;
    int rc, nh = 0, c_vid = -1, c_point = -1, c_class = -1, c_idx = -1;
    long skipped = 0;
    while ((rc = tal_lines_next(l, &line, &len)) > 0) {
        if (!*tal_trim(line))
            continue;
        if (c_vid < 0 && nh == 0 && strstr(line, "video_id")) {
            /* LACP / HR-Pro CSV: a header names the columns */
            snprintf(hdrbuf, sizeof hdrbuf, "%s", line);
            nh = tal_split(hdrbuf, ',', hdr, MAX_FIELDS);
            c_vid = column(hdr, nh, (const char *const[]){ "video_id", NULL });
            c_point = column(hdr, nh, (const char *const[]){ "point", NULL });
            c_class = column(hdr, nh, (const char *const[]){ "class", "label", NULL });
            c_idx = column(hdr, nh, (const char *const[]){ "class_index", NULL });
            if (c_point < 0 || (c_class < 0 && c_idx < 0)) {
                rc = tal_err(TAL_EINVAL, "bad point labels: '%s' line %ld: header lacks 'point' or 'class'", path,
                             tal_lines_lineno(l));
                break;
            }
            continue;
        }
        int n = tal_split(line, ',', f, MAX_FIELDS);
        double t, frame = 0;
        const char *vid, *cname;
        long idx = -1;
        if (c_vid >= 0) {
            /* LACP / HR-Pro: a frame index at the video's frame rate */
            if (n < nh || tal_parse_double(f[c_point], &frame) ||
                (c_idx >= 0 && tal_parse_long(f[c_idx], &idx))) {
                rc = tal_err(TAL_EINVAL, "bad point labels: '%s' line %ld: expected %d fields with a numeric point",
                             path, tal_lines_lineno(l), nh);
                break;
            }
            vid = f[c_vid];
            cname = c_class >= 0 ? f[c_class] : NULL;
        } else {
            /* SF-Net single-frame text: video,time_in_seconds,class */
            if (n != 3 || tal_parse_double(f[1], &t)) {
                rc = tal_err(TAL_EINVAL, "bad point labels: '%s' line %ld: expected 'video,time,class'", path,
                             tal_lines_lineno(l));
                break;
            }
            vid = f[0];
            cname = f[2];
        }
        tal_record *r = point_record(a, vid, o, &skipped);
        if (!r) {
            if (o && o->existing_only)
                continue;
            rc = TAL_ENOMEM;
            break;
        }
        if (c_vid >= 0) {
            double fps = r->fps > 0 ? r->fps : o ? o->fps : 0;
            if (fps <= 0) {
                rc = tal_err(TAL_EINVAL, "bad point labels: '%s' line %ld: no frame rate known for '%s' (give --fps or --video-info)",
                             path, tal_lines_lineno(l), vid);
                break;
            }
            t = frame / fps;
        }
        int skip, k;
        if (cname) {
            k = point_class(a, cname, o, &skip);
        } else {
            k = idx >= 0 && idx < (long)a->classes.n ? (int)idx : -1;
            skip = 0;
            if (k < 0)
                tal_err(TAL_EINVAL, "class_index %ld is outside the class table", idx);
        }
        if (skip)
            continue;
        if (k < 0) {
            rc = tal_err_wrap(TAL_EINVAL, "bad point labels: '%s' line %ld", path, tal_lines_lineno(l));
            break;
        }
        if (cname && c_idx >= 0 && !a->fixed_classes && (rc = tal_annoset_class_key(a, k, idx)))
            break;
        if ((rc = tal_record_add_point(r, t, k, 1.0f)))
            break;
    }
    tal_lines_close(l);
    if (rc < 0)
        return rc;
    if (skipped)
        tal_warn("%ld point labels in '%s' are for sequences not in the annotations; ignored", skipped, path);
    return 0;
}

/* ---- video information ------------------------------------------------- */

static int apply_info(tal_annoset *a, const tal_anno_opts *o, const char *id, double fps, double dur,
                      double frames, const char *subset)
{
    tal_record *r = tal_annoset_find(a, id);
    if (!r) {
        if (o && o->existing_only)
            return 0;
        if (!(r = tal_annoset_get(a, id)))
            return TAL_ENOMEM;
    }
    if (r->duration <= 0 && dur > 0)
        r->duration = dur;
    if (r->fps <= 0) {
        if (fps > 0)
            r->fps = fps;
        else if (frames > 0 && r->duration > 0)
            r->fps = frames / r->duration;
    }
    if (subset && *subset && !*r->subset && tal_record_set_subset(r, subset))
        return TAL_ENOMEM;
    return 0;
}

static double json_num(const json_t *v)
{
    if (json_is_number(v))
        return json_number_value(v);
    double d;
    if (json_is_string(v) && !tal_parse_double(json_string_value(v), &d))
        return d;
    return 0;
}

static int videoinfo_json(const char *path, tal_annoset *a, const tal_anno_opts *o, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (!root)
        return tal_err(TAL_EINVAL, "bad JSON: '%s' line %d column %d: %s", path, jerr.line, jerr.column, jerr.text);
    int rc = 0;
    const char *id;
    json_t *v;
    if (!json_is_object(root))
        rc = tal_err(TAL_EINVAL, "bad video information: '%s': the top level is not an object", path);
    else
        json_object_foreach(root, id, v) {
            if (json_is_number(v)) {
                rc = apply_info(a, o, id, json_number_value(v), 0, 0, NULL);
            } else if (json_is_object(v)) {
                const json_t *x;
                double fps = json_num(json_object_get(v, "fps"));
                double dur = (x = json_object_get(v, "duration")) ? json_num(x) : json_num(json_object_get(v, "duration_second"));
                double frames = (x = json_object_get(v, "num_frame")) ? json_num(x)
                              : (x = json_object_get(v, "frames")) ? json_num(x) : json_num(json_object_get(v, "duration_frame"));
                const json_t *sub = json_object_get(v, "subset");
                rc = apply_info(a, o, id, fps, dur, frames, json_is_string(sub) ? json_string_value(sub) : NULL);
            } else {
                rc = tal_err(TAL_EINVAL, "bad video information: '%s': '%s' is neither a number nor an object", path, id);
            }
            if (rc)
                break;
        }
    json_decref(root);
    return rc;
}

int tal_anno_read_videoinfo(const char *path, tal_annoset *a, const tal_anno_opts *o)
{
    char *text;
    size_t len;
    int rc = tal_read_file(path, (size_t)1 << 30, &text, &len);
    if (rc)
        return rc;
    const char *p = text;
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    if (*p == '{') {
        rc = videoinfo_json(path, a, o, text, len);
        free(text);
        return rc;
    }
    /* CSV with a header */
    char *f[MAX_FIELDS], *hdr[MAX_FIELDS];
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    long lineno = 1;
    if (!line) {
        free(text);
        return tal_err(TAL_EINVAL, "bad video information: '%s': empty file", path);
    }
    size_t L = strlen(line);
    if (L && line[L - 1] == '\r')
        line[L - 1] = 0;
    int nh = tal_split(line, ',', hdr, MAX_FIELDS);
    int ci = column(hdr, nh, ID_COLS), cf = column(hdr, nh, FPS_COLS), cd = column(hdr, nh, DUR_COLS);
    int cn = column(hdr, nh, FRAMES_COLS), cs = column(hdr, nh, SUBSET_COLS);
    if (ci < 0 || (cf < 0 && cd < 0 && cs < 0)) {
        free(text);
        return tal_err(TAL_EINVAL, "bad video information: '%s' line 1: the header names no video id column "
                       "(video, video_id, video-name) or no fps/duration/subset column", path);
    }
    while ((line = strtok_r(NULL, "\n", &save))) {
        lineno++;
        L = strlen(line);
        if (L && line[L - 1] == '\r')
            line[L - 1] = 0;
        if (!*tal_trim(line))
            continue;
        int n = tal_split(line, ',', f, MAX_FIELDS);
        double fps = 0, dur = 0, frames = 0;
        if (n < nh || (cf >= 0 && tal_parse_double(f[cf], &fps)) || (cd >= 0 && tal_parse_double(f[cd], &dur)) ||
            (cn >= 0 && tal_parse_double(f[cn], &frames))) {
            rc = tal_err(TAL_EINVAL, "bad video information: '%s' line %ld: expected %d fields with numbers", path,
                         lineno, nh);
            break;
        }
        if ((rc = apply_info(a, o, f[ci], fps, dur, frames, cs >= 0 ? f[cs] : NULL)))
            break;
    }
    free(text);
    return rc;
}

/* ---- class lists --------------------------------------------------------- */

typedef struct {
    tal_classes *c;
    const char *path;
} classlist_ctx;

static int classlist_line(void *ctx, const char *item, long lineno)
{
    classlist_ctx *x = ctx;
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", item);
    char *s = buf;
    if (x->c->n == 0 && lineno == 1 &&
        (!strcasecmp(s, "action") || !strcasecmp(s, "class") || !strcasecmp(s, "label") || !strcasecmp(s, "name")))
        return 0;   /* a one-column CSV header */
    long id = -1;
    char *name = s, *sp = s + strcspn(s, " \t");
    if (*sp) {
        *sp = 0;
        if (!tal_parse_long(s, &id))
            name = tal_trim(sp + 1);
        else
            *sp = ' ';   /* a name with spaces, no id */
    }
    if (tal_classes_find(x->c, name) >= 0)
        return tal_err(TAL_EINVAL, "bad class list: '%s' line %ld: class '%s' is listed twice", x->path, lineno, name);
    return tal_classes_add(x->c, name, (int32_t)id);
}

int tal_anno_read_classlist(const char *path, tal_classes *c)
{
    tal_classes_free(c);
    classlist_ctx x = { c, path };
    int rc = tal_read_list(path, classlist_line, &x);
    if (rc)
        return rc;
    if (!c->n)
        return tal_err(TAL_EINVAL, "bad class list: '%s': no classes", path);
    return 0;
}
