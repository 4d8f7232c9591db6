/* partition.c — target / positive / negative / ambiguous (see partition.h). */
#include "partition.h"

#include <stdlib.h>
#include <string.h>

const char *tal_part_name(int part)
{
    static const char *names[TAL_PART_COUNT] = { "target", "positive", "negative", "ambiguous" };
    return part >= 0 && part < TAL_PART_COUNT ? names[part] : "?";
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int tal_partition(const float *p, int K, double lambda, uint8_t *part, uint64_t *scratch)
{
    int tgt = 0;
    for (int c = 1; c < K; c++)
        if (p[c] > p[tgt])
            tgt = c;
    double mx = p[tgt];
    /* the non-target classes in ascending probability, ties by index: the
     * bits of a non-negative float order as the float does, so one key
     * holds both */
    int n = 0;
    for (int c = 0; c < K; c++) {
        if (c == tgt)
            continue;
        float v = p[c] > 0 ? p[c] : 0.0f;
        uint32_t bits;
        memcpy(&bits, &v, sizeof bits);
        scratch[n++] = (uint64_t)bits << 32 | (uint32_t)c;
    }
    qsort(scratch, (size_t)n, sizeof *scratch, cmp_u64);
    for (int c = 0; c < K; c++)
        part[c] = TAL_PART_AMB;
    part[tgt] = TAL_PART_TARGET;
    double cum = 0;
    for (int i = 0; i < n; i++) {
        int c = (int)(uint32_t)scratch[i];
        cum += p[c];
        if (cum > mx)
            break;
        part[c] = TAL_PART_NEG;
    }
    for (int c = 0; c < K; c++)
        if (c != tgt && p[c] >= lambda * mx)
            part[c] = TAL_PART_POS;
    return tgt;
}

void tal_class_distribution(const float *p, int C, float *out)
{
    double sum = 0;
    for (int c = 0; c < C; c++)
        sum += p[c] > 0 ? p[c] : 0;
    for (int c = 0; c < C; c++)
        out[c] = sum > 0 ? (float)((p[c] > 0 ? p[c] : 0) / sum) : 1.0f / (float)C;
}
