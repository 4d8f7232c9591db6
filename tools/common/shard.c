/* shard.c — the --shard option (see shard.h). */
#include "shard.h"
#include "cli.h"

int cli_shard(tal_select *sel, const char *arg)
{
    if (tal_select_shard(sel, arg))
        return cli_usage_error("invalid value for --shard: '%s' (expected I/N with 0 <= I < N <= 65536)", arg);
    return 0;
}
