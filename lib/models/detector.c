/* detector.c — the detector interface: construction and dispatch (see detector.h). */
#include "detector.h"
#include "../util/crc32.h"
#include "../data/timemap.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const tal_det_ops *tal_det_ops_for(int kind)
{
    switch (kind) {
    case TAL_DET_ACTIONFORMER:
        return &tal_det_actionformer_ops;
    case TAL_DET_SPOT:
        return &tal_det_spot_ops;
    case TAL_DET_LINEAR:
        return &tal_det_linear_ops;
    case TAL_DET_TTC:
        return &tal_det_ttc_ops;
    case TAL_DET_FSPTAL:
        return &tal_det_fsptal_ops;
    case TAL_DET_ICD:
        return &tal_det_icd_ops;
    case TAL_DET_ACP:
        return &tal_det_acp_ops;
    }
    return NULL;
}

tal_detector *tal_detector_new(const tal_det_config *cfg, const tal_header *h, const tal_backend *be)
{
    const tal_det_ops *ops = tal_det_ops_for(cfg->kind);
    if (!ops) {
        tal_err(TAL_EINVAL, "unknown detector kind %d", cfg->kind);
        return NULL;
    }
    if (!h->classes.n) {
        tal_err(TAL_EINVAL, "the stream has no classes: a detector needs a class table");
        return NULL;
    }
    int din = cfg->input_dim ? cfg->input_dim : (int)h->feat_dim;
    if (din <= 0) {
        tal_err(TAL_EINVAL, "the stream carries no features (and model.input_dim is 0)");
        return NULL;
    }
    if (cfg->input_dim && h->feat_dim && (uint32_t)cfg->input_dim != h->feat_dim) {
        tal_err(TAL_EINVAL, "model.input_dim is %d but the stream's features are %u-d", cfg->input_dim, h->feat_dim);
        return NULL;
    }
    tal_detector *d = tal_calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->ops = ops;
    d->cfg = *cfg;
    d->cfg.input_dim = din;
    d->num_classes = (int)h->classes.n;
    d->input_dim = din;
    d->grid = tal_header_grid(h);
    d->classes_state = -1;
    if (!(d->P = tal_params_new()) || ops->define(d) || tal_params_alloc(d->P, be)) {
        tal_detector_free(d);
        return NULL;
    }
    if (d->classes_state >= 0)
        d->state[d->classes_state] = tal_classes_crc(&h->classes);
    return d;
}

int tal_detector_init(tal_detector *d, tal_rng *r) { return d->ops->init(d, r); }

tal_tensor *tal_detector_loss(tal_detector *d, tal_graph *g, const tal_record *const *batch, int n, tal_rng *r,
                              tal_loss_log *log)
{
    memset(log, 0, sizeof *log);
    for (int i = 0; i < n && !d->ops->reads_timemap; i++)
        if (batch[i]->present & TAL_HAS_TIMEMAP) {
            tal_err(TAL_EINVAL, "sequence '%s' has a time map (resampled by lblext): the %s model places labels on "
                    "the grid and cannot train on it", batch[i]->id, d->ops->name);
            return NULL;
        }
    return d->ops->loss(d, g, batch, n, r, log);
}

/* A record with a time map (lblext): the model sees its snippets as if
 * they lay on the grid (a sequence as long as they span), and each
 * detection goes back through the grid to snippet positions and through
 * the map to the sequence's own seconds. */
static int detect_mapped(tal_detector *d, tal_graph *g, const tal_record *rec, tal_segset *dets, tal_record *dist,
                         int pseudo)
{
    if (rec->ntimemap != rec->T)
        return tal_err(TAL_EINVAL, "record '%s' has a time map of %u entries for %u snippets", rec->id, rec->ntimemap,
                       rec->T);
    tal_grid grid = tal_detector_grid(d, rec);
    tal_record view = *rec;   /* shares rec's buffers; only read */
    view.present &= ~TAL_HAS_TIMEMAP;
    view.duration = ((rec->T - 1) * grid.stride + grid.clip) / grid.fps;
    /* the points, too, on the grid the model sees */
    tal_point *pts = NULL;
    if (pseudo && rec->npoints) {
        if (!(pts = tal_malloc(rec->npoints * sizeof *pts)))
            return TAL_ENOMEM;
        for (uint32_t i = 0; i < rec->npoints; i++) {
            pts[i] = rec->points[i];
            pts[i].time = tal_grid_to_sec(&grid, tal_record_sec_to_pos(rec, &grid, rec->points[i].time));
        }
        view.points = pts;
    }
    int rc = pseudo ? d->ops->pseudo(d, g, &view, dets) : d->ops->detect(d, g, &view, dets, dist);
    free(pts);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < dets->n; i++) {
        tal_segment *s = &dets->v[i];
        double a = tal_record_pos_to_sec(rec, &grid, tal_grid_from_sec(&grid, s->start));
        double b = tal_record_pos_to_sec(rec, &grid, tal_grid_from_sec(&grid, s->end));
        a = a < 0 ? 0 : a;
        b = b < 0 ? 0 : b;
        if (rec->duration > 0) {
            a = a > rec->duration ? rec->duration : a;
            b = b > rec->duration ? rec->duration : b;
        }
        s->start = a;
        s->end = b;
    }
    return 0;
}

int tal_detector_detect(tal_detector *d, tal_graph *g, const tal_record *rec, tal_segset *dets, tal_record *dist)
{
    if (!(rec->present & TAL_HAS_FEATURES))
        return tal_err(TAL_EINVAL, "record '%s' has no features", rec->id);
    if (rec->D != (uint32_t)d->input_dim)
        return tal_err(TAL_EINVAL, "record '%s' has %u-d features, the model %d-d", rec->id, rec->D, d->input_dim);
    if (!(rec->present & TAL_HAS_TIMEMAP))
        return d->ops->detect(d, g, rec, dets, dist);
    return detect_mapped(d, g, rec, dets, dist, 0);
}

int tal_detector_pseudo(tal_detector *d, tal_graph *g, const tal_record *rec, tal_segset *out)
{
    if (!d->ops->pseudo)
        return tal_err(TAL_EINVAL, "the %s model mines no pseudo labels", d->ops->name);
    if (!(rec->present & TAL_HAS_FEATURES))
        return tal_err(TAL_EINVAL, "record '%s' has no features", rec->id);
    if (rec->D != (uint32_t)d->input_dim)
        return tal_err(TAL_EINVAL, "record '%s' has %u-d features, the model %d-d", rec->id, rec->D, d->input_dim);
    if (!(rec->present & TAL_HAS_TIMEMAP))
        return d->ops->pseudo(d, g, rec, out);
    return detect_mapped(d, g, rec, out, NULL, 1);
}

void tal_detector_free(tal_detector *d)
{
    if (!d)
        return;
    if (d->ops && d->ops->free)
        d->ops->free(d);
    tal_params_free(d->P);
    free(d);
}

int tal_detector_compatible(const tal_detector *d, const tal_header *h)
{
    if ((int)h->classes.n != d->num_classes)
        return tal_err(TAL_EINCOMPAT, "the model has %d classes, the stream %u", d->num_classes, h->classes.n);
    if (h->feat_dim && (int)h->feat_dim != d->input_dim)
        return tal_err(TAL_EINCOMPAT, "the model takes %d-d features, the stream has %u-d", d->input_dim, h->feat_dim);
    if (d->classes_state >= 0 && d->state[d->classes_state] != (double)tal_classes_crc(&h->classes))
        return tal_err(TAL_EINCOMPAT, "the model was trained on another class table (the same %d classes by count, "
                       "not by name and order)", d->num_classes);
    return 0;
}

uint32_t tal_classes_crc(const tal_classes *c)
{
    uint32_t crc = 0;
    for (uint32_t i = 0; i < c->n; i++)
        crc = tal_crc32(crc, c->names[i], strlen(c->names[i]) + 1);   /* the NUL separates names */
    return crc;
}

int tal_det_check_training_record(const tal_det_ops *ops, const tal_record *r, const char *name)
{
    if (!(r->present & TAL_HAS_FEATURES))
        return tal_err(TAL_EINVAL, "'%s': sequence '%s' has no features", name, r->id);
    if (r->supervision == TAL_SUP_VIDEO && tal_det_trains_on(ops, TAL_SUP_VIDEO) && !r->nlabels)
        return tal_err(TAL_EINVAL, "'%s': sequence '%s' has video-level supervision but no video-level tags", name,
                       r->id);
    return 0;
}

int tal_det_trains_on(const tal_det_ops *ops, int supervision)
{
    return supervision >= 0 && supervision < TAL_SUP_COUNT && (ops->trains_on & TAL_TRAINS_ON(supervision));
}

const char *tal_det_trains_on_names(const tal_det_ops *ops)
{
    static char buf[64];
    size_t at = 0;
    int n = 0;
    buf[0] = 0;
    for (int k = 0; k < TAL_SUP_COUNT; k++)
        if (tal_det_trains_on(ops, k))
            at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%s", n++ ? " or " : "", tal_supervision_name(k));
    return buf;
}

tal_grid tal_detector_grid(const tal_detector *d, const tal_record *r)
{
    return tal_grid_for_record(d->grid, r);
}

int tal_det_splits_by_record(const tal_detector *d)
{
    (void)d;
    return 0;
}
