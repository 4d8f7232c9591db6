/* eval.h — mean average precision of temporal detections.
 *
 * An evaluation set holds ground truth and detections of many sequences
 * ("videos") over one class table.  It is filled from streams, JSON,
 * THUMOS folders or the THUMOS kit's text (see tools/tal-map.c), then
 * evaluated under one of two protocols, each reproducing the public code
 * that defines it:
 *
 * TAL_EVAL_ANET — ActivityNet (Evaluation/eval_detection.py, and its
 *   Python 3 port in ActionFormer's libs/utils/metrics.py):
 *   - per video, ground truth shorter than 1e-3 s, and ground truth of
 *     the same class whose ends both lie within 1e-3 s of an earlier kept
 *     instance, are dropped (ActionFormer's remove_duplicate_annotations);
 *     THUMOS "Ambiguous" segments are not ground truth here;
 *   - the classes evaluated are those with ground truth; a class without
 *     detections has AP 0; detections of other classes are ignored;
 *   - per class, detections in decreasing score; each is compared with
 *     the ground truth of its video and class in decreasing tIoU and takes
 *     the first that is not taken yet at that threshold, provided its tIoU
 *     is >= the threshold; otherwise it is a false positive (also when
 *     its video has no ground truth of the class);
 *   - tIoU = inter / ((ge - gs) + (de - ds) - inter), inter clipped at 0,
 *     computed in that order.  A detection whose end precedes its start
 *     gets 0 — except where its negative length cancels a ground-truth
 *     length exactly: the official code then computes 0/0 = NaN, ranks it
 *     above every real tIoU and lets it pass every threshold.  That is
 *     reproduced (TAL_REVERSED_KEEP) because published numbers depend on
 *     it (the THUMOS kit's Run-2-det.txt); SWAP and DROP are offered;
 *   - AP: precision made non-increasing from the right over (0,0) ...
 *     (1,0), summed over the recall steps ("VOC 2011" interpolation).
 *
 * TAL_EVAL_TH14 — the THUMOS14 kit (TH14evaldet.m / TH14eventdetpr.m):
 *   - overlap = intersection / (max end - min start) after ordering each
 *     interval's ends, 0 unless the intersection is positive;
 *   - per class and video, detections in decreasing score (stable); each
 *     ground-truth instance in input order takes the free detection of
 *     highest overlap (the first such) if that overlap is > the threshold;
 *   - a detection not taken that overlaps an Ambiguous segment of its
 *     video is dropped; the rest are false positives;
 *   - true positives of every video (videos in id order), then false
 *     positives, are sorted by decreasing score (stable, so at equal
 *     scores true positives come first);
 *   - AP is the kit's 11-point interpolation: the mean over recall levels
 *     t = i*0.1 (i = 0..10, computed so) of the highest precision at
 *     recall >= t; 0 if the class has no true positive.
 *   - mAP is the mean over the classes that have ground truth.
 *
 * Ties.  The ActivityNet protocol ranks a class's detections (in input
 * order) by score, and a detection's candidate ground truth (in input
 * order) by tIoU, exactly as the official code does with numpy's
 * argsort()[::-1]: an introsort, so equal keys come out in an order that
 * is deterministic for a given input but not stable (tal_argsort_np).
 * The THUMOS14 protocol uses the kit's stable sorts.  Both therefore give
 * the official numbers even where scores tie.
 */
#ifndef TAL_EVAL_EVAL_H
#define TAL_EVAL_EVAL_H

#include "../data/record.h"
#include "../util/strmap.h"

#include <stddef.h>
#include <stdint.h>

typedef enum { TAL_EVAL_ANET = 0, TAL_EVAL_TH14 = 1 } tal_eval_protocol;
const char *tal_eval_protocol_name(int p);   /* "anet", "th14" */
int tal_eval_protocol_parse(const char *s);  /* <0 if unknown */

/* What to do with detections whose end precedes their start. */
enum { TAL_REVERSED_KEEP = 0, TAL_REVERSED_SWAP = 1, TAL_REVERSED_DROP = 2 };

typedef struct {
    double start, end;
    int32_t cls;          /* class index; -1 for an Ambiguous segment */
    uint32_t video;
    uint32_t order;       /* position in the input */
    uint8_t valid;        /* kept by the ActivityNet filter */
} tal_eval_gt;

typedef struct {
    double start, end, score;
    int32_t cls;
    uint32_t video;
    uint32_t order;
} tal_eval_det;

typedef struct {
    tal_classes classes;
    char **videos;        /* video ids, in order of first appearance */
    double *duration;     /* per video, 0 if unknown */
    uint32_t nvideos;
    size_t videos_cap;
    tal_strmap vindex;
    uint8_t *has_gt;      /* per video: appears in the ground truth */

    tal_eval_gt *gt;      /* after tal_evalset_finish: by video, then input order */
    size_t ngt, gt_cap;
    uint32_t *gt_first;   /* per video v: gt[gt_first[v] .. gt_first[v+1]) */

    tal_eval_det *det;
    size_t ndet, det_cap;
    int finished;
} tal_evalset;

void tal_evalset_init(tal_evalset *e);
void tal_evalset_free(tal_evalset *e);
/* Index of a video id, added if new (gt: it belongs to the ground truth). */
int64_t tal_evalset_video(tal_evalset *e, const char *id, int gt);
int tal_evalset_add_gt(tal_evalset *e, uint32_t video, double start, double end, int32_t cls);
int tal_evalset_add_det(tal_evalset *e, uint32_t video, double start, double end, double score, int32_t cls);
/* Sort and index; apply the reversed-detection policy; mark the ground
 * truth the ActivityNet filter keeps.  Call once, after the last add. */
int tal_evalset_finish(tal_evalset *e, int reversed);

/* ---- tIoU threshold lists ------------------------------------------- */

/* Parse "0.1,0.2,0.5" or "A:STEP:B" ranges (mixable, comma-separated).
 * A range holds n = round((B-A)/STEP)+1 values A + i*(B-A)/(n-1), the
 * last exactly B (numpy.linspace's arithmetic).  Values in (0, 1].
 * *out is allocated; 0 or TAL_EINVAL with a message. */
int tal_tiou_parse(const char *spec, double **out, uint32_t *n);

/* ---- evaluation --------------------------------------------------- */

typedef struct {
    int protocol;
    const double *tiou;
    uint32_t ntiou;
    const uint32_t *topk;   /* recall at k x (ground truth per video); may be NULL */
    uint32_t ntopk;
    int curves;             /* keep precision-recall curves */
    int th14_ap;            /* TAL_TH14_AP_* */
} tal_eval_opts;

/* AP of the THUMOS14 protocol: the kit's 11-point interpolation, or the
 * non-interpolated AP of the kit's later revision (TH14evalDet_Updated.m:
 * the sum of the precision at each true positive over the instance
 * count, with each video's detections kept in rank order, true and false
 * positives together, before the stable sort by score). */
enum { TAL_TH14_AP_11POINT = 0, TAL_TH14_AP_NONINTERP = 1 };

typedef struct {
    uint32_t n;
    double *recall, *precision;   /* at each true positive, then the last detection */
} tal_pr_curve;

typedef struct {
    int protocol;
    uint32_t nt, ncls, nk;
    double *tiou;         /* nt */
    int32_t *cls;         /* ncls: class index of each evaluated class */
    uint32_t *npos;       /* ncls: ground truth instances */
    uint32_t *ndet;       /* ncls: detections */
    double *ap;           /* nt x ncls */
    double *map;          /* nt */
    double average;       /* mean of map */
    uint32_t *topk;       /* nk */
    double *recall;       /* nt x nk: mean over classes */
    tal_pr_curve *curves; /* nt x ncls, if asked */
    uint64_t ngt, ndets, nvideos;   /* what was evaluated */
} tal_eval_result;

int tal_eval_run(const tal_evalset *e, const tal_eval_opts *o, tal_eval_result *r);
void tal_eval_result_free(tal_eval_result *r);

/* Mean of r->map over thresholds in [lo, hi] (1e-9 slack); NaN if none. */
double tal_eval_average(const tal_eval_result *r, double lo, double hi);

/* ---- pieces, exposed for tests ---------------------------------------- */

/* ActivityNet tIoU of detection (ds, de) with ground truth (gs, ge). */
double tal_tiou_anet(double ds, double de, double gs, double ge);
/* THUMOS kit overlap of two intervals. */
double tal_overlap_th14(double as, double ae, double bs, double be);
/* Interpolated AP ("VOC 2011") of n precision/recall points. */
double tal_ap_interp(const double *prec, const double *rec, size_t n);
/* The kit's 11-point AP. */
double tal_ap_11point(const double *prec, const double *rec, size_t n);
/* Non-interpolated AP: sum of prec[i] where tp[i], over npos. */
double tal_ap_noninterp(const double *prec, const uint8_t *tp, size_t n, double npos);

/* numpy's argsort (default kind) of n doubles: idx[k] = index of the
 * k-th smallest, NaN last, ties in numpy's order; tal_rank_np reverses it
 * (argsort()[::-1]: largest first). */
void tal_argsort_np(const double *v, uint32_t *idx, size_t n);
void tal_rank_np(const double *v, uint32_t *idx, size_t n);

/* Order of evaluation: detection indices of class c sorted by decreasing
 * score, ties in input order.  Used by the diagnosis too. */
int tal_eval_sorted_dets(const tal_evalset *e, uint32_t **idx, uint32_t **cls_first);

/* ActivityNet matching of the detections idx[0..n) (one class, in rank
 * order) at nt thresholds: tp[t*n + i] = 1 for a true positive, and
 * match[t*n + i] = the ground-truth index taken, or -1.  lock is scratch
 * of nt x e->ngt entries, all -1 on entry and left so. */
int tal_eval_match_anet(const tal_evalset *e, const uint32_t *idx, size_t n, const double *thr, uint32_t nt,
                        uint8_t *tp, int64_t *match, int64_t *lock);

#endif
