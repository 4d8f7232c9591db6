/* labelsplit — split a labelled stream into labelled and unlabelled parts.
 *
 * Pass 1 reads the labels (features skipped) and decides the split; pass 2
 * reads the input again and writes the parts.  When the input cannot be
 * read twice (a pipe), pass 1 keeps whole records in memory instead.
 */
#include "common/cli.h"
#include "data/annoset.h"
#include "data/split.h"
#include "io/anno.h"
#include "util/strmap.h"
#include "util/text.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static int usage(FILE *fp, int status)
{
    fprintf(fp,
"Usage: labelsplit (-r R | -k K | --split-file FILE) -o LABELLED [-u UNLABELLED] [IN.tal]\n"
"Split a stream into labelled and unlabelled sequences (man labelsplit).\n"
"\n"
"How to split (one of):\n"
"  -r, --labelled-fraction R  label a random fraction R (0 < R <= 1) of the sequences\n"
"      --stratify             with -r: every class gets at least one labelled sequence\n"
"  -k, --per-class K          the first K sequences of each class fully labelled; the\n"
"                             rest keep video-level labels (TTC-Loc's Semi(K))\n"
"      --shuffle              with -k: first in a random order drawn from --seed\n"
"      --split-file FILE      a published split: SPOT's video_info_new_<r>.csv (subset\n"
"                             'training' labelled, 'training_unlabel' not) or a list of\n"
"                             labelled ids, one per line\n"
"      --seed S               random seed [0]\n"
"Supervision of the labelled part:\n"
"      --supervision KIND     full (default), point or video\n"
"      --points MODE          with point: centre (default), uniform, gaussian[:SPREAD]\n"
"                             (s.d. SPREAD x instance length, default 0.1), or real\n"
"      --points-file FILE     real point labels (LACP/HR-Pro CSV or SF-Net text)\n"
"      --fps F                frame rate for point files given in frames\n"
"      --point-segments W     with point: then each point becomes a segment W seconds\n"
"                             long centred on it, flagged pseudo, and the part is fully\n"
"                             supervised (a naive baseline's labels)\n"
"Outputs:\n"
"  -o, --labelled FILE        the labelled part (required)\n"
"  -u, --unlabelled FILE      the unlabelled part: labels removed\n"
"      --oracle FILE          the unlabelled part with its ground truth (diagnostics only)\n"
"  -l, --level N              deflate level 0-9 [0]\n"
"  -f, --force                write a binary stream to a terminal\n"
"  -v, --verbose              print the split's counts on stderr\n"
);
    cli_usage_footer(fp, 29);
    return status;
}

enum { OPT_STRATIFY = 256, OPT_SHUFFLE, OPT_SPLIT_FILE, OPT_SEED, OPT_SUP, OPT_POINTS, OPT_POINTS_FILE, OPT_FPS, OPT_ORACLE,
       OPT_VERSION, OPT_POINT_SEGMENTS };

enum { PART_SKIP = 0, PART_LABELLED = 1, PART_UNLABELLED = 2 };

typedef struct {
    double frac, spread, fps, point_segments;
    long per_class;
    const char *split_file, *points_file, *lab, *unl, *oracle, *input;
    uint64_t seed;
    int stratify, shuffle, sup, points_mode, real_points, level, force, verbose;
} options;

/* ---- published splits ----------------------------------------------------- */

/* SPOT's CSV (video,...,subset,...) or a plain list of labelled ids.
 * Sets part[i] for each input sequence; unmentioned ones are skipped for
 * the CSV form and unlabelled for the list form. */
static int apply_split_file(const char *path, char **ids, uint32_t n, uint8_t *part, long *unmentioned)
{
    tal_strmap index;
    tal_strmap_init(&index);
    int rc = 0;
    for (uint32_t i = 0; i < n && !rc; i++)
        rc = tal_strmap_put(&index, ids[i], i);
    tal_lines *l = rc ? NULL : tal_lines_open(path);
    if (!l) {
        tal_strmap_free(&index);
        return rc ? rc : tal_errcode();
    }
    char *line, *f[64];
    size_t len;
    int csv = -1, cid = -1, csub = -1;
    uint8_t *seen = calloc(n ? n : 1, 1);
    while (seen && (rc = tal_lines_next(l, &line, &len)) > 0) {
        char *s = tal_trim(line);
        if (!*s || *s == '#')
            continue;
        if (csv < 0) {
            csv = strchr(s, ',') != NULL && strstr(s, "subset") != NULL;
            if (csv) {
                int nf = tal_split(s, ',', f, 64);
                for (int k = 0; k < nf; k++) {
                    if (!strcasecmp(f[k], "subset"))
                        csub = k;
                    if (cid < 0 && (!strcasecmp(f[k], "video") || !strcasecmp(f[k], "video_id") || !strcasecmp(f[k], "id")))
                        cid = k;
                }
                if (cid < 0) {
                    rc = tal_err(TAL_EINVAL, "bad split file: '%s' line 1: no video id column", path);
                    break;
                }
                continue;
            }
        }
        if (csv) {
            int nf = tal_split(s, ',', f, 64);
            if (nf <= csub || nf <= cid) {
                rc = tal_err(TAL_EINVAL, "bad split file: '%s' line %ld: too few fields", path, tal_lines_lineno(l));
                break;
            }
            int64_t i = tal_strmap_get(&index, f[cid]);
            if (i < 0)
                continue;
            seen[i] = 1;
            const char *sub = f[csub];
            if (strstr(sub, "unlabel"))
                part[i] = PART_UNLABELLED;
            else if (!strcasecmp(sub, "training") || !strcasecmp(sub, "train") || !strcasecmp(sub, "labelled") ||
                     !strcasecmp(sub, "labeled"))
                part[i] = PART_LABELLED;
            else
                part[i] = PART_SKIP;
        } else {
            int64_t i = tal_strmap_get(&index, s);
            if (i >= 0) {
                part[i] = PART_LABELLED;
                seen[i] = 1;
            }
        }
    }
    tal_lines_close(l);
    if (!seen && !rc)
        rc = tal_err(TAL_ENOMEM, "out of memory");
    *unmentioned = 0;
    for (uint32_t i = 0; seen && i < n && rc >= 0; i++)
        if (!seen[i]) {
            part[i] = csv == 1 ? PART_SKIP : PART_UNLABELLED;
            ++*unmentioned;
        }
    free(seen);
    tal_strmap_free(&index);
    return rc < 0 ? rc : 0;
}

/* ---- record transformations ---------------------------------------------- */

static void strip_labels(tal_record *r)
{
    tal_segset_clear(&r->segs);
    r->npoints = 0;
    r->nlabels = 0;
    r->present &= ~(TAL_HAS_SEGMENTS | TAL_HAS_POINTS | TAL_HAS_LABELS);
}

static int make_labelled(const options *o, tal_record *r, const tal_annoset *real, tal_rng *g, long *no_points)
{
    int rc = 0;
    if (r->present & TAL_HAS_SEGMENTS)
        rc = tal_record_labels_from_segments(r);
    if (rc)
        return rc;
    switch (o->sup) {
    case TAL_SUP_FULL:
        r->npoints = 0;
        r->present &= ~TAL_HAS_POINTS;
        break;
    case TAL_SUP_POINT:
        if (o->real_points) {
            const tal_record *p = real ? tal_annoset_find((tal_annoset *)real, r->id) : r;
            uint32_t np = p ? p->npoints : 0;
            tal_point *copy = np ? malloc(np * sizeof *copy) : NULL;
            if (np && !copy)
                return TAL_ENOMEM;
            if (np)
                memcpy(copy, p->points, np * sizeof *copy);
            r->npoints = 0;
            for (uint32_t i = 0; i < np && !rc; i++)
                rc = tal_record_add_point(r, copy[i].time, copy[i].cls, copy[i].weight);
            free(copy);
            r->present |= TAL_HAS_POINTS;
            if (!np && tal_record_ninstances(r))
                ++*no_points;
        } else {
            rc = tal_points_from_segments(r, o->points_mode, o->spread, g);
        }
        tal_record_sort_points(r);
        for (uint32_t i = 0; i < r->npoints && !rc; i++)
            rc = tal_record_add_label(r, r->points[i].cls, 1.0f);
        tal_segset_clear(&r->segs);
        r->present &= ~TAL_HAS_SEGMENTS;
        break;
    case TAL_SUP_VIDEO:
        tal_segset_clear(&r->segs);
        r->npoints = 0;
        r->present &= ~(TAL_HAS_SEGMENTS | TAL_HAS_POINTS);
        break;
    }
    r->supervision = (uint8_t)o->sup;
    if (!rc && o->sup == TAL_SUP_POINT && o->point_segments > 0) {
        /* the naive reading of a point: a segment of fixed length around it */
        tal_segset_clear(&r->segs);
        for (uint32_t i = 0; i < r->npoints && !rc; i++) {
            double h = o->point_segments / 2, t = r->points[i].time;
            tal_segment s = { t - h > 0 ? t - h : 0, r->duration > 0 && t + h > r->duration ? r->duration : t + h, 1.0,
                              r->points[i].cls, TAL_SEG_PSEUDO, { 0 } };
            rc = tal_segset_push(&r->segs, &s);
        }
        r->present |= TAL_HAS_SEGMENTS;
        r->present &= ~TAL_HAS_POINTS;
        r->npoints = 0;
        r->supervision = TAL_SUP_FULL;
    }
    return rc;
}

/* ---- main ------------------------------------------------------------------- */

typedef struct {
    tal_stream *lab, *unl, *oracle;
} outputs;

static void abort_outputs(outputs *w)
{
    tal_stream_abort(w->lab);
    tal_stream_abort(w->unl);
    tal_stream_abort(w->oracle);
    memset(w, 0, sizeof *w);
}

static tal_stream *create_part(const options *o, const char *path, const tal_header *in, const char *part)
{
    tal_header h;
    if (tal_header_copy(&h, in))
        return NULL;
    tal_stream *s = NULL;
    if (!cli_add_prov(&h) && !tal_header_set_meta(&h, "labelsplit.part", part)) {
        tal_write_opts wo = { .level = o->level, .force = o->force };
        s = tal_stream_create(path, &h, &wo);
    }
    tal_header_free(&h);
    return s;
}

int main(int argc, char **argv)
{
    cli_init("labelsplit", argc, argv);
    static const struct option longopts[] = {
        { "labelled-fraction", required_argument, 0, 'r' }, { "stratify", no_argument, 0, OPT_STRATIFY },
        { "shuffle", no_argument, 0, OPT_SHUFFLE },
        { "per-class", required_argument, 0, 'k' }, { "split-file", required_argument, 0, OPT_SPLIT_FILE },
        { "seed", required_argument, 0, OPT_SEED }, { "supervision", required_argument, 0, OPT_SUP },
        { "points", required_argument, 0, OPT_POINTS }, { "points-file", required_argument, 0, OPT_POINTS_FILE },
        { "fps", required_argument, 0, OPT_FPS }, { "labelled", required_argument, 0, 'o' },
        { "point-segments", required_argument, 0, OPT_POINT_SEGMENTS },
        { "unlabelled", required_argument, 0, 'u' }, { "oracle", required_argument, 0, OPT_ORACLE },
        { "level", required_argument, 0, 'l' }, { "force", no_argument, 0, 'f' },
        { "verbose", no_argument, 0, 'v' }, { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' }, { "version", no_argument, 0, OPT_VERSION }, { 0, 0, 0, 0 },
    };
    options o = { .frac = -1, .per_class = -1, .sup = TAL_SUP_FULL, .points_mode = TAL_POINTS_CENTRE, .spread = 0.1 };
    int c, nsplit = 0;
    long lv;
    while ((c = getopt_long(argc, argv, "r:k:o:u:l:fvqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': if (cli_double("--labelled-fraction", optarg, 1e-9, 1, &o.frac)) return 2; nsplit++; break;
        case OPT_STRATIFY: o.stratify = 1; break;
        case OPT_SHUFFLE: o.shuffle = 1; break;
        case 'k': if (cli_int("--per-class", optarg, 1, 1L << 30, &o.per_class)) return 2; nsplit++; break;
        case OPT_SPLIT_FILE: o.split_file = optarg; nsplit++; break;
        case OPT_SEED: if (cli_u64("--seed", optarg, &o.seed)) return 2; break;
        case OPT_SUP:
            o.sup = tal_supervision_parse(optarg);
            if (o.sup != TAL_SUP_FULL && o.sup != TAL_SUP_POINT && o.sup != TAL_SUP_VIDEO)
                return cli_usage_error("invalid --supervision '%s' (full, point or video)", optarg);
            break;
        case OPT_POINTS:
            if (!strcmp(optarg, "centre") || !strcmp(optarg, "center")) {
                o.points_mode = TAL_POINTS_CENTRE;
            } else if (!strcmp(optarg, "uniform")) {
                o.points_mode = TAL_POINTS_UNIFORM;
            } else if (!strcmp(optarg, "real")) {
                o.real_points = 1;
            } else if (!strncmp(optarg, "gaussian", 8) && (!optarg[8] || optarg[8] == ':')) {
                o.points_mode = TAL_POINTS_GAUSSIAN;
                if (optarg[8] && cli_double("--points gaussian:SPREAD", optarg + 9, 0, 10, &o.spread))
                    return 2;
            } else {
                return cli_usage_error("invalid --points '%s' (centre, uniform, gaussian[:SPREAD] or real)", optarg);
            }
            break;
        case OPT_POINTS_FILE: o.points_file = optarg; o.real_points = 1; break;
        case OPT_FPS: if (cli_double("--fps", optarg, 1e-6, 1e9, &o.fps)) return 2; break;
        case OPT_POINT_SEGMENTS:
            if (cli_double("--point-segments", optarg, 1e-6, 1e9, &o.point_segments))
                return 2;
            break;
        case 'o': o.lab = optarg; break;
        case 'u': o.unl = optarg; break;
        case OPT_ORACLE: o.oracle = optarg; break;
        case 'l': if (cli_int("--level", optarg, 0, 9, &lv)) return 2; o.level = (int)lv; break;
        case 'f': o.force = 1; break;
        case 'v': o.verbose = 1; break;
        case 'q': tal_set_quiet(1); break;
        case 'h': return usage(stdout, 0) || cli_close_stdout();
        case OPT_VERSION: return cli_version();
        default: return usage(stderr, 2);
        }
    }
    if (nsplit != 1)
        return cli_usage_error("choose exactly one of --labelled-fraction, --per-class and --split-file");
    if (!o.lab)
        return cli_usage_error("the labelled output is required (-o FILE)");
    if (o.stratify && o.frac < 0)
        return cli_usage_error("--stratify goes with --labelled-fraction");
    if (o.shuffle && o.per_class < 0)
        return cli_usage_error("--shuffle goes with --per-class");
    if (o.real_points && o.sup != TAL_SUP_POINT) {
        if (o.points_file && o.sup == TAL_SUP_FULL)
            o.sup = TAL_SUP_POINT;   /* --points-file alone means point supervision */
        else
            return cli_usage_error("--points real and --points-file go with --supervision point");
    }
    if (o.point_segments > 0 && o.sup != TAL_SUP_POINT)
        return cli_usage_error("--point-segments goes with point supervision (--supervision point or --points-file)");
    if (argc - optind > 1)
        return cli_usage_error("one input at most");
    o.input = optind < argc ? argv[optind] : "-";
    const char *outs[] = { o.lab, o.unl, o.oracle };
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (outs[i] && outs[j] && strcmp(outs[i], "-") && !strcmp(outs[i], outs[j]))
                return cli_usage_error("two outputs are the same file '%s'", outs[i]);
    if ((!strcmp(o.lab, "-")) + (o.unl && !strcmp(o.unl, "-")) + (o.oracle && !strcmp(o.oracle, "-")) > 1)
        return cli_usage_error("only one output can be standard output");

    /* pass 1: ids and classes; whole records too when the input is a pipe */
    struct stat st;
    int seekable = strcmp(o.input, "-") && !stat(o.input, &st) && S_ISREG(st.st_mode);
    tal_stream *in = tal_stream_open(o.input);
    if (!in)
        return cli_fail();
    if (seekable)
        tal_stream_skip(in, TAL_HAS_FEATURES | TAL_HAS_DIST);
    tal_header hdr;
    tal_seqclasses sc;
    tal_record r;
    tal_annoset held, real;   /* held: pass-1 records for pipes; real: --points-file */
    outputs w = { 0 };
    char **ids = NULL;
    uint8_t *part = NULL, *labelled = NULL;
    uint32_t n = 0;
    long no_points = 0, unmentioned = 0;
    int rc = tal_header_copy(&hdr, tal_stream_header(in));
    tal_seqclasses_init(&sc, hdr.classes.n);
    tal_record_init(&r);
    tal_annoset_init(&held);
    tal_annoset_init(&real);
    if (rc)
        goto fail;
    tal_strmap seen_ids;
    tal_strmap_init(&seen_ids);
    while ((rc = tal_record_read(in, &r)) > 0) {
        if (tal_strmap_get(&seen_ids, r.id) >= 0) {
            rc = tal_err(TAL_EINVAL, "bad input: '%s': sequence id '%s' appears twice", o.input, r.id);
            break;
        }
        if (tal_strmap_put(&seen_ids, r.id, n)) {
            rc = TAL_ENOMEM;
            break;
        }
        char **p = realloc(ids, (size_t)(n + 1) * sizeof *p);
        if (!p || !(p[n] = strdup(r.id)) || (rc = tal_seqclasses_add(&sc, &r))) {
            ids = p;
            rc = rc ? rc : tal_err(TAL_ENOMEM, "out of memory");
            break;
        }
        ids = p;
        if (!seekable) {
            tal_record *k = tal_annoset_get(&held, r.id);
            if (!k || (rc = tal_record_copy(k, &r))) {
                rc = rc ? rc : TAL_ENOMEM;
                break;
            }
        }
        n++;
    }
    tal_stream_close(in);
    tal_strmap_free(&seen_ids);
    in = NULL;
    if (rc < 0)
        goto fail;
    if (!n) {
        rc = tal_err(TAL_EINVAL, "no sequences in '%s'", o.input);
        goto fail;
    }

    part = calloc(n, 1);
    labelled = calloc(n, 1);
    if (!part || !labelled) {
        rc = tal_err(TAL_ENOMEM, "out of memory");
        goto fail;
    }
    uint32_t extra = 0;
    if (o.frac > 0)
        rc = tal_split_random(&sc, o.frac, o.stratify, o.seed, labelled, &extra);
    else if (o.per_class > 0) {
        int32_t short_cls;
        uint32_t unused = 0;
        rc = tal_split_per_class(&sc, (uint32_t)o.per_class, o.shuffle, o.seed, labelled, &short_cls, &unused);
        if (rc == TAL_EINVAL) {
            uint32_t have = 0;
            for (uint32_t j = 0; j < sc.off[sc.n]; j++)
                have += sc.cls[j] == (uint32_t)short_cls;
            rc = tal_err(TAL_EINVAL, "'%s': class '%s' is in only %u sequence%s: --per-class %ld needs %ld", o.input,
                         hdr.classes.names[short_cls], have, have == 1 ? "" : "s", o.per_class, o.per_class);
        }
        if (!rc && unused)
            tal_warn("%u classes of '%s' are in no sequence: none of them is labelled", unused, o.input);
    }
    if (rc)
        goto fail;
    if (o.split_file) {
        if ((rc = apply_split_file(o.split_file, ids, n, part, &unmentioned)))
            goto fail;
        if (unmentioned)
            tal_warn("%ld sequences of the input are not in the split file '%s'", unmentioned, o.split_file);
    } else {
        for (uint32_t i = 0; i < n; i++)
            part[i] = labelled[i] ? PART_LABELLED : PART_UNLABELLED;
    }
    if (extra)
        tal_warn("--stratify labelled %u more sequences than the fraction asks, to cover every class", extra);
    if (o.points_file) {
        real.classes = (tal_classes){ 0 };
        if ((rc = tal_classes_copy(&real.classes, &hdr.classes)))
            goto fail;
        real.fixed_classes = 1;
        for (uint32_t i = 0; i < n; i++)
            if (!tal_annoset_get(&real, ids[i])) {
                rc = TAL_ENOMEM;
                goto fail;
            }
        tal_anno_opts ao = { .fps = o.fps, .existing_only = 1 };
        /* frame-based point files need each sequence's frame rate */
        if (seekable) {
            tal_stream *s = tal_stream_open(o.input);
            if (!s) {
                rc = tal_errcode();
                goto fail;
            }
            tal_stream_skip(s, TAL_HAS_FEATURES | TAL_HAS_DIST);
            while ((rc = tal_record_read(s, &r)) > 0)
                tal_annoset_find(&real, r.id)->fps = tal_record_fps(&r, &hdr);
            tal_stream_close(s);
            if (rc < 0)
                goto fail;
        } else {
            for (uint32_t i = 0; i < n; i++)
                real.v[i].fps = tal_record_fps(&held.v[i], &hdr);
        }
        if ((rc = tal_anno_read_points(o.points_file, &real, &ao)))
            goto fail;
    }

    /* pass 2: write the parts */
    if (!(w.lab = create_part(&o, o.lab, &hdr, "labelled")) ||
        (o.unl && !(w.unl = create_part(&o, o.unl, &hdr, "unlabelled"))) ||
        (o.oracle && !(w.oracle = create_part(&o, o.oracle, &hdr, "oracle")))) {
        rc = tal_errcode();
        goto fail;
    }
    if (seekable && !(in = tal_stream_open(o.input))) {
        rc = tal_errcode();
        goto fail;
    }
    tal_rng base;
    tal_rng_seed(&base, o.seed ^ 0x706f696e7473ull);   /* point placement, apart from the split */
    uint32_t nlab = 0, nunl = 0, nskip = 0;
    uint64_t inst_lab = 0;
    tal_progress prog;
    tal_progress_start(&prog, "sequences", n);
    for (uint32_t i = 0; i < n; i++) {
        tal_record *cur = &r;
        if (seekable) {
            if ((rc = tal_record_read(in, &r)) <= 0) {
                if (!rc)
                    rc = tal_err(TAL_EINVAL, "'%s' changed while it was read", o.input);
                goto fail;
            }
            rc = 0;
        } else {
            cur = &held.v[i];
        }
        if (part[i] == PART_LABELLED) {
            tal_rng g = tal_rng_split(&base, i);
            if ((rc = make_labelled(&o, cur, o.points_file ? &real : NULL, &g, &no_points)) ||
                (rc = tal_record_write(w.lab, cur)))
                goto fail;
            nlab++;
            inst_lab += o.sup == TAL_SUP_POINT ? cur->npoints : tal_record_ninstances(cur);
        } else if (part[i] == PART_UNLABELLED) {
            if (w.oracle && (rc = tal_record_write(w.oracle, cur)))
                goto fail;
            if (o.per_class > 0) {
                /* Semi(k): the rest keep their video-level labels */
                if ((rc = tal_record_labels_from_segments(cur)))
                    goto fail;
                tal_segset_clear(&cur->segs);
                cur->npoints = 0;
                cur->present &= ~(TAL_HAS_SEGMENTS | TAL_HAS_POINTS);
                cur->supervision = TAL_SUP_VIDEO;
            } else {
                strip_labels(cur);
                cur->supervision = TAL_SUP_NONE;
            }
            if (w.unl && (rc = tal_record_write(w.unl, cur)))
                goto fail;
            nunl++;
        } else {
            nskip++;
        }
        tal_progress_update(&prog, i + 1, 0);
    }
    tal_progress_end(&prog);
    if (no_points)
        tal_warn("%ld labelled sequences have instances but no real point labels", no_points);
    /* commit all parts, or none: a part already renamed into place is
     * removed again if a later one fails */
    tal_stream *parts[3] = { w.lab, w.unl, w.oracle };
    const char *paths[3] = { o.lab, o.unl, o.oracle };
    memset(&w, 0, sizeof w);
    for (int k = 0; k < 3; k++) {
        if (!parts[k])
            continue;
        if (rc) {
            tal_stream_abort(parts[k]);
            continue;
        }
        if ((rc = tal_stream_finish(parts[k])))
            for (int j = 0; j < k; j++)
                if (paths[j] && strcmp(paths[j], "-"))
                    remove(paths[j]);
    }
    if (rc)
        goto fail;
    if (o.verbose)
        fprintf(stderr, "labelsplit: %u labelled (%s, %llu %s), %u unlabelled, %u left out\n", nlab,
                tal_supervision_name(o.sup), (unsigned long long)inst_lab,
                o.sup == TAL_SUP_POINT ? "points" : "instances", nunl, nskip);
    rc = 0;
fail:
    tal_stream_close(in);
    abort_outputs(&w);
    for (uint32_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    free(part);
    free(labelled);
    tal_record_free(&r);
    tal_annoset_free(&held);
    tal_annoset_free(&real);
    tal_seqclasses_free(&sc);
    tal_header_free(&hdr);
    if (rc)
        return cli_fail();
    return cli_close_stdout();
}
