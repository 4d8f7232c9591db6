/* tal.h — libtalcore, everything a tool includes.
 *
 * Layers (each calls only the ones above it in this list):
 *   util/  errors, allocation, RNG, progress, atomic output, text parsing
 *   io/    the stream (frame.c, stream.c), .npy, annotation readers
 *   data/  records and headers, class tables, time grids, splits
 *   post/  non-maximum suppression (nms.h)
 *   eval/  mAP under the ActivityNet and THUMOS14 protocols, error
 *          analysis (eval.h, diagnose.h)
 *   backends/ the compute backends behind one function table (the CPU;
 *          CUDA, kernels/, in builds made with nvcc)
 *   nn/    tensors, the autograd tape, the op set, parameters,
 *          initialisers, optimisers, schedules, clipping, weight EMA
 *   io/    (also) YAML configs and checkpoints
 *   models/ networks built from the op set (ActionFormer-style backbone)
 *
 * Conventions:
 *   - names are tal_<object>_<verb>; enum constants TAL_*;
 *   - functions return 0 (or a count) on success and a negative
 *     tal_status on failure, after recording one message (tal_errmsg);
 *     readers return 1 / 0 / <0 for item / clean end / error;
 *   - the library never prints errors and never exits;
 *   - ownership: a structure owns what its pointers point to; *_free
 *     releases it and accepts NULL; strings handed in are copied.
 */
#ifndef TAL_H
#define TAL_H

#ifndef TAL_VERSION
#define TAL_VERSION "0.1.0"
#endif

#include "util/error.h"
#include "util/mem.h"
#include "util/rng.h"
#include "util/half.h"
#include "util/progress.h"
#include "util/output.h"
#include "data/record.h"
#include "io/frame.h"
#include "io/stream.h"
#include "post/nms.h"
#include "eval/eval.h"
#include "eval/diagnose.h"
#include "backends/backend.h"
#include "backends/cuda.h"
#include "nn/tensor.h"
#include "nn/graph.h"
#include "nn/ops.h"
#include "nn/params.h"
#include "nn/init.h"
#include "nn/optim.h"
#include "nn/sched.h"
#include "nn/clip.h"
#include "nn/ema.h"
#include "io/config.h"
#include "io/checkpoint.h"
#include "models/af_backbone.h"

#endif
