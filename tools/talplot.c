/* talplot — pictures of sequences and of precision-recall curves, as SVG.
 *
 * From a talcore stream: one timeline per sequence with the ground truth,
 * the detections (coloured by class, opacity by score, packed in lanes),
 * the point labels and, when the record carries them, the snippet class
 * scores as curves.  From the JSON that tal-map --plot writes: one small
 * precision-recall chart per class.  Plain SVG 1.1, no scripts, no
 * external resources.
 */
#include "common/cli.h"
#include "common/input.h"
#include "data/annoset.h"
#include "data/timemap.h"
#include "util/text.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int usage(FILE *fp, int status)
{
    fprintf(fp,
"Usage: talplot [options] [IN]\n"
"SVG timelines of the sequences of a stream, or precision-recall curves from\n"
"tal-map --plot (man talplot).  IN: a stream or that JSON; - or none: stdin.\n"
"\n"
"Timelines:\n"
"  -g, --gt FILE           ground truth and points from this stream (by id)\n"
"  -i, --id ID             only this sequence (repeatable)\n"
"  -n, --top N             at most N detections per sequence, best first [100]\n"
"      --min-score F       leave out detections scoring below F [0]\n"
"      --lanes N           at most N rows of detections [12]\n"
"      --gate              the distributions' last column is a per-snippet threshold\n"
"                          (TTC-Loc): draw it dashed over the class curves, and below\n"
"                          them each class's gate p_c / (p_c + p_last)\n"
"  -O, --outdir DIR        one file per sequence, DIR/<id>.svg\n"
"Precision-recall curves:\n"
"      --pr                the input is tal-map --plot JSON (recognised anyway)\n"
"  -t, --tiou T            the curves at this threshold [the first]\n"
"  -c, --class NAME        only this class (timelines: only its score curves)\n"
"Output:\n"
"  -w, --width PX          picture width [1000]\n"
"  -o, --output FILE       one SVG holding everything [-: standard output]\n"
"  -q, --quiet             no progress line\n"
"  -h, --help              this help\n"
"      --version           version\n"
"\n"
"Exit status: 0 success, 1 bad input or failure, 2 usage error.\n");
    return status;
}

enum { OPT_MIN_SCORE = 256, OPT_LANES, OPT_GATE, OPT_PR, OPT_VERSION };

typedef struct {
    const char *gt, *outdir, *output, *cls;
    char **ids;
    int nids, pr, lanes, gate;
    long top;
    double min_score, tiou, width;
    int have_tiou;
} options;

/* twenty colours that stay apart on white; class c takes c mod 20 */
static const char *const palette[20] = {
    "#1f5fa8", "#e3731c", "#2e9c48", "#cf2f34", "#8a5cb8", "#8c564b", "#d957a8", "#6b6b6b", "#a8a82a", "#1aa3b8",
    "#7fa6d9", "#f2a766", "#86cf84", "#f08a8a", "#b9a0d6", "#c49c90", "#f0a8d0", "#b0b0b0", "#d4d47a", "#86d0dc",
};

static const char *colour(int32_t c)
{
    return c < 0 ? "#999999" : palette[c % 20];
}

static void xml_text(FILE *fp, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '&': fputs("&amp;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'': fputs("&apos;", fp); break;
        default:
            if (*p >= 0x20 || *p == '\t')
                fputc(*p, fp);
        }
    }
}

/* a round tick step giving about n ticks over span */
static double tick_step(double span, int n)
{
    double raw = span / n, p = pow(10, floor(log10(raw)));
    double f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

/* ---- timelines -------------------------------------------------------------------- */

#define LEFT 120.0
#define RIGHT 24.0
#define ROW 16.0

typedef struct {
    const tal_segment *s;
    int lane;
} placed;

static int cmp_score_desc(const void *a, const void *b)
{
    const tal_segment *x = *(const tal_segment *const *)a, *y = *(const tal_segment *const *)b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Can the record's snippets be placed in seconds: a time map, or a grid
 * with a frame rate and a stride (the stream's or its own)? */
static int placed_in_time(const tal_header *h, const tal_record *r)
{
    return (r->present & TAL_HAS_TIMEMAP) || (tal_record_fps(r, h) > 0 && (h->stride > 0 || r->stride > 0));
}

/* the centre of snippet t of n in seconds: through the record's time map
 * or on its grid, or spread over the duration when it has neither */
static double snippet_sec(const tal_header *h, const tal_record *r, double dur, uint32_t n, uint32_t t)
{
    if (!placed_in_time(h, r))
        return (t + 0.5) * dur / n;
    tal_grid g = tal_record_grid(r, h);
    return tal_record_pos_to_sec(r, &g, t);
}

/* Height of one sequence's panel; draws it at y0 when fp is not NULL. */
static double timeline(FILE *fp, double y0, const options *o, const tal_header *h, const tal_record *r,
                       const tal_record *gt, const tal_segment **buf, placed *pl, double *lane_end)
{
    const tal_segset *segs = gt ? &gt->segs : &r->segs;
    const tal_point *pts = gt && gt->npoints ? gt->points : r->points;
    uint32_t npts = gt && gt->npoints ? gt->npoints : r->npoints;
    double W = o->width, plotw = W - LEFT - RIGHT;
    double dur = r->duration > 0 ? r->duration : gt && gt->duration > 0 ? gt->duration : 0;
    for (uint32_t i = 0; i < segs->n; i++)
        if (segs->v[i].end > dur)
            dur = segs->v[i].end;
    for (uint32_t i = 0; i < r->dets.n; i++)
        if (r->dets.v[i].end > dur)
            dur = r->dets.v[i].end;
    for (uint32_t i = 0; i < npts; i++)
        if (pts[i].time > dur)
            dur = pts[i].time;
    int have_dist = r->dist_T > 0 && r->dist_K > 0 && r->dist;
    if (have_dist && placed_in_time(h, r)) {
        double last = snippet_sec(h, r, dur, r->dist_T, r->dist_T - 1);
        if (last > dur)
            dur = last;
    }
    if (!(dur > 0))
        dur = 1;
#define X(t) (LEFT + plotw * ((t) < 0 ? 0 : (t) > dur ? 1 : (t) / dur))
    /* detections: best first, packed into lanes */
    uint32_t nd = 0;
    for (uint32_t i = 0; i < r->dets.n; i++)
        if (r->dets.v[i].score >= o->min_score && r->dets.v[i].cls >= 0)
            buf[nd++] = &r->dets.v[i];
    if (nd > 1)
        qsort(buf, nd, sizeof *buf, cmp_score_desc);
    if (o->top >= 0 && nd > (uint32_t)o->top)
        nd = (uint32_t)o->top;
    int lanes = 0;
    double maxscore = 0;
    for (uint32_t i = 0; i < nd; i++) {
        int lane = -1;
        for (int k = 0; k < lanes && lane < 0; k++)
            if (buf[i]->start >= lane_end[k])
                lane = k;
        if (lane < 0 && lanes < o->lanes) {
            lane = lanes++;
            lane_end[lane] = -INFINITY;
        }
        if (lane < 0) {
            lane = 0;   /* no room: the lane that frees first */
            for (int k = 1; k < lanes; k++)
                if (lane_end[k] < lane_end[lane])
                    lane = k;
        }
        if (buf[i]->end > lane_end[lane])
            lane_end[lane] = buf[i]->end;
        pl[i] = (placed){ buf[i], lane };
        if (buf[i]->score > maxscore)
            maxscore = buf[i]->score;
    }
    /* which classes appear, for the legend and the curves */
    uint32_t ncls = h->classes.n;
    double curves_h = have_dist ? 110 : 0;
    /* the gate panel: the last column is the threshold of the others */
    int gate = o->gate && have_dist && r->dist_K == ncls + 1;
    double gate_h = gate ? 80 : 0;
    /* pseudo labels (segments flagged pseudo) of the input record: a row of their own */
    uint32_t npseudo = 0;
    for (uint32_t i = 0; i < r->segs.n; i++)
        npseudo += (r->segs.v[i].flags & TAL_SEG_PSEUDO) != 0;
    double height = 34 /* title */ + ROW + 6 /* gt */ + (npts ? ROW : 0) + (npseudo ? ROW : 0) +
                    (lanes ? lanes * (ROW - 4) + 10 : 0) + curves_h + gate_h + 30 /* axis */ + 22 /* legend */;
    if (!fp)
        return height;
    fprintf(fp, "<g transform=\"translate(0,%.2f)\">\n", y0);
    fprintf(fp, "<text x=\"8\" y=\"18\" font-size=\"14\" font-weight=\"bold\">");
    xml_text(fp, r->id);
    fprintf(fp, "</text>\n<text x=\"%.2f\" y=\"18\" font-size=\"11\" text-anchor=\"end\" fill=\"#555\">%.1f s, %u "
                "instances, %u detections shown of %u</text>\n",
            W - RIGHT, dur, segs->n, nd, r->dets.n);
    double y = 34;
    /* ground truth */
    fprintf(fp, "<text x=\"8\" y=\"%.2f\" font-size=\"11\">ground truth</text>\n", y + 11);
    fprintf(fp, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#f4f4f4\"/>\n", LEFT, y, plotw, ROW - 2);
    for (uint32_t i = 0; i < segs->n; i++) {
        const tal_segment *g = &segs->v[i];
        if (g->flags & TAL_SEG_PSEUDO)
            continue;
        int amb = g->cls < 0 || (g->flags & TAL_SEG_AMBIGUOUS);
        double x0 = X(g->start), x1 = X(g->end);
        fprintf(fp, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\" fill-opacity=\"%s\"><title>",
                x0, y, x1 - x0 > 0.5 ? x1 - x0 : 0.5, ROW - 2, colour(amb ? -1 : g->cls), amb ? "0.45" : "0.9");
        xml_text(fp, amb || (uint32_t)g->cls >= ncls ? "Ambiguous" : h->classes.names[g->cls]);
        fprintf(fp, " %.2f-%.2f s</title></rect>\n", g->start, g->end);
    }
    y += ROW + 6;
    /* points */
    if (npts) {
        fprintf(fp, "<text x=\"8\" y=\"%.2f\" font-size=\"11\">points</text>\n", y + 11);
        for (uint32_t i = 0; i < npts; i++) {
            double x = X(pts[i].time);
            fprintf(fp, "<path d=\"M%.2f %.2fL%.2f %.2fL%.2f %.2fZ\" fill=\"%s\"><title>", x - 5, y + 1, x + 5, y + 1, x,
                    y + ROW - 4, colour(pts[i].cls));
            xml_text(fp, pts[i].cls >= 0 && (uint32_t)pts[i].cls < ncls ? h->classes.names[pts[i].cls] : "?");
            fprintf(fp, " at %.2f s</title></path>\n", pts[i].time);
        }
        y += ROW;
    }
    /* pseudo labels: classes in colour, background (class -1) in grey */
    if (npseudo) {
        fprintf(fp, "<text x=\"8\" y=\"%.2f\" font-size=\"11\">pseudo labels</text>\n", y + 11);
        for (uint32_t i = 0; i < r->segs.n; i++) {
            const tal_segment *g = &r->segs.v[i];
            if (!(g->flags & TAL_SEG_PSEUDO))
                continue;
            int bg = g->cls < 0 || (uint32_t)g->cls >= ncls;
            double x0 = X(g->start), x1 = X(g->end);
            fprintf(fp, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\" fill-opacity=\"%s\"><title>",
                    x0, y + 2, x1 - x0 > 0.5 ? x1 - x0 : 0.5, ROW - 6, bg ? "#888888" : colour(g->cls), bg ? "0.35" : "0.7");
            xml_text(fp, bg ? "background" : h->classes.names[g->cls]);
            fprintf(fp, " (pseudo) %.2f-%.2f s</title></rect>\n", g->start, g->end);
        }
        y += ROW;
    }
    /* detections */
    if (lanes) {
        fprintf(fp, "<text x=\"8\" y=\"%.2f\" font-size=\"11\">detections</text>\n", y + 11);
        fprintf(fp, "<text x=\"8\" y=\"%.2f\" font-size=\"9\" fill=\"#777\">opacity = score</text>\n", y + 23);
        for (uint32_t i = 0; i < nd; i++) {
            const tal_segment *d = pl[i].s;
            double x0 = X(d->start), x1 = X(d->end);
            double op = maxscore > 0 ? 0.12 + 0.88 * (d->score > 0 ? d->score : 0) / maxscore : 0.5;
            fprintf(fp,
                    "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\" fill-opacity=\"%.3f\" "
                    "stroke=\"%s\" stroke-opacity=\"%.3f\" stroke-width=\"0.6\"><title>",
                    x0, y + pl[i].lane * (ROW - 4), x1 - x0 > 0.5 ? x1 - x0 : 0.5, ROW - 6, colour(d->cls), op,
                    colour(d->cls), op);
            xml_text(fp, (uint32_t)d->cls < ncls ? h->classes.names[d->cls] : "?");
            fprintf(fp, " %.2f-%.2f s, score %.4g</title></rect>\n", d->start, d->end, d->score);
        }
        y += lanes * (ROW - 4) + 10;
    }
    /* snippet scores */
    if (have_dist) {
        double top = y, hgt = curves_h - 14;
        fprintf(fp, "<text x=\"8\" y=\"%.2f\" font-size=\"11\">snippet scores</text>\n", y + 11);
        fprintf(fp, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke=\"#ccc\"/>\n", LEFT,
                top, plotw, hgt);
        /* curves of the classes in view, at most 8, largest peak first */
        uint32_t K = r->dist_K < ncls ? r->dist_K : ncls;
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < (size_t)r->dist_T * r->dist_K; i++) {
            if (r->dist[i] < lo)
                lo = r->dist[i];
            if (r->dist[i] > hi)
                hi = r->dist[i];
        }
        if (lo >= 0 && hi <= 1)
            lo = 0, hi = 1;
        if (!(hi > lo))
            hi = lo + 1;
        uint32_t shown = 0, shown_cls[8];
        uint8_t *done = calloc(K ? K : 1, 1);
        while (done && shown < 8) {
            long best = -1;
            double bv = -INFINITY;
            for (uint32_t c = 0; c < K; c++) {
                if (done[c] || (o->cls && strcmp(o->cls, h->classes.names[c])))
                    continue;
                int present = 0;
                for (uint32_t i = 0; i < segs->n && !present; i++)
                    present = segs->v[i].cls == (int32_t)c;
                for (uint32_t i = 0; i < nd && !present; i++)
                    present = pl[i].s->cls == (int32_t)c;
                double m = -INFINITY;
                for (uint32_t t = 0; t < r->dist_T; t++)
                    if (r->dist[(size_t)t * r->dist_K + c] > m)
                        m = r->dist[(size_t)t * r->dist_K + c];
                m += present ? 1e9 : 0;   /* classes on the timeline first */
                if (m > bv) {
                    bv = m;
                    best = (long)c;
                }
            }
            if (best < 0)
                break;
            done[best] = 1;
            shown_cls[shown++] = (uint32_t)best;
            fprintf(fp, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.2\" points=\"", colour((int32_t)best));
            for (uint32_t t = 0; t < r->dist_T; t++) {
                double v = r->dist[(size_t)t * r->dist_K + best];
                fprintf(fp, "%s%.2f,%.2f", t ? " " : "", X(snippet_sec(h, r, dur, r->dist_T, t)),
                        top + hgt - hgt * (v - lo) / (hi - lo));
            }
            fprintf(fp, "\"><title>");
            xml_text(fp, h->classes.names[best]);
            fprintf(fp, "</title></polyline>\n");
        }
        free(done);
        if (gate) {
            fprintf(fp, "<polyline fill=\"none\" stroke=\"#222\" stroke-width=\"1.2\" stroke-dasharray=\"4 3\" points=\"");
            for (uint32_t t = 0; t < r->dist_T; t++)
                fprintf(fp, "%s%.2f,%.2f", t ? " " : "", X(snippet_sec(h, r, dur, r->dist_T, t)),
                        top + hgt - hgt * (r->dist[(size_t)t * r->dist_K + ncls] - lo) / (hi - lo));
            fprintf(fp, "\"><title>threshold (background)</title></polyline>\n");
            fprintf(fp, "<text x=\"8\" y=\"%.2f\" font-size=\"9\" fill=\"#777\">dashed: threshold</text>\n", y + 23);
        }
        fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"9\" fill=\"#777\" text-anchor=\"end\">%.3g</text>\n",
                LEFT - 4, top + 8, hi);
        fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"9\" fill=\"#777\" text-anchor=\"end\">%.3g</text>\n",
                LEFT - 4, top + hgt, lo);
        y += curves_h;
        if (gate) {
            /* each shown class's gate: above 0.5 exactly where it beats the threshold */
            double gt0 = y, gh = gate_h - 14;
            fprintf(fp, "<text x=\"8\" y=\"%.2f\" font-size=\"11\">gate</text>\n", y + 11);
            fprintf(fp, "<text x=\"8\" y=\"%.2f\" font-size=\"9\" fill=\"#777\">p / (p + threshold)</text>\n",
                    y + 23);
            fprintf(fp, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke=\"#ccc\"/>\n",
                    LEFT, gt0, plotw, gh);
            fprintf(fp, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#999\" stroke-dasharray=\"2 2\"/>\n",
                    LEFT, gt0 + gh / 2, W - RIGHT, gt0 + gh / 2);
            for (uint32_t i = 0; i < shown; i++) {
                uint32_t c = shown_cls[i];
                fprintf(fp, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.2\" points=\"", colour((int32_t)c));
                for (uint32_t t = 0; t < r->dist_T; t++) {
                    double pc = r->dist[(size_t)t * r->dist_K + c], pb = r->dist[(size_t)t * r->dist_K + ncls];
                    double v = pc + pb > 0 ? pc / (pc + pb) : 0.5;
                    fprintf(fp, "%s%.2f,%.2f", t ? " " : "", X(snippet_sec(h, r, dur, r->dist_T, t)),
                            gt0 + gh - gh * v);
                }
                fprintf(fp, "\"><title>gate of ");
                xml_text(fp, h->classes.names[c]);
                fprintf(fp, "</title></polyline>\n");
            }
            fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"9\" fill=\"#777\" text-anchor=\"end\">1</text>\n",
                    LEFT - 4, gt0 + 8);
            fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"9\" fill=\"#777\" text-anchor=\"end\">0</text>\n",
                    LEFT - 4, gt0 + gh);
            y += gate_h;
        }
    }
    /* time axis */
    fprintf(fp, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333\"/>\n", LEFT, y, W - RIGHT, y);
    double step = tick_step(dur, 10);
    for (double t = 0; t <= dur + 1e-9; t += step) {
        fprintf(fp, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333\"/>\n", X(t), y, X(t), y + 4);
        fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"10\" text-anchor=\"middle\">%g</text>\n", X(t), y + 15, t);
    }
    fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"10\" text-anchor=\"end\">s</text>\n", W - RIGHT, y + 26);
    y += 30;
    /* legend: the classes on this timeline */
    double lx = LEFT;
    for (uint32_t c = 0; c < ncls; c++) {
        int present = 0;
        for (uint32_t i = 0; i < segs->n && !present; i++)
            present = segs->v[i].cls == (int32_t)c;
        for (uint32_t i = 0; i < nd && !present; i++)
            present = pl[i].s->cls == (int32_t)c;
        if (!present || lx > W - 120)
            continue;
        fprintf(fp, "<rect x=\"%.2f\" y=\"%.2f\" width=\"10\" height=\"10\" fill=\"%s\"/>", lx, y, colour((int32_t)c));
        fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"10\">", lx + 13, y + 9);
        xml_text(fp, h->classes.names[c]);
        fputs("</text>\n", fp);
        lx += 22 + 6.2 * (double)strlen(h->classes.names[c]);
    }
    fputs("</g>\n", fp);
#undef X
    return height;
}

static void svg_open(FILE *fp, double w, double h)
{
    fprintf(fp,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            w, h, w, h);
}

static int selected(const options *o, const char *id)
{
    if (!o->nids)
        return 1;
    for (int i = 0; i < o->nids; i++)
        if (!strcmp(o->ids[i], id))
            return 1;
    return 0;
}

/* a file name for an id: letters, digits, '.', '-', '_' kept */
static char *file_for(const char *dir, const char *id)
{
    size_t n = strlen(dir) + strlen(id) + 8;
    char *p = malloc(n);
    if (!p)
        return NULL;
    int k = snprintf(p, n, "%s/", dir);
    for (const char *s = id; *s; s++)
        p[k++] = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
                         *s == '-' || *s == '_'
                     ? *s
                     : '_';
    if (k == (int)strlen(dir) + 1 || p[strlen(dir) + 1] == '.')
        p[k++] = '_';   /* never "" or a hidden name */
    strcpy(p + k, ".svg");
    return p;
}

static int read_gt(const char *path, tal_annoset *g, const tal_header *h)
{
    tal_stream *s = tal_stream_open(path);
    if (!s)
        return tal_errcode();
    tal_stream_skip(s, TAL_HAS_FEATURES | TAL_HAS_DIST);
    const tal_header *gh = tal_stream_header(s);
    int rc = 0;
    if (!tal_classes_equal(&gh->classes, &h->classes))
        rc = tal_err(TAL_EINCOMPAT, "cannot combine '%s' with the input: their class tables differ", path);
    tal_record r;
    tal_record_init(&r);
    while (!rc && (rc = tal_record_read(s, &r)) > 0) {
        rc = 0;
        tal_record *x = tal_annoset_get(g, r.id);
        if (!x) {
            rc = TAL_ENOMEM;
            break;
        }
        x->duration = r.duration;
        if ((rc = tal_segset_copy(&x->segs, &r.segs)))
            break;
        for (uint32_t i = 0; i < r.npoints && !rc; i++)
            rc = tal_record_add_point(x, r.points[i].time, r.points[i].cls, r.points[i].weight);
    }
    tal_record_free(&r);
    tal_stream_close(s);
    return rc < 0 ? rc : 0;
}

static int run_timelines(const options *o, const char *path)
{
    tal_stream *in = tal_stream_open(path);
    if (!in)
        return tal_errcode();
    const tal_header *h = tal_stream_header(in);
    tal_annoset g;
    tal_annoset_init(&g);
    int rc = o->gt ? read_gt(o->gt, &g, h) : 0;
    tal_record r;
    tal_record_init(&r);
    const tal_segment **buf = NULL;
    placed *pl = NULL;
    double *lane_end = calloc((size_t)o->lanes + 1, sizeof *lane_end);
    size_t cap = 0;
    tal_output *out = NULL;
    FILE *fp = NULL;
    /* one file: the panels are drawn once their heights are known, so
     * they go to a temporary buffer first */
    tal_buf body = { 0 };
    double total = 0;
    uint64_t n = 0;
    tal_progress prog;
    tal_progress_start(&prog, "sequences", 0);
    if (!lane_end)
        rc = TAL_ENOMEM;
    while (!rc && (rc = tal_record_read(in, &r)) > 0) {
        rc = 0;
        if (!selected(o, r.id))
            continue;
        if (r.dets.n > cap) {
            cap = r.dets.n;
            free(buf);
            free(pl);
            buf = malloc(cap * sizeof *buf);
            pl = malloc(cap * sizeof *pl);
            if (!buf || !pl) {
                rc = tal_err(TAL_ENOMEM, "out of memory");
                break;
            }
        }
        const tal_record *gt = o->gt ? tal_annoset_find(&g, r.id) : NULL;
        double hgt = timeline(NULL, 0, o, h, &r, gt, buf, pl, lane_end);
        if (o->outdir) {
            char *file = file_for(o->outdir, r.id);
            if (!file || !(out = tal_output_open(file, TAL_OUT_TEXT)) || !(fp = tal_output_file(out))) {
                free(file);
                rc = tal_errcode() ? tal_errcode() : TAL_ENOMEM;
                break;
            }
            free(file);
            svg_open(fp, o->width, hgt + 8);
            timeline(fp, 4, o, h, &r, gt, buf, pl, lane_end);
            fputs("</svg>\n", fp);
            rc = tal_output_commit(out);
            out = NULL;
        } else {
            char *mem = NULL;
            size_t len = 0;
            FILE *m = open_memstream(&mem, &len);
            if (!m) {
                rc = tal_err(TAL_ENOMEM, "out of memory");
                break;
            }
            timeline(m, total + 4, o, h, &r, gt, buf, pl, lane_end);
            fclose(m);
            rc = tal_buf_append(&body, mem, len);
            free(mem);
            total += hgt + 12;
        }
        tal_progress_update(&prog, ++n, tal_stream_bytes_read(in));
    }
    tal_progress_end(&prog);
    if (!rc && !n)
        rc = tal_err(TAL_EINVAL, "no sequence to draw in '%s'%s", tal_stream_name(in), o->nids ? " (check --id)" : "");
    if (!rc && !o->outdir) {
        if (!(out = tal_output_open(o->output, TAL_OUT_TEXT)) || !(fp = tal_output_file(out))) {
            rc = tal_errcode() ? tal_errcode() : TAL_EIO;
        } else {
            svg_open(fp, o->width, total + 4);
            fwrite(body.data, 1, body.len, fp);
            fputs("</svg>\n", fp);
            rc = tal_output_commit(out);
            out = NULL;
        }
    }
    tal_output_abort(out);
    tal_buf_free(&body);
    free(buf);
    free(pl);
    free(lane_end);
    tal_record_free(&r);
    tal_annoset_free(&g);
    tal_stream_close(in);
    return rc < 0 ? rc : 0;
}

/* ---- precision-recall curves -------------------------------------------------------- */

static int bad_plot(const char *path, const char *what)
{
    return tal_err(TAL_EINVAL, "bad plot file: '%s': %s (expected tal-map --plot output)", path, what);
}

static int run_pr(const options *o, const char *path, const char *name)
{
    char *text;
    size_t len;
    int rc = tal_read_file(path, (size_t)1 << 30, &text, &len);
    if (rc)
        return rc;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    free(text);
    if (!root)
        return tal_err(TAL_EINVAL, "bad JSON: '%s' line %d column %d: %s", name, jerr.line, jerr.column, jerr.text);
    const json_t *curves = json_object_get(root, "curves"), *tious = json_object_get(root, "tiou");
    const json_t *maps = json_object_get(root, "mAP"), *proto = json_object_get(root, "protocol");
    double tiou = o->tiou;
    double map = NAN;
    if (!json_is_array(curves) || !json_is_array(tious) || !json_array_size(tious)) {
        json_decref(root);
        return bad_plot(name, "no 'curves' and 'tiou' lists");
    }
    size_t ti = 0;
    if (!o->have_tiou) {
        tiou = json_number_value(json_array_get(tious, 0));
    } else {
        for (ti = 0; ti < json_array_size(tious); ti++)
            if (fabs(json_number_value(json_array_get(tious, ti)) - tiou) < 1e-6)
                break;
        if (ti == json_array_size(tious)) {
            json_decref(root);
            return tal_err(TAL_EINVAL, "'%s' has no curves at tIoU %g", name, tiou);
        }
        tiou = json_number_value(json_array_get(tious, ti));
    }
    if (json_is_array(maps) && ti < json_array_size(maps))
        map = json_number_value(json_array_get(maps, ti));
    /* the curves to draw */
    size_t nc = json_array_size(curves), k = 0;
    const json_t **pick = malloc((nc ? nc : 1) * sizeof *pick);
    if (!pick) {
        json_decref(root);
        return TAL_ENOMEM;
    }
    for (size_t i = 0; i < nc && !rc; i++) {
        const json_t *c = json_array_get(curves, i);
        const json_t *lab = json_object_get(c, "label"), *t = json_object_get(c, "tiou");
        const json_t *rec = json_object_get(c, "recall"), *prec = json_object_get(c, "precision");
        if (!json_is_string(lab) || !json_is_number(t) || !json_is_array(rec) || !json_is_array(prec) ||
            json_array_size(rec) != json_array_size(prec)) {
            char msg[96];
            snprintf(msg, sizeof msg, "curves[%zu] lacks label, tiou or matching recall and precision lists", i);
            rc = bad_plot(name, msg);
            break;
        }
        for (size_t j = 0; j < json_array_size(rec) && !rc; j++)
            if (!json_is_number(json_array_get(rec, j)) || !json_is_number(json_array_get(prec, j))) {
                char msg[160];
                snprintf(msg, sizeof msg, "curves[%zu].recall[%zu] or .precision[%zu] is not a number", i, j, j);
                rc = bad_plot(name, msg);
            }
        if (!rc && fabs(json_number_value(t) - tiou) < 1e-9 && (!o->cls || !strcmp(o->cls, json_string_value(lab))))
            pick[k++] = c;
    }
    if (!rc && !k)
        rc = tal_err(TAL_EINVAL, "no curve to draw in '%s'%s", name, o->cls ? " (check --class)" : "");
    tal_output *out = NULL;
    FILE *fp = NULL;
    if (!rc && (!(out = tal_output_open(o->output, TAL_OUT_TEXT)) || !(fp = tal_output_file(out))))
        rc = tal_errcode() ? tal_errcode() : TAL_EIO;
    if (!rc) {
        int cols = k == 1 ? 1 : o->width >= 1000 ? 5 : o->width >= 600 ? 3 : 2;
        double cw = o->width / cols, ch = cw * 0.9 + 20;
        int rows = (int)((k + (size_t)cols - 1) / (size_t)cols);
        double H = 40 + rows * ch;
        svg_open(fp, o->width, H);
        fprintf(fp, "<text x=\"10\" y=\"24\" font-size=\"15\" font-weight=\"bold\">precision-recall at tIoU %g", tiou);
        if (json_is_string(proto)) {
            fputs(", protocol ", fp);
            xml_text(fp, json_string_value(proto));
        }
        if (!isnan(map))
            fprintf(fp, ", mAP %.2f%%", 100 * map);
        fputs("</text>\n", fp);
        for (size_t i = 0; i < k; i++) {
            const json_t *c = pick[i];
            double ox = (double)(i % (size_t)cols) * cw, oy = 40 + (double)(i / (size_t)cols) * ch;
            double px = ox + 34, py = oy + 22, pw = cw - 48, ph = ch - 58;
            const json_t *rec = json_object_get(c, "recall"), *prec = json_object_get(c, "precision");
            const json_t *ap = json_object_get(c, "ap");
            fprintf(fp, "<g>\n<text x=\"%.2f\" y=\"%.2f\" font-size=\"11\" font-weight=\"bold\">", px, oy + 14);
            xml_text(fp, json_string_value(json_object_get(c, "label")));
            if (json_is_number(ap))
                fprintf(fp, "  AP %.2f%%", 100 * json_number_value(ap));
            fputs("</text>\n", fp);
            fprintf(fp, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#fafafa\" stroke=\"#999\"/>\n",
                    px, py, pw, ph);
            for (int g = 1; g < 5; g++)
                fprintf(fp,
                        "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#e4e4e4\"/>"
                        "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#e4e4e4\"/>\n",
                        px + pw * g / 5, py, px + pw * g / 5, py + ph, px, py + ph * g / 5, px + pw, py + ph * g / 5);
            for (int g = 0; g <= 5; g += 5) {
                fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"9\" text-anchor=\"middle\">%d</text>", px + pw * g / 5,
                        py + ph + 11, g / 5);
                fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"9\" text-anchor=\"end\">%d</text>\n", px - 3,
                        py + ph - ph * g / 5 + 3, g / 5);
            }
            fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"9\" text-anchor=\"middle\" fill=\"#555\">recall</text>\n",
                    px + pw / 2, py + ph + 21);
            size_t np = json_array_size(rec);
            const char *col = colour(json_is_integer(json_object_get(c, "class"))
                                         ? (int32_t)json_integer_value(json_object_get(c, "class"))
                                         : (int32_t)i);
            /* precision at each point, and the envelope the AP integrates */
            if (np) {
                fprintf(fp, "<polyline fill=\"none\" stroke=\"%s\" stroke-opacity=\"0.45\" points=\"", col);
                for (size_t j = 0; j < np; j++) {
                    double rr = json_number_value(json_array_get(rec, j)), pp = json_number_value(json_array_get(prec, j));
                    fprintf(fp, "%s%.2f,%.2f", j ? " " : "", px + pw * fmin(fmax(rr, 0), 1),
                            py + ph - ph * fmin(fmax(pp, 0), 1));
                }
                fputs("\"/>\n", fp);
                double *env = malloc(np * sizeof *env);
                if (env) {
                    double run = 0;
                    for (size_t j = np; j-- > 0;) {
                        double pp = json_number_value(json_array_get(prec, j));
                        run = pp > run ? pp : run;
                        env[j] = run;
                    }
                    fprintf(fp, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\" d=\"M%.2f,%.2f", col, px,
                            py + ph - ph * fmin(env[0], 1));
                    for (size_t j = 0; j < np; j++) {
                        double rr = fmin(fmax(json_number_value(json_array_get(rec, j)), 0), 1);
                        fprintf(fp, " H%.2f V%.2f", px + pw * rr, py + ph - ph * fmin(j + 1 < np ? env[j + 1] : 0, 1));
                    }
                    fputs("\"/>\n", fp);
                    free(env);
                }
            }
            fputs("</g>\n", fp);
        }
        fputs("</svg>\n", fp);
        rc = tal_output_commit(out);
        out = NULL;
    }
    tal_output_abort(out);
    free(pick);
    json_decref(root);
    return rc;
}

int main(int argc, char **argv)
{
    cli_init("talplot", argc, argv);
    static const struct option longopts[] = {
        { "gt", required_argument, 0, 'g' }, { "id", required_argument, 0, 'i' },
        { "top", required_argument, 0, 'n' }, { "min-score", required_argument, 0, OPT_MIN_SCORE },
        { "lanes", required_argument, 0, OPT_LANES }, { "outdir", required_argument, 0, 'O' },
        { "gate", no_argument, 0, OPT_GATE },
        { "pr", no_argument, 0, OPT_PR }, { "tiou", required_argument, 0, 't' },
        { "class", required_argument, 0, 'c' }, { "width", required_argument, 0, 'w' },
        { "output", required_argument, 0, 'o' }, { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' }, { "version", no_argument, 0, OPT_VERSION }, { 0, 0, 0, 0 },
    };
    char *idbuf[argc > 0 ? argc : 1];   /* --id values: fewer than argc */
    options o = { .output = "-", .top = 100, .lanes = 12, .width = 1000, .ids = idbuf };
    int c;
    long lv;
    while ((c = getopt_long(argc, argv, "g:i:n:O:t:c:w:o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'g': o.gt = optarg; break;
        case 'i': o.ids[o.nids++] = optarg; break;
        case 'n': if (cli_int("--top", optarg, 0, 1L << 30, &o.top)) return 2; break;
        case OPT_MIN_SCORE: if (cli_double("--min-score", optarg, -1e300, 1e300, &o.min_score)) return 2; break;
        case OPT_LANES: if (cli_int("--lanes", optarg, 1, 200, &lv)) return 2; o.lanes = (int)lv; break;
        case 'O': o.outdir = optarg; break;
        case OPT_PR: o.pr = 1; break;
        case OPT_GATE: o.gate = 1; break;
        case 't': if (cli_double("--tiou", optarg, 1e-9, 1, &o.tiou)) return 2; o.have_tiou = 1; break;
        case 'c': o.cls = optarg; break;
        case 'w': if (cli_double("--width", optarg, 200, 20000, &o.width)) return 2; break;
        case 'o': o.output = optarg; break;
        case 'q': tal_set_quiet(1); break;
        case 'h': return usage(stdout, 0) || cli_close_stdout();
        case OPT_VERSION: return cli_version();
        default: return usage(stderr, 2);
        }
    }
    if (optind + 1 < argc)
        return cli_usage_error("one input expected, got %d", argc - optind);
    const char *input = optind < argc ? argv[optind] : "-";
    if (o.outdir && strcmp(o.output, "-"))
        return cli_usage_error("--outdir and --output exclude each other");
    const char *path;
    int kind = cli_input_sniff(input, &path);
    if (kind < 0)
        return cli_fail_input();
    if (o.pr && kind == CLI_IN_STREAM)
        return cli_error("--pr: '%s' is a talcore stream, not tal-map --plot JSON", input);
    int pr = o.pr || kind == CLI_IN_JSON;
    if (pr && (o.gt || o.nids || o.outdir || o.gate))
        return cli_usage_error("--gt, --id, --outdir and --gate are for timelines; '%s' holds precision-recall curves",
                               input);
    if (!pr && o.have_tiou)
        return cli_usage_error("--tiou and --pr are for precision-recall curves; '%s' is a stream", input);
    if (!pr && kind != CLI_IN_STREAM)
        return cli_error("cannot read '%s': neither a talcore stream nor tal-map --plot JSON", input);
    if (o.outdir && mkdir(o.outdir, 0777) && errno != EEXIST)
        return cli_error("cannot make folder '%s': %s", o.outdir, strerror(errno));
    int rc = pr ? run_pr(&o, path, strcmp(input, "-") ? input : "standard input") : run_timelines(&o, path);
    if (rc)
        return cli_fail_input();
    return cli_close_stdout();
}
