/*
 * Policy decisions: every action with the exact text forwarded, clause
 * precedence, the restricted invariant at load and at decision, reroutes,
 * monitor mode, identity, endpoints, models, limits, answers, messages and the
 * pseudonym map. Policies are small inline documents compiled against the
 * test pack of helpers.h, so each expected text is exact.
 */
#include <openssl/evp.h>

#include "helpers.h"

static struct policy_ctx *ctx;

/* Lines of a policy that starts with POLICY_TEST_HEAD: its own text begins at 18. */
#define L(n) (17 + (n))

/* ---- helpers ---------------------------------------------------------------------- */

/* Decides one request: texts[0..ntexts) from the listed caller (or from id when
 * caller is NULL) to model on endpoint ep. */
static void decide_n(const struct policy *p, const char *caller,
                     const struct policy_identity *id, enum policy_endpoint ep,
                     const char *model, const char *const *texts, size_t ntexts,
                     struct policy_decision *d)
{
    struct policy_identity who;
    struct policy_text t[8];
    struct policy_request req;
    size_t i, body = 0;

    policy_decision_init(d);
    if (caller != NULL) {
        if (policy_identity_of(p, caller, &who) != 0) {
            T_FAIL("unknown caller '%s'", caller);
            return;
        }
        id = &who;
    }
    for (i = 0; i < ntexts && i < 8; i++) {
        t[i].s = texts[i];
        t[i].len = strlen(texts[i]);
        body += t[i].len;
    }
    memset(&req, 0, sizeof(req));
    req.who = id;
    req.endpoint = ep;
    req.model = model;
    req.body_len = body;
    req.nmessages = ntexts;
    req.texts = t;
    req.ntexts = ntexts;
    if (policy_decide(ctx, p, &req, NULL, 0, d) != VIGIE_OK)
        T_FAIL("policy_decide failed");
}

/* The text as it would be forwarded: the rewritten one, or the original. */
static const char *sent(const struct policy_decision *d, size_t i, const char *orig)
{
    static char buf[8][1024];

    if (d->out != NULL && i < d->ntexts && d->out_changed[i]) {
        snprintf(buf[i % 8], sizeof(buf[0]), "%.*s", (int)d->out[i].len, d->out[i].data);
        return buf[i % 8];
    }
    return orig;
}

/* Decides one chat text and returns it as forwarded. */
static const char *decide1(const struct policy *p, const char *caller, const char *model,
                           const char *text, struct policy_decision *d)
{
    decide_n(p, caller, NULL, POLICY_EP_CHAT, model, &text, 1, d);
    return sent(d, 0, text);
}

/* The hit of rule id (the first), or NULL. */
static const struct policy_hit *hit(const struct policy_decision *d, const char *rule)
{
    size_t i;

    for (i = 0; i < d->nhits; i++)
        if (strcmp(detect_rule_id(d->hits[i].rule), rule) == 0)
            return &d->hits[i];
    return NULL;
}

#define T_HIT(d, rule, act, app)                                                          \
    do {                                                                                  \
        const struct policy_hit *h_ = hit(d, rule);                                       \
        if (h_ == NULL) {                                                                 \
            T_FAIL("no hit of %s", rule);                                                 \
        } else {                                                                          \
            T_EQ_STR(policy_action_name(h_->action), policy_action_name(act));            \
            T_EQ_STR(policy_action_name(h_->applied), policy_action_name(app));           \
        }                                                                                 \
    } while (0)

#define T_VERDICT(d, v, w)                                                                \
    do {                                                                                  \
        T_EQ_STR(policy_verdict_name((d)->verdict), policy_verdict_name(v));              \
        T_EQ_STR(policy_why_name((d)->why), policy_why_name(w));                          \
    } while (0)

static const char *upstream_name(const struct policy_upstream *u)
{
    struct policy_upstream_info info;

    if (u == NULL)
        return "(none)";
    policy_upstream_info(u, &info);
    return info.name;
}

/* ---- each action ---------------------------------------------------------------------- */

static const char actions_yaml[] = POLICY_TEST_HEAD
    "groups:\n"                                   /* 1 */
    "  g:\n"                                      /* 2 */
    "    models: \"*\"\n"                         /* 3 */
    "    request:\n"                              /* 4 */
    "      categories:\n"                         /* 5 */
    "        contact.phone: allow\n"              /* 6 */
    "        secret.key: flag\n"                  /* 7 */
    "        contact.email: pseudonymise\n"       /* 8 */
    "        identity.nir: mask\n"                /* 9 */
    "        identity.passport: reroute\n"        /* 10 */
    "        marking: block\n"                    /* 11 */
    "callers:\n"
    "  - {id: alice, certificate: \"CN=alice\", groups: [g]}\n";

static void test_action_allow(void)
{
    struct policy *p = policy_ok(actions_yaml);
    struct policy_decision d;

    if (p == NULL)
        return;
    T_EQ_STR(decide1(p, "alice", "small", "call TEL123456 now", &d), "call TEL123456 now");
    T_VERDICT(&d, POLICY_ALLOW, POLICY_WHY_NONE);
    T_EQ_INT(d.changed, 0);
    T_EQ_STR(upstream_name(d.upstream), "local");
    T_EQ_STR(d.model, "small");
    T_EQ_INT(d.nhits, 1);
    T_HIT(&d, "t.phone", POLICY_ACT_ALLOW, POLICY_ACT_ALLOW);
    if (d.nhits == 1) {
        T_EQ_INT(d.hits[0].start, 5);
        T_EQ_INT(d.hits[0].end, 14);
        T_EQ_STR(d.hits[0].where.file, "p.yaml");
        T_EQ_INT(d.hits[0].where.line, L(6));
        T_EQ_INT(d.hits[0].where.col, 9);
    }
    policy_decision_fini(&d);
    policy_unref(p);
}

static void test_action_flag(void)
{
    struct policy *p = policy_ok(actions_yaml);
    struct policy_decision d;

    if (p == NULL)
        return;
    T_EQ_STR(decide1(p, "alice", "big", "key sk_abcdefgh", &d), "key sk_abcdefgh");
    T_VERDICT(&d, POLICY_ALLOW, POLICY_WHY_NONE);
    T_EQ_STR(upstream_name(d.upstream), "cloud");
    T_EQ_INT(d.nhits, 1);
    T_HIT(&d, "t.key", POLICY_ACT_FLAG, POLICY_ACT_FLAG);
    policy_decision_fini(&d);
    policy_unref(p);
}

static void test_action_pseudonymise(void)
{
    struct policy *p = policy_ok(actions_yaml);
    struct policy_decision d;

    if (p == NULL)
        return;
    T_EQ_STR(decide1(p, "alice", "small", "write to ab@example.org please", &d),
             "write to [EMAIL_1] please");
    T_VERDICT(&d, POLICY_MASK, POLICY_WHY_NONE);
    T_EQ_INT(d.changed, 1);
    T_EQ_INT(d.out_changed[0], 1);
    T_EQ_INT(detect_revmap_count(d.map), 1);
    T_HIT(&d, "t.email", POLICY_ACT_PSEUDONYMISE, POLICY_ACT_PSEUDONYMISE);
    policy_decision_fini(&d);
    policy_unref(p);
}

static void test_action_mask(void)
{
    struct policy *p = policy_ok(actions_yaml);
    struct policy_decision d;

    if (p == NULL)
        return;
    T_EQ_STR(decide1(p, "alice", "small", "NIR123456 is mine", &d), "[NIR] is mine");
    T_VERDICT(&d, POLICY_MASK, POLICY_WHY_NONE);
    T_EQ_INT(detect_revmap_count(d.map), 0);
    T_HIT(&d, "t.nir", POLICY_ACT_MASK, POLICY_ACT_MASK);
    policy_decision_fini(&d);
    /* Several actions in one text. */
    T_EQ_STR(decide1(p, "alice", "small", "ab@example.org NIR123456 TEL123456 sk_abcdefgh", &d),
             "[EMAIL_1] [NIR] TEL123456 sk_abcdefgh");
    T_VERDICT(&d, POLICY_MASK, POLICY_WHY_NONE);
    T_EQ_INT(d.nhits, 4);
    policy_decision_fini(&d);
    policy_unref(p);
}

static void test_action_reroute(void)
{
    struct policy *p = policy_ok(actions_yaml);
    struct policy_decision d;

    if (p == NULL)
        return;
    /* Sent as written, to the internal upstream and its default model. */
    T_EQ_STR(decide1(p, "alice", "big", "passport PP123456", &d), "passport PP123456");
    T_VERDICT(&d, POLICY_REROUTE, POLICY_WHY_NONE);
    T_EQ_INT(d.changed, 0);
    T_EQ_STR(upstream_name(d.upstream), "local");
    T_EQ_STR(d.model, "small");
    T_EQ_STR(detect_rule_id(d.rule), "t.passport");
    T_EQ_STR(d.where.file, "p.yaml");
    T_EQ_INT(d.where.line, L(10));
    T_EQ_INT(d.where.col, 9);
    T_HIT(&d, "t.passport", POLICY_ACT_REROUTE, POLICY_ACT_FLAG);
    policy_decision_fini(&d);
    policy_unref(p);
}

static void test_action_block(void)
{
    struct policy *p = policy_ok(actions_yaml);
    struct policy_decision d;

    if (p == NULL)
        return;
    decide1(p, "alice", "small", "ab@example.org SECRETDEF memo", &d);
    T_VERDICT(&d, POLICY_BLOCK, POLICY_WHY_BLOCKED);
    T_ASSERT(d.upstream == NULL);
    T_EQ_INT(d.changed, 0);
    T_EQ_STR(detect_rule_id(d.rule), "t.mark");
    T_EQ_STR(d.where.file, "p.yaml");
    T_EQ_INT(d.where.line, L(11));
    T_EQ_INT(d.where.col, 9);
    T_HIT(&d, "t.mark", POLICY_ACT_BLOCK, POLICY_ACT_BLOCK);
    /* Nothing of a refused request is forwarded. */
    T_ASSERT(d.out == NULL || d.out_changed == NULL || !d.out_changed[0]);
    policy_decision_fini(&d);
    policy_unref(p);
}

/* ---- precedence ---------------------------------------------------------------------- */

static const char prec_yaml[] = POLICY_TEST_HEAD
    "defaults:\n"
    "  models: \"*\"\n"
    "  request:\n"
    "    categories:\n"
    "      contact.email: mask\n"
    "      identity: block\n"
    "      identity.nir: mask\n"
    "    rules:\n"
    "      t.key: block\n"
    "groups:\n"
    "  plain:\n"
    "  override:\n"
    "    request:\n"
    "      categories:\n"
    "        contact.email: flag\n"
    "        secret: mask\n"
    "  rule_vs_cat:\n"
    "    request:\n"
    "      categories:\n"
    "        contact: block\n"
    "      rules:\n"
    "        t.email: pseudonymise\n"
    "  loose:\n"
    "    request:\n"
    "      categories:\n"
    "        contact.email: flag\n"
    "  strict:\n"
    "    request:\n"
    "      categories:\n"
    "        contact.email: mask\n"
    "  ruleflag:\n"
    "    request:\n"
    "      rules:\n"
    "        t.email: flag\n"
    "callers:\n"
    "  - {id: plain, certificate: \"CN=plain\", groups: [plain]}\n"
    "  - {id: override, certificate: \"CN=override\", groups: [override]}\n"
    "  - {id: rvc, certificate: \"CN=rvc\", groups: [rule_vs_cat]}\n"
    "  - {id: both, certificate: \"CN=both\", groups: [loose, strict]}\n"
    "  - {id: both2, certificate: \"CN=both2\", groups: [strict, loose]}\n"
    "  - {id: mixed, certificate: \"CN=mixed\", groups: [ruleflag, strict]}\n";

static void test_group_beats_base(void)
{
    struct policy *p = policy_ok(prec_yaml);
    struct policy_decision d;

    if (p == NULL)
        return;
    T_EQ_STR(decide1(p, "plain", "small", "to ab@example.org", &d), "to [EMAIL]");
    T_VERDICT(&d, POLICY_MASK, POLICY_WHY_NONE);
    policy_decision_fini(&d);
    /* The group's category clause wins over the base's, even looser. */
    T_EQ_STR(decide1(p, "override", "small", "to ab@example.org", &d), "to ab@example.org");
    T_VERDICT(&d, POLICY_ALLOW, POLICY_WHY_NONE);
    T_HIT(&d, "t.email", POLICY_ACT_FLAG, POLICY_ACT_FLAG);
    policy_decision_fini(&d);
    /* Any clause of a group, even a category, comes before a rule-id clause
     * of the base: the group layer is consulted first. */
    decide1(p, "plain", "small", "sk_abcdefgh", &d);
    T_VERDICT(&d, POLICY_BLOCK, POLICY_WHY_BLOCKED);
    policy_decision_fini(&d);
    T_EQ_STR(decide1(p, "override", "small", "sk_abcdefgh", &d), "[KEY]");
    T_VERDICT(&d, POLICY_MASK, POLICY_WHY_NONE);
    policy_decision_fini(&d);
    policy_unref(p);
}

static void test_rule_beats_category(void)
{
    struct policy *p = policy_ok(prec_yaml);
    struct policy_decision d;

    if (p == NULL)
        return;
    T_EQ_STR(decide1(p, "rvc", "small", "to ab@example.org", &d), "to [EMAIL_1]");
    T_VERDICT(&d, POLICY_MASK, POLICY_WHY_NONE);
    policy_decision_fini(&d);
    /* The category clause still covers the category's other rules. */
    decide1(p, "rvc", "small", "TEL123456", &d);
    T_VERDICT(&d, POLICY_BLOCK, POLICY_WHY_BLOCKED);
    T_EQ_STR(detect_rule_id(d.rule), "t.phone");
    policy_decision_fini(&d);
    policy_unref(p);
}

static void test_longer_category_beats_prefix(void)
{
    struct policy *p = policy_ok(prec_yaml);
    struct policy_decision d;

    if (p == NULL)
        return;
    T_EQ_STR(decide1(p, "plain", "small", "NIR123456", &d), "[NIR]");
    T_VERDICT(&d, POLICY_MASK, POLICY_WHY_NONE);
    policy_decision_fini(&d);
    decide1(p, "plain", "small", "PP123456", &d);
    T_VERDICT(&d, POLICY_BLOCK, POLICY_WHY_BLOCKED);
    T_EQ_STR(detect_rule_id(d.rule), "t.passport");
    T_EQ_INT(d.where.line, L(6));
    policy_decision_fini(&d);
    policy_unref(p);
}

static void test_strictest_between_groups(void)
{
    struct policy *p = policy_ok(prec_yaml);
    struct policy_decision d;

    if (p == NULL)
        return;
    /* Same specificity in two groups: the stricter, whatever the order. */
    T_EQ_STR(decide1(p, "both", "small", "ab@example.org", &d), "[EMAIL]");
    T_HIT(&d, "t.email", POLICY_ACT_MASK, POLICY_ACT_MASK);
    policy_decision_fini(&d);
    T_EQ_STR(decide1(p, "both2", "small", "ab@example.org", &d), "[EMAIL]");
    policy_decision_fini(&d);
    /* Different specificity: the more specific wins, even when looser. */
    T_EQ_STR(decide1(p, "mixed", "small", "ab@example.org", &d), "ab@example.org");
    T_VERDICT(&d, POLICY_ALLOW, POLICY_WHY_NONE);
    T_HIT(&d, "t.email", POLICY_ACT_FLAG, POLICY_ACT_FLAG);
    policy_decision_fini(&d);
    policy_unref(p);
}

static void test_no_clause_pack_action(void)
{
    struct policy *p = policy_ok(prec_yaml);
    struct policy_identity id;
    struct policy_decision d;
    struct policy_where w;
    enum policy_mode mode;
    const struct detect_rule *phone, *nir;

    if (p == NULL)
        return;
    /* No clause for contact.phone: the pack says flag. */
    T_EQ_STR(decide1(p, "plain", "small", "TEL123456 NOTE123", &d), "TEL123456 NOTE123");
    T_VERDICT(&d, POLICY_ALLOW, POLICY_WHY_NONE);
    T_HIT(&d, "t.phone", POLICY_ACT_FLAG, POLICY_ACT_FLAG);
    T_HIT(&d, "t.note", POLICY_ACT_ALLOW, POLICY_ACT_ALLOW);
    if (hit(&d, "t.phone") != NULL)
        T_ASSERT(hit(&d, "t.phone")->where.file == NULL);
    policy_decision_fini(&d);
    /* The same through policy_rule_action, and answers pass without a clause. */
    phone = detect_set_find(policy_rules(p), "t.phone");
    nir = detect_set_find(policy_rules(p), "t.nir");
    T_ASSERT(phone != NULL && nir != NULL);
    T_EQ_INT(policy_identity_of(p, "plain", &id), 0);
    if (phone == NULL || nir == NULL)
        goto out;
    T_EQ_INT(policy_rule_action(p, id.groups, id.ngroups, phone, POLICY_DIR_REQUEST, &mode, &w),
             POLICY_ACT_FLAG);
    T_ASSERT(w.file == NULL);
    T_EQ_INT(policy_rule_action(p, id.groups, id.ngroups, nir, POLICY_DIR_REQUEST, &mode, &w),
             POLICY_ACT_MASK);
    T_EQ_INT(w.line, L(7));
    T_EQ_INT(policy_rule_action(p, id.groups, id.ngroups, nir, POLICY_DIR_RESPONSE, &mode, &w),
             POLICY_ACT_ALLOW);
    T_ASSERT(w.file == NULL);
    T_EQ_INT(mode, POLICY_MODE_ENFORCE);
    {
        struct vigie_buf out;
        int changed = -1, blocked = -1;
        vigie_buf_init(&out, 1 << 16);
        T_EQ_INT(policy_filter_response(ctx, p, &id, "NIR123456 SECRETDEF", 19, &out, &changed,
                                        &blocked),
                 VIGIE_OK);
        T_EQ_INT(changed, 0);
        T_EQ_INT(blocked, 0);
        vigie_buf_free(&out);
        T_EQ_INT(policy_answer_clauses(ctx, p, &id), 0); /* no clause: nothing scanned */
    }
out:
    policy_unref(p);
}

/* ---- the restricted invariant ----------------------------------------------------------- */

static void test_restricted_load_error(void)
{
    static const char yaml[] = POLICY_TEST_HEAD
        "restricted: [identity.nir]\n"
        "groups:\n"
        "  g:\n"
        "    models: [big]\n"
        "    request:\n"
        "      categories:\n"
        "        identity.nir: flag\n";
    /* The same clause for a group that reaches only internal models is fine. */
    static const char internal_yaml[] = POLICY_TEST_HEAD
        "restricted: [identity.nir]\n"
        "groups:\n"
        "  g:\n"
        "    models: [small, vault-model]\n"
        "    request:\n"
        "      categories:\n"
        "        identity.nir: flag\n";
    char *msgs = NULL;
    struct policy *p = policy_test_compile(yaml, &msgs);

    T_ASSERT(p == NULL);
    T_CONTAINS(msgs, "p.yaml:24:9: 'identity.nir: flag' lets restricted category 'identity.nir' "
                     "(rule t.nir) reach external upstream 'cloud' (g may use model 'big'); use "
                     "pseudonymise, mask, reroute or block\n");
    free(msgs);
    policy_unref(p);
    p = policy_ok(internal_yaml);
    if (p != NULL) {
        T_EQ_INT(policy_nrestricted(p), 1);
        T_EQ_STR(policy_restricted_at(p, 0), "identity.nir");
        T_EQ_INT(policy_rule_restricted(p, detect_set_find(policy_rules(p), "t.nir")), 1);
        T_EQ_INT(policy_rule_restricted(p, detect_set_find(policy_rules(p), "t.passport")), 0);
    }
    policy_unref(p);
}

/* Two groups, each fine alone: web reaches the external model but masks
 * (the pack's action), inhouse allows but reaches only internal models. */
#define TWO_GROUPS                                                                        \
    POLICY_TEST_HEAD                                                                      \
    "restricted: [identity]\n"                                                            \
    "groups:\n"                                                                           \
    "  web:\n"                                                                            \
    "    models: [big]\n"                                                                 \
    "  inhouse:\n"                                                                        \
    "    models: [small]\n"                                                               \
    "    request:\n"                                                                      \
    "      categories:\n"                                                                 \
    "        identity.nir: allow\n"

static void test_restricted_via_two_groups(void)
{
    static const char yaml[] = TWO_GROUPS
        "callers:\n"
        "  - {id: carol, certificate: \"CN=carol\", groups: [web, inhouse]}\n";
    static const char header_yaml[] = TWO_GROUPS
        "identity:\n"
        "  user_header: {name: X-User, trusted_proxies: [127.0.0.1], groups: [inhouse, web]}\n";
    char *msgs = NULL;
    struct policy *p = policy_test_compile(yaml, &msgs);

    T_ASSERT(p == NULL);
    T_CONTAINS(msgs, "p.yaml:26:9: 'identity.nir: allow' lets restricted category "
                     "'identity.nir' (rule t.nir) reach external upstream 'cloud' (carol may "
                     "use model 'big')");
    free(msgs);
    policy_unref(p);
    p = policy_test_compile(header_yaml, &msgs);
    T_ASSERT(p == NULL);
    T_CONTAINS(msgs, "p.yaml:26:9: 'identity.nir: allow' lets restricted category "
                     "'identity.nir' (rule t.nir) reach external upstream 'cloud' (a header "
                     "user may use model 'big')");
    free(msgs);
    policy_unref(p);
    /* Without a caller in both, it loads. */
    p = policy_ok(TWO_GROUPS);
    policy_unref(p);
}

/* A set of groups no caller has (so the load check never saw it) still
 * cannot send restricted data out: decision and egress refuse it. */
static void test_restricted_blocked_at_decision(void)
{
    struct policy *p = policy_ok(TWO_GROUPS);
    const struct policy_group *groups[2];
    struct policy_identity id = {NULL, "crafted", groups, 2, "test"};
    const char *texts[2] = {"ab@example.org NIR123456", "TEL123456"};
    struct policy_decision d;

    if (p == NULL)
        return;
    groups[0] = policy_group_at(p, 0);
    groups[1] = policy_group_at(p, 1);
    T_EQ_STR(policy_group_name(groups[0]), "web");
    /* An unchanged text: pass 1's findings are checked on the way out. */
    {
        const char *one = "NIR123456";
        decide_n(p, NULL, &id, POLICY_EP_CHAT, "big", &one, 1, &d);
        T_VERDICT(&d, POLICY_BLOCK, POLICY_WHY_RESTRICTED);
        T_EQ_STR(d.rule ? detect_rule_id(d.rule) : "(none)", "t.nir");
        T_ASSERT(d.upstream == NULL);
        T_EQ_INT(d.changed, 0);
        T_HIT(&d, "t.nir", POLICY_ACT_ALLOW, POLICY_ACT_ALLOW);
        policy_decision_fini(&d);
    }
    /* A rewritten text (the address is pseudonymised) with the NIR still in
     * it: nothing of the rewrite is forwarded. */
    decide_n(p, NULL, &id, POLICY_EP_CHAT, "big", texts, 1, &d);
    T_VERDICT(&d, POLICY_BLOCK, POLICY_WHY_RESTRICTED);
    T_EQ_INT(d.changed, 0);
    T_EQ_INT(d.out_changed[0], 0);
    T_EQ_INT(d.out[0].len, 0);
    policy_decision_fini(&d);
    decide_n(p, NULL, &id, POLICY_EP_CHAT, "big", texts, 2, &d);
    T_VERDICT(&d, POLICY_BLOCK, POLICY_WHY_RESTRICTED);
    T_EQ_INT(d.changed, 0);
    policy_decision_fini(&d);
    /* To an internal model the same identity is allowed what inhouse says. */
    decide_n(p, NULL, &id, POLICY_EP_CHAT, "small", texts, 2, &d);
    T_VERDICT(&d, POLICY_MASK, POLICY_WHY_NONE);
    T_EQ_STR(sent(&d, 0, texts[0]), "[EMAIL_1] NIR123456");
    T_EQ_STR(sent(&d, 1, texts[1]), "TEL123456");
    policy_decision_fini(&d);
    policy_unref(p);
}

static void test_restricted_monitor(void)
{
    static const char yaml[] = "policy: {id: t, version: \"1\", mode: monitor}\n"
        POLICY_TEST_UPSTREAMS
        "restricted: [identity.nir, marking]\n"
        "defaults:\n"
        "  models: \"*\"\n"
        "  request:\n"
        "    categories:\n"
        "      identity.nir: mask\n"
        "      marking: block\n"
        "      contact.email: pseudonymise\n"
        "groups: {g: }\n"
        "callers:\n"
        "  - {id: alice, certificate: \"CN=alice\", groups: [g]}\n";
    struct policy *p = policy_ok(yaml);
    struct policy_decision d;

    if (p == NULL)
        return;
    /* External: the restricted value is masked even in monitor mode; the
     * address is only recorded. */
    T_EQ_STR(decide1(p, "alice", "big", "NIR123456 ab@example.org", &d),
             "[NIR] ab@example.org");
    T_VERDICT(&d, POLICY_MASK, POLICY_WHY_NONE);
    T_EQ_INT(d.mode, POLICY_MODE_MONITOR);
    T_HIT(&d, "t.nir", POLICY_ACT_MASK, POLICY_ACT_MASK);
    T_HIT(&d, "t.email", POLICY_ACT_PSEUDONYMISE, POLICY_ACT_FLAG);
    policy_decision_fini(&d);
    decide1(p, "alice", "big", "SECRETDEF", &d);
    T_VERDICT(&d, POLICY_BLOCK, POLICY_WHY_BLOCKED);
    policy_decision_fini(&d);
    /* Internal: monitor mode changes nothing. */
    T_EQ_STR(decide1(p, "alice", "small", "NIR123456 SECRETDEF", &d), "NIR123456 SECRETDEF");
    T_VERDICT(&d, POLICY_ALLOW, POLICY_WHY_NONE);
    T_HIT(&d, "t.nir", POLICY_ACT_MASK, POLICY_ACT_FLAG);
    T_HIT(&d, "t.mark", POLICY_ACT_BLOCK, POLICY_ACT_FLAG);
    policy_decision_fini(&d);
    policy_unref(p);
}

static void test_restricted_clause_monitor(void)
{
    static const char yaml[] = POLICY_TEST_HEAD
        "restricted: [identity]\n"
        "defaults:\n"
        "  models: \"*\"\n"
        "  request:\n"
        "    categories:\n"
        "      identity.nir: {action: mask, mode: monitor}\n"
        "      identity.passport: {action: reroute, mode: monitor}\n"
        "groups: {g: }\n"
        "callers:\n"
        "  - {id: alice, certificate: \"CN=alice\", groups: [g]}\n";
    struct policy *p = policy_ok(yaml);
    struct policy_decision d;

    if (p == NULL)
        return;
    T_EQ_STR(decide1(p, "alice", "big", "NIR123456", &d), "[NIR]");
    T_VERDICT(&d, POLICY_MASK, POLICY_WHY_NONE);
    policy_decision_fini(&d);
    T_EQ_STR(decide1(p, "alice", "small", "NIR123456", &d), "NIR123456");
    T_VERDICT(&d, POLICY_ALLOW, POLICY_WHY_NONE);
    policy_decision_fini(&d);
    /* A monitored reroute of restricted data bound outside is enforced, and
     * the decision says so. */
    T_EQ_STR(decide1(p, "alice", "big", "PP123456", &d), "PP123456");
    T_VERDICT(&d, POLICY_REROUTE, POLICY_WHY_NONE);
    T_EQ_STR(upstream_name(d.upstream), "local");
    T_EQ_STR(d.model, "small");
    T_EQ_STR(d.rule ? detect_rule_id(d.rule) : "(none)", "t.passport");
    T_EQ_INT(d.where.line, L(7));
    policy_decision_fini(&d);
    /* Internal: the monitored reroute is only recorded. */
    decide1(p, "alice", "vault-model", "PP123456", &d);
    T_VERDICT(&d, POLICY_ALLOW, POLICY_WHY_NONE);
    T_EQ_STR(upstream_name(d.upstream), "vault");
    T_EQ_STR(d.model, "vault-model");
    policy_decision_fini(&d);
    policy_unref(p);
}

/* ---- reroute -------------------------------------------------------------------------- */

static void test_reroute_targets(void)
{
    static const char yaml[] = POLICY_TEST_HEAD
        "defaults:\n"
        "  models: \"*\"\n"
        "  request:\n"
        "    categories:\n"
        "      identity.passport: reroute\n"
        "      identity.nir: {action: reroute, to: vault}\n"
        "      marking: block\n"
        "groups: {g: }\n"
        "callers:\n"
        "  - {id: alice, certificate: \"CN=alice\", groups: [g]}\n";
    struct policy *p = policy_ok(yaml);
    struct policy_decision d;

    if (p == NULL)
        return;
    T_EQ_STR(upstream_name(policy_reroute_default(p)), "local");
    decide1(p, "alice", "big", "PP123456", &d);
    T_VERDICT(&d, POLICY_REROUTE, POLICY_WHY_NONE);
    T_EQ_STR(upstream_name(d.upstream), "local");
    T_EQ_STR(d.model, "small");
    policy_decision_fini(&d);
    /* An explicit target and its default model. */
    decide1(p, "alice", "big", "NIR123456", &d);
    T_VERDICT(&d, POLICY_REROUTE, POLICY_WHY_NONE);
    T_EQ_STR(upstream_name(d.upstream), "vault");
    T_EQ_STR(d.model, "vault-model");
    T_EQ_STR(detect_rule_id(d.rule), "t.nir");
    T_EQ_INT(d.where.line, L(6));
    T_EQ_INT(d.where.col, 7);
    policy_decision_fini(&d);
    /* Already on the target: the request's model stays. */
    decide1(p, "alice", "embed", "PP123456", &d);
    T_VERDICT(&d, POLICY_REROUTE, POLICY_WHY_NONE);
    T_EQ_STR(upstream_name(d.upstream), "local");
    T_EQ_STR(d.model, "embed");
    policy_decision_fini(&d);
    /* A reroute with a rewrite: the rewritten text goes to the target. */
    T_EQ_STR(decide1(p, "alice", "big", "PP123456 ab@example.org", &d), "PP123456 [EMAIL_1]");
    T_VERDICT(&d, POLICY_REROUTE, POLICY_WHY_NONE);
    T_EQ_INT(d.changed, 1);
    T_EQ_STR(upstream_name(d.upstream), "local");
    policy_decision_fini(&d);
    policy_unref(p);
}

static void test_block_beats_reroute(void)
{
    static const char yaml[] = POLICY_TEST_HEAD
        "defaults:\n"
        "  models: \"*\"\n"
        "  request:\n"
        "    categories:\n"
        "      identity.passport: reroute\n"
        "      marking: block\n"
        "groups: {g: }\n"
        "callers:\n"
        "  - {id: alice, certificate: \"CN=alice\", groups: [g]}\n";
    struct policy *p = policy_ok(yaml);
    struct policy_decision d;
    const char *texts[2] = {"PP123456", "later: SECRETDEF"};

    if (p == NULL)
        return;
    decide1(p, "alice", "big", "PP123456 SECRETDEF", &d);
    T_VERDICT(&d, POLICY_BLOCK, POLICY_WHY_BLOCKED);
    T_ASSERT(d.upstream == NULL);
    T_EQ_STR(detect_rule_id(d.rule), "t.mark");
    policy_decision_fini(&d);
    /* Across texts too: the block in the second text wins. */
    decide_n(p, "alice", NULL, POLICY_EP_CHAT, "big", texts, 2, &d);
    T_VERDICT(&d, POLICY_BLOCK, POLICY_WHY_BLOCKED);
    policy_decision_fini(&d);
    policy_unref(p);
}

/* ---- modes -------------------------------------------------------------------------- */

static void test_policy_monitor(void)
{
    static const char yaml[] = "policy: {id: t, version: \"1\", mode: monitor}\n"
        POLICY_TEST_UPSTREAMS
        "defaults:\n"
        "  models: \"*\"\n"
        "  request:\n"
        "    categories:\n"
        "      contact.email: pseudonymise\n"
        "      identity.nir: mask\n"
        "      identity.passport: reroute\n"
        "      marking: block\n"
        "      secret.key: {action: mask, mode: enforce}\n"
        "groups: {g: }\n"
        "callers:\n"
        "  - {id: alice, certificate: \"CN=alice\", groups: [g]}\n";
    struct policy *p = policy_ok(yaml);
    struct policy_decision d;
    const char *t = "ab@example.org NIR123456 PP123456 SECRETDEF";
    size_t i;

    if (p == NULL)
        return;
    T_EQ_INT(policy_mode(p), POLICY_MODE_MONITOR);
    T_EQ_STR(decide1(p, "alice", "big", t, &d), t);
    T_VERDICT(&d, POLICY_ALLOW, POLICY_WHY_NONE);
    T_EQ_INT(d.mode, POLICY_MODE_MONITOR);
    T_EQ_INT(d.changed, 0);
    T_EQ_STR(upstream_name(d.upstream), "cloud");
    T_EQ_STR(d.model, "big");
    T_EQ_INT(d.nhits, 4);
    T_HIT(&d, "t.email", POLICY_ACT_PSEUDONYMISE, POLICY_ACT_FLAG);
    T_HIT(&d, "t.nir", POLICY_ACT_MASK, POLICY_ACT_FLAG);
    T_HIT(&d, "t.passport", POLICY_ACT_REROUTE, POLICY_ACT_FLAG);
    T_HIT(&d, "t.mark", POLICY_ACT_BLOCK, POLICY_ACT_FLAG);
    for (i = 0; i < d.nhits; i++)
        T_EQ_INT(d.hits[i].mode, POLICY_MODE_MONITOR);
    policy_decision_fini(&d);
    /* A clause may enforce inside a monitoring policy. */
    T_EQ_STR(decide1(p, "alice", "small", "NIR123456 sk_abcdefgh", &d), "NIR123456 [KEY]");
    T_VERDICT(&d, POLICY_MASK, POLICY_WHY_NONE);
    T_HIT(&d, "t.key", POLICY_ACT_MASK, POLICY_ACT_MASK);
    if (hit(&d, "t.key") != NULL)
        T_EQ_INT(hit(&d, "t.key")->mode, POLICY_MODE_ENFORCE);
    policy_decision_fini(&d);
    policy_unref(p);
}

static void test_clause_monitor(void)
{
    static const char yaml[] = POLICY_TEST_HEAD
        "defaults:\n"
        "  models: \"*\"\n"
        "  request:\n"
        "    categories:\n"
        "      contact.email: {action: mask, mode: monitor}\n"
        "      identity.nir: mask\n"
        "      marking: {action: block, mode: monitor}\n"
        "groups: {g: }\n"
        "callers:\n"
        "  - {id: alice, certificate: \"CN=alice\", groups: [g]}\n";
    struct policy *p = policy_ok(yaml);
    struct policy_decision d;

    if (p == NULL)
        return;
    T_EQ_STR(decide1(p, "alice", "big", "ab@example.org NIR123456 SECRETDEF", &d),
             "ab@example.org [NIR] SECRETDEF");
    T_VERDICT(&d, POLICY_MASK, POLICY_WHY_NONE);
    T_EQ_INT(d.mode, POLICY_MODE_ENFORCE);
    T_HIT(&d, "t.email", POLICY_ACT_MASK, POLICY_ACT_FLAG);
    T_HIT(&d, "t.nir", POLICY_ACT_MASK, POLICY_ACT_MASK);
    T_HIT(&d, "t.mark", POLICY_ACT_BLOCK, POLICY_ACT_FLAG);
    if (hit(&d, "t.email") != NULL)
        T_EQ_INT(hit(&d, "t.email")->mode, POLICY_MODE_MONITOR);
    policy_decision_fini(&d);
    policy_unref(p);
}

/* ---- identity --------------------------------------------------------------------------- */

/* SHA-256 of "key-one" and (in capitals) of "key-two". */
#define KEY_ONE_SHA "9b346041bc9a49574eb2665b2ad2a0a3f9f9cce4e42f5d1f26deb8a256b5966a"
#define KEY_TWO_SHA "C8DF51469C308A59BFBD48A3E0BDD228CA922D6032035F5EF6E4AD45F473A9F3"

static const char ident_yaml[] = POLICY_TEST_HEAD
    "identity:\n"
    "  anonymous: guests\n"
    "  user_header:\n"
    "    name: X-Remote-User\n"
    "    trusted_proxies: [10.0.0.0/8, \"::1\", \"2001:db8::/32\", 192.168.7.7]\n"
    "    groups: [staff]\n"
    "groups:\n"
    "  staff:\n"
    "  guests:\n"
    "    models: [small]\n"
    "  devs:\n"
    "callers:\n"
    "  - {id: k1, api_key_sha256: " KEY_ONE_SHA ", groups: [devs]}\n"
    "  - {id: k2, api_key_sha256: " KEY_TWO_SHA ", groups: devs}\n"
    "  - {id: legal, certificate: \"CN=Service juridique,O=DGDDI,C=FR\", groups: [staff, devs]}\n"
    "  - {id: bob, user: bob.listed, groups: [devs]}\n";

static int ident(const struct policy *p, const char *key, const char *cert, const char *user,
                 const char *peer, struct policy_identity *out)
{
    struct policy_who who;

    memset(&who, 0, sizeof(who));
    who.api_key = key;
    who.api_key_len = key ? strlen(key) : 0;
    who.cert_subject = cert;
    who.user = user;
    who.peer = peer;
    return policy_identify(p, &who, out);
}

static void test_identify_api_key(void)
{
    struct policy *p = policy_ok(ident_yaml);
    struct policy_identity id;

    if (p == NULL)
        return;
    T_EQ_INT(ident(p, "key-one", NULL, NULL, NULL, &id), 0);
    T_EQ_STR(id.id, "k1");
    T_EQ_STR(id.how, "api_key");
    T_ASSERT(id.caller == policy_caller_find(p, "k1"));
    T_EQ_STR(policy_caller_kind(id.caller), "api_key");
    T_EQ_INT(id.ngroups, 1);
    T_EQ_STR(policy_group_name(id.groups[0]), "devs");
    /* Capital hex digits in the policy, a single group name for a list. */
    T_EQ_INT(ident(p, "key-two", NULL, NULL, NULL, &id), 0);
    T_EQ_STR(id.id, "k2");
    /* A wrong key is refused: not anonymous, not the certificate, not the
     * header user that comes with it. */
    T_EQ_INT(ident(p, "key-on", NULL, NULL, NULL, &id), -1);
    T_EQ_INT(ident(p, "key-one ", NULL, NULL, NULL, &id), -1);
    T_EQ_INT(ident(p, "wrong", "CN=Service juridique,O=DGDDI,C=FR", NULL, NULL, &id), -1);
    T_EQ_INT(ident(p, "wrong", NULL, "bob.listed", "10.0.0.1", &id), -1);
    /* The key wins over a certificate presented with it. */
    T_EQ_INT(ident(p, "key-one", "CN=Service juridique,O=DGDDI,C=FR", NULL, NULL, &id), 0);
    T_EQ_STR(id.id, "k1");
    policy_unref(p);
}

static void test_identify_certificate(void)
{
    struct policy *p = policy_ok(ident_yaml);
    struct policy_identity id;

    if (p == NULL)
        return;
    T_EQ_INT(ident(p, NULL, "CN=Service juridique,O=DGDDI,C=FR", NULL, NULL, &id), 0);
    T_EQ_STR(id.id, "legal");
    T_EQ_STR(id.how, "certificate");
    T_EQ_INT(id.ngroups, 2);
    T_EQ_STR(policy_group_name(id.groups[0]), "staff");
    T_EQ_STR(policy_group_name(id.groups[1]), "devs");
    /* A certificate nobody listed is refused, not anonymous. */
    T_EQ_INT(ident(p, NULL, "CN=Service juridique,O=DGDDI", NULL, NULL, &id), -1);
    T_EQ_INT(ident(p, NULL, "cn=service juridique,o=dgddi,c=fr", NULL, NULL, &id), -1);
    policy_unref(p);
}

static void test_identify_user_header(void)
{
    static const char *const trusted[] = {"10.1.2.3", "10.255.255.255", "::1", "2001:db8::5",
                                          "2001:db8:ffff::1", "::ffff:10.1.2.3", "192.168.7.7",
                                          "::ffff:192.168.7.7"};
    static const char *const untrusted[] = {"11.0.0.1", "9.255.255.255", "192.168.7.8",
                                            "::2", "2001:db9::1", "::ffff:192.168.1.1",
                                            "::ffff:11.0.0.1", "fe80::1", "garbage", "",
                                            "10.1.2.3/8"};
    struct policy *p = policy_ok(ident_yaml);
    struct policy_identity id;
    size_t i;

    if (p == NULL)
        return;
    T_EQ_STR(policy_user_header(p), "X-Remote-User");
    for (i = 0; i < sizeof(trusted) / sizeof(trusted[0]); i++) {
        if (ident(p, NULL, NULL, "bob.listed", trusted[i], &id) != 0) {
            T_FAIL("listed user refused from trusted peer %s", trusted[i]);
            continue;
        }
        T_EQ_STR(id.id, "bob");
        T_EQ_STR(id.how, "user_header");
        T_ASSERT(id.caller == policy_caller_find(p, "bob"));
        T_EQ_STR(policy_caller_kind(id.caller), "user");
    }
    for (i = 0; i < sizeof(untrusted) / sizeof(untrusted[0]); i++)
        if (ident(p, NULL, NULL, "bob.listed", untrusted[i], &id) != -1)
            T_FAIL("user header believed from untrusted peer '%s'", untrusted[i]);
    T_EQ_INT(ident(p, NULL, NULL, "bob.listed", NULL, &id), -1);
    /* An unlisted user gets the header's groups, named as the header says. */
    T_EQ_INT(ident(p, NULL, NULL, "zoe", "10.9.9.9", &id), 0);
    T_ASSERT(id.caller == NULL);
    T_EQ_STR(id.id, "zoe");
    T_EQ_STR(id.how, "user_header");
    T_EQ_INT(id.ngroups, 1);
    T_EQ_STR(policy_group_name(id.groups[0]), "staff");
    T_EQ_INT(policy_header_ngroups(p), 1);
    T_EQ_STR(policy_group_name(policy_header_group(p, 0)), "staff");
    policy_unref(p);
}

static void test_identify_anonymous(void)
{
    static const char refuse_yaml[] = POLICY_TEST_HEAD
        "identity:\n"
        "  anonymous: refuse\n"
        "  user_header: {name: X-User, trusted_proxies: 127.0.0.1}\n"
        "groups: {devs: }\n"
        "callers:\n"
        "  - {id: bob, user: bob.listed, groups: [devs]}\n";
    struct policy *p = policy_ok(ident_yaml);
    struct policy_identity id;

    if (p != NULL) {
        T_EQ_INT(ident(p, NULL, NULL, NULL, "203.0.113.9", &id), 0);
        T_EQ_STR(id.id, "anonymous");
        T_EQ_STR(id.how, "anonymous");
        T_ASSERT(id.caller == NULL);
        T_EQ_INT(id.ngroups, 1);
        T_EQ_STR(policy_group_name(id.groups[0]), "guests");
        T_EQ_STR(policy_group_name(policy_anonymous_group(p)), "guests");
        /* An empty header is no header. */
        T_EQ_INT(ident(p, NULL, NULL, "", "203.0.113.9", &id), 0);
        T_EQ_STR(id.how, "anonymous");
        T_EQ_INT(policy_identity_of(p, "anonymous", &id), 0);
        T_EQ_STR(policy_group_name(id.groups[0]), "guests");
        T_EQ_INT(policy_identity_of(p, "someone", &id), 0);
        T_EQ_STR(id.how, "user_header");
        T_EQ_INT(policy_identity_of(p, "k1", &id), 0);
        T_EQ_STR(id.how, "listed");
    }
    policy_unref(p);
    p = policy_ok(refuse_yaml);
    if (p != NULL) {
        T_ASSERT(policy_anonymous_group(p) == NULL);
        T_EQ_INT(ident(p, NULL, NULL, NULL, "127.0.0.1", &id), -1);
        /* No header groups: only listed users. */
        T_EQ_INT(ident(p, NULL, NULL, "zoe", "127.0.0.1", &id), -1);
        T_EQ_INT(ident(p, NULL, NULL, "bob.listed", "127.0.0.1", &id), 0);
        T_EQ_STR(id.id, "bob");
        T_EQ_INT(policy_identity_of(p, "anonymous", &id), -1);
        T_EQ_INT(policy_identity_of(p, "zoe", &id), -1);
    }
    policy_unref(p);
}

static void test_unknown_caller_denied(void)
{
    struct policy *p = policy_ok(ident_yaml);
    struct policy_identity none;
    struct policy_decision d;
    const char *t = "hello";

    if (p == NULL)
        return;
    memset(&none, 0, sizeof(none));
    decide_n(p, NULL, &none, POLICY_EP_CHAT, "small", &t, 1, &d);
    T_VERDICT(&d, POLICY_DENY, POLICY_WHY_UNKNOWN_CALLER);
    T_ASSERT(d.upstream == NULL);
    policy_decision_fini(&d);
    decide_n(p, NULL, NULL, POLICY_EP_CHAT, "small", &t, 1, &d);
    T_VERDICT(&d, POLICY_DENY, POLICY_WHY_UNKNOWN_CALLER);
    policy_decision_fini(&d);
    policy_unref(p);
}

/* ---- endpoints and models ----------------------------------------------------------------- */

static const char access_yaml[] = POLICY_TEST_HEAD
    "defaults:\n"
    "  models: [small]\n"
    "  endpoints: [chat, models]\n"
    "groups:\n"
    "  base:\n"
    "  emb:\n"
    "    models: [embed]\n"
    "    endpoints: [embeddings, /v1/models]\n"
    "  all:\n"
    "    models: \"*\"\n"
    "  cloudonly:\n"
    "    models: [big]\n"
    "    endpoints: \"*\"\n"
    "callers:\n"
    "  - {id: a, certificate: CN=a, groups: [base]}\n"
    "  - {id: e, certificate: CN=e, groups: [emb]}\n"
    "  - {id: all, certificate: CN=all, groups: [all]}\n"
    "  - {id: multi, certificate: CN=multi, groups: [emb, cloudonly]}\n";

static void check_access(const struct policy *p, const char *caller, enum policy_endpoint ep,
                         const char *model, enum policy_verdict v, enum policy_why why,
                         const char *upstream)
{
    struct policy_decision d;
    const char *t = "hello";

    decide_n(p, caller, NULL, ep, model, &t, 1, &d);
    if (d.verdict != v || d.why != why)
        T_FAIL("%s %s %s: %s/%s, expected %s/%s", caller, policy_endpoint_name(ep),
               model ? model : "-", policy_verdict_name(d.verdict), policy_why_name(d.why),
               policy_verdict_name(v), policy_why_name(why));
    T_EQ_STR(upstream_name(d.upstream), upstream);
    policy_decision_fini(&d);
}

static void test_endpoints_and_models(void)
{
    struct policy *p = policy_ok(access_yaml);
    struct policy_group_info gi;
    struct policy_identity id;

    if (p == NULL)
        return;
    check_access(p, "a", POLICY_EP_CHAT, "small", POLICY_ALLOW, POLICY_WHY_NONE, "local");
    check_access(p, "a", POLICY_EP_CHAT, "big", POLICY_DENY, POLICY_WHY_MODEL, "(none)");
    check_access(p, "a", POLICY_EP_CHAT, "nosuch", POLICY_DENY, POLICY_WHY_MODEL, "(none)");
    check_access(p, "a", POLICY_EP_CHAT, NULL, POLICY_DENY, POLICY_WHY_MODEL, "(none)");
    check_access(p, "a", POLICY_EP_EMBEDDINGS, "small", POLICY_DENY, POLICY_WHY_ENDPOINT,
                 "(none)");
    check_access(p, "a", POLICY_EP_COMPLETIONS, "small", POLICY_DENY, POLICY_WHY_ENDPOINT,
                 "(none)");
    check_access(p, "a", POLICY_EP_MODELS, NULL, POLICY_ALLOW, POLICY_WHY_NONE, "(none)");
    check_access(p, "e", POLICY_EP_CHAT, "embed", POLICY_DENY, POLICY_WHY_ENDPOINT, "(none)");
    check_access(p, "e", POLICY_EP_EMBEDDINGS, "embed", POLICY_ALLOW, POLICY_WHY_NONE, "local");
    check_access(p, "e", POLICY_EP_EMBEDDINGS, "small", POLICY_DENY, POLICY_WHY_MODEL,
                 "(none)");
    check_access(p, "e", POLICY_EP_MODELS, NULL, POLICY_ALLOW, POLICY_WHY_NONE, "(none)");
    /* "*" opens every served model, not unknown ones; endpoints inherited. */
    check_access(p, "all", POLICY_EP_CHAT, "big", POLICY_ALLOW, POLICY_WHY_NONE, "cloud");
    check_access(p, "all", POLICY_EP_CHAT, "vault-model", POLICY_ALLOW, POLICY_WHY_NONE,
                 "vault");
    check_access(p, "all", POLICY_EP_CHAT, "nosuch", POLICY_DENY, POLICY_WHY_MODEL, "(none)");
    check_access(p, "all", POLICY_EP_EMBEDDINGS, "embed", POLICY_DENY, POLICY_WHY_ENDPOINT,
                 "(none)");
    /* Several groups: what any of them opens. */
    check_access(p, "multi", POLICY_EP_CHAT, "big", POLICY_ALLOW, POLICY_WHY_NONE, "cloud");
    check_access(p, "multi", POLICY_EP_EMBEDDINGS, "embed", POLICY_ALLOW, POLICY_WHY_NONE,
                 "local");
    check_access(p, "multi", POLICY_EP_CHAT, "small", POLICY_DENY, POLICY_WHY_MODEL, "(none)");
    /* A denial points at the caller's first group. */
    {
        struct policy_decision d;
        const char *t = "x";
        decide_n(p, "e", NULL, POLICY_EP_CHAT, "embed", &t, 1, &d);
        T_EQ_INT(d.where.line, L(6));
        T_EQ_INT(d.where.col, 3);
        policy_decision_fini(&d);
    }
    T_EQ_INT(policy_identity_of(p, "a", &id), 0);
    T_EQ_INT(policy_model_allowed(p, &id, "small"), 1);
    T_EQ_INT(policy_model_allowed(p, &id, NULL), 0);
    T_EQ_INT(policy_endpoint_allowed(p, &id, (enum policy_endpoint)7), 0);
    T_EQ_STR(upstream_name(policy_model_upstream(p, "embed")), "local");
    T_ASSERT(policy_model_upstream(p, "nosuch") == NULL);
    /* Group summaries say what is inherited. */
    policy_group_info(p, policy_group_at(p, 0), &gi);
    T_EQ_STR(gi.name, "base");
    T_EQ_INT(gi.models_inherited, 1);
    T_EQ_INT(gi.endpoints_inherited, 1);
    T_EQ_INT(gi.nmodels, 1);
    T_EQ_STR(gi.models[0], "small");
    T_EQ_INT(gi.endpoints, (1u << POLICY_EP_CHAT) | (1u << POLICY_EP_MODELS));
    policy_group_info(p, policy_group_at(p, 1), &gi);
    T_EQ_INT(gi.models_inherited, 0);
    T_EQ_INT(gi.endpoints, (1u << POLICY_EP_EMBEDDINGS) | (1u << POLICY_EP_MODELS));
    policy_group_info(p, policy_group_at(p, 3), &gi);
    T_EQ_INT(gi.endpoints, 15);
    T_EQ_INT(policy_endpoint_parse("chat"), POLICY_EP_CHAT);
    T_EQ_INT(policy_endpoint_parse("/v1/embeddings"), POLICY_EP_EMBEDDINGS);
    T_EQ_INT(policy_endpoint_parse("/v1/chat"), -1);
    policy_unref(p);
}

/* ---- limits -------------------------------------------------------------------------------- */

static void test_limits(void)
{
    static const char yaml[] = POLICY_TEST_HEAD
        "defaults:\n"
        "  models: \"*\"\n"
        "  limits: {body: 4k, messages: 10, inspect_ms: 300}\n"
        "groups:\n"
        "  base:\n"
        "  small_body:\n"
        "    limits: {body: 2048, inspect_ms: 100}\n"
        "  big_body:\n"
        "    limits: {body: 1M, messages: 3}\n"
        "callers:\n"
        "  - {id: b, certificate: CN=b, groups: [base]}\n"
        "  - {id: s, certificate: CN=s, groups: [small_body]}\n"
        "  - {id: g, certificate: CN=g, groups: [big_body]}\n"
        "  - {id: sg, certificate: CN=sg, groups: [big_body, small_body]}\n";
    static const char none_yaml[] = POLICY_TEST_HEAD "groups: {g: }\n";
    struct policy *p = policy_ok(yaml);
    struct policy_identity id;
    struct policy_limits lim;
    struct policy_decision d;
    struct policy_request req;
    struct policy_text t = {"hello", 5};

    if (p == NULL)
        return;
    T_EQ_INT(policy_identity_of(p, "b", &id), 0);
    policy_limits_of(p, &id, &lim);
    T_EQ_INT(lim.body_max, 4096);
    T_EQ_INT(lim.messages_max, 10);
    T_EQ_INT(lim.inspect_ms, 300);
    T_EQ_INT(policy_identity_of(p, "s", &id), 0);
    policy_limits_of(p, &id, &lim);
    T_EQ_INT(lim.body_max, 2048);
    T_EQ_INT(lim.messages_max, 10);
    T_EQ_INT(lim.inspect_ms, 100);
    /* A group may loosen the base. */
    T_EQ_INT(policy_identity_of(p, "g", &id), 0);
    policy_limits_of(p, &id, &lim);
    T_EQ_INT(lim.body_max, 1024 * 1024);
    T_EQ_INT(lim.messages_max, 3);
    T_EQ_INT(lim.inspect_ms, 300);
    /* Between groups, the strictest of each. */
    T_EQ_INT(policy_identity_of(p, "sg", &id), 0);
    policy_limits_of(p, &id, &lim);
    T_EQ_INT(lim.body_max, 2048);
    T_EQ_INT(lim.messages_max, 3);
    T_EQ_INT(lim.inspect_ms, 100);

    /* Decisions at and over each limit. */
    memset(&req, 0, sizeof(req));
    req.who = &id;
    req.endpoint = POLICY_EP_CHAT;
    req.model = "small";
    req.texts = &t;
    req.ntexts = 1;
    req.nmessages = 3;
    req.body_len = 2048;
    T_EQ_INT(policy_decide(ctx, p, &req, NULL, 0, &d), VIGIE_OK);
    T_VERDICT(&d, POLICY_ALLOW, POLICY_WHY_NONE);
    policy_decision_fini(&d);
    req.body_len = 2049;
    T_EQ_INT(policy_decide(ctx, p, &req, NULL, 0, &d), VIGIE_OK);
    T_VERDICT(&d, POLICY_DENY, POLICY_WHY_BODY);
    T_ASSERT(d.upstream == NULL);
    policy_decision_fini(&d);
    req.body_len = 100;
    req.nmessages = 4;
    T_EQ_INT(policy_decide(ctx, p, &req, NULL, 0, &d), VIGIE_OK);
    T_VERDICT(&d, POLICY_DENY, POLICY_WHY_MESSAGES);
    policy_decision_fini(&d);
    T_EQ_INT(policy_identity_of(p, "b", &id), 0);
    req.body_len = 4097;
    req.nmessages = 10;
    T_EQ_INT(policy_decide(ctx, p, &req, NULL, 0, &d), VIGIE_OK);
    T_VERDICT(&d, POLICY_DENY, POLICY_WHY_BODY);
    policy_decision_fini(&d);
    req.body_len = 4096;
    T_EQ_INT(policy_decide(ctx, p, &req, NULL, 0, &d), VIGIE_OK);
    T_VERDICT(&d, POLICY_ALLOW, POLICY_WHY_NONE);
    policy_decision_fini(&d);
    policy_unref(p);

    /* Nothing configured: the built-in defaults. */
    p = policy_ok(none_yaml);
    if (p == NULL)
        return;
    T_EQ_INT(policy_identity_of(p, "anonymous", &id), -1);
    T_EQ_INT(policy_identity_of(p, "g", &id), -1);
    {
        const struct policy_group *g = policy_group_at(p, 0);
        struct policy_identity gid = {NULL, "x", &g, 1, "test"};
        policy_limits_of(p, &gid, &lim);
        T_EQ_INT(lim.body_max, VIGIE_POLICY_BODY_DEFAULT);
        T_EQ_INT(lim.messages_max, VIGIE_POLICY_MESSAGES_DEFAULT);
        T_EQ_INT(lim.inspect_ms, VIGIE_POLICY_INSPECT_MS_DEFAULT);
    }
    policy_unref(p);
}

/* ---- answers -------------------------------------------------------------------------------- */

static void test_filter_response(void)
{
    static const char yaml[] = POLICY_TEST_HEAD
        "defaults:\n"
        "  models: \"*\"\n"
        "  response:\n"
        "    categories:\n"
        "      secret: mask\n"
        "      marking: block\n"
        "      contact: flag\n"
        "groups:\n"
        "  g:\n"
        "  h:\n"
        "    response:\n"
        "      rules:\n"
        "        t.key: allow\n"
        "callers:\n"
        "  - {id: g, certificate: CN=g, groups: [g]}\n"
        "  - {id: h, certificate: CN=h, groups: [h]}\n";
    struct policy *p = policy_ok(yaml);
    struct policy_identity g, h;
    struct vigie_buf out;
    int changed, blocked;

    if (p == NULL)
        return;
    T_EQ_INT(policy_identity_of(p, "g", &g), 0);
    T_EQ_INT(policy_identity_of(p, "h", &h), 0);
#define FILTER(who, text)                                                                 \
    (vigie_buf_init(&out, 1 << 16), changed = blocked = -1,                               \
     policy_filter_response(ctx, p, who, text, strlen(text), &out, &changed, &blocked))
    T_EQ_INT(FILTER(&g, "the key is sk_abcdefgh."), VIGIE_OK);
    T_EQ_INT(changed, 1);
    T_EQ_INT(blocked, 0);
    T_EQ_STR(out.data, "the key is [KEY].");
    vigie_buf_free(&out);
    T_EQ_INT(FILTER(&g, "it says SECRETDEF"), VIGIE_OK);
    T_EQ_INT(blocked, 1);
    vigie_buf_free(&out);
    T_EQ_INT(FILTER(&g, "write to ab@example.org, NIR123456"), VIGIE_OK);
    T_EQ_INT(changed, 0);
    T_EQ_INT(blocked, 0);
    vigie_buf_free(&out);
    T_EQ_INT(FILTER(&h, "the key is sk_abcdefgh."), VIGIE_OK);
    T_EQ_INT(changed, 0);
    T_EQ_INT(blocked, 0);
    vigie_buf_free(&out);
    /* Answer scans run the rules an answer clause acts on, nothing else: g
     * has some, and asking again for h then g uses each one's own set. */
    T_EQ_INT(policy_answer_clauses(ctx, p, &g), 1);
    T_EQ_INT(policy_answer_clauses(ctx, p, &h), 1); /* h still blocks markings */
    T_EQ_INT(FILTER(&h, "it says SECRETDEF"), VIGIE_OK);
    T_EQ_INT(blocked, 1);
    vigie_buf_free(&out);
    T_EQ_INT(FILTER(&g, "the key is sk_abcdefgh."), VIGIE_OK);
    T_EQ_INT(changed, 1);
    T_EQ_STR(out.data, "the key is [KEY].");
    vigie_buf_free(&out);
#undef FILTER
    policy_unref(p);
}

/* ---- messages ------------------------------------------------------------------------------ */

static void test_messages(void)
{
    static const char yaml[] = POLICY_TEST_HEAD
        "groups: {g: }\n"
        "messages:\n"
        "  blocked:\n"
        "    fr: \"Bloqué par la DSI.\"\n"
        "    en: \"Blocked by IT.\"\n"
        "  restricted: {fr: \"Interne seulement.\"}\n";
    struct policy *p = policy_ok(yaml);
    const char *fr_blocked = "Votre demande contient des données qui ne doivent pas quitter le "
                             "service ; elle n'a pas été transmise.";

    T_EQ_STR(policy_message(NULL, POLICY_WHY_BLOCKED, "fr"), fr_blocked);
    T_EQ_STR(policy_message(NULL, POLICY_WHY_BLOCKED, NULL), fr_blocked);
    T_EQ_STR(policy_message(NULL, POLICY_WHY_BLOCKED, "de"), fr_blocked);
    T_EQ_STR(policy_message(NULL, POLICY_WHY_BLOCKED, "en"),
             "Your request contains data that must not leave the service; it was not sent.");
    T_EQ_STR(policy_message(NULL, POLICY_WHY_UNKNOWN_CALLER, "en-GB"),
             "Unknown caller: present a valid API key or certificate.");
    T_EQ_STR(policy_message(NULL, (enum policy_why)99, "en"), "Internal gateway error.");
    if (p == NULL)
        return;
    T_EQ_STR(policy_message(p, POLICY_WHY_BLOCKED, "fr"), "Bloqué par la DSI.");
    T_EQ_STR(policy_message(p, POLICY_WHY_BLOCKED, "en"), "Blocked by IT.");
    T_EQ_STR(policy_message(p, POLICY_WHY_RESTRICTED, "fr"), "Interne seulement.");
    /* Only French given: English falls back to the default. */
    T_EQ_STR(policy_message(p, POLICY_WHY_RESTRICTED, "en"),
             "Your request contains protected data that cannot be sent to an external model; "
             "it was not sent.");
    T_EQ_STR(policy_message(p, POLICY_WHY_MODEL, "fr"),
             "Ce modèle n'est pas autorisé pour votre groupe.");
    policy_unref(p);
}

/* ---- the pseudonym map ---------------------------------------------------------------------- */

static void test_pseudonyms_restored(void)
{
    struct policy *p = policy_ok(actions_yaml);
    struct policy_decision d;
    const char *texts[2] = {"ab@example.org et cd@example.org", "encore ab@example.org, ef@example.org"};
    const char *answer = "Réponse à [EMAIL_2], copie [EMAIL_1] et [EMAIL_3] ; [EMAIL_9] inconnu.";
    struct vigie_buf back;

    if (p == NULL)
        return;
    decide_n(p, "alice", NULL, POLICY_EP_CHAT, "big", texts, 2, &d);
    T_VERDICT(&d, POLICY_MASK, POLICY_WHY_NONE);
    /* One map for the request: the same value keeps its token across texts. */
    T_EQ_STR(sent(&d, 0, texts[0]), "[EMAIL_1] et [EMAIL_2]");
    T_EQ_STR(sent(&d, 1, texts[1]), "encore [EMAIL_1], [EMAIL_3]");
    T_EQ_INT(detect_revmap_count(d.map), 3);
    vigie_buf_init(&back, 1 << 16);
    T_EQ_INT(detect_revmap_restore(d.map, answer, strlen(answer), &back), VIGIE_OK);
    T_EQ_STR(back.data, "Réponse à cd@example.org, copie ab@example.org et ef@example.org ; "
                        "[EMAIL_9] inconnu.");
    vigie_buf_free(&back);
    policy_decision_fini(&d);
    T_ASSERT(d.map == NULL && d.out == NULL && d.hits == NULL);
    policy_unref(p);
}

/* ---- the shipped policy ------------------------------------------------------------------- */

static void test_shipped_customs_policy(void)
{
    struct vigie_diag diag;
    struct policy *p;
    struct policy_who who;
    struct policy_identity id;
    struct policy_decision d;
    size_t i;

    vigie_diag_init(&diag);
    p = policy_load_file(VIGIE_SRC_DIR "/policies/customs.yaml", NULL, 0, &diag);
    for (i = 0; i < diag.n; i++)
        T_FAIL("%s", diag.msgs[i]);
    vigie_diag_free(&diag);
    if (p == NULL)
        return;
    T_EQ_STR(policy_id(p), "customs-assistant");
    T_EQ_STR(policy_version(p), "2026.11.1");
    T_EQ_INT(policy_mode(p), POLICY_MODE_ENFORCE);
    T_EQ_INT(policy_nrestricted(p), 4);
    memset(&who, 0, sizeof(who));
    who.api_key = "demo-portal-key";
    who.api_key_len = strlen(who.api_key);
    T_EQ_INT(policy_identify(p, &who, &id), 0);
    T_EQ_STR(id.id, "chat-portal");
    /* First model in upstream order: onprem's comes before cloud's. */
    T_EQ_STR(policy_first_model(p, &id), "mistral-small-onprem");
    {
        /* Refused anonymous: -1, and an identity that decides as unknown. */
        struct policy_identity anon;
        const char *t = "bonjour";
        struct policy_text tx = {t, strlen(t)};
        struct policy_request req = {&anon, POLICY_EP_CHAT, "gpt-4o-mini", 7, 1, &tx, 1};
        T_EQ_INT(policy_identity_of(p, "anonymous", &anon), -1);
        T_EQ_STR(anon.id, "anonymous");
        T_EQ_INT(anon.ngroups, 0);
        T_ASSERT(policy_first_model(p, &anon) == NULL);
        T_EQ_INT(policy_decide(ctx, p, &req, NULL, 0, &d), VIGIE_OK);
        T_VERDICT(&d, POLICY_DENY, POLICY_WHY_UNKNOWN_CALLER);
        policy_decision_fini(&d);
    }
    {
        const char *t = "Écrire à jean.dupont@example.fr pour le dossier.";
        struct policy_text tx = {t, strlen(t)};
        struct policy_request req = {&id, POLICY_EP_CHAT, "gpt-4o-mini", 100, 1, &tx, 1};
        T_EQ_INT(policy_decide(ctx, p, &req, NULL, 0, &d), VIGIE_OK);
        T_VERDICT(&d, POLICY_MASK, POLICY_WHY_NONE);
        T_EQ_STR(sent(&d, 0, t), "Écrire à [EMAIL_1] pour le dossier.");
        T_EQ_STR(upstream_name(d.upstream), "cloud");
        policy_decision_fini(&d);
    }
    {
        /* A social security number is restricted: it stays in-house. */
        const char *t = "NIR 1 85 05 78 006 084 91";
        struct policy_text tx = {t, strlen(t)};
        struct policy_request req = {&id, POLICY_EP_CHAT, "gpt-4o-mini", 100, 1, &tx, 1};
        T_EQ_INT(policy_decide(ctx, p, &req, NULL, 0, &d), VIGIE_OK);
        T_VERDICT(&d, POLICY_REROUTE, POLICY_WHY_NONE);
        T_EQ_STR(upstream_name(d.upstream), "onprem");
        T_EQ_STR(d.model, "mistral-small-onprem");
        policy_decision_fini(&d);
    }
    /* The lawyers may not use the external model. */
    T_EQ_INT(policy_identity_of(p, "juriste-paris", &id), 0);
    T_EQ_INT(policy_model_allowed(p, &id, "gpt-4o-mini"), 0);
    T_EQ_INT(policy_model_allowed(p, &id, "mistral-small-onprem"), 1);
    policy_unref(p);
}

int main(void)
{
    ctx = policy_ctx_new();
    if (ctx == NULL)
        return 1;
    T_RUN(test_action_allow);
    T_RUN(test_action_flag);
    T_RUN(test_action_pseudonymise);
    T_RUN(test_action_mask);
    T_RUN(test_action_reroute);
    T_RUN(test_action_block);
    T_RUN(test_group_beats_base);
    T_RUN(test_rule_beats_category);
    T_RUN(test_longer_category_beats_prefix);
    T_RUN(test_strictest_between_groups);
    T_RUN(test_no_clause_pack_action);
    T_RUN(test_restricted_load_error);
    T_RUN(test_restricted_via_two_groups);
    T_RUN(test_restricted_blocked_at_decision);
    T_RUN(test_restricted_monitor);
    T_RUN(test_restricted_clause_monitor);
    T_RUN(test_reroute_targets);
    T_RUN(test_block_beats_reroute);
    T_RUN(test_policy_monitor);
    T_RUN(test_clause_monitor);
    T_RUN(test_identify_api_key);
    T_RUN(test_identify_certificate);
    T_RUN(test_identify_user_header);
    T_RUN(test_identify_anonymous);
    T_RUN(test_unknown_caller_denied);
    T_RUN(test_endpoints_and_models);
    T_RUN(test_limits);
    T_RUN(test_filter_response);
    T_RUN(test_messages);
    T_RUN(test_pseudonyms_restored);
    T_RUN(test_shipped_customs_policy);
    policy_ctx_free(ctx);
    return T_DONE();
}
