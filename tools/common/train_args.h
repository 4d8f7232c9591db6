/* train_args.h — what the tools that train a model (tal-train,
 * tal-pretrain-acp, icd-filter train) take alike: configs and overrides,
 * the checkpoint, resuming, metrics, seed, threads, and where the config
 * comes from.
 *
 *   static const struct option longopts[] = { CLI_TRAIN_LONGOPTS, { "own", ... }, { 0, 0, 0, 0 } };
 *   cli_train_args a = CLI_TRAIN_ARGS_INIT;
 *   while ((c = getopt_long(argc, argv, "c:s:o:qh" ..., longopts, NULL)) != -1) {
 *       int k = cli_train_option(&a, c, optarg);
 *       if (k == 2) return 2;
 *       if (k) continue;
 *       switch (c) { ... the tool's own ... }
 *   }
 *   if ((rc = cli_train_config(&cfg, &a, before, nbefore, after, nafter))) return rc;
 */
#ifndef TAL_TOOLS_TRAIN_ARGS_H
#define TAL_TOOLS_TRAIN_ARGS_H

#include "cli.h"
#include "../../lib/models/det_config.h"

#include <getopt.h>

enum { CLI_OPT_RESUME = 0x1000, CLI_OPT_METRICS, CLI_OPT_LOG_EVERY, CLI_OPT_SEED, CLI_OPT_THREADS, CLI_OPT_STOP };

#define CLI_TRAIN_LONGOPTS                                                                                  \
    { "config", required_argument, 0, 'c' }, { "set", required_argument, 0, 's' },                         \
    { "output", required_argument, 0, 'o' }, { "resume", no_argument, 0, CLI_OPT_RESUME },                 \
    { "metrics", required_argument, 0, CLI_OPT_METRICS }, { "log-every", required_argument, 0, CLI_OPT_LOG_EVERY }, \
    { "seed", required_argument, 0, CLI_OPT_SEED }, { "threads", required_argument, 0, CLI_OPT_THREADS },   \
    /* for tests of resuming: stop after N epochs as if killed */                                          \
    { "stop-after-epochs", required_argument, 0, CLI_OPT_STOP }

typedef struct {
    const char *files[16], *sets[64];
    int nfiles, nsets;
    const char *out, *metrics;
    int resume;
    long log_every, threads, stop, seed;   /* seed < 0: the config's */
    int ranks_ok;                          /* the tool shares training among MPI ranks (tal-train with MPI) */
} cli_train_args;

#define CLI_TRAIN_ARGS_INIT { .seed = -1 }

/* One option: 1 if it is one of the above (taken), 0 if not, 2 after a
 * usage error (printed).  --threads takes effect at once. */
int cli_train_option(cli_train_args *a, int c, const char *arg);

/* The checkpoint path (-o) as a training tool needs it: given, not
 * standard output, and --resume without -c.  0 or 2 (printed); 1
 * (printed) when launched as one of several MPI ranks and a->ranks_ok is
 * not set (a tool that does not share its work among them). */
int cli_train_check(const cli_train_args *a);

/* The size of the MPI job this process was launched in, from the
 * launchers' environment (Open MPI, MPICH's Hydra, MVAPICH; *var, when
 * not NULL, names the variable); 1 outside one. */
long cli_mpi_launch_size(const char **var);
/* 0 outside an MPI job of several ranks; else 1 after a line saying that
 * the tool does not train on several ranks, and `why`. */
int cli_train_refuse_ranks(const char *why);

/* The config: with --resume, the checkpoint's stored one and then -s;
 * else the schema's defaults, `before`, the -c files (checked together),
 * `after`, then -s.  --seed overrides train.seed.  0; 1 for a file or
 * checkpoint that cannot be read or does not hold together (printed); 2
 * when an override or the result is invalid (printed as a usage error). */
int cli_train_config(tal_det_config *cfg, const cli_train_args *a, const char *const *before, int nbefore,
                     const char *const *after, int nafter);

#endif
