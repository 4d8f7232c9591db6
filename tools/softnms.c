/* softnms — suppress overlapping detections in a talcore stream.
 *
 * Reads a stream, replaces each record's detections by what Soft-NMS (or
 * linear or hard NMS) keeps, and writes the stream; everything else in a
 * record passes through.  One record is in memory at a time.
 */
#include "common/cli.h"
#include "common/shard.h"
#include "post/nms.h"
#include "util/text.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE *fp, int status)
{
    fprintf(fp,
"Usage: softnms [options] [IN.tal|-]\n"
"Suppress overlapping detections of every sequence of a stream (man softnms).\n"
"\n"
"  -m, --method NAME       gaussian (default), linear or hard\n"
"  -s, --sigma F           Gaussian width: w = exp(-IoU^2/F) [0.5]\n"
"  -t, --iou-thresh F      linear and hard: decay at IoU >= F [0.5]\n"
"      --min-score F       drop detections whose decayed score falls below [0.001]\n"
"  -n, --max-keep N        keep at most N per sequence, 0 = all [200]\n"
"  -a, --class-agnostic    suppress across classes (default: per class)\n"
"      --adaptive T1:T2    BMN: decay only at IoU > T1 + (T2-T1) x length/duration\n"
"      --vote F            segment voting: average with the overlaps at IoU >= F\n"
"      --preset NAME       thumos: gaussian 0.5, per class, 200 (ActionFormer THUMOS14)\n"
"                          anet: gaussian 0.75, class-agnostic, 100, vote 0.9\n"
"                          bmn: gaussian 0.4, adaptive 0.5:0.9, class-agnostic, 100\n"
"                          (options given explicitly win over the preset)\n"
CLI_SHARD_HELP
"  -o, --output FILE       output stream [-: standard output]\n"
"  -l, --level N           deflate level 0-9 [0]\n"
"  -f, --force             write a binary stream to a terminal\n"
"  -q, --quiet             no progress line\n"
"  -h, --help              this help\n"
"      --version           version\n"
"\n"
"Exit status: 0 success, 1 bad input or failure, 2 usage error.\n");
    return status;
}

enum { OPT_MIN_SCORE = 256, OPT_ADAPTIVE, OPT_VOTE, OPT_PRESET, OPT_VERSION , OPT_SHARD };

/* which options were given explicitly */
enum { SET_METHOD = 1, SET_SIGMA = 2, SET_MIN = 4, SET_KEEP = 8, SET_AGN = 16, SET_ADAPT = 32, SET_VOTE = 64 };

static int apply_preset(tal_nms_opts *o, const char *name, unsigned set)
{
    tal_nms_opts p = *o;
    if (!strcmp(name, "thumos")) {
        p.method = TAL_NMS_GAUSSIAN, p.sigma = 0.5, p.min_score = 0.001, p.max_keep = 200, p.class_agnostic = 0;
    } else if (!strcmp(name, "anet")) {
        p.method = TAL_NMS_GAUSSIAN, p.sigma = 0.75, p.min_score = 0.001, p.max_keep = 100, p.class_agnostic = 1;
        p.vote_iou = 0.9;
    } else if (!strcmp(name, "bmn")) {
        p.method = TAL_NMS_GAUSSIAN, p.sigma = 0.4, p.min_score = 0, p.max_keep = 100, p.class_agnostic = 1;
        p.adaptive = 1, p.t1 = 0.5, p.t2 = 0.9;
    } else {
        return -1;
    }
    if (!(set & SET_METHOD)) o->method = p.method;
    if (!(set & SET_SIGMA)) o->sigma = p.sigma;
    if (!(set & SET_MIN)) o->min_score = p.min_score;
    if (!(set & SET_KEEP)) o->max_keep = p.max_keep;
    if (!(set & SET_AGN)) o->class_agnostic = p.class_agnostic;
    if (!(set & SET_ADAPT)) o->adaptive = p.adaptive, o->t1 = p.t1, o->t2 = p.t2;
    if (!(set & SET_VOTE)) o->vote_iou = p.vote_iou;
    return 0;
}

int main(int argc, char **argv)
{
    cli_init("softnms", argc, argv);
    static const struct option longopts[] = {
        { "method", required_argument, 0, 'm' }, { "sigma", required_argument, 0, 's' },
        { "iou-thresh", required_argument, 0, 't' }, { "min-score", required_argument, 0, OPT_MIN_SCORE },
        { "max-keep", required_argument, 0, 'n' }, { "class-agnostic", no_argument, 0, 'a' },
        { "adaptive", required_argument, 0, OPT_ADAPTIVE }, { "vote", required_argument, 0, OPT_VOTE },
        { "preset", required_argument, 0, OPT_PRESET }, { "output", required_argument, 0, 'o' },
        { "level", required_argument, 0, 'l' }, { "force", no_argument, 0, 'f' },
        { "quiet", no_argument, 0, 'q' }, { "help", no_argument, 0, 'h' },
        { "shard", required_argument, 0, OPT_SHARD }, { "version", no_argument, 0, OPT_VERSION }, { 0, 0, 0, 0 },
    };
    tal_nms_opts o = { .method = TAL_NMS_GAUSSIAN, .sigma = 0.5, .iou_thresh = 0.5, .min_score = 0.001,
                       .max_keep = 200 };
    tal_select shard;
    tal_select_init(&shard);
    const char *output = "-", *preset = NULL;
    int level = 0, force = 0, c;
    unsigned set = 0;
    long lv;
    while ((c = getopt_long(argc, argv, "m:s:t:n:ao:l:fqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if ((o.method = tal_nms_method_parse(optarg)) < 0)
                return cli_usage_error("invalid --method '%s' (gaussian, linear or hard)", optarg);
            set |= SET_METHOD;
            break;
        case 's': if (cli_double("--sigma", optarg, 1e-9, 1e9, &o.sigma)) return 2; set |= SET_SIGMA; break;
        case 't': if (cli_double("--iou-thresh", optarg, 1e-9, 1, &o.iou_thresh)) return 2; break;
        case OPT_MIN_SCORE:
            if (cli_double("--min-score", optarg, 0, 1e300, &o.min_score)) return 2;
            set |= SET_MIN;
            break;
        case 'n':
            if (cli_int("--max-keep", optarg, 0, UINT32_MAX, &lv)) return 2;
            o.max_keep = (uint32_t)lv;
            set |= SET_KEEP;
            break;
        case 'a': o.class_agnostic = 1; set |= SET_AGN; break;
        case OPT_ADAPTIVE: {
            char *colon = strchr(optarg, ':'), buf[64];
            if (!colon || (size_t)(colon - optarg) >= sizeof buf)
                return cli_usage_error("invalid --adaptive '%s' (expected T1:T2, e.g. 0.5:0.9)", optarg);
            memcpy(buf, optarg, (size_t)(colon - optarg));
            buf[colon - optarg] = 0;
            if (tal_parse_double(buf, &o.t1) || tal_parse_double(colon + 1, &o.t2) || !(o.t1 >= 0) ||
                !(o.t2 >= o.t1) || !(o.t2 <= 1))
                return cli_usage_error("invalid --adaptive '%s' (expected T1:T2 with 0 <= T1 <= T2 <= 1)", optarg);
            o.adaptive = 1;
            set |= SET_ADAPT;
            break;
        }
        case OPT_VOTE: if (cli_double("--vote", optarg, 0, 1, &o.vote_iou)) return 2; set |= SET_VOTE; break;
        case OPT_PRESET: preset = optarg; break;
        case OPT_SHARD: if (cli_shard(&shard, optarg)) return 2; break;
        case 'o': output = optarg; break;
        case 'l': if (cli_int("--level", optarg, 0, 9, &lv)) return 2; level = (int)lv; break;
        case 'f': force = 1; break;
        case 'q': tal_set_quiet(1); break;
        case 'h': return usage(stdout, 0) || cli_close_stdout();
        case OPT_VERSION: return cli_version();
        default: return usage(stderr, 2);
        }
    }
    if (preset && apply_preset(&o, preset, set))
        return cli_usage_error("invalid --preset '%s' (thumos, anet or bmn)", preset);
    if (optind + 1 < argc)
        return cli_usage_error("one input expected, got %d", argc - optind);
    const char *input = optind < argc ? argv[optind] : "-";

    tal_stream *in = tal_stream_open(input), *out = NULL;
    tal_nms_ws *ws = tal_nms_ws_new();
    tal_header h;
    tal_header_init(&h);
    tal_record r;
    tal_record_init(&r);
    int rc = 0;
    if (!in || !ws) {
        rc = in ? TAL_ENOMEM : tal_errcode();
        goto done;
    }
    tal_write_opts wo = { .level = level, .force = force };
    if ((rc = tal_header_copy(&h, tal_stream_header(in))) || (rc = cli_add_prov(&h)))
        goto done;
    if (!(out = tal_stream_create(output, &h, &wo))) {
        rc = tal_errcode();
        goto done;
    }
    tal_progress prog;
    tal_progress_start(&prog, "sequences", 0);
    uint64_t nrec = 0;
    while ((rc = tal_record_read(in, &r)) > 0) {
        if (!tal_select_match(&shard, &r))
            continue;
        if ((rc = tal_nms(ws, &r.dets, r.duration, &o))) {
            rc = tal_err_wrap(rc, "'%s': sequence '%s'", tal_stream_name(in), r.id);
            break;
        }
        if ((rc = tal_record_write(out, &r)))
            break;
        tal_progress_update(&prog, ++nrec, tal_stream_bytes_read(in));
    }
    tal_progress_end(&prog);
    if (rc == 0) {
        rc = tal_stream_finish(out);
        out = NULL;
    }
done:
    tal_stream_abort(out);
    tal_stream_close(in);
    tal_nms_ws_free(ws);
    tal_record_free(&r);
    tal_header_free(&h);
    if (rc)
        return cli_fail();
    return cli_close_stdout();
}
