/* cuda_backend.cu — the CUDA backend: start-up, the sticky error state,
 * the device allocator, cuBLAS, host transfers and the function table.
 *
 * Start-up (tal_backend_cuda, once): a GPU must be visible, this build must
 * hold code for its architecture, and cuBLAS must open (dlopen, so that the
 * binaries load on machines without CUDA; see lib/backends/cuda.h).
 *
 * Memory: every byte of device memory the backend uses comes from one
 * allocator over cudaMalloc (never managed memory).  Freed blocks are kept
 * in a cache and handed out again for requests of nearly the same size, so
 * that a training loop, whose graph asks for the same blocks every step,
 * stops calling cudaMalloc after its first steps.  When cudaMalloc fails the
 * cache is returned to the driver and the request tried once more.
 *
 * All work runs in order on the legacy default stream: a host transfer
 * waits for the kernels before it, and freed memory is only ever reused by
 * work queued after its last use. */
#include "cuda_common.cuh"

#include <cublas_v2.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the sticky error ------------------------------------------------------ */

static int g_status;            /* 0 or the first error's code */
static char g_msg[512];
static int g_sync_each;         /* TAL_CUDA_SYNC=1: wait after every launch */

bool tcu_ok() { return g_status == 0; }

/* "cudaMemcpy(dst, ...)" -> "cudaMemcpy" */
static void call_name(char *out, size_t size, const char *call)
{
    size_t n = strcspn(call, "(");
    if (n >= size)
        n = size - 1;
    memcpy(out, call, n);
    out[n] = 0;
}

static const char *base_name(const char *file)
{
    const char *k = strstr(file, "kernels/");
    return k ? k : file;
}

void tcu_fail_msg(const char *call, const char *file, int line, const char *msg)
{
    if (g_status)
        return;
    char name[96];
    call_name(name, sizeof name, call);
    snprintf(g_msg, sizeof g_msg, "CUDA error: %s failed (%s:%d): %s", name, base_name(file), line, msg);
    g_status = TAL_EIO;
    tal_err(g_status, "%s", g_msg);
}

void tcu_fail(const char *call, const char *file, int line, cudaError_t e)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
    tcu_fail_msg(call, file, line, msg);
}

void tcu_launched(const char *kernel, const char *file, int line)
{
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess && g_sync_each)
        e = cudaDeviceSynchronize();
    if (e != cudaSuccess) {
        char call[128];
        snprintf(call, sizeof call, "launch of %s", kernel);
        tcu_fail(call, file, line, e);
    }
}

static int cuda_status(void)
{
    if (g_status)
        tal_err(g_status, "%s", g_msg);
    return g_status;
}

/* ---- the allocator ---------------------------------------------------------- */

typedef struct {
    void *p;
    size_t bytes;
} dblock;

static pthread_mutex_t g_mem_lock = PTHREAD_MUTEX_INITIALIZER;
static dblock *g_live, *g_cache;
static size_t g_nlive, g_capl, g_ncache, g_capc;
static size_t g_live_bytes, g_peak_live, g_reserved, g_peak_reserved;

/* requests are rounded to 512 bytes (small) or 2 MiB (large) */
static size_t round_size(size_t b)
{
    size_t q = b < ((size_t)1 << 20) ? 512 : ((size_t)2 << 20);
    return (b + q - 1) / q * q;
}

static int push(dblock **v, size_t *n, size_t *cap, dblock d)
{
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        dblock *nv = (dblock *)realloc(*v, nc * sizeof *nv);
        if (!nv)
            return -1;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = d;
    return 0;
}

static void release_cache(void)
{
    for (size_t i = 0; i < g_ncache; i++) {
        TCU_CHECK(cudaFree(g_cache[i].p));
        g_reserved -= g_cache[i].bytes;
    }
    g_ncache = 0;
}

void *tcu_alloc(size_t bytes)
{
    size_t want = round_size(bytes ? bytes : 1);
    void *p = NULL;
    pthread_mutex_lock(&g_mem_lock);
    /* the smallest cached block that fits without wasting more than a quarter */
    size_t best = g_ncache;
    for (size_t i = 0; i < g_ncache; i++)
        if (g_cache[i].bytes >= want && g_cache[i].bytes - want <= want / 4 &&
            (best == g_ncache || g_cache[i].bytes < g_cache[best].bytes))
            best = i;
    dblock d = { NULL, want };
    if (best < g_ncache) {
        d = g_cache[best];
        g_cache[best] = g_cache[--g_ncache];
    } else if (tcu_ok()) {
        cudaError_t e = cudaMalloc(&p, want);
        if (e == cudaErrorMemoryAllocation) {
            (void)cudaGetLastError();   /* not sticky: give the cache back and retry */
            release_cache();
            e = cudaMalloc(&p, want);
        }
        if (e == cudaErrorMemoryAllocation) {
            (void)cudaGetLastError();
            p = NULL;
        } else if (e != cudaSuccess) {
            tcu_fail("cudaMalloc", __FILE__, __LINE__, e);
            p = NULL;
        }
        if (p) {
            d.p = p;
            g_reserved += want;
            if (g_reserved > g_peak_reserved)
                g_peak_reserved = g_reserved;
        }
    }
    if (d.p && push(&g_live, &g_nlive, &g_capl, d)) {
        push(&g_cache, &g_ncache, &g_capc, d);   /* cannot track it: keep it cached (push rarely fails twice) */
        d.p = NULL;
    }
    if (d.p) {
        g_live_bytes += d.bytes;
        if (g_live_bytes > g_peak_live)
            g_peak_live = g_live_bytes;
    }
    pthread_mutex_unlock(&g_mem_lock);
    return d.p;
}

void tcu_free(void *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&g_mem_lock);
    for (size_t i = g_nlive; i-- > 0;)
        if (g_live[i].p == p) {
            dblock d = g_live[i];
            g_live[i] = g_live[--g_nlive];
            g_live_bytes -= d.bytes;
            if (push(&g_cache, &g_ncache, &g_capc, d)) {
                TCU_CHECK(cudaFree(d.p));
                g_reserved -= d.bytes;
            }
            break;
        }
    pthread_mutex_unlock(&g_mem_lock);
}

static void *scratch_p;
static size_t scratch_bytes;

void *tcu_scratch(size_t bytes)
{
    if (bytes <= scratch_bytes)
        return scratch_p;
    tcu_free(scratch_p);
    size_t want = bytes < ((size_t)1 << 20) ? ((size_t)1 << 20) : bytes + bytes / 2;
    scratch_p = tcu_alloc(want);
    scratch_bytes = scratch_p ? want : 0;
    if (!scratch_p)
        tcu_fail_msg("scratch allocation", __FILE__, __LINE__, "out of device memory");
    return scratch_p;
}

extern "C" void tal_cuda_mem_stats(tal_cuda_mem *m)
{
    pthread_mutex_lock(&g_mem_lock);
    m->live = g_live_bytes;
    m->peak_live = g_peak_live;
    m->reserved = g_reserved;
    m->peak_reserved = g_peak_reserved;
    pthread_mutex_unlock(&g_mem_lock);
}

extern "C" void tal_cuda_mem_reset_peak(void)
{
    pthread_mutex_lock(&g_mem_lock);
    g_peak_live = g_live_bytes;
    g_peak_reserved = g_reserved;
    pthread_mutex_unlock(&g_mem_lock);
}

/* ---- cuBLAS, opened at start-up ------------------------------------------------ */

typedef cublasStatus_t (*fn_create)(cublasHandle_t *);
typedef cublasStatus_t (*fn_setmath)(cublasHandle_t, cublasMath_t);
typedef cublasStatus_t (*fn_setws)(cublasHandle_t, void *, size_t);
typedef cublasStatus_t (*fn_sgemm)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const float *,
                                   const float *, int, const float *, int, const float *, float *, int);
typedef cublasStatus_t (*fn_sgemm_sb)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                                      const float *, const float *, int, long long, const float *, int, long long,
                                      const float *, float *, int, long long, int);
typedef const char *(*fn_status_string)(cublasStatus_t);

static struct {
    void *lib;
    cublasHandle_t h;
    fn_setmath set_math;
    fn_sgemm sgemm;
    fn_sgemm_sb sgemm_sb;
    fn_status_string status_string;
    int tf32;
} blas;

#define CUBLAS_SONAME_(v) "libcublas.so." #v
#define CUBLAS_SONAME(v) CUBLAS_SONAME_(v)

#ifndef TAL_CUDA_LIBDIR
#define TAL_CUDA_LIBDIR "/usr/local/cuda/lib64"
#endif

static void blas_check(cublasStatus_t s, const char *call, const char *file, int line)
{
    if (s == CUBLAS_STATUS_SUCCESS)
        return;
    char msg[160];
    snprintf(msg, sizeof msg, "%s (cuBLAS status %d)", blas.status_string ? blas.status_string(s) : "cuBLAS error",
             (int)s);
    tcu_fail_msg(call, file, line, msg);
}
#define BLAS_CHECK(call) blas_check((call), #call, __FILE__, __LINE__)

/* 0, or -1 with why[] filled */
static int blas_open(char *why, size_t size)
{
    const char *names[] = { CUBLAS_SONAME(CUBLAS_VER_MAJOR), TAL_CUDA_LIBDIR "/" CUBLAS_SONAME(CUBLAS_VER_MAJOR),
                            "libcublas.so" };
    const char *err = "";
    for (size_t i = 0; i < sizeof names / sizeof *names && !blas.lib; i++) {
        blas.lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!blas.lib && i == 0)
            err = dlerror();
    }
    if (!blas.lib) {
        snprintf(why, size, "cannot open cuBLAS (%s): %s", CUBLAS_SONAME(CUBLAS_VER_MAJOR), err);
        return -1;
    }
    fn_create create = (fn_create)dlsym(blas.lib, "cublasCreate_v2");
    fn_setws set_ws = (fn_setws)dlsym(blas.lib, "cublasSetWorkspace_v2");
    blas.set_math = (fn_setmath)dlsym(blas.lib, "cublasSetMathMode");
    blas.sgemm = (fn_sgemm)dlsym(blas.lib, "cublasSgemm_v2");
    blas.sgemm_sb = (fn_sgemm_sb)dlsym(blas.lib, "cublasSgemmStridedBatched");
    blas.status_string = (fn_status_string)dlsym(blas.lib, "cublasGetStatusString");
    if (!create || !set_ws || !blas.set_math || !blas.sgemm || !blas.sgemm_sb) {
        snprintf(why, size, "cuBLAS (%s) lacks a function this build needs", CUBLAS_SONAME(CUBLAS_VER_MAJOR));
        return -1;
    }
    cublasStatus_t s = create(&blas.h);
    if (s != CUBLAS_STATUS_SUCCESS) {
        snprintf(why, size, "cannot start cuBLAS: %s", blas.status_string ? blas.status_string(s) : "error");
        return -1;
    }
    /* cuBLAS's workspace from our allocator (32 MiB covers Hopper's needs) */
    size_t wsb = (size_t)32 << 20;
    void *ws = tcu_alloc(wsb);
    if (ws)
        BLAS_CHECK(set_ws(blas.h, ws, wsb));
    const char *tf = getenv("TAL_CUDA_TF32");
    blas.tf32 = tf && *tf && strcmp(tf, "0");
    BLAS_CHECK(blas.set_math(blas.h, blas.tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH));
    return tcu_ok() ? 0 : -1;
}

extern "C" void tal_cuda_set_tf32(int on)
{
    blas.tf32 = on != 0;
    if (blas.h)
        BLAS_CHECK(blas.set_math(blas.h, blas.tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH));
}

static cublasOperation_t op_of(int t) { return t ? CUBLAS_OP_T : CUBLAS_OP_N; }

__global__ void k_scale(float *C, int ldc, int M, int N, float beta)
{
    TCU_FOR(i, (int64_t)M * N) {
        int64_t r = i / N, c = i - r * N;
        float *p = C + r * ldc + c;
        *p = beta == 0.0f ? 0.0f : beta * *p;
    }
}

/* Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLAS
 * gets B first, M and N swapped. */
void tcu_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
               float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0 || !tcu_ok())
        return;
    if (K <= 0) {   /* C = beta C (cuBLAS would reject the leading dimensions) */
        TCU_LAUNCH(k_scale, tcu_blocks((int64_t)M * N, TCU_THREADS), TCU_THREADS, 0, C, ldc, M, N, beta);
        return;
    }
    BLAS_CHECK(blas.sgemm(blas.h, op_of(tb), op_of(ta), N, M, K, &alpha, B, ldb, A, lda, &beta, C, ldc));
}

void tcu_sgemm_batched(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, long long sA,
                       const float *B, int ldb, long long sB, float beta, float *C, int ldc, long long sC, int batch)
{
    if (M <= 0 || N <= 0 || batch <= 0 || !tcu_ok())
        return;
    if (batch == 1 || K <= 0) {
        for (int i = 0; i < batch; i++)
            tcu_sgemm(ta, tb, M, N, K, alpha, A + i * sA, lda, B + i * sB, ldb, beta, C + i * sC, ldc);
        return;
    }
    BLAS_CHECK(blas.sgemm_sb(blas.h, op_of(tb), op_of(ta), N, M, K, &alpha, B, ldb, sB, A, lda, sA, &beta, C, ldc, sC,
                             batch));
}

/* ---- memory entries of the table ------------------------------------------------ */

static void *cuda_alloc(size_t bytes) { return tcu_alloc(bytes); }
static void cuda_free(void *p) { tcu_free(p); }

static void cuda_upload(void *dst, const void *host, size_t bytes)
{
    if (bytes && tcu_ok())
        TCU_CHECK(cudaMemcpy(dst, host, bytes, cudaMemcpyHostToDevice));
}

static void cuda_download(void *host, const void *src, size_t bytes)
{
    if (bytes && tcu_ok())
        TCU_CHECK(cudaMemcpy(host, src, bytes, cudaMemcpyDeviceToHost));
    else if (bytes)
        memset(host, 0, bytes);   /* after an error: defined contents, the status says why */
}

static void cuda_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                       int ldb, float beta, float *C, int ldc)
{
    tcu_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static const tal_backend cuda_backend = {
    .name = "cuda",
    .status = cuda_status,
    .alloc = cuda_alloc,
    .free = cuda_free,
    .zero = tcu_zero,
    .fill = tcu_fill,
    .copy = tcu_copy,
    .upload = cuda_upload,
    .download = cuda_download,
    .sgemm = cuda_sgemm,
    .strided_copy = tcu_strided_copy,
    .strided_store = tcu_strided_store,
    .copy2d = tcu_copy2d,
    .axpy = tcu_axpy,
    .affine = tcu_affine,
    .binary_forward = tcu_binary_forward,
    .broadcast_reduce = tcu_broadcast_reduce,
    .clamp_forward = tcu_clamp_forward,
    .clamp_backward = tcu_clamp_backward,
    .dropout_forward = tcu_dropout_forward,
    .dropout_backward = tcu_dropout_backward,
    .rowscale = tcu_rowscale,
    .conv1d_forward = tcu_conv1d_forward,
    .conv1d_backward = tcu_conv1d_backward,
    .layernorm_forward = tcu_layernorm_forward,
    .layernorm_backward = tcu_layernorm_backward,
    .layernorm_act_forward = tcu_layernorm_act_forward,
    .layernorm_act_backward = tcu_layernorm_act_backward,
    .act_forward = tcu_act_forward,
    .act_backward = tcu_act_backward,
    .softmax_forward = tcu_softmax_forward,
    .softmax_backward = tcu_softmax_backward,
    .maxpool1d_forward = tcu_maxpool1d_forward,
    .maxpool1d_backward = tcu_maxpool1d_backward,
    .topk_mean_forward = tcu_topk_mean_forward,
    .topk_mean_backward = tcu_topk_mean_backward,
    .gather_forward = tcu_gather_forward,
    .gather_backward = tcu_gather_backward,
    .reduce_forward = tcu_reduce_forward,
    .reduce_backward = tcu_reduce_backward,
    .resample_forward = tcu_resample_forward,
    .resample_backward = tcu_resample_backward,
    .attn_forward = tcu_attn_forward,
    .attn_backward = tcu_attn_backward,
    .bce_forward = tcu_bce_forward,
    .bce_backward = tcu_bce_backward,
    .focal_forward = tcu_focal_forward,
    .focal_backward = tcu_focal_backward,
    .qfl_forward = tcu_qfl_forward,
    .qfl_backward = tcu_qfl_backward,
    .ce_forward = tcu_ce_forward,
    .ce_backward = tcu_ce_backward,
    .pn_forward = tcu_pn_forward,
    .pn_backward = tcu_pn_backward,
    .diou_forward = tcu_diou_forward,
    .diou_backward = tcu_diou_backward,
    .bcep_forward = tcu_bcep_forward,
    .bcep_backward = tcu_bcep_backward,
    .l2norm_forward = tcu_l2norm_forward,
    .l2norm_backward = tcu_l2norm_backward,
    .adam_update = tcu_adam_update,
    .sgd_update = tcu_sgd_update,
    .ema_update = tcu_ema_update,
    .sumsq = tcu_sumsq,
};

/* ---- start-up ------------------------------------------------------------------- */

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_started;            /* 1: usable */
static char g_why[512];          /* why not */
static char g_name[320];

/* a kernel to ask the runtime whether this build has code for the GPU */
__global__ void k_probe(int *p)
{
    if (p)
        *p = 1;
}

static void start(void)
{
    const char *s = getenv("TAL_CUDA_SYNC");
    g_sync_each = s && *s && strcmp(s, "0");
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        /* the call and the runtime's words, and what they mean here: the
         * runtime says "insufficient driver" when there is no driver at all */
        if (e == cudaSuccess)
            snprintf(g_why, sizeof g_why, "cudaGetDeviceCount: no CUDA GPU is visible");
        else
            snprintf(g_why, sizeof g_why, "cudaGetDeviceCount: %s (%s)%s", cudaGetErrorString(e), cudaGetErrorName(e),
                     e == cudaErrorInsufficientDriver ? ": no NVIDIA driver, or one older than this CUDA runtime"
                                                      : "");
        (void)cudaGetLastError();
        return;
    }
    const char *dv = getenv("TAL_CUDA_DEVICE");
    int dev = dv && *dv ? atoi(dv) : 0;
    if (dev < 0 || dev >= n) {
        snprintf(g_why, sizeof g_why, "TAL_CUDA_DEVICE=%s but %d GPU%s visible", dv, n, n == 1 ? " is" : "s are");
        return;
    }
    cudaDeviceProp prop;
    if ((e = cudaSetDevice(dev)) != cudaSuccess || (e = cudaGetDeviceProperties(&prop, dev)) != cudaSuccess) {
        snprintf(g_why, sizeof g_why, "cannot use GPU %d: %s", dev, cudaGetErrorString(e));
        (void)cudaGetLastError();
        return;
    }
    snprintf(g_name, sizeof g_name, "%s (sm_%d%d)", prop.name, prop.major, prop.minor);
    cudaFuncAttributes fa;
    if ((e = cudaFuncGetAttributes(&fa, k_probe)) != cudaSuccess) {
        snprintf(g_why, sizeof g_why, "%s: this build has no GPU code for sm_%d%d (%s); rebuild with "
                 "CUDA_ARCH='-gencode arch=compute_%d%d,code=sm_%d%d'", g_name, prop.major, prop.minor,
                 cudaGetErrorString(e), prop.major, prop.minor, prop.major, prop.minor);
        (void)cudaGetLastError();
        return;
    }
    if (blas_open(g_why, sizeof g_why)) {
        if (!g_why[0])
            snprintf(g_why, sizeof g_why, "%s", g_msg);
        return;
    }
    g_started = 1;
}

extern "C" const tal_backend *tal_backend_cuda(void)
{
    pthread_once(&g_once, start);
    if (!g_started) {
        tal_err(TAL_EUNSUP, "%s", g_why);
        return NULL;
    }
    return &cuda_backend;
}

extern "C" int tal_cuda_built(void) { return 1; }

extern "C" const char *tal_cuda_device_name(void) { return g_started ? g_name : ""; }

extern "C" int tal_cuda_synchronize(void)
{
    if (g_started && tcu_ok())
        TCU_CHECK(cudaDeviceSynchronize());
    return g_status;
}
