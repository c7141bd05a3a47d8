/*
 * Shared helpers for the policy unit tests: a small inline rule pack whose
 * categories form a hierarchy, and policies compiled from inline YAML.
 *
 * The pack is small and exact on purpose: each rule matches one made-up token
 * and nothing else, so a test can say precisely which finding a text has and
 * what the rewritten text must be.
 */
#ifndef VIGIE_TEST_POLICY_HELPERS_H
#define VIGIE_TEST_POLICY_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "detect/load.h"
#include "policy/load.h"
#include "policy/policy.h"
#include "test.h"

/* Rules by category, with the pack's own action:
 *   t.email    contact.email      pseudonymise   ab@example.org  -> [EMAIL_1]
 *   t.phone    contact.phone      flag           TEL123456
 *   t.nir      identity.nir       mask           NIR123456       -> [NIR]
 *   t.passport identity.passport  mask           PP123456        -> [PASSPORT]
 *   t.mark     marking            block          SECRETDEF
 *   t.key      secret.key         mask           sk_abcdefgh     -> [KEY]
 *   t.note     misc.note          allow          NOTE123 */
#define POLICY_TEST_PACK                                                                   \
    "pack: t\n"                                                                            \
    "detectors:\n"                                                                         \
    "  - id: t.email\n"                                                                    \
    "    category: contact.email\n"                                                        \
    "    label: EMAIL\n"                                                                   \
    "    description: a test e-mail address\n"                                             \
    "    pattern: '\\b[a-z]{2,8}@example\\.org\\b'\n"                                      \
    "    action: pseudonymise\n"                                                           \
    "    examples: {match: [ab@example.org], no_match: [ab@example.com]}\n"                \
    "  - id: t.phone\n"                                                                    \
    "    category: contact.phone\n"                                                        \
    "    label: PHONE\n"                                                                   \
    "    description: a test phone number\n"                                               \
    "    pattern: '\\bTEL\\d{6}\\b'\n"                                                     \
    "    action: flag\n"                                                                   \
    "    examples: {match: [TEL123456], no_match: [TEL12]}\n"                              \
    "  - id: t.nir\n"                                                                      \
    "    category: identity.nir\n"                                                         \
    "    label: NIR\n"                                                                     \
    "    description: a test social security number\n"                                     \
    "    pattern: '\\bNIR\\d{6}\\b'\n"                                                     \
    "    action: mask\n"                                                                   \
    "    examples: {match: [NIR123456], no_match: [NIR12]}\n"                              \
    "  - id: t.passport\n"                                                                 \
    "    category: identity.passport\n"                                                    \
    "    label: PASSPORT\n"                                                                \
    "    description: a test passport number\n"                                            \
    "    pattern: '\\bPP\\d{6}\\b'\n"                                                      \
    "    action: mask\n"                                                                   \
    "    examples: {match: [PP123456], no_match: [PP12]}\n"                                \
    "  - id: t.mark\n"                                                                     \
    "    category: marking\n"                                                              \
    "    label: MARK\n"                                                                    \
    "    description: a test classification marking\n"                                     \
    "    pattern: '\\bSECRETDEF\\b'\n"                                                     \
    "    action: block\n"                                                                  \
    "    examples: {match: [SECRETDEF], no_match: [SECRET]}\n"                             \
    "  - id: t.key\n"                                                                      \
    "    category: secret.key\n"                                                           \
    "    label: KEY\n"                                                                     \
    "    description: a test API key\n"                                                    \
    "    pattern: '\\bsk_[a-z]{8}\\b'\n"                                                   \
    "    action: mask\n"                                                                   \
    "    examples: {match: [sk_abcdefgh], no_match: [sk_abc]}\n"                           \
    "  - id: t.note\n"                                                                     \
    "    category: misc.note\n"                                                            \
    "    label: NOTE\n"                                                                    \
    "    description: a test note number\n"                                                \
    "    pattern: '\\bNOTE\\d{3}\\b'\n"                                                    \
    "    action: allow\n"                                                                  \
    "    examples: {match: [NOTE123], no_match: [NOTE1]}\n"

/* A fresh, finished set from the test pack (policy_compile takes it). */
static inline struct detect_set *policy_test_rules(void)
{
    struct vigie_diag d;
    struct detect_set *set = detect_set_new();
    size_t i;

    vigie_diag_init(&d);
    if (set == NULL ||
        detect_set_add_pack(set, "t.yaml", POLICY_TEST_PACK, strlen(POLICY_TEST_PACK), &d) !=
            VIGIE_OK ||
        detect_set_finish(set, &d) != VIGIE_OK) {
        for (i = 0; i < d.n; i++)
            fprintf(stderr, "test pack: %s\n", d.msgs[i]);
        detect_set_free(set);
        set = NULL;
    }
    vigie_diag_free(&d);
    return set;
}

/* Every diagnostic of d, one per line, in a malloc'ed string. */
static inline char *policy_test_join(const struct vigie_diag *d)
{
    size_t i, len = 1, at = 0;
    char *s;

    for (i = 0; i < d->n; i++)
        len += strlen(d->msgs[i]) + 1;
    if ((s = malloc(len)) == NULL)
        return NULL;
    for (i = 0; i < d->n; i++) {
        size_t n = strlen(d->msgs[i]);
        memcpy(s + at, d->msgs[i], n);
        s[at + n] = '\n';
        at += n + 1;
    }
    s[at] = '\0';
    return s;
}

/* Compiles yaml (named "p.yaml" in messages) against set, which it takes
 * (a fresh test-pack set when NULL). Returns the policy or NULL; *msgs (may
 * be NULL) gets every diagnostic, one per line, and *nmsgs their number. */
static inline struct policy *policy_test_compile_with(const char *yaml, struct detect_set *set,
                                                      char **msgs, size_t *nmsgs)
{
    struct vigie_diag d;
    struct conf_doc *doc;
    struct policy *p = NULL;

    vigie_diag_init(&d);
    doc = conf_doc_parse("p.yaml", yaml, strlen(yaml), &d);
    if (doc != NULL) {
        if (set == NULL)
            set = policy_test_rules();
        p = policy_compile(doc, set, &d); /* takes set */
        set = NULL;
        conf_doc_free(doc);
    }
    detect_set_free(set);
    if (nmsgs != NULL)
        *nmsgs = d.n + d.dropped;
    if (msgs != NULL)
        *msgs = policy_test_join(&d);
    vigie_diag_free(&d);
    return p;
}

static inline struct policy *policy_test_compile(const char *yaml, char **msgs)
{
    return policy_test_compile_with(yaml, NULL, msgs, NULL);
}

/* A policy that must compile: on failure the running case fails with the
 * diagnostics, and NULL is returned. */
static inline struct policy *policy_ok(const char *yaml)
{
    char *msgs = NULL;
    struct policy *p = policy_test_compile(yaml, &msgs);

    if (p == NULL)
        T_FAIL("policy did not compile:\n%s", msgs ? msgs : "");
    free(msgs);
    return p;
}

/* The upstreams most test policies share: an internal one serving small and
 * embed (default small), a second internal one (vault), an external one
 * (cloud, serving big), and reroute_to: local. 16 lines, so that a policy
 * starting with POLICY_TEST_HEAD has its own text from line 18. */
#define POLICY_TEST_UPSTREAMS                                                              \
    "upstreams:\n"                                                                         \
    "  local:\n"                                                                           \
    "    url: builtin:echo\n"                                                              \
    "    trust: internal\n"                                                                \
    "    models: [small, embed]\n"                                                         \
    "    default_model: small\n"                                                           \
    "  vault:\n"                                                                           \
    "    url: http://10.0.0.9:8000\n"                                                      \
    "    trust: internal\n"                                                                \
    "    models: [vault-model]\n"                                                          \
    "    default_model: vault-model\n"                                                     \
    "  cloud:\n"                                                                           \
    "    url: https://llm.example.eu\n"                                                    \
    "    trust: external\n"                                                                \
    "    models: [big]\n"                                                                  \
    "reroute_to: local\n"

#define POLICY_TEST_HEAD "policy: {id: t, version: \"1\"}\n" POLICY_TEST_UPSTREAMS

#endif
