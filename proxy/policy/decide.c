/*
 * Decisions: who is calling, what they may reach, and what happens to the data
 * in their texts. docs/internals/policy.md walks through policy_decide().
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "policy/policy_int.h"

/* ---- clauses ------------------------------------------------------------------ */

const struct policy_clause *policy_resolve(const struct policy *p,
                                           const struct policy_group *const *groups,
                                           size_t ngroups, size_t rule, int dir)
{
    const struct policy_clause *best = NULL;
    size_t i;

    for (i = 0; i < ngroups; i++) {
        const struct policy_clause *cl = groups[i]->layer.best[dir][rule];
        if (cl == NULL)
            continue;
        /* More specific wins; between groups at the same specificity the
         * strictest, so adding a caller to a group never loosens what
         * another of its groups says at the same level. */
        if (best == NULL || cl->spec > best->spec ||
            (cl->spec == best->spec && cl->action > best->action))
            best = cl;
    }
    return best != NULL ? best : p->base.layer.best[dir][rule];
}

static enum policy_mode clause_mode(const struct policy *p, const struct policy_clause *cl)
{
    return (cl != NULL && cl->mode != POLICY_MODE_INHERIT) ? (enum policy_mode)cl->mode
                                                            : p->mode;
}

static struct policy_where clause_where(const struct policy_clause *cl)
{
    struct policy_where w = {NULL, 0, 0};

    return cl != NULL ? cl->where : w;
}

/* ---- who is calling -------------------------------------------------------------- */

static void identity_of(const struct policy_caller *k, const char *how, struct policy_identity *out)
{
    out->caller = k;
    out->id = k->id;
    out->groups = k->groups;
    out->ngroups = k->ngroups;
    out->how = how;
}

int policy_identify(const struct policy *p, const struct policy_who *who,
                    struct policy_identity *out)
{
    size_t i;

    memset(out, 0, sizeof(*out));
    if (who->api_key != NULL && who->api_key_len > 0) {
        unsigned char md[32];
        unsigned int mdlen = 0;
        const struct policy_caller *found = NULL;
        if (EVP_Digest(who->api_key, who->api_key_len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
            mdlen != 32)
            return -1;
        /* Every key is compared, in constant time, so the time taken says
         * nothing about which caller's key was close. */
        for (i = 0; i < p->ncallers; i++)
            if (p->callers[i]->kind == POLICY_ID_KEY &&
                CRYPTO_memcmp(md, p->callers[i]->key_sha256, 32) == 0)
                found = p->callers[i];
        vigie_wipe(md, sizeof(md));
        if (found == NULL)
            return -1; /* a wrong key is refused, never downgraded to anonymous */
        identity_of(found, "api_key", out);
        return 0;
    }
    if (who->cert_subject != NULL) {
        for (i = 0; i < p->ncallers; i++)
            if (p->callers[i]->kind == POLICY_ID_CERT &&
                strcmp(p->callers[i]->subject, who->cert_subject) == 0) {
                identity_of(p->callers[i], "certificate", out);
                return 0;
            }
    }
    if (who->user != NULL && who->user[0] != '\0' && p->user_header != NULL) {
        int trusted = 0;
        for (i = 0; i < p->nproxies && !trusted; i++)
            trusted = policy_cidr_match(&p->proxies[i], who->peer);
        /* A user header from anyone else is a claim, not an identity. */
        if (!trusted)
            return -1;
        for (i = 0; i < p->ncallers; i++)
            if (p->callers[i]->kind == POLICY_ID_USER &&
                strcmp(p->callers[i]->user, who->user) == 0) {
                identity_of(p->callers[i], "user_header", out);
                return 0;
            }
        if (p->nheader_groups > 0) {
            out->id = who->user;
            out->groups = p->header_groups;
            out->ngroups = p->nheader_groups;
            out->how = "user_header";
            return 0;
        }
        return -1;
    }
    if (who->cert_subject != NULL)
        return -1; /* a certificate nobody listed */
    if (p->nanon > 0) {
        out->id = "anonymous";
        out->groups = p->anon_groups;
        out->ngroups = p->nanon;
        out->how = "anonymous";
        return 0;
    }
    return -1;
}

int policy_identity_of(const struct policy *p, const char *caller_id, struct policy_identity *out)
{
    const struct policy_caller *k = policy_caller_find(p, caller_id);

    /* On failure *out is still a usable identity: that id with no group,
     * which policy_decide refuses as an unknown caller. */
    memset(out, 0, sizeof(*out));
    out->id = caller_id;
    out->how = "unknown";
    if (k == NULL) {
        /* A header user nobody listed gets the user header's groups. */
        if (p->nheader_groups > 0 && strcmp(caller_id, "anonymous") != 0) {
            out->id = caller_id;
            out->groups = p->header_groups;
            out->ngroups = p->nheader_groups;
            out->how = "user_header";
            return 0;
        }
        if (strcmp(caller_id, "anonymous") == 0 && p->nanon > 0) {
            out->id = "anonymous";
            out->groups = p->anon_groups;
            out->ngroups = p->nanon;
            out->how = "anonymous";
            return 0;
        }
        return -1;
    }
    identity_of(k, "listed", out);
    return 0;
}

const char *policy_first_model(const struct policy *p, const struct policy_identity *id)
{
    size_t i, j;

    for (i = 0; i < p->nupstreams; i++)
        for (j = 0; j < p->upstreams[i]->info.nmodels; j++)
            if (policy_model_allowed(p, id, p->upstreams[i]->models[j]))
                return p->upstreams[i]->models[j];
    return NULL;
}

/* A group that says nothing about models or endpoints has the base's. */
static int group_allows_model(const struct policy *p, const struct policy_group *g,
                              const char *model)
{
    size_t j;

    if (!g->has_models)
        g = &p->base;
    if (g->all_models)
        return 1;
    for (j = 0; j < g->nmodels; j++)
        if (strcmp(g->models[j], model) == 0)
            return 1;
    return 0;
}

int policy_model_allowed(const struct policy *p, const struct policy_identity *id,
                         const char *model)
{
    size_t i;

    if (model == NULL || policy_model_upstream(p, model) == NULL)
        return 0;
    for (i = 0; i < id->ngroups; i++)
        if (group_allows_model(p, id->groups[i], model))
            return 1;
    return 0;
}

int policy_endpoint_allowed(const struct policy *p, const struct policy_identity *id,
                            enum policy_endpoint ep)
{
    size_t i;

    if ((unsigned)ep >= POLICY_EP_COUNT)
        return 0;
    for (i = 0; i < id->ngroups; i++) {
        const struct policy_group *g = id->groups[i];
        unsigned eps;
        if (g->has_endpoints)
            eps = g->endpoints;
        else if (p->base.has_endpoints)
            eps = p->base.endpoints;
        else
            eps = (1u << POLICY_EP_COUNT) - 1;
        if (eps & (1u << ep))
            return 1;
    }
    return 0;
}

/* A limit a group does not set is the base's, else the built-in default;
 * between groups, the strictest. */
void policy_limits_of(const struct policy *p, const struct policy_identity *id,
                      struct policy_limits *out)
{
    size_t i;

    out->body_max = (p->base.limits_set & POLICY_LIMIT_BODY) ? p->base.limits.body_max
                                                             : VIGIE_POLICY_BODY_DEFAULT;
    out->messages_max = (p->base.limits_set & POLICY_LIMIT_MESSAGES)
                            ? p->base.limits.messages_max
                            : VIGIE_POLICY_MESSAGES_DEFAULT;
    out->inspect_ms = (p->base.limits_set & POLICY_LIMIT_INSPECT) ? p->base.limits.inspect_ms
                                                                  : VIGIE_POLICY_INSPECT_MS_DEFAULT;
    {
        struct policy_limits g = {0, 0, 0};
        unsigned set = 0;
        for (i = 0; i < id->ngroups; i++) {
            const struct policy_group *gr = id->groups[i];
            if (gr->limits_set & POLICY_LIMIT_BODY) {
                if (!(set & POLICY_LIMIT_BODY) || gr->limits.body_max < g.body_max)
                    g.body_max = gr->limits.body_max;
                set |= POLICY_LIMIT_BODY;
            }
            if (gr->limits_set & POLICY_LIMIT_MESSAGES) {
                if (!(set & POLICY_LIMIT_MESSAGES) || gr->limits.messages_max < g.messages_max)
                    g.messages_max = gr->limits.messages_max;
                set |= POLICY_LIMIT_MESSAGES;
            }
            if (gr->limits_set & POLICY_LIMIT_INSPECT) {
                if (!(set & POLICY_LIMIT_INSPECT) || gr->limits.inspect_ms < g.inspect_ms)
                    g.inspect_ms = gr->limits.inspect_ms;
                set |= POLICY_LIMIT_INSPECT;
            }
        }
        if (set & POLICY_LIMIT_BODY)
            out->body_max = g.body_max;
        if (set & POLICY_LIMIT_MESSAGES)
            out->messages_max = g.messages_max;
        if (set & POLICY_LIMIT_INSPECT)
            out->inspect_ms = g.inspect_ms;
    }
}

/* ---- per-thread context ------------------------------------------------------------- */

struct policy_ctx {
    unsigned magic;
    struct policy *p; /* the policy whose rule set sc was built for (one reference) */
    struct detect_scanner *sc;
    /* The rules whose answer clause can change an answer, for the last
     * group set asked about (the answer scan runs those alone). */
    unsigned char *answer_rules;
    size_t nanswer_rules; /* how many are set */
    const struct policy *answer_p;
    const struct policy_group *const *answer_groups;
    size_t answer_ngroups;
};

struct policy_ctx *policy_ctx_new(void)
{
    struct policy_ctx *ctx = calloc(1, sizeof(*ctx));

    if (ctx != NULL)
        ctx->magic = POLICY_CTX_MAGIC;
    return ctx;
}

void policy_ctx_free(struct policy_ctx *ctx)
{
    if (ctx == NULL)
        return;
    VIGIE_ASSERT(ctx->magic == POLICY_CTX_MAGIC);
    detect_scanner_free(ctx->sc);
    policy_unref(ctx->p);
    free(ctx->answer_rules);
    ctx->magic = 0;
    free(ctx);
}

/* The scanner for p's rule set: after a reload the old one is dropped. */
static struct detect_scanner *ctx_scanner(struct policy_ctx *ctx, const struct policy *p)
{
    VIGIE_ASSERT(ctx->magic == POLICY_CTX_MAGIC);
    if (ctx->p != p || ctx->sc == NULL) {
        /* The binding changes only once the new scanner exists: a failed
         * allocation is retried on the next request, not remembered. */
        struct detect_scanner *sc = detect_scanner_new(p->set, VIGIE_POLICY_BODY_MAX);
        if (sc == NULL)
            return NULL;
        detect_scanner_free(ctx->sc);
        policy_ref((struct policy *)p);
        policy_unref(ctx->p);
        ctx->p = (struct policy *)p;
        ctx->sc = sc;
        ctx->answer_p = NULL; /* the cache below belongs to the old policy */
    }
    return ctx->sc;
}

/* The rules an answer clause can act on for these groups (mask or stricter),
 * computed once per (policy, group set) and kept in ctx. NULL when out of
 * memory. */
static const unsigned char *answer_rules(struct policy_ctx *ctx, const struct policy *p,
                                         const struct policy_identity *who)
{
    size_t i, n = detect_set_nrules(p->set);

    if (ctx->answer_p == p && ctx->answer_groups == who->groups &&
        ctx->answer_ngroups == who->ngroups)
        return ctx->answer_rules;
    free(ctx->answer_rules);
    ctx->answer_p = NULL;
    if ((ctx->answer_rules = calloc(n ? n : 1, 1)) == NULL)
        return NULL;
    ctx->nanswer_rules = 0;
    for (i = 0; i < n; i++) {
        enum policy_mode mode;
        enum policy_action a = policy_rule_action(p, who->groups, who->ngroups,
                                                  detect_set_rule(p->set, i),
                                                  POLICY_DIR_RESPONSE, &mode, NULL);
        if (a >= POLICY_ACT_PSEUDONYMISE) {
            ctx->answer_rules[i] = 1;
            ctx->nanswer_rules++;
        }
    }
    ctx->answer_p = p;
    ctx->answer_groups = who->groups;
    ctx->answer_ngroups = who->ngroups;
    return ctx->answer_rules;
}

int policy_answer_clauses(struct policy_ctx *ctx, const struct policy *p,
                          const struct policy_identity *who)
{
    if (ctx_scanner(ctx, p) == NULL || answer_rules(ctx, p, who) == NULL)
        return 1; /* unknown: judge the answer */
    return ctx->nanswer_rules > 0;
}

/* ---- decisions ---------------------------------------------------------------------- */

void policy_decision_init(struct policy_decision *d)
{
    memset(d, 0, sizeof(*d));
}

void policy_decision_fini(struct policy_decision *d)
{
    size_t i;

    if (d == NULL)
        return;
    for (i = 0; d->out != NULL && i < d->ntexts; i++)
        vigie_buf_free(&d->out[i]);
    free(d->out);
    free(d->out_changed);
    if (d->hits != NULL) {
        vigie_wipe(d->hits, d->nhits * sizeof(*d->hits)); /* spans say where the values are */
        free(d->hits);
    }
    detect_revmap_free(d->map);
    memset(d, 0, sizeof(*d));
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct hits {
    struct policy_hit *v;
    size_t n, cap;
};

static int hit_add(struct hits *h, const struct policy_hit *hit)
{
    if (VIGIE_ARRAY_RESERVE(h->v, h->n, h->cap, 16) != VIGIE_OK)
        return VIGIE_ERR_NOMEM;
    h->v[h->n++] = *hit;
    return VIGIE_OK;
}

static void hits_free(struct hits *h)
{
    if (h->v != NULL)
        vigie_wipe(h->v, h->n * sizeof(*h->v));
    free(h->v);
    memset(h, 0, sizeof(*h));
}

/* What is done with a finding once the upstream is known. A restricted
 * category on its way to an external upstream is always enforced: monitor
 * mode is for trying rules, not for letting restricted data out. */
static enum policy_action applied_action(enum policy_action a, enum policy_mode mode,
                                         int restricted_external)
{
    if (mode == POLICY_MODE_MONITOR && !restricted_external)
        return a == POLICY_ACT_ALLOW ? POLICY_ACT_ALLOW : POLICY_ACT_FLAG;
    if (a == POLICY_ACT_REROUTE)
        return POLICY_ACT_FLAG; /* the value goes, as written, to an internal model */
    return a;
}

struct decide_arg {
    const struct policy *p;
    const struct policy_group *const *groups;
    size_t ngroups;
    int dir;
    int external;
    int violation;                      /* restricted data left in an external-bound text */
    const struct detect_rule *violator;
    const struct detect_rule *blocker;  /* an enforced block revealed by a later pass */
};

static enum detect_action to_detect(enum policy_action a)
{
    switch (a) {
    case POLICY_ACT_ALLOW:
        return DETECT_ACT_ALLOW;
    case POLICY_ACT_FLAG:
    case POLICY_ACT_REROUTE:
        return DETECT_ACT_FLAG;
    case POLICY_ACT_PSEUDONYMISE:
        return DETECT_ACT_PSEUDONYMISE;
    case POLICY_ACT_MASK:
        return DETECT_ACT_MASK;
    case POLICY_ACT_BLOCK:
        return DETECT_ACT_BLOCK;
    }
    return DETECT_ACT_BLOCK;
}

/* The action of the most specific clause for rule r, and its mode. */
static enum policy_action clause_action(const struct policy *p, const struct policy_clause *cl,
                                        const struct detect_rule *r, int dir)
{
    if (cl != NULL)
        return cl->action;
    /* Without a clause, requests get the pack's action; answers pass. */
    return dir == POLICY_DIR_REQUEST ? policy_pack_action(r) : POLICY_ACT_ALLOW;
}

static enum detect_action decide_finding(void *argp, const struct detect_finding *f)
{
    struct decide_arg *a = argp;
    size_t r = detect_rule_index(f->rule);
    const struct policy_clause *cl = policy_resolve(a->p, a->groups, a->ngroups, r, a->dir);
    enum policy_action act = clause_action(a->p, cl, f->rule, a->dir);
    int rx = a->external && a->p->restricted[r];
    enum policy_action ap = applied_action(act, clause_mode(a->p, cl), rx);

    if (rx && (ap == POLICY_ACT_ALLOW || ap == POLICY_ACT_FLAG)) {
        a->violation = 1;
        if (a->violator == NULL)
            a->violator = f->rule;
    }
    if (ap == POLICY_ACT_BLOCK && a->blocker == NULL)
        a->blocker = f->rule;
    return to_detect(ap);
}

/* A request finding with the clause that decides it (applied is set once
 * the upstream is known). */
static struct policy_hit hit_of(const struct policy *p, const struct policy_identity *id,
                                const struct detect_finding *f, size_t text)
{
    const struct policy_clause *cl = policy_resolve(p, id->groups, id->ngroups,
                                                    detect_rule_index(f->rule), POLICY_DIR_REQUEST);
    struct policy_hit h;

    memset(&h, 0, sizeof(h));
    h.rule = f->rule;
    h.text = text;
    h.start = f->start;
    h.end = f->end;
    h.action = clause_action(p, cl, f->rule, POLICY_DIR_REQUEST);
    h.mode = clause_mode(p, cl);
    h.where = clause_where(cl);
    return h;
}

static void refuse(struct policy_decision *d, enum policy_verdict v, enum policy_why why)
{
    d->verdict = v;
    d->why = why;
    d->upstream = NULL;
}

static int scan_error(struct policy_decision *d, int rc)
{
    refuse(d, POLICY_ERROR, rc == VIGIE_ERR_NOMEM ? POLICY_WHY_INTERNAL : POLICY_WHY_DETECTOR);
    return VIGIE_OK;
}

int policy_decide(struct policy_ctx *ctx, const struct policy *p,
                  const struct policy_request *req, const unsigned char *key, size_t keylen,
                  struct policy_decision *d)
{
    const struct policy_identity *id = req->who;
    struct detect_scanner *sc;
    struct policy_limits lim;
    struct hits first = {NULL, 0, 0}, final = {NULL, 0, 0};
    size_t holds = SIZE_MAX; /* the text whose scan the scanner still holds */
    struct decide_arg arg;
    struct detect_mask_opts mopts;
    const struct policy_clause *reroute = NULL, *taken = NULL;
    int block = 0;
    const struct detect_rule *reroute_rule = NULL, *block_rule = NULL;
    unsigned char *rewrite = NULL;
    uint64_t start = now_ns(), budget;
    size_t i, k;
    int rc, external;

    VIGIE_ASSERT(p != NULL && p->magic == POLICY_MAGIC);
    policy_decision_init(d);
    d->mode = p->mode;
    d->model = req->model;
    if (id == NULL || id->ngroups == 0) {
        refuse(d, POLICY_DENY, POLICY_WHY_UNKNOWN_CALLER);
        return VIGIE_OK;
    }
    d->where = id->groups[0]->where; /* a denial points at the caller's (first) group */
    if (!policy_endpoint_allowed(p, id, req->endpoint)) {
        refuse(d, POLICY_DENY, POLICY_WHY_ENDPOINT);
        return VIGIE_OK;
    }
    policy_limits_of(p, id, &lim);
    budget = (uint64_t)lim.inspect_ms * 1000000u;
    if (req->body_len > lim.body_max) {
        refuse(d, POLICY_DENY, POLICY_WHY_BODY);
        return VIGIE_OK;
    }
    if (req->nmessages > lim.messages_max || req->ntexts > VIGIE_POLICY_TEXTS_MAX) {
        refuse(d, POLICY_DENY, POLICY_WHY_MESSAGES);
        return VIGIE_OK;
    }
    if (req->endpoint == POLICY_EP_MODELS) {
        d->verdict = POLICY_ALLOW; /* the gateway filters the list by policy_model_allowed */
        return VIGIE_OK;
    }
    if (!policy_model_allowed(p, id, req->model)) {
        refuse(d, POLICY_DENY, POLICY_WHY_MODEL);
        return VIGIE_OK;
    }
    memset(&d->where, 0, sizeof(d->where));
    d->upstream = policy_model_upstream(p, req->model);
    if ((sc = ctx_scanner(ctx, p)) == NULL)
        return scan_error(d, VIGIE_ERR_NOMEM);

    /* Pass 1: every text scanned, every finding given its clause. Blocks and
     * reroutes concern the whole request, so they are known before any text
     * is rewritten. */
    for (i = 0; i < req->ntexts; i++) {
        const struct detect_finding *f;
        size_t nf;
        rc = detect_scan(sc, req->texts[i].s, req->texts[i].len, NULL, 0);
        if (rc != VIGIE_OK) {
            hits_free(&first);
            return scan_error(d, rc);
        }
        f = detect_scanner_findings(sc, &nf);
        for (k = 0; k < nf; k++) {
            struct policy_hit h = hit_of(p, id, &f[k], i);
            if (hit_add(&first, &h) != VIGIE_OK) {
                hits_free(&first);
                return scan_error(d, VIGIE_ERR_NOMEM);
            }
        }
        if (now_ns() - start > budget) {
            hits_free(&first);
            refuse(d, POLICY_ERROR, POLICY_WHY_BUDGET);
            d->inspect_ns = now_ns() - start;
            return VIGIE_OK;
        }
        holds = i;
    }

    /* Blocks first, then reroutes. Restricted findings bound for an external
     * upstream count as enforced whatever their mode; a reroute makes the
     * upstream internal, which is why the loop runs at most twice. */
    for (;;) {
        external = d->upstream->info.trust == POLICY_TRUST_EXTERNAL;
        block = 0;
        reroute = NULL;
        for (k = 0; k < first.n; k++) {
            const struct policy_hit *h = &first.v[k];
            int enforced = h->mode == POLICY_MODE_ENFORCE ||
                           (external && p->restricted[detect_rule_index(h->rule)]);
            if (!enforced)
                continue;
            if (h->action == POLICY_ACT_BLOCK && !block) {
                block = 1;
                block_rule = h->rule;
                d->where = h->where;
            }
            if (h->action == POLICY_ACT_REROUTE && reroute == NULL) {
                const struct policy_clause *cl = policy_resolve(
                    p, id->groups, id->ngroups, detect_rule_index(h->rule), POLICY_DIR_REQUEST);
                reroute = cl;
                reroute_rule = h->rule;
            }
        }
        if (block || reroute == NULL || d->upstream == reroute->to)
            break;
        d->upstream = reroute->to;
        d->model = reroute->to->info.default_model;
        taken = reroute;
    }
    /* A reroute enforced only because its data was restricted and bound
     * outside (a monitored clause) is no longer enforced once the upstream is
     * internal, so the second pass finds none: the request was rerouted all
     * the same, and the decision must say so. */
    if (!block && reroute == NULL)
        reroute = taken;
    for (k = 0; k < first.n; k++)
        first.v[k].applied = applied_action(
            first.v[k].action, first.v[k].mode,
            external && p->restricted[detect_rule_index(first.v[k].rule)]);
    if (block) {
        d->rule = block_rule;
        refuse(d, POLICY_BLOCK, POLICY_WHY_BLOCKED);
        for (k = 0; k < first.n; k++)
            if (first.v[k].rule == block_rule)
                first.v[k].applied = POLICY_ACT_BLOCK;
        d->hits = first.v;
        d->nhits = first.n;
        d->inspect_ns = now_ns() - start;
        return VIGIE_OK;
    }
    if (reroute != NULL) {
        d->verdict = POLICY_REROUTE;
        d->where = reroute->where;
        d->rule = reroute_rule;
    }

    /* Pass 2: rewrite the texts that have something to replace, masking to a
     * fixpoint (a masked value can reveal another). */
    d->ntexts = req->ntexts;
    d->out = calloc(req->ntexts ? req->ntexts : 1, sizeof(*d->out));
    d->out_changed = calloc(req->ntexts ? req->ntexts : 1, sizeof(int));
    rewrite = calloc(req->ntexts ? req->ntexts : 1, 1);
    d->map = detect_revmap_new();
    if (d->out == NULL || d->out_changed == NULL || rewrite == NULL || d->map == NULL)
        goto nomem;
    for (k = 0; k < first.n; k++)
        if (first.v[k].applied == POLICY_ACT_MASK ||
            first.v[k].applied == POLICY_ACT_PSEUDONYMISE)
            rewrite[first.v[k].text] = 1;
    memset(&arg, 0, sizeof(arg));
    arg.p = p;
    arg.groups = id->groups;
    arg.ngroups = id->ngroups;
    arg.dir = POLICY_DIR_REQUEST;
    arg.external = external;
    memset(&mopts, 0, sizeof(mopts));
    mopts.key = key;
    mopts.keylen = keylen;
    mopts.decide = decide_finding;
    mopts.decide_arg = &arg;
    for (i = 0, k = 0; i < req->ntexts; i++) {
        const char *s = req->texts[i].s;
        size_t len = req->texts[i].len;
        int blocked = 0;
        if (!rewrite[i]) {
            /* Nothing to replace: pass 1's findings stand for this text. */
            for (; k < first.n && first.v[k].text == i; k++) {
                if (external && p->restricted[detect_rule_index(first.v[k].rule)]) {
                    arg.violation = 1;
                    if (arg.violator == NULL)
                        arg.violator = first.v[k].rule;
                }
                if (hit_add(&final, &first.v[k]) != VIGIE_OK)
                    goto nomem;
            }
            continue;
        }
        for (; k < first.n && first.v[k].text == i; k++)
            ;
        vigie_buf_init(&d->out[i], 3 * len + 4096);
        /* Pass 1 ended with a scan of the last text: its findings are still
         * in the scanner, and redact need not scan that text again. */
        mopts.reuse_scan = holds == i;
        holds = SIZE_MAX;
        rc = detect_redact(sc, s, len, &mopts, d->map, &d->out[i], &blocked);
        if (rc == VIGIE_ERR_CONFIG) {
            /* A keyed pseudonym and no key: a deployment error, never a pass. */
            refuse(d, POLICY_ERROR, POLICY_WHY_INTERNAL);
            goto done;
        }
        if (rc != VIGIE_OK) {
            scan_error(d, rc);
            goto done;
        }
        d->out_changed[i] = d->out[i].len != len || memcmp(d->out[i].data, s, len) != 0;
        d->changed |= d->out_changed[i];
        if (external && d->out_changed[i]) {
            /* Egress: what leaves for an external upstream is checked as it
             * will be sent. redact's last pass scanned its own output, so its
             * findings are those of the outgoing text (detect.h). Texts left
             * unchanged were checked with their pass-1 findings above. */
            const struct detect_finding *ef;
            size_t nef, j;
            ef = detect_scanner_findings(sc, &nef);
            for (j = 0; j < nef; j++)
                if (p->restricted[detect_rule_index(ef[j].rule)]) {
                    arg.violation = 1;
                    if (arg.violator == NULL)
                        arg.violator = ef[j].rule;
                }
        }
        {
            const struct detect_finding *f;
            size_t nf, j;
            f = detect_redact_findings(sc, &nf);
            for (j = 0; j < nf; j++) {
                struct policy_hit h = hit_of(p, id, &f[j], i);
                h.applied = applied_action(h.action, h.mode,
                                           external && p->restricted[detect_rule_index(h.rule)]);
                if (hit_add(&final, &h) != VIGIE_OK)
                    goto nomem;
            }
        }
        if (blocked && arg.blocker != NULL) {
            /* An enforced block that only masking another value revealed. */
            d->rule = arg.blocker;
            refuse(d, POLICY_BLOCK, POLICY_WHY_BLOCKED);
            goto done;
        }
        if (now_ns() - start > budget) {
            refuse(d, POLICY_ERROR, POLICY_WHY_BUDGET);
            goto done;
        }
    }

    if (external) {
        if (arg.violation) {
            d->rule = arg.violator;
            refuse(d, POLICY_BLOCK, POLICY_WHY_RESTRICTED);
            goto done;
        }
    }
    if (d->verdict != POLICY_REROUTE)
        d->verdict = d->changed ? POLICY_MASK : POLICY_ALLOW;
done:
    d->hits = final.v;
    d->nhits = final.n;
    final.v = NULL;
    hits_free(&first);
    free(rewrite);
    d->inspect_ns = now_ns() - start;
    if (d->verdict >= POLICY_BLOCK) {
        /* Nothing of a refused request is forwarded: drop the rewritten texts. */
        for (i = 0; i < d->ntexts; i++) {
            vigie_buf_free(&d->out[i]);
            d->out_changed[i] = 0;
        }
        d->changed = 0;
    }
    return VIGIE_OK;
nomem:
    hits_free(&final);
    refuse(d, POLICY_ERROR, POLICY_WHY_INTERNAL);
    goto done;
}

int policy_filter_response(struct policy_ctx *ctx, const struct policy *p,
                           const struct policy_identity *who, const char *text, size_t len,
                           struct vigie_buf *out, int *changed, int *blocked)
{
    struct detect_scanner *sc = ctx_scanner(ctx, p);
    const unsigned char *only;
    struct detect_revmap *map;
    struct decide_arg arg;
    struct detect_mask_opts mopts;
    int rc, b = 0;

    *changed = 0;
    *blocked = 0;
    if (sc == NULL || (only = answer_rules(ctx, p, who)) == NULL)
        return VIGIE_ERR_NOMEM;
    if (ctx->nanswer_rules == 0)
        return VIGIE_OK; /* no clause can change an answer: nothing to scan for */
    if ((map = detect_revmap_new()) == NULL)
        return VIGIE_ERR_NOMEM;
    memset(&arg, 0, sizeof(arg));
    arg.p = p;
    arg.groups = who->groups;
    arg.ngroups = who->ngroups;
    arg.dir = POLICY_DIR_RESPONSE;
    memset(&mopts, 0, sizeof(mopts));
    mopts.decide = decide_finding;
    mopts.decide_arg = &arg;
    /* Only the rules an answer clause acts on: the others would be passed
     * whatever they found. */
    detect_scanner_only(sc, only);
    rc = detect_redact(sc, text, len, &mopts, map, out, &b);
    detect_scanner_only(sc, NULL);
    detect_revmap_free(map);
    if (rc != VIGIE_OK)
        return rc;
    *blocked = b && arg.blocker != NULL;
    *changed = out->len != len || memcmp(out->data, text, len) != 0;
    return VIGIE_OK;
}

const struct policy_upstream *policy_passthrough(const struct policy *p,
                                                const struct policy_identity *id,
                                                const char *method, const char *path,
                                                size_t len, struct policy_where *where)
{
    static const char *const mnames[] = {"GET", "POST", "PUT", "DELETE", "PATCH", NULL};
    unsigned bit = 0;
    size_t i, m, g, k;

    for (m = 0; mnames[m] != NULL; m++)
        if (strcmp(mnames[m], method) == 0)
            bit = 1u << m;
    for (i = 0; i < p->npassthrough; i++) {
        const struct policy_passthrough *t = &p->passthrough[i];
        int member = t->ngroups == 0;
        if (!(t->methods & bit))
            continue;
        if (t->prefix ? (len < t->len || memcmp(path, t->path, t->len) != 0)
                      : (len != t->len || memcmp(path, t->path, len) != 0))
            continue;
        for (g = 0; g < t->ngroups && !member; g++)
            for (k = 0; k < id->ngroups; k++)
                member |= id->groups[k] == t->groups[g];
        if (!member)
            continue;
        if (where != NULL)
            *where = t->where;
        return t->to;
    }
    return NULL;
}

size_t policy_npassthrough(const struct policy *p)
{
    return p->npassthrough;
}
