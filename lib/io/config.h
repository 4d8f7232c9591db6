/* config.h — YAML configs (libyaml) read into a typed schema.
 *
 * A schema is an array of fields, ended by one with key NULL.  Each field
 * names a dotted key ("opt.lr"), its type, where its value lives in the
 * caller's struct and its default.  A YAML file may nest mappings
 * ("opt: {lr: 1e-4}") or write dotted keys ("opt.lr: 1e-4"); both name the
 * same field.  Anything the schema does not know is an error, as is a value
 * of the wrong type, and the message names the file and line:
 *     invalid config: 'thumos.yaml': line 12: unknown key 'opt.lrr'
 *     invalid config: 'thumos.yaml': line 3: 'opt.lr': expected a number, not 'fast'
 * Overrides from the command line (-s key=value) use the same rules, the
 * value written as in YAML ("-s data.crop=[0.9,1.0]").
 *
 *   typedef struct { double lr; int epochs; int opt; char name[64]; } cfg_t;
 *   #define F(k, t, m, d, ...) { .key = k, .type = t, .offset = offsetof(cfg_t, m), .def = d, __VA_ARGS__ }
 *   static const tal_cfg_field schema[] = {
 *       F("opt.lr", TAL_CFG_FLOAT, lr, "1e-4", .min = 0, .max = 1),
 *       F("opt.kind", TAL_CFG_ENUM, opt, "adamw", .choices = "adamw|adam|sgd"),
 *       F("train.epochs", TAL_CFG_INT, epochs, "30"),
 *       F("name", TAL_CFG_STRING, name, "run", .cap = 64),
 *       { .key = NULL },
 *   };
 *   cfg_t c;
 *   if (tal_config_defaults(schema, &c) || tal_config_load(schema, &c, "cfg.yaml") ||
 *       tal_config_set(schema, &c, "opt.lr=3e-4")) die(tal_errmsg());
 *   char *text = tal_config_dump(schema, &c);   // for the checkpoint
 */
#ifndef TAL_IO_CONFIG_H
#define TAL_IO_CONFIG_H

#include <stddef.h>

typedef enum {
    TAL_CFG_INT,      /* int */
    TAL_CFG_FLOAT,    /* double */
    TAL_CFG_BOOL,     /* int 0/1: true/false, yes/no, on/off */
    TAL_CFG_STRING,   /* char[cap] */
    TAL_CFG_ENUM,     /* int: index of the value in choices ("a|b|c") */
    TAL_CFG_INTS,     /* int[cap], count in an int at count_offset */
    TAL_CFG_FLOATS,   /* double[cap], count in an int at count_offset */
} tal_cfg_type;

typedef struct {
    const char *key;
    tal_cfg_type type;
    size_t offset;
    const char *def;          /* default, as YAML: "1e-4", "true", "[0.9, 1.0]", "adamw" */
    const char *choices;      /* ENUM */
    int cap;                  /* STRING: buffer size; INTS/FLOATS: capacity */
    size_t count_offset;      /* INTS/FLOATS */
    double min, max;          /* INT/FLOAT(S)/INTS bounds when min < max */
    const char *help;
} tal_cfg_field;

/* Every field to its default. */
int tal_config_defaults(const tal_cfg_field *schema, void *cfg);
/* Apply a YAML file (over what cfg holds). */
int tal_config_load(const tal_cfg_field *schema, void *cfg, const char *path);
/* The same from text; `name` is used in messages. */
int tal_config_load_text(const tal_cfg_field *schema, void *cfg, const char *text, const char *name);
/* Apply one "key=value" override. */
int tal_config_set(const tal_cfg_field *schema, void *cfg, const char *assignment);
/* Every field as "key: value" lines in schema order (malloc'd), YAML that
 * tal_config_load_text reads back to the same values. */
char *tal_config_dump(const tal_cfg_field *schema, const void *cfg);

#endif
