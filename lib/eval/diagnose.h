/* diagnose.h — what the false positives are and which instances are
 * missed, after DETAD (Alwassel et al., "Diagnosing Error in Temporal
 * Action Detectors", ECCV 2018; code HumamAlwassel/DETAD).
 *
 * False-positive profile at one tIoU threshold a (DETAD's procedure):
 *   - per class j with G_j ground-truth instances, the detections are
 *     ranked by score and only the top limit x G_j are kept;
 *   - they are matched with the ActivityNet rule (eval.h) at a; a match
 *     is a true positive;
 *   - every other detection is compared with all ground truth of its video
 *     (any class); with g the instance of highest tIoU (the first such),
 *     t its tIoU:  t >= a: double detection if g has the detection's
 *     class, else wrong label;  min_tiou <= t < a: localization error if
 *     same class, else confusion;  t < min_tiou, or no ground truth in
 *     the video: background;
 *   - the breakdown is given for each slice of ranks [k G_j, (k+1) G_j),
 *     k = 0 .. limit-1 ("1G" ... "10G"), and over all of them;
 *   - the impact of each error type is the rise in mAP at a (on the kept
 *     detections) when the detections of that type are removed.  DETAD
 *     reports it in its normalised AP_N; this is plain interpolated AP.
 * False negatives (DETAD's false-negative analysis): the share of ground
 * truth that no detection (all detections, ActivityNet matching at a)
 * finds, by instance length, coverage (length / sequence duration) and
 * number of instances in the sequence, binned as DETAD bins THUMOS14 or
 * ActivityNet; values may come from DETAD's characteristics files.
 */
#ifndef TAL_EVAL_DIAGNOSE_H
#define TAL_EVAL_DIAGNOSE_H

#include "eval.h"

enum {
    TAL_DIAG_TP = 0,
    TAL_DIAG_DOUBLE = 1,
    TAL_DIAG_WRONG_LABEL = 2,
    TAL_DIAG_LOCALIZATION = 3,
    TAL_DIAG_CONFUSION = 4,
    TAL_DIAG_BACKGROUND = 5,
    TAL_DIAG_NTYPES = 6,
};
const char *tal_diag_type_name(int t);   /* "true positive", "double detection", ... */
const char *tal_diag_type_key(int t);    /* "true_positive", "double_detection", ... */

enum { TAL_CHAR_LENGTH = 0, TAL_CHAR_COVERAGE = 1, TAL_CHAR_NINST = 2, TAL_NCHAR = 3 };
const char *tal_char_name(int c);        /* "length", "coverage", "num_instances" */

enum { TAL_DIAG_BINS_THUMOS = 0, TAL_DIAG_BINS_ANET = 1 };

#define TAL_DIAG_MAX_LIMIT 100
#define TAL_DIAG_MAX_BINS 5

typedef struct {
    double tiou;             /* a [0.5] */
    uint32_t limit;          /* keep the top limit x G_j per class [10] */
    double min_tiou;         /* below this a false positive is background [0.1] */
    int bins;                /* TAL_DIAG_BINS_* */
    /* optional per ground-truth characteristics, e->ngt x TAL_NCHAR (index
     * of e->gt after tal_evalset_finish); NaN: compute it */
    const double *gt_char;
} tal_diag_opts;

typedef struct {
    uint32_t nbins;
    const char *bin[TAL_DIAG_MAX_BINS];
    double edge[TAL_DIAG_MAX_BINS + 1];
    uint64_t n[TAL_DIAG_MAX_BINS], missed[TAL_DIAG_MAX_BINS];
    uint64_t unknown;        /* instances without a value (no duration) */
} tal_diag_fn;

typedef struct {
    double tiou, min_tiou;
    uint32_t limit;
    uint64_t (*slice)[TAL_DIAG_NTYPES];   /* limit rows */
    uint64_t total[TAL_DIAG_NTYPES];
    double map;                           /* at tiou, on the kept detections */
    double gain[TAL_DIAG_NTYPES];         /* [0] unused */
    uint64_t gt, missed;
    tal_diag_fn fn[TAL_NCHAR];
} tal_diag_result;

int tal_diagnose(const tal_evalset *e, const tal_diag_opts *o, tal_diag_result *r);
void tal_diag_result_free(tal_diag_result *r);

/* DETAD's extra-characteristics JSON ({"database": {id: {"annotations":
 * [{segment, label, length, coverage, num_instances}]}}}): fills
 * out[g*TAL_NCHAR + c] for every ground truth g of e that matches an entry
 * (same video, label name, both ends within 1e-6 s); others stay NaN.
 * *matched counts the instances found. */
int tal_diag_read_characteristics(const char *path, const tal_evalset *e, double *out, uint64_t *matched);

#endif
