/* text.c — line reader and small text helpers (see text.h). */
#include "text.h"
#include "error.h"
#include "mem.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_LINE ((size_t)16 << 20)

struct tal_lines {
    gzFile gz;
    char *name;
    char *buf;            /* raw bytes read */
    size_t cap, len, pos;
    char *line;           /* the current line, NUL-terminated */
    size_t line_cap;
    long lineno;
    int eof;
};

tal_lines *tal_lines_open(const char *path)
{
    tal_lines *l = tal_calloc(1, sizeof *l);
    if (!l)
        return NULL;
    int fd = strcmp(path, "-") ? open(path, O_RDONLY) : dup(STDIN_FILENO);
    if (fd < 0) {
        tal_err(TAL_EIO, "cannot open '%s': %s", path, strerror(errno));
        free(l);
        return NULL;
    }
    l->gz = gzdopen(fd, "rb");
    l->name = tal_strdup(strcmp(path, "-") ? path : "standard input");
    l->cap = 1 << 16;
    l->buf = tal_malloc(l->cap);
    if (!l->gz || !l->name || !l->buf) {
        if (!l->gz)
            close(fd);
        tal_lines_close(l);
        tal_err(TAL_ENOMEM, "cannot open '%s': out of memory", path);
        return NULL;
    }
    gzbuffer(l->gz, 1 << 17);
    return l;
}

void tal_lines_close(tal_lines *l)
{
    if (!l)
        return;
    if (l->gz)
        gzclose(l->gz);
    free(l->buf);
    free(l->line);
    free(l->name);
    free(l);
}

long tal_lines_lineno(const tal_lines *l) { return l->lineno; }
const char *tal_lines_name(const tal_lines *l) { return l->name; }

static int fill(tal_lines *l)
{
    if (l->pos > 0) {
        memmove(l->buf, l->buf + l->pos, l->len - l->pos);
        l->len -= l->pos;
        l->pos = 0;
    }
    if (l->len == l->cap) {
        if (l->cap >= MAX_LINE)
            return tal_err(TAL_ECORRUPT, "bad text: '%s': line %ld is longer than %zu bytes",
                           l->name, l->lineno + 1, MAX_LINE);
        char *b = tal_realloc(l->buf, l->cap * 2);
        if (!b)
            return TAL_ENOMEM;
        l->buf = b;
        l->cap *= 2;
    }
    int k = gzread(l->gz, l->buf + l->len, (unsigned)(l->cap - l->len));
    if (k < 0) {
        int e;
        const char *m = gzerror(l->gz, &e);
        return tal_err(e == Z_ERRNO ? TAL_EIO : TAL_ECORRUPT, "cannot read '%s': %s", l->name,
                       e == Z_ERRNO ? strerror(errno) : m);
    }
    if (k == 0) {
        /* zlib reports a gzip member cut short only through gzerror */
        int e;
        gzerror(l->gz, &e);
        if (e == Z_BUF_ERROR)
            return tal_err(TAL_ETRUNC, "cannot read '%s': truncated gzip data", l->name);
        l->eof = 1;
    }
    l->len += (size_t)k;
    return 0;
}

int tal_lines_next(tal_lines *l, char **line, size_t *len)
{
    for (;;) {
        char *nl = memchr(l->buf + l->pos, '\n', l->len - l->pos);
        size_t n;
        if (nl) {
            n = (size_t)(nl - (l->buf + l->pos));
        } else if (l->eof) {
            n = l->len - l->pos;
            if (!n)
                return 0;
        } else {
            int rc = fill(l);
            if (rc)
                return rc;
            continue;
        }
        l->lineno++;
        if (memchr(l->buf + l->pos, 0, n))
            return tal_err(TAL_ECORRUPT, "bad text: '%s' line %ld: NUL byte (binary file?)", l->name, l->lineno);
        if (n + 1 > l->line_cap) {
            char *p = tal_realloc(l->line, n + 1);
            if (!p)
                return TAL_ENOMEM;
            l->line = p;
            l->line_cap = n + 1;
        }
        memcpy(l->line, l->buf + l->pos, n);
        l->pos += n + (nl != NULL);
        if (n && l->line[n - 1] == '\r')
            n--;
        l->line[n] = 0;
        *line = l->line;
        *len = n;
        return 1;
    }
}

char *tal_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

int tal_split(char *line, int sep, char **fields, int max)
{
    int n = 0;
    char *p = line;
    if (!sep) {
        while (n < max) {
            while (*p == ' ' || *p == '\t')
                p++;
            if (!*p)
                break;
            fields[n++] = p;
            while (*p && *p != ' ' && *p != '\t')
                p++;
            if (*p)
                *p++ = 0;
        }
        return n;
    }
    while (n < max) {
        char *f = p;
        char *e = strchr(p, sep);
        if (e)
            *e = 0;
        f = tal_trim(f);
        size_t k = strlen(f);
        if (k >= 2 && f[0] == '"' && f[k - 1] == '"') {
            f[k - 1] = 0;
            f++;
        }
        fields[n++] = f;
        if (!e)
            break;
        p = e + 1;
    }
    return n;
}

int tal_parse_double(const char *s, double *v)
{
    char *end;
    errno = 0;
    while (isspace((unsigned char)*s))
        s++;
    double d = strtod(s, &end);
    while (isspace((unsigned char)*end))
        end++;
    if (end == s || *end || errno == ERANGE || !isfinite(d))
        return -1;
    *v = d;
    return 0;
}

int tal_parse_long(const char *s, long *v)
{
    char *end;
    errno = 0;
    long d = strtol(s, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    if (end == s || *end || errno)
        return -1;
    *v = d;
    return 0;
}

int tal_read_file(const char *path, size_t max, char **data, size_t *len)
{
    tal_lines *l = tal_lines_open(path);
    if (!l)
        return tal_errcode();
    tal_buf b = { 0 };
    int rc = 0;
    for (;;) {
        if ((rc = tal_buf_reserve(&b, (size_t)1 << 20)))
            break;
        int k = gzread(l->gz, b.data + b.len, 1u << 20);
        if (k < 0) {
            int e;
            const char *m = gzerror(l->gz, &e);
            rc = tal_err(e == Z_ERRNO ? TAL_EIO : TAL_ECORRUPT, "cannot read '%s': %s", l->name,
                         e == Z_ERRNO ? strerror(errno) : m);
            break;
        }
        if (k == 0) {
            int e;
            gzerror(l->gz, &e);
            if (e == Z_BUF_ERROR)
                rc = tal_err(TAL_ETRUNC, "cannot read '%s': truncated gzip data", l->name);
            break;
        }
        b.len += (size_t)k;
        if (b.len > max) {
            rc = tal_err(TAL_EINVAL, "cannot read '%s': larger than %zu bytes", l->name, max);
            break;
        }
    }
    if (!rc && memchr(b.data, 0, b.len))
        rc = tal_err(TAL_ECORRUPT, "bad text: '%s': NUL byte (binary file?)", l->name);
    if (!rc && !(rc = tal_buf_append(&b, "", 1))) {
        *data = (char *)b.data;
        *len = b.len - 1;
    } else {
        tal_buf_free(&b);
    }
    tal_lines_close(l);
    return rc;
}

int tal_read_list(const char *path, int (*fn)(void *ctx, const char *item, long lineno), void *ctx)
{
    tal_lines *l = tal_lines_open(path);
    if (!l)
        return tal_errcode();
    char *line;
    size_t len;
    int rc;
    while ((rc = tal_lines_next(l, &line, &len)) > 0) {
        char *s = tal_trim(line);
        if (*s && *s != '#' && (rc = fn(ctx, s, tal_lines_lineno(l))) < 0)
            break;
    }
    tal_lines_close(l);
    return rc < 0 ? rc : 0;
}

const char *tal_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}
