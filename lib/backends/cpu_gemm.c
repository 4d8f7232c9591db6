/* cpu_gemm.c — sgemm through oneDNN or OpenBLAS, threaded by our OpenMP pool.
 *
 * Which library.  oneDNN (when built with it: BLAS=auto finds libdnnl)
 * chooses its kernels from the CPU it runs on; OpenBLAS obeys
 * OPENBLAS_CORETYPE, which a machine may pin below what the CPU can do.
 * Measured on the development machine (AVX-512, OPENBLAS_CORETYPE=Haswell,
 * 2 threads, the network's shapes 512x4608x1536, 4608x512x1536 and
 * 1536x512x4608, and 2048^3): oneDNN 330-410 GFLOP/s, OpenBLAS 190-210;
 * with OpenBLAS unrestricted, 280-375 against oneDNN's 330-410.  Both are
 * called the same way, one single-threaded product per block below.
 *
 * Threading choice.  Debian's default libopenblas is the pthread build,
 * which keeps its own worker threads; those spin for a while after each
 * call, as do the OpenMP workers after each parallel region.  On a
 * 2-core machine two pools that each spin steal the cores from each other.
 * So OpenBLAS is told to use one thread, and a large product is split
 * here into column (or row) blocks, one per OpenMP thread, each handed to
 * a single-threaded cblas_sgemm.  One pool does all the work, the split is
 * a fixed function of the shape and the thread count (results are
 * bit-identical run to run), and the same code is right for the pthread,
 * OpenMP and serial builds of OpenBLAS: a call from inside a parallel
 * region simply runs on its caller's thread.  Measured on the development
 * machine: 198-202 GFLOP/s for the (512x2304x512) and (512x2304x2048)
 * products with either scheme, so nothing is lost by splitting here.
 */
#include "cpu.h"

#ifdef TAL_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif
#include <cblas.h>
#include <omp.h>
#include <pthread.h>
#include <time.h>

static int cpu_threads;  /* 0: OpenMP's default */

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_single(void) { openblas_set_num_threads(1); }

void tal_cpu_set_threads(int n)
{
    cpu_threads = n > 0 ? n : 0;
    if (n > 0)
        omp_set_num_threads(n);
}

int tal_cpu_threads(void) { return cpu_threads > 0 ? cpu_threads : omp_get_max_threads(); }

static void gemm1(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                  float beta, float *C, int ldc)
{
#ifdef TAL_HAVE_ONEDNN
    /* row-major, like cblas with CblasRowMajor; called inside our parallel
     * region it runs on its caller's thread, as oneDNN never nests.  It
     * fails only on bad arguments, which the callers never pass. */
    dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A,
                lda, B, ldb, beta, C, ldc);
#endif
}

/* Accounting for benchmarks (off unless asked for): how much of a step is
 * matrix products, and at what rate.  Products run from inside a parallel
 * region count their operations but not their time, which their caller's
 * region already spends. */
static int acct_on;
static uint64_t acct_calls, acct_flops;
static double acct_seconds;

void tal_cpu_gemm_account(int on, tal_cpu_gemm_stats *s)
{
    if (s)
        *s = (tal_cpu_gemm_stats){ acct_calls, (double)acct_flops, acct_seconds };
    acct_on = on;
    acct_calls = acct_flops = 0;
    acct_seconds = 0;
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void split_sgemm(int nt, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc);

void tal_cpu_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                   int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    pthread_once(&blas_once, blas_single);
    int nested = omp_in_parallel();
    if (!acct_on) {
        split_sgemm(nested ? 1 : tal_cpu_threads(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    __atomic_fetch_add(&acct_calls, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&acct_flops, 2 * (uint64_t)M * (uint64_t)N * (uint64_t)(K > 0 ? K : 0), __ATOMIC_RELAXED);
    double t0 = nested ? 0 : seconds();
    split_sgemm(nested ? 1 : tal_cpu_threads(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (!nested)
        acct_seconds += seconds() - t0;
}

static void split_sgemm(int nt, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc)
{
    double work = (double)M * N * (K > 0 ? K : 1);
    if (nt <= 1 || work < (double)(1 << 21)) {
        gemm1(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    /* split the longer output side into nt blocks, multiples of 16 */
    int split_n = N >= M;
    int len = split_n ? N : M;
    int blk = (len + nt - 1) / nt;
    blk = (blk + 15) & ~15;
    int nblk = (len + blk - 1) / blk;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int i = 0; i < nblk; i++) {
        int lo = i * blk, n = len - lo < blk ? len - lo : blk;
        if (split_n)
            gemm1(ta, tb, M, n, K, alpha, A, lda, tb ? B + (size_t)lo * ldb : B + lo, ldb, beta, C + lo, ldc);
        else
            gemm1(ta, tb, n, N, K, alpha, ta ? A + lo : A + (size_t)lo * lda, lda, B, ldb, beta,
                  C + (size_t)lo * ldc, ldc);
    }
}
