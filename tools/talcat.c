/* talcat — inspect, convert, select, concatenate and merge talcore streams.
 *
 * Default: the records of every input, selected, written as one stream.
 * --header, --jsonl, --stats, --anet-json and --results-json print text
 * instead; --npy writes each record's features as a .npy file.  Records
 * are handled one at a time, except with --merge, which holds every record
 * until the inputs are read.
 */
#include "common/cli.h"
#include "common/shard.h"
#include "data/annoset.h"
#include "data/select.h"
#include "io/jsonout.h"
#include "io/npy_write.h"
#include "util/strmap.h"
#include "util/text.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int usage(FILE *fp, int status)
{
    fprintf(fp,
"Usage: talcat [options] [IN.tal...]\n"
"Inspect, convert, select, concatenate and merge talcore streams (man talcat).\n"
"With no input, or with -, read standard input.\n"
"\n"
"What to print (default: the selected records as one stream):\n"
"  -H, --header            the header: classes, time grid, features, provenance\n"
"  -j, --jsonl             one JSON object per record (for jq)\n"
"      --features          with --jsonl: include features and distributions\n"
"      --dist              with --jsonl: include distributions, not features\n"
"  -S, --stats             sequences, instances per class, durations, supervision\n"
"      --json              with --stats or --header: JSON instead of a table\n"
"  -A, --anet-json         ground truth as ActivityNet JSON ({\"database\": ...})\n"
"  -R, --results-json      detections as ActivityNet results ({\"results\": ...})\n"
"      --merge             join records with the same id across inputs\n"
"      --check             read and verify everything, print nothing (exit 0 if whole)\n"
"      --npy DIR           each record's features as DIR/<id>.npy (float32, T x D)\n"
"Selection:\n"
"      --ids FILE          only the ids listed (one per line)\n"
CLI_SHARD_HELP
"  -s, --subset LIST       only these subsets (comma-separated)\n"
"      --role ROLE         only train or test records\n"
"      --supervision KIND  only full, point, video or none records\n"
"  -n, --head N            only the first N selected records\n"
"Stream output:\n"
"  -o, --output FILE       write here [-: standard output]\n"
"      --drop-features     leave features and distributions out\n"
"      --dtype TYPE        store features as f32 or f16\n"
"  -l, --level N           deflate level 0-9 [0]\n"
"  -f, --force             write a binary stream to a terminal\n"
);
    cli_usage_footer(fp, 26);
    return status;
}

enum { MODE_STREAM, MODE_HEADER, MODE_JSONL, MODE_STATS, MODE_ANET, MODE_RESULTS, MODE_CHECK, MODE_NPY };
enum { OPT_FEATURES = 256, OPT_DIST, OPT_JSON, OPT_MERGE, OPT_IDS, OPT_ROLE, OPT_SUP, OPT_DROP, OPT_DTYPE, OPT_VERSION, OPT_CHECK, OPT_NPY, OPT_SHARD };

typedef struct {
    int mode, json, merge, drop, dtype, level, force;
    int jsonl;   /* TAL_JSONL_* arrays --jsonl adds (--features, --dist) */
    long head;
    const char *output;
    const char *npy_dir;   /* --npy DIR */
    tal_select sel;
} options;

/* ---- statistics ---------------------------------------------------------- */

typedef struct {
    uint64_t seqs, inst, ambiguous, dets, points, labels, with_feat, feat_T, feat_bytes;
    uint64_t sup[TAL_SUP_COUNT + 1], role[TAL_ROLE_COUNT + 1];
    uint32_t feat_Tmin, feat_Tmax, feat_D, max_inst;
    double dur_sum, dur_min, dur_max;
    uint64_t *cls_inst, *cls_seqs;
    double *cls_len;
    double *lens;             /* instance lengths, for the median */
    size_t nlens, lens_cap;
} stats;

static int stats_add(stats *s, const tal_record *r, uint32_t ncls)
{
    if (!s->cls_inst) {
        s->cls_inst = calloc(ncls + 1, sizeof *s->cls_inst);
        s->cls_seqs = calloc(ncls + 1, sizeof *s->cls_seqs);
        s->cls_len = calloc(ncls + 1, sizeof *s->cls_len);
        s->dur_min = INFINITY;
        s->feat_Tmin = UINT32_MAX;
        if (!s->cls_inst || !s->cls_seqs || !s->cls_len)
            return tal_err(TAL_ENOMEM, "out of memory");
    }
    s->seqs++;
    s->sup[r->supervision < TAL_SUP_COUNT ? r->supervision : TAL_SUP_COUNT]++;
    s->role[r->role < TAL_ROLE_COUNT ? r->role : TAL_ROLE_COUNT]++;
    s->dur_sum += r->duration;
    if (r->duration < s->dur_min)
        s->dur_min = r->duration;
    if (r->duration > s->dur_max)
        s->dur_max = r->duration;
    if (r->T) {
        s->with_feat++;
        s->feat_T += r->T;
        s->feat_D = r->D;
        s->feat_bytes += (uint64_t)r->T * r->D * 4;
        if (r->T < s->feat_Tmin)
            s->feat_Tmin = r->T;
        if (r->T > s->feat_Tmax)
            s->feat_Tmax = r->T;
    }
    uint32_t ninst = 0;
    for (uint32_t i = 0; i < r->segs.n; i++) {
        const tal_segment *g = &r->segs.v[i];
        if (g->flags & TAL_SEG_AMBIGUOUS || g->cls < 0) {
            s->ambiguous++;
            continue;
        }
        ninst++;
        s->cls_inst[g->cls]++;
        s->cls_len[g->cls] += g->end - g->start;
        void *v = s->lens;
        if (tal_grow(&v, &s->lens_cap, s->nlens + 1, sizeof *s->lens))
            return TAL_ENOMEM;
        s->lens = v;
        s->lens[s->nlens++] = g->end - g->start;
    }
    s->inst += ninst;
    if (ninst > s->max_inst)
        s->max_inst = ninst;
    /* sequences per class: from the video-level view of the labels */
    for (uint32_t c = 0; c < ncls; c++) {
        int has = 0;
        for (uint32_t i = 0; i < r->segs.n && !has; i++)
            has = r->segs.v[i].cls == (int32_t)c && !(r->segs.v[i].flags & TAL_SEG_AMBIGUOUS);
        for (uint32_t i = 0; i < r->npoints && !has; i++)
            has = r->points[i].cls == (int32_t)c;
        for (uint32_t i = 0; i < r->nlabels && !has; i++)
            has = r->labels[i].cls == (int32_t)c;
        s->cls_seqs[c] += has;
    }
    s->dets += r->dets.n;
    s->points += r->npoints;
    s->labels += r->nlabels;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_stats(FILE *fp, stats *s, const tal_header *h, int json)
{
    uint32_t ncls = h->classes.n;
    double median = 0, lmin = 0, lmax = 0, lsum = 0;
    if (s->nlens) {
        qsort(s->lens, s->nlens, sizeof *s->lens, cmp_double);
        median = s->nlens % 2 ? s->lens[s->nlens / 2] : 0.5 * (s->lens[s->nlens / 2 - 1] + s->lens[s->nlens / 2]);
        lmin = s->lens[0];
        lmax = s->lens[s->nlens - 1];
        for (size_t i = 0; i < s->nlens; i++)
            lsum += s->lens[i];
    }
    char b[32];
    if (json) {
        fprintf(fp, "{\"sequences\":%llu,\"instances\":%llu,\"classes\":%u,\"ambiguous\":%llu,\"detections\":%llu,"
                    "\"points\":%llu,\"video_labels\":%llu,\"supervision\":{",
                (unsigned long long)s->seqs, (unsigned long long)s->inst, ncls, (unsigned long long)s->ambiguous,
                (unsigned long long)s->dets, (unsigned long long)s->points, (unsigned long long)s->labels);
        for (int k = 0, first = 1; k < TAL_SUP_COUNT; k++)
            if (s->sup[k]) {
                fprintf(fp, "%s\"%s\":%llu", first ? "" : ",", tal_supervision_name(k), (unsigned long long)s->sup[k]);
                first = 0;
            }
        fputs("},\"roles\":{", fp);
        for (int k = 0, first = 1; k < TAL_ROLE_COUNT; k++)
            if (s->role[k]) {
                fprintf(fp, "%s\"%s\":%llu", first ? "" : ",", tal_role_name(k), (unsigned long long)s->role[k]);
                first = 0;
            }
        tal_json_double(b, s->dur_sum);
        fprintf(fp, "},\"duration_total\":%s", b);
        tal_json_double(b, median);
        fprintf(fp, ",\"instance_length_median\":%s", b);
        fprintf(fp, ",\"features\":{\"sequences\":%llu,\"dim\":%u,\"snippets\":%llu}", (unsigned long long)s->with_feat,
                s->feat_D, (unsigned long long)s->feat_T);
        fputs(",\"per_class\":[", fp);
        for (uint32_t c = 0; c < ncls; c++) {
            fprintf(fp, "%s{\"label\":", c ? "," : "");
            tal_json_string(fp, h->classes.names[c]);
            fprintf(fp, ",\"instances\":%llu,\"sequences\":%llu}", (unsigned long long)s->cls_inst ? (unsigned long long)s->cls_inst[c] : 0ull,
                    s->cls_seqs ? (unsigned long long)s->cls_seqs[c] : 0ull);
        }
        fputs("]}\n", fp);
        return;
    }
    fprintf(fp, "%llu sequences, %llu instances, %u classes\n", (unsigned long long)s->seqs, (unsigned long long)s->inst,
            ncls);
    fputs("supervision  ", fp);
    for (int k = 0; k < TAL_SUP_COUNT; k++)
        if (s->sup[k])
            fprintf(fp, " %s %llu", tal_supervision_name(k), (unsigned long long)s->sup[k]);
    fputs("\nroles        ", fp);
    for (int k = 0; k < TAL_ROLE_COUNT; k++)
        if (s->role[k])
            fprintf(fp, " %s %llu", tal_role_name(k), (unsigned long long)s->role[k]);
    fputc('\n', fp);
    if (s->seqs)
        fprintf(fp, "duration      total %.1f h, mean %.1f s, min %.1f s, max %.1f s\n", s->dur_sum / 3600,
                s->dur_sum / (double)s->seqs, s->dur_min, s->dur_max);
    if (s->nlens)
        fprintf(fp, "instances     %.1f per sequence (max %u); length mean %.2f s, median %.2f s, min %.2f s, max %.2f s\n",
                (double)s->inst / (double)s->seqs, s->max_inst, lsum / (double)s->nlens, median, lmin, lmax);
    if (s->ambiguous)
        fprintf(fp, "ambiguous     %llu segments (not counted as instances)\n", (unsigned long long)s->ambiguous);
    if (s->points)
        fprintf(fp, "points        %llu\n", (unsigned long long)s->points);
    if (s->dets)
        fprintf(fp, "detections    %llu\n", (unsigned long long)s->dets);
    if (s->with_feat)
        fprintf(fp, "features      %llu sequences, %u-d, %llu snippets (T %u..%u), %.1f MB as f32\n",
                (unsigned long long)s->with_feat, s->feat_D, (unsigned long long)s->feat_T, s->feat_Tmin, s->feat_Tmax,
                (double)s->feat_bytes / 1e6);
    else
        fputs("features      none\n", fp);
    if (ncls) {
        fprintf(fp, "\n%-32s %10s %10s %12s\n", "class", "instances", "sequences", "mean len (s)");
        for (uint32_t c = 0; c < ncls; c++) {
            uint64_t n = s->cls_inst ? s->cls_inst[c] : 0;
            fprintf(fp, "%-32s %10llu %10llu %12.2f\n", h->classes.names[c], (unsigned long long)n,
                    s->cls_seqs ? (unsigned long long)s->cls_seqs[c] : 0ull, n ? s->cls_len[c] / (double)n : 0.0);
        }
    }
}

static void stats_free(stats *s)
{
    free(s->cls_inst);
    free(s->cls_seqs);
    free(s->cls_len);
    free(s->lens);
}

/* ---- header view ------------------------------------------------------------- */

static void print_header(FILE *fp, const tal_header *h, const char *name, int json)
{
    char b1[32], b2[32], b3[32];
    tal_json_double(b1, h->fps);
    tal_json_double(b2, h->stride);
    tal_json_double(b3, h->clip);
    if (json) {
        fprintf(fp, "{\"input\":");
        tal_json_string(fp, name);
        fprintf(fp, ",\"version\":\"%u.%u\",\"feature_dim\":%u,\"feature_dtype\":\"%s\",\"fps\":%s,\"stride\":%s,\"clip\":%s,\"classes\":[",
                h->version_major, h->version_minor, h->feat_dim, tal_dtype_name(h->feat_dtype), b1, b2, b3);
        for (uint32_t c = 0; c < h->classes.n; c++) {
            fprintf(fp, "%s{\"label\":", c ? "," : "");
            tal_json_string(fp, h->classes.names[c]);
            fprintf(fp, ",\"class\":%u,\"ext_id\":%d}", c, h->classes.ext_ids[c]);
        }
        fputs("],\"provenance\":[", fp);
        for (uint32_t i = 0; i < h->nprov; i++) {
            fprintf(fp, "%s{\"tool\":", i ? "," : "");
            tal_json_string(fp, h->prov[i].tool);
            fputs(",\"version\":", fp);
            tal_json_string(fp, h->prov[i].version);
            fputs(",\"argv\":", fp);
            tal_json_string(fp, h->prov[i].argv);
            fputc('}', fp);
        }
        fputs("],\"meta\":{", fp);
        for (uint32_t i = 0; i < h->nmeta; i++) {
            if (i)
                fputc(',', fp);
            tal_json_string(fp, h->meta[i].key);
            fputc(':', fp);
            tal_json_string(fp, h->meta[i].value);
        }
        fputs("}}\n", fp);
        return;
    }
    fprintf(fp, "stream       %s (format %u.%u)\n", name, h->version_major, h->version_minor);
    if (h->feat_dim)
        fprintf(fp, "features     %u-d, stored as %s\n", h->feat_dim, tal_dtype_name(h->feat_dtype));
    else
        fputs("features     none\n", fp);
    fprintf(fp, "time grid    fps %s%s, stride %s frames, clip %s frames\n", h->fps > 0 ? b1 : "per sequence",
            "", b2, b3);
    fprintf(fp, "classes      %u\n", h->classes.n);
    for (uint32_t c = 0; c < h->classes.n; c++) {
        if (h->classes.ext_ids[c] >= 0)
            fprintf(fp, "  %3u  %-32s (id %d)\n", c, h->classes.names[c], h->classes.ext_ids[c]);
        else
            fprintf(fp, "  %3u  %s\n", c, h->classes.names[c]);
    }
    for (uint32_t i = 0; i < h->nmeta; i++)
        fprintf(fp, "meta         %s = %s\n", h->meta[i].key, h->meta[i].value);
    for (uint32_t i = 0; i < h->nprov; i++)
        fprintf(fp, "provenance   %s %s: %s\n", h->prov[i].tool, h->prov[i].version, h->prov[i].argv);
}

/* ---- ActivityNet JSON ------------------------------------------------------- */

static void anet_record(FILE *fp, const tal_record *r, const tal_header *h, int results, int first)
{
    char b1[32], b2[32];
    fputs(first ? "" : ",", fp);
    tal_json_string(fp, r->id);
    const tal_segset *set = results ? &r->dets : &r->segs;
    if (!results) {
        fputs(":{\"subset\":", fp);
        tal_json_string(fp, r->subset);
        tal_json_double(b1, r->duration);
        fprintf(fp, ",\"duration\":%s", b1);
        if (tal_record_fps(r, h) > 0) {     /* unknown rates are left out, not written as 0 */
            tal_json_double(b2, tal_record_fps(r, h));
            fprintf(fp, ",\"fps\":%s", b2);
        }
        fputs(",\"annotations\":[", fp);
    } else {
        fputs(":[", fp);
    }
    int n = 0;
    for (uint32_t i = 0; i < set->n; i++) {
        const tal_segment *g = &set->v[i];
        if (g->cls < 0 || (g->flags & TAL_SEG_AMBIGUOUS))
            continue;
        tal_json_double(b1, g->start);
        tal_json_double(b2, g->end);
        fprintf(fp, "%s{\"label\":", n++ ? "," : "");
        tal_json_string(fp, h->classes.names[g->cls]);
        if (results) {
            char b3[32];
            tal_json_double(b3, g->score);
            fprintf(fp, ",\"score\":%s,\"segment\":[%s,%s]}", b3, b1, b2);
        } else {
            fprintf(fp, ",\"label_id\":%d,\"segment\":[%s,%s]}", g->cls, b1, b2);
        }
    }
    fputs(results ? "]" : "]}", fp);
}

/* ---- merging ------------------------------------------------------------------ */

/* Add src's sections to dst; a section dst has already is replaced. */
static int merge_into(tal_record *dst, const tal_record *src)
{
    int rc = 0;
    if (!*dst->subset && *src->subset)
        rc |= tal_record_set_subset(dst, src->subset);
    if (dst->duration <= 0)
        dst->duration = src->duration;
    if (dst->fps <= 0)
        dst->fps = src->fps;
    if (dst->stride <= 0 && dst->clip <= 0) {
        dst->stride = src->stride;
        dst->clip = src->clip;
    }
    if (dst->supervision == TAL_SUP_NONE)
        dst->supervision = src->supervision;
    if (dst->role == TAL_ROLE_UNSET)
        dst->role = src->role;
    if (src->present & TAL_HAS_FEATURES) {
        rc |= tal_record_alloc_features(dst, src->T, src->D);
        if (!rc)
            memcpy(dst->feat, src->feat, (size_t)src->T * src->D * 4);
        dst->feat_dtype = src->feat_dtype;
    }
    if (src->present & TAL_HAS_SEGMENTS) {
        rc |= tal_segset_copy(&dst->segs, &src->segs);
        dst->present |= TAL_HAS_SEGMENTS;
    }
    if (src->present & TAL_HAS_DETECTIONS) {
        rc |= tal_segset_copy(&dst->dets, &src->dets);
        dst->present |= TAL_HAS_DETECTIONS;
    }
    if (src->present & TAL_HAS_POINTS) {
        dst->npoints = 0;
        for (uint32_t i = 0; i < src->npoints; i++)
            rc |= tal_record_add_point(dst, src->points[i].time, src->points[i].cls, src->points[i].weight);
    }
    if (src->present & TAL_HAS_LABELS) {
        dst->nlabels = 0;
        for (uint32_t i = 0; i < src->nlabels; i++)
            rc |= tal_record_add_label(dst, src->labels[i].cls, src->labels[i].score);
    }
    if (src->present & TAL_HAS_DIST) {
        rc |= tal_record_alloc_dist(dst, src->dist_T, src->dist_K);
        if (!rc)
            memcpy(dst->dist, src->dist, (size_t)src->dist_T * src->dist_K * 4);
    }
    if (src->present & TAL_HAS_TIMEMAP) {
        rc |= tal_record_alloc_timemap(dst, src->ntimemap);
        if (!rc)
            memcpy(dst->timemap, src->timemap, (size_t)src->ntimemap * sizeof *src->timemap);
    }
    for (uint32_t i = 0; i < src->nprov; i++)
        rc |= tal_record_set_prov(dst, src->prov[i].key, src->prov[i].value);
    return rc ? TAL_ENOMEM : 0;
}

/* ---- main loop --------------------------------------------------------------- */

typedef struct {
    options *o;
    tal_header out_hdr;
    int have_hdr;
    tal_stream *w;
    FILE *txt;
    tal_output *txt_out;
    stats st;
    long emitted, featureless;   /* featureless: records --npy had nothing to write for */
    int first_anet;
    tal_annoset merged;
} state;

static int open_outputs(state *s)
{
    options *o = s->o;
    if (o->mode == MODE_CHECK)
        return 0;
    if (o->mode == MODE_NPY) {
        if (mkdir(o->npy_dir, 0777) && errno != EEXIST)
            return tal_err(TAL_EIO, "cannot create '%s': %s", o->npy_dir, strerror(errno));
        return 0;
    }
    if (o->mode == MODE_STREAM) {
        tal_write_opts wo = { .level = o->level, .force = o->force, .feat_dtype = o->dtype };
        if (o->drop)
            s->out_hdr.feat_dim = 0;
        if (cli_add_prov(&s->out_hdr) || !(s->w = tal_stream_create(o->output, &s->out_hdr, &wo)))
            return tal_errcode() ? tal_errcode() : TAL_ENOMEM;
        return 0;
    }
    if (!(s->txt_out = tal_output_open(o->output, TAL_OUT_TEXT)) || !(s->txt = tal_output_file(s->txt_out)))
        return tal_errcode();
    if (o->mode == MODE_ANET)
        fputs("{\"version\":\"talcore\",\"database\":{", s->txt);
    else if (o->mode == MODE_RESULTS)
        fputs("{\"version\":\"talcore\",\"results\":{", s->txt);
    return 0;
}

/* DIR/<id>.npy; an id that is not a plain file name is refused. */
static int write_npy(state *s, const tal_record *r)
{
    if (!(r->present & TAL_HAS_FEATURES)) {
        s->featureless++;
        return 0;
    }
    if (strchr(r->id, '/') || !strcmp(r->id, ".") || !strcmp(r->id, ".."))
        return tal_err(TAL_EINVAL, "sequence id '%s' is not a file name: --npy cannot name its file", r->id);
    size_t n = strlen(s->o->npy_dir) + strlen(r->id) + 6;
    char *path = malloc(n);
    if (!path)
        return tal_err(TAL_ENOMEM, "out of memory");
    snprintf(path, n, "%s/%s.npy", s->o->npy_dir, r->id);
    int rc = tal_npy_write(path, r->feat, r->T, r->D);
    free(path);
    return rc;
}

static int emit(state *s, tal_record *r)
{
    options *o = s->o;
    if (o->drop) {
        tal_record_drop_features(r);
        r->present &= ~TAL_HAS_DIST;
        r->dist_T = r->dist_K = 0;
    }
    switch (o->mode) {
    case MODE_STREAM:
        return tal_record_write(s->w, r);
    case MODE_JSONL:
        tal_json_record(s->txt, r, &s->out_hdr, o->jsonl);
        fputc('\n', s->txt);
        return ferror(s->txt) ? tal_err(TAL_EIO, "cannot write '%s'", o->output) : 0;
    case MODE_STATS:
        return stats_add(&s->st, r, s->out_hdr.classes.n);
    case MODE_CHECK:
        return 0;
    case MODE_NPY:
        return write_npy(s, r);
    case MODE_ANET:
    case MODE_RESULTS:
        anet_record(s->txt, r, &s->out_hdr, o->mode == MODE_RESULTS, s->first_anet);
        s->first_anet = 0;
        return 0;
    }
    return 0;
}

static int run_input(state *s, const char *path)
{
    options *o = s->o;
    tal_stream *in = tal_stream_open(path);
    if (!in)
        return tal_errcode();
    const tal_header *h = tal_stream_header(in);
    int rc = 0;
    if (o->mode == MODE_HEADER) {
        print_header(s->txt, h, tal_stream_name(in), o->json);
        tal_stream_close(in);
        return 0;
    }
    if (!s->have_hdr) {
        if ((rc = tal_header_copy(&s->out_hdr, h)))
            goto out;
        s->have_hdr = 1;
        /* with --merge, outputs open once every input is read */
        if (!o->merge && (rc = open_outputs(s)))
            goto out;
    } else if ((rc = tal_header_compatible(&s->out_hdr, h))) {
        rc = tal_err_wrap(TAL_EINCOMPAT, "cannot combine '%s' with the first input", tal_stream_name(in));
        goto out;
    } else if (!s->out_hdr.feat_dim && h->feat_dim && o->mode == MODE_STREAM && !o->drop && !o->merge) {
        rc = tal_err(TAL_EINCOMPAT, "cannot combine '%s' with the first input: it has features and the first has none "
                     "(put it first, or --drop-features)", tal_stream_name(in));
        goto out;
    }
    if (o->merge && !s->out_hdr.feat_dim)
        s->out_hdr.feat_dim = h->feat_dim;
    /* what no output needs is never decoded */
    if (o->drop || o->mode == MODE_STATS || o->mode == MODE_ANET || o->mode == MODE_RESULTS)
        tal_stream_skip(in, TAL_HAS_FEATURES | TAL_HAS_DIST);
    else if (o->mode == MODE_JSONL)
        tal_stream_skip(in, (o->jsonl & TAL_JSONL_FEATURES ? 0 : TAL_HAS_FEATURES) | (o->jsonl & TAL_JSONL_DIST ? 0 : TAL_HAS_DIST));
    tal_record r;
    tal_record_init(&r);
    tal_progress prog;
    tal_progress_start(&prog, "records", 0);
    while ((rc = tal_record_read(in, &r)) > 0) {
        tal_progress_update(&prog, (uint64_t)s->emitted, tal_stream_bytes_read(in));
        if (!tal_select_match(&o->sel, &r))
            continue;
        if (o->merge) {
            tal_record *m = tal_annoset_find(&s->merged, r.id);
            if (m) {
                if ((rc = merge_into(m, &r)))
                    break;
                continue;
            }
            if (o->head >= 0 && s->emitted >= o->head)
                continue;
            if (!(m = tal_annoset_get(&s->merged, r.id)) || (rc = tal_record_copy(m, &r)) ||
                (rc = tal_record_set_id(m, r.id))) {
                rc = rc ? rc : TAL_ENOMEM;
                break;
            }
            s->emitted++;
            continue;
        }
        if (o->head >= 0 && s->emitted >= o->head)
            break;
        if ((rc = emit(s, &r)))
            break;
        s->emitted++;
    }
    tal_progress_end(&prog);
    tal_record_free(&r);
out:
    tal_stream_close(in);
    return rc < 0 ? rc : 0;
}

int main(int argc, char **argv)
{
    cli_init("talcat", argc, argv);
    static const struct option longopts[] = {
        { "header", no_argument, 0, 'H' }, { "jsonl", no_argument, 0, 'j' },
        { "features", no_argument, 0, OPT_FEATURES }, { "dist", no_argument, 0, OPT_DIST }, { "stats", no_argument, 0, 'S' },
        { "json", no_argument, 0, OPT_JSON }, { "anet-json", no_argument, 0, 'A' },
        { "results-json", no_argument, 0, 'R' }, { "merge", no_argument, 0, OPT_MERGE },
        { "check", no_argument, 0, OPT_CHECK },
        { "npy", required_argument, 0, OPT_NPY },
        { "ids", required_argument, 0, OPT_IDS }, { "shard", required_argument, 0, OPT_SHARD }, { "subset", required_argument, 0, 's' },
        { "role", required_argument, 0, OPT_ROLE }, { "supervision", required_argument, 0, OPT_SUP },
        { "head", required_argument, 0, 'n' }, { "output", required_argument, 0, 'o' },
        { "drop-features", no_argument, 0, OPT_DROP }, { "dtype", required_argument, 0, OPT_DTYPE },
        { "level", required_argument, 0, 'l' }, { "force", no_argument, 0, 'f' },
        { "quiet", no_argument, 0, 'q' }, { "help", no_argument, 0, 'h' },
        { "version", no_argument, 0, OPT_VERSION }, { 0, 0, 0, 0 },
    };
    options o = { .mode = MODE_STREAM, .head = -1, .output = "-" };
    tal_select_init(&o.sel);
    int c, modes = 0, rc = 0;
    long lv;
    const char *subsets = NULL, *ids_file = NULL;
    while ((c = getopt_long(argc, argv, "HjSARs:n:o:l:fqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'H': o.mode = MODE_HEADER; modes++; break;
        case 'j': o.mode = MODE_JSONL; modes++; break;
        case 'S': o.mode = MODE_STATS; modes++; break;
        case 'A': o.mode = MODE_ANET; modes++; break;
        case 'R': o.mode = MODE_RESULTS; modes++; break;
        case OPT_CHECK: o.mode = MODE_CHECK; modes++; break;
        case OPT_NPY: o.mode = MODE_NPY; o.npy_dir = optarg; modes++; break;
        case OPT_FEATURES: o.jsonl = TAL_JSONL_FEATURES | TAL_JSONL_DIST; break;
        case OPT_DIST: o.jsonl = TAL_JSONL_DIST; break;
        case OPT_JSON: o.json = 1; break;
        case OPT_MERGE: o.merge = 1; break;
        case OPT_IDS: ids_file = optarg; break;
        case OPT_SHARD: if (cli_shard(&o.sel, optarg)) return 2; break;
        case 's': subsets = optarg; break;
        case OPT_ROLE:
            if ((o.sel.role = tal_role_parse(optarg)) < 0)
                return cli_usage_error("invalid --role '%s' (train, test or unset)", optarg);
            break;
        case OPT_SUP:
            if ((o.sel.supervision = tal_supervision_parse(optarg)) < 0)
                return cli_usage_error("invalid --supervision '%s' (full, point, video or none)", optarg);
            break;
        case 'n': if (cli_int("--head", optarg, 0, 1L << 40, &o.head)) return 2; break;
        case 'o': o.output = optarg; break;
        case OPT_DROP: o.drop = 1; break;
        case OPT_DTYPE:
            if ((o.dtype = tal_dtype_parse(optarg)) < 0)
                return cli_usage_error("invalid --dtype '%s' (f32 or f16)", optarg);
            break;
        case 'l': if (cli_int("--level", optarg, 0, 9, &lv)) return 2; o.level = (int)lv; break;
        case 'f': o.force = 1; break;
        case 'q': tal_set_quiet(1); break;
        case 'h': return usage(stdout, 0) || cli_close_stdout();
        case OPT_VERSION: return cli_version();
        default: return usage(stderr, 2);
        }
    }
    if (modes > 1)
        return cli_usage_error("--header, --jsonl, --stats, --anet-json, --results-json, --check and --npy exclude each "
                               "other");
    if (o.jsonl && o.mode != MODE_JSONL)
        return cli_usage_error("--features and --dist go with --jsonl");
    if (o.json && o.mode != MODE_STATS && o.mode != MODE_HEADER)
        return cli_usage_error("--json goes with --stats or --header");
    if ((subsets && tal_select_subsets(&o.sel, subsets)) || (ids_file && tal_select_ids_file(&o.sel, ids_file))) {
        tal_select_free(&o.sel);
        return cli_fail();
    }

    state s = { .o = &o, .first_anet = 1 };
    tal_annoset_init(&s.merged);
    if (o.mode == MODE_HEADER) {
        if (!(s.txt_out = tal_output_open(o.output, TAL_OUT_TEXT)) || !(s.txt = tal_output_file(s.txt_out)))
            return cli_fail();
    }
    const char *stdin_only[] = { "-" };
    char **inputs = optind < argc ? argv + optind : (char **)stdin_only;
    int ninputs = optind < argc ? argc - optind : 1;
    for (int i = 0; i < ninputs && !rc; i++)
        rc = run_input(&s, inputs[i]);
    if (!rc && o.merge) {
        o.merge = 0;
        if (!(rc = open_outputs(&s)))
            for (uint32_t i = 0; i < s.merged.n && !rc; i++)
                rc = emit(&s, &s.merged.v[i]);
    }
    if (!rc) {
        if (o.mode == MODE_STATS)
            print_stats(s.txt, &s.st, &s.out_hdr, o.json);
        else if (o.mode == MODE_NPY && s.featureless)
            tal_warn("%ld records without features: no .npy for them", s.featureless);
        else if (o.mode == MODE_ANET || o.mode == MODE_RESULTS)
            fputs("}}\n", s.txt);
        if (s.w) {
            rc = tal_stream_finish(s.w);
            s.w = NULL;
        }
        if (!rc && s.txt_out) {
            rc = tal_output_commit(s.txt_out);
            s.txt_out = NULL;
        }
    }
    tal_stream_abort(s.w);
    tal_output_abort(s.txt_out);
    tal_header_free(&s.out_hdr);
    tal_annoset_free(&s.merged);
    stats_free(&s.st);
    tal_select_free(&o.sel);
    if (rc)
        return cli_fail();
    return cli_close_stdout();
}
