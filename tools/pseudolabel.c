/* pseudolabel — pseudo labels for unlabelled sequences from a model's output.
 *
 * Reads tal-detect's output on unlabelled sequences (detections and/or
 * snippet class scores, with the features) and writes a pseudo-labelled
 * stream that `tal-train --unlabelled` trains on:
 *   --snippets   each snippet's scores become a distribution over the
 *                classes and background (normalised, optionally sharpened)
 *   --instances  detections chosen by a rule (semi/instances.h) become
 *                segments flagged pseudo, positive or candidate
 * With --diagnose, the pseudo labels are measured against the true labels
 * of the same sequences (semi/quality.h).  Without --snippets and
 * --instances, the input must already hold pseudo labels, and only the
 * diagnosis is made (the stream is copied through with -o).
 * One record is in memory at a time (the reference's labels are all kept).
 * --select adaptive-set reads the input twice: once for the threshold of
 * the whole set, once to pick.
 */
#include "common/cli.h"
#include "common/shard.h"
#include "data/recset.h"
#include "io/jsonout.h"
#include "semi/instances.h"
#include "semi/quality.h"
#include "util/strmap.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int usage(FILE *fp, int status)
{
    fprintf(fp,
"Usage: pseudolabel [--snippets] [--instances] [options] [IN.tal|-] [-o OUT.tal]\n"
"Pseudo labels for unlabelled sequences from tal-detect's output (man pseudolabel).\n"
"\n"
"  -S, --snippets          per-snippet pseudo distributions from the snippet scores\n"
"                          (tal-detect --dist), background included, summing to 1\n"
"  -T, --temperature F     sharpen them: p^(1/F), normalised [1: none]\n"
"  -I, --instances         instance pseudo labels from the detections\n"
"  -r, --select RULE       fixed:T (score >= T), topk:K per sequence, or\n"
"                          adaptive[:TL] (APL: drop < TL=0.15, positives >= mean + sd\n"
"                          of the rest, candidates between; per sequence), or\n"
"                          adaptive-set[:TL] (mean + sd over the whole input: a file,\n"
"                          read twice) [fixed:0.3]\n"
"      --rank KEY          rank detections by: score, joint (cls x max(tiou - tnd,\n"
"                          0.001)), tiou, tnd, icd or cls [score]\n"
"  -d, --diagnose GT.tal   measure the pseudo labels against the true labels of the\n"
"                          same sequences: a table on standard error\n"
"      --json FILE         the measures as JSON into FILE (- for standard output)\n"
"      --lambda F          lambda of the label-space partition the snippet measures\n"
"                          use [0.85]\n"
CLI_SHARD_HELP
"  -o, --output FILE       output stream [-: standard output; with neither -S nor -I,\n"
"                          none unless given]\n"
"  -l, --level N           deflate level 0-9 [0]\n"
"  -f, --force             write a binary stream to a terminal\n");
    cli_usage_footer(fp, 26);
    return status;
}

enum { OPT_RANK = 256, OPT_JSON, OPT_LAMBDA, OPT_VERSION , OPT_SHARD };

typedef struct {
    int snippets, instances;
    double temperature;
    tal_pick_rule rule;
    int rank;
} opts;

/* ---- the reference: true labels by sequence id -------------------------------------- */

typedef struct {
    tal_recset set;
    tal_strmap ids;
} reference;

static int reference_load(reference *ref, const char *path, const tal_header *h)
{
    tal_recset_init(&ref->set);
    tal_strmap_init(&ref->ids);
    int rc = tal_recset_load_skip(&ref->set, path, NULL, NULL, NULL, TAL_HAS_FEATURES | TAL_HAS_DIST);
    if (rc)
        return rc;
    if (!tal_classes_equal(&ref->set.hdr.classes, &h->classes))
        return tal_err(TAL_EINCOMPAT, "'%s' has another class table than the pseudo labels", path);
    for (uint32_t i = 0; i < ref->set.n; i++)
        if ((rc = tal_strmap_put(&ref->ids, ref->set.v[i].id, i)))
            return rc;
    return 0;
}

static void reference_free(reference *ref)
{
    tal_recset_free(&ref->set);
    tal_strmap_free(&ref->ids);
}

/* ---- one record ------------------------------------------------------------------------ */

/* Scores of every snippet to a distribution over classes and background:
 * p^(1/temperature), normalised; a row of zeros becomes background. */
static void to_distribution(float *dist, uint32_t T, uint32_t K, double temperature)
{
    double e = 1.0 / temperature;
    for (uint32_t t = 0; t < T; t++) {
        float *row = dist + (size_t)t * K;
        double sum = 0;
        for (uint32_t k = 0; k < K; k++) {
            double v = row[k] > 0 ? (e == 1 ? row[k] : pow(row[k], e)) : 0;
            row[k] = (float)v;
            sum += v;
        }
        for (uint32_t k = 0; k < K; k++)
            row[k] = sum > 0 ? (float)(row[k] / sum) : k + 1 == K;
    }
}

/* Does a stream hold pseudo labels already (made by pseudolabel, perhaps
 * changed by a filter since)?  Its header says so. */
static int holds_pseudo_labels(const tal_header *h)
{
    return tal_header_get_meta(h, "pseudolabel.snippets") || tal_header_get_meta(h, "pseudolabel.instances");
}

static int make_pseudo(const opts *o, tal_record *r, const tal_header *h, const char *name, tal_segset *picked,
                       tal_pick_count *count)
{
    uint32_t C = h->classes.n;
    for (uint32_t i = 0; i < r->segs.n; i++)
        if (!(r->segs.v[i].flags & TAL_SEG_PSEUDO))
            return tal_err(TAL_EINVAL, "'%s': sequence '%s' carries true segments: pseudo labels are made for "
                           "unlabelled sequences (labelsplit -u)", name, r->id);
    if (r->supervision != TAL_SUP_NONE)
        return tal_err(TAL_EINVAL, "'%s': sequence '%s' has %s supervision: pseudo labels are made for unlabelled "
                       "sequences (labelsplit -u)", name, r->id, tal_supervision_name(r->supervision));
    if (!(r->present & TAL_HAS_FEATURES))
        return tal_err(TAL_EINVAL, "'%s': sequence '%s' has no features: a pseudo-labelled stream is trained on "
                       "(tal-detect --dist keeps them)", name, r->id);
    if (o->snippets) {
        if (!(r->present & TAL_HAS_DIST))
            return tal_err(TAL_EINVAL, "'%s': sequence '%s' carries no snippet scores (tal-detect --dist)", name, r->id);
        if (r->dist_K != C + 1 || r->dist_T != r->T)
            return tal_err(TAL_EINVAL, "'%s': sequence '%s': snippet scores are %u x %u, not %u snippets x %u classes "
                           "and background", name, r->id, r->dist_T, r->dist_K, r->T, C);
        to_distribution(r->dist, r->dist_T, r->dist_K, o->temperature);
    } else {
        r->present &= ~TAL_HAS_DIST;   /* model output, not a pseudo label */
    }
    if (o->instances) {
        if (!(r->present & TAL_HAS_DETECTIONS))
            return tal_err(TAL_EINVAL, "'%s': sequence '%s' carries no detections (the output of tal-detect)", name,
                           r->id);
        tal_segset_clear(picked);
        picked->qmask = 0;
        int rc = tal_pick_instances(&r->dets, &o->rule, o->rank, picked, count);
        if (rc)
            return tal_err_wrap(rc, "'%s': sequence '%s'", name, r->id);
        if ((rc = tal_segset_copy(&r->segs, picked)))
            return rc;
        r->present |= TAL_HAS_SEGMENTS;
    }
    tal_segset_clear(&r->dets);
    r->present &= ~TAL_HAS_DETECTIONS;
    r->supervision = TAL_SUP_NONE;
    return 0;
}

/* adaptive-set's first pass: the threshold over every sequence of the
 * input, in --shard's part or not, so that the shards pick what one run
 * picks. */
static int measure_set(const char *input, tal_pick_rule *rule, int rank)
{
    tal_stream *in = tal_stream_open(input);
    if (!in)
        return tal_errcode();
    tal_stream_skip(in, TAL_HAS_FEATURES | TAL_HAS_DIST);
    tal_record r;
    tal_record_init(&r);
    tal_pick_stats st = { 0 };
    int rc;
    while ((rc = tal_record_read(in, &r)) > 0) {
        if (!(r.present & TAL_HAS_DETECTIONS))
            continue;   /* the second pass names it */
        if ((rc = tal_pick_measure(&r.dets, rule, rank, &st))) {
            rc = tal_err_wrap(rc, "'%s': sequence '%s'", input, r.id);
            break;
        }
    }
    tal_record_free(&r);
    tal_stream_close(in);
    if (rc < 0)
        return rc;
    tal_pick_fix(rule, &st);
    if (!tal_quiet())
        fprintf(stderr, "%s: adaptive-set threshold %.6g: mean + sd of %.0f detections at or above %g\n",
                tal_progname(), rule->th_set, st.n, rule->thresh);
    return 0;
}

/* ---- the diagnosis ----------------------------------------------------------------------- */

static void print_table(FILE *fp, const tal_pl_quality *q, const char *gt)
{
    tal_pl_summary s;
    tal_pl_quality_summary(q, &s);
    fprintf(fp, "pseudo labels of %llu sequences against '%s'\n", (unsigned long long)q->sequences, gt);
    fprintf(fp, "instances   %llu kept (%llu positives, %llu candidates); %llu true instances\n",
            (unsigned long long)q->pseudo, (unsigned long long)q->positives, (unsigned long long)q->candidates,
            (unsigned long long)q->truth);
    fprintf(fp, "  all       class accuracy %.4f  mean tIoU %.4f\n", s.class_acc, s.mean_tiou);
    fprintf(fp, "  positives class accuracy %.4f  mean tIoU %.4f  right class and tIoU > 0.5: %.4f\n",
            s.pos_class_acc, s.pos_mean_tiou, s.pos_accuracy);
    fprintf(fp, "  recall    %.4f of true instances have a positive of their class at tIoU > 0.5\n", s.recall);
    if (!q->snippets[0] && !q->snippets[1])
        return;
    fprintf(fp, "snippets    true class in (lambda %.2f):  target  positive  ambiguous  negative  all negative\n",
            q->lambda);
    static const char *kinds[3] = { "action", "background", "action" };
    for (int k = 0; k < 3; k++)
        fprintf(fp, "  %-10s %9llu snippets        %6.4f  %8.4f  %9.4f  %8.4f  %12.4f%s\n", kinds[k],
                (unsigned long long)q->snippets[k], s.part[k][TAL_PART_TARGET], s.part[k][TAL_PART_POS],
                s.part[k][TAL_PART_AMB], s.part[k][TAL_PART_NEG], s.all_negative[k], k == 2 ? "  (classes alone)" : "");
}

static void jnum(FILE *fp, const char *key, double v, int comma)
{
    char b[32];
    if (isnan(v))
        fprintf(fp, "\"%s\":null", key);
    else {
        tal_json_double(b, v);
        fprintf(fp, "\"%s\":%s", key, b);
    }
    if (comma)
        fputc(',', fp);
}

static int write_json(const char *path, const tal_pl_quality *q, const opts *o)
{
    FILE *fp = strcmp(path, "-") ? fopen(path, "w") : stdout;
    if (!fp)
        return tal_err(TAL_EIO, "cannot open '%s': %s", path, strerror(errno));
    tal_pl_summary s;
    tal_pl_quality_summary(q, &s);
    fprintf(fp, "{\"sequences\":%llu,", (unsigned long long)q->sequences);
    if (o->instances)
        fprintf(fp, "\"select\":\"%s\",\"rank\":\"%s\",", tal_pick_rule_str(&o->rule), tal_rank_name(o->rank));
    if (o->instances && o->rule.rule == TAL_PICK_ADAPTIVE_SET)
        jnum(fp, "set_threshold", o->rule.th_set, 1);
    fprintf(fp, "\"instances\":{\"kept\":%llu,\"positives\":%llu,\"candidates\":%llu,\"truth\":%llu,",
            (unsigned long long)q->pseudo, (unsigned long long)q->positives, (unsigned long long)q->candidates,
            (unsigned long long)q->truth);
    jnum(fp, "class_accuracy", s.class_acc, 1);
    jnum(fp, "mean_tiou", s.mean_tiou, 1);
    jnum(fp, "positive_class_accuracy", s.pos_class_acc, 1);
    jnum(fp, "positive_mean_tiou", s.pos_mean_tiou, 1);
    jnum(fp, "positive_accuracy", s.pos_accuracy, 1);
    jnum(fp, "recall", s.recall, 0);
    fputs("},\"snippets\":{", fp);
    jnum(fp, "lambda", q->lambda, 1);
    static const char *keys[3] = { "action", "background", "action_classes" };
    for (int k = 0; k < 3; k++) {
        fprintf(fp, "\"%s\":{\"count\":%llu,", keys[k], (unsigned long long)q->snippets[k]);
        for (int p = 0; p < TAL_PART_COUNT; p++)
            jnum(fp, tal_part_name(p), s.part[k][p], 1);
        jnum(fp, "all_negative", s.all_negative[k], 0);
        fputs(k == 2 ? "}" : "},", fp);
    }
    fputs("}}\n", fp);
    if (fp == stdout)
        return fflush(fp) ? tal_err(TAL_EIO, "cannot write standard output: %s", strerror(errno)) : 0;
    if (ferror(fp) | fclose(fp))
        return tal_err(TAL_EIO, "cannot write '%s': %s", path, strerror(errno));
    return 0;
}

int main(int argc, char **argv)
{
    cli_init("pseudolabel", argc, argv);
    static const struct option longopts[] = {
        { "snippets", no_argument, 0, 'S' }, { "temperature", required_argument, 0, 'T' },
        { "instances", no_argument, 0, 'I' }, { "select", required_argument, 0, 'r' },
        { "rank", required_argument, 0, OPT_RANK }, { "diagnose", required_argument, 0, 'd' },
        { "json", required_argument, 0, OPT_JSON }, { "lambda", required_argument, 0, OPT_LAMBDA },
        { "output", required_argument, 0, 'o' }, { "level", required_argument, 0, 'l' },
        { "force", no_argument, 0, 'f' }, { "quiet", no_argument, 0, 'q' }, { "help", no_argument, 0, 'h' },
        { "shard", required_argument, 0, OPT_SHARD }, { "version", no_argument, 0, OPT_VERSION }, { 0, 0, 0, 0 },
    };
    opts o = { .temperature = 1, .rank = TAL_RANK_SCORE };
    tal_pick_rule_parse("fixed:0.3", &o.rule);
    tal_select shard;
    tal_select_init(&shard);
    const char *output = NULL, *gt = NULL, *json = NULL;
    double lambda = 0.85;
    int force = 0, c;
    long level = 0;
    while ((c = getopt_long(argc, argv, "ST:Ir:d:o:l:fqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'S': o.snippets = 1; break;
        case 'T': if (cli_double("--temperature", optarg, 1e-3, 1e3, &o.temperature)) return 2; break;
        case 'I': o.instances = 1; break;
        case 'r':
            if (tal_pick_rule_parse(optarg, &o.rule))
                return cli_usage_error("invalid --select: %s", tal_errmsg());
            break;
        case OPT_RANK:
            if ((o.rank = tal_rank_parse(optarg)) == INT_MIN)
                return cli_usage_error("invalid --rank '%s' (score, joint, tiou, tnd, icd or cls)", optarg);
            break;
        case 'd': gt = optarg; break;
        case OPT_JSON: json = optarg; break;
        case OPT_LAMBDA: if (cli_double("--lambda", optarg, 0, 1, &lambda)) return 2; break;
        case OPT_SHARD: if (cli_shard(&shard, optarg)) return 2; break;
        case 'o': output = optarg; break;
        case 'l': if (cli_int("--level", optarg, 0, 9, &level)) return 2; break;
        case 'f': force = 1; break;
        case 'q': tal_set_quiet(1); break;
        case 'h': return usage(stdout, 0) || cli_close_stdout();
        case OPT_VERSION: return cli_version();
        default: return usage(stderr, 2);
        }
    }
    int make = o.snippets || o.instances;
    if (!make && !gt)
        return cli_usage_error("nothing to do: give --snippets and/or --instances (or --diagnose GT.tal)");
    if (json && !gt)
        return cli_usage_error("--json writes the diagnosis: it needs --diagnose GT.tal");
    if (optind + 1 < argc)
        return cli_usage_error("one input expected, got %d", argc - optind);
    if (make && !output)
        output = "-";
    if (json && output && !strcmp(json, "-") && !strcmp(output, "-"))
        return cli_usage_error("the stream and --json cannot both go to standard output");
    const char *input = optind < argc ? argv[optind] : "-";
    int two_pass = o.instances && o.rule.rule == TAL_PICK_ADAPTIVE_SET;
    struct stat sb;
    if (two_pass && (!strcmp(input, "-") || (!stat(input, &sb) && !S_ISREG(sb.st_mode))))
        return cli_usage_error("--select adaptive-set reads its input twice: give a file, not '%s'", input);

    tal_stream *in = tal_stream_open(input), *out = NULL;
    reference ref = { 0 };
    int have_ref = 0;
    tal_pl_quality q;
    tal_pl_quality_init(&q, lambda);
    tal_header h;
    tal_header_init(&h);
    tal_record r;
    tal_record_init(&r);
    tal_segset picked = { 0 };
    tal_pick_count count = { 0 };
    int rc = 0;
    if (!in) {
        rc = tal_errcode();
        goto done;
    }
    if ((rc = tal_header_copy(&h, tal_stream_header(in))))
        goto done;
    if (!h.classes.n) {
        rc = tal_err(TAL_EINVAL, "'%s' has no class table", input);
        goto done;
    }
    if (!make && !holds_pseudo_labels(&h)) {
        rc = tal_err(TAL_EINVAL, "'%s' holds no pseudo labels (make them with --snippets or --instances)", input);
        goto done;
    }
    if (gt) {
        have_ref = 1;
        if ((rc = reference_load(&ref, gt, &h)))
            goto done;
    }
    if (two_pass && (rc = measure_set(input, &o.rule, o.rank)))
        goto done;
    if (make) {
        char text[128];
        snprintf(text, sizeof text, "temperature %g", o.temperature);
        if ((o.snippets && (rc = tal_header_set_meta(&h, "pseudolabel.snippets", text))))
            goto done;
        snprintf(text, sizeof text, "%s rank %s", tal_pick_rule_str(&o.rule), tal_rank_name(o.rank));
        if (two_pass)
            snprintf(text + strlen(text), sizeof text - strlen(text), " threshold %.9g", o.rule.th_set);
        if (o.instances && (rc = tal_header_set_meta(&h, "pseudolabel.instances", text)))
            goto done;
    }
    if (output) {
        tal_write_opts wo = { .level = (int)level, .force = force };
        if ((rc = cli_add_prov(&h)) || !(out = tal_stream_create(output, &h, &wo))) {
            rc = rc ? rc : tal_errcode();
            goto done;
        }
    }
    tal_progress prog;
    tal_progress_start(&prog, "sequences", 0);
    uint64_t nrec = 0;
    while ((rc = tal_record_read(in, &r)) > 0) {
        if (!tal_select_match(&shard, &r))
            continue;
        rc = 0;
        if (make)
            rc = make_pseudo(&o, &r, &h, input, &picked, &count);
        if (!rc && have_ref) {
            int64_t k = tal_strmap_get(&ref.ids, r.id);
            if (k < 0) {
                rc = tal_err(TAL_EINVAL, "'%s': sequence '%s' is not in '%s'", input, r.id, gt);
            } else {
                tal_grid g = tal_record_grid(&r, &h);
                rc = tal_pl_quality_add(&q, &r, &ref.set.v[k], &g, (int)h.classes.n);
                if (rc)
                    rc = tal_err_wrap(rc, "'%s'", input);
            }
        }
        if (!rc && out)
            rc = tal_record_write(out, &r);
        if (rc)
            break;
        tal_progress_update(&prog, ++nrec, tal_stream_bytes_read(in));
    }
    tal_progress_end(&prog);
    if (rc < 0)
        goto done;
    if (out) {
        rc = tal_stream_finish(out);
        out = NULL;
        if (rc)
            goto done;
    }
    if (o.instances && !tal_quiet())
        fprintf(stderr, "%s: %llu sequences: %u positives, %u candidates kept by %s (rank %s), %u detections dropped\n",
                tal_progname(), (unsigned long long)nrec, count.positives, count.candidates,
                tal_pick_rule_str(&o.rule), tal_rank_name(o.rank), count.dropped);
    if (have_ref) {
        print_table(stderr, &q, gt);
        if (json)
            rc = write_json(json, &q, &o);
    }
done:
    tal_stream_abort(out);
    tal_stream_close(in);
    if (have_ref)
        reference_free(&ref);
    tal_pl_quality_free(&q);
    free(picked.v);
    tal_record_free(&r);
    tal_header_free(&h);
    return rc ? cli_fail() : cli_close_stdout();
}
