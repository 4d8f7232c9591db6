/* output.c — temporary file + rename (see output.h). */
#define _GNU_SOURCE
#include "output.h"
#include "error.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct tal_output {
    char *path, *tmp;      /* tmp is NULL for stdout */
    int fd;
    FILE *fp;
    struct tal_output *next;
};

/* Open outputs, so that a signal handler can remove their temporaries. */
static struct tal_output *open_list;

static void unlink_from_list(tal_output *o)
{
    for (tal_output **pp = &open_list; *pp; pp = &(*pp)->next)
        if (*pp == o) {
            *pp = o->next;
            return;
        }
}

tal_output *tal_output_open(const char *path, int flags)
{
    tal_output *o = tal_calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->path = tal_strdup(path);
    if (!o->path)
        goto fail;
    if (!strcmp(path, "-")) {
        if ((flags & TAL_OUT_BINARY) && !(flags & TAL_OUT_FORCE) && isatty(STDOUT_FILENO)) {
            tal_err(TAL_EINVAL, "refusing to write a binary stream to a terminal: use -o FILE, a pipe, or -f");
            goto fail;
        }
        o->fd = STDOUT_FILENO;
    } else {
        size_t n = strlen(path);
        o->tmp = tal_malloc(n + 16);
        if (!o->tmp)
            goto fail;
        snprintf(o->tmp, n + 16, "%s.tmp.XXXXXX", path);
        o->fd = mkstemp(o->tmp);
        if (o->fd < 0) {
            tal_err(TAL_EIO, "cannot create '%s': %s", path, strerror(errno));
            goto fail;
        }
        /* mkstemp makes 0600 files; give the user's usual permissions */
        mode_t um = umask(0);
        umask(um);
        fchmod(o->fd, 0666 & ~um);
    }
    o->next = open_list;
    open_list = o;
    return o;
fail:
    if (o) {
        free(o->tmp);
        free(o->path);
        free(o);
    }
    return NULL;
}

int tal_output_fd(tal_output *o) { return o->fd; }
const char *tal_output_path(const tal_output *o) { return o->path; }

FILE *tal_output_file(tal_output *o)
{
    if (!o->fp) {
        if (o->fd == STDOUT_FILENO) {
            o->fp = stdout;
        } else {
            o->fp = fdopen(o->fd, "w");
            if (!o->fp)
                tal_err(TAL_EIO, "cannot open '%s': %s", o->path, strerror(errno));
        }
    }
    return o->fp;
}

static void free_output(tal_output *o)
{
    unlink_from_list(o);
    free(o->tmp);
    free(o->path);
    free(o);
}

int tal_output_commit(tal_output *o)
{
    int rc = 0;
    const char *name = !strcmp(o->path, "-") ? "standard output" : o->path;
    if (o->fp) {
        if (fflush(o->fp) || ferror(o->fp))
            rc = tal_err(TAL_EIO, "cannot write '%s': %s", name, strerror(errno ? errno : EIO));
    }
    if (o->tmp) {
        if (o->fp) {
            if (fclose(o->fp) && !rc)
                rc = tal_err(TAL_EIO, "cannot write '%s': %s", name, strerror(errno));
        } else if (close(o->fd) && !rc) {
            rc = tal_err(TAL_EIO, "cannot write '%s': %s", name, strerror(errno));
        }
        if (!rc && rename(o->tmp, o->path))
            rc = tal_err(TAL_EIO, "cannot rename '%s' to '%s': %s", o->tmp, o->path, strerror(errno));
        if (rc)
            unlink(o->tmp);
    }
    free_output(o);
    return rc;
}

void tal_output_abort(tal_output *o)
{
    if (!o)
        return;
    if (o->tmp) {
        if (o->fp)
            fclose(o->fp);
        else
            close(o->fd);
        unlink(o->tmp);
    } else if (o->fp) {
        fflush(o->fp);
    }
    free_output(o);
}

void tal_output_abort_all(void)
{
    /* async-signal-safe: only unlink */
    for (tal_output *o = open_list; o; o = o->next)
        if (o->tmp)
            unlink(o->tmp);
}

int tal_write_all(int fd, const void *buf, size_t n, const char *name)
{
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return tal_err(TAL_EIO, "cannot write '%s': %s", name, strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}
