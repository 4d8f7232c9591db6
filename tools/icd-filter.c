/* icd-filter — APL's instance consistency discriminator: train it on
 * labelled instances, then score pseudo labels with it and apply EAP and
 * MPP (man icd-filter).
 *
 *   icd-filter train REFERENCE.tal -o ICD.ckpt
 *   icd-filter apply --model ICD.ckpt --reference REFERENCE.tal PSEUDO.tal -o OUT.tal
 *
 * train is the training loop every model kind shares (lib/models/
 * trainer.c) on model.kind icd (lib/models/icd.h); apply keeps the
 * reference's instance features in memory, one pseudo-labelled record at
 * a time beside them.
 */
#include "common/cli.h"
#include "common/train_args.h"
#include "data/instfeat.h"
#include "data/recset.h"
#include "models/icd.h"
#include "models/trainer.h"
#include "semi/consistency.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* the discriminator's training settings unless a config or -s says otherwise */
static const char *const defaults[] = { "model.kind=icd", "train.warmup_epochs=0", "train.epochs=100",
                                        "train.batch_size=4", "train.lr=1e-3", "train.weight_decay=1e-4",
                                        "train.ema_decay=0", "train.crop_ratio=[]", "train.checkpoint_every=0" };

static int usage(FILE *fp, int status)
{
    fprintf(fp,
"Usage: icd-filter train [-c CONFIG]... [-s KEY=VALUE]... [options] REFERENCE.tal -o ICD.ckpt\n"
"       icd-filter apply --model ICD.ckpt --reference REFERENCE.tal [options] [PSEUDO.tal|-] [-o OUT.tal]\n"
"APL's instance consistency discriminator (man icd-filter).\n"
"\n"
"train: learn D(f_i, f_j), are two instances of one class, from the labelled instances\n"
"  -c, --config FILE       YAML config (model.kind icd; icd.*, train.*)\n"
"  -s, --set KEY=VALUE     override one setting (-s icd.hidden=256)\n"
"  -o, --output FILE       the checkpoint (atomically)\n"
"      --resume            continue the run whose checkpoint is at -o\n"
"      --metrics FILE      JSON lines, one per --log-every steps and one per epoch\n"
"      --log-every N       steps between metric lines [0: epochs only]\n"
"      --seed S            overrides train.seed\n"
"      --threads N         CPU threads [all cores]\n"
"\n"
"apply: score each pseudo instance by its mean D against the labelled instances of its\n"
"class (quality field icd), then drop and promote\n"
"  -m, --model FILE        the discriminator (icd-filter train)\n"
"  -r, --reference FILE    the labelled stream it compares with\n"
"      --eap               drop positives scoring below --tau1 (EAP)\n"
"      --mpp               promote candidates scoring above --tau2 (MPP)\n"
"                          [both when neither is given]\n"
"      --tau1 F            [0.3]\n"
"      --tau2 F            [0.7]\n"
"  -o, --output FILE       output stream [-: standard output]\n"
"  -l, --level N           deflate level 0-9 [0]\n"
"  -f, --force             write a binary stream to a terminal\n"
"      --threads N         CPU threads [all cores]\n");
    cli_usage_footer(fp, 26);
    return status;
}

enum { OPT_EAP = 256, OPT_MPP, OPT_TAU1, OPT_TAU2, OPT_VERSION };

static const struct option longopts[] = {
    CLI_TRAIN_LONGOPTS,
    { "model", required_argument, 0, 'm' }, { "reference", required_argument, 0, 'r' },
    { "eap", no_argument, 0, OPT_EAP }, { "mpp", no_argument, 0, OPT_MPP },
    { "tau1", required_argument, 0, OPT_TAU1 }, { "tau2", required_argument, 0, OPT_TAU2 },
    { "level", required_argument, 0, 'l' }, { "force", no_argument, 0, 'f' }, { "quiet", no_argument, 0, 'q' },
    { "help", no_argument, 0, 'h' }, { "version", no_argument, 0, OPT_VERSION }, { 0, 0, 0, 0 },
};

/* ---- train ----------------------------------------------------------------------------- */

static int keep_full(const tal_record *r, void *ctx)
{
    (void)ctx;
    return r->supervision == TAL_SUP_FULL;
}

static int train(const cli_train_args *a, const char *input)
{
    tal_det_config cfg;
    int rc = cli_train_config(&cfg, a, a->resume ? NULL : defaults, (int)(sizeof defaults / sizeof *defaults), NULL, 0);
    if (rc)
        return rc;
    if (cfg.kind != TAL_DET_ICD)
        return cli_usage_error("model.kind is %s: icd-filter trains model.kind icd (tal-train trains detectors)",
                               tal_det_kind_name(cfg.kind));
    tal_recset set;
    tal_recset_init(&set);
    const tal_record **recs = NULL;
    tal_detector *d = NULL;
    FILE *metrics = NULL;
    uint32_t skipped = 0;
    if ((rc = tal_recset_load(&set, input, keep_full, NULL, &skipped)))
        goto done;
    if (!set.n) {
        rc = tal_err(TAL_EINVAL, "'%s' has no fully labelled sequences (%u others)", input, skipped);
        goto done;
    }
    if (skipped)
        tal_warn("%u sequences without full labels are left out", skipped);
    if (!(recs = malloc(set.n * sizeof *recs))) {
        rc = TAL_ENOMEM;
        goto done;
    }
    for (uint32_t i = 0; i < set.n; i++) {
        if (!(set.v[i].present & TAL_HAS_FEATURES)) {
            rc = tal_err(TAL_EINVAL, "'%s': sequence '%s' has no features", input, set.v[i].id);
            goto done;
        }
        recs[i] = &set.v[i];
    }
    if (!(d = tal_detector_new(&cfg, &set.hdr, NULL))) {
        rc = tal_errcode();
        goto done;
    }
    if (a->metrics && !(metrics = fopen(a->metrics, "w"))) {
        rc = tal_err(TAL_EIO, "cannot open '%s': %s", a->metrics, strerror(errno));
        goto done;
    }
    tal_train_opts o = { .ckpt_path = a->out, .resume_path = a->resume ? a->out : NULL, .metrics = metrics,
                         .log_every = (int)a->log_every, .progress = 1, .stop_after_epochs = (int)a->stop };
    if ((rc = tal_train(d, recs, set.n, NULL, 0, &o)) == TAL_EINVAL)
        rc = tal_err_wrap(rc, "'%s'", input);
done:
    if (metrics && fclose(metrics) && !rc)
        rc = tal_err(TAL_EIO, "cannot write '%s': %s", a->metrics, strerror(errno));
    tal_detector_free(d);
    free(recs);
    tal_recset_free(&set);
    return rc ? cli_fail() : cli_close_stdout();
}

/* ---- apply ----------------------------------------------------------------------------- */

/* the reference's instance features, grouped by class */
typedef struct {
    float *feat;        /* n x D, by class */
    uint32_t *start;    /* C + 1 */
} reference;

/* Whether a reference instance is compared with: labelled, and within
 * its sequence's features (annotations may run past the last snippet). */
static int usable(const tal_record *r, const tal_segment *x, tal_grid hgrid)
{
    tal_grid g = tal_grid_for_record(hgrid, r);
    return tal_icd_instance(x) && tal_instance_in_features(r, &g, x->start, x->end);
}

static int reference_build(reference *ref, const tal_recset *set, const char *path, tal_grid hgrid)
{
    uint32_t C = set->hdr.classes.n, D = set->hdr.feat_dim, n = 0, beyond = 0;
    ref->start = tal_calloc((size_t)C + 1, sizeof *ref->start);
    if (!ref->start)
        return TAL_ENOMEM;
    for (uint32_t i = 0; i < set->n; i++) {
        const tal_record *r = &set->v[i];
        if (r->supervision != TAL_SUP_FULL)
            continue;
        if (!(r->present & TAL_HAS_FEATURES))
            return tal_err(TAL_EINVAL, "'%s': sequence '%s' has no features", path, r->id);
        for (uint32_t k = 0; k < r->segs.n; k++) {
            const tal_segment *x = &r->segs.v[k];
            if (!tal_icd_instance(x))
                continue;
            if ((uint32_t)x->cls >= C)
                return tal_err(TAL_EINVAL, "'%s': sequence '%s': instance %u has class %d of %u", path, r->id, k,
                               x->cls, C);
            if (!usable(r, x, hgrid)) {
                beyond++;
                continue;
            }
            ref->start[x->cls + 1]++;
            n++;
        }
    }
    if (beyond)
        tal_warn("'%s': %u labelled instances lie beyond their sequences' features and are left out", path, beyond);
    for (uint32_t c = 0; c < C; c++)
        ref->start[c + 1] += ref->start[c];
    uint32_t *fill = tal_malloc(((size_t)C + 1) * sizeof *fill);
    ref->feat = tal_malloc(((size_t)n ? n : 1) * D * sizeof *ref->feat);
    if (!fill || !ref->feat) {
        free(fill);
        return TAL_ENOMEM;
    }
    memcpy(fill, ref->start, ((size_t)C + 1) * sizeof *fill);
    int rc = 0;
    for (uint32_t i = 0; i < set->n && !rc; i++) {
        const tal_record *r = &set->v[i];
        if (r->supervision != TAL_SUP_FULL)
            continue;
        tal_grid g = tal_grid_for_record(hgrid, r);
        for (uint32_t k = 0; k < r->segs.n && !rc; k++) {
            const tal_segment *x = &r->segs.v[k];
            if (usable(r, x, hgrid) &&
                (rc = tal_instance_feature(r, &g, x->start, x->end, ref->feat + (size_t)fill[x->cls]++ * D)))
                rc = tal_err_wrap(rc, "'%s': sequence '%s', instance %u", path, r->id, k);
        }
    }
    free(fill);
    return rc;
}

typedef struct {
    tal_detector *d;
    tal_graph *g;
    const reference *ref;
    const tal_header *h;
    const char *name, *ref_name;
    float *q;
    size_t q_cap;
    double *score;
    size_t score_cap;
    uint32_t *which;   /* the segment each query row came from */
    size_t which_cap;
} scorer;

/* Score the pseudo instances of one record (fills q[ICD]) */
static int score_record(scorer *s, tal_record *r)
{
    uint32_t D = s->h->feat_dim, n = r->segs.n, C = s->h->classes.n;
    if (!n)
        return 0;
    if (!(r->present & TAL_HAS_FEATURES))
        return tal_err(TAL_EINVAL, "'%s': sequence '%s' has no features to score its pseudo labels by", s->name, r->id);
    if (tal_reserve(&s->q, &s->q_cap, (size_t)n * D, sizeof *s->q) ||
        tal_reserve(&s->score, &s->score_cap, n, sizeof *s->score) ||
        tal_reserve(&s->which, &s->which_cap, n, sizeof *s->which))
        return TAL_ENOMEM;
    /* the pseudo instances by class, so that each class's reference is
     * embedded once per sequence */
    tal_grid g = tal_record_grid(r, s->h);
    for (uint32_t c = 0; c < C; c++) {
        uint32_t k = 0;
        for (uint32_t i = 0; i < n; i++) {
            const tal_segment *x = &r->segs.v[i];
            if (!(x->flags & TAL_SEG_PSEUDO) || x->cls < 0)
                continue;
            if ((uint32_t)x->cls >= C)
                return tal_err(TAL_EINVAL, "'%s': sequence '%s': pseudo instance %u has class %d of %u", s->name, r->id,
                               i, x->cls, C);
            if ((uint32_t)x->cls != c)
                continue;
            int rc = tal_instance_feature(r, &g, x->start, x->end, s->q + (size_t)k * D);
            if (rc)
                return tal_err_wrap(rc, "'%s': sequence '%s', pseudo instance %u", s->name, r->id, i);
            s->which[k++] = i;
        }
        if (!k)
            continue;
        uint32_t m = s->ref->start[c + 1] - s->ref->start[c];
        if (!m)
            return tal_err(TAL_EINVAL, "'%s' has no labelled instance of class '%s' to compare the pseudo labels of "
                           "sequence '%s' of '%s' with", s->ref_name, s->h->classes.names[c], r->id, s->name);
        tal_graph_reset(s->g);
        int rc = tal_icd_score(s->d, s->g, s->q, (int)k, s->ref->feat + (size_t)s->ref->start[c] * D, (int)m, s->score);
        if (rc)
            return rc;
        for (uint32_t j = 0; j < k; j++)
            r->segs.v[s->which[j]].q[TAL_Q_ICD] = (float)s->score[j];
    }
    r->segs.qmask |= 1u << TAL_Q_ICD;
    return 0;
}

static int apply(const char *model, const char *ref_path, const char *input, const char *output, tal_icd_rule rule,
                 int level, int force)
{
    tal_recset set;
    tal_recset_init(&set);
    reference ref = { 0 };
    tal_detector *d = NULL;
    tal_graph *g = NULL;
    tal_stream *in = NULL, *w = NULL;
    tal_header h;
    tal_header_init(&h);
    tal_record r;
    tal_record_init(&r);
    scorer sc = { 0 };
    tal_icd_count count = { 0 };
    int rc = 0;
    if (!(in = tal_stream_open(input))) {
        rc = tal_errcode();
        goto done;
    }
    if ((rc = tal_header_copy(&h, tal_stream_header(in))))
        goto done;
    if ((rc = tal_recset_load_skip(&set, ref_path, NULL, NULL, NULL, TAL_HAS_DIST | TAL_HAS_DETECTIONS)))
        goto done;
    if (!tal_classes_equal(&set.hdr.classes, &h.classes)) {
        rc = tal_err(TAL_EINCOMPAT, "'%s' and '%s' have different class tables", ref_path, tal_stream_name(in));
        goto done;
    }
    if (set.hdr.feat_dim != h.feat_dim) {
        rc = tal_err(TAL_EINCOMPAT, "'%s' has %u-d features, '%s' %u-d", ref_path, set.hdr.feat_dim,
                     tal_stream_name(in), h.feat_dim);
        goto done;
    }
    if ((rc = reference_build(&ref, &set, ref_path, tal_header_grid(&set.hdr))))
        goto done;
    if (!(d = tal_detector_open(model, &h, tal_stream_name(in), NULL, 0, TAL_DET_ICD, NULL, 0))) {
        rc = tal_errcode();
        goto done;
    }
    if (!(g = tal_graph_new(NULL))) {
        rc = tal_errcode();
        goto done;
    }
    tal_graph_set_training(g, 0);
    tal_graph_set_grad(g, 0);
    char meta[96];
    snprintf(meta, sizeof meta, "eap %s tau1 %g, mpp %s tau2 %g", rule.eap ? "on" : "off", rule.tau1,
             rule.mpp ? "on" : "off", rule.tau2);
    if ((rc = tal_header_set_meta(&h, "icd-filter", meta)) || (rc = cli_add_prov(&h)))
        goto done;
    tal_write_opts wo = { .level = level, .force = force };
    if (!(w = tal_stream_create(output, &h, &wo))) {
        rc = tal_errcode();
        goto done;
    }
    sc = (scorer){ .d = d, .g = g, .ref = &ref, .h = &h, .name = tal_stream_name(in), .ref_name = ref_path };
    tal_progress prog;
    tal_progress_start(&prog, "sequences", 0);
    uint64_t nrec = 0;
    while ((rc = tal_record_read(in, &r)) > 0) {
        for (uint32_t k = 0; k < r.segs.n; k++)
            if (!(r.segs.v[k].flags & TAL_SEG_PSEUDO)) {
                rc = tal_err(TAL_EINVAL, "'%s': sequence '%s' carries true segments: icd-filter judges pseudo labels "
                             "(pseudolabel --instances)", sc.name, r.id);
                break;
            }
        if (rc > 0)
            rc = score_record(&sc, &r);
        if (rc)
            break;
        tal_icd_apply_rule(&r.segs, &rule, &count);
        if ((rc = tal_record_write(w, &r)))
            break;
        tal_progress_update(&prog, ++nrec, tal_stream_bytes_read(in));
    }
    tal_progress_end(&prog);
    if (rc < 0)
        goto done;
    if ((rc = tal_stream_finish(w)))
        goto done_written;
    if (!tal_quiet())
        fprintf(stderr, "%s: %llu sequences: %u positives, %u dropped (EAP%s, icd < %g); %u candidates, %u promoted "
                "(MPP%s, icd > %g)\n", tal_progname(), (unsigned long long)nrec, count.positives, count.dropped,
                rule.eap ? "" : " off", rule.tau1, count.candidates, count.promoted, rule.mpp ? "" : " off", rule.tau2);
done_written:
    w = NULL;
done:
    tal_stream_abort(w);
    tal_stream_close(in);
    tal_graph_free(g);
    tal_detector_free(d);
    tal_recset_free(&set);
    free(ref.feat);
    free(ref.start);
    free(sc.q);
    free(sc.score);
    free(sc.which);
    tal_record_free(&r);
    tal_header_free(&h);
    return rc ? cli_fail() : cli_close_stdout();
}

int main(int argc, char **argv)
{
    cli_init("icd-filter", argc, argv);
    if (argc < 2)
        return usage(stderr, 2);
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help"))
        return usage(stdout, 0) || cli_close_stdout();
    if (!strcmp(cmd, "--version"))
        return cli_version();
    int is_train = !strcmp(cmd, "train"), is_apply = !strcmp(cmd, "apply");
    if (!is_train && !is_apply)
        return cli_usage_error("unknown command '%s' (train or apply)", cmd);
    cli_train_args ta = CLI_TRAIN_ARGS_INIT;
    const char *model = NULL, *ref = NULL;
    int force = 0, c;
    long level = 0;
    tal_icd_rule rule = { .tau1 = 0.3, .tau2 = 0.7 };
    optind = 2;
    while ((c = getopt_long(argc, argv, "c:s:o:m:r:l:fqh", longopts, NULL)) != -1) {
        /* -o and --threads belong to both */
        int for_train = c == 'c' || c == 's' || c == CLI_OPT_RESUME || c == CLI_OPT_METRICS || c == CLI_OPT_SEED ||
                        c == CLI_OPT_STOP || c == CLI_OPT_LOG_EVERY;
        int for_apply = c == 'm' || c == 'r' || c == OPT_EAP || c == OPT_MPP || c == OPT_TAU1 || c == OPT_TAU2 ||
                        c == 'l' || c == 'f';
        if ((for_train && !is_train) || (for_apply && !is_apply))
            return cli_usage_error("option '%s' belongs to icd-filter %s", argv[optind - 1], is_train ? "apply" : "train");
        int k = cli_train_option(&ta, c, optarg);
        if (k == 2)
            return 2;
        if (k)
            continue;
        switch (c) {
        case 'm': model = optarg; break;
        case 'r': ref = optarg; break;
        case OPT_EAP: rule.eap = 1; break;
        case OPT_MPP: rule.mpp = 1; break;
        case OPT_TAU1: if (cli_double("--tau1", optarg, 0, 1, &rule.tau1)) return 2; break;
        case OPT_TAU2: if (cli_double("--tau2", optarg, 0, 1, &rule.tau2)) return 2; break;
        case 'l': if (cli_int("--level", optarg, 0, 9, &level)) return 2; break;
        case 'f': force = 1; break;
        case 'q': tal_set_quiet(1); break;
        case 'h': return usage(stdout, 0) || cli_close_stdout();
        case OPT_VERSION: return cli_version();
        default: return usage(stderr, 2);
        }
    }
    if (is_train) {
        int rc = cli_train_check(&ta);
        if (rc)
            return rc;
        if (optind != argc - 1)
            return cli_usage_error(optind == argc ? "the reference stream is required" : "one reference stream only");
        return train(&ta, argv[optind]);
    }
    if (!model)
        return cli_usage_error("the discriminator is required (--model ICD.ckpt)");
    if (!ref)
        return cli_usage_error("the labelled reference is required (--reference REFERENCE.tal)");
    if (argc - optind > 1)
        return cli_usage_error("one input stream only");
    if (!rule.eap && !rule.mpp)
        rule.eap = rule.mpp = 1;
    return apply(model, ref, optind < argc ? argv[optind] : "-", ta.out ? ta.out : "-", rule, (int)level, force);
}
