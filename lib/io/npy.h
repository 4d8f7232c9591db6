/* npy.h — reading NumPy .npy arrays (format versions 1.0, 2.0, 3.0).
 *
 * talcore reads 1-D (T) and 2-D (T x D) arrays of little-endian float32,
 * float64 or float16, as feature extractors write them; every value
 * becomes float32 and the result is always row-major T x D.  Arrays in C
 * order are copied; arrays in Fortran order (fortran_order True: stored
 * column-major, as np.asfortranarray and writers in column-major languages
 * leave them) are transposed on the way in.  Anything else (big-endian,
 * integer or object arrays, more dimensions) is refused with a message
 * that says what was found.
 * Arrays inside a zip archive (.npz) are read by npz.h, through
 * tal_npy_parse_header and tal_npy_convert.
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
    int fortran;            /* 1: stored column-major (fortran_order True) */
    size_t data_offset;     /* bytes before the array data */
} tal_npy_info;

/* Longest header dictionary read (NumPy writes well under 1 KiB). */
#define TAL_NPY_MAX_HEADER ((size_t)1 << 20)

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

/* Convert n stored values into dst, the row-major shape[0] x shape[1]
 * float32 array; `first` is the position in the file's order of the value
 * at src, so that data arriving in pieces (an inflated .npz member) lands
 * where it belongs, transposed when the array is in Fortran order.  The
 * caller keeps first + n within the array. */
void tal_npy_convert(const tal_npy_info *info, float *dst, uint64_t first, const unsigned char *src, size_t n);

#endif
