/* frame.c — framing layer: checksummed, optionally deflated frames
 * (see frame.h and data-spec.md §2). */
#include "frame.h"
#include "../util/crc32.h"
#include "../util/endian.h"
#include "../util/error.h"
#include "../util/mem.h"
#include "../util/output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

const unsigned char tal_frame_magic[4] = { 0x8A, 'T', 'A', 'L' };

typedef struct {
    uint64_t offset;        /* where the header starts in the input */
    int codec;
    uint32_t csize, usize, dcrc;
} frame_info;

struct tal_frame_reader {
    int fd;
    char *name;
    uint64_t pos;           /* input bytes consumed */
    unsigned char *buf;     /* decoded payload of the current frame */
    size_t buf_cap, buf_len, buf_pos;
    uint64_t buf_offset;    /* input offset of the current frame */
    unsigned char *cbuf;    /* compressed payload scratch */
    size_t cbuf_cap;
    z_stream z;
    int z_ready;
    frame_info pending;     /* a header read but whose payload is not */
    int have_pending;
};

static uint32_t crc(const void *p, size_t n) { return tal_crc32(0, p, n); }

void tal_frame_header_encode(unsigned char h[TAL_FRAME_HEADER_SIZE], int codec,
                             uint32_t csize, uint32_t usize, uint32_t dcrc)
{
    memcpy(h, tal_frame_magic, 4);
    h[4] = (unsigned char)codec;
    h[5] = 0;           /* frame flags: none defined */
    tal_put16(h + 6, 0);
    tal_put32(h + 8, csize);
    tal_put32(h + 12, usize);
    tal_put32(h + 16, dcrc);
    tal_put32(h + 20, crc(h, 20));
}

/* ---- reading ---------------------------------------------------------- */

tal_frame_reader *tal_fr_open(int fd, const char *name)
{
    tal_frame_reader *r = tal_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->fd = fd;
    r->name = tal_strdup(strcmp(name, "-") ? name : "standard input");
    if (!r->name) {
        free(r);
        return NULL;
    }
    return r;
}

void tal_fr_close(tal_frame_reader *r)
{
    if (!r)
        return;
    if (r->z_ready)
        inflateEnd(&r->z);
    free(r->buf);
    free(r->cbuf);
    free(r->name);
    free(r);
}

const char *tal_fr_name(const tal_frame_reader *r) { return r->name; }
uint64_t tal_fr_input_offset(const tal_frame_reader *r) { return r->pos; }

uint64_t tal_fr_frame_offset(const tal_frame_reader *r)
{
    if (r->buf_pos < r->buf_len)
        return r->buf_offset;
    return r->have_pending ? r->pending.offset : r->pos;
}

/* Read up to n bytes; stops early only at the end of the input. */
static int read_full(tal_frame_reader *r, void *dst, size_t n, size_t *got)
{
    unsigned char *p = dst;
    *got = 0;
    while (*got < n) {
        size_t want = n - *got;
        ssize_t k = read(r->fd, p + *got, want > ((size_t)1 << 30) ? ((size_t)1 << 30) : want);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return tal_err(TAL_EIO, "cannot read '%s': %s", r->name, strerror(errno));
        }
        if (k == 0)
            break;
        *got += (size_t)k;
    }
    r->pos += *got;
    return 0;
}

/* Largest csize a deflated frame of usize bytes can honestly have. */
static uint64_t deflate_limit(uint32_t usize) { return compressBound(usize); }

/* Read and check the next frame header.  1: got one (in r->pending);
 * 0: the input ended cleanly before it; <0: error. */
static int next_header(tal_frame_reader *r)
{
    if (r->have_pending)
        return 1;
    unsigned char h[TAL_FRAME_HEADER_SIZE];
    uint64_t off = r->pos;
    size_t got;
    int rc = read_full(r, h, sizeof h, &got);
    if (rc)
        return rc;
    if (got == 0)
        return 0;
    /* a short tail that is not even a frame's start is not a truncation */
    if (got < sizeof h && memcmp(h, tal_frame_magic, got < 4 ? got : 4)) {
        if (off == 0)
            return tal_err(TAL_ECORRUPT, "not a talcore stream: '%s': bad magic", r->name);
        return tal_err(TAL_ECORRUPT, "corrupt stream: '%s': bad frame magic at byte offset %llu",
                       r->name, (unsigned long long)off);
    }
    if (got < sizeof h)
        return tal_err(TAL_ETRUNC, "truncated stream: '%s': frame header at byte offset %llu has %zu of %d bytes",
                       r->name, (unsigned long long)off, got, TAL_FRAME_HEADER_SIZE);
    if (memcmp(h, tal_frame_magic, 4)) {
        if (off == 0)
            return tal_err(TAL_ECORRUPT, "not a talcore stream: '%s': bad magic", r->name);
        return tal_err(TAL_ECORRUPT, "corrupt stream: '%s': bad frame magic at byte offset %llu",
                       r->name, (unsigned long long)off);
    }
    if (tal_le32(h + 20) != crc(h, 20))
        return tal_err(TAL_ECORRUPT, "corrupt stream: '%s': frame header CRC mismatch at byte offset %llu",
                       r->name, (unsigned long long)off);
    frame_info f = { off, h[4], tal_le32(h + 8), tal_le32(h + 12), tal_le32(h + 16) };
    if (h[5])
        return tal_err(TAL_EUNSUP, "unsupported stream: '%s': frame at byte offset %llu sets unknown flags 0x%02x",
                       r->name, (unsigned long long)off, h[5]);
    if (f.codec != TAL_CODEC_STORED && f.codec != TAL_CODEC_DEFLATE)
        return tal_err(TAL_EUNSUP, "unsupported stream: '%s': frame at byte offset %llu uses unknown codec %d",
                       r->name, (unsigned long long)off, f.codec);
    if (f.usize > TAL_FRAME_MAX)
        return tal_err(TAL_ECORRUPT, "corrupt stream: '%s': frame at byte offset %llu declares %u bytes (limit %u)",
                       r->name, (unsigned long long)off, f.usize, TAL_FRAME_MAX);
    int bad_size = f.usize == 0 ? (f.csize != 0 || f.codec != TAL_CODEC_STORED || f.dcrc != 0)
                 : f.codec == TAL_CODEC_STORED ? f.csize != f.usize
                 : (f.csize == 0 || f.csize > deflate_limit(f.usize));
    if (bad_size)
        return tal_err(TAL_ECORRUPT, "corrupt stream: '%s': frame at byte offset %llu has inconsistent sizes (%u stored, %u decoded)",
                       r->name, (unsigned long long)off, f.csize, f.usize);
    r->pending = f;
    r->have_pending = 1;
    return 1;
}

/* Read the pending frame's payload and decode it into dst (usize bytes). */
static int load_payload(tal_frame_reader *r, unsigned char *dst)
{
    frame_info f = r->pending;
    size_t got;
    int rc;
    r->have_pending = 0;
    if (f.codec == TAL_CODEC_STORED) {
        if ((rc = read_full(r, dst, f.csize, &got)))
            return rc;
    } else {
        if (f.csize > r->cbuf_cap) {
            unsigned char *p = tal_realloc(r->cbuf, f.csize);
            if (!p)
                return TAL_ENOMEM;
            r->cbuf = p;
            r->cbuf_cap = f.csize;
        }
        if ((rc = read_full(r, r->cbuf, f.csize, &got)))
            return rc;
    }
    if (got < f.csize)
        return tal_err(TAL_ETRUNC, "truncated stream: '%s': frame at byte offset %llu has %zu of %u payload bytes",
                       r->name, (unsigned long long)f.offset, got, f.csize);
    if (f.codec == TAL_CODEC_DEFLATE) {
        if (!r->z_ready) {
            memset(&r->z, 0, sizeof r->z);
            if (inflateInit2(&r->z, -15) != Z_OK)
                return tal_err(TAL_ENOMEM, "out of memory: cannot start zlib inflate");
            r->z_ready = 1;
        } else {
            inflateReset(&r->z);
        }
        r->z.next_in = r->cbuf;
        r->z.avail_in = f.csize;
        r->z.next_out = dst;
        r->z.avail_out = f.usize;
        int zr = inflate(&r->z, Z_FINISH);
        if (zr != Z_STREAM_END || r->z.avail_out || r->z.avail_in)
            return tal_err(TAL_ECORRUPT, "corrupt stream: '%s': bad deflate data in frame at byte offset %llu",
                           r->name, (unsigned long long)f.offset);
    }
    if (crc(dst, f.usize) != f.dcrc)
        return tal_err(TAL_ECORRUPT, "corrupt stream: '%s': CRC mismatch in frame at byte offset %llu",
                       r->name, (unsigned long long)f.offset);
    return 0;
}

/* Make the next data frame current (its payload in r->buf). */
static int load_into_buffer(tal_frame_reader *r)
{
    uint32_t n = r->pending.usize;
    if (n > r->buf_cap) {
        unsigned char *p = tal_realloc(r->buf, n);
        if (!p)
            return TAL_ENOMEM;
        r->buf = p;
        r->buf_cap = n;
    }
    r->buf_offset = r->pending.offset;
    r->buf_len = r->buf_pos = 0;
    int rc = load_payload(r, r->buf);
    if (rc)
        return rc;
    r->buf_len = n;
    return 0;
}

/* The next frame inside a chunk: must exist and must not be the EOF marker. */
static int need_data_frame(tal_frame_reader *r)
{
    int rc = next_header(r);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return tal_err(TAL_ETRUNC, "truncated stream: '%s': input ends at byte offset %llu inside a record",
                       r->name, (unsigned long long)r->pos);
    if (r->pending.usize == 0)
        return tal_err(TAL_ECORRUPT, "corrupt stream: '%s': EOF marker at byte offset %llu inside a record",
                       r->name, (unsigned long long)r->pending.offset);
    return 0;
}

int tal_fr_read(tal_frame_reader *r, void *dst, size_t n)
{
    unsigned char *p = dst;
    while (n) {
        size_t avail = r->buf_len - r->buf_pos;
        if (avail) {
            size_t k = avail < n ? avail : n;
            memcpy(p, r->buf + r->buf_pos, k);
            r->buf_pos += k;
            p += k;
            n -= k;
            continue;
        }
        int rc = need_data_frame(r);
        if (rc)
            return rc;
        if (r->pending.usize <= n) {
            /* the whole frame belongs to the caller: decode in place */
            uint32_t u = r->pending.usize;
            r->buf_offset = r->pending.offset;
            if ((rc = load_payload(r, p)))
                return rc;
            p += u;
            n -= u;
        } else if ((rc = load_into_buffer(r))) {
            return rc;
        }
    }
    return 0;
}

int tal_fr_skip(tal_frame_reader *r, uint64_t n)
{
    while (n) {
        size_t avail = r->buf_len - r->buf_pos;
        if (avail) {
            size_t k = avail < n ? avail : (size_t)n;
            r->buf_pos += k;
            n -= k;
            continue;
        }
        int rc = need_data_frame(r);
        if (rc || (rc = load_into_buffer(r)))
            return rc;
    }
    return 0;
}

int tal_fr_more(tal_frame_reader *r)
{
    if (r->buf_pos < r->buf_len)
        return 1;
    int rc = next_header(r);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return tal_err(TAL_ETRUNC, "truncated stream: '%s': EOF marker is absent at byte offset %llu",
                       r->name, (unsigned long long)r->pos);
    if (r->pending.usize == 0) {
        r->have_pending = 0;     /* consume the marker */
        return 0;
    }
    return 1;
}

int tal_fr_next_stream(tal_frame_reader *r)
{
    /* a header waits in r->pending for the stream layer to read */
    return next_header(r);
}

/* ---- writing ---------------------------------------------------------- */

struct tal_frame_writer {
    int fd;
    char *name;
    int level;
    size_t frame_size;
    unsigned char *buf, *cbuf;
    size_t buf_len, cbuf_cap;
    z_stream z;
    int z_ready;
    uint64_t bytes_out, bytes_in;
};

tal_frame_writer *tal_fw_open(int fd, const char *name, int level, size_t frame_size)
{
    if (level < 0 || level > 9) {
        tal_err(TAL_EINVAL, "invalid compression level %d (0..9)", level);
        return NULL;
    }
    if (frame_size == 0)
        frame_size = TAL_FRAME_DEFAULT;
    if (frame_size > TAL_FRAME_MAX)
        frame_size = TAL_FRAME_MAX;
    tal_frame_writer *w = tal_calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->fd = fd;
    w->level = level;
    w->frame_size = frame_size;
    w->name = tal_strdup(strcmp(name, "-") ? name : "standard output");
    w->buf = tal_malloc(frame_size);
    if (level > 0) {
        w->cbuf_cap = compressBound((uLong)frame_size);
        w->cbuf = tal_malloc(w->cbuf_cap);
    }
    if (!w->name || !w->buf || (level > 0 && !w->cbuf)) {
        tal_fw_close(w);
        return NULL;
    }
    return w;
}

void tal_fw_close(tal_frame_writer *w)
{
    if (!w)
        return;
    if (w->z_ready)
        deflateEnd(&w->z);
    free(w->buf);
    free(w->cbuf);
    free(w->name);
    free(w);
}

uint64_t tal_fw_bytes_out(const tal_frame_writer *w) { return w->bytes_out; }
uint64_t tal_fw_bytes_in(const tal_frame_writer *w) { return w->bytes_in; }

static int emit(tal_frame_writer *w, const unsigned char *data, size_t n)
{
    unsigned char h[TAL_FRAME_HEADER_SIZE];
    const unsigned char *payload = data;
    size_t csize = n;
    int codec = TAL_CODEC_STORED;
    uint32_t dcrc = n ? crc(data, n) : 0;

    if (w->level > 0 && n > 0) {
        if (!w->z_ready) {
            memset(&w->z, 0, sizeof w->z);
            if (deflateInit2(&w->z, w->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                return tal_err(TAL_ENOMEM, "out of memory: cannot start zlib deflate");
            w->z_ready = 1;
        } else {
            deflateReset(&w->z);
        }
        w->z.next_in = (Bytef *)data;
        w->z.avail_in = (uInt)n;
        w->z.next_out = w->cbuf;
        w->z.avail_out = (uInt)w->cbuf_cap;
        if (deflate(&w->z, Z_FINISH) != Z_STREAM_END)
            return tal_err(TAL_EIO, "cannot write '%s': zlib deflate failed", w->name);
        if (w->z.total_out < n) {           /* keep it only if it shrank */
            payload = w->cbuf;
            csize = w->z.total_out;
            codec = TAL_CODEC_DEFLATE;
        }
    }
    tal_frame_header_encode(h, codec, (uint32_t)csize, (uint32_t)n, dcrc);
    int rc = tal_write_all(w->fd, h, sizeof h, w->name);
    if (!rc && csize)
        rc = tal_write_all(w->fd, payload, csize, w->name);
    if (rc)
        return rc;
    w->bytes_out += sizeof h + csize;
    return 0;
}

int tal_fw_write(tal_frame_writer *w, const void *p, size_t n)
{
    const unsigned char *s = p;
    w->bytes_in += n;
    while (n) {
        if (w->buf_len == 0 && n >= w->frame_size) {
            /* a whole frame straight from the caller's memory */
            int rc = emit(w, s, w->frame_size);
            if (rc)
                return rc;
            s += w->frame_size;
            n -= w->frame_size;
            continue;
        }
        size_t k = w->frame_size - w->buf_len;
        if (k > n)
            k = n;
        memcpy(w->buf + w->buf_len, s, k);
        w->buf_len += k;
        s += k;
        n -= k;
        if (w->buf_len == w->frame_size) {
            int rc = emit(w, w->buf, w->buf_len);
            w->buf_len = 0;
            if (rc)
                return rc;
        }
    }
    return 0;
}

int tal_fw_flush(tal_frame_writer *w, size_t min_bytes)
{
    if (w->buf_len == 0 || w->buf_len < min_bytes)
        return 0;
    int rc = emit(w, w->buf, w->buf_len);
    w->buf_len = 0;
    return rc;
}

int tal_fw_end(tal_frame_writer *w)
{
    int rc = tal_fw_flush(w, 1);
    return rc ? rc : emit(w, NULL, 0);
}
