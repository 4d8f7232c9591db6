/* anno_table.h — segment tables in samples (e.g. UCI HAPT's labels.txt).
 *
 * One segment per line, fields separated by blanks or by commas (decided
 * from the first data line); blank lines and lines starting with '#' are
 * skipped, and so is a first line that is not numeric where a number is
 * expected (a header).  The columns that hold the sequence, the start and
 * end sample and the class are chosen by number:
 *
 *   sequence id   a template in which {N} is the text of column N and
 *                 {N:0W} the integer in column N zero-padded to W digits,
 *                 e.g. "exp{1:02}_user{2:02}" for HAPT (default "{1}")
 *   start, end    sample indices counted from 0, both inclusive: the
 *                 segment covers [start, end + 1) / rate seconds
 *   class         an integer is the class's id in the class list (the
 *                 "id name" lines of --classes, HAPT's
 *                 activity_labels.txt) or, without a list, both id and
 *                 name; any other text is a class name
 *
 * Records are created (or extended) per sequence with full supervision
 * and fps = rate.  Errors name the file and the line.
 */
#ifndef TAL_IO_ANNO_TABLE_H
#define TAL_IO_ANNO_TABLE_H

#include "anno.h"

typedef struct {
    const char *id_template;   /* NULL: "{1}" */
    int col_start, col_end, col_class;   /* 1-based; 0: 2, 3, 4 */
    double rate;               /* samples per second (> 0) */
} tal_segtable_opts;

/* Check a sequence-id template; 0, or TAL_EINVAL with a message. */
int tal_segtable_check_template(const char *tmpl);

int tal_anno_read_segtable(const char *path, tal_annoset *a, const tal_anno_opts *ao,
                           const tal_segtable_opts *o);

#endif
