/* output.h — all-or-nothing output files.
 *
 * A file is written under a temporary name beside its final name and
 * renamed into place only when the tool commits it, so that a failure
 * never leaves a partial file behind.  "-" is standard output, which
 * cannot be made atomic; tal_output_open refuses to send binary data to a
 * terminal unless forced.
 */
#ifndef TAL_UTIL_OUTPUT_H
#define TAL_UTIL_OUTPUT_H

#include <stdio.h>

typedef struct tal_output tal_output;

enum { TAL_OUT_TEXT = 0, TAL_OUT_BINARY = 1, TAL_OUT_FORCE = 2 };

/* Open `path` ("-" = stdout) for writing; flags from the enum above. */
tal_output *tal_output_open(const char *path, int flags);
int tal_output_fd(tal_output *o);
FILE *tal_output_file(tal_output *o);   /* a stdio view, for text output */
const char *tal_output_path(const tal_output *o);   /* the final name */
/* Flush, close and rename into place.  Returns 0 or <0; frees `o`. */
int tal_output_commit(tal_output *o);
/* Remove the temporary file; frees `o`.  Accepts NULL. */
void tal_output_abort(tal_output *o);

/* Remove every temporary file still open (for signal handlers). */
void tal_output_abort_all(void);

/* Write all of buf to fd, retrying on EINTR and short writes. */
int tal_write_all(int fd, const void *buf, size_t n, const char *name);

#endif
