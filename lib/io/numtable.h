/* numtable.h — numeric tables in text: one row per line, the same number
 * of columns on every line, separated by commas or by blanks (decided per
 * file from the first data line).  Plain or gzip.  A first line that is
 * not numeric is taken as a header and skipped.  Values become float32.
 */
#ifndef TAL_IO_NUMTABLE_H
#define TAL_IO_NUMTABLE_H

#include <stddef.h>
#include <stdint.h>

/* Read `path` into a growing row-major float array; sets rows and cols. */
int tal_numtable_read(const char *path, float **data, size_t *cap, uint32_t *rows, uint32_t *cols);

#endif
