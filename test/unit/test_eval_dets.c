/* test_eval_dets.c — the one-pass results-JSON reader: it reads what
 * tal_anno_read_json reads, the same way, and rejects bad JSON with the
 * line and column. */
#include "harness.h"
#include "tal.h"
#include "io/anno.h"
#include "io/dets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *put(const char *name, const char *text)
{
    const char *p = tal_test_path(name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return p;
}

static void classes(tal_annoset *a)
{
    tal_annoset_init(a);
    tal_classes_add(&a->classes, "Jump", 7);
    tal_classes_add(&a->classes, "Run", 9);
    tal_classes_add(&a->classes, "Throw \"x\"", -1);
    a->fixed_classes = 1;
}

TEST(dets_json_reads_what_the_generic_reader_reads)
{
    const char *p = put("r.json",
        "{\"version\": \"x\", \"external_data\": {\"used\": true, \"details\": [1, 2.5e-3, null, false]},\n"
        " \"results\": {\n"
        "  \"v1\": [{\"label\": \"Jump\", \"score\": 0.5, \"segment\": [1.25, 2e1]},\n"
        "         {\"segment\": [\"3\", \"4.5\"], \"score\": \"0.25\", \"label\": \"Run\", \"extra\": [[{}]]},\n"
        "         {\"label\": 9, \"score\": 1, \"segment\": [0, 1]},\n"
        "         {\"label_id\": 1, \"score\": -0.5, \"segment\": [-1, 0]},\n"
        "         {\"label\": \"Throw \\\"x\\\"\", \"score\": 0, \"segment\": [5, 6]}],\n"
        "  \"v\\u00e9\\n2\": [],\n"
        "  \"v3\": [{\"label\": \"Nope\", \"score\": 0.1, \"segment\": [0, 1]}, {\"score\": 0.2, \"segment\": [0, 1]}]}}\n");
    tal_annoset a, b;
    classes(&a);
    classes(&b);
    tal_anno_opts o = { .ignore_unknown_classes = 1 };
    long ign = -1;
    CHECK(!tal_dets_read_json(p, &a, &o, &ign));
    CHECK(!tal_anno_read_json(p, &b, &o));
    CHECK_EQ_INT(ign, 1);
    CHECK_EQ_INT(ign, tal_anno_ignored());
    CHECK_EQ_INT(a.n, b.n);
    for (uint32_t i = 0; i < a.n; i++) {
        tal_record *x = &a.v[i], *y = tal_annoset_find(&b, x->id);
        CHECK_MSG(y, "record '%s' missing from the generic reader", x->id);
        CHECK_EQ_INT(x->dets.n, y->dets.n);
        CHECK(x->present == y->present);
        for (uint32_t k = 0; k < x->dets.n; k++) {
            const tal_segment *s = &x->dets.v[k], *t = &y->dets.v[k];
            CHECK_MSG(s->start == t->start && s->end == t->end && s->score == t->score && s->cls == t->cls,
                      "'%s' detection %u differs", x->id, k);
        }
    }
    tal_record *r = tal_annoset_find(&a, "v1");
    CHECK(r && r->dets.n == 5);
    CHECK(r->dets.v[0].end == 20 && r->dets.v[1].start == 3 && r->dets.v[1].score == 0.25);
    CHECK(r->dets.v[2].cls == 1 && r->dets.v[3].cls == 1 && r->dets.v[4].cls == 2);
    CHECK(tal_annoset_find(&a, "v\xc3\xa9\n2"));
    r = tal_annoset_find(&a, "v3");
    CHECK(r && r->dets.n == 1 && r->dets.v[0].cls == -1);   /* no label at all: kept, without a class */
    tal_annoset_free(&a);
    tal_annoset_free(&b);
}

TEST(dets_json_new_classes_when_not_fixed)
{
    const char *p = put("n.json", "{\"results\": {\"a\": [{\"label\": \"X\", \"score\": 1, \"segment\": [0, 1]},"
                                  "{\"label\": \"Y\", \"score\": 1, \"segment\": [0, 1]},"
                                  "{\"label\": \"X\", \"score\": 1, \"segment\": [0, 1]}]}}");
    tal_annoset a;
    tal_annoset_init(&a);
    CHECK(!tal_dets_read_json(p, &a, NULL, NULL));
    CHECK_EQ_INT(a.classes.n, 2);
    CHECK(a.v[0].dets.v[2].cls == 0);
    tal_annoset_free(&a);
}

TEST(dets_json_errors)
{
    struct { const char *text, *want; } cases[] = {
        { "", "no JSON value" },
        { "[1]", "the top level is not an object" },
        { "{\"results\": {\"a\": [{\"label\": \"Jump\", \"score\": 1, \"segment\": [0, 1]}]}", "line 1 column 70: unexpected end of input" },
        { "{\"results\": {\"a\": [\n{\"label\": \"Jump\", \"score\": 1, \"segment\": [0, 1],}]}}", "line 2 column 49: expected '\"" },
        { "{\"results\": {\"a\": [{\"label\": \"Ju\tmp\"}]}}", "control character in a string" },
        { "{\"results\": {\"a\": [{\"label\": \"\\q\"}]}}", "bad escape" },
        { "{\"results\": {\"a\": [{\"label\": \"\\ud800\"}]}}", "lone surrogate" },
        { "{\"results\": {\"a\": [{\"score\": 01, \"segment\": [0, 1]}]}}", "expected '}'" },
        { "{\"results\": {\"a\": [{\"score\": 1., \"segment\": [0, 1]}]}}", "bad number" },
        { "{\"results\": {\"a\": [{\"score\": tru}]}}", "expected a value" },
        { "{\"results\": {}} x", "text after the JSON value" },
        { "{\"results\": []}", "'results' is not an object" },
        { "{\"results\": {\"a\": 3}}", "results.a: is not a list" },
        { "{\"results\": {\"a\": [{\"label\": \"Jump\", \"score\": 1, \"segment\": [0]}]}}", "results.a: [0].segment is not a pair of numbers" },
        { "{\"results\": {\"a\": [{\"label\": \"Jump\", \"score\": 1, \"segment\": [0, 1, 2]}]}}", "[0].segment is not a pair" },
        { "{\"results\": {\"a\": [{\"label\": \"Jump\", \"score\": 1, \"segment\": [0, \"x\"]}]}}", "[0].segment is not a pair" },
        { "{\"results\": {\"a\": [{\"label\": \"Jump\", \"segment\": [0, 1]}]}}", "[0].score is not a number" },
        { "{\"results\": {\"a\": [{\"label\": \"Jump\", \"score\": 1e999, \"segment\": [0, 1]}]}}", "[0].score is not a number" },
        { "{\"results\": {\"a\": [{\"label\": [1], \"score\": 1, \"segment\": [0, 1]}]}}", "neither a name nor a number" },
        { "{\"results\": {\"a\": [{\"label\": 55, \"score\": 1, \"segment\": [0, 1]}]}}", "numeric label matches no class" },
        { "{\"results\": {\"a\": [{\"label\": \"Nope\", \"score\": 1, \"segment\": [0, 1]}]}}", "label 'Nope' is not in the class list" },
        { "{\"database\": {}}", "annotations, not {\"results\": ...}" },
        { "{\"version\": 1}", "no {\"results\": ...} found" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tal_annoset a;
        classes(&a);
        const char *p = put("bad.json", cases[i].text);
        int rc = tal_dets_read_json(p, &a, NULL, NULL);
        CHECK_MSG(rc == TAL_EINVAL, "case %zu: rc %d", i, rc);
        CHECK_MSG(strstr(tal_errmsg(), cases[i].want), "case %zu: '%s' lacks '%s'", i, tal_errmsg(), cases[i].want);
        tal_annoset_free(&a);
    }
    /* nesting is bounded */
    char deep[2100];
    size_t k = 0;
    k += (size_t)snprintf(deep, sizeof deep, "{\"x\": ");
    for (int i = 0; i < 1000; i++)
        deep[k++] = '[';
    deep[k] = 0;
    tal_annoset a;
    classes(&a);
    CHECK(tal_dets_read_json(put("deep.json", deep), &a, NULL, NULL) == TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "nested too deeply"));
    tal_annoset_free(&a);
}
