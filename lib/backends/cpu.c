/* cpu.c — the CPU backend's function table. */
#include "cpu.h"
#include "util/mem.h"

#include <string.h>

static void *cpu_alloc(size_t bytes) { return tal_malloc_aligned(bytes ? bytes : 64); }
static void cpu_free(void *p) { tal_free_aligned(p); }
static void cpu_upload(void *dst, const void *host, size_t bytes) { memcpy(dst, host, bytes); }
static void cpu_download(void *host, const void *src, size_t bytes) { memcpy(host, src, bytes); }
static int cpu_status(void) { return 0; }

const tal_backend tal_backend_cpu = {
    .name = "cpu",
    .status = cpu_status,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .zero = tal_cpu_zero,
    .fill = tal_cpu_fill,
    .copy = tal_cpu_copy,
    .upload = cpu_upload,
    .download = cpu_download,
    .sgemm = tal_cpu_sgemm,
    .strided_copy = tal_cpu_strided_copy,
    .strided_store = tal_cpu_strided_store,
    .copy2d = tal_cpu_copy2d,
    .axpy = tal_cpu_axpy,
    .affine = tal_cpu_affine,
    .binary_forward = tal_cpu_binary_forward,
    .broadcast_reduce = tal_cpu_broadcast_reduce,
    .clamp_forward = tal_cpu_clamp_forward,
    .clamp_backward = tal_cpu_clamp_backward,
    .dropout_forward = tal_cpu_dropout_forward,
    .dropout_backward = tal_cpu_dropout_backward,
    .rowscale = tal_cpu_rowscale,
    .conv1d_forward = tal_cpu_conv1d_forward,
    .conv1d_backward = tal_cpu_conv1d_backward,
    .layernorm_forward = tal_cpu_layernorm_forward,
    .layernorm_backward = tal_cpu_layernorm_backward,
    .layernorm_act_forward = tal_cpu_layernorm_act_forward,
    .layernorm_act_backward = tal_cpu_layernorm_act_backward,
    .act_forward = tal_cpu_act_forward,
    .act_backward = tal_cpu_act_backward,
    .softmax_forward = tal_cpu_softmax_forward,
    .softmax_backward = tal_cpu_softmax_backward,
    .maxpool1d_forward = tal_cpu_maxpool1d_forward,
    .maxpool1d_backward = tal_cpu_maxpool1d_backward,
    .topk_mean_forward = tal_cpu_topk_mean_forward,
    .topk_mean_backward = tal_cpu_topk_mean_backward,
    .gather_forward = tal_cpu_gather_forward,
    .gather_backward = tal_cpu_gather_backward,
    .reduce_forward = tal_cpu_reduce_forward,
    .reduce_backward = tal_cpu_reduce_backward,
    .resample_forward = tal_cpu_resample_forward,
    .resample_backward = tal_cpu_resample_backward,
    .attn_forward = tal_cpu_attn_forward,
    .attn_backward = tal_cpu_attn_backward,
    .bce_forward = tal_cpu_bce_forward,
    .bce_backward = tal_cpu_bce_backward,
    .focal_forward = tal_cpu_focal_forward,
    .focal_backward = tal_cpu_focal_backward,
    .qfl_forward = tal_cpu_qfl_forward,
    .qfl_backward = tal_cpu_qfl_backward,
    .ce_forward = tal_cpu_ce_forward,
    .ce_backward = tal_cpu_ce_backward,
    .pn_forward = tal_cpu_pn_forward,
    .pn_backward = tal_cpu_pn_backward,
    .diou_forward = tal_cpu_diou_forward,
    .diou_backward = tal_cpu_diou_backward,
    .adam_update = tal_cpu_adam_update,
    .sgd_update = tal_cpu_sgd_update,
    .ema_update = tal_cpu_ema_update,
    .sumsq = tal_cpu_sumsq,
};
