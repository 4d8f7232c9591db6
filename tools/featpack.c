/* featpack — pack per-sequence features and annotations into a talcore stream.
 *
 * Annotations from any number of sources are joined by sequence id, then
 * filtered (subset, id list), then written in id order, each record with
 * its features read from DIR/<id>.npy (or a numeric text table) when
 * --features is given.  One sequence's features are in memory at a time.
 */
#include "common/cli.h"
#include "data/annoset.h"
#include "data/select.h"
#include "io/anno.h"
#include "io/npy.h"
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
"      --feature-ext EXT   npy (default), or csv, txt, csv.gz, txt.gz (numeric table)\n"
"      --skip-missing      leave out sequences without a feature file (default: error)\n"
"Time grid (snippet t spans frames [t*stride, t*stride+clip) at fps):\n"
"      --fps F             frame rate of every sequence (default: from the annotations)\n"
"      --stride N          feature stride in frames [1]\n"
"      --clip N            frames per snippet [the stride]\n"
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
};

typedef struct {
    const char **json, **th14, **points, **vinfo;
    int njson, nth14, npoints, nvinfo;
    const char *classes, *subsets, *ids, *features, *ext, *output;
    int ignore_unknown, skip_missing, role, supervision, dtype, level, force;
    double fps, stride, clip;
} options;

static void options_free(options *o)
{
    free(o->json);
    free(o->th14);
    free(o->points);
    free(o->vinfo);
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

/* Without annotations: one record per feature file in the folder. */
static int ids_from_folder(const char *dir, const char *ext, tal_annoset *a)
{
    DIR *d = opendir(dir);
    if (!d)
        return tal_err(TAL_EIO, "cannot open '%s': %s", dir, strerror(errno));
    struct dirent *e;
    size_t el = strlen(ext);
    int rc = 0;
    while ((e = readdir(d)) && !rc) {
        size_t k = strlen(e->d_name);
        if (k <= el + 1 || e->d_name[k - el - 1] != '.' || strcmp(e->d_name + k - el, ext))
            continue;
        char *id = tal_strndup(e->d_name, k - el - 1);
        if (!id || !tal_annoset_get(a, id))
            rc = TAL_ENOMEM;
        free(id);
    }
    closedir(d);
    if (!rc && !a->n)
        rc = tal_err(TAL_EINVAL, "no '*.%s' feature files in '%s'", ext, dir);
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

static int load_features(const options *o, tal_record *r, int *missing)
{
    size_t n = strlen(o->features) + strlen(r->id) + strlen(o->ext) + 3;
    char *path = malloc(n);
    *missing = 0;
    if (!path)
        return tal_err(TAL_ENOMEM, "out of memory");
    snprintf(path, n, "%s/%s.%s", o->features, r->id, o->ext);
    struct stat st;
    *missing = 0;
    if (stat(path, &st)) {
        *missing = 1;
        int rc = o->skip_missing ? 0 : tal_err(TAL_EIO, "cannot open '%s': %s (use --skip-missing to leave it out)",
                                               path, strerror(errno));
        free(path);
        return rc;
    }
    uint32_t T, D;
    int rc = !strcmp(o->ext, "npy") ? tal_npy_read(path, &r->feat, &r->feat_cap, &T, &D)
                                    : tal_numtable_read(path, &r->feat, &r->feat_cap, &T, &D);
    if (!rc) {
        r->T = T;
        r->D = D;
        r->feat_dtype = TAL_DTYPE_F32;
        r->present |= TAL_HAS_FEATURES;
        rc = tal_record_set_prov(r, "features", path);
    }
    free(path);
    return rc;
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
        { 0, 0, 0, 0 },
    };
    options o = { .ext = "npy", .output = "-", .role = -1, .supervision = -1, .stride = 1 };
    int c;
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
        case OPT_FPS: if (cli_double("--fps", optarg, 1e-6, 1e9, &o.fps)) return done(&o, 2); break;
        case OPT_STRIDE: if (cli_double("--stride", optarg, 1e-6, 1e9, &o.stride)) return done(&o, 2); break;
        case OPT_CLIP: if (cli_double("--clip", optarg, 1e-6, 1e9, &o.clip)) return done(&o, 2); break;
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
    int nanno = o.njson + o.nth14 + o.npoints;
    if (!nanno && !o.features)
        return done(&o, cli_usage_error("nothing to pack: give --annotations, --th14, --points or --features"));
    if (o.clip <= 0)
        o.clip = o.stride;
    if (o.ignore_unknown && !o.classes)
        return done(&o, cli_usage_error("--ignore-unknown-classes needs --classes"));
    const char *ext = o.ext;
    if (strcmp(ext, "npy") && strcmp(ext, "csv") && strcmp(ext, "txt") && strcmp(ext, "csv.gz") && strcmp(ext, "txt.gz"))
        return done(&o, cli_usage_error("invalid --feature-ext '%s' (npy, csv, txt, csv.gz or txt.gz)", ext));

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
    if (rc)
        goto fail;
    /* video information fills in what the annotations lack */
    ao.existing_only = o.njson + o.nth14 > 0;
    for (int i = 0; i < o.nvinfo && !rc; i++)
        rc = tal_anno_read_videoinfo(o.vinfo[i], &a, &ao);
    if (rc)
        goto fail;
    if (!nanno && !o.ids && (rc = ids_from_folder(o.features, o.ext, &a)))
        goto fail;
    if (o.ids && ((rc = tal_select_ids_file(&f, o.ids)) || (!nanno && (rc = tal_read_list(o.ids, add_record, &a)))))
        goto fail;
    if (o.fps > 0)
        for (uint32_t i = 0; i < a.n; i++)
            a.v[i].fps = o.fps;
    /* points come last: frame-based point files need each frame rate */
    ao.existing_only = o.njson + o.nth14 > 0;
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
    h.fps = a.v[0].fps;
    for (uint32_t i = 1; i < a.n; i++)
        if (fabs(a.v[i].fps - h.fps) > 1e-9)
            h.fps = 0;   /* frame rates differ: each record keeps its own */
    h.feat_dtype = o.dtype > 0 ? (uint8_t)o.dtype : TAL_DTYPE_F32;
    /* the feature dimension comes from the first feature file */
    rc = cli_add_prov(&h);

    tal_progress prog;
    tal_progress_start(&prog, "sequences", a.n);
    uint64_t bytes = 0;
    long skipped = 0;
    for (uint32_t i = 0; i < a.n && !rc; i++) {
        tal_record *r = &a.v[i];
        if ((rc = tal_record_copy(&rec, r)))
            break;
        if (o.features) {
            int missing = 0;
            if ((rc = load_features(&o, &rec, &missing)))
                break;
            if (missing) {
                skipped++;
                continue;
            }
            double fps = rec.fps > 0 ? rec.fps : h.fps;
            if (rec.duration <= 0 && fps > 0)
                rec.duration = ((rec.T - 1) * h.stride + h.clip) / fps;
            bytes += (uint64_t)rec.T * rec.D * 4;
        }
        tal_segset_sort(&rec.segs);
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
    if (rc)
        goto fail;
    if (!w) {
        rc = tal_err(TAL_EINVAL, "no sequences left to pack: every feature file is missing");
        goto fail;
    }
    if (skipped)
        tal_warn("%ld sequences without feature files were left out", skipped);
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
