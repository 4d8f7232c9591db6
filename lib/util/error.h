/* error.h — one voice for errors and warnings.
 *
 * The library never prints an error and never exits: a failing function
 * records one message with tal_err() and returns the (negative) code it
 * was given.  The tool that called it prints that message once, prefixed
 * with its own name, and exits.  Warnings that do not stop the work are
 * printed at once through tal_warn().
 *
 * Messages follow one pattern: "what failed: 'subject': reason", lower
 * case, no trailing period, e.g.
 *     corrupt stream: 'val.tal': CRC mismatch in frame at byte offset 4096
 */
#ifndef TAL_UTIL_ERROR_H
#define TAL_UTIL_ERROR_H

#include <stdarg.h>

/* Status codes.  0 is success; every error is negative so that readers can
 * keep the 1 / 0 / <0 convention (record / clean end / error). */
enum tal_status {
    TAL_OK        =  0,
    TAL_EIO       = -1,  /* the operating system refused a read or write */
    TAL_ETRUNC    = -2,  /* input ended early: truncated stream or file */
    TAL_ECORRUPT  = -3,  /* input is malformed: bad magic, CRC, length */
    TAL_ENOMEM    = -4,  /* an allocation failed */
    TAL_EUNSUP    = -5,  /* well-formed but not supported (version, dtype) */
    TAL_EINVAL    = -6,  /* bad argument or inconsistent data */
    TAL_EINCOMPAT = -7,  /* streams or records that cannot be combined */
};

#if defined(__GNUC__)
#define TAL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define TAL_RESULT_USED  __attribute__((warn_unused_result))
#else
#define TAL_PRINTF(a, b)
#define TAL_RESULT_USED
#endif

/* Record an error message (replacing any earlier one) and return `code`. */
int tal_err(int code, const char *fmt, ...) TAL_PRINTF(2, 3);
int tal_verr(int code, const char *fmt, va_list ap);

/* Prefix the recorded message with more context: "ctx: <old message>". */
int tal_err_wrap(int code, const char *fmt, ...) TAL_PRINTF(2, 3);

/* The last recorded message ("" if none) and code (TAL_OK if none). */
const char *tal_errmsg(void);
int tal_errcode(void);
void tal_err_clear(void);

/* Human name of a status code ("truncated input", ...). */
const char *tal_strstatus(int code);

/* The program name used as prefix; tools set it once at start-up. */
void tal_set_progname(const char *name);
const char *tal_progname(void);

/* Warnings go to stderr at once as "prog: warning: ..." unless silenced. */
void tal_warn(const char *fmt, ...) TAL_PRINTF(1, 2);
/* The same for input that will give wrong results without an error (a
 * time grid that does not fit the features): -q (quiet 1) keeps it,
 * only quiet 2 silences it. */
void tal_warn_wrong(const char *fmt, ...) TAL_PRINTF(1, 2);
void tal_set_quiet(int quiet);
int tal_quiet(void);

#endif
