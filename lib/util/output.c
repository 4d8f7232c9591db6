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
    char *path, *tmp;      /* tmp is NULL when writing in place (stdout, devices) */
    char *target;          /* the resolved path renamed onto, if it differs */
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
    struct stat st;
    if (!strcmp(path, "-")) {
        if ((flags & TAL_OUT_BINARY) && !(flags & TAL_OUT_FORCE) && isatty(STDOUT_FILENO)) {
            tal_err(TAL_EINVAL, "refusing to write a binary stream to a terminal: use -o FILE, a pipe, or -f");
            goto fail;
        }
        o->fd = STDOUT_FILENO;
    } else if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
        /* a device, FIFO or socket (/dev/null, /dev/full, a named pipe):
         * write to it directly; renaming over it would replace it */
        if (S_ISDIR(st.st_mode)) {
            tal_err(TAL_EINVAL, "cannot write '%s': it is a directory", path);
            goto fail;
        }
        if ((o->fd = open(path, O_WRONLY)) < 0) {
            tal_err(TAL_EIO, "cannot open '%s': %s", path, strerror(errno));
            goto fail;
        }
    } else {
        /* write beside the real file, so that rename() stays on one file
         * system and replaces the target of a symbolic link, not the link */
        char *real = realpath(path, NULL);
        const char *target = real ? real : path;
        size_t n = strlen(target);
        o->target = real;
        o->tmp = tal_malloc(n + 16);
        if (!o->tmp)
            goto fail;
        snprintf(o->tmp, n + 16, "%s.tmp.XXXXXX", target);
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
        free(o->target);
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
    free(o->target);
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
    if (o->fd != STDOUT_FILENO) {
        if (o->fp) {
            if (fclose(o->fp) && !rc)
                rc = tal_err(TAL_EIO, "cannot write '%s': %s", name, strerror(errno));
        } else if (close(o->fd) && !rc) {
            rc = tal_err(TAL_EIO, "cannot write '%s': %s", name, strerror(errno));
        }
    }
    if (o->tmp) {
        if (!rc && rename(o->tmp, o->target ? o->target : o->path))
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
    if (o->fd != STDOUT_FILENO) {
        if (o->fp)
            fclose(o->fp);
        else
            close(o->fd);
    } else if (o->fp) {
        fflush(o->fp);
    }
    if (o->tmp)
        unlink(o->tmp);
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
