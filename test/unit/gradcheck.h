/* gradcheck.h — finite-difference gradient checks for the op set.
 *
 * A case names an op (a function of up to six input tensors), the inputs'
 * shapes and how to draw them, and which inputs need a gradient.  The
 * check draws the inputs, runs the op, seeds backward with a random
 * projection R of the output (so the checked function is f = sum(out * R)),
 * and compares the analytic gradient of chosen elements of each input with
 * a five-point central difference
 *     f'(x) ~ (8 (f(x+h) - f(x-h)) - (f(x+2h) - f(x-2h))) / 12h
 * evaluated in double over float32 forward passes.  Because the forward
 * pass is deterministic, outputs that do not depend on the perturbed
 * element are bit-identical in every evaluation and cancel exactly, so the
 * difference carries only the rounding of the affected outputs.
 *
 * Pass: |num - ana| <= tol * (|ana| + 0.1 * rms(ana)) + floor for every
 * checked element, tol = 2e-3 by default; floor = 1e-6 + 3e-8 sqrt(n)
 * max|out| max|R| / h bounds the float32 rounding of n outputs that move.  A 1% error in a backward
 * kernel fails this (test_nn_grad.c plants such bugs and expects failure).
 */
#ifndef TAL_TEST_GRADCHECK_H
#define TAL_TEST_GRADCHECK_H

#include "tal.h"

enum {
    GC_NORMAL,    /* N(0,1) */
    GC_AWAY0,     /* N(0,1) pushed to |x| >= 0.1 (kinks at 0) */
    GC_DISTINCT,  /* distinct values 0.05 apart (max, top-k, pooling) */
    GC_POS,       /* uniform [0.2, 2] */
    GC_UNIT,      /* uniform [0.05, 0.95] (soft targets) */
    GC_BINARY,    /* 0 or 1 */
    GC_MASK,      /* (B,T) validity: row 0 all valid, others a random prefix */
    GC_SMALL,     /* N(0, 0.3^2) */
    GC_MASK0,     /* like GC_MASK, but the last row entirely 0 */
};

#define GC_MAX_IN 6

struct gc_case;
typedef tal_tensor *(*gc_fn)(tal_graph *g, tal_tensor **in, const struct gc_case *c);

typedef struct gc_case {
    char name[96];
    gc_fn fn;
    int nin;
    int ndim[GC_MAX_IN];
    int64_t shape[GC_MAX_IN][4];
    int kind[GC_MAX_IN];
    int grad[GC_MAX_IN];       /* check this input's gradient */
    int transpose[GC_MAX_IN];  /* hand the op a transposed view of the last two dimensions */
    int ia[8];                 /* integer arguments of the op */
    float fa[4];               /* float arguments */
    int32_t idx[256];          /* index / target arrays */
    int training;
    int twice;                 /* check op(x) + op(x): the second backward accumulates (+=) */
    float h, tol;              /* 0: defaults 1e-2, 2e-3 */
    /* adjust drawn inputs (e.g. keep them off a kink); may be NULL */
    void (*fix)(float **x, const struct gc_case *c);
} gc_case;

/* Input k of a case: its kind, whether its gradient is checked, its shape;
 * written as gc_in(&c, 0, GC_NORMAL, 1, GC_SH(2, 8, 16)). */
void gc_in(gc_case *c, int k, int kind, int grad, int ndim, const int64_t *shape);
#define GC_SH(...) (int)(sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)), (int64_t[]){ __VA_ARGS__ }

typedef struct {
    double max_rel;            /* largest |num-ana| / (|ana| + 0.1 rms + 1e-6/tol) seen */
    int checked;               /* elements compared */
    char why[256];             /* first failure */
} gc_result;

/* Run the check on backend `be` (NULL: CPU).  Returns 0 if every compared
 * element is within the bound, 1 if not (details in res->why), <0 if the op
 * itself failed. */
int gradcheck(const tal_backend *be, const gc_case *c, uint64_t seed, gc_result *res);

/* Backend parity (ggml's test-backend-ops, llm.c's validate_result): draw
 * the inputs, run forward and backward (seeded with the same random R) on
 * the CPU and on `be`, and compare the output and every checked gradient
 * element by element:
 *     |x_be - x_cpu| <= tol * (|x_cpu| + rms(x_cpu)) + 1e-30
 * rms over the tensor, so that a value that cancels to near 0 is held to
 * the scale of its neighbours; res->max_rel is the largest
 * |x_be - x_cpu| / (|x_cpu| + rms) seen, res->nmse the largest normalised
 * mean square error sum (x_be - x_cpu)^2 / sum x_cpu^2 of a tensor.
 * Returns 0 within the bound, 1 if not (res->why names the tensor and
 * element), <0 if either backend failed. */
typedef struct {
    double max_rel, nmse;
    int tensors;
    char why[256];
} gc_parity_result;
int gc_parity(const tal_backend *be, const gc_case *c, uint64_t seed, double tol, gc_parity_result *res);

/* The case builders of test_nn_grad.c, for the parity suite: variant v of
 * a family into c (0), or 1 when the family has no variant v. */
typedef int (*gc_build_fn)(gc_case *c, int variant, tal_rng *r);
typedef struct {
    const char *name;
    gc_build_fn build;
} gc_builder;
extern const gc_builder gc_builders[];   /* ends with { NULL, NULL } */

#endif
