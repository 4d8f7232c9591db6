/* jsonout.c — records as JSON text (see jsonout.h). */
#include "jsonout.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void tal_json_double(char buf[32], double v)
{
    if (!isfinite(v)) {
        strcpy(buf, "null");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, 32, "%.0f", v);     /* integers without an exponent */
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, 32, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (strchr(buf, 'e') && fabs(v) >= 1e-4 && fabs(v) < 1e15) {
        /* plain decimals read better than 1.5e-03 in this range */
        char d[40];
        for (int p = 1; p <= 20; p++) {
            snprintf(d, sizeof d, "%.*f", p, v);
            if (strtod(d, NULL) == v && strlen(d) < 32) {
                strcpy(buf, d);
                return;
            }
        }
    }
}

static void num(FILE *fp, double v)
{
    char b[32];
    tal_json_double(b, v);
    fputs(b, fp);
}

void tal_json_string(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':  fputs("\\\"", fp); break;
        case '\\': fputs("\\\\", fp); break;
        case '\n': fputs("\\n", fp); break;
        case '\r': fputs("\\r", fp); break;
        case '\t': fputs("\\t", fp); break;
        default:
            if (*p < 0x20)
                fprintf(fp, "\\u%04x", *p);
            else
                fputc(*p, fp);
        }
    }
    fputc('"', fp);
}

static void label(FILE *fp, const tal_header *h, int32_t cls)
{
    fputs("\"label\":", fp);
    if (cls >= 0 && (uint32_t)cls < h->classes.n)
        tal_json_string(fp, h->classes.names[cls]);
    else
        fputs("null", fp);
    fprintf(fp, ",\"class\":%d", cls);
}

static void segments(FILE *fp, const char *key, const tal_segset *s, const tal_header *h, int with_score)
{
    fprintf(fp, ",\"%s\":[", key);
    for (uint32_t i = 0; i < s->n; i++) {
        const tal_segment *g = &s->v[i];
        fputs(i ? ",{\"start\":" : "{\"start\":", fp);
        num(fp, g->start);
        fputs(",\"end\":", fp);
        num(fp, g->end);
        fputc(',', fp);
        label(fp, h, g->cls);
        if (with_score || g->score != 1.0) {
            fputs(",\"score\":", fp);
            num(fp, g->score);
        }
        if (g->flags & TAL_SEG_AMBIGUOUS)
            fputs(",\"ambiguous\":true", fp);
        if (g->flags & TAL_SEG_PSEUDO)
            fputs(",\"pseudo\":true", fp);
        if (g->flags & TAL_SEG_CANDIDATE)
            fputs(",\"candidate\":true", fp);
        for (int q = 0; q < TAL_Q_COUNT; q++)
            if (s->qmask & (1u << q)) {
                fprintf(fp, ",\"%s\":", tal_q_name(q));
                num(fp, g->q[q]);
            }
        fputc('}', fp);
    }
    fputc(']', fp);
}

static void matrix(FILE *fp, const char *key, const float *v, uint32_t T, uint32_t D)
{
    fprintf(fp, ",\"%s\":[", key);
    for (uint32_t t = 0; t < T; t++) {
        fputs(t ? ",[" : "[", fp);
        for (uint32_t d = 0; d < D; d++) {
            if (d)
                fputc(',', fp);
            num(fp, (double)v[(size_t)t * D + d]);
        }
        fputc(']', fp);
    }
    fputc(']', fp);
}

void tal_json_record(FILE *fp, const tal_record *r, const tal_header *h, int flags)
{
    fputs("{\"id\":", fp);
    tal_json_string(fp, r->id);
    fputs(",\"subset\":", fp);
    tal_json_string(fp, r->subset ? r->subset : "");
    fprintf(fp, ",\"role\":\"%s\",\"supervision\":\"%s\",\"duration\":", tal_role_name(r->role),
            tal_supervision_name(r->supervision));
    num(fp, r->duration);
    fputs(",\"fps\":", fp);
    num(fp, tal_record_fps(r, h));
    if (r->stride > 0 || r->clip > 0) {   /* the record's own grid (1.3) */
        tal_grid g = tal_record_grid(r, h);
        fputs(",\"stride\":", fp);
        num(fp, g.stride);
        fputs(",\"clip\":", fp);
        num(fp, g.clip);
    }
    if (r->T)
        fprintf(fp, ",\"T\":%u,\"D\":%u", r->T, r->D);
    if (r->present & TAL_HAS_SEGMENTS)
        segments(fp, "segments", &r->segs, h, 0);
    if (r->present & TAL_HAS_DETECTIONS)
        segments(fp, "detections", &r->dets, h, 1);
    if (r->present & TAL_HAS_POINTS) {
        fputs(",\"points\":[", fp);
        for (uint32_t i = 0; i < r->npoints; i++) {
            fputs(i ? ",{\"time\":" : "{\"time\":", fp);
            num(fp, r->points[i].time);
            fputc(',', fp);
            label(fp, h, r->points[i].cls);
            if (r->points[i].weight != 1.0f) {
                fputs(",\"weight\":", fp);
                num(fp, r->points[i].weight);
            }
            fputc('}', fp);
        }
        fputc(']', fp);
    }
    if (r->present & TAL_HAS_LABELS) {
        fputs(",\"labels\":[", fp);
        for (uint32_t i = 0; i < r->nlabels; i++) {
            fputs(i ? ",{" : "{", fp);
            label(fp, h, r->labels[i].cls);
            if (r->labels[i].score != 1.0f) {
                fputs(",\"score\":", fp);
                num(fp, r->labels[i].score);
            }
            fputc('}', fp);
        }
        fputc(']', fp);
    }
    if (r->dist_T)
        fprintf(fp, ",\"dist_T\":%u,\"dist_K\":%u", r->dist_T, r->dist_K);
    if (r->present & TAL_HAS_TIMEMAP) {
        /* where the snippets lie in the sequence's time (lblext) */
        fputs(",\"timemap\":[", fp);
        for (uint32_t i = 0; i < r->ntimemap; i++) {
            if (i)
                fputc(',', fp);
            num(fp, r->timemap[i]);
        }
        fputc(']', fp);
    }
    if (r->nprov) {
        fputs(",\"provenance\":{", fp);
        for (uint32_t i = 0; i < r->nprov; i++) {
            if (i)
                fputc(',', fp);
            tal_json_string(fp, r->prov[i].key);
            fputc(':', fp);
            tal_json_string(fp, r->prov[i].value);
        }
        fputc('}', fp);
    }
    if ((flags & TAL_JSONL_FEATURES) && (r->present & TAL_HAS_FEATURES))
        matrix(fp, "features", r->feat, r->T, r->D);
    if ((flags & TAL_JSONL_DIST) && (r->present & TAL_HAS_DIST))
        matrix(fp, "dist", r->dist, r->dist_T, r->dist_K);
    fputc('}', fp);
}
