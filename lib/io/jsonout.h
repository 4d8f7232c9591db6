/* jsonout.h — writing records as JSON text.
 *
 * Numbers are printed in their shortest form that reads back to the same
 * double, so output is both exact and readable ("67.5", not
 * "67.500000000000000").  Used by talcat (JSON lines, ActivityNet JSON)
 * and by any tool that prints records for jq.
 */
#ifndef TAL_IO_JSONOUT_H
#define TAL_IO_JSONOUT_H

#include "../data/record.h"

#include <stdio.h>

/* Shortest "%.*g" text that parses back to v; "null" for NaN/inf. */
void tal_json_double(char buf[32], double v);
void tal_json_string(FILE *fp, const char *s);

/* what tal_json_record adds to a record's fields: its features, its
 * snippet distributions */
enum { TAL_JSONL_FEATURES = 1, TAL_JSONL_DIST = 2 };

/* One record as a single-line JSON object (no newline). */
void tal_json_record(FILE *fp, const tal_record *r, const tal_header *h, int flags);

#endif
