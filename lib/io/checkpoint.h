/* checkpoint.h — training state on disk: versioned, checksummed, written
 * atomically, resumed exactly.
 *
 * A checkpoint holds the parameters (named tensors), the optimiser's
 * state and step count, the weight EMA, named RNG states, named scalars
 * (e.g. a loss normaliser), the global step and the config text.  With all
 * of them restored, training continues bit for bit as if never stopped.
 *
 * File layout (all integers little-endian):
 *   magic    8 bytes  0x89 'T' 'A' 'L' 'C' 'K' 'P' 'T' (first byte not ASCII)
 *   version  u32      1
 *   flags    u32      0 (reserved: a reader rejects bits it does not know)
 *   sections, each:
 *     type u32, flags u32 (bit 0: must be understood), length u64,
 *     payload CRC-32 u32, header CRC-32 u32 (of the 20 bytes before it),
 *     payload (length bytes)
 *   the last section is END, whose payload is its own byte offset (u64),
 *   so a truncated file and one with bytes appended are both told apart.
 * Section types: 1 CONFIG (text), 2 STATE (typed key/value records),
 * 3 TENSORS (a named set: an index of names, shapes and offsets, then the
 * float32 data, 64-byte aligned; the parameter set is written with one
 * write of the contiguous parameter buffer), 0x7FFFFFFF END.
 *
 * Loading checks every header, length and CRC before it changes anything,
 * and names the byte offset of what is wrong:
 *   corrupt checkpoint: 'm.ckpt': payload CRC mismatch in section TENSORS at byte offset 1084
 *   truncated checkpoint: 'm.ckpt': file ends at byte offset 4096 inside section TENSORS starting at byte offset 1084
 */
#ifndef TAL_IO_CHECKPOINT_H
#define TAL_IO_CHECKPOINT_H

#include "nn/ema.h"
#include "nn/optim.h"
#include "nn/params.h"
#include "util/rng.h"

#include <stdint.h>

#define TAL_CKPT_VERSION 1
#define TAL_CKPT_MAX_ITEMS 32

/* What a checkpoint saves and what a load restores.  Fill the pointers of
 * the objects to save or to restore into; NULL ones are skipped. */
typedef struct {
    tal_params *params;             /* required */
    tal_optim *optim;
    tal_ema *ema;
    int64_t step;                   /* load: set from the file */
    char *config;                   /* save: text stored (may be NULL); load: malloc'd copy or NULL */
    int nrng;
    const char *rng_name[TAL_CKPT_MAX_ITEMS];
    tal_rng *rng[TAL_CKPT_MAX_ITEMS];
    int nscalar;
    const char *scalar_name[TAL_CKPT_MAX_ITEMS];
    double scalar[TAL_CKPT_MAX_ITEMS];   /* load: set from the file */
} tal_ckpt;

enum {
    /* load the parameters the file and the model share (same name and
     * shape) and ignore the rest: initialising from a pretrained model */
    TAL_CKPT_PARTIAL = 1,
    /* a scalar the file lacks keeps the value in c->scalar (state a model
     * gained after the file was written, e.g. a second loss normaliser) */
    TAL_CKPT_SCALARS_OPTIONAL = 2,
};

/* Write atomically to `path` (a temporary file renamed into place). */
int tal_checkpoint_save(const char *path, const tal_ckpt *c);
/* Restore into the objects c points at.  Everything is checked first; on
 * an error nothing has been changed.  With TAL_CKPT_PARTIAL the number of
 * parameters loaded is returned (>= 0). */
int tal_checkpoint_load(const char *path, tal_ckpt *c, int flags);

/* The config text stored in a checkpoint (malloc'd; "" if none), e.g. to
 * rebuild the model before loading; NULL on error. */
char *tal_checkpoint_config(const char *path);

#endif
