/* featpack — pack per-sequence features and annotations into a talcore stream.
 *
 * Annotations from any number of sources are joined by sequence id, then
 * filtered (subset, id list), then written in id order, each record with
 * its features read from DIR/<id>.npy (or a numeric text table) when
 * --features is given.  One sequence's features are in memory at a time.
 *
 * Time series (sensor logs): a sequence may be several tables joined
 * column-wise (--parts), with magnitude channels added (--magnitude) and
 * a sliding window turning samples into snippet statistics (--window,
 * --hop; data/series.h).  Labels then come from a segment table in
 * samples (--segment-table; io/anno_table.h).
 *
 * The time grid (fps, stride, clip) places snippets in seconds.  Each
 * sequence's features are checked against its annotated duration
 * (data/gridfit.h): a grid that does not fit is named with the stride
 * that would, as a warning or, with --strict, an error.  --stride auto
 * gives each sequence its own stride from its duration (features at a
 * fixed length per video), --resize N resamples them to N snippets
 * (data/resize.h); both store the record's own grid (stream 1.3).
 */
#include "common/cli.h"
#include "data/annoset.h"
#include "data/gridfit.h"
#include "data/resize.h"
#include "data/select.h"
#include "io/anno.h"
#include "io/anno_table.h"
#include "data/series.h"
#include "io/npy.h"
#include "io/npz.h"
#include "io/numtable.h"
#include "util/strmap.h"
#include "util/text.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static int usage(FILE *fp, int status)
{
    fprintf(fp,
"Usage: featpack [options] [-o OUT]\n"
"Pack annotations and per-sequence features into a talcore stream (man featpack).\n"
"\n"
"Annotations (any number; joined by sequence id):\n"
"  -a, --annotations FILE  ActivityNet/ActionFormer/LACP/BSN JSON, or detection results\n"
"      --th14 DIR          THUMOS14 official folder (<Class>_<subset>.txt, Ambiguous)\n"
"  -p, --points FILE       point labels: LACP/HR-Pro CSV or SF-Net single-frame text\n"
"      --video-info FILE   fps, duration, subset per video (JSON or CSV)\n"
"  -c, --classes FILE      class list, \"name\" or \"id name\" per line: fixes the order\n"
"      --ignore-unknown-classes  drop labels missing from --classes (default: error)\n"
"  -s, --subset LIST       keep these subsets (comma-separated; case-insensitive)\n"
"      --ids FILE          keep these sequence ids (one per line)\n"
"Features:\n"
"  -F, --features DIR      one file per sequence: DIR/<id>.<ext>\n"
"      --feature-ext EXT   npy (default), npz (one array), or csv, txt, csv.gz, txt.gz\n"
"                          (numeric table)\n"
"      --skip-missing      leave out sequences without a feature file (default: error)\n"
"Time series (one row per sample; man featpack, TIME SERIES):\n"
"      --parts LIST        file names per sequence, {} = id, joined column-wise in\n"
"                          order (e.g. 'acc_{},gyro_{}') [{}]\n"
"      --sample-rate HZ    samples per second (the same as --fps)\n"
"      --window N          snippet = N samples: per channel mean, sd, min, max,\n"
"                          energy, mean absolute difference (grid: clip N, stride hop)\n"
"      --hop N             samples between snippets [the window]\n"
"      --magnitude LIST    add the norm of these column ranges, e.g. 1-3,4-6\n"
"      --segment-table FILE  segments in samples, one per line (HAPT labels.txt)\n"
"      --table-id TMPL     sequence id from columns: {N}, {N:0W} [{1}]\n"
"      --table-columns S,E,C  columns of start sample, end sample, class [2,3,4]\n"
"Time grid (snippet t spans frames [t*stride, t*stride+clip) at fps; man featpack, TIME GRID):\n"
"      --grid NAME         a known layout: thumos-i3d (30 fps, stride 4, clip 16),\n"
"                          anet-tsp (15 fps, stride 16, clip 16), anet-tsp-192 (the\n"
"                          same resized to 192), fixed (one stride per sequence from\n"
"                          its duration), fixed:N (resized to N, then the same)\n"
"      --fps F             frame rate of every sequence (default: from the annotations)\n"
"      --stride N|auto     feature stride in frames [1]; auto: duration*fps/snippets,\n"
"                          per sequence\n"
"      --clip N            frames per snippet [the stride]\n"
"      --resize N          resample each sequence's features to N snippets (linear)\n"
"      --strict            features that do not fit the duration are an error, not a\n"
"                          warning\n"
"Output:\n"
"      --role ROLE         train or test for every record (default: test if the\n"
"                          subset name is test/testing, else train)\n"
"      --supervision KIND  full, point, video or none (default: what the labels are)\n"
"      --dtype TYPE        store features as f32 (default) or f16\n"
"  -l, --level N           deflate level 0-9 [0: stored]\n"
"  -o, --output FILE       output stream [-: standard output]\n"
"  -f, --force             write a binary stream to a terminal\n"
);
    cli_usage_footer(fp, 26);
    return status;
}

enum {
    OPT_TH14 = 256, OPT_VIDEO_INFO, OPT_IGNORE_UNKNOWN, OPT_IDS, OPT_EXT, OPT_SKIP_MISSING, OPT_FPS,
    OPT_STRIDE, OPT_CLIP, OPT_ROLE, OPT_SUPERVISION, OPT_DTYPE, OPT_VERSION,
    OPT_PARTS, OPT_SAMPLE_RATE, OPT_WINDOW, OPT_HOP, OPT_MAGNITUDE, OPT_SEGTABLE, OPT_TABLE_ID, OPT_TABLE_COLS,
    OPT_GRID, OPT_RESIZE, OPT_STRICT,
};

#define MAX_PARTS 16
#define MAX_MAG 64

typedef struct {
    const char **json, **th14, **points, **vinfo;
    int njson, nth14, npoints, nvinfo;
    const char *classes, *subsets, *ids, *features, *ext, *output;
    int ignore_unknown, skip_missing, role, supervision, dtype, level, force;
    double fps, stride, clip;
    int stride_auto, strict;   /* --stride auto, --strict */
    long resize;               /* --resize N; 0: keep the features' length */
    const char *grid;          /* --grid NAME, for the header's META */
    /* time series */
    char *parts[MAX_PARTS];
    int nparts;
    long window, hop;
    tal_chan_range mag[MAX_MAG];
    uint32_t nmag;
    const char *segtable, *table_id;
    int tcols[3];
    char *parts_buf;   /* what parts[] point into */
} options;

static void options_free(options *o)
{
    free(o->json);
    free(o->th14);
    free(o->points);
    free(o->vinfo);
    free(o->parts_buf);
}

/* Leave main: release the option lists first. */
static int done(options *o, int status)
{
    options_free(o);
    return status;
}

static int push(const char ***v, int *n, const char *s)
{
    const char **p = realloc(*v, (size_t)(*n + 1) * sizeof *p);
    if (!p)
        return -1;
    *v = p;
    p[(*n)++] = s;
    return 0;
}

/* ---- filtering ---------------------------------------------------------- */

static int keep_record(const tal_record *r, void *ctx) { return tal_select_match(ctx, r); }

static int add_record(void *ctx, const char *id, long lineno)
{
    (void)lineno;
    return tal_annoset_get(ctx, id) ? 0 : TAL_ENOMEM;
}

/* Without annotations: one record per feature file in the folder, the
 * id being what stands for {} in the (first) part's name. */
static int ids_from_folder(const char *dir, const char *tmpl, const char *ext, tal_annoset *a)
{
    DIR *d = opendir(dir);
    if (!d)
        return tal_err(TAL_EIO, "cannot open '%s': %s", dir, strerror(errno));
    const char *brace = strstr(tmpl, "{}");
    size_t pl = (size_t)(brace - tmpl), sl = strlen(brace + 2), el = strlen(ext);
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) && !rc) {
        const char *nm = e->d_name;
        size_t k = strlen(nm);
        if (k <= pl + sl + el + 1 || strncmp(nm, tmpl, pl) || nm[k - el - 1] != '.' || strcmp(nm + k - el, ext) ||
            strncmp(nm + k - el - 1 - sl, brace + 2, sl))
            continue;
        char *id = tal_strndup(nm + pl, k - el - 1 - sl - pl);
        if (!id || !tal_annoset_get(a, id))
            rc = TAL_ENOMEM;
        free(id);
    }
    closedir(d);
    if (!rc && !a->n)
        rc = tal_err(TAL_EINVAL, "no '%.*s*%s.%s' feature files in '%s'", (int)pl, tmpl, brace + 2, ext, dir);
    return rc;
}

/* ---- per record ------------------------------------------------------------ */

static int role_from_subset(const char *subset)
{
    if (!*subset)
        return TAL_ROLE_UNSET;
    if (!strcasecmp(subset, "test") || !strcasecmp(subset, "testing"))
        return TAL_ROLE_TEST;
    return TAL_ROLE_TRAIN;
}

/* DIR/<template with {} replaced by id>.<ext>; NULL when out of memory. */
static char *part_path(const options *o, const char *tmpl, const char *id)
{
    const char *brace = strstr(tmpl, "{}");
    size_t pl = (size_t)(brace - tmpl);
    size_t n = strlen(o->features) + strlen(tmpl) + strlen(id) + strlen(o->ext) + 3;
    char *path = malloc(n);
    if (path)
        snprintf(path, n, "%s/%.*s%s%s.%s", o->features, (int)pl, tmpl, id, brace + 2, o->ext);
    else
        tal_err(TAL_ENOMEM, "out of memory");
    return path;
}

static int read_table(const options *o, const char *path, float **data, size_t *cap, uint32_t *rows, uint32_t *cols)
{
    if (!strcmp(o->ext, "npy"))
        return tal_npy_read(path, data, cap, rows, cols);
    if (!strcmp(o->ext, "npz"))
        return tal_npz_read(path, data, cap, rows, cols);
    return tal_numtable_read(path, data, cap, rows, cols);
}

/* Buffers reused from one sequence to the next. */
typedef struct {
    float *part[MAX_PARTS];
    size_t part_cap[MAX_PARTS];
    uint32_t rows[MAX_PARTS], cols[MAX_PARTS];
    float *join, *mag;
    size_t join_cap, mag_cap;
    uint32_t channels;      /* of the first sequence: for the layout note */
} scratch;

static void scratch_free(scratch *s)
{
    for (int i = 0; i < MAX_PARTS; i++)
        free(s->part[i]);
    free(s->join);
    free(s->mag);
}

/* Is plain reading enough: one file, no magnitude, no window? */
static int plain_features(const options *o)
{
    return o->nparts <= 1 && !strcmp(o->parts[0], "{}") && !o->nmag && !o->window;
}

/* Read the record's features.  *samples is the number of rows (samples)
 * before windowing. */
static int load_features(const options *o, tal_record *r, int *missing, scratch *sc, uint64_t *samples)
{
    *missing = 0;
    int rc = 0;
    tal_buf prov = { 0 };
    uint64_t N = 0;
    uint32_t C = 0;
    for (int p = 0; p < o->nparts && !rc; p++) {
        char *path = part_path(o, o->parts[p], r->id);
        if (!path)
            return TAL_ENOMEM;
        struct stat st;
        if (stat(path, &st)) {
            if (p == 0) {
                *missing = 1;
                rc = o->skip_missing ? 0 : tal_err(TAL_EIO, "cannot open '%s': %s (use --skip-missing to leave it out)",
                                                   path, strerror(errno));
            } else {
                rc = tal_err(TAL_EIO, "cannot open '%s': %s (part %d of sequence '%s')", path, strerror(errno), p + 1,
                             r->id);
            }
            free(path);
            break;
        }
        if (plain_features(o)) {
            uint32_t T, D;
            if (!(rc = read_table(o, path, &r->feat, &r->feat_cap, &T, &D))) {
                r->T = T;
                r->D = D;
                N = T;
            }
        } else if (!(rc = read_table(o, path, &sc->part[p], &sc->part_cap[p], &sc->rows[p], &sc->cols[p]))) {
            if (p == 0) {
                N = sc->rows[0];
            } else if (sc->rows[p] != N) {
                rc = tal_err(TAL_EINVAL, "parts of '%s' differ in length: '%s' has %u rows, the first part %lu", r->id,
                             path, sc->rows[p], (unsigned long)N);
            }
            C += sc->cols[p];
        }
        if (!rc && ((p && tal_buf_append(&prov, " + ", 3)) || tal_buf_append(&prov, path, strlen(path))))
            rc = TAL_ENOMEM;
        free(path);
    }
    if (!rc && tal_buf_append(&prov, "", 1))
        rc = TAL_ENOMEM;
    if (rc || *missing)
        goto out;
    *samples = N;
    if (!plain_features(o)) {
        /* join column-wise */
        float *x;
        size_t n;
        if (o->nparts == 1) {
            x = sc->part[0];
        } else {
            if (tal_mul_size(N, C, &n) || n > TAL_MAX_ELEMENTS) {
                rc = tal_err(TAL_EINVAL, "features of '%s' are too large", r->id);
                goto out;
            }
            if ((rc = tal_floats_reserve(&sc->join, &sc->join_cap, n)))
                goto out;
            uint32_t at = 0;
            for (int p = 0; p < o->nparts; p++) {
                for (uint64_t i = 0; i < N; i++)
                    memcpy(sc->join + i * C + at, sc->part[p] + i * sc->cols[p], sc->cols[p] * sizeof(float));
                at += sc->cols[p];
            }
            x = sc->join;
        }
        if (o->nmag) {
            if (tal_mul_size(N, (size_t)C + o->nmag, &n) || (rc = tal_floats_reserve(&sc->mag, &sc->mag_cap, n)))
                goto out;
            if ((rc = tal_series_magnitude(sc->mag, x, N, C, o->mag, o->nmag))) {
                rc = tal_err_wrap(rc, "--magnitude on '%s' (%u columns)", r->id, C);
                goto out;
            }
            x = sc->mag;
            C += o->nmag;
        }
        if ((uint64_t)C * (o->window ? TAL_SERIES_NSTATS : 1) > TAL_MAX_D) {
            rc = tal_err(TAL_EINVAL, "features of '%s' would have over %u channels", r->id, TAL_MAX_D);
            goto out;
        }
        if (o->window) {
            uint32_t T = tal_series_nsnippets(N, (uint32_t)o->window, (uint32_t)o->hop);
            if (!T) {
                rc = tal_err(TAL_EINVAL, "'%s' has %lu samples, fewer than one window (%ld)", r->id, (unsigned long)N,
                             o->window);
                goto out;
            }
            uint32_t D = C * TAL_SERIES_NSTATS;
            if ((rc = tal_record_alloc_features(r, T, D)))
                goto out;
            tal_series_window(r->feat, x, N, C, (uint32_t)o->window, (uint32_t)o->hop);
        } else {
            if ((rc = tal_record_alloc_features(r, (uint32_t)N, C)))
                goto out;
            memcpy(r->feat, x, (size_t)N * C * sizeof(float));
        }
        sc->channels = C;
    }
    r->feat_dtype = TAL_DTYPE_F32;
    r->present |= TAL_HAS_FEATURES;
    rc = tal_record_set_prov(r, "features", (const char *)prov.data);
out:
    tal_buf_free(&prov);
    return rc;
}

/* A note in the header on what the feature channels are. */
static int layout_meta(tal_header *h, const options *o, const scratch *sc)
{
    if (!o->window && !o->nmag && o->nparts <= 1)
        return 0;
    tal_buf b = { 0 };
    int rc = 0;
    uint32_t at = 1;
    if (o->window)
        rc |= tal_buf_printf(&b, "window %ld samples, hop %ld; per channel mean sd min max energy mad; ", o->window,
                             o->hop);
    rc |= tal_buf_printf(&b, "channels");
    for (int p = 0; p < o->nparts; p++) {
        rc |= tal_buf_printf(&b, "%s %u-%u %s", p ? "," : "", at, at + sc->cols[p] - 1, o->parts[p]);
        at += sc->cols[p];
    }
    for (uint32_t k = 0; k < o->nmag; k++)
        rc |= tal_buf_printf(&b, ", %u |%u-%u|", at++, o->mag[k].first + 1, o->mag[k].first + o->mag[k].count);
    if (!rc)
        rc = tal_buf_append(&b, "", 1);
    if (!rc)
        rc = tal_header_set_meta(h, "feature_layout", (const char *)b.data);
    tal_buf_free(&b);
    return rc ? TAL_ENOMEM : 0;
}

/* "4,5,3" -> three column numbers */
static int parse_columns(const char *s, int *cols)
{
    int n = 0;
    const char *p = s;
    while (n < 3) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 64 || *p == '+' || *p == '-')
            return -1;
        cols[n++] = (int)v;
        if (*end == 0)
            break;
        if (*end != ',')
            return -1;
        p = end + 1;
    }
    return n == 3 && p[strspn(p, "0123456789")] == 0 ? 0 : -1;
}

/* "1-3,4-6,7" -> 1-based inclusive ranges */
static int parse_ranges(const char *s, options *o)
{
    const char *p = s;
    for (;;) {
        char *end;
        long a = strtol(p, &end, 10), b;
        if (end == p || a < 1 || a > 1 << 20 || *p == '+' || *p == '-')
            return -1;
        b = a;
        if (*end == '-') {
            p = end + 1;
            b = strtol(p, &end, 10);
            if (end == p || b < a || b > 1 << 20 || *p == '+' || *p == '-')
                return -1;
        }
        if (o->nmag >= MAX_MAG)
            return -1;
        o->mag[o->nmag++] = (tal_chan_range){ (uint32_t)a - 1, (uint32_t)(b - a + 1) };
        if (!*end)
            return 0;
        if (*end != ',')
            return -1;
        p = end + 1;
    }
}

/* "acc_{},gyro_{}" -> templates, each with one {} */
static int parse_parts(char *s, options *o)
{
    o->nparts = 0;
    for (char *save = NULL, *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        const char *b = strstr(t, "{}");
        if (!b || strstr(b + 2, "{}") || o->nparts >= MAX_PARTS)
            return -1;
        o->parts[o->nparts++] = t;
    }
    return o->nparts ? 0 : -1;
}

/* ---- time grid ---------------------------------------------------------------- */

/* The layouts feature releases ship in (man featpack, TIME GRID, says
 * where each comes from).  Options given explicitly win over a preset. */
typedef struct {
    const char *name;
    double fps, stride, clip;   /* 0: not set by the preset */
    long resize;
    int stride_auto;
} grid_preset;

static const grid_preset grid_presets[] = {
    { "thumos-i3d", 30, 4, 16, 0, 0 },     /* ActionFormer's THUMOS14 I3D release */
    { "anet-tsp", 15, 16, 16, 0, 0 },      /* ActionFormer's ActivityNet TSP release */
    { "anet-tsp-192", 15, 16, 16, 192, 0 },/* ... resized to 192 (force_upsampling) */
    { "fixed", 0, 0, 0, 0, 1 },            /* BMN/G-TAD: a fixed length per video */
};

/* "fixed:100" or a name from grid_presets; -1 if unknown. */
static int parse_grid(const char *s, grid_preset *out)
{
    if (!strncmp(s, "fixed:", 6)) {
        char *end;
        long n = strtol(s + 6, &end, 10);
        if (end == s + 6 || *end || n < 1 || n > (long)TAL_MAX_T || s[6] == '+' || s[6] == '-')
            return -1;
        *out = (grid_preset){ s, 0, 0, 0, n, 1 };
        return 0;
    }
    for (size_t i = 0; i < sizeof grid_presets / sizeof *grid_presets; i++)
        if (!strcmp(s, grid_presets[i].name)) {
            *out = grid_presets[i];
            return 0;
        }
    return -1;
}

/* Resample the record's features to n snippets; the time they span stays
 * (ActionFormer's force_upsampling): the new stride is that span / n. */
static int resize_features(tal_record *r, uint32_t n, scratch *sc)
{
    size_t want;
    if (tal_mul_size(n, r->D, &want) || want > TAL_MAX_ELEMENTS)
        return tal_err(TAL_EINVAL, "features of '%s' resized to %u snippets would be too large", r->id, n);
    int rc = tal_floats_reserve(&sc->join, &sc->join_cap, want);
    if (rc)
        return rc;
    tal_features_resize(sc->join, n, r->feat, r->T, r->D);
    uint32_t D = r->D;
    if ((rc = tal_record_alloc_features(r, n, D)))
        return rc;
    memcpy(r->feat, sc->join, want * sizeof(float));
    return 0;
}

/* Give the record its own grid (--stride auto, --resize) or check it
 * against the stream's.  T0: snippets before any resize.  Returns 0, or
 * an error under --strict; counts sequences that do not fit. */
static int place_on_grid(const options *o, tal_record *r, const tal_header *h, uint32_t T0, scratch *sc,
                         long *misfits)
{
    tal_grid g = tal_record_grid(r, h);
    int rc;
    if (o->stride_auto) {
        if (!(r->duration > 0))
            return tal_err(TAL_EINVAL, "--stride auto needs the duration of '%s': its annotations have none "
                           "(give --video-info, or a fixed --stride)", r->id);
        if (o->resize && (rc = resize_features(r, (uint32_t)o->resize, sc)))
            return rc;
        if (!(g.fps > 0)) {   /* no frame rate known: count in snippets */
            r->fps = r->T / r->duration;
            g.fps = r->fps;
        }
        r->stride = r->clip = r->duration * g.fps / r->T;
        return 0;
    }
    if (!(g.fps > 0)) {
        if (!(r->present & TAL_HAS_FEATURES))
            return 0;
        if (o->strict)
            return tal_err(TAL_EINVAL, "'%s' has no frame rate: its snippets cannot be placed in time "
                           "(give --fps or --grid)", r->id);
        if (!(*misfits)++)
            tal_warn_wrong("'%s' has no frame rate: its snippets cannot be placed in time (give --fps or --grid)", r->id);
        return 0;
    }
    tal_gridfit f;
    if (tal_grid_check(&g, T0, r->duration, &f) == 0) {
        char what[320];
        tal_gridfit_describe(what, sizeof what, &g, T0, &f);
        if (o->strict)
            return tal_err(TAL_EINVAL, "'%s': %s (--stride %.4g, or --stride auto)", r->id, what, f.fit_stride);
        if ((*misfits)++ < 3)
            tal_warn_wrong("'%s': %s (--stride %.4g, or --stride auto; --strict makes this an error)", r->id, what,
                     f.fit_stride);
    }
    if (o->resize) {
        double span = (T0 - 1) * g.stride + g.clip;
        if ((rc = resize_features(r, (uint32_t)o->resize, sc)))
            return rc;
        r->stride = r->clip = span / r->T;
    }
    return 0;
}

int main(int argc, char **argv)
{
    cli_init("featpack", argc, argv);
    static const struct option longopts[] = {
        { "annotations", required_argument, 0, 'a' },
        { "th14", required_argument, 0, OPT_TH14 },
        { "points", required_argument, 0, 'p' },
        { "video-info", required_argument, 0, OPT_VIDEO_INFO },
        { "classes", required_argument, 0, 'c' },
        { "ignore-unknown-classes", no_argument, 0, OPT_IGNORE_UNKNOWN },
        { "subset", required_argument, 0, 's' },
        { "ids", required_argument, 0, OPT_IDS },
        { "features", required_argument, 0, 'F' },
        { "feature-ext", required_argument, 0, OPT_EXT },
        { "skip-missing", no_argument, 0, OPT_SKIP_MISSING },
        { "fps", required_argument, 0, OPT_FPS },
        { "stride", required_argument, 0, OPT_STRIDE },
        { "clip", required_argument, 0, OPT_CLIP },
        { "role", required_argument, 0, OPT_ROLE },
        { "supervision", required_argument, 0, OPT_SUPERVISION },
        { "dtype", required_argument, 0, OPT_DTYPE },
        { "level", required_argument, 0, 'l' },
        { "output", required_argument, 0, 'o' },
        { "force", no_argument, 0, 'f' },
        { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' },
        { "version", no_argument, 0, OPT_VERSION },
        { "parts", required_argument, 0, OPT_PARTS },
        { "sample-rate", required_argument, 0, OPT_SAMPLE_RATE },
        { "window", required_argument, 0, OPT_WINDOW },
        { "hop", required_argument, 0, OPT_HOP },
        { "magnitude", required_argument, 0, OPT_MAGNITUDE },
        { "segment-table", required_argument, 0, OPT_SEGTABLE },
        { "table-id", required_argument, 0, OPT_TABLE_ID },
        { "table-columns", required_argument, 0, OPT_TABLE_COLS },
        { "grid", required_argument, 0, OPT_GRID },
        { "resize", required_argument, 0, OPT_RESIZE },
        { "strict", no_argument, 0, OPT_STRICT },
        { 0, 0, 0, 0 },
    };
    options o = { .ext = "npy", .output = "-", .role = -1, .supervision = -1, .stride = 1,
                  .parts = { "{}" }, .nparts = 1, .tcols = { 2, 3, 4 } };
    int c, grid_given = 0, fps_given = 0, stride_given = 0, clip_given = 0, resize_given = 0;
    grid_preset preset = { 0 };
    long lv;
    while ((c = getopt_long(argc, argv, "a:p:c:s:F:l:o:fqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'a': if (push(&o.json, &o.njson, optarg)) return done(&o, cli_error("out of memory")); break;
        case OPT_TH14: if (push(&o.th14, &o.nth14, optarg)) return done(&o, cli_error("out of memory")); break;
        case 'p': if (push(&o.points, &o.npoints, optarg)) return done(&o, cli_error("out of memory")); break;
        case OPT_VIDEO_INFO: if (push(&o.vinfo, &o.nvinfo, optarg)) return done(&o, cli_error("out of memory")); break;
        case 'c': o.classes = optarg; break;
        case OPT_IGNORE_UNKNOWN: o.ignore_unknown = 1; break;
        case 's': o.subsets = optarg; break;
        case OPT_IDS: o.ids = optarg; break;
        case 'F': o.features = optarg; break;
        case OPT_EXT: o.ext = optarg; break;
        case OPT_SKIP_MISSING: o.skip_missing = 1; break;
        case OPT_FPS: if (cli_double("--fps", optarg, 1e-6, 1e9, &o.fps)) return done(&o, 2); fps_given = 1; break;
        case OPT_SAMPLE_RATE: if (cli_double("--sample-rate", optarg, 1e-6, 1e9, &o.fps)) return done(&o, 2); fps_given = 1; break;
        case OPT_STRIDE:
            if (!strcmp(optarg, "auto"))
                o.stride_auto = 1, o.stride = 1;
            else if (cli_double("--stride", optarg, 1e-6, 1e9, &o.stride))
                return done(&o, 2);
            else
                o.stride_auto = 0;
            grid_given = stride_given = 1;
            break;
        case OPT_CLIP: if (cli_double("--clip", optarg, 1e-6, 1e9, &o.clip)) return done(&o, 2); grid_given = clip_given = 1; break;
        case OPT_GRID:
            if (parse_grid(optarg, &preset))
                return done(&o, cli_usage_error("unknown --grid '%s' (thumos-i3d, anet-tsp, anet-tsp-192, fixed or "
                                                "fixed:N)", optarg));
            o.grid = optarg;
            grid_given = 1;
            break;
        case OPT_RESIZE:
            if (cli_int("--resize", optarg, 1, (long)TAL_MAX_T, &o.resize))
                return done(&o, 2);
            grid_given = resize_given = 1;
            break;
        case OPT_STRICT: o.strict = 1; break;
        case OPT_PARTS:
            free(o.parts_buf);
            if (!(o.parts_buf = strdup(optarg)))
                return done(&o, cli_error("out of memory"));
            if (parse_parts(o.parts_buf, &o))
                return done(&o, cli_usage_error("invalid --parts '%s' (comma-separated file names, each with one "
                                                "{} for the sequence id, at most %d)", optarg, MAX_PARTS));
            break;
        case OPT_WINDOW: if (cli_int("--window", optarg, 1, 1 << 24, &o.window)) return done(&o, 2); break;
        case OPT_HOP: if (cli_int("--hop", optarg, 1, 1 << 24, &o.hop)) return done(&o, 2); break;
        case OPT_MAGNITUDE:
            if (parse_ranges(optarg, &o))
                return done(&o, cli_usage_error("invalid --magnitude '%s' (column ranges such as 1-3,4-6)", optarg));
            break;
        case OPT_SEGTABLE: o.segtable = optarg; break;
        case OPT_TABLE_ID:
            if (tal_segtable_check_template(optarg))
                return done(&o, cli_usage_error("invalid --table-id: %s", tal_errmsg()));
            o.table_id = optarg;
            break;
        case OPT_TABLE_COLS:
            if (parse_columns(optarg, o.tcols))
                return done(&o, cli_usage_error("invalid --table-columns '%s' (START,END,CLASS column numbers, "
                                                "1-64)", optarg));
            break;
        case OPT_ROLE:
            if ((o.role = tal_role_parse(optarg)) < 0 || o.role == TAL_ROLE_UNSET)
                return done(&o, cli_usage_error("invalid --role '%s' (train or test)", optarg));
            break;
        case OPT_SUPERVISION:
            if ((o.supervision = tal_supervision_parse(optarg)) < 0)
                return done(&o, cli_usage_error("invalid --supervision '%s' (full, point, video or none)", optarg));
            break;
        case OPT_DTYPE:
            if ((o.dtype = tal_dtype_parse(optarg)) < 0)
                return done(&o, cli_usage_error("invalid --dtype '%s' (f32 or f16)", optarg));
            break;
        case 'l': if (cli_int("--level", optarg, 0, 9, &lv)) return done(&o, 2); o.level = (int)lv; break;
        case 'o': o.output = optarg; break;
        case 'f': o.force = 1; break;
        case 'q': tal_set_quiet(1); break;
        case 'h': return done(&o, usage(stdout, 0) || cli_close_stdout());
        case OPT_VERSION: return done(&o, cli_version());
        default: return done(&o, usage(stderr, 2));
        }
    }
    if (optind < argc)
        return done(&o, cli_usage_error("unexpected argument '%s' (inputs are given with options)", argv[optind]));
    if (o.hop && !o.window)
        return done(&o, cli_usage_error("--hop needs --window"));
    if (o.grid) {   /* what the preset sets, unless given explicitly */
        if (!fps_given && preset.fps > 0)
            o.fps = preset.fps;
        if (!stride_given && preset.stride > 0)
            o.stride = preset.stride;
        if (!stride_given && preset.stride_auto)
            o.stride_auto = 1;
        if (!clip_given && preset.clip > 0)
            o.clip = preset.clip;
        if (!resize_given && preset.resize)
            o.resize = preset.resize;
    }
    if (o.stride_auto && clip_given)
        return done(&o, cli_usage_error("--stride auto (or --grid fixed) sets the clip to the stride: do not give --clip with it"));
    if (o.resize && !o.features)
        return done(&o, cli_usage_error("--resize needs --features DIR"));
    if (o.window) {
        if (grid_given)
            return done(&o, cli_usage_error("--window sets the time grid: do not give --stride, --clip, --grid or "
                                            "--resize with it"));
        if (!o.hop)
            o.hop = o.window;
        o.stride = (double)o.hop;
        o.clip = (double)o.window;
        if (!(o.fps > 0))
            return done(&o, cli_usage_error("--window needs the sample rate (--sample-rate or --fps)"));
    }
    if ((o.window || o.nmag || o.nparts > 1 || strcmp(o.parts[0], "{}")) && !o.features)
        return done(&o, cli_usage_error("--parts, --magnitude and --window need --features DIR"));
    if (o.segtable && !(o.fps > 0))
        return done(&o, cli_usage_error("--segment-table needs the sample rate (--sample-rate or --fps)"));
    if ((o.table_id || o.tcols[0] != 2 || o.tcols[1] != 3 || o.tcols[2] != 4) && !o.segtable)
        return done(&o, cli_usage_error("--table-id and --table-columns need --segment-table"));
    int nanno = o.njson + o.nth14 + o.npoints + (o.segtable != NULL);
    if (!nanno && !o.features)
        return done(&o, cli_usage_error("nothing to pack: give --annotations, --th14, --points, --segment-table or --features"));
    if (o.clip <= 0)
        o.clip = o.stride;
    if (o.ignore_unknown && !o.classes)
        return done(&o, cli_usage_error("--ignore-unknown-classes needs --classes"));
    const char *ext = o.ext;
    if (strcmp(ext, "npy") && strcmp(ext, "npz") && strcmp(ext, "csv") && strcmp(ext, "txt") && strcmp(ext, "csv.gz") &&
        strcmp(ext, "txt.gz"))
        return done(&o, cli_usage_error("invalid --feature-ext '%s' (npy, npz, csv, txt, csv.gz or txt.gz)", ext));

    /* ---- gather annotations ---- */
    tal_annoset a;
    tal_annoset_init(&a);
    tal_select f;
    tal_select_init(&f);
    tal_stream *w = NULL;
    tal_record rec;
    tal_record_init(&rec);
    int rc = 0;
    tal_anno_opts ao = { .ignore_unknown_classes = o.ignore_unknown, .fps = o.fps };
    if (o.classes) {
        if ((rc = tal_anno_read_classlist(o.classes, &a.classes)))
            goto fail;
        a.fixed_classes = 1;
    }
    for (int i = 0; i < o.njson && !rc; i++)
        rc = tal_anno_read_json(o.json[i], &a, &ao);
    for (int i = 0; i < o.nth14 && !rc; i++)
        rc = tal_anno_read_th14(o.th14[i], &a, &ao);
    if (!rc && o.segtable) {
        tal_segtable_opts so = { .id_template = o.table_id, .col_start = o.tcols[0], .col_end = o.tcols[1],
                                 .col_class = o.tcols[2], .rate = o.fps };
        rc = tal_anno_read_segtable(o.segtable, &a, &ao, &so);
    }
    if (rc)
        goto fail;
    /* video information fills in what the annotations lack */
    ao.existing_only = o.njson + o.nth14 + (o.segtable != NULL) > 0;
    for (int i = 0; i < o.nvinfo && !rc; i++)
        rc = tal_anno_read_videoinfo(o.vinfo[i], &a, &ao);
    if (rc)
        goto fail;
    if (!nanno && !o.ids && (rc = ids_from_folder(o.features, o.parts[0], o.ext, &a)))
        goto fail;
    if (o.ids && ((rc = tal_select_ids_file(&f, o.ids)) || (!nanno && (rc = tal_read_list(o.ids, add_record, &a)))))
        goto fail;
    if (o.fps > 0)
        for (uint32_t i = 0; i < a.n; i++)
            a.v[i].fps = o.fps;
    /* points come last: frame-based point files need each frame rate */
    ao.existing_only = o.njson + o.nth14 + (o.segtable != NULL) > 0;
    for (int i = 0; i < o.npoints && !rc; i++)
        rc = tal_anno_read_points(o.points[i], &a, &ao);
    if (rc)
        goto fail;
    if (o.subsets)
        rc = tal_select_subsets(&f, o.subsets);
    if (rc || (rc = tal_annoset_filter(&a, keep_record, &f)) || (rc = tal_annoset_order_classes(&a)) ||
        (rc = tal_annoset_sort(&a)))
        goto fail;
    if (!a.n) {
        rc = tal_err(TAL_EINVAL, "no sequences left to pack%s", o.subsets ? " (check --subset)" : "");
        goto fail;
    }

    /* ---- header ---- */
    tal_header h;
    tal_header_init(&h);
    if ((rc = tal_classes_copy(&h.classes, &a.classes))) {
        tal_header_free(&h);
        goto fail;
    }
    h.stride = o.stride;
    h.clip = o.clip;
    if (o.features && (o.grid || o.stride_auto || o.resize)) {   /* how the grid was chosen, for talcat --header */
        char g[128];
        int at = snprintf(g, sizeof g, "%s", o.grid ? o.grid : "");
        if (o.stride_auto)
            at += snprintf(g + at, sizeof g - (size_t)at, "%sstride auto", at ? ", " : "");
        if (o.resize)
            snprintf(g + at, sizeof g - (size_t)at, "%sresize %ld", at ? ", " : "", o.resize);
        rc = tal_header_set_meta(&h, "featpack.grid", g) ? TAL_ENOMEM : 0;
    }
    h.fps = a.v[0].fps;
    for (uint32_t i = 1; i < a.n; i++)
        if (fabs(a.v[i].fps - h.fps) > 1e-9)
            h.fps = 0;   /* frame rates differ: each record keeps its own */
    h.feat_dtype = o.dtype > 0 ? (uint8_t)o.dtype : TAL_DTYPE_F32;
    /* the feature dimension comes from the first feature file */
    if (!rc)
        rc = cli_add_prov(&h);

    tal_progress prog;
    tal_progress_start(&prog, "sequences", a.n);
    uint64_t bytes = 0;
    long skipped = 0, misfits = 0;
    scratch sc = { 0 };
    for (uint32_t i = 0; i < a.n && !rc; i++) {
        tal_record *r = &a.v[i];
        if ((rc = tal_record_copy(&rec, r)))
            break;
        if (o.features) {
            int missing = 0;
            uint64_t samples = 0;
            if ((rc = load_features(&o, &rec, &missing, &sc, &samples)))
                break;
            if (missing) {
                skipped++;
                continue;
            }
            double fps = rec.fps > 0 ? rec.fps : h.fps;
            if (rec.duration <= 0 && fps > 0 && !o.stride_auto)   /* nothing to check it against */
                rec.duration = o.window ? samples / fps : ((rec.T - 1) * h.stride + h.clip) / fps;
            if (!o.window && (rc = place_on_grid(&o, &rec, &h, rec.T, &sc, &misfits)))
                break;
            bytes += (uint64_t)rec.T * rec.D * 4;
        }
        /* segments stay in source order: the THUMOS14 kit's matching
         * depends on it, so a stream must keep it to score the same */
        tal_record_sort_points(&rec);   /* in time order, as lblext needs them */
        if (rec.present & TAL_HAS_SEGMENTS)
            rc = tal_record_labels_from_segments(&rec);
        else if (rec.present & TAL_HAS_POINTS)
            for (uint32_t k = 0; k < rec.npoints && !rc; k++)
                rc = tal_record_add_label(&rec, rec.points[k].cls, 1.0f);
        if (rc)
            break;
        if (o.supervision >= 0)
            rec.supervision = (uint8_t)o.supervision;
        rec.role = (uint8_t)(o.role >= 0 ? o.role : role_from_subset(rec.subset));
        if (!w) {
            h.feat_dim = (rec.present & TAL_HAS_FEATURES) ? rec.D : 0;
            if (o.features && !plain_features(&o) && (rc = layout_meta(&h, &o, &sc)))
                break;
            tal_write_opts wo = { .level = o.level, .force = o.force };
            if (!(w = tal_stream_create(o.output, &h, &wo))) {
                rc = tal_errcode();
                break;
            }
        }
        if ((rc = tal_record_write(w, &rec))) {
            if ((rec.present & TAL_HAS_FEATURES) && h.feat_dim && rec.D != h.feat_dim)
                rc = tal_err(TAL_EINVAL, "features of '%s' have %u channels, earlier ones %u", rec.id, rec.D, h.feat_dim);
            break;
        }
        tal_progress_update(&prog, i + 1, bytes);
    }
    tal_progress_end(&prog);
    tal_header_free(&h);
    scratch_free(&sc);
    if (rc)
        goto fail;
    if (!w) {
        rc = tal_err(TAL_EINVAL, "no sequences left to pack: every feature file is missing");
        goto fail;
    }
    if (skipped)
        tal_warn("%ld sequences without feature files were left out", skipped);
    if (misfits > 1)
        tal_warn_wrong("%ld of %lu sequences do not fit their time grid: check --fps, --stride and --clip (man featpack, "
                 "TIME GRID)", misfits, (unsigned long)(a.n - skipped));
    if ((rc = tal_stream_finish(w))) {
        w = NULL;
        goto fail;
    }
    w = NULL;
    rc = 0;
fail:
    tal_stream_abort(w);
    tal_record_free(&rec);
    tal_annoset_free(&a);
    tal_select_free(&f);
    options_free(&o);
    return rc ? cli_fail() : cli_close_stdout();
}
