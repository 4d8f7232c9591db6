/* fuzz_stream.c — libFuzzer target for the stream reader.
 *
 * Any bytes must give records, a clean end or an error: never a crash, a
 * hang, a leak or an allocation beyond TAL_FUZZ_ALLOC_LIMIT.  Each input
 * is read twice, keeping and skipping the features, because the two take
 * different paths.  `make fuzz` builds it; `make check` runs it briefly.
 */
#define _GNU_SOURCE
#include "tal.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static void read_all(int fd, uint32_t skip)
{
    lseek(fd, 0, SEEK_SET);
    tal_stream *s = tal_stream_fdopen(fd, "fuzz");
    if (!s)
        return;
    tal_stream_skip(s, skip);
    tal_record r;
    tal_record_init(&r);
    for (int n = 0; n < 100000 && tal_record_read(s, &r) > 0; n++) {
    }
    tal_record_free(&r);
    tal_stream_close(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    if (fd < 0)
        fd = memfd_create("fuzz", 0);
    if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
        return 0;
    read_all(fd, 0);
    read_all(fd, TAL_HAS_FEATURES | TAL_HAS_DIST);
    return 0;
}
