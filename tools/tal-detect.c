/* tal-detect — run a trained detector over a stream, one sequence at a time.
 *
 * Each output record is the input record with its detections (in seconds,
 * suppressed as the model's test.* settings say) and, with --dist, its
 * snippet class distributions.  Features are left out unless asked for,
 * or unless --dist is given: snippet distributions are what pseudo labels
 * are made of, and a pseudo-labelled stream is trained on, so it needs
 * the features beside them.
 */
#include "common/cli.h"
#include "common/shard.h"
#include "io/checkpoint.h"
#include "models/trainer.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE *fp, int status)
{
    fprintf(fp,
"Usage: tal-detect [options] MODEL.ckpt [IN.tal] [-o OUT.tal]\n"
"Detect actions with a trained model (man tal-detect).  IN defaults to standard input.\n"
"\n"
"  -o, --output FILE       output stream [-: standard output]\n"
"  -s, --set KEY=VALUE     override an inference setting (test.*: thresholds, NMS)\n"
"      --no-ema            use the last weights instead of their moving average\n"
"      --dist              also write each snippet's class distribution (and keep the\n"
"                          features, for pseudolabel)\n"
"      --pseudo            write the pseudo labels the model mines on each sequence with\n"
"                          points instead of its segments (FS-PTAL; for inspection)\n"
"      --keep-features     keep the input features in the output\n"
"      --drop-features     leave the features out, even with --dist\n"
CLI_SHARD_HELP
"      --threads N         CPU threads [all cores]\n"
"      --device DEV        cpu or cuda [cuda when built with it and a GPU is present]\n"
"  -l, --level N           deflate level 0-9 [0]\n"
"  -f, --force             write a binary stream to a terminal\n");
    cli_usage_footer(fp, 26);
    return status;
}

enum { OPT_NO_EMA = 256, OPT_DIST, OPT_KEEP, OPT_DROP, OPT_THREADS, OPT_DEVICE, OPT_VERSION, OPT_PSEUDO , OPT_SHARD };

int main(int argc, char **argv)
{
    cli_init("tal-detect", argc, argv);
    static const struct option longopts[] = {
        { "output", required_argument, 0, 'o' }, { "set", required_argument, 0, 's' },
        { "no-ema", no_argument, 0, OPT_NO_EMA }, { "dist", no_argument, 0, OPT_DIST },
        { "pseudo", no_argument, 0, OPT_PSEUDO },
        { "keep-features", no_argument, 0, OPT_KEEP }, { "drop-features", no_argument, 0, OPT_DROP },
        { "shard", required_argument, 0, OPT_SHARD }, { "threads", required_argument, 0, OPT_THREADS },
        { "device", required_argument, 0, OPT_DEVICE }, { "level", required_argument, 0, 'l' },
        { "force", no_argument, 0, 'f' }, { "quiet", no_argument, 0, 'q' }, { "help", no_argument, 0, 'h' },
        { "version", no_argument, 0, OPT_VERSION }, { 0, 0, 0, 0 },
    };
    tal_select shard;
    tal_select_init(&shard);
    const char *out = "-", *sets[64], *device = NULL;
    int nsets = 0, use_ema = 1, dist = 0, keep = -1, force = 0, pseudo = 0, c;
    long threads = 0, level = 0;
    while ((c = getopt_long(argc, argv, "o:s:l:fqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 's':
            if (nsets == 64)
                return cli_usage_error("at most 64 overrides");
            if (strncmp(optarg, "test.", 5))
                return cli_usage_error("only inference settings (test.*) can be changed here, not '%s'", optarg);
            sets[nsets++] = optarg;
            break;
        case OPT_NO_EMA: use_ema = 0; break;
        case OPT_SHARD: if (cli_shard(&shard, optarg)) return 2; break;
        case OPT_DIST: dist = 1; break;
        case OPT_PSEUDO: pseudo = 1; break;
        case OPT_KEEP: keep = 1; break;
        case OPT_DROP: keep = 0; break;
        case OPT_THREADS: if (cli_int("--threads", optarg, 1, 1024, &threads)) return 2; break;
        case OPT_DEVICE: device = optarg; break;
        case 'l': if (cli_int("--level", optarg, 0, 9, &level)) return 2; break;
        case 'f': force = 1; break;
        case 'q': tal_set_quiet(1); break;
        case 'h': return usage(stdout, 0) || cli_close_stdout();
        case OPT_VERSION: return cli_version();
        default: return usage(stderr, 2);
        }
    }
    if (device && strcmp(device, "cpu") && strcmp(device, "cuda"))
        return cli_usage_error("invalid --device '%s' (cpu or cuda)", device);
    if (optind >= argc)
        return cli_usage_error("the model checkpoint is required");
    if (argc - optind > 2)
        return cli_usage_error("one model and one input stream");
    const char *model = argv[optind], *input = optind + 1 < argc ? argv[optind + 1] : "-";
    if (keep < 0)
        keep = dist;
    if (threads)
        tal_cpu_set_threads((int)threads);

    /* cuda when a GPU can be used, unless told */
    const tal_backend *be = tal_backend_for(device);
    if (!be)
        return cli_error("--device %s: %s", device, tal_errmsg());

    tal_detector *d = NULL;
    tal_stream *in = NULL, *w = NULL;
    tal_graph *g = NULL;
    tal_header h;
    tal_header_init(&h);
    tal_record r;
    tal_record_init(&r);
    int rc = 0;
    if (!(in = tal_stream_open(input))) {
        rc = tal_errcode();
        goto fail;
    }
    if ((rc = tal_header_copy(&h, tal_stream_header(in))))
        goto fail;
    if (!(d = tal_detector_open(model, &h, tal_stream_name(in), be, use_ema, -1, sets, nsets))) {
        rc = tal_errcode();
        goto fail;
    }
    if ((rc = cli_add_prov(&h)))
        goto fail;
    tal_write_opts wo = { .level = (int)level, .force = force };
    if (!(w = tal_stream_create(out, &h, &wo)) || !(g = tal_graph_new(be))) {
        rc = tal_errcode();
        goto fail;
    }
    tal_graph_set_training(g, 0);
    tal_graph_set_grad(g, 0);
    tal_progress prog;
    tal_progress_start(&prog, "sequences", 0);
    uint64_t nrec = 0;
    while ((rc = tal_record_read(in, &r)) > 0) {
        if (!tal_select_match(&shard, &r))
            continue;
        tal_graph_reset(g);
        if ((rc = tal_detector_detect(d, g, &r, &r.dets, dist ? &r : NULL))) {
            rc = tal_err_wrap(rc, "'%s': sequence '%s'", tal_stream_name(in), r.id);
            break;
        }
        r.present |= TAL_HAS_DETECTIONS;
        if (pseudo && r.npoints) {
            tal_graph_reset(g);
            if ((rc = tal_detector_pseudo(d, g, &r, &r.segs))) {
                rc = tal_err_wrap(rc, "'%s': sequence '%s'", tal_stream_name(in), r.id);
                break;
            }
            r.present |= TAL_HAS_SEGMENTS;
        }
        if (!keep)
            tal_record_drop_features(&r);
        if ((rc = tal_record_write(w, &r)))
            break;
        tal_progress_update(&prog, ++nrec, tal_stream_bytes_read(in));
    }
    tal_progress_end(&prog);
    if (rc < 0)
        goto fail;
    rc = tal_stream_finish(w);
    w = NULL;
fail:
    tal_stream_abort(w);
    tal_stream_close(in);
    tal_graph_free(g);
    tal_detector_free(d);
    tal_record_free(&r);
    tal_header_free(&h);
    return rc ? cli_fail() : cli_close_stdout();
}
