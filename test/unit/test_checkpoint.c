/* test_checkpoint.c — checkpoints: round trip, every kind of damage named
 * with the file and byte offset, nothing changed by a failed load,
 * mismatched models and optimisers refused, partial loads, atomic writes. */
#include "harness.h"
#include "trainer.h"
#include "util/endian.h"

#include <dirent.h>
#include <zlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    *n = fread(b, 1, (size_t)len, fp);
    fclose(fp);
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t n)
{
    FILE *fp = fopen(path, "wb");
    fwrite(b, 1, n, fp);
    fclose(fp);
}

/* a saved checkpoint of a trained tiny model */
static const char *fixture(trainer *t)
{
    const char *path = tal_test_path("fixture.ckpt");
    if (trainer_init(t, 3, 0) || trainer_run(t, 2) || trainer_save(t, path))
        return NULL;
    return path;
}

/* sections of a checkpoint: offsets and payload lengths */
typedef struct {
    size_t at[16], len[16];
    uint32_t type[16];
    int n;
} layout;

static void sections(const unsigned char *b, size_t n, layout *L)
{
    L->n = 0;
    for (size_t off = 16; off + 24 <= n && L->n < 16;) {
        L->at[L->n] = off;
        L->type[L->n] = tal_le32(b + off);
        L->len[L->n] = (size_t)tal_le64(b + off + 8);
        off += 24 + L->len[L->n];
        L->n++;
    }
}

TEST(checkpoint_config_text)
{
    trainer t;
    const char *path = fixture(&t);
    CHECK(path);
    char *cfg = tal_checkpoint_config(path);
    CHECK(cfg && strstr(cfg, "model: tiny"));
    free(cfg);
    /* no temporary files left beside it */
    DIR *d = opendir(tal_test_tmpdir());
    struct dirent *e;
    int tmp = 0;
    while ((e = readdir(d)))
        tmp += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    CHECK_EQ_INT(tmp, 0);
    trainer_free(&t);
}

/* load `bytes` as a checkpoint into a trainer; its parameters must not change */
static int load_bytes(const unsigned char *b, size_t n, char *msg, size_t nmsg)
{
    const char *path = tal_test_path("damaged.ckpt");
    spit(path, b, n);
    trainer t;
    trainer_init(&t, 77, 0);
    size_t np = tal_params_size(t.P) * sizeof(float);
    unsigned char *before = malloc(np);
    memcpy(before, tal_params_data(t.P), np);
    int rc = trainer_load(&t, path);
    snprintf(msg, nmsg, "%s", tal_errmsg());
    if (rc && memcmp(before, tal_params_data(t.P), np))
        rc = 99;   /* a failed load changed the model */
    free(before);
    trainer_free(&t);
    return rc;
}

TEST(checkpoint_truncated_anywhere)
{
    trainer t;
    const char *path = fixture(&t);
    CHECK(path);
    size_t n;
    unsigned char *b = slurp(path, &n);
    layout L;
    sections(b, n, &L);
    CHECK(L.n >= 6);   /* CONFIG, STATE, params, 2 optimiser sets, ema, END */
    size_t cuts[64];
    int nc = 0;
    cuts[nc++] = 0;
    cuts[nc++] = 5;
    cuts[nc++] = 15;
    cuts[nc++] = 16;
    for (int i = 0; i < L.n; i++) {
        cuts[nc++] = L.at[i] + 10;                 /* inside a section header */
        cuts[nc++] = L.at[i] + 24 + L.len[i] / 2;  /* inside a payload */
    }
    cuts[nc++] = n - 1;
    for (int i = 0; i < nc; i++) {
        char msg[512];
        int rc = load_bytes(b, cuts[i], msg, sizeof msg);
        CHECK_MSG(rc == TAL_ETRUNC, "cut at %zu: rc %d: %s", cuts[i], rc, msg);
        CHECK_MSG(strstr(msg, "damaged.ckpt") && strstr(msg, "byte offset"), "cut at %zu: '%s'", cuts[i], msg);
    }
    free(b);
    trainer_free(&t);
}

TEST(checkpoint_damage_named_by_offset)
{
    trainer t;
    const char *path = fixture(&t);
    CHECK(path);
    size_t n;
    unsigned char *b = slurp(path, &n);
    layout L;
    sections(b, n, &L);
    for (int i = 0; i < L.n; i++) {
        char msg[512], off[64];
        snprintf(off, sizeof off, "at byte offset %zu", L.at[i]);
        /* a header byte, then a payload byte (first and last) */
        size_t spots[3] = { L.at[i] + 9, L.at[i] + 24, L.at[i] + 24 + L.len[i] - 1 };
        for (int k = 0; k < 3; k++) {
            if (k && !L.len[i])
                continue;
            b[spots[k]] ^= 0x40;
            int rc = load_bytes(b, n, msg, sizeof msg);
            b[spots[k]] ^= 0x40;
            CHECK_MSG(rc == TAL_ECORRUPT || rc == TAL_ETRUNC, "byte %zu of section %d: rc %d: %s", spots[k], i, rc,
                      msg);
            if (k)
                CHECK_MSG(strstr(msg, "CRC mismatch") && strstr(msg, off), "byte %zu: '%s'", spots[k], msg);
            else
                CHECK_MSG(strstr(msg, off), "byte %zu: '%s'", spots[k], msg);
        }
    }
    /* bytes after the end marker */
    unsigned char *more = malloc(n + 3);
    memcpy(more, b, n);
    memcpy(more + n, "xyz", 3);
    char msg[512];
    CHECK_EQ_INT(load_bytes(more, n + 3, msg, sizeof msg), TAL_ECORRUPT);
    CHECK_MSG(strstr(msg, "after the end marker"), "%s", msg);
    free(more);
    /* magic, version, header flags */
    b[1] = 'X';
    CHECK_EQ_INT(load_bytes(b, n, msg, sizeof msg), TAL_ECORRUPT);
    CHECK_MSG(strstr(msg, "not a checkpoint"), "%s", msg);
    b[1] = 'T';
    b[8] = 2;
    CHECK_EQ_INT(load_bytes(b, n, msg, sizeof msg), TAL_EUNSUP);
    CHECK_MSG(strstr(msg, "version 2"), "%s", msg);
    b[8] = 1;
    b[12] = 1;
    CHECK_EQ_INT(load_bytes(b, n, msg, sizeof msg), TAL_EUNSUP);
    b[12] = 0;
    CHECK_EQ_INT(load_bytes(b, n, msg, sizeof msg), 0);
    free(b);
    trainer_free(&t);
}

TEST(checkpoint_hostile_lengths)
{
    /* a section announcing 2^62 bytes, and a tensor index announcing more
     * tensors than it holds, with valid CRCs: refused without allocating */
    trainer t;
    const char *path = fixture(&t);
    CHECK(path);
    size_t n;
    unsigned char *b = slurp(path, &n);
    layout L;
    sections(b, n, &L);
    char msg[512];
    unsigned char *h = b + L.at[0];
    tal_put64(h + 8, (uint64_t)1 << 62);
    tal_put32(h + 20, (uint32_t)crc32(0, h, 20));
    CHECK_EQ_INT(load_bytes(b, n, msg, sizeof msg), TAL_ETRUNC);
    CHECK_MSG(strstr(msg, "payload bytes announced"), "%s", msg);
    free(b);
    b = slurp(path, &n);
    int ti = 2;   /* the params set */
    CHECK_EQ_INT(tal_le32(b + L.at[ti]), 3);
    unsigned char *p = b + L.at[ti] + 24;
    size_t setlen = tal_le16(p + 8);
    tal_put32(p + 10 + setlen, 0x7fffffff);   /* tensor count */
    tal_put32(b + L.at[ti] + 16, (uint32_t)crc32(0, p, (uInt)L.len[ti]));
    tal_put32(b + L.at[ti] + 20, (uint32_t)crc32(0, b + L.at[ti], 20));
    CHECK_EQ_INT(load_bytes(b, n, msg, sizeof msg), TAL_ECORRUPT);
    CHECK_MSG(strstr(msg, "malformed tensor index"), "%s", msg);
    free(b);
    trainer_free(&t);
}

TEST(checkpoint_mismatch_refused)
{
    trainer tiny, medium;
    const char *path = fixture(&tiny);
    CHECK(path);
    CHECK(!trainer_init(&medium, 1, 1));
    size_t np = tal_params_size(medium.P) * sizeof(float);
    unsigned char *before = malloc(np);
    memcpy(before, tal_params_data(medium.P), np);
    CHECK_EQ_INT(trainer_load(&medium, path), TAL_EINVAL);
    CHECK_MSG(strstr(tal_errmsg(), "another shape"), "%s", tal_errmsg());
    CHECK(!memcmp(before, tal_params_data(medium.P), np));
    free(before);
    /* the right model with another optimiser */
    trainer other;
    CHECK(!trainer_init(&other, 1, 0));
    tal_optim_config oc = tal_optim_defaults(TAL_OPT_SGD);
    tal_optim_free(other.opt);
    other.opt = tal_optim_new(other.P, &oc);
    CHECK_EQ_INT(trainer_load(&other, path), TAL_EINVAL);
    CHECK_MSG(strstr(tal_errmsg(), "optimiser is adamw, not sgd"), "%s", tal_errmsg());
    trainer_free(&other);
    trainer_free(&medium);
    trainer_free(&tiny);
}

TEST(checkpoint_partial_load)
{
    trainer t;
    const char *path = fixture(&t);
    CHECK(path);
    /* a model with one more parameter and one of another shape */
    tal_params *P = tal_params_new();
    tal_af_model m;
    tal_af_config c = t.m.cfg;
    CHECK(!tal_af_define(&m, P, &c));
    CHECK(tal_param(P, "extra.weight", TAL_PARAM_DECAY, 1, (int64_t[]){ 7 }));
    CHECK(!tal_params_alloc(P, NULL));
    tal_ckpt ck = { .params = P };
    CHECK_EQ_INT(tal_checkpoint_load(path, &ck, 0), TAL_EINVAL);
    int n = tal_checkpoint_load(path, &ck, TAL_CKPT_PARTIAL);
    CHECK_EQ_INT(n, tal_params_count(P) - 1);
    tal_tensor *w = tal_params_find(P, "backbone.embd.0.conv.weight"), *w0 = tal_params_find(t.P, "backbone.embd.0.conv.weight");
    CHECK(!memcmp(w->data, w0->data, (size_t)tal_numel(w) * 4));
    free(ck.config);
    tal_params_free(P);
    trainer_free(&t);
}

/* a scalar the file lacks is an error, unless it may keep its value */
TEST(checkpoint_optional_scalars)
{
    trainer t;
    CHECK(!trainer_init(&t, 3, 0));
    const char *path = tal_test_path("scalars.ckpt");
    tal_ckpt save = { .params = t.P, .nscalar = 1, .scalar_name = { "norm" }, .scalar = { 42.5 } };
    CHECK(!tal_checkpoint_save(path, &save));
    tal_ckpt ck = { .params = t.P, .nscalar = 2, .scalar_name = { "norm", "norm_pseudo" }, .scalar = { 1, 7 } };
    CHECK_EQ_INT(tal_checkpoint_load(path, &ck, 0), TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "no value 'norm_pseudo'"));
    CHECK(ck.scalar[0] == 1 && ck.scalar[1] == 7);   /* nothing changed by the failed load */
    CHECK(!tal_checkpoint_load(path, &ck, TAL_CKPT_SCALARS_OPTIONAL));
    CHECK(ck.scalar[0] == 42.5 && ck.scalar[1] == 7);
    free(ck.config);
    trainer_free(&t);
}

TEST(checkpoint_write_errors)
{
    trainer t;
    CHECK(!trainer_init(&t, 1, 0));
    CHECK(trainer_save(&t, "/nonexistent-dir/x.ckpt") == TAL_EIO);
    CHECK_MSG(strstr(tal_errmsg(), "/nonexistent-dir/x.ckpt"), "%s", tal_errmsg());
    char msg[512];
    CHECK(load_bytes((const unsigned char *)"", 0, msg, sizeof msg) == TAL_ETRUNC);
    tal_ckpt none = { 0 };
    CHECK(tal_checkpoint_load("/nonexistent-dir/x.ckpt", &none, 0) == TAL_EIO);
    trainer_free(&t);
}
