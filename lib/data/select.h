/* select.h — choosing records by subset, id list, role and supervision,
 * the same way in every tool. */
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
} tal_select;

void tal_select_init(tal_select *s);
void tal_select_free(tal_select *s);
/* Keep records of these subsets ("validation,test"; see tal_subset_matches). */
int tal_select_subsets(tal_select *s, const char *list);
/* Keep records whose id is listed in `path` (one per line, # comments). */
int tal_select_ids_file(tal_select *s, const char *path);
/* 1 if r passes every criterion set. */
int tal_select_match(const tal_select *s, const tal_record *r);

#endif
