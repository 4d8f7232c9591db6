/* test_shard.c — --shard's rule: the id hash, the spec, and that shards
 * split ids evenly whatever their pattern. */
#include "harness.h"
#include "tal.h"
#include "data/select.h"
#include "util/strmap.h"

#include <math.h>
#include <stdio.h>

TEST(hash_str_is_fnv1a_64)
{
    /* the published FNV-1a 64 test vectors */
    CHECK(tal_hash_str("") == 0xcbf29ce484222325ull);
    CHECK(tal_hash_str("a") == 0xaf63dc4c8601ec8cull);
    CHECK(tal_hash_str("foobar") == 0x85944171f73967e8ull);
}

TEST(shard_spec_is_parsed_strictly)
{
    tal_select s;
    tal_select_init(&s);
    CHECK(tal_select_shard(&s, "0/1") == 0 && s.shard == 0 && s.nshards == 1);
    CHECK(tal_select_shard(&s, "6/7") == 0 && s.shard == 6 && s.nshards == 7);
    CHECK(tal_select_shard(&s, "65535/65536") == 0 && s.nshards == 65536);
    const char *bad[] = { "", "1", "1/", "/2", "2/2", "0/0", "-1/2", "1/-2", "+1/2", "1/+2", " 1/2", "1/2 ",
                          "1/2/3", "a/2", "1/b", "0/65537", "99999999999999999999/2" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_MSG(tal_select_shard(&s, bad[i]) == TAL_EINVAL, "'%s'", bad[i]);
    tal_select_free(&s);
}

TEST(shards_split_ids_evenly_and_disjointly)
{
    /* ids that differ only in their last digits, as datasets name videos */
    enum { N = 12000 };
    char id[64];
    for (uint32_t n = 1; n <= 8; n++) {
        int count[8] = { 0 };
        for (int i = 0; i < N; i++) {
            snprintf(id, sizeof id, "video_test_%07d", i);
            uint32_t k = tal_shard_of(id, n);
            CHECK(k < n);
            count[k]++;
        }
        /* binomial N, 1/n: every shard within 5 sd of N/n */
        double mean = (double)N / n, sd = sqrt(N * (1.0 / n) * (1 - 1.0 / n));
        for (uint32_t k = 0; k < n; k++)
            CHECK_MSG(fabs(count[k] - mean) <= 5 * sd + 1e-9, "%u shards: shard %u has %d", n, k, count[k]);
    }
}

TEST(select_match_keeps_one_shard)
{
    tal_select s[3];
    tal_record r = { 0 };
    char id[32];
    r.id = id;
    for (int k = 0; k < 3; k++) {
        tal_select_init(&s[k]);
        char spec[8];
        snprintf(spec, sizeof spec, "%d/3", k);
        CHECK(tal_select_shard(&s[k], spec) == 0);
    }
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof id, "seq%d", i);
        int n = 0;
        for (int k = 0; k < 3; k++)
            n += tal_select_match(&s[k], &r);
        CHECK_MSG(n == 1, "'%s' is in %d shards", id, n);
    }
    for (int k = 0; k < 3; k++)
        tal_select_free(&s[k]);
}
