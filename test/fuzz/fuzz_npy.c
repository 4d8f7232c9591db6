/* fuzz_npy.c — libFuzzer target for the .npy reader (header parsing and
 * data conversion).  Any bytes must give an array or an error. */
#include "tal.h"
#include "io/npy.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    float *v = NULL;
    size_t cap = 0;
    uint32_t T, D;
    if (tal_npy_decode(data, size, "fuzz", &v, &cap, &T, &D) == 0 && (uint64_t)T * D > cap)
        abort();   /* claimed more values than it holds */
    free(v);
    return 0;
}
