/* shard.h — the --shard I/N option of the tools that map records one to
 * one (tal-detect, pseudolabel, softnms, talsynth, lblext; talcat selects
 * with it too): each run keeps the records of its shard only, and the N
 * runs' outputs, concatenated, hold the records of one unsharded run.
 */
#ifndef TAL_TOOLS_SHARD_H
#define TAL_TOOLS_SHARD_H

#include "../../lib/data/select.h"

/* The --help line, at the tools' usual column. */
#define CLI_SHARD_HELP \
    "      --shard I/N         only shard I (0-based) of N of the sequences, by a hash\n" \
    "                          of their ids; the N outputs concatenated = one whole run\n"

/* Parse --shard's value into sel; 0, or a usage error (returns 2). */
int cli_shard(tal_select *sel, const char *arg);

#endif
