/* talgen — makes input files for tests and benchmarks (not installed).
 *
 *   talgen npy FILE T D [f4|f8|f2|>f4|i4] [VERSION]   value t*1000+d at [t][d]
 *   talgen npy-random DIR N T D SEED                    N files DIR/seq_%04d.npy,
 *                                                       T +-10%, N(0,1) float32
 *   talgen reverse-points IN.tal OUT.tal                every record's points in
 *                                                       reverse order (as a writer
 *                                                       that does not sort them)
 * The .npy writer is deliberately separate from the library's reader, so
 * that a test of one is not a test of itself.
 */
#include "tal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int write_npy(const char *path, const char *descr, int version, uint32_t T, uint32_t D,
                     const float *v /* NULL: t*1000+d */)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%u, %u), }", descr, T, D);
    size_t pre = version == 1 ? 10 : 12;
    size_t total = (pre + (size_t)n + 1 + 63) / 64 * 64;   /* header padded to 64 with spaces and '\n' */
    size_t hlen = total - pre;
    unsigned char p[12] = { 0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)version, 0 };
    if (version == 1) {
        p[8] = (unsigned char)hlen;
        p[9] = (unsigned char)(hlen >> 8);
    } else {
        for (int i = 0; i < 4; i++)
            p[8 + i] = (unsigned char)(hlen >> (8 * i));
    }
    fwrite(p, 1, pre, f);
    fwrite(dict, 1, (size_t)n, f);
    for (size_t i = pre + (size_t)n; i < total - 1; i++)
        fputc(' ', f);
    fputc('\n', f);
    for (uint32_t t = 0; t < T; t++)
        for (uint32_t d = 0; d < D; d++) {
            float x = v ? v[(size_t)t * D + d] : (float)(t * 1000 + d);
            if (!strcmp(descr, "<f4")) {
                fwrite(&x, 4, 1, f);
            } else if (!strcmp(descr, ">f4")) {
                unsigned char b[4], r[4];
                memcpy(b, &x, 4);
                for (int i = 0; i < 4; i++)
                    r[i] = b[3 - i];
                fwrite(r, 4, 1, f);
            } else if (!strcmp(descr, "<f8")) {
                double y = x;
                fwrite(&y, 8, 1, f);
            } else if (!strcmp(descr, "<f2")) {
                uint16_t h = tal_f32_to_f16(x);
                fwrite(&h, 2, 1, f);
            } else {
                int32_t y = (int32_t)x;
                fwrite(&y, 4, 1, f);
            }
        }
    return fclose(f) ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && !strcmp(argv[1], "npy")) {
        const char *dtype = argc > 5 ? argv[5] : "f4";
        char descr[8];
        snprintf(descr, sizeof descr, "%s%s", dtype[0] == '>' || dtype[0] == '<' ? "" : "<", dtype);
        return write_npy(argv[2], descr, argc > 6 ? atoi(argv[6]) : 1, (uint32_t)atol(argv[3]),
                         (uint32_t)atol(argv[4]), NULL);
    }
    if (argc == 7 && !strcmp(argv[1], "npy-random")) {
        int N = atoi(argv[3]);
        uint32_t T0 = (uint32_t)atol(argv[4]), D = (uint32_t)atol(argv[5]);
        tal_rng g;
        tal_rng_seed(&g, strtoull(argv[6], NULL, 10));
        float *v = malloc((size_t)(T0 + T0 / 10 + 1) * D * sizeof *v);
        for (int i = 0; i < N; i++) {
            uint32_t T = T0 - T0 / 10 + tal_rng_below(&g, T0 / 5 + 1);
            for (size_t k = 0; k < (size_t)T * D; k++)
                v[k] = (float)tal_rng_normal(&g);
            char path[4096];
            snprintf(path, sizeof path, "%s/seq_%04d.npy", argv[2], i);
            if (write_npy(path, "<f4", 1, T, D, v))
                return 1;
        }
        free(v);
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "reverse-points")) {
        tal_stream *in = tal_stream_open(argv[2]), *out = in ? tal_stream_create(argv[3], tal_stream_header(in), NULL) : NULL;
        tal_record r;
        tal_record_init(&r);
        int rc = out ? 0 : -1;
        while (!rc && (rc = tal_record_read(in, &r)) > 0) {
            for (uint32_t i = 0; i < r.npoints / 2; i++) {
                tal_point t = r.points[i];
                r.points[i] = r.points[r.npoints - 1 - i];
                r.points[r.npoints - 1 - i] = t;
            }
            rc = tal_record_write(out, &r);
        }
        rc = rc ? rc : tal_stream_finish(out);
        if (rc) {
            fprintf(stderr, "talgen: %s\n", tal_errmsg());
            tal_stream_abort(out);
        }
        tal_stream_close(in);
        tal_record_free(&r);
        return rc ? 1 : 0;
    }
    fprintf(stderr, "usage: talgen npy FILE T D [dtype] [version] | talgen npy-random DIR N T D SEED |\n"
                    "       talgen reverse-points IN.tal OUT.tal\n");
    return 2;
}
