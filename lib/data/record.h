/* record.h — what a talcore stream holds, in memory.
 *
 * A stream is one tal_header followed by tal_records, one per sequence
 * (video, sensor recording).  These structures mirror data-spec.md; the
 * reader fills them and the writer serialises them.
 *
 * Ownership: a tal_header or tal_record owns every pointer inside it.
 * Initialise with tal_*_init (or zero them), release with tal_*_free.
 * A record may be reused for many reads: tal_record_clear keeps its
 * buffers and forgets their contents.
 */
#ifndef TAL_DATA_RECORD_H
#define TAL_DATA_RECORD_H

#include "grid.h"

#include <stddef.h>
#include <stdint.h>

/* ---- enumerations stored in the stream ----------------------------- */

typedef enum {
    TAL_SUP_NONE  = 0,   /* no labels (unlabelled part of a split) */
    TAL_SUP_FULL  = 1,   /* temporal segments */
    TAL_SUP_POINT = 2,   /* one time point per instance */
    TAL_SUP_VIDEO = 3,   /* video-level class tags only */
} tal_supervision;
#define TAL_SUP_COUNT 4

typedef enum {
    TAL_ROLE_UNSET = 0,
    TAL_ROLE_TRAIN = 1,
    TAL_ROLE_TEST  = 2,
} tal_role;
#define TAL_ROLE_COUNT 3

typedef enum {
    TAL_DTYPE_F32 = 1,
    TAL_DTYPE_F16 = 2,
} tal_dtype;

const char *tal_supervision_name(int s);     /* "full", ... ; "?" if unknown */
int tal_supervision_parse(const char *name); /* <0 if unknown */
const char *tal_role_name(int r);            /* "train", "test", "unset" */
int tal_role_parse(const char *name);
const char *tal_dtype_name(int d);           /* "f32", "f16" */
int tal_dtype_parse(const char *name);       /* accepts f32/float32/f16/float16 */
size_t tal_dtype_size(int d);                /* 0 if unknown */

/* ---- header ---------------------------------------------------------- */

typedef struct {
    uint32_t n;
    char **names;        /* n class names, UTF-8 */
    int32_t *ext_ids;    /* n external ids (THUMOS 7..97), -1 if none */
} tal_classes;

typedef struct {
    char *tool, *version, *argv;
} tal_prov;

typedef struct {
    char *key, *value;
} tal_kv;

/* A section kept verbatim because this reader does not know its type. */
typedef struct {
    uint32_t type, flags;
    uint64_t len;
    unsigned char *data;
} tal_raw_section;

typedef struct {
    uint16_t version_major, version_minor;
    uint32_t compat_flags;     /* readers ignore bits they do not know */
    uint32_t incompat_flags;   /* readers reject bits they do not know */
    tal_classes classes;
    uint32_t feat_dim;         /* 0: records carry no features */
    uint8_t feat_dtype;        /* how writers store features */
    /* time grid: snippet t covers frames [t*stride, t*stride + clip) at
     * fps frames per second; its centre is (t*stride + clip/2) / fps s. */
    double fps, stride, clip;
    tal_prov *prov;
    uint32_t nprov;
    tal_kv *meta;
    uint32_t nmeta;
    tal_raw_section *extra;
    uint32_t nextra;
} tal_header;

void tal_header_init(tal_header *h);
void tal_header_free(tal_header *h);
int tal_header_copy(tal_header *dst, const tal_header *src);

int tal_classes_add(tal_classes *c, const char *name, int32_t ext_id);
int tal_classes_find(const tal_classes *c, const char *name);  /* index or -1 */
int tal_classes_find_ext(const tal_classes *c, int32_t ext_id); /* index or -1 */
int tal_classes_equal(const tal_classes *a, const tal_classes *b);
void tal_classes_free(tal_classes *c);
int tal_classes_copy(tal_classes *dst, const tal_classes *src);

/* Append a provenance entry for this tool: argv is shell-quoted. */
int tal_header_add_prov(tal_header *h, const char *tool, const char *version,
                        int argc, char *const *argv);
int tal_header_set_meta(tal_header *h, const char *key, const char *value);
const char *tal_header_get_meta(const tal_header *h, const char *key);

/* Can records of `b` be read as part of a stream with header `a`?  Same
 * class table, feature dimension and grid.  0 if so, else TAL_EINCOMPAT
 * with a message naming what differs. */
int tal_header_compatible(const tal_header *a, const tal_header *b);

/* ---- record parts ------------------------------------------------- */

/* Optional per-segment quality fields (bit i of qmask <=> q[i] present). */
enum {
    TAL_Q_TIOU  = 0,   /* predicted or measured tIoU with ground truth */
    TAL_Q_TND   = 1,   /* temporal normalised distance (DIoU's d^2/c^2) */
    TAL_Q_ICD   = 2,   /* instance-consistency discriminator score */
    TAL_Q_CLS   = 3,   /* classification probability before fusion */
    TAL_Q_COUNT = 4,
};
const char *tal_q_name(int i);   /* "tiou", "tnd", "icd", "cls" */

/* segment flags */
#define TAL_SEG_AMBIGUOUS 0x1u   /* THUMOS "Ambiguous": not an instance, class -1 */
#define TAL_SEG_PSEUDO    0x2u   /* a pseudo label, not human ground truth */
#define TAL_SEG_CANDIDATE 0x4u   /* a pseudo label kept as a candidate, not a positive (1.1) */
#define TAL_SEG_KNOWN_FLAGS (TAL_SEG_AMBIGUOUS | TAL_SEG_PSEUDO | TAL_SEG_CANDIDATE)

typedef struct {
    double start, end;   /* seconds */
    double score;        /* 1 for ground truth, confidence for detections */
    int32_t cls;         /* class index, -1 for none */
    uint32_t flags;
    float q[TAL_Q_COUNT];
} tal_segment;

typedef struct {
    tal_segment *v;
    uint32_t n;
    size_t cap;
    uint32_t qmask;      /* which q[] fields are meaningful */
} tal_segset;

typedef struct {
    double time;         /* seconds */
    int32_t cls;
    float weight;        /* 1 for annotated points */
} tal_point;

typedef struct {
    int32_t cls;
    float score;         /* 1 for given tags, probability for predictions */
} tal_label;

/* which optional sections a record carries */
#define TAL_HAS_FEATURES   0x01u
#define TAL_HAS_SEGMENTS   0x02u
#define TAL_HAS_DETECTIONS 0x04u
#define TAL_HAS_POINTS     0x08u
#define TAL_HAS_LABELS     0x10u
#define TAL_HAS_DIST       0x20u
#define TAL_HAS_PROV       0x40u
#define TAL_HAS_TIMEMAP    0x80u

typedef struct {
    char *id;            /* sequence id, unique within a stream */
    char *subset;        /* subset name in the source ("validation"), may be "" */
    double duration;     /* seconds; 0 if unknown */
    double fps;          /* frames per second of this sequence; 0: the header's */
    double stride, clip; /* this sequence's own grid in frames (1.3, featpack
                            --stride auto); 0: the header's */
    uint8_t supervision; /* tal_supervision */
    uint8_t role;        /* tal_role */
    uint32_t flags;      /* reserved */
    uint32_t present;    /* TAL_HAS_* */

    uint32_t T, D;       /* features: T snippets x D channels, row-major */
    uint8_t feat_dtype;  /* dtype the features were stored in */
    float *feat;
    size_t feat_cap;     /* floats allocated */

    tal_segset segs;     /* annotations: ground truth or pseudo labels */
    tal_segset dets;     /* detections (model output) */

    tal_point *points;
    uint32_t npoints;
    size_t points_cap;

    tal_label *labels;
    uint32_t nlabels;
    size_t labels_cap;

    uint32_t dist_T, dist_K;   /* snippet class distributions T x K */
    uint8_t dist_dtype;
    float *dist;
    size_t dist_cap;

    tal_kv *prov;
    uint32_t nprov;

    /* time map (data/timemap.h): the time in the sequence's own seconds of
     * each snippet of resampled features (lblext) */
    double *timemap;
    uint32_t ntimemap;
    size_t timemap_cap;

    tal_raw_section *extra;
    uint32_t nextra;
} tal_record;

void tal_record_init(tal_record *r);
void tal_record_clear(tal_record *r);   /* empty it, keep the buffers */
void tal_record_free(tal_record *r);
int tal_record_copy(tal_record *dst, const tal_record *src);

int tal_record_set_id(tal_record *r, const char *id);
int tal_record_set_subset(tal_record *r, const char *subset);
/* Make room for T x D features (contents undefined); sets T, D and the flag. */
int tal_record_alloc_features(tal_record *r, uint32_t T, uint32_t D);
int tal_record_alloc_dist(tal_record *r, uint32_t T, uint32_t K);
void tal_record_drop_features(tal_record *r);
/* Make room for a time map of n entries (contents undefined); sets the flag. */
int tal_record_alloc_timemap(tal_record *r, uint32_t n);
/* Grow a float array to hold n values, keeping its contents. */
int tal_floats_reserve(float **p, size_t *cap, size_t n);

int tal_segset_push(tal_segset *s, const tal_segment *seg);
void tal_segset_clear(tal_segset *s);
int tal_segset_copy(tal_segset *dst, const tal_segset *src);
/* Order by start, then end, class, higher score, flags. */
void tal_segset_sort(tal_segset *s);
int tal_record_add_point(tal_record *r, double time, int32_t cls, float weight);
/* Order the points by time, then class (writers of point labels do, so
 * that a reader can rely on it: lblext refuses points out of order).
 * Returns 0. */
int tal_record_sort_points(tal_record *r);
/* Adds the tag if the class is not already there (keeps the larger score). */
int tal_record_add_label(tal_record *r, int32_t cls, float score);
int tal_record_set_prov(tal_record *r, const char *key, const char *value);
const char *tal_record_get_prov(const tal_record *r, const char *key);

/* Video-level labels implied by the segments (non-ambiguous classes). */
int tal_record_labels_from_segments(tal_record *r);
/* Number of real instances (segments not flagged ambiguous). */
uint32_t tal_record_ninstances(const tal_record *r);

/* The record's frame rate: its own, else the header's, else 0. */
double tal_record_fps(const tal_record *r, const tal_header *h);

/* The stream's time grid (a stride of 0 reads as 1 snippet per frame, a
 * clip of 0 as the stride), and one record's: the same with its own
 * frame rate when it has one. */
tal_grid tal_header_grid(const tal_header *h);
/* The grid a record's snippets lie on: the header's, with the record's
 * own fps, stride and clip where it has them (stream 1.3). */
tal_grid tal_record_grid(const tal_record *r, const tal_header *h);
/* The same from a grid held elsewhere (a detector keeps its stream's). */
tal_grid tal_grid_for_record(tal_grid g, const tal_record *r);

#endif
