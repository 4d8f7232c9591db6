/* fuzz_dets_json.c — libFuzzer target for the one-pass results-JSON
 * reader.  Any bytes must give detections or an error; what it accepts
 * must be finite and of a known class (or none). */
#include "tal.h"
#include "io/dets.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tal_annoset a;
    tal_annoset_init(&a);
    int fixed = size && (data[0] & 1);
    if (fixed) {
        tal_classes_add(&a.classes, "Jump", 7);
        tal_classes_add(&a.classes, "Run", 9);
        a.fixed_classes = 1;
    }
    tal_anno_opts o = { .ignore_unknown_classes = size && (data[0] & 2) };
    long ignored = 0;
    if (tal_dets_parse_json((const char *)data, size, "fuzz", &a, &o, &ignored) == 0) {
        for (uint32_t i = 0; i < a.n; i++)
            for (uint32_t k = 0; k < a.v[i].dets.n; k++) {
                const tal_segment *s = &a.v[i].dets.v[k];
                if (!isfinite(s->start) || !isfinite(s->end) || !isfinite(s->score) || s->cls < -1 ||
                    s->cls >= (int32_t)a.classes.n)
                    abort();
            }
    }
    tal_annoset_free(&a);
    return 0;
}
