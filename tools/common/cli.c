/* cli.c — shared tool behaviour (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *tool_name = "talcore";
static int saved_argc;
static char **saved_argv;

static void on_signal(int sig)
{
    tal_output_abort_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

void cli_init(const char *tool, int argc, char **argv)
{
    tool_name = tool;
    saved_argc = argc;
    saved_argv = argv;
    tal_set_progname(tool);
    int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

int cli_fail(void)
{
    fflush(stdout);
    const char *m = tal_errmsg();
    fprintf(stderr, "%s: %s\n", tal_progname(), *m ? m : "failed");
    return TAL_EXIT_FAIL;
}

static void message(const char *fmt, va_list ap)
{
    fflush(stdout);
    fprintf(stderr, "%s: ", tal_progname());
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    message(fmt, ap);
    va_end(ap);
    return TAL_EXIT_FAIL;
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    message(fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try '%s --help' for more information.\n", tool_name);
    return TAL_EXIT_USAGE;
}

int cli_double(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !(v >= lo && v <= hi))
        return cli_usage_error("invalid value for %s: '%s' (expected a number in [%g, %g])", opt, s, lo, hi);
    *out = v;
    return 0;
}

int cli_int(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return cli_usage_error("invalid value for %s: '%s' (expected an integer in [%ld, %ld])", opt, s, lo, hi);
    *out = v;
    return 0;
}

int cli_u64(const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || errno || *s == '-')
        return cli_usage_error("invalid value for %s: '%s' (expected a non-negative integer)", opt, s);
    *out = v;
    return 0;
}

int cli_add_prov(tal_header *h)
{
    return tal_header_add_prov(h, tool_name, TAL_VERSION, saved_argc, saved_argv);
}

int cli_close_stdout(void)
{
    if (fflush(stdout) || ferror(stdout) || fclose(stdout)) {
        fprintf(stderr, "%s: cannot write standard output: %s\n", tal_progname(), strerror(errno ? errno : EIO));
        return TAL_EXIT_FAIL;
    }
    return TAL_EXIT_OK;
}

void cli_usage_footer(FILE *fp, int col)
{
    fprintf(fp, "%-*s%s\n%-*s%s\n%-*s%s\n\n", col, "  -q, --quiet", "no progress line", col, "  -h, --help",
            "this help", col, "      --version", "version");
    fputs("Exit status: 0 success, 1 bad input or failure, 2 usage error.\n", fp);
}

int cli_version(void)
{
    printf("%s (talcore) %s\n", tool_name, TAL_VERSION);
    return cli_close_stdout();
}
