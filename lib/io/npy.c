/* npy.c — NumPy .npy reader (see npy.h).
 *
 * Layout: "\x93NUMPY", major u8, minor u8, header length (u16 for 1.x,
 * u32 for 2.x and 3.x), then a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (1269, 2048), }
 * padded with spaces and a newline, then the raw array: row after row in
 * C order, column after column (value [t][d] at d*T + t) in Fortran order.
 */
#include "npy.h"
#include "stream.h"
#include "../util/endian.h"
#include "../util/error.h"
#include "../util/half.h"
#include "../util/mem.h"

#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    const char *p, *end, *name;
} lexer;

static int bad(const lexer *x, const char *what)
{
    return tal_err(TAL_ECORRUPT, "bad .npy file: '%s': header %s", x->name, what);
}

static void skip_ws(lexer *x)
{
    while (x->p < x->end && isspace((unsigned char)*x->p))
        x->p++;
}

static int expect(lexer *x, char c)
{
    skip_ws(x);
    if (x->p >= x->end || *x->p != c) {
        char what[40];
        snprintf(what, sizeof what, "expected '%c'", c);
        return bad(x, what);
    }
    x->p++;
    return 0;
}

static int string(lexer *x, char *out, size_t max)
{
    skip_ws(x);
    if (x->p >= x->end || (*x->p != '\'' && *x->p != '"'))
        return bad(x, "expected a quoted string");
    char q = *x->p++;
    size_t n = 0;
    while (x->p < x->end && *x->p != q) {
        if (n + 1 >= max)
            return bad(x, "string is too long");
        out[n++] = *x->p++;
    }
    if (x->p >= x->end)
        return bad(x, "string is not closed");
    x->p++;
    out[n] = 0;
    return 0;
}

static int tuple(lexer *x, tal_npy_info *info)
{
    if (expect(x, '('))
        return TAL_ECORRUPT;
    info->ndim = 0;
    for (;;) {
        skip_ws(x);
        if (x->p < x->end && *x->p == ')') {
            x->p++;
            return 0;
        }
        if (x->p >= x->end || !isdigit((unsigned char)*x->p))
            return bad(x, "shape holds something that is not a number");
        /* digit by digit: the header is not NUL-terminated, so strtoull
           could read past its end when the digits reach it */
        unsigned long long v = 0;
        for (; x->p < x->end && isdigit((unsigned char)*x->p); x->p++) {
            unsigned d = (unsigned)(*x->p - '0');
            if (v > (ULLONG_MAX - d) / 10)
                return bad(x, "shape value is out of range");
            v = v * 10 + d;
        }
        if (x->p < x->end && *x->p == 'L')   /* Python 2 long */
            x->p++;
        if (info->ndim < 2)
            info->shape[info->ndim] = v;
        info->ndim++;
        skip_ws(x);
        if (x->p < x->end && *x->p == ',')
            x->p++;
        else if (x->p >= x->end || *x->p != ')')
            return bad(x, "shape is not a tuple");
    }
}

int tal_npy_parse_header(const unsigned char *buf, size_t n, const char *name, tal_npy_info *info)
{
    memset(info, 0, sizeof *info);
    if (n < 10)
        return TAL_ETRUNC;
    if (memcmp(buf, "\x93NUMPY", 6))
        return tal_err(TAL_ECORRUPT, "not a .npy file: '%s': bad magic", name);
    info->major = buf[6];
    info->minor = buf[7];
    size_t hlen, pre;
    if (info->major == 1) {
        hlen = tal_le16(buf + 8);
        pre = 10;
    } else if (info->major == 2 || info->major == 3) {
        if (n < 12)
            return TAL_ETRUNC;
        hlen = tal_le32(buf + 8);
        pre = 12;
    } else {
        return tal_err(TAL_EUNSUP, "unsupported .npy file: '%s': format version %d.%d (1.0-3.0 are read)",
                       name, info->major, info->minor);
    }
    if (hlen > TAL_NPY_MAX_HEADER)
        return tal_err(TAL_ECORRUPT, "bad .npy file: '%s': header of %zu bytes is too long", name, hlen);
    if (n < pre + hlen)
        return TAL_ETRUNC;
    info->data_offset = pre + hlen;

    lexer x = { (const char *)buf + pre, (const char *)buf + pre + hlen, name };
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0, rc;
    if ((rc = expect(&x, '{')))
        return rc;
    for (;;) {
        skip_ws(&x);
        if (x.p < x.end && *x.p == '}')
            break;
        char key[32];
        if ((rc = string(&x, key, sizeof key)) || (rc = expect(&x, ':')))
            return rc;
        skip_ws(&x);
        if (!strcmp(key, "descr")) {
            if ((rc = string(&x, info->descr, sizeof info->descr)))
                return rc;
            have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            if (x.end - x.p >= 4 && !memcmp(x.p, "True", 4)) {
                fortran = 1;
                x.p += 4;
            } else if (x.end - x.p >= 5 && !memcmp(x.p, "False", 5)) {
                x.p += 5;
            } else {
                return bad(&x, "fortran_order is neither True nor False");
            }
            have_order = 1;
        } else if (!strcmp(key, "shape")) {
            if ((rc = tuple(&x, info)))
                return rc;
            have_shape = 1;
        } else {
            return bad(&x, "has an unknown key");
        }
        skip_ws(&x);
        if (x.p < x.end && *x.p == ',')
            x.p++;
        else if (x.p >= x.end || *x.p != '}')
            return bad(&x, "entries are not separated by commas");
    }
    if (!have_descr || !have_order || !have_shape)
        return bad(&x, "lacks descr, fortran_order or shape");

    const char *d = info->descr;
    if (!strcmp(d, "<f4"))
        info->itemsize = 4;
    else if (!strcmp(d, "<f8"))
        info->itemsize = 8;
    else if (!strcmp(d, "<f2"))
        info->itemsize = 2;
    else if (d[0] == '>')
        return tal_err(TAL_EUNSUP, "unsupported .npy file: '%s': big-endian dtype '%s' (convert with astype('<f4'))", name, d);
    else
        return tal_err(TAL_EUNSUP, "unsupported .npy file: '%s': dtype '%s' (float32, float64 or float16 are read)", name, d);
    info->fortran = fortran;
    if (info->ndim < 1 || info->ndim > 2)
        return tal_err(TAL_EUNSUP, "unsupported .npy file: '%s': %d-dimensional array (1 or 2 are read)", name, info->ndim);
    if (info->ndim == 1)
        info->shape[1] = 1;
    if (!info->shape[0] || !info->shape[1])
        return tal_err(TAL_EINVAL, "empty .npy array: '%s': shape %llu x %llu", name,
                       (unsigned long long)info->shape[0], (unsigned long long)info->shape[1]);
    if (info->shape[0] > TAL_MAX_T || info->shape[1] > TAL_MAX_D ||
        info->shape[0] * info->shape[1] > TAL_MAX_ELEMENTS)
        return tal_err(TAL_EUNSUP, "unsupported .npy file: '%s': shape %llu x %llu is over the size limits", name,
                       (unsigned long long)info->shape[0], (unsigned long long)info->shape[1]);
    return 0;
}

/* Convert `count` stored values at src into float32 at dst. */
static void convert(float *dst, const unsigned char *src, size_t count, size_t itemsize)
{
    if (itemsize == 4) {
        memcpy(dst, src, count * 4);
    } else if (itemsize == 2) {
        tal_f16_to_f32_n(dst, (const uint16_t *)src, count);
    } else {
        for (size_t i = 0; i < count; i++) {
            double v;
            memcpy(&v, src + 8 * i, 8);
            dst[i] = (float)v;
        }
    }
}

/* The same into every `stride`-th float: one stored column of a Fortran
 * array becomes one column of the row-major output. */
static void convert_strided(float *dst, size_t stride, const unsigned char *src, size_t count, size_t itemsize)
{
    for (size_t i = 0; i < count; i++, src += itemsize) {
        if (itemsize == 4) {
            memcpy(&dst[i * stride], src, 4);
        } else if (itemsize == 2) {
            uint16_t h;
            memcpy(&h, src, 2);
            dst[i * stride] = tal_f16_to_f32(h);
        } else {
            double v;
            memcpy(&v, src, 8);
            dst[i * stride] = (float)v;
        }
    }
}

void tal_npy_convert(const tal_npy_info *info, float *dst, uint64_t first, const unsigned char *src, size_t n)
{
    if (!info->fortran || info->shape[1] == 1) {   /* a single column reads the same either way */
        convert(dst + first, src, n, info->itemsize);
        return;
    }
    /* stored value k is [k % T][k / T]: walk the piece column by column */
    uint64_t T = info->shape[0], D = info->shape[1];
    while (n) {
        uint64_t t = first % T, d = first / T;
        size_t run = T - t < n ? (size_t)(T - t) : n;
        convert_strided(dst + t * D + d, (size_t)D, src, run, info->itemsize);
        src += run * info->itemsize;
        first += run;
        n -= run;
    }
}

int tal_npy_decode(const unsigned char *buf, size_t n, const char *name,
                   float **data, size_t *cap, uint32_t *T, uint32_t *D)
{
    tal_npy_info info;
    int rc = tal_npy_parse_header(buf, n, name, &info);
    if (rc == TAL_ETRUNC)
        return tal_err(TAL_ETRUNC, "truncated .npy file: '%s': header is incomplete", name);
    if (rc)
        return rc;
    uint64_t count = info.shape[0] * info.shape[1];
    uint64_t bytes = count * info.itemsize;
    if (n - info.data_offset < bytes)
        return tal_err(TAL_ETRUNC, "truncated .npy file: '%s': %llu data bytes expected, %zu present", name,
                       (unsigned long long)bytes, n - info.data_offset);
    if (n - info.data_offset > bytes)
        return tal_err(TAL_ECORRUPT, "bad .npy file: '%s': %llu bytes after the array", name,
                       (unsigned long long)(n - info.data_offset - bytes));
    if ((rc = tal_floats_reserve(data, cap, (size_t)count)))
        return rc;
    tal_npy_convert(&info, *data, 0, buf + info.data_offset, (size_t)count);
    *T = (uint32_t)info.shape[0];
    *D = (uint32_t)info.shape[1];
    return 0;
}

static int read_exact(int fd, void *dst, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        ssize_t k = read(fd, (char *)dst + *got, n - *got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        *got += (size_t)k;
    }
    return 0;
}

int tal_npy_read(const char *path, float **data, size_t *cap, uint32_t *T, uint32_t *D)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return tal_err(TAL_EIO, "cannot open '%s': %s", path, strerror(errno));
    unsigned char *head = NULL, *stage = NULL;
    size_t got, have = 0, want = 4096;
    int rc;
    tal_npy_info info;
    /* read the preamble, widening until the whole header is in */
    for (;;) {
        unsigned char *h = tal_realloc(head, want);
        if (!h) {
            rc = TAL_ENOMEM;
            goto out;
        }
        head = h;
        if (read_exact(fd, head + have, want - have, &got)) {
            rc = tal_err(TAL_EIO, "cannot read '%s': %s", path, strerror(errno));
            goto out;
        }
        have += got;
        rc = tal_npy_parse_header(head, have, path, &info);
        if (rc != TAL_ETRUNC)
            break;
        if (have < want) {
            rc = tal_err(TAL_ETRUNC, "truncated .npy file: '%s': header is incomplete", path);
            goto out;
        }
        want *= 2;
    }
    if (rc)
        goto out;
    uint64_t count = info.shape[0] * info.shape[1];
    uint64_t bytes = count * info.itemsize;
    struct stat st;
    if (!fstat(fd, &st) && S_ISREG(st.st_mode)) {
        uint64_t size = (uint64_t)st.st_size;
        if (size < info.data_offset + bytes) {
            rc = tal_err(TAL_ETRUNC, "truncated .npy file: '%s': %llu data bytes expected, %llu present", path,
                         (unsigned long long)bytes, (unsigned long long)(size - info.data_offset));
            goto out;
        }
        if (size > info.data_offset + bytes) {
            rc = tal_err(TAL_ECORRUPT, "bad .npy file: '%s': %llu bytes after the array", path,
                         (unsigned long long)(size - info.data_offset - bytes));
            goto out;
        }
    }
    if ((rc = tal_floats_reserve(data, cap, (size_t)count)))
        goto out;
    /* the bytes already read past the header, then the rest */
    size_t pre = have - info.data_offset;
    if (pre > bytes)
        pre = (size_t)bytes;
    uint64_t done = 0;    /* values converted */
    if (info.itemsize == 4 && !info.fortran) {   /* straight into place */
        memcpy(*data, head + info.data_offset, pre);
        if (read_exact(fd, (unsigned char *)*data + pre, (size_t)bytes - pre, &got) || got != bytes - pre) {
            rc = tal_err(TAL_ETRUNC, "truncated .npy file: '%s': %llu data bytes expected", path, (unsigned long long)bytes);
            goto out;
        }
    } else {
        size_t chunk = (size_t)1 << 20;
        stage = tal_malloc(chunk * info.itemsize);
        if (!stage) {
            rc = TAL_ENOMEM;
            goto out;
        }
        size_t carry = pre;
        memcpy(stage, head + info.data_offset, carry);
        while (done < count) {
            size_t want_vals = count - done < chunk ? (size_t)(count - done) : chunk;
            size_t need = want_vals * info.itemsize;
            if (carry < need) {
                if (read_exact(fd, stage + carry, need - carry, &got) || got != need - carry) {
                    rc = tal_err(TAL_ETRUNC, "truncated .npy file: '%s': %llu data bytes expected", path,
                                 (unsigned long long)bytes);
                    goto out;
                }
            }
            tal_npy_convert(&info, *data, done, stage, want_vals);
            done += want_vals;
            carry = 0;
        }
    }
    *T = (uint32_t)info.shape[0];
    *D = (uint32_t)info.shape[1];
out:
    free(head);
    free(stage);
    close(fd);
    return rc;
}
