/* npy_write.c — see npy_write.h. */
#include "npy_write.h"
#include "../util/endian.h"
#include "../util/error.h"
#include "../util/output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tal_npy_write(const char *path, const float *data, uint32_t T, uint32_t D)
{
    /* magic, version 1.0, u16 header length, then the dictionary padded
     * with spaces and a newline so that the data starts at a multiple of
     * 64 bytes (NumPy's alignment) */
    char dict[128];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%u, %u), }", T, D);
    size_t hlen = 10 + (size_t)n + 1;
    size_t padded = (hlen + 63) / 64 * 64;
    unsigned char head[192];
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    tal_put16(head + 8, (uint16_t)(padded - 10));
    memcpy(head + 10, dict, (size_t)n);
    memset(head + 10 + n, ' ', padded - hlen);
    head[padded - 1] = '\n';
    tal_output *o = tal_output_open(path, TAL_OUT_BINARY | TAL_OUT_FORCE);
    if (!o)
        return tal_errcode();
    int fd = tal_output_fd(o), rc = tal_write_all(fd, head, padded, path);
    /* each value's bits in little-endian order, whatever the host's */
    for (uint32_t t = 0; t < T && !rc; t++) {
        unsigned char row[4096];
        const float *x = data + (size_t)t * D;
        for (uint32_t d = 0; d < D && !rc; d += 1024) {
            uint32_t k = D - d < 1024 ? D - d : 1024;
            for (uint32_t i = 0; i < k; i++) {
                uint32_t bits;
                memcpy(&bits, x + d + i, 4);
                tal_put32(row + 4 * i, bits);
            }
            rc = tal_write_all(fd, row, (size_t)k * 4, path);
        }
    }
    if (rc) {
        tal_output_abort(o);
        return rc;
    }
    return tal_output_commit(o);
}
