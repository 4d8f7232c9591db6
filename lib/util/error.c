/* error.c — the recorded error message and warnings (see error.h). */
#include "error.h"

#include <stdio.h>
#include <string.h>

/* Thread-local so that OpenMP workers reading in parallel do not mix
 * their messages. */
static _Thread_local char errbuf[1024];
static _Thread_local int errcode;
static const char *progname = "talcore";
static int quiet;

int tal_verr(int code, const char *fmt, va_list ap)
{
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    errcode = code;
    return code;
}

int tal_err(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tal_verr(code, fmt, ap);
    va_end(ap);
    return code;
}

int tal_err_wrap(int code, const char *fmt, ...)
{
    char old[sizeof errbuf];
    va_list ap;
    memcpy(old, errbuf, sizeof old);
    va_start(ap, fmt);
    int n = vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    /* append ": <old message>", truncating at the buffer's end */
    size_t at = n < 0 ? 0 : (size_t)n < sizeof errbuf ? (size_t)n : sizeof errbuf - 1;
    if (old[0] && at + 2 < sizeof errbuf) {
        memcpy(errbuf + at, ": ", 2);
        at += 2;
        size_t k = strnlen(old, sizeof old - 1);
        if (k > sizeof errbuf - 1 - at)
            k = sizeof errbuf - 1 - at;
        memcpy(errbuf + at, old, k);
        errbuf[at + k] = 0;
    }
    errcode = code;
    return code;
}

const char *tal_errmsg(void) { return errbuf; }
int tal_errcode(void) { return errcode; }
void tal_err_clear(void) { errbuf[0] = 0; errcode = TAL_OK; }

const char *tal_strstatus(int code)
{
    switch (code) {
    case TAL_OK:        return "success";
    case TAL_EIO:       return "input/output error";
    case TAL_ETRUNC:    return "truncated input";
    case TAL_ECORRUPT:  return "corrupt input";
    case TAL_ENOMEM:    return "out of memory";
    case TAL_EUNSUP:    return "unsupported";
    case TAL_EINVAL:    return "invalid argument";
    case TAL_EINCOMPAT: return "incompatible inputs";
    }
    return "unknown error";
}

void tal_set_progname(const char *name)
{
    const char *slash = name ? strrchr(name, '/') : NULL;
    progname = slash ? slash + 1 : (name ? name : "talcore");
}

const char *tal_progname(void) { return progname; }
void tal_set_quiet(int q) { quiet = q; }
int tal_quiet(void) { return quiet; }

static void warn_v(const char *fmt, va_list ap)
{
    fflush(stdout);
    fprintf(stderr, "%s: warning: ", progname);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void tal_warn(const char *fmt, ...)
{
    if (quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    warn_v(fmt, ap);
    va_end(ap);
}

void tal_warn_wrong(const char *fmt, ...)
{
    if (quiet > 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    warn_v(fmt, ap);
    va_end(ap);
}
