/* annoset.h — annotations gathered from files before they become a stream.
 *
 * An annotation set is a class table and one record (no features) per
 * sequence id.  The readers in io/anno_*.c add to it; featpack then adds
 * features and writes the records in id order.
 */
#ifndef TAL_DATA_ANNOSET_H
#define TAL_DATA_ANNOSET_H

#include "record.h"
#include "../util/strmap.h"

typedef struct {
    tal_classes classes;
    int fixed_classes;       /* classes came from a class list: do not add */
    tal_record *v;
    uint32_t n;
    size_t cap;
    tal_strmap index;        /* id -> position in v */
    int64_t *class_key;      /* per class: its id in the source (label_id), or -1 */
    size_t class_key_cap;
} tal_annoset;

void tal_annoset_init(tal_annoset *a);
void tal_annoset_free(tal_annoset *a);
/* The record for id, or NULL. */
tal_record *tal_annoset_find(tal_annoset *a, const char *id);
/* The record for id, created (empty, supervision none) if absent. */
tal_record *tal_annoset_get(tal_annoset *a, const char *id);
/* Class index for a label name: existing, or added unless the table is
 * fixed; -1 (with an error recorded) for an unknown name of a fixed table. */
int tal_annoset_class(tal_annoset *a, const char *name);
/* Sort records by id (strcmp order) and rebuild the index. */
int tal_annoset_sort(tal_annoset *a);
/* Remember the source's id for a class (ActionFormer's label_id). */
int tal_annoset_class_key(tal_annoset *a, int cls, int64_t key);
/* Put the class table in its final order, renumbering every reference:
 * by the sources' ids when every class has a distinct one, else by name.
 * A fixed table is left alone. */
int tal_annoset_order_classes(tal_annoset *a);
/* Remove records for which keep() is 0. */
int tal_annoset_filter(tal_annoset *a, int (*keep)(const tal_record *r, void *ctx), void *ctx);

/* Subset names match case-insensitively, and the usual short names match
 * the long ones: val/validation, train/training, test/testing. */
int tal_subset_matches(const char *subset, const char *want);

#endif
