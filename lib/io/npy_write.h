/* npy_write.h — writing a T x D float32 array as a NumPy .npy file
 * (format 1.0, little-endian, C order): how talcat --npy gives features
 * back to the tools that read .npy, one file per sequence. */
#ifndef TAL_IO_NPY_WRITE_H
#define TAL_IO_NPY_WRITE_H

#include <stdint.h>

/* Write all-or-nothing (a temporary name, renamed on success). */
int tal_npy_write(const char *path, const float *data, uint32_t T, uint32_t D);

#endif
