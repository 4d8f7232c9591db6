/* anno_json.c — ActivityNet-style, BSN and detection-result JSON (see anno.h). */
#include "anno.h"
#include "../util/error.h"
#include "../util/mem.h"
#include "../util/text.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_BYTES ((size_t)2 << 30)

static long ignored;
long tal_anno_ignored(void) { return ignored; }

typedef struct {
    const char *path;
    tal_annoset *a;
    const tal_anno_opts *o;
} ctx;

static int bad(const ctx *c, const char *where, const char *id, const char *what)
{
    return tal_err(TAL_EINVAL, "bad annotations: '%s': %s%s%s: %s", c->path, where, id && *where ? "." : "",
                   id ? id : "", what);
}

/* A number, or a string holding one (LACP writes segments as strings). */
static int get_number(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return isfinite(*out) ? 0 : -1;
    }
    if (json_is_string(v))
        return tal_parse_double(json_string_value(v), out);
    return -1;
}

static int get_segment(const json_t *seg, double *s, double *e)
{
    return json_is_array(seg) && json_array_size(seg) == 2 && !get_number(json_array_get(seg, 0), s) &&
                   !get_number(json_array_get(seg, 1), e)
               ? 0
               : -1;
}

/* Class index for a label: name, or number (an index, or an external id
 * when the table has them).  -1 with *skip = 1 when it is to be ignored. */
static int label_class(ctx *c, const json_t *label, int *skip, const char *where, const char *id)
{
    *skip = 0;
    if (json_is_string(label)) {
        int k = tal_classes_find(&c->a->classes, json_string_value(label));
        if (k >= 0)
            return k;
        if (c->a->fixed_classes && c->o && c->o->ignore_unknown_classes) {
            ignored++;
            *skip = 1;
            return -1;
        }
        k = tal_annoset_class(c->a, json_string_value(label));
        if (k < 0) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s", tal_errmsg());
            return bad(c, where, id, msg), -1;
        }
        return k;
    }
    if (json_is_integer(label)) {
        json_int_t v = json_integer_value(label);
        int k = tal_classes_find_ext(&c->a->classes, (int32_t)v);
        if (k < 0 && v >= 0 && v < (json_int_t)c->a->classes.n)
            k = (int)v;
        if (k >= 0)
            return k;
        if (c->o && c->o->ignore_unknown_classes) {
            ignored++;
            *skip = 1;
            return -1;
        }
        return bad(c, where, id, "numeric label matches no class (give a class list)"), -1;
    }
    return bad(c, where, id, "label is neither a name nor a number"), -1;
}

/* One video entry of an ActivityNet-style or BSN file. */
static int read_video(ctx *c, const char *where, const char *id, const json_t *v)
{
    if (!json_is_object(v))
        return bad(c, where, id, "entry is not an object");
    tal_record *r = tal_annoset_get(c->a, id);
    if (!r)
        return TAL_ENOMEM;
    const json_t *x;
    double d;
    if ((x = json_object_get(v, "subset")) && json_is_string(x) && !*r->subset &&
        tal_record_set_subset(r, json_string_value(x)))
        return TAL_ENOMEM;
    if ((x = json_object_get(v, "duration")) || (x = json_object_get(v, "duration_second"))) {
        if (get_number(x, &d) || d < 0)
            return bad(c, where, id, "duration is not a non-negative number");
        r->duration = d;
    }
    if ((x = json_object_get(v, "fps"))) {
        if (get_number(x, &d) || d <= 0)
            return bad(c, where, id, "fps is not a positive number");
        r->fps = d;
    } else if (r->fps <= 0 && r->duration > 0 &&
               ((x = json_object_get(v, "frames")) || (x = json_object_get(v, "num_frames")) ||
                (x = json_object_get(v, "duration_frame")))) {
        if (!get_number(x, &d) && d > 0)
            r->fps = d / r->duration;
    }
    const json_t *anns = json_object_get(v, "annotations");
    if (!anns)
        return 0;
    if (!json_is_array(anns))
        return bad(c, where, id, "annotations is not a list");
    r->supervision = TAL_SUP_FULL;
    r->present |= TAL_HAS_SEGMENTS;
    size_t i;
    const json_t *ann;
    json_array_foreach(anns, i, ann) {
        char at[64];
        snprintf(at, sizeof at, "annotations[%zu]", i);
        double s, e;
        if (!json_is_object(ann))
            return bad(c, where, id, "an annotation is not an object");
        if (get_segment(json_object_get(ann, "segment"), &s, &e)) {
            char msg[128];
            snprintf(msg, sizeof msg, "%s.segment is not a pair of numbers", at);
            return bad(c, where, id, msg);
        }
        const json_t *label = json_object_get(ann, "label");
        if (!label) {
            char msg[128];
            snprintf(msg, sizeof msg, "%s has no label", at);
            return bad(c, where, id, msg);
        }
        int skip, k = label_class(c, label, &skip, where, id);
        if (skip)
            continue;
        if (k < 0)
            return TAL_EINVAL;
        const json_t *lid = json_object_get(ann, "label_id");
        if (json_is_integer(lid) && !c->a->fixed_classes &&
            tal_annoset_class_key(c->a, k, (int64_t)json_integer_value(lid)))
            return TAL_ENOMEM;
        tal_segment g = { s, e, 1.0, k, 0, { 0 } };
        if (tal_segset_push(&r->segs, &g))
            return TAL_ENOMEM;
    }
    return 0;
}

static int read_results(ctx *c, const json_t *res)
{
    const char *id;
    const json_t *list;
    json_object_foreach((json_t *)res, id, list) {
        if (!json_is_array(list))
            return bad(c, "results", id, "is not a list");
        tal_record *r = tal_annoset_get(c->a, id);
        if (!r)
            return TAL_ENOMEM;
        r->present |= TAL_HAS_DETECTIONS;
        size_t i;
        const json_t *det;
        json_array_foreach(list, i, det) {
            double s, e, score;
            char msg[128];
            if (!json_is_object(det) || get_segment(json_object_get(det, "segment"), &s, &e)) {
                snprintf(msg, sizeof msg, "[%zu].segment is not a pair of numbers", i);
                return bad(c, "results", id, msg);
            }
            if (get_number(json_object_get(det, "score"), &score)) {
                snprintf(msg, sizeof msg, "[%zu].score is not a number", i);
                return bad(c, "results", id, msg);
            }
            const json_t *label = json_object_get(det, "label");
            if (!label)
                label = json_object_get(det, "label_id");
            int skip, k = label ? label_class(c, label, &skip, "results", id) : (skip = 0, -1);
            if (skip)
                continue;
            if (k < 0 && label)
                return TAL_EINVAL;
            tal_segment g = { s, e, score, k, 0, { 0 } };
            if (tal_segset_push(&r->dets, &g))
                return TAL_ENOMEM;
        }
    }
    return 0;
}

int tal_anno_read_json(const char *path, tal_annoset *a, const tal_anno_opts *o)
{
    char *text;
    size_t len;
    ignored = 0;
    int rc = tal_read_file(path, JSON_MAX_BYTES, &text, &len);
    if (rc)
        return rc;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    free(text);
    if (!root)
        return tal_err(TAL_EINVAL, "bad JSON: '%s' line %d column %d: %s", path, jerr.line, jerr.column, jerr.text);
    ctx c = { path, a, o };
    const json_t *db = json_object_get(root, "database");
    const json_t *res = json_object_get(root, "results");
    const char *id;
    const json_t *v;
    if (!json_is_object(root)) {
        rc = tal_err(TAL_EINVAL, "bad annotations: '%s': the top level is not an object", path);
    } else if (db) {
        if (!json_is_object(db))
            rc = bad(&c, "database", NULL, "is not an object");
        else
            json_object_foreach((json_t *)db, id, v) if ((rc = read_video(&c, "database", id, v))) break;
    } else if (res) {
        rc = json_is_object(res) ? read_results(&c, res) : bad(&c, "results", NULL, "is not an object");
    } else {
        /* BSN: the videos are the top-level keys */
        json_object_foreach(root, id, v) {
            if (!json_is_object(v) || !json_object_get(v, "annotations")) {
                rc = tal_err(TAL_EINVAL, "bad annotations: '%s': no 'database' or 'results' key, and '%s' is not a "
                             "video entry with 'annotations' (BSN form)", path, id);
                break;
            }
            if ((rc = read_video(&c, "", id, v)))
                break;
        }
    }
    json_decref(root);
    return rc;
}
