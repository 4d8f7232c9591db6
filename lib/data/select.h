/* select.h — choosing records by subset, id list, role, supervision and
 * shard, the same way in every tool. */
#ifndef TAL_DATA_SELECT_H
#define TAL_DATA_SELECT_H

#include "record.h"
#include "../util/strmap.h"

typedef struct {
    char *subset_text;       /* the comma-separated list, split in place */
    char **subsets;
    int nsubsets;
    tal_strmap ids;
    int use_ids;
    int role, supervision;   /* -1: any */
    uint32_t shard, nshards; /* nshards 0: no sharding */
} tal_select;

void tal_select_init(tal_select *s);
void tal_select_free(tal_select *s);
/* Keep records of these subsets ("validation,test"; see tal_subset_matches). */
int tal_select_subsets(tal_select *s, const char *list);
/* Keep records whose id is listed in `path` (one per line, # comments). */
int tal_select_ids_file(tal_select *s, const char *path);
/* Keep shard I of N ("I/N", 0 <= I < N <= 65536): the records whose id
 * hashes to I (tal_shard_of).  The N shards of a stream are disjoint and
 * together hold every record, each keeping the input's order, so the
 * outputs of a tool run once per shard, concatenated, hold the records of
 * one unsharded run.  TAL_EINVAL (with a message) for a bad spec. */
int tal_select_shard(tal_select *s, const char *spec);
/* The shard of N an id falls in: a mixed FNV-1a hash of the id, mod N. */
uint32_t tal_shard_of(const char *id, uint32_t nshards);
/* 1 if r passes every criterion set. */
int tal_select_match(const tal_select *s, const tal_record *r);

#endif
