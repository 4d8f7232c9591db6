/* dets_json.c — ActivityNet results JSON, read in one pass (see dets.h).
 *
 * A small recursive-descent scanner over the file's bytes: it checks the
 * JSON grammar everywhere (strings with their escapes, numbers, nesting up
 * to 512 levels), decodes only what it keeps, and never builds a tree.
 */
#include "dets.h"
#include "../util/error.h"
#include "../util/mem.h"
#include "../util/strmap.h"
#include "../util/text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BYTES ((size_t)4 << 30)
#define MAX_DEPTH 512

typedef struct {
    const char *base, *p, *end;
    const char *path;
    tal_buf s;          /* the last string decoded, NUL-terminated */
    tal_annoset *a;
    const tal_anno_opts *o;
    tal_strmap names;   /* class name -> index */
    long ignored;
} scan;

static int bad_json(scan *s, const char *what)
{
    long line = 1, col = 1;
    for (const char *q = s->base; q < s->p && q < s->end; q++) {
        if (*q == '\n')
            line++, col = 1;
        else
            col++;
    }
    return tal_err(TAL_EINVAL, "bad JSON: '%s' line %ld column %ld: %s", s->path, line, col, what);
}

static int bad(scan *s, const char *id, long i, const char *what)
{
    if (i >= 0)
        return tal_err(TAL_EINVAL, "bad detections: '%s': results.%s: [%ld].%s", s->path, id, i, what);
    return tal_err(TAL_EINVAL, "bad detections: '%s': results.%s: %s", s->path, id, what);
}

static void ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

static int peek(scan *s)
{
    ws(s);
    return s->p < s->end ? (unsigned char)*s->p : -1;
}

static int expect(scan *s, char c)
{
    if (peek(s) != (unsigned char)c) {
        char msg[40];
        snprintf(msg, sizeof msg, "expected '%c'", c);
        return bad_json(s, s->p < s->end ? msg : "unexpected end of input");
    }
    s->p++;
    return 0;
}

static int hex4(const char *q, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = q[i];
        *v <<= 4;
        if (c >= '0' && c <= '9')
            *v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            *v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            *v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    return 0;
}

static int put_utf8(tal_buf *b, unsigned cp)
{
    unsigned char u[4];
    size_t n;
    if (cp < 0x80)
        u[0] = (unsigned char)cp, n = 1;
    else if (cp < 0x800)
        u[0] = (unsigned char)(0xc0 | cp >> 6), u[1] = (unsigned char)(0x80 | (cp & 0x3f)), n = 2;
    else if (cp < 0x10000)
        u[0] = (unsigned char)(0xe0 | cp >> 12), u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)),
        u[2] = (unsigned char)(0x80 | (cp & 0x3f)), n = 3;
    else
        u[0] = (unsigned char)(0xf0 | cp >> 18), u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f)),
        u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)), u[3] = (unsigned char)(0x80 | (cp & 0x3f)), n = 4;
    return tal_buf_append(b, u, n);
}

/* A string at s->p into s->s (decode = 0: checked and skipped). */
static int string(scan *s, int decode)
{
    if (expect(s, '"'))
        return TAL_EINVAL;
    s->s.len = 0;
    for (;;) {
        const char *q = s->p;
        while (q < s->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
            q++;
        if (decode && q > s->p && tal_buf_append(&s->s, s->p, (size_t)(q - s->p)))
            return TAL_ENOMEM;
        s->p = q;
        if (q >= s->end)
            return bad_json(s, "unterminated string");
        if (*q == '"') {
            s->p++;
            break;
        }
        if ((unsigned char)*q < 0x20)
            return bad_json(s, "control character in a string");
        /* an escape */
        if (q + 1 >= s->end)
            return bad_json(s, "unterminated string");
        char c = q[1], out = 0;
        s->p = q + 2;
        switch (c) {
        case '"': out = '"'; break;
        case '\\': out = '\\'; break;
        case '/': out = '/'; break;
        case 'b': out = '\b'; break;
        case 'f': out = '\f'; break;
        case 'n': out = '\n'; break;
        case 'r': out = '\r'; break;
        case 't': out = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (s->end - s->p < 4 || hex4(s->p, &cp))
                return bad_json(s, "bad \\u escape");
            s->p += 4;
            if (cp >= 0xd800 && cp < 0xdc00) {
                if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' || hex4(s->p + 2, &lo) || lo < 0xdc00 ||
                    lo >= 0xe000)
                    return bad_json(s, "lone surrogate in a \\u escape");
                s->p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp < 0xe000) {
                return bad_json(s, "lone surrogate in a \\u escape");
            }
            if (cp == 0)
                return bad_json(s, "\\u0000 in a string");
            if (decode && put_utf8(&s->s, cp))
                return TAL_ENOMEM;
            continue;
        }
        default:
            return bad_json(s, "bad escape in a string");
        }
        if (decode && tal_buf_append(&s->s, &out, 1))
            return TAL_ENOMEM;
    }
    if (decode && tal_buf_append(&s->s, "", 1))
        return TAL_ENOMEM;
    return 0;
}

/* A JSON number: its grammar checked, its value by strtod. */
static int number(scan *s, double *v)
{
    const char *q = s->p;
    if (q < s->end && *q == '-')
        q++;
    if (q >= s->end || *q < '0' || *q > '9')
        return bad_json(s, "expected a value");
    if (*q == '0')
        q++;
    else
        while (q < s->end && *q >= '0' && *q <= '9')
            q++;
    if (q < s->end && *q == '.') {
        q++;
        if (q >= s->end || *q < '0' || *q > '9')
            return bad_json(s, "bad number");
        while (q < s->end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < s->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < s->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= s->end || *q < '0' || *q > '9')
            return bad_json(s, "bad number");
        while (q < s->end && *q >= '0' && *q <= '9')
            q++;
    }
    char tmp[64];
    size_t n = (size_t)(q - s->p);
    if (n < sizeof tmp) {
        memcpy(tmp, s->p, n);
        tmp[n] = 0;
        *v = strtod(tmp, NULL);
    } else {
        char *big = tal_strndup(s->p, n);
        if (!big)
            return TAL_ENOMEM;
        *v = strtod(big, NULL);
        free(big);
    }
    s->p = q;
    return 0;
}

static int literal(scan *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n))
        return bad_json(s, "expected a value");
    s->p += n;
    return 0;
}

static int skip_value(scan *s, int depth)
{
    if (depth > MAX_DEPTH)
        return bad_json(s, "nested too deeply");
    int c = peek(s);
    double v;
    switch (c) {
    case '"':
        return string(s, 0);
    case '{':
        s->p++;
        if (peek(s) == '}') {
            s->p++;
            return 0;
        }
        for (;;) {
            int rc;
            if ((rc = string(s, 0)) || (rc = expect(s, ':')) || (rc = skip_value(s, depth + 1)))
                return rc;
            if (peek(s) == ',') {
                s->p++;
                continue;
            }
            return expect(s, '}');
        }
    case '[':
        s->p++;
        if (peek(s) == ']') {
            s->p++;
            return 0;
        }
        for (;;) {
            int rc = skip_value(s, depth + 1);
            if (rc)
                return rc;
            if (peek(s) == ',') {
                s->p++;
                continue;
            }
            return expect(s, ']');
        }
    case 't':
        return literal(s, "true");
    case 'f':
        return literal(s, "false");
    case 'n':
        return literal(s, "null");
    case -1:
        return bad_json(s, "unexpected end of input");
    default:
        return number(s, &v);
    }
}

/* A number, or a string holding one (as tal_anno_read_json accepts).
 * 1 if the value is neither (it is consumed all the same). */
static int number_value(scan *s, double *v)
{
    int c = peek(s), rc;
    if (c == '"') {
        if ((rc = string(s, 1)))
            return rc;
        return tal_parse_double((const char *)s->s.data, v) || !isfinite(*v) ? 1 : 0;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return number(s, v);
    return (rc = skip_value(s, 1)) ? rc : 1;
}

/* ---- class lookup -------------------------------------------------------------------- */

static int class_of_name(scan *s, const char *name, int *skip)
{
    *skip = 0;
    int64_t k = tal_strmap_get(&s->names, name);
    if (k >= 0)
        return (int)k;
    if (s->a->fixed_classes && s->o && s->o->ignore_unknown_classes) {
        s->ignored++;
        *skip = 1;
        return -1;
    }
    int c = tal_annoset_class(s->a, name);
    if (c < 0)
        return TAL_EINVAL;
    if (tal_strmap_put(&s->names, name, c))
        return TAL_ENOMEM;
    return c;
}

static int class_of_number(scan *s, double v, int *skip)
{
    *skip = 0;
    int k = -1;
    if (v == floor(v) && fabs(v) < 2e9) {
        k = tal_classes_find_ext(&s->a->classes, (int32_t)v);
        if (k < 0 && v >= 0 && v < s->a->classes.n)
            k = (int)v;
    }
    if (k >= 0)
        return k;
    if (s->o && s->o->ignore_unknown_classes) {
        s->ignored++;
        *skip = 1;
        return -1;
    }
    return -2;
}

/* ---- the results ------------------------------------------------------------------------ */

/* One detection object of video `id`, index i, into r. */
static int detection(scan *s, const char *id, long i, tal_record *r)
{
    if (peek(s) != '{') {
        int rc = skip_value(s, 1);
        return rc ? rc : bad(s, id, i, "segment is not a pair of numbers");
    }
    s->p++;
    double seg[2] = { 0, 0 }, score = 0, num = 0;
    int have_seg = 0, seg_bad = 0, have_score = 0, score_bad = 0;
    int label = 0;   /* 0 none, 1 name, 2 number, 3 something else; label_id likewise */
    int label_id = 0;
    double lid_num = 0;
    char *name = NULL, *lid_name = NULL;
    int rc = 0;
    if (peek(s) == '}') {
        s->p++;
        goto done;
    }
    for (;;) {
        if ((rc = string(s, 1)) || (rc = expect(s, ':')))
            goto out;
        const char *key = (const char *)s->s.data;
        if (!strcmp(key, "segment")) {
            have_seg = 1;
            if (peek(s) != '[') {
                if ((rc = skip_value(s, 1)))
                    goto out;
                seg_bad = 1;
            } else {
                s->p++;
                int n = 0;
                if (peek(s) == ']') {
                    s->p++;
                } else {
                    for (;;) {
                        double x;
                        rc = number_value(s, &x);
                        if (rc < 0)
                            goto out;
                        if (rc > 0 || n >= 2)
                            seg_bad = 1;
                        else
                            seg[n] = x;
                        n++;
                        rc = 0;
                        if (peek(s) == ',') {
                            s->p++;
                            continue;
                        }
                        if ((rc = expect(s, ']')))
                            goto out;
                        break;
                    }
                }
                if (n != 2 || !isfinite(seg[0]) || !isfinite(seg[1]))
                    seg_bad = 1;
            }
        } else if (!strcmp(key, "score")) {
            have_score = 1;
            rc = number_value(s, &score);
            if (rc < 0)
                goto out;
            score_bad = rc > 0 || !isfinite(score);
            rc = 0;
        } else if (!strcmp(key, "label") || !strcmp(key, "label_id")) {
            int is_id = key[5] == '_';
            int c = peek(s), kind = 3;
            double x = 0;
            if (c == '"') {
                if ((rc = string(s, 1)))
                    goto out;
                char **dst = is_id ? &lid_name : &name;
                free(*dst);
                if (!(*dst = tal_strdup((const char *)s->s.data))) {
                    rc = TAL_ENOMEM;
                    goto out;
                }
                kind = 1;
            } else if (c == '-' || (c >= '0' && c <= '9')) {
                if ((rc = number(s, &x)))
                    goto out;
                kind = 2;
            } else if ((rc = skip_value(s, 1))) {
                goto out;
            }
            if (is_id)
                label_id = kind, lid_num = x;
            else
                label = kind, num = x;
        } else if ((rc = skip_value(s, 1))) {
            goto out;
        }
        if (peek(s) == ',') {
            s->p++;
            continue;
        }
        if ((rc = expect(s, '}')))
            goto out;
        break;
    }
done:
    if (!have_seg || seg_bad) {
        rc = bad(s, id, i, "segment is not a pair of numbers");
        goto out;
    }
    if (!have_score || score_bad) {
        rc = bad(s, id, i, "score is not a number");
        goto out;
    }
    if (!label) {   /* as tal_anno_read_json: label_id when there is no label */
        label = label_id;
        num = lid_num;
        free(name);
        name = lid_name;
        lid_name = NULL;
    }
    int skip = 0, cls = -1;
    if (label == 1) {
        cls = class_of_name(s, name, &skip);
        if (cls == TAL_ENOMEM) {
            rc = cls;
            goto out;
        }
        if (cls < 0 && !skip) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s", tal_errmsg());
            rc = bad(s, id, -1, msg);
            goto out;
        }
    } else if (label == 2) {
        cls = class_of_number(s, num, &skip);
        if (cls == -2) {
            rc = bad(s, id, -1, "numeric label matches no class (give a class list)");
            goto out;
        }
    } else if (label == 3) {
        rc = bad(s, id, -1, "label is neither a name nor a number");
        goto out;
    }
    if (!skip) {
        tal_segment g = { seg[0], seg[1], score, cls, 0, { 0 } };
        rc = tal_segset_push(&r->dets, &g);
    }
out:
    free(name);
    free(lid_name);
    return rc;
}

static int results(scan *s)
{
    if (peek(s) != '{')
        return bad_json(s, "'results' is not an object");
    s->p++;
    if (peek(s) == '}') {
        s->p++;
        return 0;
    }
    char *id = NULL;
    int rc = 0;
    for (;;) {
        if ((rc = string(s, 1)) || (rc = expect(s, ':')))
            break;
        free(id);
        if (!(id = tal_strdup((const char *)s->s.data))) {
            rc = TAL_ENOMEM;
            break;
        }
        tal_record *r = tal_annoset_get(s->a, id);
        if (!r) {
            rc = TAL_ENOMEM;
            break;
        }
        r->present |= TAL_HAS_DETECTIONS;
        if (peek(s) != '[') {
            rc = bad(s, id, -1, "is not a list");
            break;
        }
        s->p++;
        if (peek(s) == ']') {
            s->p++;
        } else {
            for (long i = 0;; i++) {
                if ((rc = detection(s, id, i, r)))
                    break;
                if (peek(s) == ',') {
                    s->p++;
                    continue;
                }
                rc = expect(s, ']');
                break;
            }
            if (rc)
                break;
        }
        if (peek(s) == ',') {
            s->p++;
            continue;
        }
        rc = expect(s, '}');
        break;
    }
    free(id);
    return rc;
}

int tal_dets_read_json(const char *path, tal_annoset *a, const tal_anno_opts *o, long *ignored)
{
    char *text;
    size_t len;
    int rc = tal_read_file(path, MAX_BYTES, &text, &len);
    if (rc)
        return rc;
    rc = tal_dets_parse_json(text, len, path, a, o, ignored);
    free(text);
    return rc;
}

int tal_dets_parse_json(const char *text, size_t len, const char *path, tal_annoset *a, const tal_anno_opts *o,
                        long *ignored)
{
    int rc = 0;
    scan s = { .base = text, .p = text, .end = text + len, .path = path, .a = a, .o = o };
    tal_strmap_init(&s.names);
    for (uint32_t c = 0; c < a->classes.n && !rc; c++)
        if (tal_strmap_get(&s.names, a->classes.names[c]) < 0)
            rc = tal_strmap_put(&s.names, a->classes.names[c], c);
    int found = 0, database = 0;
    if (!rc && peek(&s) != '{')
        rc = bad_json(&s, s.p < s.end ? "the top level is not an object" : "no JSON value");
    if (!rc) {
        s.p++;
        if (peek(&s) == '}')
            s.p++;
        else
            for (;;) {
                if ((rc = string(&s, 1)) || (rc = expect(&s, ':')))
                    break;
                if (!strcmp((const char *)s.s.data, "results") && !found) {
                    found = 1;
                    rc = results(&s);
                } else {
                    database |= !strcmp((const char *)s.s.data, "database");
                    rc = skip_value(&s, 1);
                }
                if (rc)
                    break;
                if (peek(&s) == ',') {
                    s.p++;
                    continue;
                }
                rc = expect(&s, '}');
                break;
            }
    }
    if (!rc && peek(&s) != -1)
        rc = bad_json(&s, "text after the JSON value");
    if (!rc && !found)
        rc = tal_err(TAL_EINVAL, "bad detections: '%s': %s", path,
                     database ? "annotations, not {\"results\": ...}" : "no {\"results\": ...} found");
    if (ignored)
        *ignored = s.ignored;
    tal_strmap_free(&s.names);
    tal_buf_free(&s.s);
    return rc;
}
