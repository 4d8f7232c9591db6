/* strmap.h — string -> index map (open addressing, FNV-1a).
 *
 * Used wherever records are looked up by id (annotation sets, splits,
 * evaluation).  Keys are copied; values are caller-defined indices.
 */
#ifndef TAL_UTIL_STRMAP_H
#define TAL_UTIL_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char **keys;
    int64_t *vals;
    size_t cap, n;
} tal_strmap;

void tal_strmap_init(tal_strmap *m);
void tal_strmap_free(tal_strmap *m);
/* FNV-1a of a string: the hash every id lookup, talsynth's per-sequence
 * random streams and the shards of --shard are built on (changing it
 * changes synthetic features and shard membership). */
uint64_t tal_hash_str(const char *s);
/* value for key, or -1 */
int64_t tal_strmap_get(const tal_strmap *m, const char *key);
/* set key -> val (replacing); 0 or TAL_ENOMEM */
int tal_strmap_put(tal_strmap *m, const char *key, int64_t val);

#endif
