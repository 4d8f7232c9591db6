/* main.c — runs the registered unit tests, TAP output (see harness.h). */
#include "harness.h"
#include "fixtures.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TESTS 4096

static struct { const char *name; tal_test_fn fn; } tests[MAX_TESTS];
static int ntests, failed_now, skipped_now;
static char skip_why[256];
static char tmpdir[256];

void tal_test_register(const char *name, tal_test_fn fn)
{
    if (ntests < MAX_TESTS)
        tests[ntests++] = (typeof(tests[0])){ name, fn };
}

void tal_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    printf("# %s:%d: check failed: ", file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    failed_now = 1;
}

int tal_test_failed(void) { return failed_now; }

void tal_test_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(skip_why, sizeof skip_why, fmt, ap);
    va_end(ap);
    for (char *p = skip_why; *p; p++)   /* one TAP line */
        if (*p == '\n' || *p == '#')
            *p = ' ';
    skipped_now = 1;
}
const char *tal_test_tmpdir(void) { return tmpdir; }

const char *tal_test_path(const char *name)
{
    static char bufs[8][512];
    static int k;
    char *b = bufs[k++ & 7];
    snprintf(b, sizeof bufs[0], "%s/%s", tmpdir, name);
    return b;
}

static void cleanup(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd)) {
    }
}

int main(int argc, char **argv)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmpdir, sizeof tmpdir, "%s/talcore-unit.XXXXXX", base);
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    atexit(cleanup);
    tal_set_quiet(1);   /* readers' warnings are checked, not shown */
    if (argc == 3 && !strcmp(argv[1], "--write-fixtures")) {
        if (fixtures_write(argv[2])) {
            fprintf(stderr, "unit-tests: %s\n", tal_errmsg());
            return 1;
        }
        return 0;
    }
    int selected[MAX_TESTS], n = 0;
    for (int i = 0; i < ntests; i++) {
        int take = argc < 2;
        for (int a = 1; a < argc; a++)
            take |= strstr(tests[i].name, argv[a]) != NULL;
        if (take)
            selected[n++] = i;
    }
    printf("1..%d\n", n);
    int nfail = 0;
    for (int k = 0; k < n; k++) {
        failed_now = skipped_now = 0;
        tests[selected[k]].fn();
        if (skipped_now && !failed_now)
            printf("ok %d - %s # skip %s\n", k + 1, tests[selected[k]].name, skip_why);
        else
            printf("%s %d - %s\n", failed_now ? "not ok" : "ok", k + 1, tests[selected[k]].name);
        fflush(stdout);
        nfail += failed_now;
    }
    return nfail ? 1 : 0;
}
