/* checkpoint.c — see checkpoint.h. */
#define _GNU_SOURCE
#include "io/checkpoint.h"
#include "util/endian.h"
#include "util/error.h"
#include "util/mem.h"
#include "util/output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const unsigned char MAGIC[8] = { 0x89, 'T', 'A', 'L', 'C', 'K', 'P', 'T' };

enum { SEC_CONFIG = 1, SEC_STATE = 2, SEC_TENSORS = 3, SEC_END = 0x7FFFFFFF };
enum { SEC_MUST_UNDERSTAND = 1 };
enum { V_I64 = 0, V_F64 = 1, V_BYTES = 2 };

#define HDR 24
#define INDEX_MAX ((uint64_t)64 << 20)     /* bytes of a tensor index a reader accepts */
#define SMALL_MAX ((uint64_t)64 << 20)     /* CONFIG and STATE payloads */
#define NAME_MAX_ 1024
#define RNG_BYTES 36

static const char *sec_name(uint32_t t)
{
    switch (t) {
    case SEC_CONFIG: return "CONFIG";
    case SEC_STATE: return "STATE";
    case SEC_TENSORS: return "TENSORS";
    case SEC_END: return "END";
    default: return "unknown";
    }
}

static uint32_t crc_update(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, b, k);
        b += k;
        n -= k;
    }
    return crc;
}

/* ---- writing ------------------------------------------------------------------ */

typedef struct {
    int fd;
    const char *name;
    uint64_t off;
} writer;

static int wr(writer *w, const void *p, size_t n)
{
    int rc = tal_write_all(w->fd, p, n, w->name);
    w->off += n;
    return rc;
}

/* a section whose payload is a[0..na) followed by the floats of data
 * (nd of them, on backend be) */
static int put_section(writer *w, uint32_t type, const void *a, size_t na, const tal_backend *be, const float *data,
                       size_t nd)
{
    uint32_t crc = crc_update(0, a, na);
    float *host = NULL;
    size_t chunk = (size_t)16 << 20;
    int direct = !be || be == &tal_backend_cpu;
    if (nd && direct) {
        crc = crc_update(crc, data, nd * sizeof(float));
    } else if (nd) {
        host = tal_malloc(chunk * sizeof(float));
        if (!host)
            return TAL_ENOMEM;
        for (size_t i = 0; i < nd; i += chunk) {
            size_t m = nd - i < chunk ? nd - i : chunk;
            be->download(host, data + i, m * sizeof(float));
            crc = crc_update(crc, host, m * sizeof(float));
        }
        int st = be->status();   /* a failed device: write nothing */
        if (st) {
            free(host);
            return st;
        }
    }
    unsigned char h[HDR];
    tal_put32(h, type);
    tal_put32(h + 4, SEC_MUST_UNDERSTAND);
    tal_put64(h + 8, na + nd * sizeof(float));
    tal_put32(h + 16, crc);
    tal_put32(h + 20, crc_update(0, h, 20));
    int rc = wr(w, h, HDR);
    if (!rc && na)
        rc = wr(w, a, na);
    if (!rc && nd && direct)
        rc = wr(w, data, nd * sizeof(float));   /* the whole buffer in one write */
    for (size_t i = 0; !rc && nd && !direct && i < nd; i += chunk) {
        size_t m = nd - i < chunk ? nd - i : chunk;
        be->download(host, data + i, m * sizeof(float));
        rc = be->status();
        if (!rc)
            rc = wr(w, host, m * sizeof(float));
    }
    free(host);
    return rc;
}

static int put_str(tal_buf *b, const char *s)
{
    size_t n = strlen(s);
    unsigned char l[2];
    if (n > NAME_MAX_)
        return tal_err(TAL_EINVAL, "checkpoint: name too long: '%.40s...'", s);
    tal_put16(l, (uint16_t)n);
    return tal_buf_append(b, l, 2) || tal_buf_append(b, s, n) ? TAL_ENOMEM : 0;
}

static int put_u64(tal_buf *b, uint64_t v)
{
    unsigned char x[8];
    tal_put64(x, v);
    return tal_buf_append(b, x, 8) ? TAL_ENOMEM : 0;
}

/* a TENSORS section: the set `set` of P's layout over buffer `data` */
static int put_tensors(writer *w, const char *set, tal_params *P, const float *data)
{
    tal_buf b = { 0 };
    int rc = put_u64(&b, 0);   /* index length, patched below */
    rc = rc || put_str(&b, set);
    unsigned char c4[4];
    tal_put32(c4, (uint32_t)tal_params_count(P));
    rc = rc || tal_buf_append(&b, c4, 4);
    for (int i = 0; i < tal_params_count(P) && !rc; i++) {
        tal_tensor *t = tal_params_get(P, i);
        unsigned char nd = (unsigned char)t->ndim;
        rc = put_str(&b, t->name) || tal_buf_append(&b, &nd, 1);
        for (int d = 0; d < t->ndim && !rc; d++)
            rc = put_u64(&b, (uint64_t)t->shape[d]);
        rc = rc || put_u64(&b, tal_params_offset(P, i));
    }
    rc = rc || put_u64(&b, tal_params_size(P));
    while (!rc && b.len % 64)
        rc = tal_buf_append(&b, "", 1);
    if (!rc) {
        tal_put64(b.data, b.len);
        rc = put_section(w, SEC_TENSORS, b.data, b.len, tal_params_backend(P), data, tal_params_size(P));
    }
    tal_buf_free(&b);
    return rc ? (rc < 0 ? rc : TAL_ENOMEM) : 0;
}

static int put_kv(tal_buf *b, const char *key, int type, const void *v, size_t n)
{
    unsigned char t = (unsigned char)type, x[8];
    if (put_str(b, key) || tal_buf_append(b, &t, 1))
        return TAL_ENOMEM;
    if (type == V_I64) {
        tal_put64(x, (uint64_t) * (const int64_t *)v);
        return tal_buf_append(b, x, 8) ? TAL_ENOMEM : 0;
    }
    if (type == V_F64) {
        tal_putf64(x, *(const double *)v);
        return tal_buf_append(b, x, 8) ? TAL_ENOMEM : 0;
    }
    tal_put32(x, (uint32_t)n);
    return tal_buf_append(b, x, 4) || tal_buf_append(b, v, n) ? TAL_ENOMEM : 0;
}

static void rng_pack(unsigned char *p, const tal_rng *r)
{
    tal_put32(p, r->key[0]);
    tal_put32(p + 4, r->key[1]);
    tal_put64(p + 8, r->counter);
    for (int i = 0; i < 4; i++)
        tal_put32(p + 16 + 4 * i, r->buf[i]);
    tal_put32(p + 32, (uint32_t)r->used);
}

static void rng_unpack(tal_rng *r, const unsigned char *p)
{
    r->key[0] = tal_le32(p);
    r->key[1] = tal_le32(p + 4);
    r->counter = tal_le64(p + 8);
    for (int i = 0; i < 4; i++)
        r->buf[i] = tal_le32(p + 16 + 4 * i);
    r->used = (int)tal_le32(p + 32);
}

int tal_checkpoint_save(const char *path, const tal_ckpt *c)
{
    if (!c->params || !tal_params_data(c->params))
        return tal_err(TAL_EINVAL, "cannot write checkpoint '%s': no parameters", path);
    if (c->nrng < 0 || c->nrng > TAL_CKPT_MAX_ITEMS || c->nscalar < 0 || c->nscalar > TAL_CKPT_MAX_ITEMS)
        return tal_err(TAL_EINVAL, "cannot write checkpoint '%s': too many RNGs or scalars", path);
    tal_output *o = tal_output_open(path, TAL_OUT_BINARY | TAL_OUT_FORCE);
    if (!o)
        return tal_errcode();
    writer w = { tal_output_fd(o), path, 0 };
    unsigned char h[16];
    memcpy(h, MAGIC, 8);
    tal_put32(h + 8, TAL_CKPT_VERSION);
    tal_put32(h + 12, 0);
    int rc = wr(&w, h, 16);
    if (!rc && c->config)
        rc = put_section(&w, SEC_CONFIG, c->config, strlen(c->config), NULL, NULL, 0);
    /* STATE */
    tal_buf st = { 0 };
    if (!rc) {
        rc = put_kv(&st, "step", V_I64, &c->step, 0);
        if (!rc && c->optim) {
            int64_t kind = tal_optim_get_config(c->optim)->kind, steps = tal_optim_steps(c->optim);
            rc = put_kv(&st, "optim.kind", V_I64, &kind, 0) || put_kv(&st, "optim.steps", V_I64, &steps, 0);
        }
        if (!rc && c->ema) {
            double d = tal_ema_decay(c->ema);
            rc = put_kv(&st, "ema.decay", V_F64, &d, 0);
        }
        for (int i = 0; i < c->nrng && !rc; i++) {
            char key[NAME_MAX_ + 8];
            unsigned char rb[RNG_BYTES];
            snprintf(key, sizeof key, "rng:%s", c->rng_name[i]);
            rng_pack(rb, c->rng[i]);
            rc = put_kv(&st, key, V_BYTES, rb, RNG_BYTES);
        }
        for (int i = 0; i < c->nscalar && !rc; i++) {
            char key[NAME_MAX_ + 8];
            snprintf(key, sizeof key, "scalar:%s", c->scalar_name[i]);
            rc = put_kv(&st, key, V_F64, &c->scalar[i], 0);
        }
        if (!rc)
            rc = put_section(&w, SEC_STATE, st.data, st.len, NULL, NULL, 0);
    }
    tal_buf_free(&st);
    if (!rc)
        rc = put_tensors(&w, "params", c->params, tal_params_data(c->params));
    for (int k = 0; c->optim && !rc && k < tal_optim_nstate(c->optim); k++) {
        char set[64];
        snprintf(set, sizeof set, "optim.%s", tal_optim_state_name(c->optim, k));
        rc = put_tensors(&w, set, c->params, tal_optim_state(c->optim, k));
    }
    if (!rc && c->ema)
        rc = put_tensors(&w, "ema", c->params, tal_ema_data(c->ema));
    if (!rc) {
        unsigned char e[8];
        tal_put64(e, w.off);
        rc = put_section(&w, SEC_END, e, 8, NULL, NULL, 0);
    }
    if (!rc && fsync(w.fd) && errno != EINVAL && errno != EROFS)
        rc = tal_err(TAL_EIO, "cannot write '%s': %s", path, strerror(errno));
    if (rc) {
        tal_output_abort(o);
        return rc;
    }
    return tal_output_commit(o);
}

/* ---- reading ------------------------------------------------------------------ */

typedef struct {
    char *name;
    int ndim;
    int64_t shape[TAL_MAX_DIMS];
    uint64_t offset, n;
} ftensor;

typedef struct {
    char *set;
    ftensor *t;
    uint32_t count;
    uint64_t nfloats;
    uint64_t data_at;    /* file offset of the first float */
    uint64_t sec_at;
} fset;

typedef struct {
    char *key;
    int type;
    int64_t i;
    double f;
    unsigned char *bytes;
    uint32_t nbytes;
} fkv;

typedef struct {
    const char *path;
    int fd;
    uint64_t size;
    char *config;
    fkv *kv;
    size_t nkv, capkv;
    fset *sets;
    size_t nsets, capsets;
} reader;

static void reader_free(reader *r)
{
    free(r->config);
    for (size_t i = 0; i < r->nkv; i++) {
        free(r->kv[i].key);
        free(r->kv[i].bytes);
    }
    free(r->kv);
    for (size_t i = 0; i < r->nsets; i++) {
        for (uint32_t k = 0; k < r->sets[i].count; k++)
            free(r->sets[i].t[k].name);
        free(r->sets[i].t);
        free(r->sets[i].set);
    }
    free(r->sets);
    if (r->fd >= 0)
        close(r->fd);
}

static int rd_at(reader *r, void *p, size_t n, uint64_t off)
{
    unsigned char *b = p;
    while (n) {
        ssize_t k = pread(r->fd, b, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return tal_err(TAL_EIO, "cannot read checkpoint '%s': %s", r->path, strerror(errno));
        if (k == 0)
            return tal_err(TAL_ETRUNC, "truncated checkpoint: '%s': file ends at byte offset %llu", r->path,
                           (unsigned long long)off);
        b += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

static int corrupt(reader *r, const char *what, uint32_t type, uint64_t at)
{
    return tal_err(TAL_ECORRUPT, "corrupt checkpoint: '%s': %s in section %s at byte offset %llu", r->path, what,
                   sec_name(type), (unsigned long long)at);
}

/* bounded parsing of a payload held in memory */
typedef struct {
    const unsigned char *p;
    size_t n, at;
    int bad;
} cur;

static const unsigned char *take(cur *c, size_t n)
{
    if (c->bad || n > c->n - c->at) {
        c->bad = 1;
        return NULL;
    }
    const unsigned char *p = c->p + c->at;
    c->at += n;
    return p;
}

static uint64_t take64(cur *c)
{
    const unsigned char *p = take(c, 8);
    return p ? tal_le64(p) : 0;
}

static char *take_str(cur *c)
{
    const unsigned char *p = take(c, 2);
    if (!p)
        return NULL;
    size_t n = tal_le16(p);
    if (n > NAME_MAX_ || !(p = take(c, n)) || memchr(p, 0, n)) {
        c->bad = 1;
        return NULL;
    }
    char *s = tal_strndup((const char *)p, n);
    if (!s)
        c->bad = 1;
    return s;
}

static int parse_state(reader *r, const unsigned char *p, size_t n, uint64_t at)
{
    cur c = { p, n, 0, 0 };
    while (c.at < c.n && !c.bad) {
        char *key = take_str(&c);
        const unsigned char *t = take(&c, 1);
        if (!key || !t) {
            free(key);
            break;
        }
        if (tal_grow((void **)&r->kv, &r->capkv, r->nkv + 1, sizeof *r->kv)) {
            free(key);
            return TAL_ENOMEM;
        }
        fkv *kv = &r->kv[r->nkv++];
        memset(kv, 0, sizeof *kv);
        kv->key = key;
        kv->type = *t;
        if (*t == V_I64) {
            kv->i = (int64_t)take64(&c);
        } else if (*t == V_F64) {
            const unsigned char *q = take(&c, 8);
            kv->f = q ? tal_lef64(q) : 0;
        } else if (*t == V_BYTES) {
            const unsigned char *q = take(&c, 4);
            uint32_t len = q ? tal_le32(q) : 0;
            const unsigned char *d = take(&c, len);
            if (d) {
                kv->bytes = tal_malloc(len ? len : 1);
                if (!kv->bytes)
                    return TAL_ENOMEM;
                memcpy(kv->bytes, d, len);
                kv->nbytes = len;
            }
        } else {
            c.bad = 1;
        }
    }
    return c.bad ? corrupt(r, "malformed record", SEC_STATE, at) : 0;
}

static int parse_index(reader *r, fset *s, const unsigned char *p, size_t n, uint64_t payload_len, uint64_t at)
{
    cur c = { p, n, 8, 0 };
    s->set = take_str(&c);
    const unsigned char *q = take(&c, 4);
    uint32_t count = q ? tal_le32(q) : 0;
    if (count > n / 16)   /* every entry needs at least 16 bytes */
        c.bad = 1;
    if (!c.bad && count) {
        s->t = tal_calloc(count, sizeof *s->t);
        if (!s->t)
            return TAL_ENOMEM;
    }
    for (uint32_t i = 0; i < count && !c.bad; i++) {
        ftensor *t = &s->t[i];
        t->name = take_str(&c);
        s->count = i + 1;
        const unsigned char *nd = take(&c, 1);
        if (!nd || *nd > TAL_MAX_DIMS) {
            c.bad = 1;
            break;
        }
        t->ndim = *nd;
        t->n = 1;
        for (int d = 0; d < t->ndim; d++) {
            uint64_t v = take64(&c);
            if (v > ((uint64_t)1 << 40) || (v && t->n > UINT64_MAX / v / 8))
                c.bad = 1;
            t->shape[d] = (int64_t)v;
            t->n *= v;
        }
        t->offset = take64(&c);
    }
    s->nfloats = take64(&c);
    if (!c.bad && (s->nfloats > UINT64_MAX / 8 || s->nfloats * 4 != payload_len - n))
        c.bad = 1;
    for (uint32_t i = 0; i < s->count && !c.bad; i++)
        if (s->t[i].offset > s->nfloats || s->t[i].n > s->nfloats - s->t[i].offset)
            c.bad = 1;
    return c.bad ? corrupt(r, "malformed tensor index", SEC_TENSORS, at) : 0;
}

/* pass 1: every section read, every CRC checked, small parts kept */
static int scan(reader *r)
{
    struct stat sb;
    if (fstat(r->fd, &sb))
        return tal_err(TAL_EIO, "cannot read checkpoint '%s': %s", r->path, strerror(errno));
    r->size = (uint64_t)sb.st_size;
    unsigned char h[HDR];
    size_t head = r->size < 16 ? (size_t)r->size : 16;
    int rc = rd_at(r, h, head, 0);
    if (rc)
        return rc;
    if (memcmp(h, MAGIC, head < 8 ? head : 8))
        return tal_err(TAL_ECORRUPT, "not a checkpoint: '%s': bad magic at byte offset 0", r->path);
    if (head < 16)
        return tal_err(TAL_ETRUNC, "truncated checkpoint: '%s': file ends at byte offset %llu inside the 16-byte "
                       "header", r->path, (unsigned long long)r->size);
    uint32_t version = tal_le32(h + 8), flags = tal_le32(h + 12);
    if (version != TAL_CKPT_VERSION)
        return tal_err(TAL_EUNSUP, "unsupported checkpoint: '%s': version %u (this build reads version %d)", r->path,
                       version, TAL_CKPT_VERSION);
    if (flags)
        return tal_err(TAL_EUNSUP, "unsupported checkpoint: '%s': unknown header flags 0x%x at byte offset 12",
                       r->path, flags);
    uint64_t off = 16;
    unsigned char *buf = NULL;
    size_t bufcap = (size_t)4 << 20;
    buf = tal_malloc(bufcap);
    if (!buf)
        return TAL_ENOMEM;
    for (;;) {
        if (off == r->size) {
            rc = tal_err(TAL_ETRUNC, "truncated checkpoint: '%s': no end marker (file ends at byte offset %llu)",
                         r->path, (unsigned long long)off);
            break;
        }
        if (r->size - off < HDR) {
            rc = tal_err(TAL_ETRUNC, "truncated checkpoint: '%s': file ends at byte offset %llu inside a section "
                         "header starting at byte offset %llu", r->path, (unsigned long long)r->size,
                         (unsigned long long)off);
            break;
        }
        if ((rc = rd_at(r, h, HDR, off)))
            break;
        uint32_t type = tal_le32(h), sflags = tal_le32(h + 4), pcrc = tal_le32(h + 16);
        uint64_t len = tal_le64(h + 8);
        if (crc_update(0, h, 20) != tal_le32(h + 20)) {
            rc = corrupt(r, "header CRC mismatch", type, off);
            break;
        }
        uint64_t pay = off + HDR;
        if (len > r->size - pay) {
            rc = tal_err(TAL_ETRUNC, "truncated checkpoint: '%s': file ends at byte offset %llu inside section %s "
                         "starting at byte offset %llu (%llu payload bytes announced)", r->path,
                         (unsigned long long)r->size, sec_name(type), (unsigned long long)off,
                         (unsigned long long)len);
            break;
        }
        int known = type == SEC_CONFIG || type == SEC_STATE || type == SEC_TENSORS || type == SEC_END;
        if (!known && (sflags & SEC_MUST_UNDERSTAND)) {
            rc = tal_err(TAL_EUNSUP, "unsupported checkpoint: '%s': section type %u at byte offset %llu", r->path,
                         type, (unsigned long long)off);
            break;
        }
        /* the part kept in memory */
        uint64_t keep = 0;
        if (type == SEC_CONFIG || type == SEC_STATE || type == SEC_END)
            keep = len;
        if (type == SEC_TENSORS) {
            unsigned char l8[8];
            if (len < 8 || (rc = rd_at(r, l8, 8, pay))) {
                rc = rc ? rc : corrupt(r, "short tensor section", type, off);
                break;
            }
            keep = tal_le64(l8);
            if (keep < 8 || keep > len || keep > INDEX_MAX) {
                rc = corrupt(r, "bad tensor index length", type, off);
                break;
            }
        }
        if ((type == SEC_CONFIG || type == SEC_STATE) && len > SMALL_MAX) {
            rc = corrupt(r, "oversized section", type, off);
            break;
        }
        if (type == SEC_END && len != 8) {
            rc = corrupt(r, "bad end marker", type, off);
            break;
        }
        if (keep > bufcap) {
            unsigned char *nb = tal_realloc(buf, keep);
            if (!nb) {
                rc = TAL_ENOMEM;
                break;
            }
            buf = nb;
            bufcap = keep;
        }
        if ((rc = rd_at(r, buf, keep, pay)))
            break;
        uint32_t crc = crc_update(0, buf, keep);
        /* stream the rest of the payload through the CRC */
        unsigned char *tmp = buf + keep;
        size_t room = bufcap - keep;
        unsigned char *own = NULL;
        if (room < (1u << 20)) {
            own = tal_malloc((size_t)4 << 20);
            if (!own) {
                rc = TAL_ENOMEM;
                break;
            }
            tmp = own;
            room = (size_t)4 << 20;
        }
        for (uint64_t at = keep; at < len && !rc;) {
            size_t m = len - at < room ? (size_t)(len - at) : room;
            rc = rd_at(r, tmp, m, pay + at);
            crc = crc_update(crc, tmp, m);
            at += m;
        }
        free(own);
        if (rc)
            break;
        if (crc != pcrc) {
            rc = corrupt(r, "payload CRC mismatch", type, off);
            break;
        }
        if (type == SEC_CONFIG) {
            free(r->config);
            r->config = tal_strndup((const char *)buf, keep);
            if (!r->config) {
                rc = TAL_ENOMEM;
                break;
            }
        } else if (type == SEC_STATE) {
            if ((rc = parse_state(r, buf, keep, off)))
                break;
        } else if (type == SEC_TENSORS) {
            if (tal_grow((void **)&r->sets, &r->capsets, r->nsets + 1, sizeof *r->sets)) {
                rc = TAL_ENOMEM;
                break;
            }
            fset *s = &r->sets[r->nsets++];
            memset(s, 0, sizeof *s);
            s->sec_at = off;
            s->data_at = pay + keep;
            if ((rc = parse_index(r, s, buf, keep, len, off)))
                break;
        } else if (type == SEC_END) {
            if (tal_le64(buf) != off) {
                rc = corrupt(r, "end marker does not match its position", type, off);
                break;
            }
            if (pay + len != r->size)
                rc = tal_err(TAL_ECORRUPT, "corrupt checkpoint: '%s': %llu bytes after the end marker at byte "
                             "offset %llu", r->path, (unsigned long long)(r->size - pay - len),
                             (unsigned long long)off);
            break;
        }
        off = pay + len;
    }
    free(buf);
    return rc;
}

static const fkv *find_kv(const reader *r, const char *key, int type)
{
    for (size_t i = 0; i < r->nkv; i++)
        if (!strcmp(r->kv[i].key, key) && r->kv[i].type == type)
            return &r->kv[i];
    return NULL;
}

static const fset *find_set(const reader *r, const char *set)
{
    for (size_t i = 0; i < r->nsets; i++)
        if (r->sets[i].set && !strcmp(r->sets[i].set, set))
            return &r->sets[i];
    return NULL;
}

static const ftensor *find_tensor(const fset *s, const char *name)
{
    for (uint32_t i = 0; i < s->count; i++)
        if (s->t[i].name && !strcmp(s->t[i].name, name))
            return &s->t[i];
    return NULL;
}

static int same_shape(const ftensor *f, const tal_tensor *t)
{
    if (f->ndim != t->ndim)
        return 0;
    for (int d = 0; d < t->ndim; d++)
        if (f->shape[d] != t->shape[d])
            return 0;
    return 1;
}

/* Does set `name` fit P?  partial: count the fitting tensors instead of
 * failing. */
static int check_set(reader *r, const char *name, tal_params *P, int partial, int *fit)
{
    const fset *s = find_set(r, name);
    if (!s)
        return tal_err(TAL_EINVAL, "cannot load checkpoint '%s': it has no '%s' tensors", r->path, name);
    int n = 0;
    for (int i = 0; i < tal_params_count(P); i++) {
        tal_tensor *t = tal_params_get(P, i);
        const ftensor *f = find_tensor(s, t->name);
        if (f && same_shape(f, t)) {
            n++;
            continue;
        }
        if (partial)
            continue;
        if (!f)
            return tal_err(TAL_EINVAL, "cannot load checkpoint '%s': '%s' has no tensor '%s'", r->path, name,
                           t->name);
        return tal_err(TAL_EINVAL, "cannot load checkpoint '%s': tensor '%s' of '%s' has another shape", r->path,
                       t->name, name);
    }
    if (!partial)
        for (uint32_t k = 0; k < s->count; k++)
            if (!s->t[k].name || !tal_params_find(P, s->t[k].name))
                return tal_err(TAL_EINVAL, "cannot load checkpoint '%s': it has a tensor '%s' the model does not",
                               r->path, s->t[k].name ? s->t[k].name : "");
    if (fit)
        *fit = n;
    return 0;
}

/* pass 2: the data of set `name` into buffer dst laid out like P */
static int read_set(reader *r, const char *name, tal_params *P, float *dst)
{
    const fset *s = find_set(r, name);
    const tal_backend *be = tal_params_backend(P);
    int direct = be == &tal_backend_cpu;
    for (int i = 0; i < tal_params_count(P); i++) {
        tal_tensor *t = tal_params_get(P, i);
        const ftensor *f = find_tensor(s, t->name);
        if (!f || !same_shape(f, t))
            continue;
        size_t bytes = (size_t)f->n * sizeof(float);
        float *to = dst + tal_params_offset(P, i), *host = direct ? to : tal_malloc(bytes ? bytes : 1);
        if (!host)
            return TAL_ENOMEM;
        int rc = rd_at(r, host, bytes, s->data_at + f->offset * sizeof(float));
        if (!rc && !direct) {
            be->upload(to, host, bytes);
            rc = be->status();
        }
        if (!direct)
            free(host);
        if (rc)
            return rc;
    }
    return 0;
}

int tal_checkpoint_load(const char *path, tal_ckpt *c, int flags)
{
    reader r = { .path = path, .fd = -1 };
    r.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r.fd < 0)
        return tal_err(TAL_EIO, "cannot open checkpoint '%s': %s", path, strerror(errno));
    int rc = scan(&r);
    int partial = (flags & TAL_CKPT_PARTIAL) != 0, nfit = 0;
    const fkv *step = NULL;
    char set[64];
    /* everything checked before anything changes */
    if (!rc && !c->params)
        rc = tal_err(TAL_EINVAL, "cannot load checkpoint '%s': no parameters to load into", path);
    if (!rc)
        rc = check_set(&r, "params", c->params, partial, &nfit);
    if (!rc && !(step = find_kv(&r, "step", V_I64)))
        rc = tal_err(TAL_ECORRUPT, "corrupt checkpoint: '%s': no step", path);
    if (!rc && c->optim) {
        const fkv *kind = find_kv(&r, "optim.kind", V_I64), *steps = find_kv(&r, "optim.steps", V_I64);
        if (!kind || !steps)
            rc = tal_err(TAL_EINVAL, "cannot load checkpoint '%s': it has no optimiser state", path);
        else if (kind->i != tal_optim_get_config(c->optim)->kind)
            rc = tal_err(TAL_EINVAL, "cannot load checkpoint '%s': its optimiser is %s, not %s", path,
                         tal_optim_kind_name((int)kind->i), tal_optim_kind_name(tal_optim_get_config(c->optim)->kind));
        for (int k = 0; !rc && k < tal_optim_nstate(c->optim); k++) {
            snprintf(set, sizeof set, "optim.%s", tal_optim_state_name(c->optim, k));
            rc = check_set(&r, set, c->params, 0, NULL);
        }
    }
    if (!rc && c->ema)
        rc = check_set(&r, "ema", c->params, 0, NULL);
    for (int i = 0; !rc && i < c->nrng; i++) {
        char key[NAME_MAX_ + 8];
        snprintf(key, sizeof key, "rng:%s", c->rng_name[i]);
        const fkv *kv = find_kv(&r, key, V_BYTES);
        if (!kv || kv->nbytes != RNG_BYTES)
            rc = tal_err(TAL_EINVAL, "cannot load checkpoint '%s': no random state '%s'", path, c->rng_name[i]);
    }
    for (int i = 0; !rc && i < c->nscalar; i++) {
        char key[NAME_MAX_ + 8];
        snprintf(key, sizeof key, "scalar:%s", c->scalar_name[i]);
        if (!find_kv(&r, key, V_F64) && !(flags & TAL_CKPT_SCALARS_OPTIONAL))
            rc = tal_err(TAL_EINVAL, "cannot load checkpoint '%s': no value '%s'", path, c->scalar_name[i]);
    }
    /* now restore */
    if (!rc)
        rc = read_set(&r, "params", c->params, tal_params_data(c->params));
    if (!rc && c->optim) {
        for (int k = 0; !rc && k < tal_optim_nstate(c->optim); k++) {
            snprintf(set, sizeof set, "optim.%s", tal_optim_state_name(c->optim, k));
            rc = read_set(&r, set, c->params, tal_optim_state(c->optim, k));
        }
        if (!rc)
            tal_optim_set_steps(c->optim, find_kv(&r, "optim.steps", V_I64)->i);
    }
    if (!rc && c->ema)
        rc = read_set(&r, "ema", c->params, tal_ema_data(c->ema));
    if (!rc) {
        c->step = step->i;
        for (int i = 0; i < c->nrng; i++) {
            char key[NAME_MAX_ + 8];
            snprintf(key, sizeof key, "rng:%s", c->rng_name[i]);
            rng_unpack(c->rng[i], find_kv(&r, key, V_BYTES)->bytes);
        }
        for (int i = 0; i < c->nscalar; i++) {
            char key[NAME_MAX_ + 8];
            snprintf(key, sizeof key, "scalar:%s", c->scalar_name[i]);
            const fkv *kv = find_kv(&r, key, V_F64);
            if (kv)
                c->scalar[i] = kv->f;
        }
        c->config = r.config;
        r.config = NULL;
    }
    reader_free(&r);
    return rc ? rc : partial ? nfit : 0;
}

char *tal_checkpoint_config(const char *path)
{
    reader r = { .path = path, .fd = -1 };
    r.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r.fd < 0) {
        tal_err(TAL_EIO, "cannot open checkpoint '%s': %s", path, strerror(errno));
        return NULL;
    }
    char *s = NULL;
    if (!scan(&r))
        s = r.config ? r.config : tal_strdup("");
    if (s == r.config)
        r.config = NULL;
    reader_free(&r);
    return s;
}
