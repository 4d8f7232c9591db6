/* trainer.c — the training loop (see trainer.h). */
#include "trainer.h"
#include "../io/checkpoint.h"
#include "../io/jsonout.h"
#include "../nn/clip.h"
#include "../nn/ema.h"
#include "../nn/optim.h"
#include "../nn/sched.h"
#include "../util/error.h"
#include "../util/mem.h"
#include "../util/progress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* purposes of the random streams split from the seed */
enum { RNG_INIT = 1, RNG_ORDER = 2, RNG_CROP = 3, RNG_DROP = 4, RNG_ORDER_LABELLED = 5 };

typedef struct {
    tal_detector *d;
    tal_optim *opt;
    tal_ema *ema;
    int64_t step;
    char *config;
} run;

static int save(run *R, const char *path)
{
    tal_ckpt c = { .params = R->d->P, .optim = R->opt, .ema = R->ema, .step = R->step, .config = R->config };
    for (int i = 0; i < R->d->nstate; i++) {
        c.scalar_name[i] = R->d->state_name[i];
        c.scalar[i] = R->d->state[i];
    }
    c.nscalar = R->d->nstate;
    return tal_checkpoint_save(path, &c);
}

/* the model's state scalars, to load: a value the file lacks keeps the
 * model's initial one */
static void state_to_ckpt(const tal_detector *d, tal_ckpt *c)
{
    for (int i = 0; i < d->nstate; i++) {
        c->scalar_name[i] = d->state_name[i];
        c->scalar[i] = d->state[i];
    }
    c->nscalar = d->nstate;
}

static int restore(run *R, const char *path)
{
    tal_ckpt c = { .params = R->d->P, .optim = R->opt, .ema = R->ema };
    state_to_ckpt(R->d, &c);
    int rc = tal_checkpoint_load(path, &c, TAL_CKPT_SCALARS_OPTIONAL);
    free(c.config);
    if (rc)
        return rc;
    R->step = c.step;
    for (int i = 0; i < R->d->nstate; i++)
        R->d->state[i] = c.scalar[i];
    return 0;
}

int tal_detector_load(tal_detector *d, const char *path, int use_ema)
{
    if (d->cfg.ema_decay <= 0)
        use_ema = 0;   /* trained without an average: there is none to load */
    tal_ema *e = use_ema ? tal_ema_new(d->P, 0.999f) : NULL;
    if (use_ema && !e)
        return TAL_ENOMEM;
    tal_ckpt c = { .params = d->P, .ema = e };
    state_to_ckpt(d, &c);
    int rc = tal_checkpoint_load(path, &c, TAL_CKPT_SCALARS_OPTIONAL);
    free(c.config);
    for (int i = 0; !rc && i < d->nstate; i++)
        d->state[i] = c.scalar[i];
    if (!rc && use_ema)
        rc = tal_ema_swap(e);   /* the averaged weights become the model's */
    tal_ema_free(e);
    return rc;
}

tal_detector *tal_detector_open(const char *path, const tal_header *h, const char *stream, const tal_backend *be,
                                int use_ema, int kind, const char *const *sets, int nsets)
{
    tal_det_config cfg;
    char *text = tal_checkpoint_config(path);
    int rc = text ? tal_det_config_from_text(&cfg, text, path) : tal_errcode();
    free(text);
    for (int i = 0; i < nsets && !rc; i++)
        rc = tal_config_set(tal_det_schema, &cfg, sets[i]);
    if (rc || tal_det_config_check(&cfg))
        return NULL;
    if (kind >= 0 && cfg.kind != kind) {
        tal_err(TAL_EINVAL, "'%s' holds a model of kind %s, not %s", path, tal_det_kind_name(cfg.kind),
                tal_det_kind_name(kind));
        return NULL;
    }
    tal_detector *d = tal_detector_new(&cfg, h, be);
    /* sizes first; the class names the model was trained on once loaded */
    if (d && ((rc = tal_detector_compatible(d, h)) || (rc = tal_detector_load(d, path, use_ema)) ||
              (rc = tal_detector_compatible(d, h)))) {
        tal_err_wrap(rc, "cannot use '%s' on '%s'", path, stream);
        tal_detector_free(d);
        return NULL;
    }
    return d;
}

static void json_line(FILE *f, int64_t epoch, int64_t step, double lr, const tal_loss_log *log, double seq_s,
                      double elapsed, const char *kind, const tal_dist *dd)
{
    char b[32];
    fprintf(f, "{\"kind\":\"%s\",\"epoch\":%lld,\"step\":%lld", kind, (long long)epoch, (long long)step);
    tal_json_double(b, lr);
    fprintf(f, ",\"lr\":%s", b);
    tal_json_double(b, log->total);
    fprintf(f, ",\"loss\":%s", b);
    for (int i = 0; i < log->n; i++) {
        tal_json_double(b, log->value[i]);
        fprintf(f, ",\"%s\":%s", log->name[i], b);
    }
    tal_json_double(b, seq_s);
    fprintf(f, ",\"positives\":%d,\"seq_per_s\":%s", log->positives, b);
    tal_json_double(b, elapsed);
    fprintf(f, ",\"time\":%s", b);
    if (dd) {   /* the gradient exchange so far (rank 0's) */
        tal_json_double(b, dd->comm_s);
        fprintf(f, ",\"ranks\":%d,\"comm_time\":%s", dd->size, b);
        tal_json_double(b, dd->wait_s);
        fprintf(f, ",\"comm_wait\":%s,\"comm_bytes\":%llu", b, (unsigned long long)dd->comm_bytes);
    }
    fputs("}\n", f);
    fflush(f);
}

static void progress_line(int64_t epoch, int64_t epochs, int64_t it, int64_t iters, const tal_loss_log *log,
                          double lr, double seq_s, double left)
{
    fprintf(stderr, "\r%s: epoch %lld/%lld step %lld/%lld loss %.4f (", tal_progname(), (long long)epoch + 1,
            (long long)epochs, (long long)it + 1, (long long)iters, log->total);
    for (int i = 0; i < log->n; i++)
        fprintf(stderr, "%s%s %.4f", i ? " " : "", log->name[i], log->value[i]);
    fprintf(stderr, ") lr %.3g %.1f seq/s %d:%02d left\033[K", lr, seq_s, (int)left / 60, (int)left % 60);
}

/* The labelled records of a semi-supervised step: draw j = step * B + b
 * is position j % n of pass j / n, each pass a shuffle of its own. */
typedef struct {
    uint32_t *order;
    int64_t pass;   /* whose order `order` holds; -1: none yet */
} passes;

static void draw_labelled(passes *p, const tal_rng *r_pass, uint32_t n, int64_t step, int B,
                          const tal_record *const *recs, const tal_record **batch)
{
    for (int b = 0; b < B; b++) {
        int64_t j = step * B + b, pass = j / n;
        if (pass != p->pass) {
            tal_rng pr = tal_rng_split(r_pass, (uint64_t)pass);
            for (uint32_t i = 0; i < n; i++)
                p->order[i] = i;
            tal_rng_shuffle_u32(&pr, p->order, n);
            p->pass = pass;
        }
        batch[b] = recs[p->order[j % n]];
    }
}

/* This rank's part of a global batch of B labelled and Bu pseudo-labelled
 * records (labelled first): the records and their global rows. */
static int local_part(const tal_dist *dd, const tal_record **global, int B, int Bu, const tal_record **local,
                      int64_t *rows)
{
    int n = 0;
    for (int part = 0; part < 2; part++) {
        int m = part ? Bu : B, base = part ? B : 0;
        int64_t lo = (int64_t)m * dd->rank / dd->size, hi = (int64_t)m * (dd->rank + 1) / dd->size;
        for (int64_t j = lo; j < hi; j++) {
            local[n] = global[base + j];
            rows[n++] = base + j;
        }
    }
    return n;
}

static int batch_sum(void *ctx, double *v, int n)
{
    tal_dist *dd = ctx;
    return dd->sum_f64(dd, v, (size_t)n);
}

/* The loss terms of the step over all ranks: each rank's are its records'
 * share (their sum over the batch's normaliser). */
static int log_sum(tal_dist *dd, tal_loss_log *log)
{
    double v[TAL_LOSS_TERMS + 2];
    v[0] = log->total;
    v[1] = log->positives;
    for (int i = 0; i < log->n; i++)
        v[2 + i] = log->value[i];
    int rc = dd->sum_f64(dd, v, (size_t)log->n + 2);
    if (rc)
        return rc;
    log->total = v[0];
    log->positives = (int)v[1];
    for (int i = 0; i < log->n; i++)
        log->value[i] = v[2 + i];
    return 0;
}

/* The gradients summed over the ranks (through host memory when they live
 * on a device). */
static int grad_sum(tal_dist *dd, tal_params *P, float **host, size_t *cap)
{
    tal_params_finish_grads(P);
    const tal_backend *be = tal_params_backend(P);
    size_t n = tal_params_size(P);
    float *g = tal_params_grads(P);
    if (be != &tal_backend_cpu) {
        if (tal_reserve(host, cap, n, sizeof **host))
            return TAL_ENOMEM;
        be->download(*host, g, n * sizeof *g);
        g = *host;
    }
    double t = tal_now();
    int rc = dd->sum_f32(dd, g, n);
    dd->comm_s += tal_now() - t;
    if (!rc && be != &tal_backend_cpu)
        be->upload(tal_params_grads(P), g, n * sizeof *g);
    return rc;
}

int tal_train(tal_detector *d, const tal_record *const *recs, uint32_t n, const tal_record *const *unl, uint32_t nu,
              const tal_train_opts *o)
{
    const tal_det_config *c = &d->cfg;
    if (!n)
        return tal_err(TAL_EINVAL, "no training sequences");
    if (nu && !d->ops->semi)
        return tal_err(TAL_EINVAL, "model.kind %s does not learn from pseudo labels", d->ops->name);
    tal_dist *dd = o->dist && o->dist->size > 1 ? o->dist : NULL;
    if (dd && !d->ops->data_parallel)
        return tal_err(TAL_EINVAL, "model.kind %s trains in one process only: run it without mpirun", d->ops->name);
    if (dd && d->ops->data_parallel(d))
        return tal_errcode();
    /* supervised: epochs over the labelled records; semi-supervised:
     * epochs over the pseudo-labelled ones, labelled records beside them */
    int B = c->batch_size < (int)n ? c->batch_size : (int)n;
    int Bu = nu ? (c->semi_batch < (int)nu ? c->semi_batch : (int)nu) : 0;
    uint32_t n_epoch = nu ? nu : n;
    int B_epoch = nu ? Bu : B;
    const tal_record *const *epoch_recs = nu ? unl : recs;
    if (dd && (B < dd->size || (nu && Bu < dd->size))) {
        int pseudo = nu && Bu < B;
        return tal_err(TAL_EINVAL, "%d processes share batches of %d%s records: at most %d processes", dd->size,
                       pseudo ? Bu : B, pseudo ? " pseudo-labelled" : nu ? " labelled" : "", pseudo ? Bu : B);
    }
    int64_t iters = n_epoch / (uint32_t)B_epoch, epochs = (int64_t)c->warmup_epochs + c->epochs, total = epochs * iters;
    tal_sched sched = { .kind = c->schedule == 1 ? TAL_SCHED_COSINE : c->schedule == 2 ? TAL_SCHED_STEP : TAL_SCHED_CONSTANT,
                        .base_lr = c->lr, .warmup_steps = (int64_t)c->warmup_epochs * iters, .total_steps = total,
                        .eta_min = c->eta_min, .gamma = 1 };
    tal_optim_config oc = tal_optim_defaults(c->optimizer);
    oc.weight_decay = (float)c->weight_decay;
    run R = { .d = d };
    tal_rng root, r_init, r_order, r_crop, r_drop, r_labelled;
    tal_rng_seed(&root, (uint64_t)c->seed);
    r_init = tal_rng_split(&root, RNG_INIT);
    r_order = tal_rng_split(&root, RNG_ORDER);
    r_crop = tal_rng_split(&root, RNG_CROP);
    r_drop = tal_rng_split(&root, RNG_DROP);
    r_labelled = tal_rng_split(&root, RNG_ORDER_LABELLED);
    tal_graph *g = NULL;
    uint32_t *order = NULL;
    passes lab = { .pass = -1 };
    const tal_record **batch = NULL, **local = NULL;
    int64_t *rows = NULL;
    float *host_grads = NULL;
    size_t host_cap = 0;
    int rc = 0, show = 0, lead = !dd || dd->rank == 0;
    if (!(R.config = tal_det_config_dump(c)) || !(R.opt = tal_optim_new(d->P, &oc))) {
        rc = tal_errcode() ? tal_errcode() : TAL_ENOMEM;
        goto out;
    }
    if (d->ops->prepare && (rc = d->ops->prepare(d, recs, n)))
        goto out;
    if (!o->resume_path) {
        if ((rc = tal_detector_init(d, &r_init)))
            goto out;
        if (o->init_path) {
            tal_ckpt ic = { .params = d->P };
            int k = tal_checkpoint_load(o->init_path, &ic, TAL_CKPT_PARTIAL);
            free(ic.config);
            if (k < 0) {
                rc = k;
                goto out;
            }
            if (k == 0) {
                rc = tal_err(TAL_EINCOMPAT, "'%s' shares no parameter with this model", o->init_path);
                goto out;
            }
        }
    }
    if (c->ema_decay > 0 && !(R.ema = tal_ema_new(d->P, (float)c->ema_decay))) {
        rc = TAL_ENOMEM;
        goto out;
    }
    if (o->resume_path && (rc = restore(&R, o->resume_path)))
        goto out;
    if (R.step % iters) {
        rc = tal_err(TAL_EINCOMPAT, "'%s' stopped at step %lld, inside an epoch of %lld steps: not this training set",
                     o->resume_path, (long long)R.step, (long long)iters);
        goto out;
    }
    if (!(g = tal_graph_new(o->be)) || !(order = tal_malloc(n_epoch * sizeof *order)) ||
        (nu && !(lab.order = tal_malloc(n * sizeof *lab.order))) ||
        !(batch = tal_malloc((size_t)(B + Bu) * sizeof *batch)) ||
        (dd && (!(local = tal_malloc((size_t)(B + Bu) * sizeof *local)) ||
                !(rows = tal_malloc((size_t)(B + Bu) * sizeof *rows))))) {
        rc = tal_errcode() ? tal_errcode() : TAL_ENOMEM;
        goto out;
    }
    show = lead && o->progress && !tal_quiet() && isatty(STDERR_FILENO);
    double t0 = tal_now(), last_draw = 0;
    int64_t first_step = R.step, ran_epochs = 0;
    for (int64_t epoch = R.step / iters; epoch < epochs; epoch++) {
        tal_rng er = tal_rng_split(&r_order, (uint64_t)epoch);
        for (uint32_t i = 0; i < n_epoch; i++)
            order[i] = i;
        tal_rng_shuffle_u32(&er, order, n_epoch);
        tal_loss_log log = { 0 };
        double lr = 0;
        for (int64_t it = 0; it < iters; it++, R.step++) {
            if (nu)
                draw_labelled(&lab, &r_labelled, n, R.step, B, recs, batch);
            for (int b = 0; b < B_epoch; b++)
                batch[(nu ? B : 0) + b] = epoch_recs[order[it * B_epoch + b]];
            tal_graph_reset(g);
            tal_graph_set_training(g, 1);
            tal_rng sr = tal_rng_split(&r_drop, (uint64_t)R.step), cr = tal_rng_split(&r_crop, (uint64_t)R.step);
            int nb = B + Bu;
            const tal_record *const *mine = batch;
            if (dd) {
                /* drop-path and crops by global row, dropout's masks per rank (nn/graph.h) */
                nb = local_part(dd, batch, B, Bu, local, rows);
                mine = local;
                tal_graph_set_batch(g, &(tal_graph_batch){ .rows = rows, .n = nb, .total = B + Bu, .sum = batch_sum,
                                                            .ctx = dd });
            }
            tal_graph_set_rng(g, &sr);
            tal_tensor *loss = tal_detector_loss(d, g, mine, nb, &cr, &log);
            if (!loss) {
                rc = tal_errcode() ? tal_errcode() : TAL_EINVAL;
                goto out;
            }
            if (dd && (rc = log_sum(dd, &log)))
                goto out;
            for (int k = -1; k < log.n; k++) {
                double v = k < 0 ? log.total : log.value[k];
                if (!isfinite(v)) {
                    rc = tal_err(TAL_EINVAL, "training diverged: step %lld (epoch %lld): loss term '%s' is %s",
                                 (long long)R.step, (long long)epoch + 1, k < 0 ? "total" : log.name[k],
                                 isnan(v) ? "nan" : "infinite");
                    goto out;
                }
            }
            tal_params_zero_grad(d->P);
            if ((rc = tal_backward(g, loss)) || (dd && (rc = grad_sum(dd, d->P, &host_grads, &host_cap))))
                goto out;
            double norm = tal_clip_grad_norm(d->P, c->clip_grad > 0 ? c->clip_grad : 0);
            if (!isfinite(norm)) {
                rc = tal_err(TAL_EINVAL, "training diverged: step %lld (epoch %lld): the gradient norm is %s",
                             (long long)R.step, (long long)epoch + 1, isnan(norm) ? "nan" : "infinite");
                goto out;
            }
            lr = tal_sched_lr(&sched, R.step);
            if ((rc = tal_optim_step(R.opt, (float)lr)))
                goto out;
            if (R.ema)
                tal_ema_update(R.ema);
            double el = tal_now() - t0, seq_s = el > 0 ? (double)(R.step + 1 - first_step) * (B + Bu) / el : 0;
            if (lead && o->metrics && o->log_every > 0 && (R.step + 1) % o->log_every == 0)
                json_line(o->metrics, epoch + 1, R.step + 1, lr, &log, seq_s, el, "step", dd);
            if (show && (tal_now() - last_draw > 0.25 || it + 1 == iters)) {
                double left = seq_s > 0 ? (double)(total - R.step - 1) * (B + Bu) / seq_s : 0;
                progress_line(epoch, epochs, it, iters, &log, lr, seq_s, left);
                last_draw = tal_now();
            }
        }
        double el = tal_now() - t0;
        if (lead && o->metrics)
            json_line(o->metrics, epoch + 1, R.step, lr, &log,
                      el > 0 ? (double)(R.step - first_step) * (B + Bu) / el : 0, el, "epoch", dd);
        int every = c->checkpoint_every;
        if (lead && o->ckpt_path && ((every > 0 && (epoch + 1) % every == 0) || epoch + 1 == epochs) &&
            (rc = save(&R, o->ckpt_path)))
            goto out;
        if (o->stop_after_epochs > 0 && ++ran_epochs >= o->stop_after_epochs)
            break;
    }
    if (show)
        fputs("\r\033[K", stderr);
out:
    if (rc && show)
        fputs("\n", stderr);
    tal_graph_free(g);
    tal_ema_free(R.ema);
    tal_optim_free(R.opt);
    free(R.config);
    free(order);
    free(lab.order);
    free(batch);
    free(local);
    free(rows);
    free(host_grads);
    return rc;
}
