/* crc32.h — CRC-32 (ISO-HDLC, as zlib, gzip and PNG compute it).
 *
 * tal_crc32(crc, buf, n) has zlib's crc32() semantics (start with 0, feed
 * the previous value to continue) and gives the same values, but folds
 * with carry-less multiplication (PCLMULQDQ) where the processor has it,
 * several times faster than zlib's tables: the stream's frames are
 * checksummed on every write and every read.
 */
#ifndef TAL_UTIL_CRC32_H
#define TAL_UTIL_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t tal_crc32(uint32_t crc, const void *buf, size_t n);

/* The folding constants, for the unit test that derives them again. */
extern const uint64_t tal_crc32_fold_constants[8];

#endif
