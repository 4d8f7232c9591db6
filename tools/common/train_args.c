/* train_args.c — the options and config of the training tools (see train_args.h). */
#include "train_args.h"

#include <stdlib.h>
#include <string.h>

int cli_train_option(cli_train_args *a, int c, const char *arg)
{
    switch (c) {
    case 'c':
        if (a->nfiles == 16)
            return cli_usage_error("at most 16 config files");
        a->files[a->nfiles++] = arg;
        return 1;
    case 's':
        if (a->nsets == 64)
            return cli_usage_error("at most 64 overrides");
        a->sets[a->nsets++] = arg;
        return 1;
    case 'o': a->out = arg; return 1;
    case CLI_OPT_RESUME: a->resume = 1; return 1;
    case CLI_OPT_METRICS: a->metrics = arg; return 1;
    case CLI_OPT_LOG_EVERY: return cli_int("--log-every", arg, 0, 1L << 30, &a->log_every) ? 2 : 1;
    case CLI_OPT_SEED: return cli_int("--seed", arg, 0, 2147483647, &a->seed) ? 2 : 1;
    case CLI_OPT_THREADS:
        if (cli_int("--threads", arg, 1, 1024, &a->threads))
            return 2;
        tal_cpu_set_threads((int)a->threads);
        return 1;
    case CLI_OPT_STOP: return cli_int("--stop-after-epochs", arg, 1, 1L << 30, &a->stop) ? 2 : 1;
    }
    return 0;
}

/* The size of the MPI job this process was launched in, from the
 * launchers' environment (Open MPI, MPICH's Hydra, MVAPICH); 1 outside one. */
long cli_mpi_launch_size(const char **var)
{
    static const char *const vars[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE" };
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        char *end;
        long n = v ? strtol(v, &end, 10) : 0;
        if (v && *v && !*end && n > 1) {
            if (var)
                *var = vars[i];
            return n;
        }
    }
    return 1;
}

int cli_train_refuse_ranks(const char *why)
{
    const char *var = NULL;
    long ranks = cli_mpi_launch_size(&var);
    if (ranks > 1)
        return cli_error("launched as one of %ld MPI ranks (%s), but %s: each rank would train the whole model "
                         "and write the same checkpoint; run it without mpirun", ranks, var, why);
    return 0;
}

int cli_train_check(const cli_train_args *a)
{
    if (!a->ranks_ok && cli_train_refuse_ranks("this tool trains in one process"))
        return 1;
    if (!a->out)
        return cli_usage_error("the checkpoint path is required (-o FILE)");
    if (!strcmp(a->out, "-"))
        return cli_usage_error("a checkpoint cannot be written to standard output");
    if (a->resume && a->nfiles)
        return cli_usage_error("--resume takes the config stored in the checkpoint; give no -c (only -s)");
    return 0;
}

int cli_train_config(tal_det_config *cfg, const cli_train_args *a, const char *const *before, int nbefore,
                     const char *const *after, int nafter)
{
    int rc = 0;
    if (a->resume) {
        char *text = tal_checkpoint_config(a->out);
        if (!text)
            return cli_fail();
        rc = tal_det_config_from_text(cfg, text, a->out);
        free(text);
        for (int i = 0; i < a->nsets && !rc; i++)
            rc = tal_config_set(tal_det_schema, cfg, a->sets[i]);
        if (rc || (rc = tal_det_config_check(cfg)))
            return cli_fail();
    } else {
        if ((rc = tal_config_defaults(tal_det_schema, cfg)))
            return cli_fail();
        for (int i = 0; i < nbefore && !rc; i++)
            rc = tal_config_set(tal_det_schema, cfg, before[i]);
        for (int i = 0; i < a->nfiles && !rc; i++)
            rc = tal_config_load(tal_det_schema, cfg, a->files[i]);
        /* a file that cannot be read, holds a bad value or does not hold
         * together: data */
        if (rc || (a->nfiles && (rc = tal_det_config_check(cfg))))
            return cli_fail();
        for (int i = 0; i < nafter && !rc; i++)
            rc = tal_config_set(tal_det_schema, cfg, after[i]);
        /* a bad -s is a usage error, and so is a config that does not hold */
        for (int i = 0; i < a->nsets && !rc; i++)
            rc = tal_config_set(tal_det_schema, cfg, a->sets[i]);
        if (rc || (rc = tal_det_config_check(cfg)))
            return cli_usage_error("%s", tal_errmsg());
    }
    if (a->seed >= 0)
        cfg->seed = (int)a->seed;
    return 0;
}
