/* dist.c — tal-train's MPI processes (see dist.h).  Compiled with
 * TAL_HAVE_MPI when make finds MPI; without it, only the refusal. */
#include "dist.h"
#include "../common/cli.h"
#include "../common/train_args.h"
#include "../../lib/backends/backend.h"
#include "../../lib/util/error.h"
#include "../../lib/util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if TAL_HAVE_MPI

#include <limits.h>
#include <mpi.h>
#include <signal.h>
#include <unistd.h>

#define MAX_SHARED 4

typedef struct {
    tal_dist pub;
    float *fbuf;       /* this rank's chunk from every rank */
    size_t fcap;
    double *dbuf;
    size_t dcap;
    int *counts, *displs, *rcounts, *rdispls;
    MPI_Comm node;     /* the ranks that share this machine's memory */
    int node_rank, node_size;
    MPI_Win win[MAX_SHARED];   /* node-shared features of loaded streams */
    int nwin;
} mpi_dist;

static int mpi_fail(int code, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, msg, &len) != MPI_SUCCESS)
        snprintf(msg, sizeof msg, "error %d", code);
    return tal_err(TAL_EIO, "%s failed (%s): another rank has stopped or cannot be reached", what, msg);
}

/* Reduce-scatter then all-gather, each rank owning a chunk: rank r gets
 * chunk r of every rank's vector, adds them in rank order 0, 1, ..., N-1
 * (so the bits do not depend on MPI's reduction order, which it does not
 * promise), and every rank gathers the summed chunks.  The bytes each
 * rank moves are those of a ring all-reduce: 2 (N-1)/N of the vector. */
static int sum_f32(tal_dist *dd, float *v, size_t n)
{
    mpi_dist *m = (mpi_dist *)dd;
    int N = dd->size, r = dd->rank;
    if (n > INT_MAX)
        return tal_err(TAL_EINVAL, "a gradient of %zu values is more than one MPI exchange carries", n);
    for (int j = 0; j < N; j++) {
        size_t lo = n * (size_t)j / (size_t)N, hi = n * (size_t)(j + 1) / (size_t)N;
        m->counts[j] = (int)(hi - lo);
        m->displs[j] = (int)lo;
    }
    int mine = m->counts[r];
    for (int j = 0; j < N; j++) {
        m->rcounts[j] = mine;
        m->rdispls[j] = j * mine;
    }
    if (tal_reserve(&m->fbuf, &m->fcap, (size_t)N * (size_t)(mine ? mine : 1), sizeof *m->fbuf))
        return TAL_ENOMEM;
    /* the ranks meet first, so that the exchange's time is told apart from
     * waiting for the slowest rank's backward pass */
    double t = MPI_Wtime();
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    dd->wait_s += MPI_Wtime() - t;
    if (rc != MPI_SUCCESS)
        return mpi_fail(rc, "the gradient exchange (MPI_Barrier)");
    rc = MPI_Alltoallv(v, m->counts, m->displs, MPI_FLOAT, m->fbuf, m->rcounts, m->rdispls, MPI_FLOAT,
                           MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS)
        return mpi_fail(rc, "the gradient exchange (MPI_Alltoallv)");
    float *acc = v + m->displs[r];
    for (int i = 0; i < mine; i++) {
        float s = m->fbuf[i];
        for (int j = 1; j < N; j++)
            s += m->fbuf[(size_t)j * mine + i];
        acc[i] = s;
    }
    rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, v, m->counts, m->displs, MPI_FLOAT, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS)
        return mpi_fail(rc, "the gradient exchange (MPI_Allgatherv)");
    /* received: this rank's chunk from N-1 ranks, the other chunks once */
    dd->comm_bytes += ((uint64_t)(N - 1) * (uint64_t)mine + (uint64_t)(n - (size_t)mine)) * sizeof *v;
    return 0;
}

/* A few scalars: every rank gathers all ranks' values and adds them in
 * rank order. */
static int sum_f64(tal_dist *dd, double *v, size_t n)
{
    mpi_dist *m = (mpi_dist *)dd;
    int N = dd->size;
    if (n > INT_MAX / (size_t)N)
        return tal_err(TAL_EINVAL, "%zu values are more than one MPI exchange carries", n);
    if (tal_reserve(&m->dbuf, &m->dcap, (size_t)N * (n ? n : 1), sizeof *m->dbuf))
        return TAL_ENOMEM;
    int rc = MPI_Allgather(v, (int)n, MPI_DOUBLE, m->dbuf, (int)n, MPI_DOUBLE, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS)
        return mpi_fail(rc, "an exchange of loss counts (MPI_Allgather)");
    for (size_t i = 0; i < n; i++) {
        double s = m->dbuf[i];
        for (int j = 1; j < N; j++)
            s += m->dbuf[(size_t)j * n + i];
        v[i] = s;
    }
    return 0;
}

static char stop_line[256];
static struct sigaction term_before;

/* The launcher ends the job when a rank dies: say so on every rank, then
 * what the tool does on SIGTERM (cli.c: drop unfinished outputs, die). */
static void on_term(int sig)
{
    ssize_t k = write(STDERR_FILENO, stop_line, strlen(stop_line));
    (void)k;
    if (term_before.sa_handler != SIG_DFL && term_before.sa_handler != SIG_IGN)
        term_before.sa_handler(sig);
    _exit(1);
}

int cli_dist_built(void) { return 1; }

int cli_dist_start(tal_dist **out, int threads_given)
{
    *out = NULL;
    if (cli_mpi_launch_size(NULL) <= 1)
        return 0;
    /* one GPU per rank on a node, unless told otherwise (TAL_CUDA_DEVICE),
     * or unless the launcher already gives each rank its own
     * (CUDA_VISIBLE_DEVICES) */
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    if (!local)
        local = getenv("MPI_LOCALRANKID");
    if (local && !getenv("TAL_CUDA_DEVICE") && !getenv("CUDA_VISIBLE_DEVICES"))
        setenv("TAL_CUDA_DEVICE", local, 0);
    /* the node's cores shared among its ranks, unless told */
    const char *local_size = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    long ranks_here = local_size ? strtol(local_size, NULL, 10) : 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (!threads_given && !getenv("OMP_NUM_THREADS") && ranks_here > 1 && cores > 0)
        tal_cpu_set_threads((int)(cores / ranks_here > 1 ? cores / ranks_here : 1));
    int rank = 0, size = 1, provided = 0;
    /* OpenMP threads run inside a step; only the main thread calls MPI */
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return cli_error("cannot join the MPI job (MPI_Init_thread failed)");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long launched = cli_mpi_launch_size(NULL);
    if (size != launched) {
        /* e.g. another MPI's launcher: each process alone would train the
         * whole model and write the same checkpoint */
        cli_error("the launcher started %ld ranks but MPI sees %d: is mpirun from the MPI this tal-train was "
                  "built with?", launched, size);
        MPI_Finalize();
        return 1;
    }
    static char name[64];
    snprintf(name, sizeof name, "%s (rank %d of %d)", tal_progname(), rank, size);
    tal_set_progname(name);
    snprintf(stop_line, sizeof stop_line,
             "%s: stopped by the MPI launcher: another rank ended (its message or the launcher's says why); "
             "the checkpoint on disk is whole: --resume continues from it\n", name);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &term_before);
    if (rank > 0)
        tal_set_quiet(2);
    mpi_dist *m = tal_calloc(1, sizeof *m);
    if (m)
        m->counts = tal_malloc(4 * (size_t)size * sizeof *m->counts);
    if (!m || !m->counts) {
        free(m);
        tal_err(TAL_ENOMEM, "out of memory");
        return cli_dist_end(NULL, cli_fail());
    }
    m->displs = m->counts + size;
    m->rcounts = m->displs + size;
    m->rdispls = m->rcounts + size;
    m->pub = (tal_dist){ .rank = rank, .size = size, .sum_f32 = sum_f32, .sum_f64 = sum_f64 };
    m->node = MPI_COMM_NULL;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &m->node) != MPI_SUCCESS) {
        m->node = MPI_COMM_NULL;
        m->node_size = 1;
    } else {
        MPI_Comm_set_errhandler(m->node, MPI_ERRORS_RETURN);
        MPI_Comm_rank(m->node, &m->node_rank);
        MPI_Comm_size(m->node, &m->node_size);
    }
    *out = &m->pub;
    return 0;
}

/* Floats from the start of the window to each record's features (64-byte
 * aligned), and their total; records without features get none. */
static size_t feature_layout(const tal_recset *set, size_t *off)
{
    size_t at = 0;
    for (uint32_t i = 0; i < set->n; i++) {
        off[i] = at;
        at += ((size_t)set->v[i].T * set->v[i].D + 15) / 16 * 16;
    }
    return at;
}

int cli_dist_load(tal_dist *dd, tal_recset *set, const char *path, int (*keep)(const tal_record *r, void *ctx),
                  void *ctx, uint32_t *skipped)
{
    mpi_dist *m = (mpi_dist *)dd;
    if (!dd || m->node_size <= 1 || m->nwin == MAX_SHARED)
        return tal_recset_load(set, path, keep, ctx, skipped);
    /* local rank 0 reads the features, the others the rest of each record */
    int lead = m->node_rank == 0;
    int rc = tal_recset_load_skip(set, path, keep, ctx, skipped, lead ? 0 : TAL_HAS_FEATURES);
    size_t *off = rc ? NULL : tal_malloc(((size_t)set->n + 1) * sizeof *off);
    if (!rc && !off)
        rc = TAL_ENOMEM;
    if (rc)
        return rc;
    size_t total = feature_layout(set, off);
    /* the ranks of a node must have read the same stream */
    unsigned long long mine[2] = { total, set->n }, lo[2], hi[2];
    if (MPI_Allreduce(mine, lo, 2, MPI_UNSIGNED_LONG_LONG, MPI_MIN, m->node) != MPI_SUCCESS ||
        MPI_Allreduce(mine, hi, 2, MPI_UNSIGNED_LONG_LONG, MPI_MAX, m->node) != MPI_SUCCESS) {
        free(off);
        return tal_err(TAL_EIO, "'%s': the ranks of this machine could not compare what they read", path);
    }
    if (lo[0] != hi[0] || lo[1] != hi[1]) {
        free(off);
        return tal_err(TAL_EINVAL, "'%s': the ranks of this machine read different streams (did it change "
                       "while they read it?)", path);
    }
    float *base = NULL;
    MPI_Win win;
    int k = MPI_Win_allocate_shared(lead ? (MPI_Aint)(total ? total : 1) * (MPI_Aint)sizeof(float) : 0,
                                    sizeof(float), MPI_INFO_NULL, m->node, &base, &win);
    if (k != MPI_SUCCESS) {
        free(off);
        return mpi_fail(k, "sharing the features among this machine's ranks (MPI_Win_allocate_shared)");
    }
    if (!lead) {
        MPI_Aint bytes;
        int unit;
        if ((k = MPI_Win_shared_query(win, 0, &bytes, &unit, &base)) != MPI_SUCCESS) {
            free(off);
            MPI_Win_free(&win);
            return mpi_fail(k, "sharing the features among this machine's ranks (MPI_Win_shared_query)");
        }
    }
    for (uint32_t i = 0; i < set->n; i++) {
        tal_record *r = &set->v[i];
        if (!r->D)
            continue;
        if (lead) {
            /* one record at a time: the private copy goes as the shared one fills */
            memcpy(base + off[i], r->feat, (size_t)r->T * r->D * sizeof *base);
            free(r->feat);
        }
    }
    /* the copies are in before anyone reads them */
    MPI_Barrier(m->node);
    for (uint32_t i = 0; i < set->n; i++) {
        tal_record *r = &set->v[i];
        if (!r->D)
            continue;
        r->feat = base + off[i];
        r->feat_cap = 0;   /* not the record's to free or grow (cli_dist_unload) */
        r->present |= TAL_HAS_FEATURES;
    }
    free(off);
    m->win[m->nwin++] = win;
    return 0;
}

void cli_dist_unload(tal_dist *dd, tal_recset *set)
{
    mpi_dist *m = (mpi_dist *)dd;
    if (dd && m->node_size > 1)
        for (uint32_t i = 0; i < set->n; i++)
            if (set->v[i].D && !set->v[i].feat_cap)
                set->v[i].feat = NULL;
    tal_recset_free(set);
}

int cli_dist_end(tal_dist *dd, int status)
{
    int on = 0;
    MPI_Initialized(&on);
    if (!on)   /* outside a job: there is no dd either */
        return status;
    if (status) {
        fflush(NULL);
        MPI_Abort(MPI_COMM_WORLD, status);
    }
    if (dd) {
        mpi_dist *m = (mpi_dist *)dd;
        for (int i = 0; i < m->nwin; i++)
            MPI_Win_free(&m->win[i]);
        if (m->node != MPI_COMM_NULL)
            MPI_Comm_free(&m->node);
        free(m->fbuf);
        free(m->dbuf);
        free(m->counts);
        free(m);
    }
    MPI_Finalize();
    return status;
}

#else   /* built without MPI */

int cli_dist_built(void) { return 0; }

int cli_dist_start(tal_dist **out, int threads_given)
{
    (void)threads_given;
    *out = NULL;
    return cli_train_refuse_ranks("this tal-train was built without MPI (install libopenmpi-dev and rebuild: "
                                  "make MPI=1)");
}

int cli_dist_end(tal_dist *dd, int status)
{
    (void)dd;
    return status;
}

int cli_dist_load(tal_dist *dd, tal_recset *set, const char *path, int (*keep)(const tal_record *r, void *ctx),
                  void *ctx, uint32_t *skipped)
{
    (void)dd;
    return tal_recset_load(set, path, keep, ctx, skipped);
}

void cli_dist_unload(tal_dist *dd, tal_recset *set)
{
    (void)dd;
    tal_recset_free(set);
}

#endif
