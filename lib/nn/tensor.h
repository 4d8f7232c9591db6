/* tensor.h — float32 tensors of up to four dimensions.
 *
 * A tensor is a view: `data` points at its first element and `stride`
 * (in elements) says how to step along each dimension, so slices,
 * transposes and reshapes share memory with the tensor they come from.
 * Most ops want contiguous row-major input and make a contiguous copy
 * (recorded on the tape) when given anything else.
 *
 * `grad` has the tensor's shape, contiguous, and exists only while
 * backward needs it (see graph.h).  `grad_valid` = 0 means "no gradient
 * yet" whatever the buffer holds: the first backward kernel to reach it
 * sets it (=), later ones add (+=).
 *
 * Tensors made during a step live in the graph's arena and vanish at
 * tal_graph_reset(); parameters live in a tal_params (params.h).
 */
#ifndef TAL_NN_TENSOR_H
#define TAL_NN_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define TAL_MAX_DIMS 4

enum {
    TAL_T_REQUIRES_GRAD = 1,  /* backward computes a gradient for it */
    TAL_T_PARAM = 2,          /* a parameter: grad points into tal_params */
    TAL_T_RETAIN_GRAD = 4,    /* keep the gradient of an intermediate tensor */
};

typedef struct tal_tensor {
    float *data;
    float *grad;
    int64_t shape[TAL_MAX_DIMS];
    int64_t stride[TAL_MAX_DIMS];
    int ndim;
    int flags;
    int grad_valid;
    int node;             /* tape index of the op that made it, -1 for leaves */
    const char *name;     /* parameters: their name in checkpoints */
} tal_tensor;

int64_t tal_numel(const tal_tensor *t);
int tal_is_contiguous(const tal_tensor *t);
int tal_same_shape(const tal_tensor *a, const tal_tensor *b);
/* row-major strides for `shape` */
void tal_strides(int ndim, const int64_t *shape, int64_t *stride);
/* "(2,512,2304)" into buf (at least 96 bytes) */
const char *tal_shape_str(const tal_tensor *t, char *buf, size_t size);
/* The 4-dimension form kernels take: leading dimensions of size 1
 * (stride 0) are prepended. */
void tal_shape4(const tal_tensor *t, int64_t shape[4], int64_t stride[4]);

#endif
