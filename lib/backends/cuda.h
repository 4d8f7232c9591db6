/* cuda.h — the CUDA backend (the kernels/ directory) and choosing a device.
 *
 * The CUDA backend fills in the same tal_backend table as the CPU and is
 * checked against it (test/unit/test_cuda.c).  It exists in builds made
 * with nvcc (make CUDA=auto finds it, CUDA=1 insists); other builds link
 * lib/backends/device.c, whose CUDA functions say that there is none, so
 * that nothing outside lib/backends/ and kernels/ tests for CUDA.
 *
 * The binaries depend on no CUDA library at load time: the runtime is
 * linked statically (it opens the driver, libcuda.so.1, when first used)
 * and cuBLAS is opened with dlopen when the backend starts.  A machine
 * without a GPU, a driver or cuBLAS gets a NULL backend and a message
 * saying which; the tools then use the CPU unless told --device cuda.
 */
#ifndef TAL_BACKENDS_CUDA_H
#define TAL_BACKENDS_CUDA_H

#include "backend.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The CUDA backend on the first visible GPU (TAL_CUDA_DEVICE=n picks
 * another), started on first use; NULL, with the reason recorded for
 * tal_errmsg (no CUDA in this build, no driver, no GPU, no code for this
 * GPU's architecture, cuBLAS missing), when it cannot be used.  Later
 * calls return the same answer. */
const tal_backend *tal_backend_cuda(void);

/* 1 when this build has the CUDA kernels (whether or not a GPU is here). */
int tal_cuda_built(void);

/* The backend for a device name: "cpu"; "cuda" (NULL and an error when it
 * cannot be used); NULL, "" or "auto": CUDA when a GPU can be used, else
 * the CPU.  Any other name: NULL and an error. */
const tal_backend *tal_backend_for(const char *device);

/* "NVIDIA H100 80GB HBM3 (sm_90)" once the backend has started, else "". */
const char *tal_cuda_device_name(void);

/* TF32 tensor-core matrix products (about 10 mantissa bits) instead of
 * full float32: off unless asked for, here or with TAL_CUDA_TF32=1. */
void tal_cuda_set_tf32(int on);

/* Wait for the GPU; returns the backend's status (0 or the first error). */
int tal_cuda_synchronize(void);

/* Device memory of the backend's allocator (bytes): in use by the caller
 * now and at most, and reserved from the driver (in use plus cached for
 * reuse) now and at most.  Peaks restart at tal_cuda_mem_reset_peak. */
typedef struct {
    size_t live, peak_live, reserved, peak_reserved;
} tal_cuda_mem;
void tal_cuda_mem_stats(tal_cuda_mem *m);
void tal_cuda_mem_reset_peak(void);

#ifdef __cplusplus
}
#endif

#endif
