/* test_af_targets.c — ActionFormer-style assignment, crops and decoding on
 * cases worked out by hand. */
#include "harness.h"
#include "tal.h"
#include "models/af_decode.h"
#include "models/af_targets.h"

#include <stdlib.h>
#include <string.h>

/* Two levels (strides 1 and 2, ranges [0,4] and [4,10000]), T = 16. */
static void cfg2(tal_af_assign_cfg *c)
{
    tal_af_assign_default(c, 2);
    CHECK(c->strides[1] == 2 && c->reg_lo[1] == 4 && c->reg_hi[0] == 4 && c->reg_hi[1] == 10000);
}

TEST(af_default_ranges_are_actionformers)
{
    tal_af_assign_cfg c;
    tal_af_assign_default(&c, 6);
    float lo[6] = { 0, 4, 8, 16, 32, 64 }, hi[6] = { 4, 8, 16, 32, 64, 10000 };
    for (int l = 0; l < 6; l++)
        CHECK(c.strides[l] == 1 << l && c.reg_lo[l] == lo[l] && c.reg_hi[l] == hi[l]);
    CHECK_EQ_INT(tal_af_positions(&c, 2304), 2304 + 1152 + 576 + 288 + 144 + 72);
}

TEST(af_assign_centre_region_and_ranges)
{
    tal_af_assign_cfg c;
    cfg2(&c);
    /* [2,6]: centre 4, region (2.5, 5.5) at stride 1 -> t = 3, 4, 5; at
     * stride 2 only t = 4 is inside, but its distance 2 is below level 1's
     * range [4, ...] */
    tal_af_seg segs[1] = { { 2, 6, 1 } };
    float cls[24 * 3], reg[24 * 2];
    uint8_t pos[24];
    CHECK_EQ_INT(tal_af_positions(&c, 16), 24);
    CHECK_EQ_INT(tal_af_assign(&c, 16, 16, segs, 1, 3, cls, reg, pos), 3);
    for (int i = 0; i < 24; i++)
        CHECK_MSG(pos[i] == (i >= 3 && i <= 5), "position %d", i);
    CHECK(cls[3 * 3 + 1] == 1 && cls[3 * 3 + 0] == 0 && cls[3 * 3 + 2] == 0);
    CHECK(reg[2 * 3] == 1 && reg[2 * 3 + 1] == 3);
    CHECK(reg[2 * 4] == 2 && reg[2 * 4 + 1] == 2);
    CHECK(reg[2 * 5] == 3 && reg[2 * 5 + 1] == 1);
    /* positions past `valid` are never positive */
    CHECK_EQ_INT(tal_af_assign(&c, 16, 5, segs, 1, 3, cls, reg, pos), 2);
}

TEST(af_assign_shortest_segment_wins)
{
    tal_af_assign_cfg c;
    cfg2(&c);
    /* [3,5] (class 0) inside [2,6] (class 1): at t = 4 both qualify and the
     * shorter one wins alone; t = 3 and 5 stay with the longer one */
    tal_af_seg segs[2] = { { 2, 6, 1 }, { 3, 5, 0 } };
    float cls[24 * 2], reg[24 * 2];
    uint8_t pos[24];
    CHECK_EQ_INT(tal_af_assign(&c, 16, 16, segs, 2, 2, cls, reg, pos), 3);
    CHECK(cls[4 * 2 + 0] == 1 && cls[4 * 2 + 1] == 0);
    CHECK(reg[8] == 1 && reg[9] == 1);
    CHECK(cls[3 * 2 + 1] == 1 && cls[3 * 2 + 0] == 0);
}

TEST(af_assign_equal_lengths_are_multi_hot)
{
    tal_af_assign_cfg c;
    cfg2(&c);
    tal_af_seg segs[2] = { { 2, 6, 1 }, { 2.0005f, 6, 2 } };
    float cls[24 * 3], reg[24 * 2];
    uint8_t pos[24];
    CHECK_EQ_INT(tal_af_assign(&c, 16, 16, segs, 2, 3, cls, reg, pos), 3);
    for (int t = 3; t <= 5; t++)
        CHECK(cls[t * 3 + 1] == 1 && cls[t * 3 + 2] == 1 && cls[t * 3] == 0);
}

TEST(af_assign_long_segment_goes_to_a_coarse_level)
{
    tal_af_assign_cfg c;
    cfg2(&c);
    /* [0,12]: centre 6; stride 1 region (4.5, 7.5): t = 5,6,7 with far
     * distances 7, 6, 7 > 4: not level 0; stride 2 region (3, 9): t = 4, 6, 8
     * with far 8, 6, 8 in [4, ...]: level 1 */
    tal_af_seg segs[1] = { { 0, 12, 0 } };
    float cls[24], reg[48];
    uint8_t pos[24];
    CHECK_EQ_INT(tal_af_assign(&c, 16, 16, segs, 1, 1, cls, reg, pos), 3);
    CHECK(pos[16 + 2] && pos[16 + 3] && pos[16 + 4]);
    CHECK(reg[2 * 18] == 2 && reg[2 * 18 + 1] == 4);   /* t = 4: (4-0)/2, (12-4)/2 */
}

TEST(af_crop_windows_and_kept_segments)
{
    tal_rng g;
    for (uint64_t seed = 0; seed < 50; seed++) {
        tal_rng_seed(&g, seed);
        tal_af_seg segs[2] = { { 10, 20, 0 }, { 80, 90, 1 } };
        int st, len;
        int kept = tal_af_crop(&g, 100, 50, 0.9, 1.0, 0.5, 2, segs, 2, &st, &len);
        CHECK(len == 50 && st >= 0 && st <= 50);
        CHECK_MSG(kept >= 1, "seed %llu kept nothing", (unsigned long long)seed);
        for (int j = 0; j < kept; j++) {
            CHECK(segs[j].start >= -2 && segs[j].end <= 52 && segs[j].end > segs[j].start);
            CHECK(segs[j].end - segs[j].start >= 5);   /* at least half of 10 */
        }
    }
    /* shorter than max_len: a random length in [round(0.9 T), T] */
    tal_rng_seed(&g, 3);
    for (int k = 0; k < 100; k++) {
        tal_af_seg s1[1] = { { 5, 30, 0 } };
        int st, len;
        tal_af_crop(&g, 40, 50, 0.9, 1.0, 0.5, 2, s1, 1, &st, &len);
        CHECK(len >= 36 && len <= 40 && st >= 0 && st + len <= 40);
    }
    /* no crop ratio and short enough: untouched */
    tal_af_seg s2[1] = { { 5, 30, 0 } };
    int st, len;
    CHECK_EQ_INT(tal_af_crop(&g, 40, 50, 1.0, 1.0, 0.5, 2, s2, 1, &st, &len), 1);
    CHECK(st == 0 && len == 40 && s2[0].start == 5);
}

TEST(af_crop_is_reproducible)
{
    tal_rng a, b;
    tal_rng_seed(&a, 11);
    tal_rng_seed(&b, 11);
    for (int k = 0; k < 20; k++) {
        tal_af_seg x[1] = { { 100, 160, 0 } }, y[1] = { { 100, 160, 0 } };
        int s1, l1, s2, l2;
        tal_af_crop(&a, 3000, 2304, 0.9, 1.0, 0.5, 2, x, 1, &s1, &l1);
        tal_af_crop(&b, 3000, 2304, 0.9, 1.0, 0.5, 2, y, 1, &s2, &l2);
        CHECK(s1 == s2 && l1 == l2 && x[0].start == y[0].start);
    }
}

TEST(af_decode_one_level)
{
    /* C = 2 classes, 4 positions at stride 2; logit 0 -> p 0.5, 2 -> 0.881,
     * -10 -> 4.5e-5 (below the threshold) */
    float logits[2 * 4] = { 0, -10, 2, -10,      /* class 0 at t = 0..3 */
                            -10, 0, -10, 0 };    /* class 1 */
    float reg[2 * 4] = { 1, 1, 0.5f, 0.01f,      /* left distances (strides) */
                         1, 2, 0.5f, 0.01f };    /* right */
    tal_af_decode_cfg c;
    tal_af_decode_default(&c);
    tal_segset out = { 0 };
    CHECK_EQ_INT(tal_af_decode_level(&c, logits, reg, NULL, 2, 4, 4, 2, &out), 3);
    /* sorted by probability, ties by index (t*C + c): (t2,c0) 0.881, then
     * (t0,c0) index 0, (t1,c1) index 3; (t3,c1) is 0.04 long: dropped */
    CHECK(out.v[0].cls == 0 && out.v[0].start == 3 && out.v[0].end == 5);
    CHECK_NEAR(out.v[0].score, 0.880797, 1e-6);
    CHECK(out.v[1].cls == 0 && out.v[1].start == -2 && out.v[1].end == 2);
    CHECK(out.v[2].cls == 1 && out.v[2].start == 0 && out.v[2].end == 6);
    /* top-k and `valid` */
    tal_segset_clear(&out);
    c.pre_nms_topk = 1;
    CHECK_EQ_INT(tal_af_decode_level(&c, logits, reg, NULL, 2, 4, 4, 2, &out), 1);
    tal_segset_clear(&out);
    c.pre_nms_topk = 100;
    CHECK_EQ_INT(tal_af_decode_level(&c, logits, reg, NULL, 2, 4, 2, 2, &out), 2);
    free(out.v);
}

TEST(af_coverage_scores_snippets_by_the_candidates_holding_them)
{
    /* T = 8 snippets, C = 2; candidates in snippets of level 0 */
    tal_segset s = { 0 };
    tal_segment a = { 1.5, 4, 0.7, 0, 0, { 0 } };    /* holds positions 2, 3, 4 */
    tal_segment b = { 3, 9, 0.4, 0, 0, { 0 } };      /* 3..7 (clipped at T - 1) */
    tal_segment c = { -2, 0.2, 0.9, 1, 0, { 0 } };   /* 0 only */
    tal_segment d = { 5.2, 5.8, 0.6, 1, 0, { 0 } };  /* holds no position */
    tal_segset_push(&s, &a);
    tal_segset_push(&s, &b);
    tal_segset_push(&s, &c);
    tal_segset_push(&s, &d);
    float dist[8 * 3];
    tal_af_coverage(&s, 8, 2, dist);
    float want0[8] = { 0, 0, 0.7f, 0.7f, 0.7f, 0.4f, 0.4f, 0.4f }, want1[8] = { 0.9f, 0, 0, 0, 0, 0, 0, 0 };
    for (int t = 0; t < 8; t++) {
        CHECK_MSG(dist[t * 3] == want0[t] && dist[t * 3 + 1] == want1[t], "snippet %d: %g %g", t, dist[t * 3],
                  dist[t * 3 + 1]);
        CHECK_NEAR(dist[t * 3 + 2], 1 - fmax(want0[t], want1[t]), 1e-7);
    }
    free(s.v);
}

TEST(af_to_seconds_clamps_like_actionformer)
{
    tal_grid g = { 30, 4, 16 };
    tal_segset s = { 0 };
    tal_segment a = { -5, 0, 0.9, 0, 0, { 0 } }, b = { 10, 500, 0.5, 1, 0, { 0 } };
    tal_segset_push(&s, &a);
    tal_segset_push(&s, &b);
    tal_af_to_seconds(&s, &g, 60.0);
    CHECK(s.v[0].start == 0);                          /* (-20 + 8)/30 < 0 */
    CHECK_NEAR(s.v[0].end, 8.0 / 30, 1e-12);
    CHECK_NEAR(s.v[1].start, 48.0 / 30, 1e-12);
    CHECK(s.v[1].end == 60);                           /* 2008/30 > 60 */
    CHECK_NEAR(tal_grid_from_sec(&g, tal_grid_to_sec(&g, 123.25)), 123.25, 1e-9);
    free(s.v);
}
