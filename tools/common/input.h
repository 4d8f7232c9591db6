/* input.h — telling input formats apart, standard input included.
 *
 * Tools that accept a talcore stream, JSON or a text table in one place
 * look at the first bytes.  For a file that is free; standard input
 * cannot be rewound, so its first bytes are read, and the input is handed
 * to the readers as a pipe (/dev/fd/N) that a thread fills with those
 * bytes and the rest of standard input.  cli_input_name() turns that pipe
 * name in messages back into "standard input".
 */
#ifndef TAL_TOOLS_INPUT_H
#define TAL_TOOLS_INPUT_H

enum { CLI_IN_STREAM = 1, CLI_IN_JSON = 2, CLI_IN_TEXT = 3, CLI_IN_DIR = 4 };

/* Kind of `path` ("-" = standard input).  On return *open_path is what to
 * give the readers (path itself, or the pipe for standard input).  <0
 * with a message if it cannot be read. */
int cli_input_sniff(const char *path, const char **open_path);

/* Print the recorded error with pipe names replaced; returns 1. */
int cli_fail_input(void);

#endif
