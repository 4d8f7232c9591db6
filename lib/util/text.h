/* text.h — reading text files line by line with their line numbers.
 *
 * Plain or gzip-compressed files are read alike (zlib), so annotation and
 * sensor files may be kept compressed.  Lines may end in LF or CRLF; a
 * NUL byte or a line over 16 MiB is an error naming the file and line.
 */
#ifndef TAL_UTIL_TEXT_H
#define TAL_UTIL_TEXT_H

#include <stddef.h>

typedef struct tal_lines tal_lines;

tal_lines *tal_lines_open(const char *path);   /* "-" = stdin */
/* 1: *line points at the next line (without its end); 0: end; <0 error */
int tal_lines_next(tal_lines *l, char **line, size_t *len);
long tal_lines_lineno(const tal_lines *l);
const char *tal_lines_name(const tal_lines *l);
void tal_lines_close(tal_lines *l);

/* Split `line` in place at `sep` (',' or 0 for runs of blanks) into at
 * most max fields; returns the number of fields.  Surrounding blanks and
 * one pair of double quotes around a field are removed. */
int tal_split(char *line, int sep, char **fields, int max);

/* Strict conversions: the whole string must be a number. 0 or -1. */
int tal_parse_double(const char *s, double *v);
int tal_parse_long(const char *s, long *v);

/* Trim blanks at both ends, in place; returns s. */
char *tal_trim(char *s);

/* Call fn for each line of a list file, trimmed, skipping blank lines
 * and lines starting with '#'.  fn returns 0 to go on or <0 to stop with
 * that status. */
int tal_read_list(const char *path, int (*fn)(void *ctx, const char *item, long lineno), void *ctx);

/* Whole file into memory (plain or gzip), NUL-terminated; caps at max. */
int tal_read_file(const char *path, size_t max, char **data, size_t *len);

/* The final component of a path, and the path without an extension. */
const char *tal_basename(const char *path);

#endif
