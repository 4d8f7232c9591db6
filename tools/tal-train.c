/* tal-train — train a temporal action detector on a stream.
 *
 * Reads the config (-c files, then -s overrides), checks it against the
 * training stream (feature width, classes), keeps the records the model
 * learns from in memory, with --unlabelled the pseudo-labelled ones too,
 * and runs the training loop (lib/models/trainer.c), writing checkpoints
 * atomically to -o.
 */
#include "common/cli.h"
#include "common/train_args.h"
#include "mpi/dist.h"
#include "data/gridfit.h"
#include "data/recset.h"
#include "models/trainer.h"
#include "util/strmap.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE *fp, int status)
{
    fprintf(fp,
"Usage: tal-train -c CONFIG [-c CONFIG]... [-s KEY=VALUE]... [options] TRAIN.tal -o MODEL.ckpt\n"
"       tal-train ... --unlabelled PSEUDO.tal TRAIN.tal -o MODEL.ckpt\n"
"Train a temporal action detector (man tal-train).\n"
"\n"
"  -c, --config FILE       YAML config (pipelines/configs/); later files override earlier\n"
"  -s, --set KEY=VALUE     override one config value (-s train.epochs=10)\n"
"  -o, --output FILE       the checkpoint, written every train.checkpoint_every epochs\n"
"                          and at the end (atomically)\n"
"      --resume            continue the run whose checkpoint is at -o\n"
"      --init CKPT         start from the matching weights of another checkpoint\n"
"      --unlabelled FILE   also train on these pseudo-labelled sequences (pseudolabel),\n"
"                          as the config's semi.* settings say\n"
"      --metrics FILE      JSON lines: one per --log-every steps and one per epoch\n"
"      --log-every N       steps between metric lines [0: epochs only]\n"
"      --seed S            overrides train.seed\n"
"      --threads N         CPU threads [all cores]\n"
"      --device DEV        cpu or cuda [cuda when built with it and a GPU is present]\n"
"      --print-config      print the resolved config as YAML and exit\n"
"\n"
"Under mpirun -np N, the ranks train one model together (man tal-train,\n"
"Data-parallel training).  This build: %s.\n",
            cli_dist_built() ? "with MPI" : "without MPI (one process only)");
    cli_usage_footer(fp, 26);
    return status;
}

enum { OPT_INIT = 256, OPT_UNLABELLED, OPT_DEVICE, OPT_PRINT, OPT_VERSION };

/* the records of the supervision kinds the model learns from */
static int keep_trainable(const tal_record *r, void *ctx)
{
    return tal_det_trains_on(ctx, r->supervision);
}

/* A pseudo-labelled stream: made by pseudolabel, for the labelled
 * stream's classes and features, with no true labels left in it (no
 * ground truth of an unlabelled sequence may reach training). */
static int check_unlabelled(const tal_recset *u, const char *path, const tal_recset *lab, const char *lab_path)
{
    if (!tal_header_get_meta(&u->hdr, "pseudolabel.snippets") && !tal_header_get_meta(&u->hdr, "pseudolabel.instances"))
        return tal_err(TAL_EINVAL, "'%s' holds no pseudo labels: make them with pseudolabel --snippets and/or "
                       "--instances", path);
    if (!tal_classes_equal(&u->hdr.classes, &lab->hdr.classes))
        return tal_err(TAL_EINCOMPAT, "'%s' and '%s' have different class tables", path, lab_path);
    if (u->hdr.feat_dim && lab->hdr.feat_dim && u->hdr.feat_dim != lab->hdr.feat_dim)
        return tal_err(TAL_EINCOMPAT, "'%s' has %u-d features, '%s' %u-d", path, u->hdr.feat_dim, lab_path,
                       lab->hdr.feat_dim);
    if (!u->n)
        return tal_err(TAL_EINVAL, "'%s' has no sequences", path);
    tal_strmap ids;
    tal_strmap_init(&ids);
    int rc = 0;
    for (uint32_t i = 0; i < lab->n && !rc; i++)
        rc = tal_strmap_put(&ids, lab->v[i].id, i);
    for (uint32_t i = 0; i < u->n && !rc; i++) {
        const tal_record *r = &u->v[i];
        if (r->supervision != TAL_SUP_NONE)
            rc = tal_err(TAL_EINVAL, "'%s': sequence '%s' has %s supervision: --unlabelled takes unlabelled "
                         "sequences with pseudo labels", path, r->id, tal_supervision_name(r->supervision));
        for (uint32_t k = 0; k < r->segs.n && !rc; k++)
            if (!(r->segs.v[k].flags & TAL_SEG_PSEUDO))
                rc = tal_err(TAL_EINVAL, "'%s': sequence '%s' carries true segments: the labels of an unlabelled "
                             "sequence must not reach training", path, r->id);
        if (!rc && (r->present & (TAL_HAS_POINTS | TAL_HAS_LABELS)))
            rc = tal_err(TAL_EINVAL, "'%s': sequence '%s' carries %s: the labels of an unlabelled sequence must "
                         "not reach training", path, r->id, r->present & TAL_HAS_POINTS ? "points" : "video labels");
        if (!rc && !(r->present & TAL_HAS_FEATURES))
            rc = tal_err(TAL_EINVAL, "'%s': sequence '%s' has no features", path, r->id);
        if (!rc && tal_strmap_get(&ids, r->id) >= 0)
            rc = tal_err(TAL_EINVAL, "sequence '%s' is both in '%s' and in '%s'", r->id, lab_path, path);
    }
    tal_strmap_free(&ids);
    return rc;
}

int main(int argc, char **argv)
{
    cli_init("tal-train", argc, argv);
    static const struct option longopts[] = {
        CLI_TRAIN_LONGOPTS,
        { "init", required_argument, 0, OPT_INIT }, { "unlabelled", required_argument, 0, OPT_UNLABELLED },
        { "device", required_argument, 0, OPT_DEVICE }, { "print-config", no_argument, 0, OPT_PRINT },
        { "quiet", no_argument, 0, 'q' }, { "help", no_argument, 0, 'h' }, { "version", no_argument, 0, OPT_VERSION },
        { 0, 0, 0, 0 },
    };
    cli_train_args a = CLI_TRAIN_ARGS_INIT;
    const char *init = NULL, *device = NULL, *unl_path = NULL;
    int print = 0, c;
    while ((c = getopt_long(argc, argv, "c:s:o:qh", longopts, NULL)) != -1) {
        int k = cli_train_option(&a, c, optarg);
        if (k == 2)
            return 2;
        if (k)
            continue;
        switch (c) {
        case OPT_INIT: init = optarg; break;
        case OPT_UNLABELLED: unl_path = optarg; break;
        case OPT_DEVICE: device = optarg; break;
        case OPT_PRINT: print = 1; break;
        case 'q': tal_set_quiet(1); break;
        case 'h': return usage(stdout, 0) || cli_close_stdout();
        case OPT_VERSION: return cli_version();
        default: return usage(stderr, 2);
        }
    }
    if (device && strcmp(device, "cpu") && strcmp(device, "cuda"))
        return cli_usage_error("invalid --device '%s' (cpu or cuda)", device);
    if (a.resume && init)
        return cli_usage_error("--resume and --init exclude each other");
    a.ranks_ok = 1;   /* under a launcher, cli_dist_start joins the job or refuses */
    if (!print) {
        int rc = cli_train_check(&a);
        if (rc)
            return rc;
        if (optind != argc - 1)
            return cli_usage_error(optind == argc ? "the training stream is required" : "one training stream only");
        if (!a.resume && !a.nfiles)
            return cli_usage_error("a config is required (-c FILE; pipelines/configs/ has some)");
    } else if (a.resume && a.nfiles) {
        return cli_usage_error("--resume takes the config stored in the checkpoint; give no -c (only -s)");
    }

    tal_det_config cfg;
    int rc = cli_train_config(&cfg, &a, NULL, 0, NULL, 0);
    if (rc)
        return rc;
    if (print) {
        char *text = tal_det_config_dump(&cfg);
        if (!text)
            return cli_fail();
        fputs(text, stdout);
        free(text);
        return cli_close_stdout();
    }

    /* under mpirun: one of the job's ranks (before the backend: it picks
     * this rank's GPU) */
    tal_dist *dd = NULL;
    if (cli_dist_start(&dd, a.threads > 0))
        return 1;
    /* cuda when a GPU can be used, unless told */
    const tal_backend *be = tal_backend_for(device);
    if (!be)
        return cli_dist_end(dd, cli_error("--device %s: %s", device, tal_errmsg()));

    tal_recset set, uset;
    tal_recset_init(&set);
    tal_recset_init(&uset);
    uint32_t skipped = 0;
    tal_detector *d = NULL;
    const tal_record **recs = NULL, **urecs = NULL;
    FILE *metrics = NULL;
    const tal_det_ops *ops = tal_det_ops_for(cfg.kind);
    /* the launcher gives standard input to rank 0 alone */
    if (dd && (!strcmp(argv[optind], "-") || (unl_path && !strcmp(unl_path, "-")))) {
        rc = tal_err(TAL_EINVAL, "under mpirun every rank reads the training streams: give files, not '-' "
                     "(standard input reaches rank 0 only)");
        goto fail;
    }
    if ((rc = cli_dist_load(dd, &set, argv[optind], keep_trainable, (void *)ops, &skipped)))
        goto fail;
    if (!set.n) {
        rc = tal_err(TAL_EINVAL, "'%s' has no sequences with %s supervision to train on (%u with other supervision)",
                     argv[optind], tal_det_trains_on_names(ops), skipped);
        goto fail;
    }
    if (skipped)
        tal_warn("%u sequences without %s supervision are left out of training", skipped,
                 tal_det_trains_on_names(ops));
    tal_grid_warn_records(set.v, set.n, &set.hdr, argv[optind],
                          "repack it with featpack's --stride, --clip and --fps, or --stride auto");
    recs = malloc(set.n * sizeof *recs);
    for (uint32_t i = 0; recs && i < set.n; i++) {
        if ((rc = tal_det_check_training_record(ops, &set.v[i], argv[optind])))
            goto fail;
        recs[i] = &set.v[i];
    }
    if (!recs) {
        rc = tal_err(TAL_ENOMEM, "out of memory");
        goto fail;
    }
    if (unl_path) {
        if (!ops->semi) {
            rc = tal_err(TAL_EINVAL, "model.kind %s does not learn from pseudo labels (--unlabelled)", ops->name);
            goto fail;
        }
        if ((rc = cli_dist_load(dd, &uset, unl_path, NULL, NULL, NULL)) ||
            (rc = check_unlabelled(&uset, unl_path, &set, argv[optind])))
            goto fail;
        if (!(urecs = malloc((uset.n ? uset.n : 1) * sizeof *urecs))) {
            rc = tal_err(TAL_ENOMEM, "out of memory");
            goto fail;
        }
        for (uint32_t i = 0; i < uset.n; i++)
            urecs[i] = &uset.v[i];
    }
    if (!(d = tal_detector_new(&cfg, &set.hdr, be))) {
        rc = tal_errcode();
        goto fail;
    }
    if (a.metrics && (!dd || dd->rank == 0) && !(metrics = fopen(a.metrics, "w"))) {
        rc = tal_err(TAL_EIO, "cannot open '%s': %s", a.metrics, strerror(errno));
        goto fail;
    }
    tal_train_opts o = { .ckpt_path = a.out, .resume_path = a.resume ? a.out : NULL, .init_path = init,
                         .metrics = metrics, .log_every = (int)a.log_every, .progress = 1, .be = be,
                         .stop_after_epochs = (int)a.stop, .dist = dd };
    rc = tal_train(d, recs, set.n, urecs, uset.n, &o);
fail:
    if (metrics && fclose(metrics) && !rc)
        rc = tal_err(TAL_EIO, "cannot write '%s': %s", a.metrics, strerror(errno));
    tal_detector_free(d);
    free(recs);
    free(urecs);
    cli_dist_unload(dd, &set);
    cli_dist_unload(dd, &uset);
    return cli_dist_end(dd, rc ? cli_fail() : cli_close_stdout());
}
