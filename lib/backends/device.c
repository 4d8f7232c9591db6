/* device.c — choosing a backend by device name (tal_backend_for), and the
 * CUDA entry points of a build without the CUDA kernels, which say that
 * there is no CUDA backend (see cuda.h); kernels/ defines the real ones. */
#include "cuda.h"
#include "util/error.h"

#include <string.h>

const tal_backend *tal_backend_for(const char *device)
{
    if (device && !strcmp(device, "cpu"))
        return &tal_backend_cpu;
    if (device && !strcmp(device, "cuda"))
        return tal_backend_cuda();
    if (!device || !*device || !strcmp(device, "auto")) {
        const tal_backend *be = tal_backend_cuda();
        if (be)
            return be;
        tal_err_clear();
        return &tal_backend_cpu;
    }
    tal_err(TAL_EINVAL, "unknown device '%s' (cpu or cuda)", device);
    return NULL;
}

#ifndef TAL_HAVE_CUDA

const tal_backend *tal_backend_cuda(void)
{
    tal_err(TAL_EUNSUP, "this build has no CUDA backend (build with make CUDA=1 where nvcc is installed)");
    return NULL;
}

int tal_cuda_built(void) { return 0; }
const char *tal_cuda_device_name(void) { return ""; }
void tal_cuda_set_tf32(int on) { (void)on; }
int tal_cuda_synchronize(void) { return 0; }
void tal_cuda_mem_stats(tal_cuda_mem *m) { memset(m, 0, sizeof *m); }
void tal_cuda_mem_reset_peak(void) {}

#endif
