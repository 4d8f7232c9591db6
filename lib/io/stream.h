/* stream.h — reading and writing talcore streams (data-spec.md).
 *
 * Reading:
 *     tal_stream *s = tal_stream_open("val.tal");      // "-" is stdin
 *     const tal_header *h = tal_stream_header(s);
 *     tal_record r; tal_record_init(&r);
 *     while ((rc = tal_record_read(s, &r)) > 0) { ... }
 *     // rc == 0: clean end; rc < 0: error, message in tal_errmsg()
 *     tal_record_free(&r); tal_stream_close(s);
 *
 * Streams joined with cat read as one, provided their headers agree
 * (tal_header_compatible); the header returned is the first one.
 *
 * Writing:
 *     tal_stream *w = tal_stream_create("out.tal", &hdr, NULL);
 *     tal_record_write(w, &r) ...;
 *     tal_stream_finish(w);      // EOF marker, then rename into place
 * or tal_stream_abort(w) to leave nothing behind.
 */
#ifndef TAL_IO_STREAM_H
#define TAL_IO_STREAM_H

#include "../data/record.h"
#include "../util/error.h"

#include <stdint.h>

#define TAL_STREAM_VERSION_MAJOR 1
#define TAL_STREAM_VERSION_MINOR 3

/* chunk types */
enum { TAL_CHUNK_HEADER = 1, TAL_CHUNK_RECORD = 2 };

/* header section types */
enum { TAL_HS_CLASSES = 1, TAL_HS_FEATURES = 2, TAL_HS_GRID = 3, TAL_HS_PROV = 4, TAL_HS_META = 5 };

/* record section types */
enum {
    TAL_RS_CORE = 1, TAL_RS_FEATURES = 2, TAL_RS_SEGMENTS = 3, TAL_RS_DETECTIONS = 4,
    TAL_RS_POINTS = 5, TAL_RS_LABELS = 6, TAL_RS_DIST = 7, TAL_RS_PROV = 8,
    TAL_RS_TIMEMAP = 9,   /* since 1.2: written copy-safe, not critical */
};

/* chunk and section flags */
#define TAL_SEC_CRITICAL 0x1u   /* a reader that does not know the type must stop */
#define TAL_SEC_COPYSAFE 0x2u   /* a tool that does not know it may copy it unchanged */

/* caps checked before anything is allocated */
#define TAL_MAX_STRING     ((uint32_t)1 << 20)
#define TAL_MAX_CLASSES    ((uint32_t)1 << 20)
#define TAL_MAX_HEADER     ((uint64_t)64 << 20)
#define TAL_MAX_T          ((uint32_t)1 << 26)
#define TAL_MAX_D          ((uint32_t)1 << 20)
#define TAL_MAX_ELEMENTS   ((uint64_t)1 << 32)     /* floats in one array */

typedef struct tal_stream tal_stream;

typedef struct {
    int level;             /* 0 stored (default), 1..9 deflate */
    size_t frame_size;     /* payload per frame; 0: 4 MiB */
    int force;             /* allow a binary stream on a terminal */
    int feat_dtype;        /* 0: the header's; else store features as this */
} tal_write_opts;

tal_stream *tal_stream_open(const char *path) TAL_RESULT_USED;
/* Read from an open descriptor (a socket, a memfd); it is not closed by
 * tal_stream_close.  `name` is used in messages. */
tal_stream *tal_stream_fdopen(int fd, const char *name) TAL_RESULT_USED;
const tal_header *tal_stream_header(const tal_stream *s);
const char *tal_stream_name(const tal_stream *s);
/* Do not keep these sections (TAL_HAS_FEATURES, TAL_HAS_DIST) when
 * reading: their bytes are still read and checked, and T/D are still set. */
void tal_stream_skip(tal_stream *s, uint32_t has_mask);
/* 1: a record was read; 0: clean end of the input; <0: error. */
int tal_record_read(tal_stream *s, tal_record *r) TAL_RESULT_USED;
/* Input bytes consumed so far (for progress). */
uint64_t tal_stream_bytes_read(const tal_stream *s);
void tal_stream_close(tal_stream *s);

tal_stream *tal_stream_create(const char *path, const tal_header *h,
                              const tal_write_opts *opts) TAL_RESULT_USED;
int tal_record_write(tal_stream *s, const tal_record *r) TAL_RESULT_USED;
uint64_t tal_stream_bytes_written(const tal_stream *s);
int tal_stream_finish(tal_stream *s) TAL_RESULT_USED;
void tal_stream_abort(tal_stream *s);

/* Check a record against a header before writing it (class indices,
 * feature dimension, finite times).  0 or TAL_EINVAL. */
int tal_record_validate(const tal_record *r, const tal_header *h);

#endif
