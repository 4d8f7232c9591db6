/* cli.h — what every talcore tool does the same way.
 *
 * Exit codes (all tools, printed in every man page):
 *   0  success
 *   1  bad input data, a failed read or write, any runtime error
 *   2  usage error (unknown option, bad option value, wrong arguments)
 */
#ifndef TAL_TOOLS_CLI_H
#define TAL_TOOLS_CLI_H

#include "../../lib/tal.h"

#include <stdint.h>
#include <stdio.h>

#define TAL_EXIT_OK    0
#define TAL_EXIT_FAIL  1
#define TAL_EXIT_USAGE 2

/* Set the program name for messages, remember argv for provenance, and
 * remove temporary outputs when killed by a signal. */
void cli_init(const char *tool, int argc, char **argv);

/* Print the recorded library error as "tool: message"; returns 1. */
int cli_fail(void);
/* Print "tool: message" for a runtime error; returns 1. */
int cli_error(const char *fmt, ...) TAL_PRINTF(1, 2);
/* Print "tool: message" and a hint to --help; returns 2. */
int cli_usage_error(const char *fmt, ...) TAL_PRINTF(1, 2);

/* Strict number parsing for option values: the whole string must be a
 * number in [lo, hi].  0 on success, else prints a usage error and
 * returns 2. */
int cli_double(const char *opt, const char *s, double lo, double hi, double *out);
int cli_int(const char *opt, const char *s, long lo, long hi, long *out);
int cli_u64(const char *opt, const char *s, uint64_t *out);

/* Append this tool's provenance entry (tool, version, argv) to h. */
int cli_add_prov(tal_header *h);

/* Flush and close stdout, turning a failed write (ENOSPC, EPIPE) into an
 * error.  Returns 0 or 1. */
int cli_close_stdout(void);

/* The end of every --help: -q, -h, --version and the exit status, with
 * descriptions starting at column `col` like the tool's other options. */
void cli_usage_footer(FILE *fp, int col);

/* Print the version line for --version. */
int cli_version(void);

#endif
