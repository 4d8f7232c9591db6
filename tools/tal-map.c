/* tal-map — mean average precision of temporal detections.
 *
 * Ground truth from a talcore stream, ActivityNet-style JSON or a THUMOS14
 * annotation folder; detections from a stream, ActivityNet results JSON
 * or the THUMOS14 kit's text.  Everything is read into one evaluation set
 * (lib/eval), evaluated under the ActivityNet or the THUMOS14 protocol,
 * and printed as a table or JSON; optionally precision-recall curves for
 * talplot and a DETAD-style error analysis.
 */
#include "common/cli.h"
#include "common/input.h"
#include "data/annoset.h"
#include "eval/diagnose.h"
#include "eval/eval.h"
#include "io/anno.h"
#include "io/dets.h"
#include "io/jsonout.h"
#include "util/text.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE *fp, int status)
{
    fprintf(fp,
"Usage: tal-map [options] --gt GT [DETECTIONS]\n"
"Mean average precision of temporal detections (man tal-map).\n"
"DETECTIONS: a talcore stream, ActivityNet results JSON or THUMOS14 kit text;\n"
"- or none: standard input.  Without --gt, the ground truth is the segments\n"
"of the detection stream's own records.\n"
"\n"
"Input:\n"
"  -g, --gt FILE|DIR       ground truth: stream, ActivityNet/ActionFormer JSON,\n"
"                          or a THUMOS14 folder (<Class>_<subset>.txt, Ambiguous)\n"
"  -s, --subset NAME       only ground-truth sequences of this subset\n"
"  -c, --class-list FILE   classes, \"name\" or \"id name\" per line (THUMOS det.txt)\n"
"      --format KIND       detections are: auto (default), stream, json or txt\n"
"      --reversed HOW      detections with end < start: keep (as the official\n"
"                          code does; default), swap or drop\n"
"Protocol:\n"
"  -p, --protocol NAME     anet (ActivityNet, default) or th14 (THUMOS14 kit)\n"
"      --th14-ap KIND      th14 AP: 11point (the kit, default) or noninterp (its\n"
"                          later revision, TH14evalDet_Updated)\n"
"      --anet              tIoU 0.5:0.05:0.95 (default)\n"
"      --thumos            tIoU 0.3:0.1:0.7\n"
"      --points            tIoU 0.1:0.1:0.7\n"
"  -t, --tiou LIST         tIoU thresholds: 0.1,0.3 or START:STEP:STOP\n"
"      --average A:B       also report the mean mAP over tIoU in [A, B] (repeatable)\n"
"      --topk LIST         recall at k x ground truth per video [1,5]\n"
"Output:\n"
"  -v, --verbose           per-class AP\n"
"  -j, --json              one JSON object instead of the table\n"
"      --plot FILE         precision-recall curves as JSON, for talplot\n"
"  -d, --diagnose          DETAD-style false-positive and false-negative analysis\n"
"      --diag-tiou T       its tIoU threshold [0.5]\n"
"      --diag-top N        analyse the top N x (ground truth) detections per class [10]\n"
"      --diag-bins KIND    thumos or anet bins (default: by median instance length)\n"
"      --characteristics FILE  DETAD extra-characteristics JSON for the analysis\n"
"  -o, --output FILE       write here [-: standard output]\n"
"  -q, --quiet             no warnings, no progress line\n"
"  -h, --help              this help\n"
"      --version           version\n"
"\n"
"Exit status: 0 success, 1 bad input or failure, 2 usage error.\n");
    return status;
}

enum {
    OPT_FORMAT = 256, OPT_REVERSED, OPT_ANET, OPT_THUMOS, OPT_POINTS, OPT_AVERAGE, OPT_TOPK, OPT_PLOT,
    OPT_DIAG_TIOU, OPT_DIAG_TOP, OPT_DIAG_BINS, OPT_CHARS, OPT_TH14_AP, OPT_VERSION,
};

#define MAX_AVERAGES 16

typedef struct {
    const char *gt, *subset, *classes, *dets, *output, *plot, *chars;
    int format, reversed, protocol, verbose, json, diagnose, diag_bins, th14_ap;
    double *tiou;
    uint32_t ntiou;
    uint32_t topk[8], ntopk;
    double avg_lo[MAX_AVERAGES], avg_hi[MAX_AVERAGES];
    char avg_name[MAX_AVERAGES][32];
    int navg;
    double diag_tiou;
    long diag_top;
} options;

/* ---- reading --------------------------------------------------------------------- */

static int keep_subset(const tal_record *r, void *ctx)
{
    return tal_subset_matches(r->subset, (const char *)ctx);
}

/* Ground truth from a stream: records' segments; classes by name into a
 * fixed table when there is one. */
static int read_gt_stream(const char *path, tal_annoset *g, int fixed)
{
    tal_stream *s = tal_stream_open(path);
    if (!s)
        return tal_errcode();
    tal_stream_skip(s, TAL_HAS_FEATURES | TAL_HAS_DIST);
    const tal_header *h = tal_stream_header(s);
    int rc = 0;
    int32_t *map = tal_malloc((h->classes.n + 1) * sizeof *map);
    if (!map)
        rc = TAL_ENOMEM;
    for (uint32_t c = 0; c < h->classes.n && !rc; c++) {
        if (fixed) {
            map[c] = tal_classes_find(&g->classes, h->classes.names[c]);
            if (map[c] < 0)
                rc = tal_err(TAL_EINVAL, "ground truth: '%s': class '%s' is not in the class list", tal_stream_name(s),
                             h->classes.names[c]);
        } else {
            map[c] = (int32_t)c;
        }
    }
    if (!rc && !fixed)
        rc = tal_classes_copy(&g->classes, &h->classes);
    tal_record rec;
    tal_record_init(&rec);
    while (!rc && (rc = tal_record_read(s, &rec)) > 0) {
        rc = 0;
        tal_record *r = tal_annoset_get(g, rec.id);
        if (!r || tal_record_set_subset(r, rec.subset)) {
            rc = TAL_ENOMEM;
            break;
        }
        r->duration = rec.duration;
        r->present |= TAL_HAS_SEGMENTS;
        for (uint32_t i = 0; i < rec.segs.n && !rc; i++) {
            tal_segment x = rec.segs.v[i];
            if (x.cls >= 0 && !(x.flags & TAL_SEG_AMBIGUOUS))
                x.cls = map[x.cls];
            else
                x.cls = -1, x.flags |= TAL_SEG_AMBIGUOUS;
            rc = tal_segset_push(&r->segs, &x);
        }
    }
    tal_record_free(&rec);
    free(map);
    tal_stream_close(s);
    return rc < 0 ? rc : 0;
}

/* Adds the ground truth of annotation set g to the evaluation set. */
static int add_gt(tal_evalset *e, tal_annoset *g)
{
    for (uint32_t i = 0; i < g->n; i++) {
        const tal_record *r = &g->v[i];
        int64_t v = tal_evalset_video(e, r->id, 1);
        if (v < 0)
            return (int)v;
        e->duration[v] = r->duration;
        for (uint32_t k = 0; k < r->segs.n; k++) {
            const tal_segment *x = &r->segs.v[k];
            int32_t cls = x->flags & TAL_SEG_AMBIGUOUS ? -1 : x->cls;
            int rc = tal_evalset_add_gt(e, (uint32_t)v, x->start, x->end, cls);
            if (rc)
                return tal_err_wrap(rc, "ground truth");
        }
    }
    return 0;
}

static int add_dets_of(tal_evalset *e, const tal_record *r, const int32_t *map, long *skipped)
{
    if (!r->dets.n)
        return 0;
    int64_t v = tal_evalset_video(e, r->id, 0);
    if (v < 0)
        return (int)v;
    for (uint32_t k = 0; k < r->dets.n; k++) {
        const tal_segment *x = &r->dets.v[k];
        int32_t cls = x->cls < 0 ? -1 : map ? map[x->cls] : x->cls;
        if (cls < 0) {
            (*skipped)++;
            continue;
        }
        int rc = tal_evalset_add_det(e, (uint32_t)v, x->start, x->end, x->score, cls);
        if (rc)
            return rc;
    }
    return 0;
}

/* Detections from a stream; without separate ground truth, its records'
 * segments are the ground truth. */
static int read_det_stream(const char *path, tal_evalset *e, tal_annoset *g, int gt_here, const char *subset,
                           long *skipped)
{
    tal_stream *s = tal_stream_open(path);
    if (!s)
        return tal_errcode();
    tal_stream_skip(s, TAL_HAS_FEATURES | TAL_HAS_DIST);
    const tal_header *h = tal_stream_header(s);
    int rc = 0;
    int32_t *map = tal_malloc((h->classes.n + 1) * sizeof *map);
    if (!map)
        rc = TAL_ENOMEM;
    if (!rc && gt_here) {
        if (g->fixed_classes) {
            for (uint32_t c = 0; c < h->classes.n && !rc; c++)
                if ((map[c] = tal_classes_find(&g->classes, h->classes.names[c])) < 0)
                    rc = tal_err(TAL_EINVAL, "'%s': class '%s' is not in the class list", tal_stream_name(s),
                                 h->classes.names[c]);
        } else {
            for (uint32_t c = 0; c < h->classes.n; c++)
                map[c] = (int32_t)c;
            rc = tal_classes_copy(&e->classes, &h->classes);
        }
    } else if (!rc) {
        for (uint32_t c = 0; c < h->classes.n; c++)
            map[c] = tal_classes_find(&e->classes, h->classes.names[c]);
    }
    tal_record rec;
    tal_record_init(&rec);
    tal_progress prog;
    tal_progress_start(&prog, "sequences", 0);
    uint64_t nrec = 0;
    while (!rc && (rc = tal_record_read(s, &rec)) > 0) {
        rc = 0;
        tal_progress_update(&prog, ++nrec, tal_stream_bytes_read(s));
        if (gt_here) {
            if (subset && !tal_subset_matches(rec.subset, subset))
                continue;
            int64_t v = tal_evalset_video(e, rec.id, 1);
            if (v < 0) {
                rc = (int)v;
                break;
            }
            e->duration[v] = rec.duration;
            for (uint32_t k = 0; k < rec.segs.n && !rc; k++) {
                const tal_segment *x = &rec.segs.v[k];
                int32_t cls = x->cls < 0 || (x->flags & TAL_SEG_AMBIGUOUS) ? -1 : map[x->cls];
                rc = tal_evalset_add_gt(e, (uint32_t)v, x->start, x->end, cls);
            }
            if (rc)
                break;
        }
        rc = add_dets_of(e, &rec, map, skipped);
    }
    tal_progress_end(&prog);
    tal_record_free(&rec);
    free(map);
    tal_stream_close(s);
    return rc < 0 ? rc : 0;
}

/* ---- output ------------------------------------------------------------------------- */

static void jnum(FILE *fp, double v)
{
    char b[32];
    tal_json_double(b, v);
    fputs(b, fp);
}

static void jarray(FILE *fp, const double *v, size_t n, size_t stride)
{
    fputc('[', fp);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', fp);
        jnum(fp, v[i * stride]);
    }
    fputc(']', fp);
}

static const char *const named[][2] = { { "0.1", "0.5" }, { "0.3", "0.7" }, { "0.1", "0.7" }, { "0.5", "0.95" } };

static int has_tiou(const tal_eval_result *r, double x)
{
    for (uint32_t t = 0; t < r->nt; t++)
        if (fabs(r->tiou[t] - x) < 1e-9)
            return 1;
    return 0;
}

/* The named ranges whose ends are both evaluated, then the asked ones. */
static void collect_averages(const options *o, const tal_eval_result *r, char names[][32], double *vals, int *n)
{
    *n = 0;
    for (size_t i = 0; i < sizeof named / sizeof *named; i++) {
        double lo = atof(named[i][0]), hi = atof(named[i][1]);
        if (!has_tiou(r, lo) || !has_tiou(r, hi))
            continue;
        snprintf(names[*n], 32, "%s:%s", named[i][0], named[i][1]);
        vals[(*n)++] = tal_eval_average(r, lo, hi);
    }
    for (int i = 0; i < o->navg; i++) {
        int dup = 0;
        for (int k = 0; k < *n && !dup; k++)
            dup = !strcmp(names[k], o->avg_name[i]);
        if (dup)
            continue;
        snprintf(names[*n], 32, "%s", o->avg_name[i]);
        vals[(*n)++] = tal_eval_average(r, o->avg_lo[i], o->avg_hi[i]);
    }
}

static void print_diag_json(FILE *fp, const tal_diag_result *d)
{
    fputs(",\"diagnosis\":{\"tiou\":", fp);
    jnum(fp, d->tiou);
    fprintf(fp, ",\"top\":%u,\"min_tiou\":", d->limit);
    jnum(fp, d->min_tiou);
    fputs(",\"false_positives\":{", fp);
    for (int t = 0; t < TAL_DIAG_NTYPES; t++) {
        fprintf(fp, "%s\"%s\":[", t ? "," : "", tal_diag_type_key(t));
        for (uint32_t k = 0; k < d->limit; k++)
            fprintf(fp, "%s%llu", k ? "," : "", (unsigned long long)d->slice[k][t]);
        fputc(']', fp);
    }
    fputs("},\"total\":{", fp);
    for (int t = 0; t < TAL_DIAG_NTYPES; t++)
        fprintf(fp, "%s\"%s\":%llu", t ? "," : "", tal_diag_type_key(t), (unsigned long long)d->total[t]);
    fputs("},\"mAP\":", fp);
    jnum(fp, d->map);
    fputs(",\"gain\":{", fp);
    for (int t = 1; t < TAL_DIAG_NTYPES; t++) {
        fprintf(fp, "%s\"%s\":", t > 1 ? "," : "", tal_diag_type_key(t));
        jnum(fp, d->gain[t]);
    }
    fprintf(fp, "},\"ground_truth\":%llu,\"missed\":%llu,\"false_negatives\":{", (unsigned long long)d->gt,
            (unsigned long long)d->missed);
    for (int c = 0; c < TAL_NCHAR; c++) {
        const tal_diag_fn *f = &d->fn[c];
        fprintf(fp, "%s\"%s\":{\"bins\":[", c ? "," : "", tal_char_name(c));
        for (uint32_t b = 0; b < f->nbins; b++)
            fprintf(fp, "%s\"%s\"", b ? "," : "", f->bin[b]);
        fputs("],\"edges\":[", fp);
        for (uint32_t b = 0; b <= f->nbins; b++) {
            if (b)
                fputc(',', fp);
            if (isinf(f->edge[b]))
                fputs("null", fp);
            else
                jnum(fp, f->edge[b]);
        }
        fputs("],\"instances\":[", fp);
        for (uint32_t b = 0; b < f->nbins; b++)
            fprintf(fp, "%s%llu", b ? "," : "", (unsigned long long)f->n[b]);
        fputs("],\"missed\":[", fp);
        for (uint32_t b = 0; b < f->nbins; b++)
            fprintf(fp, "%s%llu", b ? "," : "", (unsigned long long)f->missed[b]);
        fprintf(fp, "],\"unknown\":%llu}", (unsigned long long)f->unknown);
    }
    fputs("}}", fp);
}

static void print_json(FILE *fp, const options *o, const tal_evalset *e, const tal_eval_result *r,
                       const tal_diag_result *d)
{
    fprintf(fp, "{\"protocol\":\"%s\",\"tiou\":", tal_eval_protocol_name(r->protocol));
    jarray(fp, r->tiou, r->nt, 1);
    fputs(",\"mAP\":", fp);
    jarray(fp, r->map, r->nt, 1);
    fputs(",\"average\":", fp);
    jnum(fp, r->average);
    char names[MAX_AVERAGES + 8][32];
    double vals[MAX_AVERAGES + 8];
    int na;
    collect_averages(o, r, names, vals, &na);
    fputs(",\"averages\":{", fp);
    for (int i = 0; i < na; i++) {
        fprintf(fp, "%s\"%s\":", i ? "," : "", names[i]);
        jnum(fp, vals[i]);
    }
    fputs("},\"recall\":{", fp);
    for (uint32_t q = 0; q < r->nk; q++) {
        fprintf(fp, "%s\"%ux\":", q ? "," : "", r->topk[q]);
        jarray(fp, r->recall + q, r->nt, r->nk);
    }
    fprintf(fp, "},\"classes\":%u,\"ground_truth\":%llu,\"detections\":%llu,\"sequences\":%llu,\"per_class\":[", r->ncls,
            (unsigned long long)r->ngt, (unsigned long long)r->ndets, (unsigned long long)r->nvideos);
    for (uint32_t k = 0; k < r->ncls; k++) {
        int32_t c = r->cls[k];
        fputs(k ? ",{\"label\":" : "{\"label\":", fp);
        tal_json_string(fp, e->classes.names[c]);
        fprintf(fp, ",\"class\":%d", c);
        if (e->classes.ext_ids[c] >= 0)
            fprintf(fp, ",\"ext_id\":%d", e->classes.ext_ids[c]);
        fprintf(fp, ",\"ground_truth\":%u,\"detections\":%u,\"ap\":", r->npos[k], r->ndet[k]);
        jarray(fp, r->ap + k, r->nt, r->ncls);
        double s = 0;
        for (uint32_t t = 0; t < r->nt; t++)
            s += r->ap[(size_t)t * r->ncls + k];
        fputs(",\"average\":", fp);
        jnum(fp, s / r->nt);
        fputc('}', fp);
    }
    fputc(']', fp);
    if (d)
        print_diag_json(fp, d);
    fputs("}\n", fp);
}

static void print_diag_table(FILE *fp, const tal_diag_result *d)
{
    fprintf(fp, "\nfalse positives at tIoU %g (top %uG detections per class, G = its ground truth; %%):\n", d->tiou,
            d->limit);
    fprintf(fp, "  %-18s", "");
    for (uint32_t k = 0; k < d->limit; k++) {
        char h[16];
        snprintf(h, sizeof h, "%uG", k + 1);
        fprintf(fp, " %6s", h);
    }
    fprintf(fp, " %6s\n", "all");
    uint64_t all = 0;
    for (int t = 0; t < TAL_DIAG_NTYPES; t++)
        all += d->total[t];
    for (int t = 0; t < TAL_DIAG_NTYPES; t++) {
        fprintf(fp, "  %-18s", tal_diag_type_name(t));
        for (uint32_t k = 0; k < d->limit; k++) {
            uint64_t n = 0;
            for (int u = 0; u < TAL_DIAG_NTYPES; u++)
                n += d->slice[k][u];
            if (n)
                fprintf(fp, " %6.1f", 100.0 * (double)d->slice[k][t] / (double)n);
            else
                fprintf(fp, " %6s", "-");
        }
        if (all)
            fprintf(fp, " %6.1f\n", 100.0 * (double)d->total[t] / (double)all);
        else
            fprintf(fp, " %6s\n", "-");
    }
    fprintf(fp, "mAP at tIoU %g on these detections: %.2f; removing each error type adds:\n", d->tiou, 100 * d->map);
    for (int t = 1; t < TAL_DIAG_NTYPES; t++)
        fprintf(fp, "  %-18s %+6.2f\n", tal_diag_type_name(t), 100 * d->gain[t]);
    fprintf(fp, "missed ground truth at tIoU %g (all detections): %llu of %llu", d->tiou, (unsigned long long)d->missed,
            (unsigned long long)d->gt);
    if (d->gt)
        fprintf(fp, " (%.1f%%)", 100.0 * (double)d->missed / (double)d->gt);
    fputs("; missed % (instances) by\n", fp);
    for (int c = 0; c < TAL_NCHAR; c++) {
        const tal_diag_fn *f = &d->fn[c];
        fprintf(fp, "  %-14s", tal_char_name(c));
        for (uint32_t b = 0; b < f->nbins; b++) {
            char cell[48];
            if (f->n[b])
                snprintf(cell, sizeof cell, "%s %.1f (%llu)", f->bin[b], 100.0 * (double)f->missed[b] / (double)f->n[b],
                         (unsigned long long)f->n[b]);
            else
                snprintf(cell, sizeof cell, "%s - (0)", f->bin[b]);
            fprintf(fp, "  %-18s", cell);
        }
        if (f->unknown)
            fprintf(fp, "  unknown %llu", (unsigned long long)f->unknown);
        fputc('\n', fp);
    }
}

static void print_table(FILE *fp, const options *o, const tal_evalset *e, const tal_eval_result *r,
                        const tal_diag_result *d)
{
    fprintf(fp, "protocol      %s (%s)\n", tal_eval_protocol_name(r->protocol),
            r->protocol == TAL_EVAL_ANET ? "ActivityNet: interpolated AP"
            : o->th14_ap == TAL_TH14_AP_NONINTERP ? "THUMOS14 kit, later revision: non-interpolated AP, Ambiguous respected"
                                                  : "THUMOS14 kit: 11-point AP, Ambiguous respected");
    uint64_t nseq = 0;
    for (uint32_t v = 0; v < e->nvideos; v++)
        nseq += e->has_gt[v];
    fprintf(fp, "ground truth  %llu instances of %u classes in %llu sequences\n", (unsigned long long)r->ngt, r->ncls,
            (unsigned long long)nseq);
    fprintf(fp, "detections    %llu\n\n", (unsigned long long)r->ndets);
    fprintf(fp, "%6s %7s", "tIoU", "mAP");
    for (uint32_t q = 0; q < r->nk; q++) {
        char h[16];
        snprintf(h, sizeof h, "R@%ux", r->topk[q]);
        fprintf(fp, " %7s", h);
    }
    fputc('\n', fp);
    for (uint32_t t = 0; t < r->nt; t++) {
        fprintf(fp, "%6.3g %7.2f", r->tiou[t], 100 * r->map[t]);
        for (uint32_t q = 0; q < r->nk; q++)
            fprintf(fp, " %7.2f", 100 * r->recall[(size_t)t * r->nk + q]);
        fputc('\n', fp);
    }
    fprintf(fp, "%6s %7.2f\n", "avg", 100 * r->average);
    char names[MAX_AVERAGES + 8][32];
    double vals[MAX_AVERAGES + 8];
    int na;
    collect_averages(o, r, names, vals, &na);
    for (int i = 0; i < na; i++)
        if (isnan(vals[i]))
            fprintf(fp, "average %-10s -  (no threshold in range)\n", names[i]);
        else
            fprintf(fp, "average %-10s %.2f\n", names[i], 100 * vals[i]);
    fputs("(mAP and recall in %)\n", fp);
    if (o->verbose) {
        size_t w = 5;
        for (uint32_t k = 0; k < r->ncls; k++)
            if (strlen(e->classes.names[r->cls[k]]) > w)
                w = strlen(e->classes.names[r->cls[k]]);
        if (w > 40)
            w = 40;
        fprintf(fp, "\n%-*s %6s %7s", (int)w, "class", "gt", "dets");
        for (uint32_t t = 0; t < r->nt; t++) {
            char h[16];
            snprintf(h, sizeof h, "@%.3g", r->tiou[t]);
            fprintf(fp, " %6s", h);
        }
        fprintf(fp, " %6s\n", "avg");
        for (uint32_t k = 0; k < r->ncls; k++) {
            fprintf(fp, "%-*.*s %6u %7u", (int)w, (int)w, e->classes.names[r->cls[k]], r->npos[k], r->ndet[k]);
            double s = 0;
            for (uint32_t t = 0; t < r->nt; t++) {
                double ap = r->ap[(size_t)t * r->ncls + k];
                s += ap;
                fprintf(fp, " %6.2f", 100 * ap);
            }
            fprintf(fp, " %6.2f\n", 100 * s / r->nt);
        }
    }
    if (d)
        print_diag_table(fp, d);
}

static int write_plot(const char *path, const tal_evalset *e, const tal_eval_result *r)
{
    tal_output *out = tal_output_open(path, TAL_OUT_TEXT);
    FILE *fp = out ? tal_output_file(out) : NULL;
    if (!fp) {
        tal_output_abort(out);
        return tal_errcode() ? tal_errcode() : TAL_EIO;
    }
    fprintf(fp, "{\"protocol\":\"%s\",\"tiou\":", tal_eval_protocol_name(r->protocol));
    jarray(fp, r->tiou, r->nt, 1);
    fputs(",\"mAP\":", fp);
    jarray(fp, r->map, r->nt, 1);
    fputs(",\"curves\":[", fp);
    for (uint32_t t = 0, first = 1; t < r->nt; t++)
        for (uint32_t k = 0; k < r->ncls; k++, first = 0) {
            const tal_pr_curve *c = &r->curves[(size_t)t * r->ncls + k];
            fputs(first ? "\n{\"label\":" : ",\n{\"label\":", fp);
            tal_json_string(fp, e->classes.names[r->cls[k]]);
            fprintf(fp, ",\"class\":%d,\"tiou\":", r->cls[k]);
            jnum(fp, r->tiou[t]);
            fputs(",\"ap\":", fp);
            jnum(fp, r->ap[(size_t)t * r->ncls + k]);
            fprintf(fp, ",\"ground_truth\":%u,\"recall\":", r->npos[k]);
            jarray(fp, c->recall, c->n, 1);
            fputs(",\"precision\":", fp);
            jarray(fp, c->precision, c->n, 1);
            fputc('}', fp);
        }
    fputs("]}\n", fp);
    return tal_output_commit(out);
}

/* ---- options --------------------------------------------------------------------------- */

static int parse_topk(options *o, const char *s)
{
    char *copy = strdup(s), *save = NULL;
    int rc = 0;
    o->ntopk = 0;
    for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && !rc; t = strtok_r(NULL, ",", &save)) {
        long k;
        if (o->ntopk >= 8 || tal_parse_long(tal_trim(t), &k) || k < 1 || k > 1000)
            rc = cli_usage_error("invalid --topk '%s' (up to 8 integers in [1, 1000], comma-separated)", s);
        else
            o->topk[o->ntopk++] = (uint32_t)k;
    }
    free(copy);
    if (!rc && !o->ntopk && *s)
        rc = cli_usage_error("invalid --topk '%s'", s);
    return rc;
}

static int parse_average(options *o, const char *s)
{
    double lo, hi;
    char *c = strchr(s, ':'), buf[64];
    if (o->navg >= MAX_AVERAGES)
        return cli_usage_error("too many --average ranges (at most %d)", MAX_AVERAGES);
    if (!c || (size_t)(c - s) >= sizeof buf) 
        return cli_usage_error("invalid --average '%s' (expected A:B)", s);
    memcpy(buf, s, (size_t)(c - s));
    buf[c - s] = 0;
    if (tal_parse_double(buf, &lo) || tal_parse_double(c + 1, &hi) || !(lo > 0) || !(hi <= 1) || lo > hi ||
        strlen(s) >= sizeof o->avg_name[0])
        return cli_usage_error("invalid --average '%s' (expected A:B with 0 < A <= B <= 1)", s);
    o->avg_lo[o->navg] = lo;
    o->avg_hi[o->navg] = hi;
    snprintf(o->avg_name[o->navg], sizeof o->avg_name[0], "%s", s);
    o->navg++;
    return 0;
}

static int set_tiou(options *o, const char *spec)
{
    if (tal_tiou_parse(spec, &o->tiou, &o->ntiou))
        return cli_usage_error("%s", tal_errmsg());
    return 0;
}

/* The median ground-truth length decides DETAD's bins when not told. */
static int auto_bins(const tal_evalset *e)
{
    size_t n = 0;
    double *len = tal_malloc((e->ngt ? e->ngt : 1) * sizeof *len);
    if (!len)
        return TAL_DIAG_BINS_ANET;
    for (size_t i = 0; i < e->ngt; i++)
        if (e->gt[i].valid)
            len[n++] = e->gt[i].end - e->gt[i].start;
    /* a partial selection would do; n is small */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && len[j - 1] > len[j]; j--) {
            double t = len[j];
            len[j] = len[j - 1];
            len[j - 1] = t;
        }
    int kind = n && len[n / 2] < 20 ? TAL_DIAG_BINS_THUMOS : TAL_DIAG_BINS_ANET;
    free(len);
    return kind;
}

int main(int argc, char **argv)
{
    cli_init("tal-map", argc, argv);
    static const struct option longopts[] = {
        { "gt", required_argument, 0, 'g' }, { "subset", required_argument, 0, 's' },
        { "class-list", required_argument, 0, 'c' }, { "format", required_argument, 0, OPT_FORMAT },
        { "reversed", required_argument, 0, OPT_REVERSED }, { "protocol", required_argument, 0, 'p' },
        { "anet", no_argument, 0, OPT_ANET }, { "thumos", no_argument, 0, OPT_THUMOS },
        { "points", no_argument, 0, OPT_POINTS }, { "tiou", required_argument, 0, 't' },
        { "average", required_argument, 0, OPT_AVERAGE }, { "topk", required_argument, 0, OPT_TOPK },
        { "verbose", no_argument, 0, 'v' }, { "json", no_argument, 0, 'j' },
        { "plot", required_argument, 0, OPT_PLOT }, { "diagnose", no_argument, 0, 'd' },
        { "diag-tiou", required_argument, 0, OPT_DIAG_TIOU }, { "diag-top", required_argument, 0, OPT_DIAG_TOP },
        { "diag-bins", required_argument, 0, OPT_DIAG_BINS }, { "characteristics", required_argument, 0, OPT_CHARS },
        { "output", required_argument, 0, 'o' }, { "quiet", no_argument, 0, 'q' },
        { "th14-ap", required_argument, 0, OPT_TH14_AP },
        { "help", no_argument, 0, 'h' }, { "version", no_argument, 0, OPT_VERSION }, { 0, 0, 0, 0 },
    };
    options o = { .output = "-", .protocol = TAL_EVAL_ANET, .diag_tiou = 0.5, .diag_top = 10, .diag_bins = -1,
                  .topk = { 1, 5 }, .ntopk = 2 };
    int c;
    const char *tiou_spec = "0.5:0.05:0.95";   /* the last preset or --tiou wins */
    while ((c = getopt_long(argc, argv, "g:s:c:p:t:vjdo:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'g': o.gt = optarg; break;
        case 's': o.subset = optarg; break;
        case 'c': o.classes = optarg; break;
        case OPT_FORMAT:
            if (!strcmp(optarg, "auto")) o.format = 0;
            else if (!strcmp(optarg, "stream")) o.format = CLI_IN_STREAM;
            else if (!strcmp(optarg, "json")) o.format = CLI_IN_JSON;
            else if (!strcmp(optarg, "txt")) o.format = CLI_IN_TEXT;
            else return cli_usage_error("invalid --format '%s' (auto, stream, json or txt)", optarg);
            break;
        case OPT_REVERSED:
            if (!strcmp(optarg, "keep")) o.reversed = TAL_REVERSED_KEEP;
            else if (!strcmp(optarg, "swap")) o.reversed = TAL_REVERSED_SWAP;
            else if (!strcmp(optarg, "drop")) o.reversed = TAL_REVERSED_DROP;
            else return cli_usage_error("invalid --reversed '%s' (keep, swap or drop)", optarg);
            break;
        case 'p':
            if ((o.protocol = tal_eval_protocol_parse(optarg)) < 0)
                return cli_usage_error("invalid --protocol '%s' (anet or th14)", optarg);
            break;
        case OPT_ANET: tiou_spec = "0.5:0.05:0.95"; break;
        case OPT_THUMOS: tiou_spec = "0.3:0.1:0.7"; break;
        case OPT_POINTS: tiou_spec = "0.1:0.1:0.7"; break;
        case 't': tiou_spec = optarg; break;
        case OPT_AVERAGE: if (parse_average(&o, optarg)) return 2; break;
        case OPT_TOPK: if (parse_topk(&o, optarg)) return 2; break;
        case 'v': o.verbose = 1; break;
        case 'j': o.json = 1; break;
        case OPT_PLOT: o.plot = optarg; break;
        case 'd': o.diagnose = 1; break;
        case OPT_DIAG_TIOU: if (cli_double("--diag-tiou", optarg, 1e-9, 1, &o.diag_tiou)) return 2; break;
        case OPT_DIAG_TOP: if (cli_int("--diag-top", optarg, 1, TAL_DIAG_MAX_LIMIT, &o.diag_top)) return 2; break;
        case OPT_DIAG_BINS:
            if (!strcmp(optarg, "thumos")) o.diag_bins = TAL_DIAG_BINS_THUMOS;
            else if (!strcmp(optarg, "anet")) o.diag_bins = TAL_DIAG_BINS_ANET;
            else return cli_usage_error("invalid --diag-bins '%s' (thumos or anet)", optarg);
            break;
        case OPT_CHARS: o.chars = optarg; break;
        case OPT_TH14_AP:
            if (!strcmp(optarg, "11point")) o.th14_ap = TAL_TH14_AP_11POINT;
            else if (!strcmp(optarg, "noninterp")) o.th14_ap = TAL_TH14_AP_NONINTERP;
            else return cli_usage_error("invalid --th14-ap '%s' (11point or noninterp)", optarg);
            break;
        case 'o': o.output = optarg; break;
        case 'q': tal_set_quiet(1); break;
        case 'h': return usage(stdout, 0) || cli_close_stdout();
        case OPT_VERSION: return cli_version();
        default: return usage(stderr, 2);
        }
    }
    if (optind + 1 < argc)
        return cli_usage_error("one detection input expected, got %d", argc - optind);
    o.dets = optind < argc ? argv[optind] : "-";
    if (o.gt && !strcmp(o.gt, "-") && !strcmp(o.dets, "-"))
        return cli_usage_error("the ground truth and the detections cannot both be standard input");
    if (o.plot && !strcmp(o.plot, "-") && !strcmp(o.output, "-"))
        return cli_usage_error("--plot - needs the table elsewhere (-o FILE)");
    if (o.chars && !o.diagnose)
        return cli_usage_error("--characteristics goes with --diagnose");
    if (!o.gt && o.format && o.format != CLI_IN_STREAM)
        return cli_usage_error("without --gt the detections must be a stream carrying the ground truth");
    if (set_tiou(&o, tiou_spec))
        return 2;

    tal_annoset g, d;
    tal_annoset_init(&g);
    tal_annoset_init(&d);
    tal_evalset e;
    tal_evalset_init(&e);
    tal_eval_result res = { 0 };
    tal_diag_result diag = { 0 };
    double *chars = NULL;
    tal_output *out = NULL;
    int rc = 0, have_diag = 0;
    long skipped = 0;
    tal_anno_opts ao = { 0 };

    /* ---- ground truth ---- */
    if (o.classes) {
        if ((rc = tal_anno_read_classlist(o.classes, &g.classes)))
            goto fail;
        g.fixed_classes = 1;
    }
    if (o.gt) {
        const char *path;
        int kind = cli_input_sniff(o.gt, &path);
        if (kind < 0) {
            rc = kind;
            goto fail;
        }
        if (kind == CLI_IN_DIR)
            rc = tal_anno_read_th14(path, &g, &ao);
        else if (kind == CLI_IN_JSON)
            rc = tal_anno_read_json(path, &g, &ao);
        else if (kind == CLI_IN_STREAM)
            rc = read_gt_stream(path, &g, g.fixed_classes);
        else
            rc = tal_err(TAL_EINVAL, "ground truth: '%s' is neither a talcore stream, JSON, nor a THUMOS14 folder",
                         o.gt);
        if (rc)
            goto fail;
        if (kind == CLI_IN_JSON && (rc = tal_annoset_order_classes(&g)))
            goto fail;
        if (o.subset) {
            uint32_t before = g.n;
            if ((rc = tal_annoset_filter(&g, keep_subset, (void *)o.subset)))
                goto fail;
            if (!g.n) {
                rc = tal_err(TAL_EINVAL, "ground truth: no sequence of subset '%s' among %u in '%s'", o.subset, before,
                             o.gt);
                goto fail;
            }
        }
        if ((rc = tal_classes_copy(&e.classes, &g.classes)) || (rc = add_gt(&e, &g)))
            goto fail;
    }

    /* ---- detections ---- */
    const char *dpath;
    int kind = cli_input_sniff(o.dets, &dpath);
    if (kind < 0) {
        rc = kind;
        goto fail;
    }
    if (o.format)
        kind = o.format;
    if (kind == CLI_IN_DIR) {
        rc = tal_err(TAL_EINVAL, "cannot read detections from '%s': it is a folder", o.dets);
        goto fail;
    }
    if (!o.gt && kind != CLI_IN_STREAM) {
        rc = tal_err(TAL_EINVAL, "no ground truth: give --gt, or detections in a stream whose records carry it");
        goto fail;
    }
    if (kind == CLI_IN_STREAM) {
        if (!o.gt && g.fixed_classes && (rc = tal_classes_copy(&e.classes, &g.classes)))
            goto fail;
        rc = read_det_stream(dpath, &e, &g, !o.gt, o.subset, &skipped);
    } else {
        if ((rc = tal_classes_copy(&d.classes, &e.classes)))
            goto fail;
        d.fixed_classes = 1;
        ao.ignore_unknown_classes = 1;
        if (kind == CLI_IN_JSON) {
            rc = tal_dets_read_json(dpath, &d, &ao, &skipped);
        } else {
            int ids = 0;
            for (uint32_t c = 0; c < d.classes.n && !ids; c++)
                ids = d.classes.ext_ids[c] >= 0;
            rc = ids ? tal_dets_read_txt(dpath, &d, &ao, &skipped)
                     : tal_err(TAL_EINVAL, "the class ids of '%s' need a class list with ids (--class-list, as the "
                               "THUMOS kit's det.txt)", o.dets);
        }
        for (uint32_t i = 0; i < d.n && !rc; i++)
            rc = add_dets_of(&e, &d.v[i], NULL, &skipped);
    }
    if (rc)
        goto fail;
    if (skipped)
        tal_warn("%ld detections of classes without a place in the class table were left out", skipped);
    if ((rc = tal_evalset_finish(&e, o.reversed)))
        goto fail;
    if (!e.ngt) {
        rc = tal_err(TAL_EINVAL, "no ground truth to evaluate against%s", o.gt ? "" : " (the stream's records carry no segments)");
        goto fail;
    }
    {
        uint64_t orphan = 0;
        for (size_t i = 0; i < e.ndet; i++)
            orphan += !e.has_gt[e.det[i].video];
        if (orphan)
            tal_warn("%llu detections are in sequences without ground truth: they count as false positives",
                     (unsigned long long)orphan);
    }

    /* ---- evaluation ---- */
    tal_eval_opts eo = { .protocol = o.protocol, .tiou = o.tiou, .ntiou = o.ntiou, .topk = o.topk,
                         .ntopk = o.ntopk, .curves = o.plot != NULL, .th14_ap = o.th14_ap };
    if ((rc = tal_eval_run(&e, &eo, &res)))
        goto fail;
    if (o.diagnose) {
        tal_diag_opts dopt = { .tiou = o.diag_tiou, .limit = (uint32_t)o.diag_top, .min_tiou = 0.1,
                               .bins = o.diag_bins >= 0 ? o.diag_bins : auto_bins(&e) };
        if (o.chars) {
            uint64_t matched;
            if (!(chars = tal_malloc((e.ngt ? e.ngt : 1) * TAL_NCHAR * sizeof *chars)) ||
                (rc = tal_diag_read_characteristics(o.chars, &e, chars, &matched))) {
                rc = rc ? rc : TAL_ENOMEM;
                goto fail;
            }
            if (matched < e.ngt)
                tal_warn("'%s' describes %llu of %zu ground-truth instances; the rest are measured here", o.chars,
                         (unsigned long long)matched, e.ngt);
            dopt.gt_char = chars;
        }
        if ((rc = tal_diagnose(&e, &dopt, &diag)))
            goto fail;
        have_diag = 1;
    }
    if (o.plot && (rc = write_plot(o.plot, &e, &res)))
        goto fail;
    if (!(out = tal_output_open(o.output, TAL_OUT_TEXT)) || !tal_output_file(out)) {
        rc = tal_errcode() ? tal_errcode() : TAL_EIO;
        goto fail;
    }
    if (o.json)
        print_json(tal_output_file(out), &o, &e, &res, have_diag ? &diag : NULL);
    else
        print_table(tal_output_file(out), &o, &e, &res, have_diag ? &diag : NULL);
    rc = tal_output_commit(out);
    out = NULL;
    if (rc)
        goto fail;
    tal_diag_result_free(&diag);
    tal_eval_result_free(&res);
    tal_evalset_free(&e);
    tal_annoset_free(&g);
    tal_annoset_free(&d);
    free(chars);
    free(o.tiou);
    return cli_close_stdout();
fail:
    tal_output_abort(out);
    tal_diag_result_free(&diag);
    tal_eval_result_free(&res);
    tal_evalset_free(&e);
    tal_annoset_free(&g);
    tal_annoset_free(&d);
    free(chars);
    free(o.tiou);
    return cli_fail_input();
}
