/* npz.h — reading one array from a NumPy .npz archive.
 *
 * An .npz is a zip archive of .npy members, stored (np.savez) or deflated
 * (np.savez_compressed), each named after its key ("arr_0.npy").  talcore
 * reads archives that hold exactly one array, with the same dtypes, orders
 * and limits as a lone .npy (see npy.h); the result is float32, row-major
 * T x D.  The archive is located through its central directory at the end
 * of the file (zip64 records included), so data descriptors and the zip64
 * extra fields NumPy writes are handled; every CRC is checked.
 *
 * Refused with one message naming the file: archives of no array or of
 * several (the message lists the first few names), members that are
 * encrypted, compressed with another method or not .npy arrays, archives
 * spanning several disks, and sizes over the limits (TAL_EUNSUP, or
 * TAL_EINVAL for an empty archive).  An archive cut short is TAL_ETRUNC;
 * one that is damaged (bad signatures, offsets or deflate data, a CRC
 * mismatch) is TAL_ECORRUPT.  Messages about the array itself name it as
 * "archive.npz:member.npy".
 */
#ifndef TAL_IO_NPZ_H
#define TAL_IO_NPZ_H

#include <stddef.h>
#include <stdint.h>

/* Read the one array of an .npz file into a float32 array that grows as
 * needed (data and cap count floats; reused across calls).  Sets T and D
 * (D = 1 for a 1-D array).  0 on success, else a negative status with a
 * message recorded (tal_errmsg). */
int tal_npz_read(const char *path, float **data, size_t *cap, uint32_t *T, uint32_t *D);

/* The same from n bytes in memory; `name` is used in messages (the fuzz
 * target and the unit tests use it). */
int tal_npz_decode(const unsigned char *buf, size_t n, const char *name,
                   float **data, size_t *cap, uint32_t *T, uint32_t *D);

#endif
