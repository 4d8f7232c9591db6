/* tal-pretrain-acp — APL's action-aware contrastive pre-training of the
 * ActionFormer-style backbone on labelled and unlabelled features, with no
 * labels (man tal-pretrain-acp).
 *
 * The network and optimiser come from a detector config; the pre-training
 * runs the training loop every model kind shares (lib/models/trainer.c) on
 * model.kind acp (lib/models/acp.h), over the records of every input, and
 * writes a checkpoint whose backbone and neck `tal-train --init` loads.
 */
#include "common/cli.h"
#include "common/train_args.h"
#include "data/recset.h"
#include "models/acp_check.h"
#include "models/probe.h"
#include "models/trainer.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* the pre-training's own settings: after the config files, before -s */
static const char *const acp_settings[] = { "model.kind=acp", "train.epochs=14", "train.warmup_epochs=1",
                                            "train.ema_decay=0", "train.checkpoint_every=0" };

static int usage(FILE *fp, int status)
{
    fprintf(fp,
"Usage: tal-pretrain-acp -c CONFIG [-c CONFIG]... [-s KEY=VALUE]... [options] IN.tal... -o ACP.ckpt\n"
"       tal-pretrain-acp --probe ACP.ckpt [--json] TRAIN.tal TEST.tal\n"
"       tal-pretrain-acp --clusters -c CONFIG [-s KEY=VALUE]... [--seed S] [--json] IN.tal...\n"
"Action-aware contrastive pre-training of the ActionFormer-style backbone, without labels\n"
"(man tal-pretrain-acp).\n"
"\n"
"  -c, --config FILE       the detector's YAML config (the network, the optimiser); the\n"
"                          pre-training sets model.kind acp, 15 epochs\n"
"                          (train.warmup_epochs 1 + train.epochs 14), no weight average\n"
"  -s, --set KEY=VALUE     override one setting after those (-s acp.fine_k=2)\n"
"  -o, --output FILE       the checkpoint (backbone and neck; tal-train --init loads it)\n"
"      --resume            continue the run whose checkpoint is at -o\n"
"      --metrics FILE      JSON lines, one per --log-every steps and one per epoch\n"
"      --log-every N       steps between metric lines [0: epochs only]\n"
"      --seed S            overrides train.seed\n"
"      --threads N         CPU threads [all cores]\n"
"      --device DEV        cpu or cuda [cuda when built with it and a GPU is present]\n"
"      --probe ACP.ckpt    measure instead: a linear snippet classifier (background\n"
"                          included) trained on TRAIN.tal's labelled snippets and scored\n"
"                          on TEST.tal's, on the input features, on the pre-trained\n"
"                          representation and on the same network untrained\n"
"      --clusters          measure instead: how often the pairs of frames that the\n"
"                          k-means stand-in labels call positive are of one true class\n"
"                          (and both action or both background), against any pair, on\n"
"                          the fully labelled sequences of the inputs, frames drawn as\n"
"                          the pre-training would, as many passes as it makes\n"
"      --json              with --probe or --clusters: one JSON object on standard output\n");
    cli_usage_footer(fp, 26);
    return status;
}

enum { OPT_DEVICE = 256, OPT_VERSION, OPT_PROBE, OPT_JSON, OPT_CLUSTERS };

static int keep_full(const tal_record *r, void *ctx)
{
    (void)ctx;
    return r->supervision == TAL_SUP_FULL && (r->present & TAL_HAS_FEATURES);
}

/* The records `keep` takes from each of the n inputs (into sets[n], each
 * initialised here), all with features of one width, as one array *recs
 * of *nrecs (malloc'd).  Distributions and detections are not read. */
static int load_inputs(char **paths, int n, int (*keep)(const tal_record *r, void *ctx), tal_recset *sets,
                       const tal_record ***recs, uint32_t *nrecs)
{
    uint32_t total = 0;
    int rc = 0;
    *recs = NULL;
    *nrecs = 0;
    for (int i = 0; i < n; i++)
        tal_recset_init(&sets[i]);
    for (int i = 0; i < n && !rc; i++) {
        if ((rc = tal_recset_load_skip(&sets[i], paths[i], keep, NULL, NULL, TAL_HAS_DIST | TAL_HAS_DETECTIONS)))
            break;
        if (sets[i].hdr.feat_dim != sets[0].hdr.feat_dim)
            rc = tal_err(TAL_EINCOMPAT, "'%s' has %u-d features, '%s' %u-d", paths[i], sets[i].hdr.feat_dim, paths[0],
                         sets[0].hdr.feat_dim);
        for (uint32_t k = 0; k < sets[i].n && !rc; k++)
            if (!(sets[i].v[k].present & TAL_HAS_FEATURES))
                rc = tal_err(TAL_EINVAL, "'%s': sequence '%s' has no features", paths[i], sets[i].v[k].id);
        total += sets[i].n;
    }
    if (!rc && total && !(*recs = malloc(total * sizeof **recs)))
        rc = TAL_ENOMEM;
    for (int i = 0; i < n && !rc; i++)
        for (uint32_t k = 0; k < sets[i].n; k++)
            (*recs)[(*nrecs)++] = &sets[i].v[k];
    return rc;
}

/* --probe: the three representations side by side */
static int probe(const char *model, const char *train_path, const char *test_path, int json)
{
    tal_recset tr, te;
    tal_recset_init(&tr);
    tal_recset_init(&te);
    const tal_record **a = NULL, **b = NULL;
    tal_detector *d = NULL, *fresh = NULL;
    int rc = 0;
    if (!rc)
        rc = tal_recset_load_skip(&tr, train_path, keep_full, NULL, NULL, TAL_HAS_DIST | TAL_HAS_DETECTIONS);
    if (!rc)
        rc = tal_recset_load_skip(&te, test_path, keep_full, NULL, NULL, TAL_HAS_DIST | TAL_HAS_DETECTIONS);
    if (!rc && !tal_classes_equal(&tr.hdr.classes, &te.hdr.classes))
        rc = tal_err(TAL_EINCOMPAT, "'%s' and '%s' have different class tables", train_path, test_path);
    if (!rc && tr.hdr.feat_dim != te.hdr.feat_dim)
        rc = tal_err(TAL_EINCOMPAT, "'%s' has %u-d features, '%s' %u-d", train_path, tr.hdr.feat_dim, test_path,
                     te.hdr.feat_dim);
    if (!rc && (!tr.n || !te.n))
        rc = tal_err(TAL_EINVAL, "'%s' has no fully labelled sequences with features", tr.n ? test_path : train_path);
    if (!rc && (!(a = malloc(tr.n * sizeof *a)) || !(b = malloc(te.n * sizeof *b))))
        rc = TAL_ENOMEM;
    for (uint32_t i = 0; !rc && i < tr.n; i++)
        a[i] = &tr.v[i];
    for (uint32_t i = 0; !rc && i < te.n; i++)
        b[i] = &te.v[i];
    if (!rc && (!(d = tal_detector_open(model, &tr.hdr, train_path, NULL, 0, TAL_DET_ACP, NULL, 0)) ||
                !(fresh = tal_detector_new(&d->cfg, &tr.hdr, NULL))))
        rc = tal_errcode();
    if (!rc) {   /* the same network untrained, from the checkpoint's seed */
        tal_rng r;
        tal_rng_seed(&r, (uint64_t)d->cfg.seed);
        rc = tal_detector_init(fresh, &r);
    }
    static const char *names[3] = { "input", "pretrained", "untrained" };
    tal_probe_result res[3];
    tal_detector *which[3] = { NULL, d, fresh };
    for (int k = 0; k < 3 && !rc; k++)
        rc = tal_probe(which[k], a, tr.n, b, te.n, &tr.hdr, &res[k]);
    if (!rc) {
        if (json) {
            printf("{\"train_snippets\":%llu,\"test_snippets\":%llu", (unsigned long long)res[0].train,
                   (unsigned long long)res[0].test);
            for (int k = 0; k < 3; k++)
                printf(",\"%s\":{\"accuracy\":%.6f,\"class_mean\":%.6f}", names[k], res[k].accuracy, res[k].class_mean);
            printf("}\n");
        } else {
            printf("linear snippet probe: %llu training, %llu test snippets, %u classes and background\n",
                   (unsigned long long)res[0].train, (unsigned long long)res[0].test, tr.hdr.classes.n);
            for (int k = 0; k < 3; k++)
                printf("  %-11s accuracy %.4f  class mean %.4f\n", names[k], res[k].accuracy, res[k].class_mean);
        }
    }
    tal_detector_free(d);
    tal_detector_free(fresh);
    free(a);
    free(b);
    tal_recset_free(&tr);
    tal_recset_free(&te);
    return rc ? cli_fail() : cli_close_stdout();
}

/* --clusters: the stand-in labels against the truth */
static void print_pairs(const char *name, const tal_acp_pairs *p, int json)
{
    double pos = p->pairs ? (double)p->same_cluster / (double)p->pairs : 0;
    double cp = p->same_cluster ? (double)p->same_class_clustered / (double)p->same_cluster : 0;
    double cc = p->pairs ? (double)p->same_class / (double)p->pairs : 0;
    double ap = p->same_cluster ? (double)p->same_action_clustered / (double)p->same_cluster : 0;
    double ac = p->pairs ? (double)p->same_action / (double)p->pairs : 0;
    if (json)
        printf(",\"%s\":{\"pairs\":%llu,\"positive_rate\":%.6f,\"class_precision\":%.6f,\"class_chance\":%.6f,"
               "\"action_precision\":%.6f,\"action_chance\":%.6f}",
               name, (unsigned long long)p->pairs, pos, cp, cc, ap, ac);
    else
        printf("  %-7s %10llu %9.4f %11.4f %8.4f %11.4f %8.4f\n", name, (unsigned long long)p->pairs, pos, cp, cc, ap, ac);
}

static int clusters(const tal_det_config *cfg, char **paths, int npaths, int json)
{
    tal_recset *sets = calloc((size_t)npaths, sizeof *sets);
    const tal_record **recs = NULL;
    uint32_t n = 0;
    int rc = sets ? load_inputs(paths, npaths, keep_full, sets, &recs, &n) : TAL_ENOMEM;
    for (int i = 1; i < npaths && !rc; i++)
        if (!tal_classes_equal(&sets[i].hdr.classes, &sets[0].hdr.classes))
            rc = tal_err(TAL_EINCOMPAT, "'%s' and '%s' have different class tables", paths[i], paths[0]);
    if (!rc && !n)
        rc = tal_err(TAL_EINVAL, "no fully labelled sequences with features in the input");
    tal_acp_agreement a;
    if (!rc)
        rc = tal_acp_check(cfg, recs, n, &sets[0].hdr, (uint64_t)cfg->seed, cfg->warmup_epochs + cfg->epochs, &a);
    if (!rc && json) {
        printf("{\"sequences\":%u,\"frames\":%llu,\"batches\":%llu", n, (unsigned long long)a.frames,
               (unsigned long long)a.batches);
        print_pairs("coarse", &a.coarse, 1);
        print_pairs("fine", &a.fine, 1);
        printf("}\n");
    } else if (!rc) {
        printf("k-means stand-in labels on %u labelled sequences: %llu frames in %llu batches\n", n,
               (unsigned long long)a.frames, (unsigned long long)a.batches);
        printf("  %-7s %10s %9s %11s %8s %11s %8s\n", "", "pairs", "positive", "class|pos", "class", "action|pos",
               "action");
        print_pairs("coarse", &a.coarse, 0);
        print_pairs("fine", &a.fine, 0);
    }
    free(recs);
    for (int i = 0; sets && i < npaths; i++)
        tal_recset_free(&sets[i]);
    free(sets);
    return rc ? cli_fail() : cli_close_stdout();
}

int main(int argc, char **argv)
{
    cli_init("tal-pretrain-acp", argc, argv);
    static const struct option longopts[] = {
        CLI_TRAIN_LONGOPTS,
        { "device", required_argument, 0, OPT_DEVICE }, { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' }, { "version", no_argument, 0, OPT_VERSION },
        { "probe", required_argument, 0, OPT_PROBE }, { "json", no_argument, 0, OPT_JSON },
        { "clusters", no_argument, 0, OPT_CLUSTERS }, { 0, 0, 0, 0 },
    };
    cli_train_args a = CLI_TRAIN_ARGS_INIT;
    const char *device = NULL, *probe_model = NULL;
    int json = 0, check = 0, c;
    while ((c = getopt_long(argc, argv, "c:s:o:qh", longopts, NULL)) != -1) {
        int k = cli_train_option(&a, c, optarg);
        if (k == 2)
            return 2;
        if (k)
            continue;
        switch (c) {
        case OPT_DEVICE: device = optarg; break;
        case OPT_PROBE: probe_model = optarg; break;
        case OPT_JSON: json = 1; break;
        case OPT_CLUSTERS: check = 1; break;
        case 'q': tal_set_quiet(1); break;
        case 'h': return usage(stdout, 0) || cli_close_stdout();
        case OPT_VERSION: return cli_version();
        default: return usage(stderr, 2);
        }
    }
    if (device && strcmp(device, "cpu") && strcmp(device, "cuda"))
        return cli_usage_error("invalid --device '%s' (cpu or cuda)", device);
    if (probe_model) {
        if (a.out || a.nfiles || a.nsets || a.resume)
            return cli_usage_error("--probe measures a checkpoint: no -o, -c, -s or --resume");
        if (argc - optind != 2)
            return cli_usage_error("--probe takes a training and a test stream");
        return probe(probe_model, argv[optind], argv[optind + 1], json);
    }
    if (json && !check)
        return cli_usage_error("--json goes with --probe or --clusters");
    if (check && (a.out || a.resume || a.metrics))
        return cli_usage_error("--clusters measures: no -o, --resume or --metrics");
    int rc = check ? 0 : cli_train_check(&a);
    if (rc)
        return rc;
    if (optind == argc)
        return cli_usage_error("at least one input stream is required");
    if (!a.resume && !a.nfiles)
        return cli_usage_error("a detector config is required (-c FILE; pipelines/configs/actionformer-*.yaml)");
    tal_det_config cfg;
    if (!a.resume) {   /* the files must describe the ActionFormer-style detector */
        cli_train_args files_only = a;
        files_only.nsets = 0;
        if ((rc = cli_train_config(&cfg, &files_only, NULL, 0, NULL, 0)))
            return rc;
        if (cfg.kind != TAL_DET_ACTIONFORMER)
            return cli_usage_error("the config is for model.kind %s: contrastive pre-training is for the "
                                   "ActionFormer-style detector", tal_det_kind_name(cfg.kind));
    }
    if ((rc = cli_train_config(&cfg, &a, NULL, 0, acp_settings, (int)(sizeof acp_settings / sizeof *acp_settings))))
        return rc;
    if (cfg.kind != TAL_DET_ACP)
        return cli_usage_error("model.kind must stay acp here");
    if (check)
        return clusters(&cfg, argv + optind, argc - optind, json);
    const tal_backend *be = tal_backend_for(device);
    if (!be)
        return cli_error("--device %s: %s", device, tal_errmsg());

    int nin = argc - optind;
    tal_recset *sets_in = calloc((size_t)nin, sizeof *sets_in);
    const tal_record **recs = NULL;
    tal_detector *d = NULL;
    FILE *metrics = NULL;
    uint32_t n = 0;
    if (!sets_in) {
        rc = TAL_ENOMEM;
        goto done;
    }
    /* labels are not read by the pre-training */
    if ((rc = load_inputs(argv + optind, nin, NULL, sets_in, &recs, &n)))
        goto done;
    if (!n) {
        rc = tal_err(TAL_EINVAL, "no sequences to pre-train on");
        goto done;
    }
    if (!(d = tal_detector_new(&cfg, &sets_in[0].hdr, be))) {
        rc = tal_errcode();
        goto done;
    }
    if (a.metrics && !(metrics = fopen(a.metrics, "w"))) {
        rc = tal_err(TAL_EIO, "cannot open '%s': %s", a.metrics, strerror(errno));
        goto done;
    }
    tal_train_opts o = { .ckpt_path = a.out, .resume_path = a.resume ? a.out : NULL, .metrics = metrics,
                         .log_every = (int)a.log_every, .progress = 1, .be = be, .stop_after_epochs = (int)a.stop };
    rc = tal_train(d, recs, n, NULL, 0, &o);
done:
    if (metrics && fclose(metrics) && !rc)
        rc = tal_err(TAL_EIO, "cannot write '%s': %s", a.metrics, strerror(errno));
    tal_detector_free(d);
    free(recs);
    for (int i = 0; sets_in && i < nin; i++)
        tal_recset_free(&sets_in[i]);
    free(sets_in);
    return rc ? cli_fail() : cli_close_stdout();
}
