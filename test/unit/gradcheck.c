/* gradcheck.c — see gradcheck.h. */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GC_SAMPLES 12

void gc_in(gc_case *c, int k, int kind, int grad, int ndim, const int64_t *shape)
{
    c->ndim[k] = ndim;
    for (int d = 0; d < ndim; d++)
        c->shape[k][d] = shape[d];
    c->kind[k] = kind;
    c->grad[k] = grad;
    if (k + 1 > c->nin)
        c->nin = k + 1;
}

static int64_t numel_of(const gc_case *c, int k)
{
    int64_t n = 1;
    for (int d = 0; d < c->ndim[k]; d++)
        n *= c->shape[k][d];
    return n;
}

static void draw(float *x, int64_t n, int kind, const int64_t *shape, int ndim, tal_rng *r)
{
    switch (kind) {
    case GC_AWAY0:
        for (int64_t i = 0; i < n; i++) {
            float v = (float)tal_rng_normal(r);
            x[i] = fabsf(v) < 0.1f ? (v < 0 ? v - 0.1f : v + 0.1f) : v;
        }
        break;
    case GC_DISTINCT: {
        /* a shuffled ladder of values 0.05 apart, centred on 0 */
        uint32_t *p = malloc(sizeof *p * (size_t)n);
        for (int64_t i = 0; i < n; i++)
            p[i] = (uint32_t)i;
        tal_rng_shuffle_u32(r, p, (uint32_t)n);
        for (int64_t i = 0; i < n; i++)
            x[i] = 0.05f * ((float)p[i] - 0.5f * (float)n);
        free(p);
        break;
    }
    case GC_POS:
        for (int64_t i = 0; i < n; i++)
            x[i] = 0.2f + 1.8f * tal_rng_float(r);
        break;
    case GC_UNIT:
        for (int64_t i = 0; i < n; i++)
            x[i] = 0.05f + 0.9f * tal_rng_float(r);
        break;
    case GC_BINARY:
        for (int64_t i = 0; i < n; i++)
            x[i] = tal_rng_float(r) < 0.3f ? 1.0f : 0.0f;
        break;
    case GC_MASK:
    case GC_MASK0: {
        int64_t T = shape[ndim - 1], B = T ? n / T : 0;
        for (int64_t b = 0; b < B; b++) {
            int64_t len = b == 0 ? T : 1 + tal_rng_below(r, (uint32_t)T);
            if (kind == GC_MASK0 && b == B - 1 && b > 0)
                len = 0;
            for (int64_t t = 0; t < T; t++)
                x[b * T + t] = t < len ? 1.0f : 0.0f;
        }
        break;
    }
    case GC_SMALL:
        for (int64_t i = 0; i < n; i++)
            x[i] = 0.3f * (float)tal_rng_normal(r);
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            x[i] = (float)tal_rng_normal(r);
        break;
    }
}

typedef struct {
    tal_graph *g;
    const gc_case *c;
    float *x[GC_MAX_IN];
    tal_tensor *leaf[GC_MAX_IN];
    tal_tensor *out;
    uint64_t seed;
} gc_run;

/* one forward pass; out in run->out */
static int forward(gc_run *run, int with_grad)
{
    const gc_case *c = run->c;
    tal_graph *g = run->g;
    tal_graph_reset(g);
    tal_graph_set_grad(g, with_grad);
    tal_graph_set_training(g, c->training);
    tal_rng r;
    tal_rng_seed(&r, run->seed ^ 0x5eed);
    tal_graph_set_rng(g, &r);
    tal_tensor *in[GC_MAX_IN];
    for (int k = 0; k < c->nin; k++) {
        int64_t sh[4];
        memcpy(sh, c->shape[k], sizeof sh);
        int nd = c->ndim[k];
        if (c->transpose[k]) {   /* the leaf is stored transposed; the op sees the transpose back */
            int64_t t = sh[nd - 1];
            sh[nd - 1] = sh[nd - 2];
            sh[nd - 2] = t;
        }
        run->leaf[k] = tal_tensor_from(g, nd, sh, run->x[k]);
        if (run->leaf[k] && c->grad[k])
            tal_tensor_requires_grad(run->leaf[k]);
        in[k] = c->transpose[k] ? tal_transpose(g, run->leaf[k], -1, -2) : run->leaf[k];
    }
    run->out = c->fn(g, in, c);
    if (c->twice)
        run->out = tal_add(g, run->out, c->fn(g, in, c));
    return run->out ? 0 : (tal_graph_status(g) ? tal_graph_status(g) : -1);
}

/* f = sum(out * R); *omax = max |out| */
static double project(gc_run *run, const float *R, double *omax)
{
    int64_t n = tal_numel(run->out);
    float *o = malloc(sizeof *o * (size_t)(n ? n : 1));
    tal_tensor_download(run->g, run->out, o);
    double f = 0, m = 0;
    for (int64_t i = 0; i < n; i++) {
        f += (double)o[i] * R[i];
        m = fabs(o[i]) > m ? fabs(o[i]) : m;
    }
    free(o);
    if (omax)
        *omax = m;
    return f;
}

/* the case's inputs into x[] (malloc'd), drawn from r */
static void draw_inputs(const gc_case *c, tal_rng *r, float **x)
{
    for (int k = 0; k < c->nin; k++) {
        int64_t n = numel_of(c, k);
        x[k] = malloc(sizeof(float) * (size_t)(n ? n : 1));
        /* drawn in the op's own (untransposed) order, then stored transposed */
        draw(x[k], n, c->kind[k], c->shape[k], c->ndim[k], r);
        if (c->transpose[k]) {
            int nd = c->ndim[k];
            int64_t R = c->shape[k][nd - 2], C = c->shape[k][nd - 1], RC = R * C, outer = RC ? n / RC : 0;
            float *t = malloc(sizeof(float) * (size_t)(n ? n : 1));
            for (int64_t o = 0; o < outer; o++)
                for (int64_t i = 0; i < R; i++)
                    for (int64_t j = 0; j < C; j++)
                        t[o * R * C + j * R + i] = x[k][o * R * C + i * C + j];
            free(x[k]);
            x[k] = t;
        }
    }
    if (c->fix)
        c->fix(x, c);
}

int gradcheck(const tal_backend *be, const gc_case *c, uint64_t seed, gc_result *res)
{
    memset(res, 0, sizeof *res);
    gc_run run = { .c = c, .seed = seed };
    run.g = tal_graph_new(be);
    tal_rng r;
    tal_rng_seed(&r, seed);
    draw_inputs(c, &r, run.x);
    int rc = forward(&run, 1);
    float *R = NULL, *ana[GC_MAX_IN] = { 0 };
    if (rc) {
        snprintf(res->why, sizeof res->why, "forward failed: %s", tal_errmsg());
        goto done;
    }
    int64_t no = tal_numel(run.out);
    R = malloc(sizeof *R * (size_t)(no ? no : 1));
    for (int64_t i = 0; i < no; i++)
        R[i] = (float)tal_rng_normal(&r);
    rc = tal_backward_seed(run.g, run.out, R);
    if (rc) {
        snprintf(res->why, sizeof res->why, "backward failed: %s", tal_errmsg());
        goto done;
    }
    for (int k = 0; k < c->nin; k++) {
        if (!c->grad[k])
            continue;
        int64_t n = numel_of(c, k);
        ana[k] = calloc((size_t)(n ? n : 1), sizeof(float));
        tal_tensor *lf = run.leaf[k];
        if (lf->grad && lf->grad_valid)
            tal_graph_backend(run.g)->download(ana[k], lf->grad, sizeof(float) * (size_t)n);
    }
    float h = c->h > 0 ? c->h : 1e-2f, tol = c->tol > 0 ? c->tol : 2e-3f;
    /* rounding floor: the float32 rounding of the outputs that move, at most
     * all of them, divided by the step */
    double omax, rmax = 0;
    project(&run, R, &omax);
    for (int64_t i = 0; i < no; i++)
        rmax = fabs(R[i]) > rmax ? fabs(R[i]) : rmax;
    double floor_ = 1e-6 + 3e-8 * sqrt((double)no) * omax * rmax / h;
    for (int k = 0; k < c->nin && rc == 0; k++) {
        if (!c->grad[k])
            continue;
        int64_t n = numel_of(c, k);
        double ss = 0;
        for (int64_t i = 0; i < n; i++)
            ss += (double)ana[k][i] * ana[k][i];
        double rms = n ? sqrt(ss / n) : 0;
        int64_t m = n < GC_SAMPLES ? n : GC_SAMPLES;
        for (int64_t s = 0; s < m; s++) {
            int64_t i = n <= GC_SAMPLES ? s : (int64_t)tal_rng_below(&r, (uint32_t)n);
            float x0 = run.x[k][i];
            double f[4];
            const float steps[4] = { 1, -1, 2, -2 };
            for (int j = 0; j < 4; j++) {
                run.x[k][i] = x0 + steps[j] * h;
                if ((rc = forward(&run, 0))) {
                    snprintf(res->why, sizeof res->why, "forward failed: %s", tal_errmsg());
                    goto done;
                }
                f[j] = project(&run, R, NULL);
            }
            run.x[k][i] = x0;
            double num = (8.0 * (f[0] - f[1]) - (f[2] - f[3])) / (12.0 * h);
            double a = ana[k][i];
            double bound = tol * (fabs(a) + 0.1 * rms) + floor_;
            double rel = fabs(num - a) / bound * tol;
            if (rel > res->max_rel)
                res->max_rel = rel;
            res->checked++;
            if (fabs(num - a) > bound) {
                snprintf(res->why, sizeof res->why,
                         "input %d element %lld: analytic %.7g, numerical %.7g (bound %.3g, rms %.3g)", k,
                         (long long)i, a, num, bound, rms);
                rc = 1;
                break;
            }
        }
    }
    if (getenv("TAL_GRADCHECK_VERBOSE"))
        printf("# gradcheck %-60s %3d elements, worst %.2e of tol, floor %.1e\n", c->name, res->checked,
               res->max_rel / tol, floor_);
done:
    for (int k = 0; k < c->nin; k++) {
        free(run.x[k]);
        free(ana[k]);
    }
    free(R);
    tal_graph_free(run.g);
    return rc;
}

/* ---- backend parity ---------------------------------------------------------- */

static int compare(const float *ref, const float *got, int64_t n, double tol, const char *what,
                   gc_parity_result *res)
{
    double ss = 0, se = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)got[i] - ref[i];
        ss += (double)ref[i] * ref[i];
        se += d * d;
    }
    double rms = n ? sqrt(ss / n) : 0, nmse = ss > 0 ? se / ss : se > 0 ? INFINITY : 0;
    if (!(nmse <= res->nmse))
        res->nmse = nmse;
    res->tensors++;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]), scale = fabs(ref[i]) + rms + 1e-30;
        if (!(d / scale <= res->max_rel))
            res->max_rel = d / scale;
        if (!(d <= tol * scale)) {
            snprintf(res->why, sizeof res->why, "%s element %lld: %.9g on the CPU, %.9g here (bound %.3g, rms %.3g)",
                     what, (long long)i, ref[i], got[i], tol * scale, rms);
            return 1;
        }
    }
    return 0;
}

int gc_parity(const tal_backend *be, const gc_case *c, uint64_t seed, double tol, gc_parity_result *res)
{
    memset(res, 0, sizeof *res);
    tal_rng r;
    tal_rng_seed(&r, seed);
    float *x[GC_MAX_IN] = { 0 }, *out[2] = { 0 }, *grad[2][GC_MAX_IN] = { { 0 } }, *R = NULL;
    draw_inputs(c, &r, x);
    int64_t no = -1;
    int rc = 0;
    for (int side = 0; side < 2 && !rc; side++) {
        const tal_backend *b = side ? be : &tal_backend_cpu;
        gc_run run = { .c = c, .seed = seed };
        memcpy(run.x, x, sizeof run.x);
        run.g = tal_graph_new(b);
        const char *where = side ? b->name : "cpu";
        if (!run.g || (rc = forward(&run, 1))) {
            snprintf(res->why, sizeof res->why, "forward on %s failed: %s", where, tal_errmsg());
            rc = rc ? rc : -1;
            tal_graph_free(run.g);
            break;
        }
        int64_t n = tal_numel(run.out);
        if (no < 0) {   /* the projection, drawn once for both sides */
            no = n;
            R = malloc(sizeof *R * (size_t)(n ? n : 1));
            for (int64_t i = 0; i < n; i++)
                R[i] = (float)tal_rng_normal(&r);
        }
        out[side] = malloc(sizeof(float) * (size_t)(n ? n : 1));
        if (n != no || (rc = tal_tensor_download(run.g, run.out, out[side])) ||
            (rc = tal_backward_seed(run.g, run.out, R))) {
            snprintf(res->why, sizeof res->why, "%s on %s failed: %s", n != no ? "output shape" : "backward", where,
                     tal_errmsg());
            rc = rc ? rc : -1;
        }
        for (int k = 0; k < c->nin && !rc; k++) {
            if (!c->grad[k])
                continue;
            int64_t m = numel_of(c, k);
            grad[side][k] = calloc((size_t)(m ? m : 1), sizeof(float));
            tal_tensor *lf = run.leaf[k];
            if (lf->grad && lf->grad_valid)
                b->download(grad[side][k], lf->grad, sizeof(float) * (size_t)m);
            if ((rc = b->status()))
                snprintf(res->why, sizeof res->why, "downloading a gradient from %s failed: %s", where, tal_errmsg());
        }
        tal_graph_free(run.g);
    }
    if (!rc)
        rc = compare(out[0], out[1], no, tol, "output", res);
    for (int k = 0; k < c->nin && !rc; k++) {
        if (!c->grad[k])
            continue;
        char what[48];
        snprintf(what, sizeof what, "gradient of input %d", k);
        rc = compare(grad[0][k], grad[1][k], numel_of(c, k), tol, what, res);
    }
    for (int k = 0; k < c->nin; k++) {
        free(x[k]);
        free(grad[0][k]);
        free(grad[1][k]);
    }
    free(out[0]);
    free(out[1]);
    free(R);
    return rc;
}
