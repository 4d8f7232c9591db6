/* harness.h — a small unit-test harness with TAP output.
 *
 *   TEST(stream_roundtrip) { ... CHECK(x == 1); CHECK_EQ_INT(a, b); ... }
 *
 * Tests register themselves; test/unit/main.c runs them (all, or those
 * whose names contain an argument) and prints "ok N - name" lines
 * ("ok N - name # skip why" for a test that called SKIP).
 * A CHECK that fails records the file, line and expression and ends the
 * test; the runner counts it as failed.
 */
#ifndef TAL_TEST_HARNESS_H
#define TAL_TEST_HARNESS_H

#include <math.h>
#include <stdio.h>

typedef void (*tal_test_fn)(void);
void tal_test_register(const char *name, tal_test_fn fn);
void tal_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int tal_test_failed(void);
/* Mark the running test skipped (reported "ok N - name # skip why", and
 * counted as skipped, not passed); use through SKIP. */
void tal_test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A scratch directory for this test run (removed at exit). */
const char *tal_test_tmpdir(void);
/* path = tmpdir/name, in a static buffer rotated among 8 */
const char *tal_test_path(const char *name);

#define TEST(name)                                                       \
    static void name(void);                                              \
    __attribute__((constructor)) static void register_##name(void)       \
    { tal_test_register(#name, name); }                                  \
    static void name(void)

/* end the test here, skipped, saying why (e.g. no GPU on this machine) */
#define SKIP(...) do { tal_test_skip(__VA_ARGS__); return; } while (0)

#define CHECK(cond) do { if (!(cond)) {                                  \
        tal_test_fail(__FILE__, __LINE__, "%s", #cond); return; } } while (0)
#define CHECK_MSG(cond, ...) do { if (!(cond)) {                         \
        tal_test_fail(__FILE__, __LINE__, __VA_ARGS__); return; } } while (0)
#define CHECK_EQ_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
        if (a_ != b_) { tal_test_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", \
                                      #a, #b, a_, b_); return; } } while (0)
#define CHECK_NEAR(a, b, tol) do { double a_ = (double)(a), b_ = (double)(b); \
        if (!(fabs(a_ - b_) <= (tol))) { tal_test_fail(__FILE__, __LINE__, \
            "%s ~ %s (%.9g vs %.9g, tol %g)", #a, #b, a_, b_, (double)(tol)); return; } } while (0)
#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b);            \
        if (!a_ || !b_ || strcmp(a_, b_)) { tal_test_fail(__FILE__, __LINE__, \
            "%s == %s ('%s' vs '%s')", #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); return; } } while (0)

#endif
