/* npy.h — reading NumPy .npy arrays (format versions 1.0, 2.0, 3.0).
 *
 * talcore reads 1-D (T) and 2-D (T x D) arrays of little-endian float32,
 * float64 or float16 in C order, as feature extractors write them; every
 * value becomes float32.  Anything else (big-endian, Fortran order,
 * integer or object arrays, more dimensions) is refused with a message
 * that says what was found.
 */
#ifndef TAL_IO_NPY_H
#define TAL_IO_NPY_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int major, minor;
    char descr[16];
    size_t itemsize;        /* 2, 4 or 8 */
    int ndim;
    uint64_t shape[2];      /* shape[1] = 1 for 1-D arrays */
    size_t data_offset;     /* bytes before the array data */
} tal_npy_info;

/* Parse the preamble and header dictionary from the first n bytes of a
 * file.  0 on success; TAL_ETRUNC if n is too short to hold it; else an
 * error naming `name`. */
int tal_npy_parse_header(const unsigned char *buf, size_t n, const char *name, tal_npy_info *info);

/* Read a whole .npy file into a float32 array that grows as needed
 * (data and cap count floats; reused across calls).  Sets T and D. */
int tal_npy_read(const char *path, float **data, size_t *cap, uint32_t *T, uint32_t *D);

/* The same from memory (used by the fuzz target and tests). */
int tal_npy_decode(const unsigned char *buf, size_t n, const char *name,
                   float **data, size_t *cap, uint32_t *T, uint32_t *D);

#endif
