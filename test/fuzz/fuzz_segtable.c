/* fuzz_segtable.c — libFuzzer target for the segment-table reader
 * (io/anno_table.h): any bytes, read with a few column layouts and with
 * or without a fixed class list, must give segments or an error. */
#include "tal.h"
#include "io/anno_table.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char path[64];

static void remove_file(void) { unlink(path); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) {
        tal_set_quiet(1);
        snprintf(path, sizeof path, "/tmp/talcore-fuzz-segtable.XXXXXX");
        int fd = mkstemp(path);
        if (fd < 0)
            abort();
        close(fd);
        atexit(remove_file);
    }
    uint8_t mode = size ? data[0] : 0;
    FILE *f = fopen(path, "wb");
    if (!f || (size > 1 && fwrite(data + 1, 1, size - 1, f) != size - 1) || fclose(f))
        abort();
    static const char *const tmpl[] = { "{1}", "exp{1:02}_user{2:02}", "{2}-{1:03}", "s{3}" };
    tal_annoset a;
    tal_annoset_init(&a);
    if (mode & 0x10) {
        tal_classes_add(&a.classes, "walk", 1);
        tal_classes_add(&a.classes, "sit", 5);
        a.fixed_classes = 1;
    }
    tal_anno_opts ao = { .ignore_unknown_classes = (mode >> 5) & 1 };
    tal_segtable_opts o = { .id_template = tmpl[mode & 3], .rate = (mode & 4) ? 50 : 1 };
    if (mode & 8) {
        o.col_start = 4;
        o.col_end = 5;
        o.col_class = 3;
    }
    if (tal_anno_read_segtable(path, &a, &ao, &o) == 0) {
        for (uint32_t i = 0; i < a.n; i++)
            for (uint32_t k = 0; k < a.v[i].segs.n; k++) {
                const tal_segment *g = &a.v[i].segs.v[k];
                if (!(g->end > g->start) || g->cls < 0 || (uint32_t)g->cls >= a.classes.n)
                    abort();
            }
    }
    tal_annoset_free(&a);
    return 0;
}
