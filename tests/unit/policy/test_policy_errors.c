/*
 * Policy errors: every mistake a security officer can make gets a message
 * with FILE:LINE:COL at the node concerned, one run reports all of them, and
 * a policy with any error is never built (nor leaked: the ASan build runs
 * this too).
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

/* A valid base most cases start from, one construct per line so positions
 * are easy to read. */
#define B_POLICY "policy: {id: t, version: \"1\"}\n"                                     /* 1 */
#define B_UPSTREAMS                                                                       \
    "upstreams:\n"                                                                   /* 2 */ \
    "  local: {url: builtin:echo, trust: internal, models: [small], default_model: small}\n" \
    "  cloud: {url: \"https://x.example\", trust: external, models: [big]}\n"        /* 4 */
#define B_GROUPS                                                                          \
    "groups:\n"                                                                      /* 5 */ \
    "  g: {models: \"*\"}\n"                                                         /* 6 */
#define BASE B_POLICY B_UPSTREAMS B_GROUPS

struct bad {
    const char *name;
    const char *yaml;
    const char *want[3]; /* substrings of the diagnostics, each with its position */
};

static const struct bad cases[] = {
    {"audit_failure not refuse or serve",
     "policy: {id: t, version: \"1\", audit_failure: ignore}\n" B_UPSTREAMS B_GROUPS,
     {"p.yaml:1:46: audit_failure: 'ignore' is not one of refuse (the default: 503 while the "
      "audit log cannot be written) or serve (go on unrecorded)"}},
    {"passthrough to an external upstream", BASE "passthrough:\n  - {path: /v1/rerank, upstream: cloud}\n",
     {"p.yaml:8:34: upstream 'cloud' is external: uninspected traffic goes to an internal "
      "upstream only"}},
    {"passthrough of an inspected endpoint", BASE
     "passthrough:\n  - {path: /v1/chat/completions, upstream: local}\n",
     {"p.yaml:8:12: '/v1/chat/completions' is an inspected endpoint: it cannot pass through"}},
    {"passthrough path shapes", BASE
     "passthrough:\n  - {path: /a/../b, upstream: local}\n  - {path: a/b, upstream: local}\n"
     "  - {path: /a*/b, upstream: local}\n",
     {"p.yaml:8:12: a passthrough path starts with '/'", "p.yaml:9:12: a passthrough path",
      "p.yaml:10:12: a passthrough path"}},
    {"passthrough method, group, upstream", BASE
     "passthrough:\n  - {path: /x, upstream: local, methods: [GET, TRACE]}\n"
     "  - {path: /y, upstream: local, groups: [nobody]}\n  - {path: /z, upstream: nowhere}\n",
     {"p.yaml:8:48: unknown method 'TRACE' (GET, POST, PUT, DELETE or PATCH)", "p.yaml:9:42: unknown group 'nobody'",
      "p.yaml:10:26: unknown upstream 'nowhere'"}},
    {"passthrough not a list", BASE "passthrough: {path: /x}\n",
     {"p.yaml:7:14: 'passthrough' must be a list of {path, upstream, methods, groups}"}},
    {"yaml syntax", "policy: {id: t, version: \"1\"\nupstreams: {}\n",
     {"p.yaml:2:1: did not find expected ',' or '}' (while parsing a flow mapping at 1:9)"}},
    {"duplicate yaml key", BASE "groups: {}\n", {"p.yaml:7:1: duplicate key 'groups'"}},
    {"empty document", "", {"p.yaml:1:1: empty policy"}},
    {"root is a list", "- a\n- b\n", {"p.yaml:1:1: a policy must be a mapping, found a list"}},
    {"unknown top-level key", BASE "upstream: {}\n",
     {"p.yaml:7:1: unknown key 'upstream' (did you mean 'upstreams'?)"}},
    {"unknown group key", B_POLICY B_UPSTREAMS "groups:\n  g: {modles: \"*\"}\n",
     {"p.yaml:6:7: unknown key 'modles' (did you mean 'models'?)"}},
    {"missing sections", "rules: x\n",
     {"p.yaml:1:1: missing 'policy' (id, version, mode)",
      "p.yaml:1:1: missing 'upstreams' (the model servers vigie may reach)",
      "p.yaml:1:1: missing 'groups' (every caller belongs to at least one)"}},
    {"missing id and version", "policy: {mode: enforce}\n" B_UPSTREAMS B_GROUPS,
     {"p.yaml:1:9: policy: missing 'id' (audit records name the policy by it)",
      "p.yaml:1:9: policy: missing 'version' (audit records carry it)"}},
    {"unknown mode", "policy: {id: t, version: \"1\", mode: audit}\n" B_UPSTREAMS B_GROUPS,
     {"p.yaml:1:37: unknown mode 'audit' (expected enforce or monitor)"}},
    {"upstreams a list", B_POLICY "upstreams: [local, cloud]\n" B_GROUPS,
     {"p.yaml:2:12: 'upstreams' must be a mapping, found a list"}},
    {"empty upstreams", B_POLICY "upstreams: {}\ngroups: {g: }\n",
     {"p.yaml:2:12: 'upstreams' is empty: name at least one model server"}},
    {"groups a string", B_POLICY B_UPSTREAMS "groups: everyone\n",
     {"p.yaml:5:9: 'groups' must be a mapping, found a string"}},
    {"callers a mapping", BASE "callers: {a: b}\n",
     {"p.yaml:7:10: 'callers' must be a list, found a mapping"}},
    {"group models a number", B_POLICY B_UPSTREAMS "groups:\n  g: {models: 3}\n",
     {"p.yaml:6:15: 'models' must be a list, found a string"}},
    {"messages not a number", BASE "defaults: {limits: {messages: ten}}\n",
     {"p.yaml:7:31: expected a whole number between 1 and 100000, found 'ten'"}},
    {"bad size 4X", BASE "defaults: {limits: {body: 4X}}\n",
     {"p.yaml:7:27: expected a size from 1024 to 67108864 bytes (such as 65536, 512k or 4M)"}},
    {"size too small", BASE "defaults: {limits: {body: 1000, inspect_ms: 0}}\n",
     {"p.yaml:7:27: expected a size from 1024",
      "p.yaml:7:45: expected a whole number between 1 and 60000, found '0'"}},
    {"bad url and trust",
     B_POLICY "upstreams:\n  local: {url: ftp://x, trust: inside, models: [small]}\n" B_GROUPS,
     {"p.yaml:3:16: upstream 'local': url must start with http:// or https:// (or be "
      "builtin:echo)",
      "p.yaml:3:32: unknown trust 'inside' (expected internal or external)"}},
    {"upstream missing fields", B_POLICY "upstreams:\n  local: {description: x}\n" B_GROUPS,
     {"p.yaml:3:10: upstream 'local': missing 'url'",
      "p.yaml:3:10: upstream 'local': missing 'trust' (internal or external)",
      "p.yaml:3:10: upstream 'local': missing 'models' (the models it serves)"}},
    {"duplicate model across upstreams",
     B_POLICY B_UPSTREAMS "  more: {url: \"http://y\", trust: internal, models: [tiny, small]}\n"
         B_GROUPS,
     {"p.yaml:5:59: model 'small' is already served by upstream 'local': a model name must "
      "lead to one upstream"}},
    {"model listed twice",
     B_POLICY "upstreams:\n  local: {url: builtin:echo, trust: internal, models: [a, a]}\n"
         B_GROUPS,
     {"p.yaml:3:59: model 'a' is listed twice"}},
    {"star in upstream models",
     B_POLICY "upstreams:\n  local: {url: builtin:echo, trust: internal, models: [\"*\"]}\n"
         B_GROUPS,
     {"p.yaml:3:56: an upstream lists the models it serves by name; '*' is for groups"}},
    {"default_model not among models",
     B_POLICY "upstreams:\n"
              "  local: {url: builtin:echo, trust: internal, models: [small], default_model: "
              "tiny}\n" B_GROUPS,
     {"p.yaml:3:79: default_model 'tiny' is not one of the models of upstream 'local'"}},
    {"unknown model", B_POLICY B_UPSTREAMS "groups:\n  g: {models: [small, gpt-5]}\n",
     {"p.yaml:6:23: unknown model 'gpt-5' (no upstream serves it)"}},
    {"unknown endpoint", BASE "defaults: {endpoints: [chat, images]}\n",
     {"p.yaml:7:30: unknown endpoint 'images' (expected chat, completions, embeddings or "
      "models)"}},
    {"unknown group in caller", BASE "callers:\n  - {id: a, certificate: CN=a, groups: [g, h]}\n",
     {"p.yaml:8:44: unknown group 'h'"}},
    {"unknown anonymous group", BASE "identity: {anonymous: guests}\n",
     {"p.yaml:7:23: anonymous: expected 'refuse' or a group name; unknown group 'guests'"}},
    {"unknown upstream in reroute_to", BASE "reroute_to: nowhere\n",
     {"p.yaml:7:13: unknown upstream 'nowhere'"}},
    {"reroute_to external", BASE "reroute_to: cloud\n",
     {"p.yaml:7:13: reroute_to 'cloud' is external: a reroute sends data to an internal "
      "upstream"}},
    {"reroute_to without default_model",
     B_POLICY "upstreams:\n  local: {url: builtin:echo, trust: internal, models: [small]}\n"
         "reroute_to: local\n" B_GROUPS,
     {"p.yaml:4:13: upstream 'local' needs a default_model to receive rerouted requests"}},
    {"reroute clause to unknown and external upstreams",
     BASE "defaults:\n  request:\n    categories:\n"
          "      identity.nir: {action: reroute, to: nowhere}\n"
          "      identity.passport: {action: reroute, to: cloud}\n",
     {"p.yaml:10:43: unknown upstream 'nowhere'",
      "p.yaml:11:48: reroute target 'cloud' is external: a reroute sends data to an internal "
      "upstream"}},
    {"reroute without target",
     BASE "defaults:\n  request:\n    categories:\n      identity.nir: reroute\n",
     {"p.yaml:10:21: reroute: say where with 'to: UPSTREAM', or set 'reroute_to' at the top "
      "of the policy"}},
    {"reroute target without default_model",
     B_POLICY B_UPSTREAMS "  more: {url: \"http://y\", trust: internal, models: [tiny]}\n"
         B_GROUPS "defaults:\n  request:\n    rules:\n      t.nir: {action: reroute, to: more}\n",
     {"p.yaml:11:7: reroute target 'more' needs a default_model"}},
    {"to on another action",
     BASE "defaults:\n  request:\n    categories:\n      identity.nir: {action: mask, to: local}\n",
     {"p.yaml:10:40: 'to' is only for the reroute action"}},
    {"clause without action",
     BASE "defaults:\n  request:\n    categories:\n      identity.nir: {mode: monitor}\n",
     {"p.yaml:10:21: clause 'identity.nir': missing 'action'"}},
    {"unknown action",
     BASE "defaults:\n  request:\n    categories:\n      identity.nir: redact\n",
     {"p.yaml:10:21: unknown action 'redact' (expected allow, flag, pseudonymise, mask, "
      "reroute or block)"}},
    {"unknown clause mode",
     BASE "defaults:\n  request:\n    categories:\n      identity.nir: {action: mask, mode: dry}\n",
     {"p.yaml:10:42: unknown mode 'dry' (expected enforce or monitor)"}},
    {"unknown category",
     BASE "defaults:\n  request:\n    categories:\n      contacts: mask\n      ident.nir: mask\n",
     {"p.yaml:10:7: unknown category 'contacts' (no loaded rule has it)\n",
      "p.yaml:11:7: unknown category 'ident.nir' (no loaded rule has it)\n"}},
    {"category that is a rule id",
     BASE "defaults:\n  request:\n    categories:\n      t.email: mask\n",
     {"p.yaml:10:7: unknown category 't.email' (no loaded rule has it; it is a rule id: put it "
      "under 'rules')"}},
    {"category prefix is not a category",
     BASE "defaults:\n  request:\n    categories:\n      contact.e: mask\n",
     {"p.yaml:10:7: unknown category 'contact.e' (no loaded rule has it)"}},
    {"unknown rule id", BASE "defaults:\n  request:\n    rules:\n      t.emial: mask\n",
     {"p.yaml:10:7: unknown rule 't.emial' (no loaded pack defines it)"}},
    {"unknown direction key", BASE "defaults:\n  request:\n    categorie:\n      secret: mask\n",
     {"p.yaml:9:5: unknown key 'categorie' (did you mean 'categories'?)"}},
    {"response pseudonymise and reroute",
     BASE "defaults:\n  response:\n    categories:\n      contact: pseudonymise\n"
          "      identity: reroute\n",
     {"p.yaml:10:16: 'pseudonymise' has no meaning on an answer (use allow, flag, mask or "
      "block)",
      "p.yaml:11:17: 'reroute' has no meaning on an answer (use allow, flag, mask or block)"}},
    {"bad cidr",
     BASE "identity:\n  user_header:\n    name: X-User\n"
          "    trusted_proxies: [10.0.0.0/33, 300.1.1.1, \"::1/129\", 10.0.0.0/8]\n",
     {"p.yaml:10:23: '10.0.0.0/33' is not an address or a network (such as 127.0.0.1 or "
      "10.0.0.0/8)",
      "p.yaml:10:36: '300.1.1.1' is not an address",
      "p.yaml:10:47: '::1/129' is not an address"}},
    {"user header incomplete", BASE "identity:\n  user_header: {groups: [g]}\n",
     {"p.yaml:8:16: user_header: missing 'name' (the header your front proxy sets, such as "
      "X-Remote-User)",
      "p.yaml:8:16: user_header: missing 'trusted_proxies' (a user header is believed only "
      "from these addresses)"}},
    {"bad api_key_sha256",
     BASE "callers:\n  - {id: a, api_key_sha256: 9bdc0955, groups: [g]}\n"
          "  - {id: b, api_key_sha256: "
          "zzdc095594e27a33d12a48fd6ed8d3b3a4bb7abc6219b82867f2b5660b13be90, groups: [g]}\n",
     {"p.yaml:8:29: api_key_sha256 must be 64 hexadecimal digits (the SHA-256 of the key: "
      "printf %s KEY | sha256sum); a key is never written in clear",
      "p.yaml:9:29: api_key_sha256 must be 64 hexadecimal digits"}},
    {"same api key twice",
     BASE "callers:\n"
          "  - {id: a, api_key_sha256: "
          "9bdc095594e27a33d12a48fd6ed8d3b3a4bb7abc6219b82867f2b5660b13be90, groups: [g]}\n"
          "  - {id: b, api_key_sha256: "
          "9BDC095594E27A33D12A48FD6ED8D3B3A4BB7ABC6219B82867F2B5660B13BE90, groups: [g]}\n",
     {"p.yaml:9:29: caller 'b' has the same API key as caller 'a'"}},
    {"caller defined twice",
     BASE "callers:\n  - {id: a, certificate: CN=a, groups: [g]}\n"
          "  - {id: a, certificate: CN=b, groups: [g]}\n",
     {"p.yaml:9:10: caller 'a' is defined twice"}},
    {"caller with two identities",
     BASE "callers:\n  - {id: a, certificate: CN=a, api_key_sha256: "
          "9bdc095594e27a33d12a48fd6ed8d3b3a4bb7abc6219b82867f2b5660b13be90, groups: [g]}\n"
          "  - {id: b, groups: [g]}\n",
     {"p.yaml:8:5: caller 'a': give exactly one of api_key_sha256, certificate or user",
      "p.yaml:9:5: caller 'b': give exactly one of api_key_sha256, certificate or user"}},
    {"caller missing id and groups",
     BASE "callers:\n  - {certificate: CN=a, groups: [g]}\n  - {id: b, certificate: CN=b}\n",
     {"p.yaml:8:5: caller: missing 'id'", "p.yaml:9:5: caller 'b': missing 'groups'"}},
    {"user caller without user_header",
     BASE "callers:\n  - {id: bob, user: bob.dev, groups: [g]}\n",
     {"p.yaml:8:21: caller 'bob' is identified by 'user', but identity.user_header is not "
      "configured"}},
    {"credentials with env and file",
     B_POLICY "upstreams:\n  cloud:\n    url: \"https://x.example\"\n    trust: external\n"
              "    models: [big]\n    credentials: {env: KEY, file: key.txt}\n" B_GROUPS,
     {"p.yaml:7:18: credentials: give 'env' or 'file', not both"}},
    {"credentials without a source",
     B_POLICY "upstreams:\n  cloud:\n    url: \"https://x.example\"\n    trust: external\n"
              "    models: [big]\n    credentials: {header: X-Key, secret: abc}\n" B_GROUPS,
     {"p.yaml:7:34: unknown key 'secret'",
      "p.yaml:7:18: credentials: say where the secret is, with 'env' or 'file' (a secret is "
      "never written in a policy)"}},
    {"restricted unknown category", BASE "restricted: [identity, nirs]\n",
     {"p.yaml:7:24: unknown category 'nirs' (no loaded rule has it)"}},
    {"restricted allowed to an external model",
     BASE "restricted: [identity.nir]\n"
          "defaults:\n  request:\n    categories:\n      identity.nir: flag\n",
     {"p.yaml:11:7: 'identity.nir: flag' lets restricted category 'identity.nir' (rule t.nir) "
      "reach external upstream 'cloud' (g may use model 'big'); use pseudonymise, mask, "
      "reroute or block"}},
    {"restricted category whose pack action lets it out", BASE "restricted: [misc]\n",
     {"p.yaml:7:13: restricted category 'misc.note': rule t.note's own action is 'allow', "
      "which would let it reach external upstream 'cloud' (g may use model 'big'); add a "
      "clause that pseudonymises, masks, reroutes or blocks it"}},
    {"message too long and unknown reason",
     BASE "messages:\n  blocked: {fr: \"\", de: x}\n  blocked_hard: {fr: x}\n",
     {"p.yaml:8:17: a message must be 1 to 1024 characters long",
      "p.yaml:8:21: unknown key 'de' (did you mean 'fr'?)", "p.yaml:9:3: unknown key 'blocked_hard'"}},
};

static void test_bad_policies(void)
{
    size_t i, j;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *msgs = NULL;
        size_t n = 0;
        struct policy *p = policy_test_compile_with(cases[i].yaml, NULL, &msgs, &n);
        int bad = 0;

        if (p != NULL) {
            T_FAIL("'%s': compiled", cases[i].name);
            policy_unref(p);
            bad = 1;
        }
        if (n == 0) {
            T_FAIL("'%s': no diagnostic", cases[i].name);
            bad = 1;
        }
        for (j = 0; j < 3 && cases[i].want[j] != NULL; j++)
            if (msgs == NULL || strstr(msgs, cases[i].want[j]) == NULL) {
                T_FAIL("'%s': no \"%s\"", cases[i].name, cases[i].want[j]);
                bad = 1;
            }
        if (bad)
            fprintf(stderr, "  got:\n%s", msgs ? msgs : "(nothing)\n");
        free(msgs);
    }
}

/* The base itself is valid, so each case fails for its own reason. */
static void test_base_is_valid(void)
{
    struct policy *p = policy_ok(BASE);

    T_ASSERT(p != NULL);
    if (p != NULL) {
        T_EQ_STR(policy_id(p), "t");
        T_EQ_STR(policy_version(p), "1");
        T_EQ_STR(policy_file(p), "p.yaml");
    }
    policy_unref(p);
}

/* One run lists every problem (section by section), not only the first. */
static void test_all_errors_in_one_run(void)
{
    static const char yaml[] = "policy: {id: t}\n"                                      /* 1 */
                               "upstreams:\n"                                           /* 2 */
                               "  local: {url: builtin:echo, trust: inside, models: [small]}\n"
                               "groups:\n"                                              /* 4 */
                               "  g: {models: [small, huge], endpoints: [chat, talk]}\n" /* 5 */
                               "callers:\n"                                             /* 6 */
                               "  - {id: a, certificate: CN=a, groups: [g, nobody]}\n"  /* 7 */
                               "defaults:\n"                                            /* 8 */
                               "  request:\n"                                           /* 9 */
                               "    categories: {contact: redact, nothing: mask}\n";    /* 10 */
    static const char *const want[] = {
        "p.yaml:1:9: policy: missing 'version' (audit records carry it)\n",
        "p.yaml:3:37: unknown trust 'inside' (expected internal or external)\n",
        "p.yaml:5:23: unknown model 'huge' (no upstream serves it)\n",
        "p.yaml:5:48: unknown endpoint 'talk' (expected chat, completions, embeddings or "
        "models)\n",
        "p.yaml:7:44: unknown group 'nobody'\n",
        "p.yaml:10:27: unknown action 'redact' (expected allow, flag, pseudonymise, mask, "
        "reroute or block)\n",
        "p.yaml:10:35: unknown category 'nothing' (no loaded rule has it)\n",
    };
    char *msgs = NULL;
    size_t n = 0, i;
    struct policy *p = policy_test_compile_with(yaml, NULL, &msgs, &n);

    T_ASSERT(p == NULL);
    policy_unref(p);
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        T_CONTAINS(msgs, want[i]);
    T_EQ_INT(n, sizeof(want) / sizeof(want[0]));
    free(msgs);
}

/* Errors already in the list (from another file) do not make a good policy
 * fail, and a failed compile adds to what is there. */
static void test_diag_shared(void)
{
    struct vigie_diag d;
    struct conf_doc *doc;
    struct policy *p;

    vigie_diag_init(&d);
    vigie_diag_add(&d, "other.yaml", 1, 1, "an earlier problem");
    doc = conf_doc_parse("p.yaml", BASE, strlen(BASE), &d);
    T_ASSERT(doc != NULL);
    p = policy_compile(doc, policy_test_rules(), &d);
    T_ASSERT(p != NULL);
    T_EQ_INT(d.n, 1);
    policy_unref(p);
    conf_doc_free(doc);
    doc = conf_doc_parse("p.yaml", "policy: {id: t}\n", 16, &d);
    p = policy_compile(doc, policy_test_rules(), &d);
    T_ASSERT(p == NULL);
    T_ASSERT(d.n > 1);
    conf_doc_free(doc);
    /* No rule set: refused, never a policy that passes everything. */
    doc = conf_doc_parse("p.yaml", BASE, strlen(BASE), &d);
    p = policy_compile(doc, NULL, &d);
    T_ASSERT(p == NULL);
    T_EQ_STR(d.msgs[d.n - 1], "p.yaml: no rule set");
    conf_doc_free(doc);
    vigie_diag_free(&d);
}

/* ---- the file side (policy/load.h) ------------------------------------------------------ */

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    if ((f = fopen(path, "w")) == NULL) {
        T_FAIL("cannot write %s", path);
        return;
    }
    fputs(text, f);
    fclose(f);
}

static struct policy *load(const char *name, unsigned flags, char **msgs)
{
    char path[256];
    struct vigie_diag d;
    struct policy *p;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    vigie_diag_init(&d);
    p = policy_load_file(path, NULL, flags, &d);
    *msgs = policy_test_join(&d);
    vigie_diag_free(&d);
    return p;
}

static void test_load_file(void)
{
    char *msgs = NULL, want[512];
    struct policy *p;
    struct policy_upstream_info info;

    write_file("t.yaml", POLICY_TEST_PACK);
    write_file("key.txt", "s3cret\n\n");
    write_file("ok.yaml", "rules: t.yaml\n" B_POLICY
                          "upstreams:\n"
                          "  local: {url: builtin:echo, trust: internal, models: [small]}\n"
                          "  cloud:\n"
                          "    url: \"https://x.example\"\n"
                          "    trust: external\n"
                          "    models: [big]\n"
                          "    credentials: {file: key.txt, scheme: \"\"}\n" B_GROUPS);
    write_file("env.yaml", "rules: [t.yaml]\n" B_POLICY
                           "upstreams:\n"
                           "  cloud:\n"
                           "    url: \"https://x.example\"\n"
                           "    trust: external\n"
                           "    models: [big]\n"
                           "    credentials: {env: VIGIE_TEST_UNSET_KEY_4711}\n" B_GROUPS);
    write_file("norules.yaml", BASE);
    write_file("badrules.yaml", "rules: [missing.yaml]\n" BASE);

    /* Credentials read from a file, trailing newlines dropped. */
    p = load("ok.yaml", POLICY_LOAD_CREDENTIALS, &msgs);
    T_ASSERT(p != NULL);
    T_EQ_STR(msgs, "");
    if (p != NULL) {
        policy_upstream_info(policy_upstream_find(p, "cloud"), &info);
        T_EQ_INT(info.credential_len, 6);
        T_EQ_STR(info.credential, "s3cret");
        T_EQ_STR(info.cred_scheme, "");
        T_EQ_STR(info.cred_header, "Authorization");
        T_EQ_INT(info.where.line, 5);
    }
    policy_unref(p);
    free(msgs);

    /* A missing credential fails a gateway load, not a check. */
    unsetenv("VIGIE_TEST_UNSET_KEY_4711");
    p = load("env.yaml", POLICY_LOAD_CREDENTIALS, &msgs);
    T_ASSERT(p == NULL);
    snprintf(want, sizeof(want),
             "%s/env.yaml:4:3: upstream 'cloud': environment variable VIGIE_TEST_UNSET_KEY_4711 "
             "is not set",
             tmpdir);
    T_CONTAINS(msgs, want);
    free(msgs);
    p = load("env.yaml", 0, &msgs);
    T_ASSERT(p != NULL);
    if (p != NULL) {
        struct vigie_diag w;
        vigie_diag_init(&w);
        T_EQ_INT(policy_probe_credentials(p, &w), 1);
        T_EQ_INT(w.n, 1);
        if (w.n == 1)
            T_CONTAINS(w.msgs[0], "env.yaml:4:3: upstream 'cloud': credential not available "
                                  "here: environment variable VIGIE_TEST_UNSET_KEY_4711 is not "
                                  "set");
        vigie_diag_free(&w);
    }
    policy_unref(p);
    free(msgs);

    /* No rules and no default: said at the top of the file. */
    p = load("norules.yaml", 0, &msgs);
    T_ASSERT(p == NULL);
    snprintf(want, sizeof(want), "%s/norules.yaml:1:1: missing 'rules'", tmpdir);
    T_CONTAINS(msgs, want);
    free(msgs);
    p = load("badrules.yaml", 0, &msgs);
    T_ASSERT(p == NULL);
    snprintf(want, sizeof(want), "%s/badrules.yaml: the policy's rule packs did not load",
             tmpdir);
    T_CONTAINS(msgs, want);
    free(msgs);
    p = load("nosuchfile.yaml", 0, &msgs);
    T_ASSERT(p == NULL);
    T_CONTAINS(msgs, "nosuchfile.yaml");
    free(msgs);
}

static void cleanup_tmpdir(void)
{
    static const char *const names[] = {"t.yaml",       "key.txt",       "ok.yaml", "env.yaml",
                                        "norules.yaml", "badrules.yaml", NULL};
    char path[256];
    size_t i;

    for (i = 0; names[i] != NULL; i++) {
        snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vigie-policy-XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    T_RUN(test_base_is_valid);
    T_RUN(test_bad_policies);
    T_RUN(test_all_errors_in_one_run);
    T_RUN(test_diag_shared);
    T_RUN(test_load_file);
    cleanup_tmpdir();
    return T_DONE();
}
