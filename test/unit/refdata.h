/* refdata.h — reading the test/data/ref files (written by
 * test/ref/gen_reference.py; format described there) and comparing
 * results with the arrays in them. */
#ifndef TAL_TEST_REFDATA_H
#define TAL_TEST_REFDATA_H

#include "tal.h"

typedef struct {
    char *name;
    int dtype;          /* 0 float32, 1 int32 */
    int ndim;
    int64_t shape[8];
    int64_t n;
    void *data;
} ref_arr;

typedef struct {
    ref_arr *a;
    int n;
} ref_file;

/* path relative to the source tree ($TAL_SRCDIR or "."); 0 or <0 */
int ref_load(ref_file *f, const char *relpath);
void ref_free(ref_file *f);
/* the array called printf(fmt, ...), or NULL */
const ref_arr *ref_get(const ref_file *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline const float *ref_f(const ref_arr *a) { return (const float *)a->data; }
static inline const int32_t *ref_i(const ref_arr *a) { return (const int32_t *)a->data; }

/* a graph tensor holding the array's values */
tal_tensor *ref_tensor(tal_graph *g, const ref_arr *a);

/* |got - want| <= atol * max|want| + rtol * |want| everywhere?  0 if so;
 * else 1 with a description in why */
int ref_compare(const float *got, const ref_arr *want, double rtol, double atol, char *why, size_t nwhy);
/* an absolute floor added to the bound of the comparisons below (for
 * gradients that are zero in exact arithmetic); reset to 0 after use */
extern double ref_abs_floor;
/* the same for a graph tensor's values (or its gradient when grad = 1) */
int ref_compare_tensor(tal_graph *g, const tal_tensor *t, int grad, const ref_arr *want, double rtol, double atol,
                       char *why, size_t nwhy);

#endif
