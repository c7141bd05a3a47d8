/*
 * Rule pack loading: every error a security officer can make gets a message
 * with FILE:LINE:COL, and a pack with any error adds nothing.
 */
#include "helpers.h"

/* A valid detector body, to which each test adds or breaks one thing. */
#define GOOD_RULE                                                                          \
    "  - id: t.code\n"                                                                     \
    "    category: test.code\n"                                                            \
    "    description: a test code\n"                                                       \
    "    pattern: 'ZX\\d{4}'\n"                                                            \
    "    examples:\n"                                                                      \
    "      match: [ZX1234]\n"                                                              \
    "      no_match: [ZX12]\n"

static char *msgs;

static struct detect_set *load(const char *yaml)
{
    free(msgs);
    msgs = NULL;
    return pack_from(yaml, &msgs);
}

static void test_valid_pack_loads(void)
{
    struct detect_set *s = load("pack: t\ndetectors:\n" GOOD_RULE);

    T_ASSERT(s != NULL);
    T_EQ_STR(msgs, "");
    if (s != NULL) {
        T_EQ_INT(detect_set_nrules(s), 1);
        T_EQ_STR(detect_rule_label(detect_set_rule(s, 0)), "CODE");
        T_EQ_STR(detect_rule_pack(detect_set_rule(s, 0)), "t");
    }
    detect_set_free(s);
}

static void test_bad_yaml(void)
{
    struct detect_set *s = load("pack: t\ndetectors:\n  - id: [unclosed\n");

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "t.yaml:");
    /* libyaml's mark, 1-based: the flow sequence never closes. */
    T_ASSERT(strstr(msgs, "t.yaml:3:") != NULL || strstr(msgs, "t.yaml:4:") != NULL);
}

static void test_unknown_key_with_suggestion(void)
{
    struct detect_set *s = load("pack: t\ndetectors:\n" GOOD_RULE "    paterns: x\n");

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "t.yaml:10:5: unknown key 'paterns' (did you mean 'pattern'?)");
}

static void test_unknown_top_level_key(void)
{
    struct detect_set *s = load("pack: t\nrules: []\ndetectors:\n" GOOD_RULE);

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "t.yaml:2:1: unknown key 'rules'");
}

static void test_missing_field(void)
{
    struct detect_set *s = load("pack: t\ndetectors:\n"
                                "  - id: t.code\n"
                                "    description: no category\n"
                                "    pattern: 'ZX\\d{4}'\n"
                                "    examples: {match: [ZX1234], no_match: [ZX1]}\n");

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "t.yaml:3:5: missing required field 'category'");
}

static void test_missing_pack_name_and_detectors(void)
{
    struct detect_set *s = load("description: nothing\n");

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "t.yaml:1:1: missing required field 'pack'");
    T_CONTAINS(msgs, "t.yaml:1:1: missing required field 'detectors'");
}

static void test_invalid_regex_with_offset(void)
{
    struct detect_set *s = load("pack: t\ndetectors:\n"
                                "  - id: t.bad\n"
                                "    category: test.bad\n"
                                "    description: d\n"
                                "    pattern: 'ab(cd'\n"
                                "    examples: {match: [abcd], no_match: [x]}\n");

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "t.yaml:6:14: rule 't.bad': invalid pattern at offset 5: missing closing "
                     "parenthesis");
}

static void test_unknown_validator(void)
{
    struct detect_set *s = load("pack: t\ndetectors:\n" GOOD_RULE "    validator: lunh\n");

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "t.yaml:10:16: rule 't.code': unknown validator 'lunh' (known: ");
    T_CONTAINS(msgs, "luhn");
}

static void test_failing_match_example(void)
{
    struct detect_set *s = load("pack: t\ndetectors:\n"
                                "  - id: t.code\n"
                                "    category: test.code\n"
                                "    description: d\n"
                                "    pattern: 'ZX\\d{4}'\n"
                                "    examples:\n"
                                "      match: [ZX1234, ZX12345]\n"
                                "      no_match: [ZX1]\n");

    T_ASSERT(s == NULL);
    /* ZX12345 is found as its first six characters, not the whole value. */
    T_CONTAINS(msgs, "t.yaml:8:23: rule 't.code': example \"ZX12345\" is found as \"ZX1234\" "
                     "instead");
}

static void test_example_not_found(void)
{
    struct detect_set *s = load("pack: t\ndetectors:\n"
                                "  - id: t.code\n"
                                "    category: test.code\n"
                                "    description: d\n"
                                "    pattern: 'ZX\\d{4}'\n"
                                "    examples:\n"
                                "      match: [ZY1234]\n"
                                "      no_match: [ZX1]\n");

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "t.yaml:8:15: rule 't.code': example \"ZY1234\" is not found");
}

static void test_no_match_example_found(void)
{
    struct detect_set *s = load("pack: t\ndetectors:\n"
                                "  - id: t.code\n"
                                "    category: test.code\n"
                                "    description: d\n"
                                "    pattern: 'ZX\\d{4}'\n"
                                "    examples:\n"
                                "      match: [ZX1234]\n"
                                "      no_match: [ 'ref ZX9999 here' ]\n");

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "t.yaml:9:19: rule 't.code': must-not-match example \"ref ZX9999 here\" is "
                     "found (\"ZX9999\")");
}

static void test_trigger_hides_example(void)
{
    /* The pattern matches, but a 6-digit trigger never fires on 4 digits. */
    struct detect_set *s = load("pack: t\ndetectors:\n" GOOD_RULE "    trigger: {digits: 6}\n");

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "matches the pattern but not through its trigger and window");
}

static void test_anchored_window(void)
{
    /* anchored: a promise the examples check (the value starts 5 bytes after
     * the key word, beyond the window's 0 bytes before it), and it needs a
     * trigger. */
    struct detect_set *s = load("pack: t\ndetectors:\n"
                                "  - id: t.code\n    category: test.code\n    description: d\n"
                                "    pattern: 'ZX\\d{4}'\n"
                                "    trigger: {keywords: [code]}\n"
                                "    window: {before: 0, after: 40, anchored: true}\n"
                                "    examples: {match: [{text: 'code ZX1234', find: ZX1234}], no_match: [ZX12]}\n");

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "matches the pattern but not through its trigger and window");
    s = load("pack: t\ndetectors:\n" GOOD_RULE "    window: {before: 2, after: 8, anchored: true}\n");
    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "'anchored' needs a trigger");
    s = load("pack: t\ndetectors:\n" GOOD_RULE "    trigger: {upper: 2}\n"
             "    window: {before: 0, after: 8, anchored: true}\n");
    T_ASSERT(s != NULL);
    detect_set_free(s);
}

static void test_redos_refused(void)
{
    struct detect_set *s = load("pack: t\ndetectors:\n"
                                "  - id: t.slow\n"
                                "    category: test.slow\n"
                                "    description: catastrophic backtracking\n"
                                "    pattern: '(a+)+b'\n"
                                "    examples: {match: [aab], no_match: [c]}\n");

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "t.yaml:3:5: rule 't.slow': pattern refused: ");
    T_CONTAINS(msgs, "hostile input");
}

static void test_redos_alternation_refused(void)
{
    struct detect_set *s = load("pack: t\ndetectors:\n"
                                "  - id: t.alt\n"
                                "    category: test.alt\n"
                                "    description: overlapping alternation\n"
                                "    pattern: '^(\\d|\\d\\d)+$'\n"
                                "    examples: {match: ['1234'], no_match: [x]}\n");

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "rule 't.alt': pattern refused: ");
}

static void test_empty_match_refused(void)
{
    struct detect_set *s = load("pack: t\ndetectors:\n"
                                "  - id: t.empty\n"
                                "    category: test.empty\n"
                                "    description: d\n"
                                "    pattern: 'a*'\n"
                                "    examples: {match: [aaa], no_match: [b]}\n");

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "t.yaml:6:14: rule 't.empty': pattern matches the empty string");
}

static void test_duplicate_ids(void)
{
    struct detect_set *s = load("pack: t\ndetectors:\n" GOOD_RULE GOOD_RULE);

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "t.yaml:10:9: duplicate rule id 't.code' (first at 3:5)");
}

static void test_wrong_types(void)
{
    struct detect_set *s = load("pack: t\ndetectors:\n" GOOD_RULE "    priority: high\n"
                                "    action: hide\n"
                                "    context: {required: yes, words: [x]}\n");

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "t.yaml:10:15: expected a whole number between 0 and 1000, found 'high'");
    T_CONTAINS(msgs, "t.yaml:11:13: unknown action 'hide' (expected one of: allow, flag, mask, "
                     "pseudonymise, block)");
    T_CONTAINS(msgs, "t.yaml:12:25: expected true or false, found 'yes'");
}

static void test_missing_examples(void)
{
    struct detect_set *s = load("pack: t\ndetectors:\n"
                                "  - id: t.code\n"
                                "    category: test.code\n"
                                "    description: d\n"
                                "    pattern: 'ZX\\d{4}'\n");

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "t.yaml:3:5: rule 't.code' has no examples");
}

static void test_no_match_required(void)
{
    struct detect_set *s = load("pack: t\ndetectors:\n"
                                "  - id: t.code\n"
                                "    category: test.code\n"
                                "    description: d\n"
                                "    pattern: 'ZX\\d{4}'\n"
                                "    examples: {match: [ZX1234]}\n");

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "t.yaml:7:15: rule 't.code': examples need both 'match'");
}

static void test_trim_needs_validator(void)
{
    struct detect_set *s = load("pack: t\ndetectors:\n" GOOD_RULE "    trim: true\n");

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "t.yaml:10:11: rule 't.code': 'trim' needs a validator");
}

static void test_bad_names(void)
{
    struct detect_set *s = load("pack: t\ndetectors:\n"
                                "  - id: Bad Id\n"
                                "    category: test.code\n"
                                "    description: d\n"
                                "    label: lower\n"
                                "    pattern: 'ZX\\d{4}'\n"
                                "    examples: {match: [ZX1234], no_match: [x]}\n");

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "t.yaml:3:9: invalid id 'Bad Id'");
    T_CONTAINS(msgs, "label must be capitals");
}

static void test_context_required_without_words(void)
{
    struct detect_set *s = load("pack: t\ndetectors:\n" GOOD_RULE "    context: {required: true}\n");

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "context is required but no words are given");
}

static void test_errors_collected_across_rules(void)
{
    /* Two broken rules: both are reported in one run. */
    struct detect_set *s = load("pack: t\ndetectors:\n"
                                "  - id: t.a\n"
                                "    category: test.a\n"
                                "    description: d\n"
                                "    pattern: '('\n"
                                "    examples: {match: [a], no_match: [b]}\n"
                                "  - id: t.b\n"
                                "    category: test.b\n"
                                "    description: d\n"
                                "    pattern: 'b'\n"
                                "    validator: nope\n"
                                "    examples: {match: [b], no_match: [a]}\n");

    T_ASSERT(s == NULL);
    T_CONTAINS(msgs, "t.yaml:6:14: rule 't.a': invalid pattern");
    T_CONTAINS(msgs, "t.yaml:12:16: rule 't.b': unknown validator 'nope'");
}

static void test_pack_with_error_adds_nothing(void)
{
    struct detect_set *set = detect_set_new();
    struct vigie_diag d;
    const char *good = "pack: good\ndetectors:\n" GOOD_RULE;
    const char *bad = "pack: bad\ndetectors:\n"
                      "  - id: t.other\n"
                      "    category: test.o\n"
                      "    description: d\n"
                      "    pattern: 'QQ'\n"
                      "    examples: {match: [QQ], no_match: [QQ]}\n";

    vigie_diag_init(&d);
    T_EQ_INT(detect_set_add_pack(set, "g.yaml", good, strlen(good), &d), VIGIE_OK);
    T_EQ_INT(detect_set_add_pack(set, "b.yaml", bad, strlen(bad), &d), VIGIE_ERR_CONFIG);
    T_EQ_INT(detect_set_nrules(set), 1);
    T_EQ_INT(detect_set_npacks(set), 1);
    T_ASSERT(detect_set_find(set, "t.other") == NULL);
    /* Loading the same pack twice is an error too. */
    T_EQ_INT(detect_set_add_pack(set, "g2.yaml", good, strlen(good), &d), VIGIE_ERR_CONFIG);
    T_EQ_INT(detect_set_nrules(set), 1);
    vigie_diag_free(&d);
    detect_set_free(set);
}

static void test_empty_set_refused(void)
{
    struct detect_set *set = detect_set_new();
    struct vigie_diag d;

    vigie_diag_init(&d);
    T_EQ_INT(detect_set_finish(set, &d), VIGIE_ERR_CONFIG);
    T_ASSERT(d.n == 1);
    if (d.n == 1)
        T_CONTAINS(d.msgs[0], "no detectors loaded");
    vigie_diag_free(&d);
    detect_set_free(set);
}

static void test_shipped_packs_load(void)
{
    struct detect_set *s = shipped_rules();

    T_ASSERT(s != NULL);
    if (s != NULL) {
        T_ASSERT(detect_set_find(s, "contact.email") != NULL);
        T_ASSERT(detect_set_find(s, "contact.phone.fr") != NULL);
        T_ASSERT(detect_set_find(s, "finance.iban") != NULL);
        T_ASSERT(detect_set_find(s, "finance.card") != NULL);
        T_ASSERT(detect_set_find(s, "identity.nir") != NULL);
    }
    detect_set_free(s);
}

static void test_missing_path(void)
{
    const char *paths[] = {"/nonexistent/rules"};
    struct vigie_diag d;
    struct detect_set *s;

    vigie_diag_init(&d);
    s = detect_load_paths(paths, 1, &d);
    T_ASSERT(s == NULL);
    T_ASSERT(d.n >= 1);
    if (d.n >= 1)
        T_CONTAINS(d.msgs[0], "/nonexistent/rules: No such file or directory");
    vigie_diag_free(&d);
}

int main(void)
{
    T_RUN(test_valid_pack_loads);
    T_RUN(test_bad_yaml);
    T_RUN(test_unknown_key_with_suggestion);
    T_RUN(test_unknown_top_level_key);
    T_RUN(test_missing_field);
    T_RUN(test_missing_pack_name_and_detectors);
    T_RUN(test_invalid_regex_with_offset);
    T_RUN(test_unknown_validator);
    T_RUN(test_failing_match_example);
    T_RUN(test_example_not_found);
    T_RUN(test_no_match_example_found);
    T_RUN(test_trigger_hides_example);
    T_RUN(test_anchored_window);
    T_RUN(test_redos_refused);
    T_RUN(test_redos_alternation_refused);
    T_RUN(test_empty_match_refused);
    T_RUN(test_duplicate_ids);
    T_RUN(test_wrong_types);
    T_RUN(test_missing_examples);
    T_RUN(test_no_match_required);
    T_RUN(test_trim_needs_validator);
    T_RUN(test_bad_names);
    T_RUN(test_context_required_without_words);
    T_RUN(test_errors_collected_across_rules);
    T_RUN(test_pack_with_error_adds_nothing);
    T_RUN(test_empty_set_refused);
    T_RUN(test_shipped_packs_load);
    T_RUN(test_missing_path);
    free(msgs);
    return T_DONE();
}
