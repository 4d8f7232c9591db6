/* cuda_optim.cu — parameter updates (Adam/AdamW, SGD with momentum),
 * weight EMA and the sum of squares behind global-norm clipping: the twin
 * of lib/backends/cpu_optim.c, in PyTorch's single-tensor update order. */
#include "cuda_common.cuh"

__global__ void k_adam(float *p, const float *g, float *m, float *v, int64_t n, float lr, float b1, float b2,
                       float eps, float wd, float step, float bc2s, int decoupled)
{
    TCU_FOR(i, n) p[i] = tal_adam_elem(p[i], g[i], &m[i], &v[i], lr, b1, b2, eps, wd, step, bc2s, decoupled);
}

void tcu_adam_update(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2,
                     float eps, float wd, float bc1, float bc2, int decoupled)
{
    TCU_LAUNCH(k_adam, tcu_blocks((int64_t)n, TCU_THREADS), TCU_THREADS, 0, p, g, m, v, (int64_t)n, lr, beta1, beta2,
               eps, wd, lr / bc1, sqrtf(bc2), decoupled);
}

__global__ void k_sgd(float *p, const float *g, float *buf, int64_t n, float lr, float mu, float wd, int nesterov,
                      int first)
{
    TCU_FOR(i, n) p[i] = tal_sgd_elem(p[i], g[i], buf ? &buf[i] : NULL, lr, mu, wd, nesterov, first);
}

void tcu_sgd_update(float *p, const float *g, float *buf, size_t n, float lr, float momentum, float wd, int nesterov,
                    int first)
{
    TCU_LAUNCH(k_sgd, tcu_blocks((int64_t)n, TCU_THREADS), TCU_THREADS, 0, p, g, buf, (int64_t)n, lr, momentum, wd,
               nesterov, first);
}

__global__ void k_ema(float *e, const float *p, int64_t n, float decay)
{
    TCU_FOR(i, n) e[i] = decay * e[i] + (1.0f - decay) * p[i];
}

void tcu_ema_update(float *e, const float *p, size_t n, float decay)
{
    TCU_LAUNCH(k_ema, tcu_blocks((int64_t)n, TCU_THREADS), TCU_THREADS, 0, e, p, (int64_t)n, decay);
}

/* block i sums slice i of x in double; the slices are a function of n alone */
__global__ void k_sumsq(double *part, const float *x, int64_t n, int nb)
{
    __shared__ double sh[32];
    int64_t lo = n * blockIdx.x / nb, hi = n * (blockIdx.x + 1) / nb;
    double s = 0.0;
    for (int64_t i = lo + threadIdx.x; i < hi; i += blockDim.x)
        s += (double)x[i] * x[i];
    s = tcu_block_sum_d(s, sh);
    if (threadIdx.x == 0)
        part[blockIdx.x] = s;
}

double tcu_sumsq(const float *x, size_t n)
{
    if (!n || !tcu_ok())
        return 0.0;
    int64_t nb = ((int64_t)n + 8191) / 8192;
    nb = nb > 512 ? 512 : nb;
    double *part = (double *)tcu_scratch(sizeof(double) * (size_t)nb), host[512];
    if (!part)
        return 0.0;
    TCU_LAUNCH(k_sumsq, (unsigned)nb, TCU_THREADS, 0, part, x, (int64_t)n, (int)nb);
    if (tcu_ok())
        TCU_CHECK(cudaMemcpy(host, part, sizeof(double) * (size_t)nb, cudaMemcpyDeviceToHost));
    if (!tcu_ok())
        return 0.0;
    double s = 0.0;
    for (int64_t i = 0; i < nb; i++)
        s += host[i];
    return s;
}
