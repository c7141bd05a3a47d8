/*
 * vigie test FILE...: policy test cases, written by the security officers
 * who write the policy. Each file names its policy and lists cases:
 *
 *   policy: customs.yaml            # relative to the test file
 *   cases:
 *     - name: an agent's e-mail is pseudonymised
 *       as: chat-portal             # caller id, header user, or anonymous
 *       model: gpt-4o-mini          # default: the caller's first allowed model
 *       endpoint: chat              # default chat
 *       prompt: "Écrire à jean.dupont@example.fr"   # or texts: [..] for several fields
 *       expect:
 *         decision: mask            # allow, mask, reroute, block, deny, error
 *         reason: restricted        # why a request was refused
 *         upstream: cloud
 *         model: gpt-4o-mini
 *         text: "Écrire à [EMAIL_1]"     # the exact text sent (one-text cases)
 *         contains: ["[EMAIL_1]"]
 *         not_contains: ["example.fr"]
 *         categories: [contact.email]    # exactly the categories found
 *         rules: [contact.email]         # exactly the rules found
 *         actions: { contact.email: pseudonymise }  # what was applied, per category
 *
 * The report names each case, says what differed, and exits 1 if any failed.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "policy/load.h"

struct loaded {
    char *path;
    struct policy *p;
};

struct run {
    struct loaded *pol;
    size_t npol, cappol;
    struct policy_ctx *ctx;
    size_t pass, fail;
};

/* Policies are loaded once however many test files name them. */
static struct policy *get_policy(struct run *r, const char *path, struct vigie_diag *diag)
{
    size_t i;
    struct policy *p;

    for (i = 0; i < r->npol; i++)
        if (strcmp(r->pol[i].path, path) == 0)
            return r->pol[i].p;
    if ((p = policy_load_file(path, VIGIE_DEFAULT_RULES, 0, diag)) == NULL)
        return NULL;
    if (VIGIE_ARRAY_RESERVE(r->pol, r->npol, r->cappol, 4) != VIGIE_OK ||
        (r->pol[r->npol].path = strdup(path)) == NULL) {
        policy_unref(p);
        return NULL;
    }
    r->pol[r->npol++].p = p;
    return p;
}

/* A failed expectation, printed under the case's line. */
struct report {
    struct vigie_buf b;
    int failed;
};

static void miss(struct report *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void miss(struct report *rep, const char *fmt, ...)
{
    char line[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    rep->failed = 1;
    vigie_buf_printf(&rep->b, "          %s\n", line);
}

static int str_in(const char *s, const char *const *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

/* Compares a set of names found with the expected list; reports both ways. */
static void expect_set(struct report *rep, const char *what, const struct conf_node *exp,
                       const char *const *found, size_t nfound, struct vigie_diag *diag)
{
    size_t i;
    const char *s;

    if (exp->kind != CONF_SEQ) {
        conf_diag(diag, exp, "'%s' must be a list", what);
        rep->failed = 1;
        return;
    }
    for (i = 0; i < exp->n; i++) {
        if (conf_get_str(exp->vals[i], &s, NULL, diag) != VIGIE_OK) {
            rep->failed = 1;
            continue;
        }
        if (!str_in(s, found, nfound))
            miss(rep, "%s: expected %s, not found", what, s);
    }
    for (i = 0; i < nfound; i++) {
        size_t j;
        int listed = 0;
        for (j = 0; j < exp->n; j++)
            listed |= exp->vals[j]->kind == CONF_SCALAR &&
                      strcmp(exp->vals[j]->str, found[i]) == 0;
        if (!listed)
            miss(rep, "%s: found %s, not expected", what, found[i]);
    }
}

static const char *one_of(const struct conf_node *n, const char *key, struct vigie_diag *diag)
{
    const struct conf_node *v = conf_map_get(n, key);
    const char *s;

    if (v == NULL)
        return NULL;
    if (conf_get_str(v, &s, NULL, diag) != VIGIE_OK)
        return NULL;
    return s;
}

/* The case's caller; a refused "anonymous" goes on with no group (the
 * decision says why), any other unknown name is an error in the case. */
static int case_identity(const struct policy *p, const struct conf_node *cs, const char *as,
                         struct policy_identity *id, struct vigie_diag *diag)
{
    if (policy_identity_of(p, as ? as : "anonymous", id) != 0 && as != NULL &&
        strcmp(as, "anonymous") != 0) {
        conf_diag(diag, conf_map_get(cs, "as") ? conf_map_get(cs, "as") : cs,
                  "unknown caller '%s'", as);
        return -1;
    }
    return 0;
}

static void finish_case(struct run *r, const char *name, const struct conf_node *cs,
                        struct report *rep)
{
    if (rep->failed) {
        r->fail++;
        printf("  FAIL  %s  (%s:%u)\n%s", name, conf_doc_file(cs->doc), cs->line,
               rep->b.data ? rep->b.data : "");
    } else {
        r->pass++;
        printf("  ok    %s\n", name);
    }
    vigie_buf_free(&rep->b);
}

/* A case on the answer's way back: `answer:` instead of `prompt:`. The
 * response clauses apply (mask, flag, block); decision is allow (unchanged),
 * mask (rewritten) or block. */
static int run_answer(struct run *r, const struct policy *p, const struct conf_node *cs,
                      const struct conf_node *ans, const char *name, const char *as,
                      const struct conf_node *exp, struct vigie_diag *diag)
{
    static const char *const ekeys[] = {"decision", "text", "contains", "not_contains", NULL};
    struct policy_identity id;
    struct report rep;
    struct vigie_buf out;
    const char *text, *s, *got;
    const struct conf_node *v;
    size_t len, i, sentlen;
    int changed, blocked, j;
    const char *sent;

    if (conf_get_str(ans, &text, &len, diag) != VIGIE_OK)
        return -1;
    if (conf_map_check_keys(exp, ekeys, diag) > 0)
        return -1;
    if (case_identity(p, cs, as, &id, diag) != 0)
        return -1;
    vigie_buf_init(&out, 3 * len + 4096);
    if (policy_filter_response(r->ctx, p, &id, text, len, &out, &changed, &blocked) != VIGIE_OK) {
        vigie_buf_free(&out);
        conf_diag(diag, cs, "case '%s': the answer could not be filtered", name);
        return -1;
    }
    memset(&rep, 0, sizeof(rep));
    vigie_buf_init(&rep.b, 1u << 20);
    got = blocked ? "block" : changed ? "mask" : "allow";
    sent = blocked ? NULL : changed ? out.data : text;
    sentlen = blocked ? 0 : changed ? out.len : len;
    if ((s = one_of(exp, "decision", diag)) != NULL && strcmp(s, got) != 0)
        miss(&rep, "decision: expected %s, got %s", s, got);
    if ((v = conf_map_get(exp, "text")) != NULL) {
        const char *want;
        size_t wlen;
        if (conf_get_str(v, &want, &wlen, diag) == VIGIE_OK) {
            if (sent == NULL)
                miss(&rep, "text: expected \"%.*s\", but the answer was blocked", (int)wlen,
                     want);
            else if (wlen != sentlen || memcmp(want, sent, wlen) != 0)
                miss(&rep, "text: expected \"%.*s\"\n          got      \"%.*s\"", (int)wlen,
                     want, (int)sentlen, sent);
        }
    }
    for (j = 0; j < 2; j++) {
        const char *key = j ? "not_contains" : "contains";
        if ((v = conf_map_get(exp, key)) == NULL || v->kind != CONF_SEQ)
            continue;
        for (i = 0; i < v->n; i++) {
            int in;
            if (conf_get_str(v->vals[i], &s, NULL, diag) != VIGIE_OK)
                continue;
            in = sent != NULL && memmem(sent, sentlen, s, strlen(s)) != NULL;
            if (!j && !in)
                miss(&rep, "contains: \"%s\" is not in the answer passed on", s);
            if (j && in)
                miss(&rep, "not_contains: \"%s\" is in the answer passed on", s);
        }
    }
    vigie_buf_free(&out);
    finish_case(r, name, cs, &rep);
    return 0;
}

/* Runs one case; returns 0 when it ran (pass or fail), -1 on a case error. */
static int run_case(struct run *r, const struct policy *p, const struct conf_node *cs,
                    struct vigie_diag *diag)
{
    static const char *const keys[] = {"name", "as", "model", "endpoint", "prompt", "texts",
                                       "answer", "description", "expect", NULL};
    static const char *const ekeys[] = {"decision", "reason",     "upstream",   "model",
                                        "text",     "contains",   "not_contains", "categories",
                                        "rules",    "actions",    NULL};
    const struct conf_node *exp, *v;
    const char *name, *as, *model, *endpoint, *s;
    struct policy_identity id;
    struct policy_request req;
    struct policy_decision d;
    struct policy_text texts[64];
    size_t ntexts = 0, i, j, before = diag->n + diag->dropped;
    const char *found_cat[256], *found_rule[256];
    size_t ncat = 0, nrule = 0;
    struct report rep;
    int ep = POLICY_EP_CHAT;

    if (cs->kind != CONF_MAP) {
        conf_diag(diag, cs, "a case must be a mapping");
        return -1;
    }
    conf_map_check_keys(cs, keys, diag);
    name = one_of(cs, "name", diag);
    as = one_of(cs, "as", diag);
    model = one_of(cs, "model", diag);
    endpoint = one_of(cs, "endpoint", diag);
    if (name == NULL)
        conf_diag(diag, cs, "case: missing 'name'");
    if ((exp = conf_map_get(cs, "expect")) == NULL || exp->kind != CONF_MAP)
        conf_diag(diag, cs, "case '%s': missing 'expect' mapping", name ? name : "?");
    else
        conf_map_check_keys(exp, ekeys, diag);
    if (endpoint != NULL && (ep = policy_endpoint_parse(endpoint)) < 0)
        conf_diag(diag, conf_map_get(cs, "endpoint"), "unknown endpoint '%s'", endpoint);
    if ((v = conf_map_get(cs, "answer")) != NULL) {
        if (diag->n + diag->dropped != before || exp == NULL || exp->kind != CONF_MAP)
            return -1;
        return run_answer(r, p, cs, v, name, as, exp, diag);
    }
    if ((v = conf_map_get(cs, "prompt")) != NULL) {
        if (conf_get_str(v, &texts[0].s, &texts[0].len, diag) == VIGIE_OK)
            ntexts = 1;
    } else if ((v = conf_map_get(cs, "texts")) != NULL && v->kind == CONF_SEQ &&
               v->n <= sizeof(texts) / sizeof(texts[0])) {
        for (i = 0; i < v->n; i++)
            if (conf_get_str(v->vals[i], &texts[ntexts].s, &texts[ntexts].len, diag) ==
                VIGIE_OK)
                ntexts++;
    } else if (ep != POLICY_EP_MODELS) {
        conf_diag(diag, cs, "case '%s': give 'prompt' or 'texts' (a list, at most 64)",
                  name ? name : "?");
    }
    if (diag->n + diag->dropped != before)
        return -1;
    if (case_identity(p, cs, as, &id, diag) != 0)
        return -1;
    memset(&req, 0, sizeof(req));
    req.who = &id;
    req.endpoint = (enum policy_endpoint)ep;
    req.model = model;
    if (model == NULL)
        req.model = policy_first_model(p, &id); /* as the dry run picks it */
    for (i = 0; i < ntexts; i++)
        req.body_len += texts[i].len;
    req.nmessages = ntexts;
    req.texts = texts;
    req.ntexts = ntexts;
    policy_decision_init(&d);
    if (policy_decide(r->ctx, p, &req, NULL, 0, &d) != VIGIE_OK) {
        conf_diag(diag, cs, "case '%s': the decision failed", name);
        return -1;
    }

    for (i = 0; i < d.nhits; i++) {
        const char *c = detect_rule_category(d.hits[i].rule), *ru = detect_rule_id(d.hits[i].rule);
        if (!str_in(c, found_cat, ncat) && ncat < 256)
            found_cat[ncat++] = c;
        if (!str_in(ru, found_rule, nrule) && nrule < 256)
            found_rule[nrule++] = ru;
    }
    memset(&rep, 0, sizeof(rep));
    vigie_buf_init(&rep.b, 1u << 20);
    if ((s = one_of(exp, "decision", diag)) != NULL &&
        strcmp(s, policy_verdict_name(d.verdict)) != 0)
        miss(&rep, "decision: expected %s, got %s%s%s%s", s, policy_verdict_name(d.verdict),
             d.why ? " (" : "", d.why ? policy_why_name(d.why) : "", d.why ? ")" : "");
    if ((s = one_of(exp, "reason", diag)) != NULL && strcmp(s, policy_why_name(d.why)) != 0)
        miss(&rep, "reason: expected %s, got %s", s, policy_why_name(d.why));
    if ((s = one_of(exp, "upstream", diag)) != NULL) {
        struct policy_upstream_info u;
        const char *got = "none";
        if (d.upstream != NULL) {
            policy_upstream_info(d.upstream, &u);
            got = u.name;
        }
        if (strcmp(s, got) != 0)
            miss(&rep, "upstream: expected %s, got %s", s, got);
    }
    if ((s = one_of(exp, "model", diag)) != NULL &&
        (d.model == NULL || strcmp(s, d.model) != 0))
        miss(&rep, "model: expected %s, got %s", s, d.model ? d.model : "none");
    /* The text sent: the rewritten one, the original, or nothing. */
    {
        const char *sent = NULL;
        size_t sentlen = 0;
        if (d.verdict < POLICY_BLOCK && ntexts > 0) {
            int ch = d.out_changed != NULL && d.out_changed[0];
            sent = ch ? d.out[0].data : texts[0].s;
            sentlen = ch ? d.out[0].len : texts[0].len;
        }
        if ((v = conf_map_get(exp, "text")) != NULL) {
            const char *want;
            size_t wlen;
            if (conf_get_str(v, &want, &wlen, diag) == VIGIE_OK) {
                if (ntexts != 1)
                    conf_diag(diag, v, "'text' is for one-prompt cases; use contains");
                else if (sent == NULL)
                    miss(&rep, "text: expected \"%.*s\", but nothing was sent", (int)wlen, want);
                else if (wlen != sentlen || memcmp(want, sent, wlen) != 0)
                    miss(&rep, "text: expected \"%.*s\"\n          got      \"%.*s\"", (int)wlen,
                         want, (int)sentlen, sent);
            }
        }
        for (j = 0; j < 2; j++) {
            const char *key = j ? "not_contains" : "contains";
            if ((v = conf_map_get(exp, key)) == NULL)
                continue;
            if (v->kind != CONF_SEQ) {
                conf_diag(diag, v, "'%s' must be a list", key);
                continue;
            }
            for (i = 0; i < v->n; i++) {
                size_t t;
                int in = 0;
                if (conf_get_str(v->vals[i], &s, NULL, diag) != VIGIE_OK)
                    continue;
                for (t = 0; t < ntexts && d.verdict < POLICY_BLOCK; t++) {
                    int ch = d.out_changed != NULL && d.out_changed[t];
                    const char *x = ch ? d.out[t].data : texts[t].s;
                    size_t xl = ch ? d.out[t].len : texts[t].len;
                    in |= memmem(x, xl, s, strlen(s)) != NULL;
                }
                if (!j && !in)
                    miss(&rep, "contains: \"%s\" is not in the text sent", s);
                if (j && in)
                    miss(&rep, "not_contains: \"%s\" is in the text sent", s);
            }
        }
    }
    if ((v = conf_map_get(exp, "categories")) != NULL)
        expect_set(&rep, "categories", v, found_cat, ncat, diag);
    if ((v = conf_map_get(exp, "rules")) != NULL)
        expect_set(&rep, "rules", v, found_rule, nrule, diag);
    if ((v = conf_map_get(exp, "actions")) != NULL) {
        if (v->kind != CONF_MAP) {
            conf_diag(diag, v, "'actions' must map categories to actions");
        } else {
            for (i = 0; i < v->n; i++) {
                const char *cat = v->keys[i]->str, *want;
                size_t k;
                int seen = 0;
                if (conf_get_str(v->vals[i], &want, NULL, diag) != VIGIE_OK)
                    continue;
                for (k = 0; k < d.nhits; k++) {
                    const char *hc = detect_rule_category(d.hits[k].rule);
                    if (strcmp(hc, cat) != 0)
                        continue;
                    seen = 1;
                    if (strcmp(policy_action_name(d.hits[k].applied), want) != 0)
                        miss(&rep, "actions: %s (rule %s): expected %s, applied %s", cat,
                             detect_rule_id(d.hits[k].rule), want,
                             policy_action_name(d.hits[k].applied));
                }
                if (!seen)
                    miss(&rep, "actions: no %s finding", cat);
            }
        }
    }
    if (diag->n + diag->dropped != before)
        rep.failed = 1;
    finish_case(r, name, cs, &rep);
    policy_decision_fini(&d);
    return 0;
}

static int run_file(struct run *r, const char *file)
{
    static const char *const keys[] = {"policy", "description", "cases", NULL};
    struct vigie_buf buf;
    struct vigie_diag diag;
    struct conf_doc *doc = NULL;
    const struct conf_node *root, *cases, *v;
    struct policy *p;
    char err[512], *ppath = NULL;
    const char *s;
    size_t i;
    int status = EXIT_USAGE;

    vigie_diag_init(&diag);
    if (vigie_file_read(file, VIGIE_CONF_FILE_MAX, &buf, err, sizeof(err)) != VIGIE_OK) {
        fprintf(stderr, "%s test: %s\n", cli_progname, err);
        return EXIT_USAGE;
    }
    doc = conf_doc_parse(file, buf.data, buf.len, &diag);
    vigie_buf_free(&buf);
    if (doc == NULL)
        goto out;
    root = conf_doc_root(doc);
    if (root == NULL || root->kind != CONF_MAP) {
        vigie_diag_add(&diag, file, 1, 1, "a test file is a mapping with 'policy' and 'cases'");
        goto out;
    }
    conf_map_check_keys(root, keys, &diag);
    if ((v = conf_map_get(root, "policy")) == NULL) {
        conf_diag(&diag, root, "missing 'policy' (the policy file these cases test)");
        goto out;
    }
    if (conf_get_str(v, &s, NULL, &diag) != VIGIE_OK || (ppath = vigie_path_beside(file, s)) == NULL)
        goto out;
    if ((cases = conf_map_get(root, "cases")) == NULL || cases->kind != CONF_SEQ ||
        cases->n == 0) {
        conf_diag(&diag, cases ? cases : root, "'cases' must be a non-empty list");
        goto out;
    }
    if ((p = get_policy(r, ppath, &diag)) == NULL)
        goto out;
    printf("%s (policy %s %s)\n", file, policy_id(p), policy_version(p));
    status = 0;
    for (i = 0; i < cases->n; i++) {
        size_t before = diag.n;
        if (run_case(r, p, cases->vals[i], &diag) != 0) {
            r->fail++;
            printf("  ERROR case %zu (%s:%u)\n", i + 1, file, cases->vals[i]->line);
            for (; before < diag.n; before++)
                printf("          %s\n", diag.msgs[before]);
        }
    }
    vigie_diag_free(&diag);
    conf_doc_free(doc);
    free(ppath);
    return status;
out:
    cli_print_diag(stderr, &diag, NULL);
    fprintf(stderr, "%s test: %s: not run\n", cli_progname, file);
    vigie_diag_free(&diag);
    conf_doc_free(doc);
    free(ppath);
    return status;
}

int cmd_test(int argc, char **argv)
{
    struct run r;
    int i, status = 0;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: %s test FILE...   (policy test cases; see docs/policy-guide.md)\n",
                cli_progname);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    memset(&r, 0, sizeof(r));
    if ((r.ctx = policy_ctx_new()) == NULL)
        return EXIT_USAGE;
    for (i = 1; i < argc; i++)
        if (run_file(&r, argv[i]) != 0)
            status = EXIT_USAGE;
    printf("\n%zu case%s: %zu passed, %zu failed\n", r.pass + r.fail,
           r.pass + r.fail == 1 ? "" : "s", r.pass, r.fail);
    policy_ctx_free(r.ctx);
    for (i = 0; (size_t)i < r.npol; i++) {
        policy_unref(r.pol[i].p);
        free(r.pol[i].path);
    }
    free(r.pol);
    if (status == 0 && r.fail > 0)
        status = EXIT_REFUSED;
    return status;
}
