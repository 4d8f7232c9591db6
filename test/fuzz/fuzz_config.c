/* fuzz_config.c — libFuzzer target for YAML configs and -s overrides: any
 * bytes must give values inside the schema's bounds or an error. */
#include "io/config.h"
#include "util/error.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double lr;
    int epochs, opt, ema, n;
    char name[16];
    double crop[3];
    int ncrop;
    int ints[4];
    int nints;
} cfg_t;

#define F(k, t, m, d, ...) { .key = k, .type = t, .offset = offsetof(cfg_t, m), .def = d, __VA_ARGS__ }
static const tal_cfg_field schema[] = {
    F("name", TAL_CFG_STRING, name, "x", .cap = 16),
    F("opt.lr", TAL_CFG_FLOAT, lr, "1e-4", .min = 0, .max = 1),
    F("opt.kind", TAL_CFG_ENUM, opt, "adamw", .choices = "adamw|adam|sgd"),
    F("opt.epochs", TAL_CFG_INT, epochs, "30", .min = 1, .max = 1000),
    F("train.ema", TAL_CFG_BOOL, ema, "true"),
    F("data.crop", TAL_CFG_FLOATS, crop, "[0.9, 1.0]", .cap = 3, .count_offset = offsetof(cfg_t, ncrop)),
    F("model.strides", TAL_CFG_INTS, ints, "[1, 2]", .cap = 4, .count_offset = offsetof(cfg_t, nints)),
    { .key = NULL },
};

static void check(const cfg_t *c)
{
    if (!(c->lr >= 0 && c->lr <= 1) || c->epochs < 1 || c->epochs > 1000 || c->opt < 0 || c->opt > 2 ||
        c->ncrop < 0 || c->ncrop > 3 || c->nints < 0 || c->nints > 4 || !memchr(c->name, 0, sizeof c->name))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    cfg_t c;
    if (tal_config_defaults(schema, &c))
        abort();
    tal_config_load_text(schema, &c, text, "fuzz");
    check(&c);
    tal_config_set(schema, &c, text);
    check(&c);
    char *dump = tal_config_dump(schema, &c);
    cfg_t d;
    if (!dump || tal_config_defaults(schema, &d) || tal_config_load_text(schema, &d, dump, "dump"))
        abort();   /* what we write we must read back */
    free(dump);
    free(text);
    return 0;
}
