/* config.c — see config.h. */
#include "io/config.h"
#include "util/error.h"
#include "util/mem.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define MAX_DEPTH 16
#define MAX_KEY 256
#define MAX_FILE ((long)16 << 20)

/* where a value comes from, for messages */
typedef struct {
    const char *name;   /* file name, or the override text */
    int is_override;
    unsigned long line; /* 1-based; 0 = none */
} origin;

static int cfg_err(const origin *o, const char *fmt, ...) TAL_PRINTF(2, 3);

static int cfg_err(const origin *o, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (o->is_override)
        return tal_err(TAL_EINVAL, "invalid override: '%s': %s", o->name, msg);
    if (o->line)
        return tal_err(TAL_EINVAL, "invalid config: '%s': line %lu: %s", o->name, o->line, msg);
    return tal_err(TAL_EINVAL, "invalid config: '%s': %s", o->name, msg);
}

static const tal_cfg_field *find_field(const tal_cfg_field *s, const char *key)
{
    for (; s->key; s++)
        if (!strcmp(s->key, key))
            return s;
    return NULL;
}

/* is `prefix` followed by '.' the start of some key? */
static int is_section(const tal_cfg_field *s, const char *prefix)
{
    size_t n = strlen(prefix);
    for (; s->key; s++)
        if (!strncmp(s->key, prefix, n) && s->key[n] == '.')
            return 1;
    return 0;
}

/* ---- scalars ------------------------------------------------------------------ */

static int parse_int(const char *v, long long *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end || errno)
        return -1;
    *out = x;
    return 0;
}

static int parse_float(const char *v, double *out)
{
    if (!strcmp(v, ".inf") || !strcmp(v, "+.inf") || !strcasecmp(v, "inf")) {
        *out = INFINITY;
        return 0;
    }
    if (!strcmp(v, "-.inf") || !strcasecmp(v, "-inf")) {
        *out = -INFINITY;
        return 0;
    }
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end || errno == ERANGE || isnan(x) || isspace((unsigned char)*v))
        return -1;
    *out = x;
    return 0;
}

static int parse_bool(const char *v, int *out)
{
    static const char *yes[] = { "true", "yes", "on" }, *no[] = { "false", "no", "off" };
    for (int i = 0; i < 3; i++) {
        if (!strcasecmp(v, yes[i]))
            return *out = 1, 0;
        if (!strcasecmp(v, no[i]))
            return *out = 0, 0;
    }
    return -1;
}

/* index of v in "a|b|c", or -1 */
static int parse_enum(const char *choices, const char *v)
{
    int i = 0;
    size_t n = strlen(v);
    for (const char *p = choices; p && *p; i++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, v, n))
            return i;
        p = bar ? bar + 1 : NULL;
    }
    return -1;
}

/* valid UTF-8 of YAML's printable characters only (what a YAML file can
 * carry back): no control characters, surrogates, overlong forms, U+FFFE/F */
static int text_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p++, n, cp;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return 0;
            continue;
        }
        if ((c & 0xe0) == 0xc0)
            n = 1, cp = c & 0x1f;
        else if ((c & 0xf0) == 0xe0)
            n = 2, cp = c & 0x0f;
        else if ((c & 0xf8) == 0xf0)
            n = 3, cp = c & 0x07;
        else
            return 0;
        for (unsigned i = 0; i < n; i++, p++) {
            if ((*p & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (*p & 0x3f);
        }
        static const unsigned min[4] = { 0, 0x80, 0x800, 0x10000 };
        if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff ||
            (cp >= 0x80 && cp <= 0x9f && cp != 0x85))
            return 0;
    }
    return 1;
}

static int in_range(const tal_cfg_field *f, double x)
{
    return !(f->min < f->max) || (x >= f->min && x <= f->max);
}

/* one scalar into field f (element k of a list when list = 1) */
static int set_scalar(const tal_cfg_field *f, void *cfg, const char *v, int k, const origin *o)
{
    char *base = (char *)cfg + f->offset;
    long long i;
    double d;
    int b;
    switch (f->type) {
    case TAL_CFG_INT:
    case TAL_CFG_INTS:
        if (parse_int(v, &i) || i < INT_MIN || i > INT_MAX)
            return cfg_err(o, "'%s': expected an integer, not '%s'", f->key, v);
        if (!in_range(f, (double)i))
            return cfg_err(o, "'%s': %lld is outside [%g, %g]", f->key, i, f->min, f->max);
        ((int *)base)[k] = (int)i;
        return 0;
    case TAL_CFG_FLOAT:
    case TAL_CFG_FLOATS:
        if (parse_float(v, &d))
            return cfg_err(o, "'%s': expected a number, not '%s'", f->key, v);
        if (!in_range(f, d))
            return cfg_err(o, "'%s': %g is outside [%g, %g]", f->key, d, f->min, f->max);
        ((double *)base)[k] = d;
        return 0;
    case TAL_CFG_BOOL:
        if (parse_bool(v, &b))
            return cfg_err(o, "'%s': expected true or false, not '%s'", f->key, v);
        *(int *)base = b;
        return 0;
    case TAL_CFG_ENUM:
        if ((i = parse_enum(f->choices, v)) < 0)
            return cfg_err(o, "'%s': expected one of %s, not '%s'", f->key, f->choices, v);
        *(int *)base = (int)i;
        return 0;
    case TAL_CFG_STRING:
        if (!text_ok(v))
            return cfg_err(o, "'%s': not printable UTF-8 text", f->key);
        if (strlen(v) >= (size_t)f->cap)
            return cfg_err(o, "'%s': longer than %d characters", f->key, f->cap - 1);
        memcpy(base, v, strlen(v) + 1);
        return 0;
    }
    return cfg_err(o, "'%s': bad field type", f->key);
}

static int is_list(const tal_cfg_field *f) { return f->type == TAL_CFG_INTS || f->type == TAL_CFG_FLOATS; }

/* ---- YAML events ------------------------------------------------------------------ */

typedef struct {
    yaml_parser_t p;
    yaml_event_t ev;
    int have;
    origin o;
} yparse;

static int next(yparse *y)
{
    if (y->have)
        yaml_event_delete(&y->ev);
    y->have = 0;
    if (!yaml_parser_parse(&y->p, &y->ev)) {
        y->o.line = (unsigned long)y->p.problem_mark.line + 1;
        return cfg_err(&y->o, "%s%s%s", y->p.problem ? y->p.problem : "YAML error",
                       y->p.context ? " " : "", y->p.context ? y->p.context : "");
    }
    y->have = 1;
    y->o.line = (unsigned long)y->ev.start_mark.line + 1;
    if (y->ev.type == YAML_ALIAS_EVENT)
        return cfg_err(&y->o, "aliases are not supported");
    return 0;
}

static const char *scalar(const yparse *y) { return (const char *)y->ev.data.scalar.value; }

static int is_null(const yparse *y)
{
    const char *v = scalar(y);
    int plain = y->ev.data.scalar.plain_implicit && y->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    return plain && (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL"));
}

/* the value of field f starts at the current event (scalar or sequence) */
static int value(yparse *y, const tal_cfg_field *f, void *cfg)
{
    if (y->ev.type == YAML_SCALAR_EVENT) {
        if (is_null(y))
            return cfg_err(&y->o, "'%s': no value", f->key);
        if (is_list(f)) {   /* a single value is a list of one */
            int rc = set_scalar(f, cfg, scalar(y), 0, &y->o);
            if (!rc)
                *(int *)((char *)cfg + f->count_offset) = 1;
            return rc;
        }
        return set_scalar(f, cfg, scalar(y), 0, &y->o);
    }
    if (y->ev.type == YAML_SEQUENCE_START_EVENT) {
        if (!is_list(f))
            return cfg_err(&y->o, "'%s': expected a single value, not a list", f->key);
        int n = 0, rc;
        while (!(rc = next(y)) && y->ev.type != YAML_SEQUENCE_END_EVENT) {
            if (y->ev.type != YAML_SCALAR_EVENT)
                return cfg_err(&y->o, "'%s': list items must be plain values", f->key);
            if (n >= f->cap)
                return cfg_err(&y->o, "'%s': more than %d values", f->key, f->cap);
            if ((rc = set_scalar(f, cfg, scalar(y), n, &y->o)))
                return rc;
            n++;
        }
        if (!rc)
            *(int *)((char *)cfg + f->count_offset) = n;
        return rc;
    }
    return cfg_err(&y->o, "'%s': expected a value, not a mapping", f->key);
}

/* a mapping whose keys extend `prefix`; the MAPPING_START is current.
 * seen[] records the keys already given (duplicates are errors). */
static int mapping(yparse *y, const tal_cfg_field *schema, void *cfg, const char *prefix, int depth,
                   unsigned char *seen)
{
    if (depth > MAX_DEPTH)
        return cfg_err(&y->o, "nested too deeply");
    int rc;
    while (!(rc = next(y)) && y->ev.type != YAML_MAPPING_END_EVENT) {
        if (y->ev.type != YAML_SCALAR_EVENT)
            return cfg_err(&y->o, "keys must be plain names");
        char key[MAX_KEY];
        if (snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", scalar(y)) >= (int)sizeof key)
            return cfg_err(&y->o, "key too long");
        unsigned long kline = y->o.line;
        if ((rc = next(y)))
            return rc;
        const tal_cfg_field *f = find_field(schema, key);
        if (f) {
            size_t idx = (size_t)(f - schema);
            if (seen[idx]) {
                y->o.line = kline;
                return cfg_err(&y->o, "'%s' given twice", key);
            }
            seen[idx] = 1;
            if ((rc = value(y, f, cfg)))
                return rc;
        } else if (y->ev.type == YAML_MAPPING_START_EVENT && is_section(schema, key)) {
            if ((rc = mapping(y, schema, cfg, key, depth + 1, seen)))
                return rc;
        } else {
            y->o.line = kline;
            return cfg_err(&y->o, "unknown key '%s'", key);
        }
    }
    return rc;
}

static int load(const tal_cfg_field *schema, void *cfg, const char *text, size_t len, const char *name)
{
    size_t nf = 0;
    while (schema[nf].key)
        nf++;
    unsigned char *seen = tal_calloc(nf + 1, 1);
    if (!seen)
        return TAL_ENOMEM;
    yparse y = { .o = { name, 0, 0 } };
    yaml_parser_initialize(&y.p);
    yaml_parser_set_input_string(&y.p, (const unsigned char *)text, len);
    int rc = 0, docs = 0;
    while (!(rc = next(&y)) && y.ev.type != YAML_STREAM_END_EVENT) {
        if (y.ev.type == YAML_STREAM_START_EVENT || y.ev.type == YAML_DOCUMENT_END_EVENT)
            continue;
        if (y.ev.type == YAML_DOCUMENT_START_EVENT) {
            if (docs++) {
                rc = cfg_err(&y.o, "more than one document");
                break;
            }
            continue;
        }
        if (y.ev.type == YAML_MAPPING_START_EVENT) {
            if ((rc = mapping(&y, schema, cfg, "", 0, seen)))
                break;
            continue;
        }
        if (y.ev.type == YAML_SCALAR_EVENT && is_null(&y))
            continue;   /* an empty document */
        rc = cfg_err(&y.o, "expected a mapping of keys to values");
        break;
    }
    if (y.have)
        yaml_event_delete(&y.ev);
    yaml_parser_delete(&y.p);
    free(seen);
    return rc;
}

int tal_config_load_text(const tal_cfg_field *schema, void *cfg, const char *text, const char *name)
{
    return load(schema, cfg, text, strlen(text), name);
}

int tal_config_load(const tal_cfg_field *schema, void *cfg, const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return tal_err(TAL_EIO, "cannot open config '%s': %s", path, strerror(errno));
    tal_buf b = { 0 };
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) {
        if (b.len + n > (size_t)MAX_FILE) {
            rc = tal_err(TAL_EINVAL, "invalid config: '%s': larger than %ld bytes", path, MAX_FILE);
            break;
        }
        if (tal_buf_append(&b, chunk, n)) {
            rc = TAL_ENOMEM;
            break;
        }
    }
    if (!rc && ferror(fp))
        rc = tal_err(TAL_EIO, "cannot read config '%s': %s", path, strerror(errno));
    fclose(fp);
    if (!rc && b.len && memchr(b.data, 0, b.len))
        rc = tal_err(TAL_EINVAL, "invalid config: '%s': contains a NUL byte", path);
    if (!rc)
        rc = load(schema, cfg, b.len ? (const char *)b.data : "", b.len, path);
    tal_buf_free(&b);
    return rc;
}

/* a value written as YAML text (default or override) into field f */
static int set_text(const tal_cfg_field *f, void *cfg, const char *text, const origin *o0)
{
    yparse y = { .o = *o0 };
    yaml_parser_initialize(&y.p);
    yaml_parser_set_input_string(&y.p, (const unsigned char *)text, strlen(text));
    int rc;
    do
        rc = next(&y);
    while (!rc && (y.ev.type == YAML_STREAM_START_EVENT || y.ev.type == YAML_DOCUMENT_START_EVENT));
    if (!rc) {
        if (y.ev.type == YAML_STREAM_END_EVENT) {
            rc = cfg_err(&y.o, "'%s': no value", f->key);
        } else if (y.ev.type == YAML_SCALAR_EVENT && !y.ev.data.scalar.plain_implicit &&
                   f->type == TAL_CFG_STRING) {
            rc = set_scalar(f, cfg, scalar(&y), 0, &y.o);   /* a quoted string */
        } else {
            rc = value(&y, f, cfg);
        }
    }
    /* nothing may follow the value */
    while (!rc && !(rc = next(&y)) && y.ev.type != YAML_STREAM_END_EVENT)
        if (y.ev.type != YAML_DOCUMENT_END_EVENT)
            rc = cfg_err(&y.o, "'%s': unexpected text after the value", f->key);
    if (y.have)
        yaml_event_delete(&y.ev);
    yaml_parser_delete(&y.p);
    return rc;
}

int tal_config_defaults(const tal_cfg_field *schema, void *cfg)
{
    for (const tal_cfg_field *f = schema; f->key; f++) {
        origin o = { "default", 0, 0 };
        if (is_list(f))
            *(int *)((char *)cfg + f->count_offset) = 0;
        if (f->type == TAL_CFG_STRING && f->cap > 0)
            ((char *)cfg + f->offset)[0] = 0;
        if (!f->def)
            continue;
        if (is_list(f) && !strcmp(f->def, "[]"))
            continue;
        int rc = set_text(f, cfg, f->def, &o);
        if (rc)
            return tal_err_wrap(rc, "schema default of '%s'", f->key);
    }
    return 0;
}

int tal_config_set(const tal_cfg_field *schema, void *cfg, const char *assignment)
{
    origin o = { assignment, 1, 0 };
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return cfg_err(&o, "expected key=value");
    char key[MAX_KEY];
    size_t n = (size_t)(eq - assignment);
    if (n >= sizeof key)
        return cfg_err(&o, "key too long");
    memcpy(key, assignment, n);
    key[n] = 0;
    const tal_cfg_field *f = find_field(schema, key);
    if (!f)
        return cfg_err(&o, "unknown key '%s'", key);
    if (f->type == TAL_CFG_STRING)   /* strings as given, quotes not needed */
        return set_scalar(f, cfg, eq + 1, 0, &o);
    return set_text(f, cfg, eq + 1, &o);
}

/* ---- dump ------------------------------------------------------------------------- */

/* the shortest %g form that reads back as the same double */
static void fmt_double(char *b, size_t n, double x)
{
    if (isinf(x)) {
        snprintf(b, n, x > 0 ? ".inf" : "-.inf");
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(b, n, "%.*g", p, x);
        if (strtod(b, NULL) == x)
            break;
    }
    /* keep it a number in YAML's eyes: 1 -> 1.0 */
    if (!strpbrk(b, ".eEn") && strlen(b) + 3 < n)
        strcat(b, ".0");
}

static int needs_quotes(const char *s)
{
    if (!*s || isspace((unsigned char)s[0]) || isspace((unsigned char)s[strlen(s) - 1]))
        return 1;
    int b;
    double d;
    if (!parse_bool(s, &b) || !parse_float(s, &d) || !strcmp(s, "~") || !strcasecmp(s, "null"))
        return 1;
    return strpbrk(s, ":#{}[],&*!|>'\"%@`\\") != NULL || strchr("-?", s[0]) || (unsigned char)s[0] >= 0x80;
}

static int dump_string(tal_buf *b, const char *s)
{
    if (!needs_quotes(s))
        return tal_buf_printf(b, "%s", s);
    int rc = tal_buf_printf(b, "\"");
    for (; *s && !rc; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            rc = tal_buf_printf(b, "\\%c", c);
        else   /* printable UTF-8 only (text_ok): bytes as they are */
            rc = tal_buf_printf(b, "%c", c);
    }
    return rc || tal_buf_printf(b, "\"");
}

char *tal_config_dump(const tal_cfg_field *schema, const void *cfg)
{
    tal_buf b = { 0 };
    int rc = 0;
    char num[64];
    for (const tal_cfg_field *f = schema; f->key && !rc; f++) {
        const char *base = (const char *)cfg + f->offset;
        rc = tal_buf_printf(&b, "%s: ", f->key);
        switch (f->type) {
        case TAL_CFG_INT:
            rc = rc || tal_buf_printf(&b, "%d", *(const int *)base);
            break;
        case TAL_CFG_FLOAT:
            fmt_double(num, sizeof num, *(const double *)base);
            rc = rc || tal_buf_printf(&b, "%s", num);
            break;
        case TAL_CFG_BOOL:
            rc = rc || tal_buf_printf(&b, "%s", *(const int *)base ? "true" : "false");
            break;
        case TAL_CFG_ENUM: {
            int k = *(const int *)base, i = 0;
            const char *p = f->choices;
            while (p && i < k) {
                p = strchr(p, '|');
                p = p ? p + 1 : NULL;
                i++;
            }
            size_t len = p ? strcspn(p, "|") : 0;
            rc = rc || tal_buf_printf(&b, "%.*s", (int)len, p ? p : "");
            break;
        }
        case TAL_CFG_STRING:
            rc = rc || dump_string(&b, base);
            break;
        case TAL_CFG_INTS:
        case TAL_CFG_FLOATS: {
            int n = *(const int *)((const char *)cfg + f->count_offset);
            rc = rc || tal_buf_printf(&b, "[");
            for (int i = 0; i < n && !rc; i++) {
                if (f->type == TAL_CFG_INTS)
                    rc = tal_buf_printf(&b, "%s%d", i ? ", " : "", ((const int *)base)[i]);
                else {
                    fmt_double(num, sizeof num, ((const double *)base)[i]);
                    rc = tal_buf_printf(&b, "%s%s", i ? ", " : "", num);
                }
            }
            rc = rc || tal_buf_printf(&b, "]");
            break;
        }
        }
        rc = rc || tal_buf_printf(&b, "\n");
    }
    if (rc || tal_buf_append(&b, "", 1)) {
        tal_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}
