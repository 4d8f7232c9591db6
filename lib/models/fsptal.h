/* fsptal.h — the pieces of the point-supervised FS-PTAL detector
 * (METHODS.md §5; man fs-ptal for every reading of the paper): pseudo-label
 * mining on a sequence's snippets (Alg. 2, and LACP's rule), the pseudo
 * segments and outer flanks of the score contrast (eq. 8), and proposals
 * at inference.  fsptal_detector.c joins them with the network into the
 * tal_det_ops of model.kind fs-ptal.  Everything here is host arithmetic on
 * snippet indices, so it is tested on constructed sequences.
 *
 * Scores are the network's, per snippet: b[t] the background score, and
 * qhat[c*T + t] the final class score q_t[c] (1 - b_t) (row c of a
 * channel-first (C, T) array).
 */
#ifndef TAL_MODELS_FSPTAL_H
#define TAL_MODELS_FSPTAL_H

#include "../data/grid.h"
#include "../data/record.h"
#include "../post/runs.h"

#include <stddef.h>
#include <stdint.h>

enum { TAL_FSPTAL_MINE_NONE = 0, TAL_FSPTAL_MINE_FSPTAL = 1, TAL_FSPTAL_MINE_LACP = 2 };
enum { TAL_FSPTAL_OIC_OPTIMISED = 0, TAL_FSPTAL_OIC_ORIGINAL = 1 };
enum { TAL_FSPTAL_REACH_GAP = 0, TAL_FSPTAL_REACH_CONTIGUOUS = 1 };   /* fs_ptal.mine_reach */

/* The labels of one sequence's T snippets over C classes: the annotated
 * action points, and what mining adds. */
typedef struct {
    int T, C;
    uint8_t *act;     /* T x C: snippet t is labelled class c (annotated or mined) */
    uint8_t *annot;   /* T: an annotated point lies on snippet t */
    uint8_t *mined;   /* T: t got its action label from mining */
    uint8_t *bkg;     /* T: a pseudo background point */
    int nact, nbkg, nmined;   /* snippets with an action label, background, mined action */
    size_t cap;       /* snippets the arrays hold */
    size_t act_cap;
} tal_fsptal_labels;

void tal_fsptal_labels_free(tal_fsptal_labels *L);
/* T snippets of C classes, nothing labelled.  0 or TAL_ENOMEM. */
int tal_fsptal_labels_reset(tal_fsptal_labels *L, int T, int C);
/* The record's points on its snippets: each point on the snippet nearest
 * its time (through the record's time map when it has one, else grid g).
 * Points of class -1 are ignored.  Returns 0. */
int tal_fsptal_label_points(tal_fsptal_labels *L, const tal_record *r, const tal_grid *g);

typedef struct {
    int rule;               /* TAL_FSPTAL_MINE_* */
    double gamma_bkg;       /* background where b > gamma_bkg [0.85] */
    double gamma_act;       /* action only where b <= gamma_act [0.25] */
    int class_check;        /* FS-PTAL: a mined snippet's top class must be its neighbour point's */
    int contiguous;         /* FS-PTAL: action grows outward from the points (else the whole half-gap) */
} tal_fsptal_mine_cfg;

/* Mine pseudo background and action points on L (annotated points set)
 * from the scores b (T) and qhat (C x T).
 *
 * FS-PTAL (Alg. 2): background where b > gamma_bkg; an interval between
 * two adjacent action points (or before the first, after the last) with
 * none gets its argmax of b; consecutive background points with no action
 * point between them are joined into a run.  Then every snippet that is
 * neither, with b <= gamma_act, takes the classes of the nearest action
 * point on its left (right) when no background point lies between them
 * and (class_check) its highest qhat class is one of them.  With
 * contiguous set, action instead grows outward from each annotated point
 * while those conditions hold, stopping at the first snippet that fails
 * them (LACP's growing with Alg. 2's thresholds and class check), so that
 * a low b far from the point, across higher ones, is not mined.
 *
 * LACP (select_seed): before the first point, everything up to the last
 * snippet with b >= gamma_bkg (none: up to the argmax of b); the same
 * after the last point; between two points, the span from the first to
 * the last snippet with b >= gamma_bkg when there are two or more, else the
 * argmax of b; action points grow outward from each annotated run while
 * b <= gamma_act and the snippet is not background.  No class check.
 *
 * Annotated points are never background.  Returns 0. */
int tal_fsptal_mine(tal_fsptal_labels *L, const float *b, const float *qhat, const tal_fsptal_mine_cfg *cfg);

/* A pseudo segment of one class and its outer flanks (eq. 8): inner
 * snippets [s, e]; flanks [ls, le] and [rs, re], empty when le < ls. */
typedef struct {
    int cls, s, e, ls, le, rs, re;
} tal_fsptal_seg;

/* Flank width of a segment of n snippets: max(1, round(delta n)). */
int tal_fsptal_flank(int n, double delta);

/* The pseudo segments of every class of L (maximal runs of snippets
 * labelled with the class), in class then time order, with flanks of
 * tal_fsptal_flank width: ORIGINAL clips them to the sequence only
 * (Shou et al.'s OIC as LACP computes it), OPTIMISED also stops them short
 * of the neighbouring segments of the same class (FS-PTAL's eq. 8).
 * *v grows as needed; the count is returned, or <0. */
int tal_fsptal_segments(const tal_fsptal_labels *L, double delta, int oic, tal_fsptal_seg **v, size_t *cap);

/* Outer-inner contrast of x (T values) over a segment: mean inside minus
 * mean over both flanks (0 when the flanks are empty). */
double tal_fsptal_oic(const float *x, const tal_fsptal_seg *s);

#endif
