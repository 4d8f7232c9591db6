/* test_config.c — YAML configs into a typed schema: defaults, nesting and
 * dotted keys, every error named with file and line, -s overrides, and a
 * dump that reads back to the same values. */
#include "harness.h"
#include "io/config.h"
#include "tal.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double lr, wd;
    int epochs, warmup, opt, ema, nclass;
    char name[32];
    double crop[4];
    int ncrop;
    int strides[8];
    int nstrides;
} cfg_t;

#define F(k, t, m, d, ...) { .key = k, .type = t, .offset = offsetof(cfg_t, m), .def = d, __VA_ARGS__ }

static const tal_cfg_field schema[] = {
    F("name", TAL_CFG_STRING, name, "thumos", .cap = 32),
    F("model.num_classes", TAL_CFG_INT, nclass, "20", .min = 1, .max = 1000),
    F("model.fpn_strides", TAL_CFG_INTS, strides, "[1, 2, 4, 8, 16, 32]", .cap = 8,
      .count_offset = offsetof(cfg_t, nstrides)),
    F("opt.kind", TAL_CFG_ENUM, opt, "adamw", .choices = "adamw|adam|sgd"),
    F("opt.lr", TAL_CFG_FLOAT, lr, "1e-4", .min = 0, .max = 10),
    F("opt.weight_decay", TAL_CFG_FLOAT, wd, "0.05"),
    F("opt.epochs", TAL_CFG_INT, epochs, "30"),
    F("opt.warmup_epochs", TAL_CFG_INT, warmup, "5"),
    F("train.ema", TAL_CFG_BOOL, ema, "true"),
    F("data.crop_ratio", TAL_CFG_FLOATS, crop, "[0.9, 1.0]", .cap = 4, .count_offset = offsetof(cfg_t, ncrop)),
    { .key = NULL },
};

static int load_str(cfg_t *c, const char *text)
{
    if (tal_config_defaults(schema, c))
        return -100;
    return tal_config_load_text(schema, c, text, "cfg.yaml");
}

TEST(config_defaults)
{
    cfg_t c;
    CHECK_MSG(!tal_config_defaults(schema, &c), "%s", tal_errmsg());
    CHECK_STR(c.name, "thumos");
    CHECK_EQ_INT(c.nclass, 20);
    CHECK_EQ_INT(c.nstrides, 6);
    CHECK_EQ_INT(c.strides[5], 32);
    CHECK_EQ_INT(c.opt, 0);
    CHECK_NEAR(c.lr, 1e-4, 0);
    CHECK_EQ_INT(c.ema, 1);
    CHECK_EQ_INT(c.ncrop, 2);
    CHECK_NEAR(c.crop[0], 0.9, 0);
}

TEST(config_nested_and_dotted)
{
    cfg_t c;
    const char *text = "# ActionFormer THUMOS\n"
                       "name: \"run: 1\"\n"
                       "model:\n"
                       "  num_classes: 21\n"
                       "  fpn_strides: [1, 2]\n"
                       "opt:\n"
                       "  kind: sgd\n"
                       "  lr: 0.001\n"
                       "opt.epochs: 35\n"
                       "train: {ema: off}\n"
                       "data:\n"
                       "  crop_ratio:\n"
                       "    - 0.8\n"
                       "    - 1\n";
    CHECK_MSG(!load_str(&c, text), "%s", tal_errmsg());
    CHECK_STR(c.name, "run: 1");
    CHECK_EQ_INT(c.nclass, 21);
    CHECK_EQ_INT(c.nstrides, 2);
    CHECK_EQ_INT(c.opt, 2);
    CHECK_NEAR(c.lr, 0.001, 0);
    CHECK_NEAR(c.wd, 0.05, 0);   /* untouched: default */
    CHECK_EQ_INT(c.epochs, 35);
    CHECK_EQ_INT(c.ema, 0);
    CHECK_EQ_INT(c.ncrop, 2);
    CHECK_NEAR(c.crop[1], 1.0, 0);
    CHECK_MSG(!load_str(&c, ""), "%s", tal_errmsg());
    CHECK_MSG(!load_str(&c, "# only a comment\n"), "%s", tal_errmsg());
}

/* text must fail with a message containing each of the given pieces */
static const char *fails(const char *text, const char *a, const char *b)
{
    static char why[600];
    cfg_t c;
    if (!load_str(&c, text))
        return "accepted";
    const char *m = tal_errmsg();
    if (!strstr(m, "'cfg.yaml'") || (a && !strstr(m, a)) || (b && !strstr(m, b))) {
        snprintf(why, sizeof why, "message '%s'", m);
        return why;
    }
    return NULL;
}

#define FAILS(text, a, b) do { const char *w_ = fails(text, a, b); CHECK_MSG(!w_, "%s: %s", text, w_); } while (0)

TEST(config_errors_name_file_and_line)
{
    FAILS("opt:\n  lr: 1e-4\n  lrr: 3\n", "line 3", "unknown key 'opt.lrr'");
    FAILS("model:\n  bogus:\n    x: 1\n", "line 2", "unknown key 'model.bogus'");
    FAILS("nope: 1\n", "line 1", "unknown key 'nope'");
    FAILS("opt:\n  lr: fast\n", "line 2", "'opt.lr': expected a number, not 'fast'");
    FAILS("opt.epochs: 3.5\n", "line 1", "expected an integer");
    FAILS("opt.epochs: 99999999999\n", "line 1", "expected an integer");
    FAILS("train.ema: maybe\n", "line 1", "expected true or false");
    FAILS("opt.kind: lion\n", "line 1", "expected one of adamw|adam|sgd");
    FAILS("model.num_classes: 0\n", "line 1", "outside [1, 1000]");
    FAILS("opt.lr: .nan\n", "line 1", "expected a number");
    FAILS("opt.lr: [1, 2]\n", "line 1", "expected a single value");
    FAILS("opt.lr:\n", "line 1", "no value");
    FAILS("opt: 3\n", "line 1", "unknown key 'opt'");
    FAILS("data.crop_ratio: [1, 2, 3, 4, 5]\n", "line 1", "more than 4 values");
    FAILS("data.crop_ratio: [[1]]\n", "line 1", "plain values");
    FAILS("opt.lr: 1\nopt:\n  lr: 2\n", "line 3", "given twice");
    FAILS("opt.lr: &x 1\nopt.weight_decay: *x\n", "line 2", "aliases");
    FAILS("- 1\n- 2\n", "line 1", "mapping");
    FAILS("opt.lr: 1\n---\nopt.lr: 2\n", "line 2", "more than one document");
    FAILS("opt:\n  lr: 1\n lr2: [\n", "line", NULL);   /* a YAML syntax error */
    FAILS("name: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n", "line 1", "longer than 31");
}

TEST(config_file_and_overrides)
{
    const char *path = tal_test_path("c.yaml");
    FILE *fp = fopen(path, "w");
    fputs("opt:\n  lr: 2e-4\n", fp);
    fclose(fp);
    cfg_t c;
    CHECK(!tal_config_defaults(schema, &c));
    CHECK_MSG(!tal_config_load(schema, &c, path), "%s", tal_errmsg());
    CHECK_NEAR(c.lr, 2e-4, 0);
    CHECK_MSG(!tal_config_set(schema, &c, "opt.lr=3e-4"), "%s", tal_errmsg());
    CHECK_NEAR(c.lr, 3e-4, 0);
    CHECK_MSG(!tal_config_set(schema, &c, "data.crop_ratio=[0.5,0.75, 1]"), "%s", tal_errmsg());
    CHECK_EQ_INT(c.ncrop, 3);
    CHECK_NEAR(c.crop[1], 0.75, 0);
    CHECK_MSG(!tal_config_set(schema, &c, "name=a b: c"), "%s", tal_errmsg());
    CHECK_STR(c.name, "a b: c");
    CHECK_MSG(!tal_config_set(schema, &c, "train.ema=no"), "%s", tal_errmsg());
    CHECK_EQ_INT(c.ema, 0);
    CHECK(tal_config_set(schema, &c, "opt.lrr=1") == TAL_EINVAL);
    CHECK_MSG(strstr(tal_errmsg(), "invalid override: 'opt.lrr=1': unknown key 'opt.lrr'"), "%s", tal_errmsg());
    CHECK(tal_config_set(schema, &c, "opt.lr=x") == TAL_EINVAL);
    CHECK_MSG(strstr(tal_errmsg(), "expected a number, not 'x'"), "%s", tal_errmsg());
    CHECK(tal_config_set(schema, &c, "name=a\tb") == TAL_EINVAL);
    CHECK_MSG(strstr(tal_errmsg(), "not printable UTF-8"), "%s", tal_errmsg());
    CHECK(tal_config_set(schema, &c, "name=\xed\xa6\x91") == TAL_EINVAL);   /* a UTF-16 surrogate */
    CHECK(tal_config_set(schema, &c, "name=\xc0\xaf") == TAL_EINVAL);       /* overlong */
    CHECK_MSG(!tal_config_set(schema, &c, "name=caf\xc3\xa9"), "%s", tal_errmsg());
    CHECK(tal_config_set(schema, &c, "opt.lr") == TAL_EINVAL);
    CHECK(tal_config_set(schema, &c, "opt.lr=1 2") == TAL_EINVAL);
    CHECK(tal_config_set(schema, &c, "opt.lr=1\n---\n2") == TAL_EINVAL);
    CHECK(tal_config_load(schema, &c, tal_test_path("missing.yaml")) == TAL_EIO);
    CHECK_MSG(strstr(tal_errmsg(), "missing.yaml"), "%s", tal_errmsg());
}

TEST(config_dump_reads_back)
{
    cfg_t a, b;
    CHECK(!tal_config_defaults(schema, &a));
    CHECK(!tal_config_set(schema, &a, "opt.lr=0.1"));
    CHECK(!tal_config_set(schema, &a, "opt.weight_decay=1e-300"));
    CHECK(!tal_config_set(schema, &a, "name=x: \"y\""));
    CHECK(!tal_config_set(schema, &a, "opt.kind=adam"));
    CHECK(!tal_config_set(schema, &a, "data.crop_ratio=[0.3333333333333333, 1]"));
    char *text = tal_config_dump(schema, &a);
    CHECK(text);
    CHECK_MSG(strstr(text, "opt.lr: 0.1\n") && strstr(text, "opt.kind: adam\n"), "%s", text);
    CHECK(!tal_config_defaults(schema, &b));
    CHECK(!tal_config_set(schema, &b, "opt.lr=5"));
    CHECK_MSG(!tal_config_load_text(schema, &b, text, "dump"), "%s\n%s", tal_errmsg(), text);
    CHECK(a.lr == b.lr && a.wd == b.wd && a.opt == b.opt && a.ncrop == b.ncrop && a.crop[0] == b.crop[0]);
    CHECK_STR(a.name, b.name);
    free(text);
}
