/* fuzz_npz.c — libFuzzer target for the .npz reader (end records, central
 * directory, zip64 fields, inflate, CRC, the member's .npy in pieces).
 * Any bytes must give an array or an error. */
#include "tal.h"
#include "io/npz.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    float *v = NULL;
    size_t cap = 0;
    uint32_t T, D;
    if (tal_npz_decode(data, size, "fuzz", &v, &cap, &T, &D) == 0 && (uint64_t)T * D > cap)
        abort();   /* claimed more values than it holds */
    free(v);
    return 0;
}
