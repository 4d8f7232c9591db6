/* dist.h — tal-train as one of several MPI processes: joining the job,
 * the rank-ordered sums that data-parallel training needs
 * (models/trainer.h, tal_dist), and ending so that no rank waits on one
 * that stopped.
 *
 *   tal_dist *dd;
 *   if ((rc = cli_dist_start(&dd, threads_given))) return rc;    // NULL: one process
 *   ... tal_train(..., &(tal_train_opts){ .dist = dd, ... }) ...
 *   return cli_dist_end(dd, status);
 *
 * Built with MPI (make MPI=auto finds it) this joins the job a launcher
 * (mpirun) started; built without, launched as one of several ranks, it
 * refuses with one line.  Outside a launcher it is one process either way
 * and MPI is not initialised.
 */
#ifndef TAL_TOOLS_MPI_DIST_H
#define TAL_TOOLS_MPI_DIST_H

#include "../../lib/data/recset.h"
#include "../../lib/models/trainer.h"

/* Join the launcher's job: *out NULL outside one (or with one rank), else
 * the job (ranks above 0 quiet, every rank's messages prefixed by its
 * rank; TAL_CUDA_DEVICE set from the local rank when neither it nor
 * CUDA_VISIBLE_DEVICES is set; unless threads_given or OMP_NUM_THREADS,
 * the node's cores shared among its ranks).  0, or 1 after an error line. */
int cli_dist_start(tal_dist **out, int threads_given);

/* Whether this build can train on several processes. */
int cli_dist_built(void);

/* tal_recset_load, for a job's ranks: on each machine one rank reads the
 * features into memory its other ranks map (an MPI shared window), so a
 * node holds one copy of the training features, not one per rank; the
 * others read the rest of each record.  Release with cli_dist_unload
 * (before cli_dist_end), never with tal_recset_free.  dd NULL, or one
 * rank on the machine: a plain load. */
int cli_dist_load(tal_dist *dd, tal_recset *set, const char *path, int (*keep)(const tal_record *r, void *ctx),
                  void *ctx, uint32_t *skipped);
void cli_dist_unload(tal_dist *dd, tal_recset *set);

/* Leave the job: status 0 on every rank ends it normally; any other status
 * aborts it (the launcher stops every rank at once, none left waiting in an
 * exchange).  Returns status. */
int cli_dist_end(tal_dist *dd, int status);

#endif
