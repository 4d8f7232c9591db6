/* talsynth — synthetic snippet features on the sequences of a ground-truth stream.
 *
 * Reads the records (annotations only; features in the input are
 * ignored), generates each sequence's features with the model of
 * data/synth.h on the chosen grid, and writes the same records with
 * those features.  --report measures how hard the result is with
 * nearest-class-mean tests (data/ncm.h): means from the reference
 * sequences (role train), evaluated on the held-out ones (role test).
 */
#include "common/cli.h"
#include "common/shard.h"
#include "data/ncm.h"
#include "data/synth.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE *fp, int status)
{
    fprintf(fp,
"Usage: talsynth [options] [IN.tal|-]\n"
"Generate synthetic features on the sequences of a ground-truth stream (man talsynth).\n"
"\n"
"Size, grid and seed:\n"
"  -p, --preset LIST       difficulty easy, default or hard, and size small or\n"
"                          thumos (2048-d, stride 4, clip 16, 30 fps) [default,small]\n"
"  -d, --dim D             feature dimension [128]\n"
"      --latent L          latent dimension [32]\n"
"      --fps F             frame rate of the grid [30]\n"
"      --stride N          frames between snippets [16]\n"
"      --clip N            frames per snippet [16]\n"
"  -s, --seed S            random seed [0]\n"
"The model (man talsynth; defaults from the default preset):\n"
"      --group-size N      classes per confusable group [3]\n"
"      --share R           part of a class prototype shared in its group, 0-1 [0.95]\n"
"      --drift A           start and end of an action differ from its middle [0.6]\n"
"      --variation A       per-instance variation [0.6]\n"
"      --shift A           per-sequence domain shift [0.6]\n"
"      --bg-modes K        background modes [6]\n"
"      --bg-run S          mean seconds in one background mode [6]\n"
"      --lookalike W       weight of a nearby class in look-alike background, 0-1 [0.65]\n"
"      --lookalike-rate P  chance of a look-alike on each side of an instance [0.5]\n"
"      --noise A           temporally correlated noise [0.8]\n"
"      --noise-time S      its correlation time in seconds [2]\n"
"      --ambient A         white noise per dimension [0.5]\n"
"      --soft S            boundary ramp in seconds, plus the clip's span [0.5]\n"
"Output:\n"
"      --report            print how hard the features are on stdout; the stream\n"
"                          is then written only with -o FILE\n"
"      --measure           the same report on the input's own features (e.g. HAPT):\n"
"                          nothing is generated\n"
"      --dtype TYPE        store features as f32 (default) or f16\n"
"  -l, --level N           deflate level 0-9 [0: stored]\n"
CLI_SHARD_HELP
"  -o, --output FILE       output stream [-: standard output]\n"
"  -f, --force             write a binary stream to a terminal\n");
    cli_usage_footer(fp, 26);
    return status;
}

enum {
    OPT_LATENT = 256, OPT_FPS, OPT_STRIDE, OPT_CLIP, OPT_GROUP, OPT_SHARE, OPT_DRIFT, OPT_VARIATION, OPT_SHIFT,
    OPT_BG_MODES, OPT_BG_RUN, OPT_LOOKALIKE, OPT_LOOKALIKE_RATE, OPT_NOISE, OPT_NOISE_TIME, OPT_AMBIENT, OPT_SOFT,
    OPT_REPORT, OPT_MEASURE, OPT_DTYPE, OPT_VERSION, OPT_SHARD,
};

/* ---- input ----------------------------------------------------------------- */

typedef struct {
    tal_record *v;
    size_t n, cap;
} recvec;

static void recvec_free(recvec *rv)
{
    for (size_t i = 0; i < rv->n; i++)
        tal_record_free(&rv->v[i]);
    free(rv->v);
}

static int read_all(const char *path, tal_header *h, recvec *rv, int keep_features)
{
    tal_stream *in = tal_stream_open(path);
    if (!in)
        return tal_errcode();
    int rc = tal_header_copy(h, tal_stream_header(in));
    tal_stream_skip(in, keep_features ? TAL_HAS_DIST : TAL_HAS_FEATURES | TAL_HAS_DIST);
    tal_record r;
    tal_record_init(&r);
    while (!rc && (rc = tal_record_read(in, &r)) > 0) {
        void *v = rv->v;
        if ((rc = tal_grow(&v, &rv->cap, rv->n + 1, sizeof *rv->v)))
            break;
        rv->v = v;
        tal_record_init(&rv->v[rv->n]);
        if ((rc = tal_record_copy(&rv->v[rv->n], &r)))
            break;
        rv->n++;
        rc = 0;
    }
    tal_record_free(&r);
    tal_stream_close(in);
    if (!rc && !rv->n)
        rc = tal_err(TAL_EINVAL, "no sequences in '%s'", path);
    return rc < 0 ? rc : 0;
}

/* Make r ready for generation: no stale features or distributions, the grid's frame rate. */
static void prepare(tal_record *r, const tal_synth_params *p)
{
    r->present &= ~(TAL_HAS_FEATURES | TAL_HAS_DIST | TAL_HAS_TIMEMAP);   /* new features on the grid */
    r->dist_T = r->dist_K = 0;
    r->fps = p->fps;
}

/* ---- report ---------------------------------------------------------------- */

static uint64_t id_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

typedef struct {
    double share;       /* of the true class's held-out snippets */
    uint32_t truth, pred;
} pair;

static int cmp_pair(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->share != y->share)
        return x->share < y->share ? 1 : -1;
    if (x->truth != y->truth)
        return x->truth < y->truth ? -1 : 1;
    return (x->pred > y->pred) - (x->pred < y->pred);
}

/* With s NULL, measure the records' own features on the header's grid. */
static int report(const tal_synth *s, const tal_synth_params *p, const char *preset, const tal_header *h,
                  recvec *rv)
{
    uint32_t C = h->classes.n, D = s ? p->dim : h->feat_dim;
    /* reference = role train, held out = role test; else half by id */
    int *held = calloc(rv->n, sizeof *held);
    size_t ntrain = 0, ntest = 0;
    if (!held)
        return tal_err(TAL_ENOMEM, "out of memory");
    for (size_t i = 0; i < rv->n; i++) {
        ntrain += rv->v[i].role == TAL_ROLE_TRAIN;
        ntest += rv->v[i].role == TAL_ROLE_TEST;
    }
    int by_role = ntrain && ntest;
    size_t nref = 0, nheld = 0;
    for (size_t i = 0; i < rv->n; i++) {
        held[i] = by_role ? rv->v[i].role == TAL_ROLE_TEST : (int)(id_hash(rv->v[i].id) & 1);
        nheld += held[i];
        nref += !held[i];
    }
    tal_ncm m;
    int rc = tal_ncm_init(&m, C, D);
    tal_record r;
    tal_record_init(&r);
    int32_t *lab = NULL;
    size_t lab_cap = 0;
    tal_progress prog;
    tal_progress_start(&prog, "sequences", 2 * rv->n);
    uint64_t done = 0;
    for (int pass = 0; pass < 2 && !rc; pass++) {
        for (size_t i = 0; i < rv->n && !rc; i++) {
            if (held[i] != pass)
                continue;
            const tal_record *cur = &rv->v[i];
            double fps = p->fps, stride = p->stride, clip = p->clip;
            if (s) {
                if ((rc = tal_record_copy(&r, &rv->v[i])))
                    break;
                prepare(&r, p);
                if ((rc = tal_synth_generate(s, &r)))
                    break;
                cur = &r;
            } else {
                tal_grid g = tal_record_grid(cur, h);   /* the record's own when it has one */
                fps = g.fps;
                stride = g.stride;
                clip = g.clip;
                if (!(cur->present & TAL_HAS_FEATURES) || cur->D != D || !(fps > 0)) {
                    rc = tal_err(TAL_EINVAL, "'%s' has no %u-d features on a known grid", cur->id, D);
                    break;
                }
            }
            void *v = lab;
            if ((rc = tal_grow(&v, &lab_cap, cur->T, sizeof *lab)))
                break;
            lab = v;
            tal_snippet_labels(lab, cur->T, fps, stride, clip, &cur->segs, C);
            for (uint32_t t = 0; t < cur->T && !rc; t++) {
                if (pass == 0)
                    tal_ncm_add(&m, cur->feat + (size_t)t * D, lab[t]);
                else
                    rc = tal_ncm_eval(&m, cur->feat + (size_t)t * D, lab[t]);
            }
            tal_progress_update(&prog, ++done, 0);
        }
        if (!rc && pass == 0)
            rc = tal_ncm_fit(&m);
    }
    tal_progress_end(&prog);
    tal_record_free(&r);
    free(lab);
    free(held);
    if (rc) {
        tal_ncm_free(&m);
        return rc;
    }
    tal_ncm_result res;
    tal_ncm_result_get(&m, &res);

    /* errors inside the true class's confusable group */
    uint64_t wrong = 0, within = 0;
    size_t npairs = 0;
    pair *pairs = malloc((size_t)C * C * sizeof *pairs);
    uint64_t *row = calloc(C, sizeof *row);
    if (!pairs || !row) {
        free(pairs);
        free(row);
        tal_ncm_free(&m);
        return tal_err(TAL_ENOMEM, "out of memory");
    }
    for (uint32_t a = 0; a < C; a++)
        for (uint32_t b = 0; b < C; b++)
            row[a] += m.confusion[(size_t)a * C + b];
    for (uint32_t a = 0; a < C; a++)
        for (uint32_t b = 0; b < C; b++) {
            uint64_t n = m.confusion[(size_t)a * C + b];
            if (a == b || !n)
                continue;
            wrong += n;
            if (s && tal_synth_group(s, a) == tal_synth_group(s, b))
                within += n;
            pairs[npairs++] = (pair){ (double)n / (double)row[a], a, b };
        }
    qsort(pairs, npairs, sizeof *pairs, cmp_pair);

    char desc[1024];
    if (s) {
        tal_synth_describe(p, desc, sizeof desc);
        printf("talsynth report (preset %s)\n", preset);
        printf("model         %s\n", desc);
    } else {
        printf("talsynth report on the input's own features\n");
        printf("features      %u-d, grid fps %g stride %g clip %g\n", D, h->fps, h->stride, h->clip);
    }
    if (by_role)
        printf("sequences     %zu reference (role train), %zu held out (role test)\n", nref, nheld);
    else
        printf("sequences     %zu reference, %zu held out (halves by id: the input has not both roles)\n", nref,
               nheld);
    printf("snippets      reference %llu action, %llu background; held out %llu action, %llu background\n",
           (unsigned long long)res.ref_act, (unsigned long long)res.ref_bg, (unsigned long long)res.n_act,
           (unsigned long long)res.n_bg);
    printf("nearest-class-mean snippet accuracy  %.1f %%  (top-2 %.1f %%; chance %.1f %%, %u classes)\n",
           100 * res.accuracy, 100 * res.top2, res.classes ? 100.0 / res.classes : 0.0, res.classes);
    printf("  true class ranked second among the misclassified  %.1f %%\n", 100 * res.second);
    if (s)
        printf("  errors inside the true class's confusable group   %.1f %%\n",
               wrong ? 100.0 * (double)within / (double)wrong : 0.0);
    printf("action vs background separability   AUC %.3f, balanced accuracy %.1f %%\n", res.auc,
           100 * res.balanced);
    printf("most confused class pairs (true -> predicted: share of the true class's held-out snippets)\n");
    for (size_t i = 0; i < npairs && i < 5; i++) {
        const pair *q = &pairs[i];
        printf("  %-24s -> %-24s %5.1f %%%s\n", h->classes.names[q->truth], h->classes.names[q->pred],
               100.0 * q->share,
               s && tal_synth_group(s, q->truth) == tal_synth_group(s, q->pred) ? "  same group" : "");
    }
    if (!s)
        goto done;
    printf("confusable groups");
    for (uint32_t g = 0; g < C; g++) {
        int any = 0;
        for (uint32_t c = 0; c < C; c++)
            if (tal_synth_group(s, c) == g) {
                printf("%s%s", any ? ", " : " {", h->classes.names[c]);
                any = 1;
            }
        if (any)
            printf("}");
    }
    printf("\n");
done:
    free(pairs);
    free(row);
    tal_ncm_free(&m);
    return 0;
}

/* ---- main ------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    cli_init("talsynth", argc, argv);
    static const struct option longopts[] = {
        { "preset", required_argument, 0, 'p' },
        { "dim", required_argument, 0, 'd' },
        { "latent", required_argument, 0, OPT_LATENT },
        { "fps", required_argument, 0, OPT_FPS },
        { "stride", required_argument, 0, OPT_STRIDE },
        { "clip", required_argument, 0, OPT_CLIP },
        { "seed", required_argument, 0, 's' },
        { "group-size", required_argument, 0, OPT_GROUP },
        { "share", required_argument, 0, OPT_SHARE },
        { "drift", required_argument, 0, OPT_DRIFT },
        { "variation", required_argument, 0, OPT_VARIATION },
        { "shift", required_argument, 0, OPT_SHIFT },
        { "bg-modes", required_argument, 0, OPT_BG_MODES },
        { "bg-run", required_argument, 0, OPT_BG_RUN },
        { "lookalike", required_argument, 0, OPT_LOOKALIKE },
        { "lookalike-rate", required_argument, 0, OPT_LOOKALIKE_RATE },
        { "noise", required_argument, 0, OPT_NOISE },
        { "noise-time", required_argument, 0, OPT_NOISE_TIME },
        { "ambient", required_argument, 0, OPT_AMBIENT },
        { "soft", required_argument, 0, OPT_SOFT },
        { "report", no_argument, 0, OPT_REPORT },
        { "measure", no_argument, 0, OPT_MEASURE },
        { "dtype", required_argument, 0, OPT_DTYPE },
        { "level", required_argument, 0, 'l' },
        { "output", required_argument, 0, 'o' },
        { "force", no_argument, 0, 'f' },
        { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' },
        { "version", no_argument, 0, OPT_VERSION }, { "shard", required_argument, 0, OPT_SHARD },
        { 0, 0, 0, 0 },
    };
    /* Presets first, whatever the order on the command line; then the
     * knobs given explicitly.  Pass 1 applies presets, pass 2 the rest. */
    tal_synth_params p;
    tal_synth_defaults(&p);
    const char *preset = "default,small", *output = "-";
    tal_select shard;
    tal_select_init(&shard);
    int do_report = 0, measure = 0, dtype = 0, level = 0, force = 0, c;
    long lv;
    for (int pass = 1; pass <= 2; pass++) {
        optind = 1;
        opterr = pass == 1;
        while ((c = getopt_long(argc, argv, "p:d:s:l:o:fqh", longopts, NULL)) != -1) {
            if (pass == 1) {
                if (c == 'h')
                    return usage(stdout, 0) || cli_close_stdout();
                if (c == OPT_VERSION)
                    return cli_version();
                if (c == '?')
                    return usage(stderr, 2);
                if (c != 'p')
                    continue;
                char *list = strdup(optarg);
                if (!list)
                    return cli_error("out of memory");
                int bad = 0;
                for (char *save = NULL, *t = strtok_r(list, ",", &save); t && !bad; t = strtok_r(NULL, ",", &save))
                    bad = tal_synth_preset(&p, t) != 0;
                free(list);
                size_t n = strlen(optarg);
                if (bad || !n || optarg[0] == ',' || optarg[n - 1] == ',' || strstr(optarg, ",,"))
                    return cli_usage_error("invalid --preset '%s' (easy, default or hard; small or thumos)", optarg);
                preset = optarg;
                continue;
            }
            double dv;
            switch (c) {
            case 'p': break;
            case OPT_SHARD: if (cli_shard(&shard, optarg)) return 2; break;
            case 'd': if (cli_int("--dim", optarg, 1, 65536, &lv)) return 2; p.dim = (uint32_t)lv; break;
            case OPT_LATENT: if (cli_int("--latent", optarg, 1, 256, &lv)) return 2; p.latent = (uint32_t)lv; break;
            case OPT_FPS: if (cli_double("--fps", optarg, 1e-3, 1e6, &p.fps)) return 2; break;
            case OPT_STRIDE: if (cli_double("--stride", optarg, 1e-3, 1e9, &p.stride)) return 2; break;
            case OPT_CLIP: if (cli_double("--clip", optarg, 1e-3, 1e9, &p.clip)) return 2; break;
            case 's': if (cli_u64("--seed", optarg, &p.seed)) return 2; break;
            case OPT_GROUP:
                if (cli_int("--group-size", optarg, 1, 1 << 20, &lv)) return 2;
                p.group_size = (uint32_t)lv;
                break;
            case OPT_SHARE: if (cli_double("--share", optarg, 0, 1, &p.share)) return 2; break;
            case OPT_DRIFT: if (cli_double("--drift", optarg, 0, 1000, &p.drift)) return 2; break;
            case OPT_VARIATION: if (cli_double("--variation", optarg, 0, 1000, &p.variation)) return 2; break;
            case OPT_SHIFT: if (cli_double("--shift", optarg, 0, 1000, &p.shift)) return 2; break;
            case OPT_BG_MODES:
                if (cli_int("--bg-modes", optarg, 1, 1024, &lv)) return 2;
                p.bg_modes = (uint32_t)lv;
                break;
            case OPT_BG_RUN: if (cli_double("--bg-run", optarg, 1e-3, 1e6, &p.bg_run)) return 2; break;
            case OPT_LOOKALIKE: if (cli_double("--lookalike", optarg, 0, 1, &p.lookalike)) return 2; break;
            case OPT_LOOKALIKE_RATE:
                if (cli_double("--lookalike-rate", optarg, 0, 1, &p.lookalike_rate)) return 2;
                break;
            case OPT_NOISE: if (cli_double("--noise", optarg, 0, 1000, &p.noise)) return 2; break;
            case OPT_NOISE_TIME: if (cli_double("--noise-time", optarg, 1e-3, 1e6, &p.noise_time)) return 2; break;
            case OPT_AMBIENT: if (cli_double("--ambient", optarg, 0, 1000, &p.ambient)) return 2; break;
            case OPT_SOFT: if (cli_double("--soft", optarg, 0, 1e6, &dv)) return 2; p.soft = dv; break;
            case OPT_REPORT: do_report = 1; break;
            case OPT_MEASURE: measure = 1; break;
            case OPT_DTYPE:
                if ((dtype = tal_dtype_parse(optarg)) < 0)
                    return cli_usage_error("invalid --dtype '%s' (f32 or f16)", optarg);
                break;
            case 'l': if (cli_int("--level", optarg, 0, 9, &lv)) return 2; level = (int)lv; break;
            case 'o': output = optarg; break;
            case 'f': force = 1; break;
            case 'q': tal_set_quiet(1); break;
            default: return usage(stderr, 2);
            }
        }
    }
    if (measure && (do_report || strcmp(output, "-")))
        return cli_usage_error("--measure prints a report only: no --report or -o with it");
    if (argc - optind > 1)
        return cli_usage_error("one input stream at most (got %d)", argc - optind);
    const char *input = optind < argc ? argv[optind] : "-";
    int write_stream = !do_report || strcmp(output, "-");

    tal_header h;
    tal_header_init(&h);
    recvec rv = { 0 };
    tal_synth *s = NULL;
    tal_stream *w = NULL;
    tal_record r;
    tal_record_init(&r);
    int rc = read_all(input, &h, &rv, measure);
    if (rc)
        goto fail;
    if (!h.classes.n) {
        rc = tal_err(TAL_EINVAL, "'%s' has no class table: talsynth needs ground truth", input);
        goto fail;
    }
    if (measure) {
        if (!h.feat_dim) {
            rc = tal_err(TAL_EINVAL, "'%s' has no features to measure", input);
            goto fail;
        }
        if ((rc = report(NULL, &p, NULL, &h, &rv)))
            goto fail;
        recvec_free(&rv);
        tal_header_free(&h);
        return cli_close_stdout();
    }
    if (!(s = tal_synth_new(&p, h.classes.n))) {
        rc = tal_errcode();
        goto fail;
    }
    if (do_report && (rc = report(s, &p, preset, &h, &rv)))
        goto fail;
    if (write_stream) {
        char desc[1024];
        h.feat_dim = p.dim;
        h.feat_dtype = dtype > 0 ? (uint8_t)dtype : TAL_DTYPE_F32;
        h.fps = p.fps;
        h.stride = p.stride;
        h.clip = p.clip;
        if ((rc = tal_synth_describe(&p, desc, sizeof desc) ? TAL_EINVAL : 0) ||
            (rc = tal_header_set_meta(&h, "talsynth", desc)) || (rc = cli_add_prov(&h)))
            goto fail;
        tal_write_opts wo = { .level = level, .force = force };
        if (!(w = tal_stream_create(output, &h, &wo))) {
            rc = tal_errcode();
            goto fail;
        }
        tal_progress prog;
        tal_progress_start(&prog, "sequences", rv.n);
        /* a sequence's features come from the seed and its id alone
           (synth.h), so a shard's are those of the whole run */
        for (size_t i = 0; i < rv.n && !rc; i++) {
            if (!tal_select_match(&shard, &rv.v[i]))
                continue;
            if ((rc = tal_record_copy(&r, &rv.v[i])))
                break;
            prepare(&r, &p);
            if (!(rc = tal_synth_generate(s, &r)))
                rc = tal_record_write(w, &r);
            tal_progress_update(&prog, i + 1, tal_stream_bytes_written(w));
        }
        tal_progress_end(&prog);
        if (rc)
            goto fail;
        rc = tal_stream_finish(w);
        w = NULL;
        if (rc)
            goto fail;
    }
    tal_record_free(&r);
    tal_synth_free(s);
    recvec_free(&rv);
    tal_header_free(&h);
    return cli_close_stdout();
fail:
    tal_stream_abort(w);
    tal_record_free(&r);
    tal_synth_free(s);
    recvec_free(&rv);
    tal_header_free(&h);
    return cli_fail();
}
