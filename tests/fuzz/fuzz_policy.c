/*
 * libFuzzer driver for the policy compiler and its decisions, with the
 * shipped rules.
 *
 * Each input is a policy document. It is parsed and compiled; when it
 * compiles, the first caller (else an anonymous or header user) asks each
 * model it may use (up to four) with a fixed prompt full of personal data,
 * and the answer filter runs on the same text.
 *
 * Invariants checked on every input (a failed check aborts, which both
 * libFuzzer and the replay test report):
 *   - a policy that does not compile says why, and every message names the
 *     file; one that compiles adds no message;
 *   - a decision is an outcome, never an error: a refusal forwards nothing and
 *     names no upstream; a forward names the upstream that serves its model;
 *     a reroute goes to an internal upstream;
 *   - the invariant of the language: what is forwarded to an external
 *     upstream, scanned again here, holds no finding of a restricted category;
 *   - hits lie inside their text;
 *   - nothing leaks from one input to the next (the context is per input).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/load.h"
#include "policy/policy.h"

/* The shipped rules, loaded once and shared by every policy compiled. */
static struct detect_set *set;
static struct detect_scanner *egress; /* re-scans what would be forwarded */

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_policy: invariant failed at %s:%d: %s\n", __FILE__, __LINE__,    \
                    #c);                                                                           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* policy_compile takes the rule set it is given and frees it with the policy,
 * or at once on failure. Loading the shipped packs takes about a second, far
 * too long per input, so this driver is linked with
 * -Wl,--wrap=detect_set_free: the shared set survives every policy, and any
 * other set is freed as usual. */
void __real_detect_set_free(struct detect_set *s);
void __wrap_detect_set_free(struct detect_set *s);

void __wrap_detect_set_free(struct detect_set *s)
{
    if (s != NULL && s == set)
        return;
    __real_detect_set_free(s);
}

static void setup(void)
{
    const char *paths[] = {VIGIE_SRC_DIR "/rules"};
    struct vigie_diag d;
    int attempt;

    /* Loading measures each pattern's CPU time on hostile input against a
     * budget; under ASan and coverage instrumentation one shipped pattern
     * runs close to it and now and then goes over. This driver is about
     * policies, so a load is tried up to three times; a pattern that is
     * really too slow fails all three. */
    for (attempt = 0; attempt < 3 && set == NULL; attempt++) {
        size_t i;
        vigie_diag_init(&d);
        set = detect_load_paths(paths, 1, &d);
        for (i = 0; set == NULL && i < d.n; i++)
            fprintf(stderr, "%s\n", d.msgs[i]);
        vigie_diag_free(&d);
    }
    if (set == NULL)
        abort();
    egress = detect_scanner_new(set, 1 << 20);
    CHECK(egress != NULL);
}

/* A prompt with something of most categories: address, phone, NIR
 * (restricted in the shipped policy), IBAN, card, SIRET, token, IP. */
static const char prompt[] =
    "Écrire à jean.dupont@example.fr, tél 06 39 98 00 01, NIR 1 85 05 78 006 084 91, IBAN "
    "FR76 3000 6000 0112 3456 7890 189, carte 4111 1111 1111 1111, SIRET 732 829 320 00074, "
    "conteneur MSCU1234565, token ghp_abcdefghijklmnopqrstuvwxyz0123456789 , 10.1.2.3";
/* A second text with a classification marking, blocked by most policies. */
static const char marked[] = "Note CONFIDENTIEL DÉFENSE du 3 mars, M. Jean Dupont.";

static const unsigned char hmac_key[32] = "fuzz-policy-hmac-key-0123456789";

/* Up to max models the identity may use (internal and external alike), or,
 * when it may use none, the first model served (the decision must then deny).
 * Returns how many were written to out. */
static size_t pick_models(const struct policy *p, const struct policy_identity *id,
                          const char **out, size_t max)
{
    const char *any = NULL;
    size_t i, j, n = 0;

    for (i = 0; i < policy_nupstreams(p) && n < max; i++) {
        struct policy_upstream_info u;
        policy_upstream_info(policy_upstream_at(p, i), &u);
        for (j = 0; j < u.nmodels && n < max; j++) {
            if (any == NULL)
                any = u.models[j];
            if (policy_model_allowed(p, id, u.models[j]))
                out[n++] = u.models[j];
        }
    }
    if (n == 0)
        out[n++] = any;
    return n;
}

static void check_decision(const struct policy *p, const struct policy_request *req,
                           const struct policy_decision *d)
{
    size_t i, j;

    CHECK((unsigned)d->verdict <= POLICY_ERROR);
    for (i = 0; i < d->nhits; i++) {
        const struct policy_hit *h = &d->hits[i];
        CHECK(h->rule != NULL && h->text < req->ntexts);
        CHECK(h->start < h->end && h->end <= req->texts[h->text].len);
    }
    if (d->verdict >= POLICY_BLOCK) {
        CHECK(d->why != POLICY_WHY_NONE);
        CHECK(d->upstream == NULL);
        CHECK(!d->changed);
        for (i = 0; d->out_changed != NULL && i < d->ntexts; i++)
            CHECK(!d->out_changed[i]);
        return;
    }
    CHECK(d->why == POLICY_WHY_NONE);
    if (req->endpoint == POLICY_EP_MODELS)
        return;
    CHECK(d->upstream != NULL && d->model != NULL);
    CHECK(policy_model_upstream(p, d->model) == d->upstream);
    /* allow forwards the original bytes, mask rewritten ones, reroute either. */
    if (d->verdict != POLICY_REROUTE)
        CHECK((d->verdict == POLICY_MASK) == (d->changed != 0));
    {
        struct policy_upstream_info u;
        policy_upstream_info(d->upstream, &u);
        if (d->verdict == POLICY_REROUTE)
            CHECK(u.trust == POLICY_TRUST_INTERNAL);
        if (u.trust != POLICY_TRUST_EXTERNAL)
            return;
    }
    /* Bound outside: the exact texts that would leave hold nothing restricted. */
    for (i = 0; i < req->ntexts; i++) {
        const char *s = req->texts[i].s;
        size_t len = req->texts[i].len, n;
        const struct detect_finding *f;
        int rc;
        if (d->out_changed != NULL && i < d->ntexts && d->out_changed[i]) {
            s = d->out[i].data;
            len = d->out[i].len;
        }
        rc = detect_scan(egress, s, len, NULL, 0);
        CHECK(rc == VIGIE_OK);
        f = detect_scanner_findings(egress, &n);
        for (j = 0; j < n; j++)
            if (policy_rule_restricted(p, f[j].rule)) {
                fprintf(stderr, "fuzz_policy: restricted %s leaves for %s\n",
                        detect_rule_id(f[j].rule), d->model);
                CHECK(!"restricted data forwarded to an external upstream");
            }
    }
}

static void decide(struct policy_ctx *ctx, const struct policy *p, const struct policy_identity *id,
                   enum policy_endpoint ep, const char *model, size_t ntexts)
{
    struct policy_text t[2] = {{prompt, sizeof(prompt) - 1}, {marked, sizeof(marked) - 1}};
    struct policy_request req;
    struct policy_decision d;

    memset(&req, 0, sizeof(req));
    req.who = id;
    req.endpoint = ep;
    req.model = model;
    req.body_len = 2048;
    req.nmessages = ntexts;
    req.texts = t;
    req.ntexts = ntexts;
    CHECK(policy_decide(ctx, p, &req, hmac_key, sizeof(hmac_key), &d) == VIGIE_OK);
    check_decision(p, &req, &d);
    policy_decision_fini(&d);
}

/* The read-only API a summary (`vigie check`) walks. */
static void summarise(const struct policy *p, const struct policy_identity *id)
{
    struct policy_group_info gi;
    struct policy_limits lim;
    size_t i;
    int w;

    for (i = 0; i < policy_ngroups(p); i++) {
        policy_group_info(p, policy_group_at(p, i), &gi);
        CHECK(gi.name != NULL && (gi.all_models || gi.nmodels == 0 || gi.models != NULL));
    }
    policy_group_info(p, policy_group_base(p), &gi);
    for (i = 0; i < policy_ncallers(p); i++)
        CHECK(policy_caller_ngroups(policy_caller_at(p, i)) > 0);
    for (w = 0; w <= POLICY_WHY_INTERNAL; w++) {
        CHECK(policy_message(p, (enum policy_why)w, "fr") != NULL);
        CHECK(policy_message(p, (enum policy_why)w, "en") != NULL);
    }
    policy_limits_of(p, id, &lim);
    CHECK(lim.body_max > 0 && lim.messages_max > 0 && lim.inspect_ms > 0);
    for (i = 0; i < policy_nrestricted(p); i++)
        CHECK(policy_restricted_at(p, i) != NULL);
}

/* Identification from fixed credentials: whatever matches has groups. */
static void identify(const struct policy *p)
{
    static const struct policy_who whos[] = {
        {"demo-portal-key", 15, NULL, NULL, NULL},
        {"wrong-key", 9, NULL, "alice", "127.0.0.1"},
        {NULL, 0, "CN=Service juridique,OU=Bureau JC,O=DGDDI,C=FR", NULL, NULL},
        {NULL, 0, NULL, "alice.dev", "::ffff:10.20.0.7"},
        {NULL, 0, NULL, "someone", "::1"},
        {NULL, 0, NULL, NULL, "192.0.2.1"},
    };
    struct policy_identity id;
    size_t i;

    for (i = 0; i < sizeof(whos) / sizeof(whos[0]); i++)
        if (policy_identify(p, &whos[i], &id) == 0)
            CHECK(id.ngroups > 0 && id.id != NULL && id.how != NULL);
    /* A wrong key is refused, whatever else comes with it. */
    CHECK(policy_identify(p, &whos[1], &id) == -1);
}

static void exercise(const struct policy *p)
{
    struct policy_identity id;
    struct policy_ctx *ctx;
    const char *models[4];
    size_t nmodels, i;
    struct vigie_buf out;
    int changed, blocked, rc;

    identify(p);
    if (policy_ncallers(p) > 0)
        CHECK(policy_identity_of(p, policy_caller_id(policy_caller_at(p, 0)), &id) == 0);
    else if (policy_identity_of(p, "anonymous", &id) != 0 &&
             policy_identity_of(p, "someone", &id) != 0)
        return;
    CHECK(id.ngroups > 0);
    summarise(p, &id);
    nmodels = pick_models(p, &id, models, sizeof(models) / sizeof(models[0]));
    /* Per input, so that no reference to a policy outlives its input. */
    ctx = policy_ctx_new();
    CHECK(ctx != NULL);
    for (i = 0; i < nmodels; i++)
        decide(ctx, p, &id, POLICY_EP_CHAT, models[i], 1);
    decide(ctx, p, &id, POLICY_EP_CHAT, models[0], 2);
    decide(ctx, p, &id, POLICY_EP_EMBEDDINGS, models[0], 1);
    decide(ctx, p, &id, POLICY_EP_MODELS, NULL, 0);
    vigie_buf_init(&out, 1 << 20);
    rc = policy_filter_response(ctx, p, &id, prompt, sizeof(prompt) - 1, &out, &changed, &blocked);
    CHECK(rc == VIGIE_OK || rc == VIGIE_ERR_MATCH);
    vigie_buf_free(&out);
    policy_ctx_free(ctx);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct vigie_diag diag;
    struct conf_doc *doc;
    struct policy *p = NULL;
    size_t i;

    if (set == NULL)
        setup();
    vigie_diag_init(&diag);
    doc = conf_doc_parse("fuzz.yaml", (const char *)data, size, &diag);
    if (doc == NULL) {
        CHECK(diag.n + diag.dropped > 0);
        goto done;
    }
    p = policy_compile(doc, set, &diag);
    conf_doc_free(doc); /* a compiled policy keeps nothing of the document */
    if (p == NULL) {
        CHECK(diag.n + diag.dropped > 0);
    } else {
        CHECK(diag.n == 0 && diag.dropped == 0);
        CHECK(policy_rules(p) == set);
        exercise(p);
        policy_unref(p);
    }
done:
    for (i = 0; i < diag.n; i++)
        CHECK(strncmp(diag.msgs[i], "fuzz.yaml", 9) == 0);
    vigie_diag_free(&diag);
    return 0;
}
