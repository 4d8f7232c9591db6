/* frame.h — the framing layer of the talcore stream (data-spec.md §2).
 *
 * A stream is a run of frames.  Each frame carries up to 64 MiB of
 * payload, stored or deflated, with a CRC-32 of the decoded payload and a
 * CRC-32 of its own header, so that every frame can be checked and decoded
 * on its own and a reader can name the byte offset of a bad one.  The
 * payloads of consecutive frames, joined, are the logical byte stream that
 * stream.c parses into chunks; a chunk may span frames.  An empty frame is
 * the EOF marker that ends one logical stream; another stream may follow
 * (what `cat a.tal b.tal` produces).
 *
 * The reader never allocates more than one frame (64 MiB) on the word of
 * a length field, and reports three kinds of bad input apart: truncated
 * (input ended inside a frame, or without an EOF marker), corrupt (bad
 * magic, header CRC, payload CRC, impossible sizes) and unsupported
 * (reserved flags set, unknown codec).
 */
#ifndef TAL_IO_FRAME_H
#define TAL_IO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define TAL_FRAME_HEADER_SIZE 24
#define TAL_FRAME_MAX        ((uint32_t)64 << 20)   /* largest payload a reader accepts */
#define TAL_FRAME_DEFAULT    ((size_t)4 << 20)      /* payload size writers aim for */

enum { TAL_CODEC_STORED = 0, TAL_CODEC_DEFLATE = 1 };

extern const unsigned char tal_frame_magic[4];

/* ---- reading ---------------------------------------------------------- */

typedef struct tal_frame_reader tal_frame_reader;

/* Read frames from `fd` (not closed by the reader); `name` is used in
 * messages ("-" shows as "standard input"). */
tal_frame_reader *tal_fr_open(int fd, const char *name);
void tal_fr_close(tal_frame_reader *r);

/* Read exactly n logical bytes.  0 on success; TAL_ETRUNC if the input
 * ends first; TAL_ECORRUPT if the EOF marker comes first. */
int tal_fr_read(tal_frame_reader *r, void *dst, size_t n);
/* Skip n logical bytes (their frames are still checked). */
int tal_fr_skip(tal_frame_reader *r, uint64_t n);

/* At a chunk boundary: 1 if more logical bytes follow in this stream,
 * 0 if the EOF marker was reached (and consumed), <0 on error (a missing
 * EOF marker is TAL_ETRUNC). */
int tal_fr_more(tal_frame_reader *r);
/* After the EOF marker: 1 if another stream follows, 0 at the end of the
 * input, <0 on error. */
int tal_fr_next_stream(tal_frame_reader *r);

/* Byte offset (in the input) of the frame holding the next logical byte,
 * and of the next byte to be read from the input. */
uint64_t tal_fr_frame_offset(const tal_frame_reader *r);
uint64_t tal_fr_input_offset(const tal_frame_reader *r);
const char *tal_fr_name(const tal_frame_reader *r);

/* ---- writing ---------------------------------------------------------- */

typedef struct tal_frame_writer tal_frame_writer;

/* Write frames to `fd`; level 0 stores, 1..9 deflates each frame at that
 * zlib level (a frame that does not shrink is stored). */
tal_frame_writer *tal_fw_open(int fd, const char *name, int level, size_t frame_size);
int tal_fw_write(tal_frame_writer *w, const void *p, size_t n);
/* Emit the partly filled frame if it holds at least `min_bytes`. */
int tal_fw_flush(tal_frame_writer *w, size_t min_bytes);
/* Flush everything and write the EOF marker. */
int tal_fw_end(tal_frame_writer *w);
uint64_t tal_fw_bytes_out(const tal_frame_writer *w);
uint64_t tal_fw_bytes_in(const tal_frame_writer *w);
void tal_fw_close(tal_frame_writer *w);

/* Encode a frame header (used by tests to build fixtures). */
void tal_frame_header_encode(unsigned char h[TAL_FRAME_HEADER_SIZE], int codec,
                             uint32_t csize, uint32_t usize, uint32_t dcrc);

#endif
