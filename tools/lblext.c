/* lblext — label extension of point-supervised sequences (FS-PTAL).
 *
 * Reads a stream; every point-supervised record gets its features
 * resampled more densely around its points, its points spread to the new
 * positions near them, and a time map back to the sequence's own seconds
 * (lib/data/lblext.h, data-spec.md §5.7).  Other records pass through
 * unchanged.  One record is in memory at a time.
 */
#include "common/cli.h"
#include "common/shard.h"
#include "data/lblext.h"
#include "data/timemap.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE *fp, int status)
{
    fprintf(fp,
"Usage: lblext [options] [IN.tal|-] [-o OUT.tal]\n"
"Resample point-supervised sequences around their points (man lblext).\n"
"\n"
"      --tau1 W            sampling weight of runs of labelled snippets [2.5]\n"
"      --tau2 W            sampling weight of the snippet either side of a run [1.67]\n"
"      --theta S           a point labels the new positions within S snippets [1]\n"
CLI_SHARD_HELP
"  -o, --output FILE       output stream [-: standard output]\n"
"  -l, --level N           deflate level 0-9 [0]\n"
"  -f, --force             write a binary stream to a terminal\n"
"  -v, --verbose           print how much the sequences grew on stderr\n");
    cli_usage_footer(fp, 26);
    return status;
}

enum { OPT_TAU1 = 256, OPT_TAU2, OPT_THETA, OPT_VERSION , OPT_SHARD };

int main(int argc, char **argv)
{
    cli_init("lblext", argc, argv);
    static const struct option longopts[] = {
        { "tau1", required_argument, 0, OPT_TAU1 }, { "tau2", required_argument, 0, OPT_TAU2 },
        { "theta", required_argument, 0, OPT_THETA }, { "output", required_argument, 0, 'o' },
        { "level", required_argument, 0, 'l' }, { "force", no_argument, 0, 'f' },
        { "verbose", no_argument, 0, 'v' }, { "quiet", no_argument, 0, 'q' }, { "help", no_argument, 0, 'h' },
        { "shard", required_argument, 0, OPT_SHARD }, { "version", no_argument, 0, OPT_VERSION }, { 0, 0, 0, 0 },
    };
    tal_lblext_opts o = TAL_LBLEXT_DEFAULTS;
    tal_select shard;
    tal_select_init(&shard);
    const char *output = "-";
    int force = 0, verbose = 0, c;
    long level = 0;
    while ((c = getopt_long(argc, argv, "o:l:fvqh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_TAU1: if (cli_double("--tau1", optarg, 1e-3, 1e3, &o.tau1)) return 2; break;
        case OPT_TAU2: if (cli_double("--tau2", optarg, 1e-3, 1e3, &o.tau2)) return 2; break;
        case OPT_THETA: if (cli_double("--theta", optarg, 0, 1e6, &o.theta)) return 2; break;
        case OPT_SHARD: if (cli_shard(&shard, optarg)) return 2; break;
        case 'o': output = optarg; break;
        case 'l': if (cli_int("--level", optarg, 0, 9, &level)) return 2; break;
        case 'f': force = 1; break;
        case 'v': verbose = 1; break;
        case 'q': tal_set_quiet(1); break;
        case 'h': return usage(stdout, 0) || cli_close_stdout();
        case OPT_VERSION: return cli_version();
        default: return usage(stderr, 2);
        }
    }
    if (optind + 1 < argc)
        return cli_usage_error("one input expected, got %d", argc - optind);
    const char *input = optind < argc ? argv[optind] : "-";

    tal_stream *in = tal_stream_open(input), *out = NULL;
    tal_lblext_ws *ws = tal_lblext_ws_new();
    tal_header h;
    tal_header_init(&h);
    tal_record r;
    tal_record_init(&r);
    int rc = 0;
    if (!in || !ws) {
        rc = in ? TAL_ENOMEM : tal_errcode();
        goto done;
    }
    const tal_header *ih = tal_stream_header(in);
    char meta[160];
    snprintf(meta, sizeof meta, "tau1=%g tau2=%g theta=%g", o.tau1, o.tau2, o.theta);
    tal_write_opts wo = { .level = (int)level, .force = force };
    if ((rc = tal_header_copy(&h, ih)) || (rc = tal_header_set_meta(&h, "lblext", meta)) || (rc = cli_add_prov(&h)))
        goto done;
    if (!(ih->stride > 0)) {
        rc = tal_err(TAL_EINVAL, "'%s' has no time grid (stride 0): snippets cannot be placed in time",
                     tal_stream_name(in));
        goto done;
    }
    if (!(out = tal_stream_create(output, &h, &wo))) {
        rc = tal_errcode();
        goto done;
    }
    tal_progress prog;
    tal_progress_start(&prog, "sequences", 0);
    uint64_t nrec = 0, next = 0, before = 0, after = 0, points_in = 0, points_out = 0;
    while ((rc = tal_record_read(in, &r)) > 0) {
        if (!tal_select_match(&shard, &r))
            continue;
        if (r.supervision == TAL_SUP_POINT) {
            tal_grid g = tal_record_grid(&r, ih);
            uint32_t T = r.T, np = r.npoints;
            if (!(g.fps > 0))
                rc = tal_err(TAL_EINVAL, "no frame rate (neither the record nor the header has one)");
            else
                rc = tal_lblext_record(ws, &r, &g, &o);
            if (rc) {
                rc = tal_err_wrap(rc, "'%s': sequence '%s'", tal_stream_name(in), r.id);
                break;
            }
            next++, before += T, after += r.T, points_in += np, points_out += r.npoints;
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
    if (rc == 0 && verbose)
        fprintf(stderr, "lblext: %llu of %llu sequences extended: %llu -> %llu snippets (x%.3f), %llu -> %llu points\n",
                (unsigned long long)next, (unsigned long long)nrec, (unsigned long long)before,
                (unsigned long long)after, before ? (double)after / (double)before : 1.0,
                (unsigned long long)points_in, (unsigned long long)points_out);
done:
    tal_stream_abort(out);
    tal_stream_close(in);
    tal_lblext_ws_free(ws);
    tal_record_free(&r);
    tal_header_free(&h);
    if (rc)
        return cli_fail();
    return cli_close_stdout();
}
