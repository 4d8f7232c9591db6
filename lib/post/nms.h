/* nms.h — non-maximum suppression of temporal detections: hard, linear
 * and Gaussian (Soft-NMS, Bodla et al. 2017), per class or class-agnostic,
 * with BMN's adaptive threshold and ActionFormer's segment voting.
 *
 * Per group (one class, or all detections with class_agnostic):
 *   repeat: take the remaining detection of highest current score (equal
 *   scores: the one earlier in the input) and keep it with that score;
 *   multiply every other remaining score by w(IoU with it):
 *     hard      w = 0 if IoU >= Nt, else 1
 *     linear    w = 1 - IoU if IoU >= Nt, else 1
 *     gaussian  w = exp(-IoU^2 / sigma)
 *   and drop a detection whose weight is 0 or whose score is now below
 *   min_score.  As in ActionFormer's nms_1d_cpu.softnms, every remaining
 *   detection is tested after each step (w = 1 included) but the first
 *   one taken never is: a group whose best score is below min_score keeps
 *   that one.  Stop after max_keep taken (0: no cap).
 * With adaptive (BMN's soft_nms), the decay applies only where IoU >
 *   t1 + (t2 - t1) * (length of the taken detection / duration), and that
 *   threshold replaces Nt for hard and linear.
 * With vote_iou > 0 (ActionFormer's seg_voting), each kept detection's
 *   start and end become the mean of those of every detection of its
 *   group before suppression with IoU >= vote_iou, weighted by IoU x
 *   original score; scores are unchanged.
 * The groups' results are joined, ordered by decreasing score (then class,
 *   then the order they were taken in) and cut to max_keep.
 * IoU = intersection / (len a + len b - intersection), 0 when the union is
 *   not positive; ActionFormer adds 1e-6 to every length, this does not.
 * A hard suppression removes a detection even with min_score 0, where
 *   ActionFormer's softnms would keep it at score 0.
 */
#ifndef TAL_POST_NMS_H
#define TAL_POST_NMS_H

#include "../data/record.h"

typedef enum { TAL_NMS_HARD = 0, TAL_NMS_LINEAR = 1, TAL_NMS_GAUSSIAN = 2 } tal_nms_method;
const char *tal_nms_method_name(int m);   /* "hard", "linear", "gaussian" */
int tal_nms_method_parse(const char *s);  /* <0 if unknown */

typedef struct {
    int method;
    double sigma;          /* Gaussian width [0.5] */
    double iou_thresh;     /* Nt for hard and linear, in (0, 1] */
    double min_score;      /* [0.001] */
    uint32_t max_keep;     /* per sequence; 0: all */
    int class_agnostic;
    int adaptive;          /* BMN's gate */
    double t1, t2;
    double vote_iou;       /* > 0: segment voting */
} tal_nms_opts;

/* Scratch space, reusable from one sequence to the next. */
typedef struct tal_nms_ws tal_nms_ws;
tal_nms_ws *tal_nms_ws_new(void);
void tal_nms_ws_free(tal_nms_ws *w);

/* Suppress `dets` in place (it becomes the kept detections, highest score
 * first; flags and quality fields travel with each).  `duration` is the
 * sequence's (adaptive threshold only; <= 0: the latest end).  0, or <0
 * with a message for non-finite input or no memory. */
int tal_nms(tal_nms_ws *w, tal_segset *dets, double duration, const tal_nms_opts *o);

/* IoU as used here. */
double tal_nms_iou(double as, double ae, double bs, double be);

#endif
