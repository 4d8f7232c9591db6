/* detgen — deterministic synthetic detections for tests and benchmarks
 * (not installed).
 *
 *   detgen dets GT.tal N SEED OUT.tal
 *       for every record of GT.tal, N detections: about a third near its
 *       ground-truth instances (shifted and stretched, mostly the right
 *       class), the rest anywhere in the sequence with any class; scores
 *       higher for the better ones.  Ground truth is not copied.
 *   detgen dist IN.tal SEED OUT.tal
 *       adds snippet class scores (T x classes, on the header's time grid,
 *       or 100 snippets over the duration) peaking on the ground truth
 *   detgen candidates NSEQ NCAND NCLASS SEED OUT.tal
 *       NSEQ sequences of 60-600 s, NCAND candidates each over NCLASS
 *       classes, clustered around a few hidden instances per sequence, as
 *       a detector's raw output before NMS.
 * Scores are drawn as doubles rounded to 6 decimals, like published result
 * files, so ties occur as they do in real files.
 */
#include "tal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double round6(double x)
{
    return floor(x * 1e6 + 0.5) / 1e6;
}

static double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

static int fail(void)
{
    fprintf(stderr, "detgen: %s\n", tal_errmsg());
    return 1;
}

static int cmd_dets(const char *gt, long n, uint64_t seed, const char *out)
{
    tal_stream *in = tal_stream_open(gt);
    if (!in)
        return fail();
    tal_stream_skip(in, TAL_HAS_FEATURES | TAL_HAS_DIST);
    tal_header h;
    tal_header_init(&h);
    if (tal_header_copy(&h, tal_stream_header(in)) || tal_header_add_prov(&h, "detgen", TAL_VERSION, 0, NULL))
        return fail();
    h.feat_dim = 0;
    tal_write_opts wo = { 0 };
    tal_stream *w = tal_stream_create(out, &h, &wo);
    if (!w)
        return fail();
    uint32_t ncls = h.classes.n ? h.classes.n : 1;
    tal_rng root;
    tal_rng_seed(&root, seed);
    tal_record r;
    tal_record_init(&r);
    int rc;
    uint64_t k = 0;
    while ((rc = tal_record_read(in, &r)) > 0) {
        tal_rng g = tal_rng_split(&root, k++);
        double dur = r.duration;
        for (uint32_t i = 0; i < r.segs.n; i++)
            if (r.segs.v[i].end > dur)
                dur = r.segs.v[i].end;
        if (!(dur > 0))
            dur = 100;
        tal_segset_clear(&r.dets);
        uint32_t ninst = 0;
        for (uint32_t i = 0; i < r.segs.n; i++)
            ninst += r.segs.v[i].cls >= 0 && !(r.segs.v[i].flags & TAL_SEG_AMBIGUOUS);
        for (long j = 0; j < n; j++) {
            tal_segment d = { 0 };
            int near = ninst && tal_rng_double(&g) < 0.35;
            if (near) {
                uint32_t pick = tal_rng_below(&g, ninst), i = 0;
                for (;; i++)
                    if (r.segs.v[i].cls >= 0 && !(r.segs.v[i].flags & TAL_SEG_AMBIGUOUS) && pick-- == 0)
                        break;
                const tal_segment *s = &r.segs.v[i];
                double len = s->end - s->start, c = 0.5 * (s->start + s->end);
                double err = tal_rng_double(&g);
                c += (tal_rng_double(&g) - 0.5) * len * err;
                len *= exp((tal_rng_double(&g) - 0.5) * 1.2 * err);
                d.start = clamp(c - len / 2, 0, dur);
                d.end = clamp(c + len / 2, 0, dur);
                d.cls = tal_rng_double(&g) < 0.8 ? s->cls : (int32_t)tal_rng_below(&g, ncls);
                d.score = round6(0.3 + 0.7 * (1 - err) * tal_rng_double(&g));
            } else {
                double len = dur * pow(tal_rng_double(&g), 2) * 0.8 + 0.1;
                double st = tal_rng_double(&g) * (dur - len > 0 ? dur - len : 0);
                d.start = st;
                d.end = clamp(st + len, 0, dur);
                d.cls = (int32_t)tal_rng_below(&g, ncls);
                d.score = round6(0.5 * tal_rng_double(&g) * tal_rng_double(&g));
            }
            if (d.end <= d.start)
                d.end = d.start + 0.01;
            if (tal_segset_push(&r.dets, &d))
                return fail();
        }
        r.present |= TAL_HAS_DETECTIONS;
        r.present &= ~TAL_HAS_SEGMENTS;
        tal_segset_clear(&r.segs);
        if (tal_record_write(w, &r))
            return fail();
    }
    if (rc < 0 || tal_stream_finish(w))
        return fail();
    tal_record_free(&r);
    tal_header_free(&h);
    tal_stream_close(in);
    return 0;
}

static int cmd_dist(const char *path, uint64_t seed, const char *out)
{
    tal_stream *in = tal_stream_open(path);
    if (!in)
        return fail();
    tal_header h;
    tal_header_init(&h);
    if (tal_header_copy(&h, tal_stream_header(in)))
        return fail();
    tal_write_opts wo = { 0 };
    tal_stream *w = tal_stream_create(out, &h, &wo);
    if (!w)
        return fail();
    uint32_t K = h.classes.n ? h.classes.n : 1;
    tal_rng root;
    tal_rng_seed(&root, seed);
    tal_record r;
    tal_record_init(&r);
    int rc;
    uint64_t k = 0;
    while ((rc = tal_record_read(in, &r)) > 0) {
        tal_rng g = tal_rng_split(&root, k++);
        double fps = tal_record_fps(&r, &h), dur = r.duration > 0 ? r.duration : 100;
        int grid = fps > 0 && h.stride > 0;
        uint32_t T = grid ? (uint32_t)ceil(dur * fps / h.stride) : 100;
        if (T < 2)
            T = 2;
        if (tal_record_alloc_dist(&r, T, K))
            return fail();
        for (uint32_t t = 0; t < T; t++) {
            double sec = grid ? (t * h.stride + h.clip / 2) / fps : (t + 0.5) * dur / T;
            for (uint32_t c = 0; c < K; c++) {
                double v = 0.05 * tal_rng_double(&g);
                for (uint32_t i = 0; i < r.segs.n; i++) {
                    const tal_segment *s = &r.segs.v[i];
                    if (s->cls != (int32_t)c)
                        continue;
                    double mid = 0.5 * (s->start + s->end), half = 0.5 * (s->end - s->start) + 0.5;
                    double z = (sec - mid) / half;
                    v += 0.9 * exp(-z * z * z * z);
                }
                r.dist[(size_t)t * K + c] = (float)(v > 1 ? 1 : v);
            }
        }
        if (tal_record_write(w, &r))
            return fail();
    }
    if (rc < 0 || tal_stream_finish(w))
        return fail();
    tal_record_free(&r);
    tal_header_free(&h);
    tal_stream_close(in);
    return 0;
}

static int cmd_candidates(long nseq, long ncand, long ncls, uint64_t seed, const char *out)
{
    tal_header h;
    tal_header_init(&h);
    for (long c = 0; c < ncls; c++) {
        char name[32];
        snprintf(name, sizeof name, "class%02ld", c);
        if (tal_classes_add(&h.classes, name, -1))
            return fail();
    }
    h.fps = 30;
    h.stride = 4;
    h.clip = 16;
    if (tal_header_add_prov(&h, "detgen", TAL_VERSION, 0, NULL))
        return fail();
    tal_write_opts wo = { 0 };
    tal_stream *w = tal_stream_create(out, &h, &wo);
    if (!w)
        return fail();
    tal_rng root;
    tal_rng_seed(&root, seed);
    tal_record r;
    tal_record_init(&r);
    for (long k = 0; k < nseq; k++) {
        tal_rng g = tal_rng_split(&root, (uint64_t)k);
        char id[32];
        snprintf(id, sizeof id, "seq_%04ld", k);
        tal_record_clear(&r);
        if (tal_record_set_id(&r, id) || tal_record_set_subset(&r, "test"))
            return fail();
        double dur = 60 + 540 * tal_rng_double(&g);
        r.duration = dur;
        r.role = TAL_ROLE_TEST;
        enum { NI = 16 };
        double ic[NI], il[NI];
        int32_t icls[NI];
        for (int i = 0; i < NI; i++) {
            il[i] = 1 + 20 * tal_rng_double(&g);
            ic[i] = il[i] / 2 + (dur - il[i]) * tal_rng_double(&g);
            icls[i] = (int32_t)tal_rng_below(&g, (uint32_t)ncls);
        }
        for (long j = 0; j < ncand; j++) {
            tal_segment d = { 0 };
            if (tal_rng_double(&g) < 0.7) {
                int i = (int)tal_rng_below(&g, NI);
                double len = il[i] * exp(0.5 * tal_rng_normal(&g));
                double c = ic[i] + 0.3 * il[i] * tal_rng_normal(&g);
                d.start = clamp(c - len / 2, 0, dur);
                d.end = clamp(c + len / 2, 0, dur);
                d.cls = tal_rng_double(&g) < 0.6 ? icls[i] : (int32_t)tal_rng_below(&g, (uint32_t)ncls);
                d.score = round6(tal_rng_double(&g));
            } else {
                double len = 0.5 + 30 * pow(tal_rng_double(&g), 2);
                double st = (dur - len) * tal_rng_double(&g);
                d.start = st;
                d.end = st + len;
                d.cls = (int32_t)tal_rng_below(&g, (uint32_t)ncls);
                d.score = round6(0.3 * tal_rng_double(&g));
            }
            if (d.end <= d.start)
                d.end = d.start + 0.01;
            if (tal_segset_push(&r.dets, &d))
                return fail();
        }
        r.present |= TAL_HAS_DETECTIONS;
        if (tal_record_write(w, &r))
            return fail();
    }
    if (tal_stream_finish(w))
        return fail();
    tal_record_free(&r);
    tal_header_free(&h);
    return 0;
}

static int number(const char *s, long lo, long hi, long *v)
{
    char *end;
    *v = strtol(s, &end, 10);
    if (!*s || *end || *v < lo || *v > hi) {
        fprintf(stderr, "detgen: bad number '%s'\n", s);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long a, b, c, seed;
    if (argc == 6 && !strcmp(argv[1], "dets")) {
        if (number(argv[3], 1, 1000000, &a) || number(argv[4], 0, 1L << 40, &seed))
            return 2;
        return cmd_dets(argv[2], a, (uint64_t)seed, argv[5]);
    }
    if (argc == 5 && !strcmp(argv[1], "dist")) {
        if (number(argv[3], 0, 1L << 40, &seed))
            return 2;
        return cmd_dist(argv[2], (uint64_t)seed, argv[4]);
    }
    if (argc == 7 && !strcmp(argv[1], "candidates")) {
        if (number(argv[2], 1, 1000000, &a) || number(argv[3], 1, 10000000, &b) || number(argv[4], 1, 100000, &c) ||
            number(argv[5], 0, 1L << 40, &seed))
            return 2;
        return cmd_candidates(a, b, c, (uint64_t)seed, argv[6]);
    }
    fprintf(stderr, "usage: detgen dets GT.tal N SEED OUT.tal\n"
                    "       detgen dist IN.tal SEED OUT.tal\n"
                    "       detgen candidates NSEQ NCAND NCLASS SEED OUT.tal\n");
    return 2;
}
