/* synth.c — synthetic snippet features on real annotation layouts (synth.h). */
#include "synth.h"
#include "../io/stream.h"
#include "../util/error.h"
#include "../util/mem.h"
#include "../util/rng.h"
#include "../util/strmap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIM    65536u
#define MAX_LATENT 256u
#define MAX_MODES  1024u
/* per sequence: features (1 GiB of f32), and snippet x segment work */
#define MAX_VALUES ((uint64_t)1 << 28)
#define MAX_WORK   ((uint64_t)1 << 33)

struct tal_synth {
    tal_synth_params p;
    uint32_t C, L, D;
    float *Wt;            /* (L, D): row l is column l of W */
    double *proto;        /* (C, L) m_c */
    double *ps, *pe;      /* (C, L) start and end phase offsets p_c, q_c */
    double *bg;           /* (K, L) background modes */
    uint32_t *group;      /* (C) */
    tal_rng seqroot;
};

/* ---- parameters ------------------------------------------------------ */

static const tal_synth_params SMALL = {
    .dim = 128, .latent = 32, .fps = 30, .stride = 16, .clip = 16,
};

typedef struct {
    const char *name;
    uint32_t group_size, bg_modes;
    double share, drift, variation, shift, bg_run, lookalike, lookalike_rate, noise, noise_time, ambient, soft;
} difficulty;

static const difficulty LEVELS[] = {
    /*            group modes share drift var  shift run lookalike rate noise ntime ambient soft */
    { "easy",    3, 4, 0.80, 0.30, 0.40, 0.40, 8, 0.35, 0.30, 0.60, 2.0, 0.5, 0.2 },
    { "default", 3, 6, 0.95, 0.60, 0.60, 0.60, 6, 0.65, 0.50, 0.80, 2.0, 0.5, 0.5 },
    { "hard",    3, 8, 0.98, 1.00, 0.90, 1.00, 4, 0.80, 0.80, 1.40, 2.0, 0.5, 1.0 },
};

static void set_level(tal_synth_params *p, const difficulty *d)
{
    p->group_size = d->group_size;
    p->bg_modes = d->bg_modes;
    p->share = d->share;
    p->drift = d->drift;
    p->variation = d->variation;
    p->shift = d->shift;
    p->bg_run = d->bg_run;
    p->lookalike = d->lookalike;
    p->lookalike_rate = d->lookalike_rate;
    p->noise = d->noise;
    p->noise_time = d->noise_time;
    p->ambient = d->ambient;
    p->soft = d->soft;
}

void tal_synth_defaults(tal_synth_params *p)
{
    *p = SMALL;
    set_level(p, &LEVELS[1]);
}

int tal_synth_preset(tal_synth_params *p, const char *name)
{
    for (size_t i = 0; i < sizeof LEVELS / sizeof *LEVELS; i++)
        if (!strcmp(name, LEVELS[i].name)) {
            set_level(p, &LEVELS[i]);
            return 0;
        }
    if (!strcmp(name, "small")) {
        p->dim = SMALL.dim;
        p->latent = SMALL.latent;
        p->fps = SMALL.fps;
        p->stride = SMALL.stride;
        p->clip = SMALL.clip;
        return 0;
    }
    if (!strcmp(name, "thumos")) {
        /* I3D-sized: 2048-d, 16-frame clips every 4 frames at 30 fps */
        p->dim = 2048;
        p->latent = SMALL.latent;
        p->fps = 30;
        p->stride = 4;
        p->clip = 16;
        return 0;
    }
    return -1;
}

int tal_synth_check(const tal_synth_params *p)
{
#define NEED(cond, ...) do { if (!(cond)) return tal_err(TAL_EINVAL, __VA_ARGS__); } while (0)
    NEED(p->dim >= 1 && p->dim <= MAX_DIM, "dim %u is not in 1..%u", p->dim, MAX_DIM);
    NEED(p->latent >= 1 && p->latent <= MAX_LATENT, "latent %u is not in 1..%u", p->latent, MAX_LATENT);
    NEED(p->fps > 0 && isfinite(p->fps) && p->stride > 0 && isfinite(p->stride) && p->clip > 0 && isfinite(p->clip),
         "the time grid needs positive fps, stride and clip");
    NEED(p->group_size >= 1, "group size must be at least 1");
    NEED(p->share >= 0 && p->share <= 1, "share must be in [0, 1]");
    NEED(p->lookalike >= 0 && p->lookalike <= 1, "lookalike must be in [0, 1]");
    NEED(p->lookalike_rate >= 0 && p->lookalike_rate <= 1, "lookalike rate must be in [0, 1]");
    NEED(p->bg_modes >= 1 && p->bg_modes <= MAX_MODES, "background modes must be in 1..%u", MAX_MODES);
    NEED(p->bg_run > 0 && p->noise_time > 0, "bg-run and noise-time must be positive");
    NEED(p->drift >= 0 && p->variation >= 0 && p->shift >= 0 && p->noise >= 0 && p->ambient >= 0 && p->soft >= 0 &&
             p->drift <= 1e3 && p->variation <= 1e3 && p->shift <= 1e3 && p->noise <= 1e3 && p->ambient <= 1e3 &&
             p->soft <= 1e6,
         "drift, variation, shift, noise, ambient and soft must be in [0, 1000]");
#undef NEED
    return 0;
}

int tal_synth_describe(const tal_synth_params *p, char *buf, size_t n)
{
    int k = snprintf(buf, n,
                     "seed %llu dim %u latent %u fps %g stride %g clip %g group-size %u share %g drift %g "
                     "variation %g shift %g bg-modes %u bg-run %g lookalike %g lookalike-rate %g noise %g "
                     "noise-time %g ambient %g soft %g",
                     (unsigned long long)p->seed, p->dim, p->latent, p->fps, p->stride, p->clip, p->group_size,
                     p->share, p->drift, p->variation, p->shift, p->bg_modes, p->bg_run, p->lookalike,
                     p->lookalike_rate, p->noise, p->noise_time, p->ambient, p->soft);
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

/* ---- the model -------------------------------------------------------- */

static void fill_normal(tal_rng *r, double *v, uint32_t n, double sd)
{
    for (uint32_t i = 0; i < n; i++)
        v[i] = sd * tal_rng_normal(r);
}

/* n normals with standard deviation sd, two per Box-Muller draw. */
static void fill_normal_f(tal_rng *r, float *v, uint32_t n, double sd)
{
    for (uint32_t i = 0; i < n; i += 2) {
        double u1 = 1.0 - tal_rng_double(r), u2 = tal_rng_double(r);
        double rad = sd * sqrt(-2.0 * log(u1)), a = 2.0 * M_PI * u2;
        v[i] = (float)(rad * cos(a));
        if (i + 1 < n)
            v[i + 1] = (float)(rad * sin(a));
    }
}

void tal_synth_free(tal_synth *s)
{
    if (!s)
        return;
    free(s->Wt);
    free(s->proto);
    free(s->ps);
    free(s->pe);
    free(s->bg);
    free(s->group);
    free(s);
}

tal_synth *tal_synth_new(const tal_synth_params *p, uint32_t nclasses)
{
    if (tal_synth_check(p))
        return NULL;
    if (!nclasses || nclasses > TAL_MAX_CLASSES) {
        tal_err(TAL_EINVAL, "synthetic features need a class table (1..%u classes)", TAL_MAX_CLASSES);
        return NULL;
    }
    tal_synth *s = tal_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->p = *p;
    uint32_t C = s->C = nclasses, L = s->L = p->latent, D = s->D = p->dim, K = p->bg_modes;
    s->Wt = tal_reallocarray(NULL, (size_t)L * D, sizeof *s->Wt);
    s->proto = tal_reallocarray(NULL, (size_t)C * L, sizeof *s->proto);
    s->ps = tal_reallocarray(NULL, (size_t)C * L, sizeof *s->ps);
    s->pe = tal_reallocarray(NULL, (size_t)C * L, sizeof *s->pe);
    s->bg = tal_reallocarray(NULL, (size_t)K * L, sizeof *s->bg);
    s->group = tal_reallocarray(NULL, C, sizeof *s->group);
    double *shared = tal_reallocarray(NULL, L, sizeof *shared);
    if (!s->Wt || !s->proto || !s->ps || !s->pe || !s->bg || !s->group || !shared) {
        free(shared);
        tal_synth_free(s);
        return NULL;
    }
    tal_rng root;
    tal_rng_seed(&root, p->seed);

    /* confusable groups: a random partition of the classes */
    tal_rng rg = tal_rng_split(&root, 1);
    for (uint32_t c = 0; c < C; c++)
        s->group[c] = c;
    tal_rng_shuffle_u32(&rg, s->group, C);
    uint32_t *perm = s->group, *grp = tal_reallocarray(NULL, C, sizeof *grp);
    if (!grp) {
        free(shared);
        tal_synth_free(s);
        return NULL;
    }
    for (uint32_t i = 0; i < C; i++)
        grp[perm[i]] = i / p->group_size;
    memcpy(s->group, grp, C * sizeof *grp);
    free(grp);

    /* prototypes: a group's shared part plus the class's own */
    tal_rng rs = tal_rng_split(&root, 2), ru = tal_rng_split(&root, 3), rp = tal_rng_split(&root, 4);
    double a = sqrt(p->share), b = sqrt(1 - p->share);
    for (uint32_t c = 0; c < C; c++) {
        tal_rng r1 = tal_rng_split(&rs, s->group[c]), r2 = tal_rng_split(&ru, c), r3 = tal_rng_split(&rp, c);
        fill_normal(&r1, shared, L, 1);
        fill_normal(&r2, s->proto + (size_t)c * L, L, 1);
        for (uint32_t l = 0; l < L; l++)
            s->proto[(size_t)c * L + l] = a * shared[l] + b * s->proto[(size_t)c * L + l];
        fill_normal(&r3, s->ps + (size_t)c * L, L, 1);
        fill_normal(&r3, s->pe + (size_t)c * L, L, 1);
    }
    free(shared);
    tal_rng rb = tal_rng_split(&root, 5);
    for (uint32_t k = 0; k < K; k++) {
        tal_rng r1 = tal_rng_split(&rb, k);
        fill_normal(&r1, s->bg + (size_t)k * L, L, 1);
    }
    /* W: (D, L) with entries N(0, 1/L), stored by columns */
    tal_rng rw = tal_rng_split(&root, 6);
    for (uint32_t l = 0; l < L; l++) {
        tal_rng r1 = tal_rng_split(&rw, l);
        fill_normal_f(&r1, s->Wt + (size_t)l * D, D, 1 / sqrt((double)L));
    }
    s->seqroot = tal_rng_split(&root, 7);
    return s;
}

uint32_t tal_synth_group(const tal_synth *s, uint32_t cls)
{
    return cls < s->C ? s->group[cls] : UINT32_MAX;
}

uint32_t tal_synth_nsnippets(const tal_synth_params *p, double duration)
{
    if (!(duration > 0) || !isfinite(duration))
        return 0;
    double frames = duration * p->fps;
    double t = frames < p->clip ? 1 : floor((frames - p->clip) / p->stride) + 1;
    return t > TAL_MAX_T ? 0 : (uint32_t)t;
}

/* ---- one sequence ------------------------------------------------------ */

typedef struct {
    double start, end;
    uint32_t cls;
    double weight;    /* 1 for instances; lookalike strength for episodes */
    double *v;        /* instance variation (L), or NULL */
} span;

static double ramp(double x)
{
    return x <= -0.5 ? 0 : x >= 0.5 ? 1 : x + 0.5;
}

/* Weight of a span at time c with ramps of width w, and the phase there. */
static double span_weight(const span *sp, double c, double w, double *phi)
{
    if (c <= sp->start - w / 2 || c >= sp->end + w / 2)
        return 0;
    double len = sp->end - sp->start;
    *phi = len > 0 ? (c - sp->start) / len : 0.5;
    *phi = *phi < 0 ? 0 : *phi > 1 ? 1 : *phi;
    return ramp((c - sp->start) / w) * ramp((sp->end - c) / w);
}

/* act += wt * m_c(phi) */
static void add_proto(const tal_synth *s, double *act, uint32_t c, double phi, double wt)
{
    const double *m = s->proto + (size_t)c * s->L, *ps = s->ps + (size_t)c * s->L, *pe = s->pe + (size_t)c * s->L;
    double hs = 1 - 2 * phi, he = 2 * phi - 1, d = s->p.drift;
    hs = hs > 0 ? hs * d : 0;
    he = he > 0 ? he * d : 0;
    for (uint32_t l = 0; l < s->L; l++)
        act[l] += wt * (m[l] + hs * ps[l] + he * pe[l]);
}

int tal_synth_generate(const tal_synth *s, tal_record *r)
{
    const tal_synth_params *p = &s->p;
    uint32_t L = s->L, D = s->D, T = tal_synth_nsnippets(p, r->duration);
    if (!T)
        return tal_err(TAL_EINVAL, "'%s': duration %g s gives no snippets on the grid", r->id, r->duration);
    if ((uint64_t)T * D > MAX_VALUES)
        return tal_err(TAL_EINVAL, "'%s': %u snippets of %u dimensions is over %llu values (a larger stride helps)",
                       r->id, T, D, (unsigned long long)MAX_VALUES);
    if ((uint64_t)T * r->segs.n > MAX_WORK)
        return tal_err(TAL_EINVAL, "'%s': %u segments over %u snippets is too many", r->id, r->segs.n, T);
    int rc = tal_record_alloc_features(r, T, D);
    if (rc)
        return rc;
    r->feat_dtype = TAL_DTYPE_F32;

    tal_rng rs = tal_rng_split(&s->seqroot, tal_hash_str(r->id));
    tal_rng r_dom = tal_rng_split(&rs, 0), r_bg = tal_rng_split(&rs, 1), r_ep = tal_rng_split(&rs, 2),
            r_var = tal_rng_split(&rs, 3), r_noise = tal_rng_split(&rs, 4), r_amb = tal_rng_split(&rs, 5);

    /* instances, then look-alike episodes (2 per instance at most, 1 per ambiguous segment) */
    uint32_t nseg = r->segs.n;
    span *sp = tal_reallocarray(NULL, (size_t)nseg * 3 + 1, sizeof *sp);
    double *vbuf = tal_reallocarray(NULL, (size_t)nseg * L + 1, sizeof *vbuf);
    double *work = tal_reallocarray(NULL, (size_t)L * 4, sizeof *work);
    if (!sp || !vbuf || !work) {
        free(sp);
        free(vbuf);
        free(work);
        return TAL_ENOMEM;
    }
    double *off = work, *z = work + L, *act = work + 2 * L, *bg = work + 3 * L;
    uint32_t ninst = 0, nsp;
    for (uint32_t i = 0; i < nseg; i++) {
        const tal_segment *g = &r->segs.v[i];
        if (g->cls < 0 || (uint32_t)g->cls >= s->C || (g->flags & TAL_SEG_AMBIGUOUS) || !(g->end > g->start))
            continue;
        span *q = &sp[ninst];
        *q = (span){ g->start, g->end, (uint32_t)g->cls, 1, vbuf + (size_t)ninst * L };
        fill_normal(&r_var, q->v, L, p->variation);
        ninst++;
    }
    nsp = ninst;
    for (uint32_t i = 0; i < ninst; i++) {
        double len = sp[i].end - sp[i].start, reach = len > 1 ? len : 1;
        for (int side = 0; side < 2; side++) {
            /* draw every number whether or not the episode happens, so
             * that one knob does not reshuffle the others */
            double u = tal_rng_double(&r_ep), el = len * (0.3 + 0.7 * tal_rng_double(&r_ep)),
                   gap = reach * tal_rng_double(&r_ep);
            if (u >= p->lookalike_rate || p->lookalike <= 0)
                continue;
            double st = side ? sp[i].end + gap : sp[i].start - gap - el;
            sp[nsp++] = (span){ st, st + el, sp[i].cls, p->lookalike, NULL };
        }
    }
    for (uint32_t i = 0; i < nseg; i++) {
        const tal_segment *g = &r->segs.v[i];
        if (!(g->flags & TAL_SEG_AMBIGUOUS) || !(g->end > g->start))
            continue;
        /* THUMOS "Ambiguous": half an action of some class */
        uint32_t c = tal_rng_below(&r_ep, s->C);
        sp[nsp++] = (span){ g->start, g->end, c, 0.5, NULL };
    }

    /* the sequence's domain */
    fill_normal(&r_dom, off, L, p->shift);
    double gain = exp(0.5 * p->shift * tal_rng_normal(&r_dom));

    double dt = p->stride / p->fps, w = p->soft + p->clip / p->fps;
    double stay = exp(-dt / p->bg_run), rho = exp(-dt / p->noise_time), innov = sqrt(1 - rho * rho);
    uint32_t K = p->bg_modes, mode = tal_rng_below(&r_bg, K);
    double *nz = tal_reallocarray(NULL, L, sizeof *nz);
    if (!nz) {
        free(sp);
        free(vbuf);
        free(work);
        return TAL_ENOMEM;
    }
    for (uint32_t l = 0; l < L; l++)
        nz[l] = p->noise * tal_rng_normal(&r_noise);

    for (uint32_t t = 0; t < T; t++) {
        double c = (t * p->stride + p->clip / 2) / p->fps;
        /* background: a sticky chain over the modes */
        if (t && K > 1 && tal_rng_double(&r_bg) >= stay) {
            uint32_t k = tal_rng_below(&r_bg, K - 1);
            mode = k >= mode ? k + 1 : k;
        }
        memcpy(bg, s->bg + (size_t)mode * L, L * sizeof *bg);
        /* look-alike episodes: the strongest one blends in its class */
        double best = 0, bphi = 0;
        uint32_t bcls = 0;
        for (uint32_t i = ninst; i < nsp; i++) {
            double phi, a = sp[i].weight * span_weight(&sp[i], c, w, &phi);
            if (a > best) {
                best = a;
                bphi = phi;
                bcls = sp[i].cls;
            }
        }
        if (best > 0) {
            for (uint32_t l = 0; l < L; l++)
                bg[l] *= 1 - best;
            add_proto(s, bg, bcls, bphi, best);
        }
        /* actions */
        double A = 0;
        memset(act, 0, L * sizeof *act);
        for (uint32_t i = 0; i < ninst; i++) {
            double phi, a = span_weight(&sp[i], c, w, &phi);
            if (a <= 0)
                continue;
            A += a;
            add_proto(s, act, sp[i].cls, phi, a);
            for (uint32_t l = 0; l < L; l++)
                act[l] += a * sp[i].v[l];
        }
        double alpha = A < 1 ? A : 1, norm = A > 0 ? alpha / A : 0;
        /* correlated noise */
        if (t)
            for (uint32_t l = 0; l < L; l++)
                nz[l] = rho * nz[l] + innov * p->noise * tal_rng_normal(&r_noise);
        for (uint32_t l = 0; l < L; l++)
            z[l] = gain * (norm * act[l] + (1 - alpha) * bg[l]) + off[l] + nz[l];
        /* x = W z + ambient noise */
        float *x = r->feat + (size_t)t * D;
        if (p->ambient > 0)
            fill_normal_f(&r_amb, x, D, p->ambient);
        else
            memset(x, 0, D * sizeof *x);
        for (uint32_t l = 0; l < L; l++) {
            const float *col = s->Wt + (size_t)l * D;
            float zl = (float)z[l];
            for (uint32_t d = 0; d < D; d++)
                x[d] += zl * col[d];
        }
    }
    free(nz);
    free(sp);
    free(vbuf);
    free(work);
    return 0;
}
