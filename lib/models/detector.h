/* detector.h — a temporal action detector: one interface over the model
 * kinds (ActionFormer-style, SPOT-style), used by tal-train and tal-detect.
 *
 *   tal_detector *d = tal_detector_new(&cfg, stream_header);  // parameters declared and allocated
 *   tal_detector_init(d, &rng);                               // or load a checkpoint
 *   per step:  loss = tal_detector_loss(d, g, batch, n, &rng, &log);  tal_backward(g, loss); ...
 *   per record: tal_detector_detect(d, g, rec, &dets, NULL);
 *
 * A detector knows the stream's classes and time grid: labels in seconds
 * go onto the feature grid (data/grid.h) for training, and detections come
 * back in seconds, suppressed as the config's test.* settings say.
 */
#ifndef TAL_MODELS_DETECTOR_H
#define TAL_MODELS_DETECTOR_H

#include "det_config.h"
#include "../data/grid.h"
#include "../data/record.h"
#include "../nn/graph.h"
#include "../nn/params.h"
#include "../util/rng.h"

#define TAL_LOSS_TERMS 16
#define TAL_DET_STATE 4

/* The loss terms of one step, as numbers (for progress, metrics and the
 * finite check); total is what backward starts from.  Terms of the
 * pseudo-labelled records of a semi-supervised step are named "u_..." */
typedef struct {
    int n;
    const char *name[TAL_LOSS_TERMS];
    double value[TAL_LOSS_TERMS];
    double total;
    int positives;           /* labelled positions or snippets in the batch */
} tal_loss_log;

typedef struct tal_detector tal_detector;

/* tal_det_ops.trains_on: the supervision kinds (record.h) a model learns
 * from, as a bit mask; tal-train keeps the records of those kinds and
 * leaves the others out with a warning. */
#define TAL_TRAINS_ON(kind) (1u << (kind))

typedef struct {
    const char *name;
    unsigned trains_on;          /* TAL_TRAINS_ON(TAL_SUP_FULL) | ... */
    /* learns from pseudo-labelled records (supervision none, pseudo
     * segments and/or distributions) mixed into its batches, as the
     * config's semi.* settings say (tal-train --unlabelled) */
    int semi;
    int reads_timemap;           /* the loss places labels through a record's time map
                                    (data/timemap.h); else such records are refused */
    /* declare the parameters in d->P (allocation follows) */
    int (*define)(tal_detector *d);
    int (*init)(tal_detector *d, tal_rng *r);
    /* training loss of n records; r draws crops and augmentation (record
     * b's from tal_graph_row_rng(g, r, b) in a model that trains data-
     * parallel).  In a semi-supervised step the labelled records come
     * first and the pseudo-labelled ones (supervision none) after them. */
    tal_tensor *(*loss)(tal_detector *d, tal_graph *g, const tal_record *const *batch, int n, tal_rng *r,
                        tal_loss_log *log);
    /* detections of one record in seconds, suppressed; optionally the
     * snippet class distributions (T x (C+1), last column background) */
    int (*detect)(tal_detector *d, tal_graph *g, const tal_record *rec, tal_segset *dets, tal_record *dist);
    /* optional: the pseudo labels the model mines on a record with points,
     * as segments in seconds flagged TAL_SEG_PSEUDO (class -1: background) */
    int (*pseudo)(tal_detector *d, tal_graph *g, const tal_record *rec, tal_segset *out);
    /* optional: sees every training record once before the first step
     * (and again when training resumes); the discriminator collects its
     * pool of labelled instances here */
    int (*prepare)(tal_detector *d, const tal_record *const *recs, uint32_t n);
    /* optional: 0 when this model, as configured, can train data-parallel
     * (trainer.h: its loss a sum over records, whatever is batch-wide
     * totalled with tal_graph_batch_sum, each record's draws from
     * tal_graph_row_rng); else <0 with a message saying what couples the
     * records.  NULL: it cannot. */
    int (*data_parallel)(const tal_detector *d);
    void (*free)(tal_detector *d);
} tal_det_ops;

struct tal_detector {
    const tal_det_ops *ops;
    tal_det_config cfg;
    int num_classes, input_dim;
    tal_grid grid;               /* the stream's; a record's fps overrides fps */
    tal_params *P;
    void *model;                 /* the kind's own state */
    /* scalars that belong to training state (checkpointed): e.g. the
     * ActionFormer loss normaliser */
    int nstate;
    const char *state_name[TAL_DET_STATE];
    double state[TAL_DET_STATE];
    /* index in state[] where the kind keeps the CRC-32 of the class names
     * it was trained on (set from the stream at construction, then from
     * the checkpoint), or -1: tal_detector_compatible compares it */
    int classes_state;
};

/* A detector of cfg's kind for streams like h (classes, feature width,
 * grid); parameters declared and allocated (zero) on `be` (NULL: CPU). */
tal_detector *tal_detector_new(const tal_det_config *cfg, const tal_header *h, const tal_backend *be);
int tal_detector_init(tal_detector *d, tal_rng *r);
tal_tensor *tal_detector_loss(tal_detector *d, tal_graph *g, const tal_record *const *batch, int n, tal_rng *r,
                              tal_loss_log *log);
int tal_detector_detect(tal_detector *d, tal_graph *g, const tal_record *rec, tal_segset *dets, tal_record *dist);
void tal_detector_free(tal_detector *d);
/* The pseudo labels of a record with points (models with ops->pseudo;
 * others: an error naming the kind), in the record's own seconds. */
int tal_detector_pseudo(tal_detector *d, tal_graph *g, const tal_record *rec, tal_segset *out);

/* Can records of h be used with this detector?  Same class count and
 * feature width, and (kinds that keep it, after a checkpoint is loaded)
 * the same class names in the same order; a message naming what differs
 * otherwise. */
int tal_detector_compatible(const tal_detector *d, const tal_header *h);
/* CRC-32 of a class table's names in order (what classes_state holds). */
uint32_t tal_classes_crc(const tal_classes *c);

/* Is r fit to train a model of these ops on (features present, video
 * supervision with at least one tag)?  0, or <0 with a message naming the
 * sequence ('name' is the stream's, for the message). */
int tal_det_check_training_record(const tal_det_ops *ops, const tal_record *r, const char *name);

/* ops->data_parallel of a model whose every loss term is a sum over the
 * batch's records divided by batch-wide counts it totals with
 * tal_graph_batch_sum, and whose records draw from tal_graph_row_rng:
 * always 0 (linear, SPOT-style, TTC-Loc, FS-PTAL; trainer.h). */
int tal_det_splits_by_record(const tal_detector *d);

/* The ops of a model kind (TAL_DET_*), NULL if unknown. */
const tal_det_ops *tal_det_ops_for(int kind);
/* Does a model of these ops learn from records of this supervision kind? */
int tal_det_trains_on(const tal_det_ops *ops, int supervision);
/* The supervision kinds it learns from, as "full", "full or video", ...
 * (a static buffer: for messages). */
const char *tal_det_trains_on_names(const tal_det_ops *ops);

/* The grid of one record (its own fps when it has one). */
tal_grid tal_detector_grid(const tal_detector *d, const tal_record *r);

extern const tal_det_ops tal_det_actionformer_ops;
extern const tal_det_ops tal_det_spot_ops;
extern const tal_det_ops tal_det_linear_ops;
extern const tal_det_ops tal_det_ttc_ops;
extern const tal_det_ops tal_det_fsptal_ops;
extern const tal_det_ops tal_det_icd_ops;
extern const tal_det_ops tal_det_acp_ops;

#endif
