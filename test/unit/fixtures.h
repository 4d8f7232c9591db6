/* fixtures.h — deterministic test content and the broken-stream fixtures
 * committed under test/data/broken (regenerate with
 * `build/rel/test/unit-tests --write-fixtures test/data/broken`). */
#ifndef TAL_TEST_FIXTURES_H
#define TAL_TEST_FIXTURES_H

#include "tal.h"

void fixture_header(tal_header *h, uint32_t ncls, uint32_t dim);
void fixture_record(tal_rng *g, tal_record *r, const tal_header *h, int idx);
/* Directory holding the committed fixtures ($TAL_SRCDIR/test/data/broken). */
const char *fixture_dir(void);
/* Write every fixture into dir.  0 or <0. */
int fixtures_write(const char *dir);

#endif
