/* Unit tests for proxy/conf: positions, strictness, limits and typed reads. */
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "test.h"

/* Parses a NUL-terminated text as "t.yaml". */
static struct conf_doc *parse(const char *text, struct vigie_diag *diag)
{
    return conf_doc_parse("t.yaml", text, strlen(text), diag);
}

/* Parses text that must be refused and returns the first message (owned by
 * diag), or "" so that T_CONTAINS reports a clean failure. */
static const char *refused(const char *text, size_t len, struct vigie_diag *diag)
{
    struct conf_doc *d = conf_doc_parse("t.yaml", text, len, diag);

    if (d != NULL) {
        conf_doc_free(d);
        T_FAIL("document was accepted:\n%.200s", text);
        return "";
    }
    if (diag->n == 0) {
        T_FAIL("refused without a message");
        return "";
    }
    return diag->msgs[0];
}

/* For literals that hold NUL bytes: the length comes from the literal. */
#define REFUSED(lit, diag) refused((lit), sizeof(lit) - 1, (diag))

static void expect_refused(const char *text, const char *prefix, const char *phrase)
{
    struct vigie_diag diag;
    const char *msg;

    vigie_diag_init(&diag);
    msg = refused(text, strlen(text), &diag);
    if (getenv("T_SHOW") != NULL)
        fprintf(stderr, "  %s\n", msg);
    if (strncmp(msg, prefix, strlen(prefix)) != 0)
        T_FAIL("message \"%s\" does not start with \"%s\"", msg, prefix);
    T_CONTAINS(msg, phrase);
    vigie_diag_free(&diag);
}

static void at(const struct conf_node *n, enum conf_kind kind, unsigned line, unsigned col)
{
    if (n == NULL) {
        T_FAIL("node missing (expected at %u:%u)", line, col);
        return;
    }
    T_EQ_INT(n->kind, kind);
    T_EQ_INT(n->line, line);
    T_EQ_INT(n->col, col);
}

static void test_nested_positions(void)
{
    static const char text[] = "name: vigie\n"
                               "rules:\n"
                               "  - id: email\n"
                               "    pattern: '[a-z]+@'\n"
                               "    enabled: true\n"
                               "  - id: iban\n"
                               "    words: [a, \"b\", c]\n"
                               "limits:\n"
                               "  max: 42\n"
                               "text: |\n"
                               "  hello\n";
    struct vigie_diag diag;
    struct conf_doc *d;
    const struct conf_node *root, *rules, *r0, *r1, *words, *n;

    vigie_diag_init(&diag);
    d = parse(text, &diag);
    T_ASSERT(d != NULL);
    T_EQ_INT(diag.n, 0);
    if (d == NULL)
        goto out;
    T_EQ_STR(conf_doc_file(d), "t.yaml");
    root = conf_doc_root(d);
    at(root, CONF_MAP, 1, 1);
    T_EQ_INT(root->n, 4);
    at(root->keys[0], CONF_SCALAR, 1, 1);
    T_EQ_STR(root->keys[0]->str, "name");
    at(root->vals[0], CONF_SCALAR, 1, 7);
    T_EQ_STR(root->vals[0]->str, "vigie");
    T_EQ_INT(root->vals[0]->len, 5);
    T_EQ_INT(root->vals[0]->quoted, 0);
    T_ASSERT(root->vals[0]->doc == d);

    rules = conf_map_get(root, "rules");
    at(rules, CONF_SEQ, 3, 3);
    T_EQ_INT(rules->n, 2);
    r0 = rules->vals[0];
    at(r0, CONF_MAP, 3, 5);
    at(conf_map_get(r0, "id"), CONF_SCALAR, 3, 9);
    n = conf_map_get(r0, "pattern");
    at(n, CONF_SCALAR, 4, 14);
    T_EQ_STR(n->str, "[a-z]+@");
    T_EQ_INT(n->quoted, 1);
    at(conf_map_get(r0, "enabled"), CONF_SCALAR, 5, 14);
    T_EQ_STR(r0->keys[2]->str, "enabled");
    at(r0->keys[2], CONF_SCALAR, 5, 5);

    r1 = rules->vals[1];
    at(r1, CONF_MAP, 6, 5);
    words = conf_map_get(r1, "words");
    at(words, CONF_SEQ, 7, 12);
    T_EQ_INT(words->n, 3);
    at(words->vals[0], CONF_SCALAR, 7, 13);
    at(words->vals[1], CONF_SCALAR, 7, 16);
    T_EQ_INT(words->vals[0]->quoted, 0);
    T_EQ_INT(words->vals[1]->quoted, 1);
    T_EQ_STR(words->vals[2]->str, "c");
    T_ASSERT(words->keys == NULL);

    n = conf_map_get(conf_map_get(root, "limits"), "max");
    at(n, CONF_SCALAR, 9, 8);
    n = conf_map_get(root, "text");
    at(n, CONF_SCALAR, 10, 7);
    T_EQ_STR(n->str, "hello\n");
    T_EQ_INT(n->quoted, 1);
out:
    conf_doc_free(d);
    vigie_diag_free(&diag);
}

static void test_quoting_styles(void)
{
    static const char text[] = "a: plain\n"
                               "b: 'single'\n"
                               "c: \"double\\0nul\"\n"
                               "d: >\n"
                               "  folded\n"
                               "e:\n"
                               "f: ''\n";
    struct vigie_diag diag;
    struct conf_doc *d;
    const struct conf_node *root, *n;

    vigie_diag_init(&diag);
    d = parse(text, &diag);
    T_ASSERT(d != NULL);
    if (d == NULL)
        goto out;
    root = conf_doc_root(d);
    T_EQ_INT(conf_map_get(root, "a")->quoted, 0);
    T_EQ_INT(conf_map_get(root, "b")->quoted, 1);
    n = conf_map_get(root, "c");
    T_EQ_INT(n->quoted, 1);
    T_EQ_INT(n->len, 10); /* "double" NUL "nul": len is authoritative */
    T_ASSERT(memcmp(n->str, "double\0nul", 11) == 0);
    T_EQ_INT(conf_map_get(root, "d")->quoted, 1);
    T_EQ_STR(conf_map_get(root, "d")->str, "folded\n");
    n = conf_map_get(root, "e");
    T_ASSERT(n != NULL && n->kind == CONF_SCALAR && n->len == 0 && n->quoted == 0);
    n = conf_map_get(root, "f");
    T_ASSERT(n != NULL && n->len == 0 && n->quoted == 1);
    T_ASSERT(conf_map_get(root, "g") == NULL);
    T_ASSERT(conf_map_get(n, "a") == NULL); /* not a map */
    T_ASSERT(conf_map_get(NULL, "a") == NULL);
out:
    conf_doc_free(d);
    vigie_diag_free(&diag);
}

static void test_empty_documents(void)
{
    static const char *const texts[] = {"", "# only a comment\n\n   # another\n", "---\n",
                                        "---\n...\n"};
    size_t i;

    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct vigie_diag diag;
        struct conf_doc *d;

        vigie_diag_init(&diag);
        d = parse(texts[i], &diag);
        T_ASSERT(d != NULL);
        T_ASSERT(conf_doc_root(d) == NULL);
        T_EQ_INT(diag.n, 0);
        conf_doc_free(d);
        vigie_diag_free(&diag);
    }
    {
        /* NULL buffer with length 0 is an empty file too. */
        struct conf_doc *d = conf_doc_parse("t.yaml", NULL, 0, NULL);

        T_ASSERT(d != NULL && conf_doc_root(d) == NULL);
        conf_doc_free(d);
    }
    conf_doc_free(NULL);
    T_ASSERT(conf_doc_root(NULL) == NULL);
}

static void test_anchors_aliases_tags(void)
{
    expect_refused("a: &x 1\n", "t.yaml:1:4: ", "anchors and aliases are not allowed");
    expect_refused("a: 1\nb: *x\n", "t.yaml:2:4: ", "anchors and aliases are not allowed");
    expect_refused("a: !!str 1\n", "t.yaml:1:4: ", "tags are not allowed");
    expect_refused("a: !custom 1\n", "t.yaml:1:4: ", "tags are not allowed");
    expect_refused("a: !!map {b: 1}\n", "t.yaml:1:4: ", "tags are not allowed");
    expect_refused("- ! x\n", "t.yaml:1:3: ", "tags are not allowed");
    /* "<<" is an ordinary key; with aliases refused it cannot merge. */
    expect_refused("base: &b {x: 1}\nother:\n  <<: *b\n",
                   "t.yaml:1:7: ", "anchors and aliases are not allowed");
}

static void test_every_problem_reported(void)
{
    struct vigie_diag diag;
    const char *msg;

    vigie_diag_init(&diag);
    msg = REFUSED("a: &x 1\nb: *x\nc: !!int 2\n", &diag);
    T_EQ_STR(msg, "t.yaml:1:4: anchors and aliases are not allowed (anchor '&x')");
    T_EQ_INT(diag.n, 3);
    if (diag.n == 3) {
        T_EQ_STR(diag.msgs[1], "t.yaml:2:4: anchors and aliases are not allowed (alias '*x')");
        T_EQ_STR(diag.msgs[2], "t.yaml:3:4: tags are not allowed (found 'tag:yaml.org,2002:int')");
    }
    vigie_diag_free(&diag);
}

static void test_billion_laughs(void)
{
    static const char text[] = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
                               "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                               "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                               "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                               "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                               "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                               "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                               "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                               "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";

    expect_refused(text, "t.yaml:1:4: ", "anchors and aliases are not allowed");
}

static void test_multiple_documents(void)
{
    expect_refused("a: 1\n---\nb: 2\n", "t.yaml:2:1: ", "only one YAML document per file");
    expect_refused("--- a\n--- b\n", "t.yaml:2:1: ", "only one YAML document per file");
    expect_refused("a: 1\n...\n---\n", "t.yaml:3:1: ", "only one YAML document per file");
}

static void test_duplicate_keys(void)
{
    struct vigie_diag diag;
    const char *msg;

    expect_refused("a: 1\nb: 2\na: 3\n", "t.yaml:3:1: ", "duplicate key 'a' (first at 1:1)");
    /* Quoting does not make a different key. */
    expect_refused("x:\n  k: 1\n  'k': 2\n", "t.yaml:3:3: ", "duplicate key 'k' (first at 2:3)");
    expect_refused("{q: 1, r: 2, q: 3}\n", "t.yaml:1:14: ", "duplicate key 'q' (first at 1:2)");

    /* Several duplicates: every later one names the first, in file order. */
    vigie_diag_init(&diag);
    msg = REFUSED("b: 1\na: 1\nb: 2\na: 2\nb: 3\n", &diag);
    T_EQ_STR(msg, "t.yaml:3:1: duplicate key 'b' (first at 1:1)");
    T_EQ_INT(diag.n, 3);
    if (diag.n == 3) {
        T_EQ_STR(diag.msgs[1], "t.yaml:4:1: duplicate key 'a' (first at 2:1)");
        T_EQ_STR(diag.msgs[2], "t.yaml:5:1: duplicate key 'b' (first at 1:1)");
    }
    vigie_diag_free(&diag);

    /* Same key in different mappings is fine. */
    {
        struct conf_doc *d = parse("a: {k: 1}\nb: {k: 2}\n", NULL);

        T_ASSERT(d != NULL);
        conf_doc_free(d);
    }
}

static void test_non_scalar_keys(void)
{
    expect_refused("? [a, b]\n: 1\n", "t.yaml:1:3: ", "mapping keys must be strings");
    expect_refused("{{a: 1}: 2}\n", "t.yaml:1:2: ", "mapping keys must be strings");
}

static void test_syntax_errors(void)
{
    expect_refused("a: 1\nb: 2\nc: d: e\n",
                   "t.yaml:3:5: ", "mapping values are not allowed in this context");
    expect_refused("a: \"unclosed\n", "t.yaml:2:1: ", "while scanning a quoted scalar at 1:4");
    expect_refused("a:\n  b: 1\n c: 2\n", "t.yaml:3:2: ", "did not find expected key");
    expect_refused("[1, 2\n", "t.yaml:2:1: ", "did not find expected ',' or ']'");
    expect_refused("a:\tb\n\tc: 1\n", "t.yaml:2:1: ", "tab");
}

static void test_depth_bomb(void)
{
    struct vigie_buf b;
    size_t i;

    /* 64 levels are allowed... */
    vigie_buf_init(&b, 1024);
    for (i = 0; i < 64; i++)
        T_EQ_INT(vigie_buf_appendc(&b, '['), 0);
    for (i = 0; i < 64; i++)
        T_EQ_INT(vigie_buf_appendc(&b, ']'), 0);
    {
        struct conf_doc *d = conf_doc_parse("t.yaml", b.data, b.len, NULL);
        const struct conf_node *n = conf_doc_root(d);
        unsigned levels = 0;

        T_ASSERT(d != NULL);
        while (n != NULL && n->kind == CONF_SEQ) {
            levels++;
            n = n->n > 0 ? n->vals[0] : NULL;
        }
        T_EQ_INT(levels, 64);
        conf_doc_free(d);
    }
    vigie_buf_free(&b);

    /* ...the 65th is refused where it opens. */
    vigie_buf_init(&b, 1024);
    for (i = 0; i < 65; i++)
        T_EQ_INT(vigie_buf_appendc(&b, '['), 0);
    for (i = 0; i < 65; i++)
        T_EQ_INT(vigie_buf_appendc(&b, ']'), 0);
    expect_refused(b.data, "t.yaml:1:65: ", "nesting deeper than 64 levels");
    vigie_buf_free(&b);

    /* Far deeper and unbalanced: stops at the limit, no crash. */
    vigie_buf_init(&b, 1u << 20);
    for (i = 0; i < 100000; i++)
        T_EQ_INT(vigie_buf_appendc(&b, '['), 0);
    expect_refused(b.data, "t.yaml:1:65: ", "nesting deeper than 64 levels");
    vigie_buf_free(&b);

    /* Block mappings, two spaces per level. */
    vigie_buf_init(&b, 1u << 20);
    for (i = 0; i < 70; i++)
        T_EQ_INT(vigie_buf_printf(&b, "%*sk:\n", (int)(2 * i), ""), 0);
    expect_refused(b.data, "t.yaml:65:129: ", "nesting deeper than 64 levels");
    vigie_buf_free(&b);
}

static void test_node_and_scalar_limits(void)
{
    struct vigie_buf b;
    size_t i;

    /* A flow list of VIGIE_CONF_NODES_MAX scalars plus the list itself: the
     * last scalar is node 200001 and is refused where it stands. */
    vigie_buf_init(&b, 2u * VIGIE_CONF_NODES_MAX + 16);
    T_EQ_INT(vigie_buf_appendc(&b, '['), 0);
    for (i = 0; i < VIGIE_CONF_NODES_MAX; i++)
        T_EQ_INT(vigie_buf_append(&b, "1,", 2), 0);
    T_EQ_INT(vigie_buf_appendc(&b, ']'), 0);
    expect_refused(b.data, "t.yaml:1:400000: ", "more than 200000 nodes");
    vigie_buf_free(&b);

    /* Exactly VIGIE_CONF_NODES_MAX nodes is accepted. */
    vigie_buf_init(&b, 2u * VIGIE_CONF_NODES_MAX + 16);
    T_EQ_INT(vigie_buf_appendc(&b, '['), 0);
    for (i = 0; i + 1 < VIGIE_CONF_NODES_MAX; i++)
        T_EQ_INT(vigie_buf_append(&b, "1,", 2), 0);
    T_EQ_INT(vigie_buf_appendc(&b, ']'), 0);
    {
        struct conf_doc *d = conf_doc_parse("t.yaml", b.data, b.len, NULL);

        T_ASSERT(d != NULL);
        T_EQ_INT(d != NULL ? conf_doc_root(d)->n : 0, VIGIE_CONF_NODES_MAX - 1);
        conf_doc_free(d);
    }
    vigie_buf_free(&b);

    /* A scalar at the cap is fine; one byte more is refused at its start. */
    vigie_buf_init(&b, VIGIE_CONF_SCALAR_MAX + 64);
    T_EQ_INT(vigie_buf_append(&b, "a: ", 3), 0);
    for (i = 0; i < VIGIE_CONF_SCALAR_MAX; i++)
        T_EQ_INT(vigie_buf_appendc(&b, 'x'), 0);
    {
        struct conf_doc *d = conf_doc_parse("t.yaml", b.data, b.len, NULL);

        T_ASSERT(d != NULL);
        T_EQ_INT(d != NULL ? conf_map_get(conf_doc_root(d), "a")->len : 0, VIGIE_CONF_SCALAR_MAX);
        conf_doc_free(d);
    }
    T_EQ_INT(vigie_buf_appendc(&b, 'x'), 0);
    expect_refused(b.data, "t.yaml:1:4: ", "value longer than 65536 bytes");
    vigie_buf_free(&b);

    /* The file cap is checked before libyaml sees a byte. */
    {
        struct vigie_diag diag;
        char *big = malloc(VIGIE_CONF_FILE_MAX + 1);
        const char *msg;

        T_ASSERT(big != NULL);
        if (big == NULL)
            return;
        memset(big, '#', VIGIE_CONF_FILE_MAX + 1);
        vigie_diag_init(&diag);
        msg = refused(big, VIGIE_CONF_FILE_MAX + 1, &diag);
        T_EQ_STR(msg, "t.yaml: file larger than 4194304 bytes");
        vigie_diag_free(&diag);
        free(big);
    }
}

static void test_bad_bytes(void)
{
    struct vigie_diag diag;
    const char *msg;

    /* A NUL byte: the length says there is more, libyaml refuses it. */
    vigie_diag_init(&diag);
    msg = REFUSED("a: 1\nb: x\0y\n", &diag);
    T_EQ_STR(msg, "t.yaml:2:5: control characters are not allowed (found 0x00)");
    vigie_diag_free(&diag);

    /* A lone continuation byte, after a multibyte character that counts as
     * one column. */
    vigie_diag_init(&diag);
    msg = REFUSED("a: 1\nb: \xc3\xa9\x80\n", &diag);
    T_EQ_STR(msg, "t.yaml:2:5: invalid leading UTF-8 octet (found 0x80)");
    vigie_diag_free(&diag);

    /* A truncated sequence at the end of input. */
    vigie_diag_init(&diag);
    msg = REFUSED("a: \xe2\x82", &diag);
    T_EQ_STR(msg, "t.yaml:1:4: incomplete UTF-8 octet sequence");
    vigie_diag_free(&diag);

    /* Overlong encoding of '/' and a UTF-16 byte-order mark. */
    vigie_diag_init(&diag);
    msg = REFUSED("a: \xc0\xaf\n", &diag);
    T_CONTAINS(msg, "t.yaml:1:4: ");
    T_CONTAINS(msg, "UTF-8");
    vigie_diag_free(&diag);
    vigie_diag_init(&diag);
    msg = REFUSED("\xff\xfe"
                  "a\0:\0",
                  &diag);
    T_CONTAINS(msg, "t.yaml:1:1: ");
    T_CONTAINS(msg, "UTF-8");
    vigie_diag_free(&diag);

    /* A UTF-8 byte-order mark is allowed and not part of the first key. */
    {
        struct conf_doc *d = parse("\xef\xbb\xbfk: v\n", NULL);

        T_ASSERT(d != NULL);
        T_ASSERT(conf_map_get(conf_doc_root(d), "k") != NULL);
        conf_doc_free(d);
    }
}

static void test_check_keys(void)
{
    static const char *const allowed[] = {"id", "pattern", "words", "window", NULL};
    struct vigie_diag diag;
    struct conf_doc *d;
    int n;

    vigie_diag_init(&diag);
    d = parse("id: email\npaterns: x\nwindwo: 3\nzzzzzz: 1\nwords: [a]\n", &diag);
    T_ASSERT(d != NULL);
    n = conf_map_check_keys(conf_doc_root(d), allowed, &diag);
    T_EQ_INT(n, 3);
    T_EQ_INT(diag.n, 3);
    if (diag.n == 3) {
        T_EQ_STR(diag.msgs[0], "t.yaml:2:1: unknown key 'paterns' (did you mean 'pattern'?)");
        /* A transposition counts as one edit. */
        T_EQ_STR(diag.msgs[1], "t.yaml:3:1: unknown key 'windwo' (did you mean 'window'?)");
        T_EQ_STR(diag.msgs[2], "t.yaml:4:1: unknown key 'zzzzzz'");
    }
    conf_doc_free(d);
    vigie_diag_free(&diag);

    /* All known: nothing reported. */
    vigie_diag_init(&diag);
    d = parse("id: a\nwords: []\n", &diag);
    T_EQ_INT(conf_map_check_keys(conf_doc_root(d), allowed, &diag), 0);
    T_EQ_INT(diag.n, 0);
    conf_doc_free(d);
    vigie_diag_free(&diag);

    /* "wondow" is one edit from "window" and further from the rest. */
    vigie_diag_init(&diag);
    d = parse("wondow: 1\n", &diag);
    T_EQ_INT(conf_map_check_keys(conf_doc_root(d), allowed, &diag), 1);
    T_ASSERT(diag.n == 1);
    if (diag.n == 1)
        T_CONTAINS(diag.msgs[0], "(did you mean 'window'?)");
    conf_doc_free(d);
    vigie_diag_free(&diag);

    /* A hostile key is shown bounded and escaped. */
    vigie_diag_init(&diag);
    d = parse("\"bad\\nkey\": 1\n", &diag);
    T_EQ_INT(conf_map_check_keys(conf_doc_root(d), allowed, &diag), 1);
    if (diag.n == 1)
        T_EQ_STR(diag.msgs[0], "t.yaml:1:1: unknown key 'bad\\x0akey'");
    conf_doc_free(d);
    vigie_diag_free(&diag);
}

static void test_get_bool(void)
{
    static const char text[] = "a: true\nb: False\nc: TRUE\nd: yes\ne: 'true'\nf: off\n"
                               "g: maybe\nh: [true]\ni:\n";
    struct vigie_diag diag;
    struct conf_doc *d;
    const struct conf_node *r;
    int v = -1;

    vigie_diag_init(&diag);
    d = parse(text, &diag);
    T_ASSERT(d != NULL);
    if (d == NULL)
        goto out;
    r = conf_doc_root(d);
    T_EQ_INT(conf_get_bool(conf_map_get(r, "a"), &v, &diag), VIGIE_OK);
    T_EQ_INT(v, 1);
    T_EQ_INT(conf_get_bool(conf_map_get(r, "b"), &v, &diag), VIGIE_OK);
    T_EQ_INT(v, 0);
    T_EQ_INT(conf_get_bool(conf_map_get(r, "c"), &v, &diag), VIGIE_OK);
    T_EQ_INT(v, 1);
    T_EQ_INT(diag.n, 0);

    v = 7;
    T_EQ_INT(conf_get_bool(conf_map_get(r, "d"), &v, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(conf_get_bool(conf_map_get(r, "e"), &v, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(conf_get_bool(conf_map_get(r, "f"), &v, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(conf_get_bool(conf_map_get(r, "g"), &v, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(conf_get_bool(conf_map_get(r, "h"), &v, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(conf_get_bool(conf_map_get(r, "i"), &v, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(v, 7); /* untouched on error */
    T_EQ_INT(diag.n, 6);
    if (diag.n == 6) {
        T_EQ_STR(diag.msgs[0], "t.yaml:4:4: expected true or false, found 'yes' "
                               "(YAML 1.1 booleans are not accepted)");
        T_EQ_STR(diag.msgs[1], "t.yaml:5:4: expected true or false, found a quoted string");
        T_CONTAINS(diag.msgs[2], "found 'off' (YAML 1.1 booleans are not accepted)");
        T_EQ_STR(diag.msgs[3], "t.yaml:7:4: expected true or false, found 'maybe'");
        T_EQ_STR(diag.msgs[4], "t.yaml:8:4: expected true or false, found a list");
        T_CONTAINS(diag.msgs[5], "t.yaml:9:");
        T_CONTAINS(diag.msgs[5], "expected true or false, found null");
    }
    /* An absent key: the caller reports it, we only refuse. */
    T_EQ_INT(conf_get_bool(conf_map_get(r, "nope"), &v, &diag), VIGIE_ERR_INVAL);
    T_EQ_INT(diag.n, 6);
out:
    conf_doc_free(d);
    vigie_diag_free(&diag);
}

static void test_get_uint(void)
{
    static const char text[] = "a: 42\nb: 0\nc: 18446744073709551616\nd: -1\ne: 0x10\n"
                               "f: 1_000\ng: '5'\nh: 11\ni: +3\nj: {x: 1}\nk: 007\nl: 3.0\n";
    struct vigie_diag diag;
    struct conf_doc *d;
    const struct conf_node *r;
    unsigned long v = 99;

    vigie_diag_init(&diag);
    d = parse(text, &diag);
    T_ASSERT(d != NULL);
    if (d == NULL)
        goto out;
    r = conf_doc_root(d);
    T_EQ_INT(conf_get_uint(conf_map_get(r, "a"), 0, 100, &v, &diag), VIGIE_OK);
    T_EQ_INT(v, 42);
    T_EQ_INT(conf_get_uint(conf_map_get(r, "b"), 0, 100, &v, &diag), VIGIE_OK);
    T_EQ_INT(v, 0);
    T_EQ_INT(conf_get_uint(conf_map_get(r, "k"), 0, 100, &v, &diag), VIGIE_OK);
    T_EQ_INT(v, 7);
    T_EQ_INT(diag.n, 0);

    v = 99;
    T_EQ_INT(conf_get_uint(conf_map_get(r, "c"), 0, (unsigned long)-1, &v, &diag),
             VIGIE_ERR_CONFIG);
    T_EQ_INT(conf_get_uint(conf_map_get(r, "d"), 0, 10, &v, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(conf_get_uint(conf_map_get(r, "e"), 0, 10, &v, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(conf_get_uint(conf_map_get(r, "f"), 0, 10, &v, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(conf_get_uint(conf_map_get(r, "g"), 0, 10, &v, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(conf_get_uint(conf_map_get(r, "h"), 1, 10, &v, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(conf_get_uint(conf_map_get(r, "i"), 0, 10, &v, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(conf_get_uint(conf_map_get(r, "j"), 0, 10, &v, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(conf_get_uint(conf_map_get(r, "a"), 50, 60, &v, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(conf_get_uint(conf_map_get(r, "l"), 0, 10, &v, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(v, 99);
    T_EQ_INT(diag.n, 10);
    if (diag.n == 10) {
        T_EQ_STR(diag.msgs[0], "t.yaml:3:4: expected a whole number between 0 and "
                               "18446744073709551615, found '18446744073709551616'");
        T_EQ_STR(diag.msgs[1], "t.yaml:4:4: expected a whole number between 0 and 10, "
                               "found '-1'");
        T_CONTAINS(diag.msgs[2], "t.yaml:5:4: expected a whole number between 0 and 10, "
                                 "found '0x10'");
        T_CONTAINS(diag.msgs[3], "found '1_000'");
        T_EQ_STR(diag.msgs[4], "t.yaml:7:4: expected a whole number between 0 and 10, "
                               "found a quoted string");
        T_EQ_STR(diag.msgs[5], "t.yaml:8:4: expected a whole number between 1 and 10, "
                               "found '11'");
        T_CONTAINS(diag.msgs[6], "found '+3'");
        T_EQ_STR(diag.msgs[7], "t.yaml:10:4: expected a whole number between 0 and 10, "
                               "found a mapping");
        T_EQ_STR(diag.msgs[8], "t.yaml:1:4: expected a whole number between 50 and 60, "
                               "found '42'");
        T_CONTAINS(diag.msgs[9], "found '3.0'");
    }
out:
    conf_doc_free(d);
    vigie_diag_free(&diag);
}

static void test_get_str(void)
{
    static const char text[] = "a: hello\nb: 'null'\nc: ~\nd: null\ne:\nf: [x]\ng: {}\n"
                               "h: \"a\\0b\"\ni: ''\nj: NULL\n";
    struct vigie_diag diag;
    struct conf_doc *d;
    const struct conf_node *r;
    const char *s = NULL;
    size_t len = 0;

    vigie_diag_init(&diag);
    d = parse(text, &diag);
    T_ASSERT(d != NULL);
    if (d == NULL)
        goto out;
    r = conf_doc_root(d);
    T_EQ_INT(conf_get_str(conf_map_get(r, "a"), &s, &len, &diag), VIGIE_OK);
    T_EQ_STR(s, "hello");
    T_EQ_INT(len, 5);
    /* Quoted, "null" is a string like any other. */
    T_EQ_INT(conf_get_str(conf_map_get(r, "b"), &s, NULL, &diag), VIGIE_OK);
    T_EQ_STR(s, "null");
    T_EQ_INT(conf_get_str(conf_map_get(r, "i"), &s, &len, &diag), VIGIE_OK);
    T_EQ_INT(len, 0);
    /* With a length, embedded NUL is fine. */
    T_EQ_INT(conf_get_str(conf_map_get(r, "h"), &s, &len, &diag), VIGIE_OK);
    T_EQ_INT(len, 3);
    T_EQ_INT(diag.n, 0);

    T_EQ_INT(conf_get_str(conf_map_get(r, "c"), &s, &len, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(conf_get_str(conf_map_get(r, "d"), &s, &len, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(conf_get_str(conf_map_get(r, "e"), &s, &len, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(conf_get_str(conf_map_get(r, "f"), &s, &len, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(conf_get_str(conf_map_get(r, "g"), &s, &len, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(conf_get_str(conf_map_get(r, "h"), &s, NULL, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(conf_get_str(conf_map_get(r, "j"), &s, &len, &diag), VIGIE_ERR_CONFIG);
    T_EQ_INT(diag.n, 7);
    if (diag.n == 7) {
        T_EQ_STR(diag.msgs[0], "t.yaml:3:4: expected a string, found null");
        T_EQ_STR(diag.msgs[1], "t.yaml:4:4: expected a string, found null");
        T_CONTAINS(diag.msgs[2], "t.yaml:5:");
        T_CONTAINS(diag.msgs[2], "expected a string, found null");
        T_EQ_STR(diag.msgs[3], "t.yaml:6:4: expected a string, found a list");
        T_EQ_STR(diag.msgs[4], "t.yaml:7:4: expected a string, found a mapping");
        T_EQ_STR(diag.msgs[5], "t.yaml:8:4: NUL characters are not allowed in this value");
        T_EQ_STR(diag.msgs[6], "t.yaml:10:4: expected a string, found null");
    }
out:
    conf_doc_free(d);
    vigie_diag_free(&diag);
}

static void test_conf_diag_and_names(void)
{
    struct vigie_diag diag;
    struct conf_doc *d;

    vigie_diag_init(&diag);
    d = conf_doc_parse("rules/contact.yaml", "x:\n  y: 1\n", 10, &diag);
    T_ASSERT(d != NULL);
    conf_diag(&diag, conf_map_get(conf_doc_root(d), "x"), "bad %s %d", "thing", 3);
    conf_diag(&diag, NULL, "no node");
    conf_diag(NULL, conf_doc_root(d), "discarded");
    T_EQ_INT(diag.n, 2);
    if (diag.n == 2) {
        T_EQ_STR(diag.msgs[0], "rules/contact.yaml:2:3: bad thing 3");
        T_EQ_STR(diag.msgs[1], "no node");
    }
    conf_doc_free(d);
    vigie_diag_free(&diag);

    T_EQ_STR(conf_kind_name(CONF_SCALAR), "a string");
    T_EQ_STR(conf_kind_name(CONF_MAP), "a mapping");
    T_EQ_STR(conf_kind_name(CONF_SEQ), "a list");
}

/* A document that is large but legal: many mappings, all freed without
 * walking the tree. */
static void test_many_maps(void)
{
    struct vigie_buf b;
    struct conf_doc *d;
    size_t i;

    vigie_buf_init(&b, 1u << 22);
    for (i = 0; i < 20000; i++)
        T_EQ_INT(vigie_buf_printf(&b, "k%zu: {a: %zu, b: [x, y]}\n", i, i), 0);
    d = conf_doc_parse("t.yaml", b.data, b.len, NULL);
    T_ASSERT(d != NULL);
    if (d != NULL) {
        const struct conf_node *r = conf_doc_root(d), *n;
        unsigned long v = 0;

        T_EQ_INT(r->n, 20000);
        n = conf_map_get(conf_map_get(r, "k19999"), "a");
        T_EQ_INT(conf_get_uint(n, 0, 100000, &v, NULL), VIGIE_OK);
        T_EQ_INT(v, 19999);
        at(n, CONF_SCALAR, 20000, 13);
    }
    conf_doc_free(d);
    vigie_buf_free(&b);
}

int main(void)
{
    T_RUN(test_nested_positions);
    T_RUN(test_quoting_styles);
    T_RUN(test_empty_documents);
    T_RUN(test_anchors_aliases_tags);
    T_RUN(test_every_problem_reported);
    T_RUN(test_billion_laughs);
    T_RUN(test_multiple_documents);
    T_RUN(test_duplicate_keys);
    T_RUN(test_non_scalar_keys);
    T_RUN(test_syntax_errors);
    T_RUN(test_depth_bomb);
    T_RUN(test_node_and_scalar_limits);
    T_RUN(test_bad_bytes);
    T_RUN(test_check_keys);
    T_RUN(test_get_bool);
    T_RUN(test_get_uint);
    T_RUN(test_get_str);
    T_RUN(test_conf_diag_and_names);
    T_RUN(test_many_maps);
    return T_DONE();
}
