/*
 * vigie check: load a policy with its packs, report every problem as
 * FILE:LINE:COL: message, or print a one-screen summary.
 *
 * vigie scan --policy: the dry run of one request. The text the model would
 * receive goes to stdout (nothing when refused); the decision, every finding
 * and the clause that decided it go to stderr, or everything as one JSON
 * object with --json.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "net/net.h"
#include "net/tls.h"
#include "policy/load.h"

static void print_where(FILE *f, const struct policy_where *w, const struct detect_rule *r)
{
    if (w->file != NULL)
        fprintf(f, "%s:%u:%u", w->file, w->line, w->col);
    else if (r != NULL)
        fprintf(f, "pack %s (the rule's own action)", detect_rule_pack(r));
    else
        fprintf(f, "-");
}

/* ---- check --------------------------------------------------------------------- */

static void print_list(FILE *f, const char *const *v, size_t n, size_t max)
{
    size_t i;

    for (i = 0; i < n && i < max; i++)
        fprintf(f, "%s%s", i ? ", " : "", v[i]);
    if (n > max)
        fprintf(f, ", ... (%zu in all)", n);
}

static void print_endpoints(FILE *f, unsigned eps)
{
    int i, first = 1;

    for (i = 0; i < POLICY_EP_COUNT; i++)
        if (eps & (1u << i)) {
            fprintf(f, "%s%s", first ? "" : ",", policy_endpoint_name((enum policy_endpoint)i));
            first = 0;
        }
    if (first)
        fprintf(f, "none");
}

/* One line per category: the base action (with how many rules differ by rule
 * clauses or modes), then each group's differences. */
static void print_actions(FILE *f, const struct policy *p)
{
    const struct detect_set *set = policy_rules(p);
    size_t n = detect_set_nrules(set), i, j, g;
    int dir;

    for (dir = 0; dir < 2; dir++) {
        fprintf(f, "\n%s (defaults%s):\n", dir == 0 ? "actions on requests" : "actions on answers",
                dir == 1 ? "; no clause: passed" : "");
        for (i = 0; i < n; i++) {
            const struct detect_rule *r = detect_set_rule(set, i);
            const char *cat = detect_rule_category(r);
            size_t nr = 0, nmon = 0, nother = 0;
            enum policy_action a0 = POLICY_ACT_ALLOW;
            int seen = 0;
            for (j = 0; j < i; j++)
                if (strcmp(detect_rule_category(detect_set_rule(set, j)), cat) == 0)
                    seen = 1;
            if (seen)
                continue;
            for (j = i; j < n; j++) {
                const struct detect_rule *rj = detect_set_rule(set, j);
                enum policy_mode m;
                enum policy_action a;
                if (strcmp(detect_rule_category(rj), cat) != 0)
                    continue;
                a = policy_rule_action(p, NULL, 0, rj, (enum policy_direction)dir, &m, NULL);
                if (nr == 0)
                    a0 = a;
                else if (a != a0)
                    nother++;
                nmon += m == POLICY_MODE_MONITOR && a != POLICY_ACT_ALLOW;
                nr++;
            }
            if (dir == 1 && a0 == POLICY_ACT_ALLOW && nother == 0)
                continue;
            fprintf(f, "  %-28s %2zu rule%s  %-12s%s", cat, nr, nr > 1 ? "s" : " ",
                    policy_action_name(a0), policy_rule_restricted(p, r) ? "  restricted" : "");
            if (nother)
                fprintf(f, "  (%zu rule%s differ)", nother, nother > 1 ? "s" : "");
            if (nmon)
                fprintf(f, "  (%zu in monitor mode)", nmon);
            fputc('\n', f);
        }
        for (g = 0; g < policy_ngroups(p); g++) {
            const struct policy_group *gr = policy_group_at(p, g);
            int printed = 0;
            /* Per category: the category with one action when all its rules
             * change alike, else the rules one by one. */
            for (i = 0; i < n; i++) {
                const struct detect_rule *r = detect_set_rule(set, i);
                const char *cat = detect_rule_category(r);
                size_t nr = 0, ndiff = 0, seen = 0;
                enum policy_action first = POLICY_ACT_ALLOW;
                int same = 1;
                for (j = 0; j < i; j++)
                    seen |= strcmp(detect_rule_category(detect_set_rule(set, j)), cat) == 0;
                if (seen)
                    continue;
                for (j = i; j < n; j++) {
                    const struct detect_rule *rj = detect_set_rule(set, j);
                    enum policy_mode m0, m1;
                    enum policy_action a0, a1;
                    if (strcmp(detect_rule_category(rj), cat) != 0)
                        continue;
                    nr++;
                    a0 = policy_rule_action(p, NULL, 0, rj, (enum policy_direction)dir, &m0, NULL);
                    a1 = policy_rule_action(p, &gr, 1, rj, (enum policy_direction)dir, &m1, NULL);
                    if (a0 == a1 && m0 == m1)
                        continue;
                    if (ndiff++ == 0)
                        first = a1;
                    else if (a1 != first)
                        same = 0;
                }
                if (ndiff == 0)
                    continue;
                fprintf(f, "%s", printed ? ", " : "");
                if (!printed)
                    fprintf(f, "  group %s: ", policy_group_name(gr));
                printed = 1;
                if (ndiff == nr && same) {
                    fprintf(f, "%s %s", cat, policy_action_name(first));
                    continue;
                }
                for (j = i, seen = 0; j < n; j++) {
                    const struct detect_rule *rj = detect_set_rule(set, j);
                    enum policy_mode m0, m1;
                    enum policy_action a0, a1;
                    if (strcmp(detect_rule_category(rj), cat) != 0)
                        continue;
                    a0 = policy_rule_action(p, NULL, 0, rj, (enum policy_direction)dir, &m0, NULL);
                    a1 = policy_rule_action(p, &gr, 1, rj, (enum policy_direction)dir, &m1, NULL);
                    if (a0 != a1 || m0 != m1)
                        fprintf(f, "%s%s %s%s", seen++ ? ", " : "", detect_rule_id(rj),
                                policy_action_name(a1),
                                m1 == POLICY_MODE_MONITOR ? " (monitor)" : "");
                }
            }
            if (printed)
                fputc('\n', f);
        }
    }
}

static void print_summary(FILE *f, const struct policy *p)
{
    const struct detect_set *set = policy_rules(p);
    size_t i, nkey = 0, ncert = 0, nuser = 0;
    const struct policy_upstream *rr = policy_reroute_default(p);

    fprintf(f, "%s: policy %s version %s, mode %s: valid\n", policy_file(p), policy_id(p),
            policy_version(p), policy_mode(p) == POLICY_MODE_MONITOR ? "monitor" : "enforce");
    fprintf(f, "rules:      %zu detectors in %zu packs\n", detect_set_nrules(set),
            detect_set_npacks(set));
    fprintf(f, "upstreams:\n");
    for (i = 0; i < policy_nupstreams(p); i++) {
        struct policy_upstream_info u;
        policy_upstream_info(policy_upstream_at(p, i), &u);
        fprintf(f, "  %-12s %-8s %-28s models: ", u.name,
                u.trust == POLICY_TRUST_INTERNAL ? "internal" : "external", u.url);
        print_list(f, u.models, u.nmodels, 6);
        if (u.cred_env)
            fprintf(f, "; credential: env %s", u.cred_env);
        else if (u.cred_file)
            fprintf(f, "; credential: file %s", u.cred_file);
        if (rr == policy_upstream_at(p, i))
            fprintf(f, "; reroute target (model %s)", u.default_model);
        fputc('\n', f);
    }
    fprintf(f, "groups:\n");
    for (i = 0; i < policy_ngroups(p); i++) {
        struct policy_group_info g;
        size_t k, j, members = 0;
        policy_group_info(p, policy_group_at(p, i), &g);
        for (k = 0; k < policy_ncallers(p); k++) {
            const struct policy_caller *c = policy_caller_at(p, k);
            for (j = 0; j < policy_caller_ngroups(c); j++)
                members += policy_caller_group(c, j) == policy_group_at(p, i);
        }
        fprintf(f, "  %-12s %zu caller%s  models: ", g.name, members, members == 1 ? " " : "s");
        if (g.all_models)
            fprintf(f, "*");
        else
            print_list(f, g.models, g.nmodels, 4);
        fprintf(f, "  endpoints: ");
        print_endpoints(f, g.endpoints);
        fputc('\n', f);
    }
    for (i = 0; i < policy_ncallers(p); i++) {
        const char *k = policy_caller_kind(policy_caller_at(p, i));
        nkey += strcmp(k, "api_key") == 0;
        ncert += strcmp(k, "certificate") == 0;
        nuser += strcmp(k, "user") == 0;
    }
    fprintf(f, "callers:    %zu (%zu by API key, %zu by certificate, %zu by user header)\n",
            policy_ncallers(p), nkey, ncert, nuser);
    if (policy_user_header(p) != NULL) {
        fprintf(f, "            header %s from trusted proxies", policy_user_header(p));
        if (policy_header_ngroups(p) > 0) {
            fprintf(f, "; unlisted users join ");
            for (i = 0; i < policy_header_ngroups(p); i++)
                fprintf(f, "%s%s", i ? ", " : "", policy_group_name(policy_header_group(p, i)));
        }
        fputc('\n', f);
    }
    fprintf(f, "            anonymous callers: %s\n",
            policy_anonymous_group(p) ? policy_group_name(policy_anonymous_group(p)) : "refused");
    fprintf(f, "restricted: ");
    for (i = 0; i < policy_nrestricted(p); i++)
        fprintf(f, "%s%s", i ? ", " : "", policy_restricted_at(p, i));
    fprintf(f, "%s\n", policy_nrestricted(p) ? " (never to an external upstream)" : "none");
    print_actions(f, p);
}

/* Loads each TLS listener's certificates and keys as the gateway would: a
 * key that does not match its certificate is found now, not at start. */
static int check_tls(const struct net_config *cfg, struct vigie_diag *diag)
{
    size_t i, j;
    int bad = 0;

    for (i = 0; i < cfg->nlistens; i++) {
        const struct net_listen *ln = &cfg->listens[i];
        struct tls_server_opts o;
        char err[512];
        SSL_CTX *ctx;
        if (ln->ncerts == 0)
            continue;
        memset(&o, 0, sizeof(o));
        for (j = 0; j < ln->ncerts && j < TLS_CERTS_MAX; j++) {
            o.certs[j].cert = ln->certs[j];
            o.certs[j].key = ln->keys[j];
        }
        o.ncerts = j;
        o.client_ca = ln->client_ca;
        o.client_cert = (enum tls_client_cert)ln->client_cert;
        if ((ctx = tls_server_ctx_new(&o, err, sizeof(err))) == NULL) {
            vigie_diag_add(diag, cfg->file, 0, 0, "listener %s: %s", ln->address, err);
            bad = 1;
        } else {
            SSL_CTX_free(ctx);
        }
    }
    return bad;
}

/* The audit key as the gateway will read it (size, mode 0600). */
static int check_audit(const struct net_config *cfg, struct vigie_diag *diag)
{
    unsigned char *key;
    size_t keylen;
    char err[256];

    if (cfg->audit_off || cfg->audit.key_file == NULL)
        return 0;
    if (audit_key_read(cfg->audit.key_file, &key, &keylen, err, sizeof(err)) != VIGIE_OK) {
        vigie_diag_add(diag, cfg->file, 0, 0, "audit.key_file %s: %s", cfg->audit.key_file, err);
        return 1;
    }
    vigie_wipe(key, keylen);
    free(key);
    return 0;
}

int cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {
        {"policy", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = VIGIE_DEFAULT_POLICY;
    const char *rules = VIGIE_DEFAULT_RULES;
    const char *gateway = NULL;
    struct net_config cfg;
    struct vigie_diag diag, warn;
    struct policy *p;
    int c;

    while ((c = getopt_long(argc, argv, "p:c:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            path = optarg;
            break;
        case 'c':
            gateway = optarg;
            break;
        case 'h':
            cli_usage(stdout);
            return 0;
        default:
            cli_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s check: unexpected argument '%s' (use --policy FILE)\n", cli_progname,
                argv[optind]);
        return EXIT_USAGE;
    }
    vigie_diag_init(&diag);
    vigie_diag_init(&warn);
    net_config_defaults(&cfg);
    if (gateway != NULL) {
        /* The gateway's configuration: the file, the files it names (TLS
         * certificates and keys loaded as the gateway would), then its policy. */
        if (net_config_load(&cfg, gateway, &diag) != VIGIE_OK ||
            net_config_check(&cfg, &diag) != VIGIE_OK || check_tls(&cfg, &diag) != 0 ||
            check_audit(&cfg, &diag) != 0) {
            cli_print_diag(stderr, &diag, NULL);
            fprintf(stderr, "%s check: %s is not valid (%zu problem%s)\n", cli_progname, gateway,
                    diag.n + diag.dropped, diag.n + diag.dropped == 1 ? "" : "s");
            vigie_diag_free(&diag);
            net_config_fini(&cfg);
            return EXIT_REFUSED;
        }
        printf("gateway %s: %zu listener%s, %u worker%s, policy %s\n", gateway, cfg.nlistens,
               cfg.nlistens == 1 ? "" : "s", cfg.workers, cfg.workers == 1 ? "" : "s",
               cfg.policy_file);
        path = cfg.policy_file;
        if (cfg.rules_dir != NULL)
            rules = cfg.rules_dir;
    }
    p = policy_load_file(path, rules, 0, &diag);
    net_config_fini(&cfg);
    if (p == NULL) {
        cli_print_diag(stderr, &diag, NULL);
        fprintf(stderr, "%s check: the policy is not valid (%zu problem%s)\n", cli_progname,
                diag.n + diag.dropped, diag.n + diag.dropped == 1 ? "" : "s");
        vigie_diag_free(&diag);
        return EXIT_REFUSED;
    }
    print_summary(stdout, p);
    if (policy_probe_credentials(p, &warn) > 0) {
        fputc('\n', stdout);
        fflush(stdout);
        cli_print_diag(stderr, &warn, "warning: ");
    }
    policy_unref(p);
    vigie_diag_free(&diag);
    vigie_diag_free(&warn);
    return 0;
}

/* ---- scan --policy ------------------------------------------------------------------- */

static int json_decision(const struct policy *p, const struct policy_identity *id,
                         const struct policy_decision *d, const char *text, size_t len,
                         struct vigie_buf *b)
{
    size_t i;
    int rc;
    struct policy_upstream_info u;

    rc = vigie_buf_printf(b, "{\"decision\":\"%s\",\"reason\":\"%s\",\"caller\":",
                          policy_verdict_name(d->verdict), policy_why_name(d->why));
    if (rc == VIGIE_OK)
        rc = vigie_buf_json_str(b, id->id, strlen(id->id));
    if (rc == VIGIE_OK)
        rc = vigie_buf_append(b, ",\"groups\":[", 11);
    for (i = 0; rc == VIGIE_OK && i < id->ngroups; i++)
        rc = vigie_buf_printf(b, "%s\"%s\"", i ? "," : "", policy_group_name(id->groups[i]));
    if (rc == VIGIE_OK && d->upstream != NULL) {
        policy_upstream_info(d->upstream, &u);
        rc = vigie_buf_printf(b, "],\"upstream\":\"%s\",\"trust\":\"%s\",\"model\":\"%s\"",
                              u.name, u.trust == POLICY_TRUST_INTERNAL ? "internal" : "external",
                              d->model ? d->model : "");
    } else if (rc == VIGIE_OK) {
        rc = vigie_buf_append(b, "],\"upstream\":null,\"trust\":null,\"model\":null", 43);
    }
    if (rc == VIGIE_OK && d->verdict >= POLICY_BLOCK) {
        rc = vigie_buf_append(b, ",\"message\":{\"fr\":", 17);
        if (rc == VIGIE_OK) {
            const char *m = policy_message(p, d->why, "fr");
            rc = vigie_buf_json_str(b, m, strlen(m));
        }
        if (rc == VIGIE_OK)
            rc = vigie_buf_append(b, ",\"en\":", 6);
        if (rc == VIGIE_OK) {
            const char *m = policy_message(p, d->why, "en");
            rc = vigie_buf_json_str(b, m, strlen(m));
        }
        if (rc == VIGIE_OK)
            rc = vigie_buf_appendc(b, '}');
    }
    if (rc == VIGIE_OK && d->rule != NULL)
        rc = vigie_buf_printf(b, ",\"rule\":\"%s\"", detect_rule_id(d->rule));
    if (rc == VIGIE_OK && d->where.file != NULL) {
        rc = vigie_buf_append(b, ",\"decided_by\":", 14);
        if (rc == VIGIE_OK) {
            char w[1024];
            snprintf(w, sizeof(w), "%s:%u:%u", d->where.file, d->where.line, d->where.col);
            rc = vigie_buf_json_str(b, w, strlen(w));
        }
    }
    if (rc == VIGIE_OK) {
        /* The text that would be sent; null when nothing would be. */
        rc = vigie_buf_append(b, ",\"text\":", 8);
        if (rc == VIGIE_OK && d->verdict >= POLICY_BLOCK)
            rc = vigie_buf_append(b, "null", 4);
        else if (rc == VIGIE_OK && d->ntexts > 0 && d->out_changed != NULL && d->out_changed[0])
            rc = vigie_buf_json_str(b, d->out[0].data, d->out[0].len);
        else if (rc == VIGIE_OK)
            rc = vigie_buf_json_str(b, text, len);
    }
    if (rc == VIGIE_OK)
        rc = vigie_buf_append(b, ",\"findings\":[", 13);
    for (i = 0; rc == VIGIE_OK && i < d->nhits; i++) {
        const struct policy_hit *h = &d->hits[i];
        char w[1024];
        if (h->where.file != NULL)
            snprintf(w, sizeof(w), "%s:%u:%u", h->where.file, h->where.line, h->where.col);
        else
            snprintf(w, sizeof(w), "pack %s", detect_rule_pack(h->rule));
        rc = vigie_buf_printf(b,
                              "%s{\"rule\":\"%s\",\"category\":\"%s\",\"start\":%zu,\"end\":%zu,"
                              "\"action\":\"%s\",\"applied\":\"%s\",\"mode\":\"%s\","
                              "\"restricted\":%s,\"clause\":",
                              i ? "," : "", detect_rule_id(h->rule), detect_rule_category(h->rule),
                              h->start, h->end, policy_action_name(h->action),
                              policy_action_name(h->applied),
                              h->mode == POLICY_MODE_MONITOR ? "monitor" : "enforce",
                              policy_rule_restricted(p, h->rule) ? "true" : "false");
        if (rc == VIGIE_OK)
            rc = vigie_buf_json_str(b, w, strlen(w));
        if (rc == VIGIE_OK)
            rc = vigie_buf_appendc(b, '}');
    }
    if (rc == VIGIE_OK)
        rc = vigie_buf_append(b, "]}\n", 3);
    return rc;
}

static void report_decision(FILE *f, const struct policy *p, const struct policy_identity *id,
                            const struct policy_decision *d)
{
    size_t i;

    fprintf(f, "decision:   %s", policy_verdict_name(d->verdict));
    if (d->why != POLICY_WHY_NONE)
        fprintf(f, " (%s)", policy_why_name(d->why));
    fputc('\n', f);
    fprintf(f, "caller:     %s (", id->id);
    for (i = 0; i < id->ngroups; i++)
        fprintf(f, "%s%s", i ? ", " : "", policy_group_name(id->groups[i]));
    fprintf(f, ")\n");
    if (d->upstream != NULL) {
        struct policy_upstream_info u;
        policy_upstream_info(d->upstream, &u);
        fprintf(f, "upstream:   %s (%s), model %s\n", u.name,
                u.trust == POLICY_TRUST_INTERNAL ? "internal" : "external",
                d->model ? d->model : "-");
    }
    if (d->verdict == POLICY_BLOCK || d->verdict == POLICY_REROUTE ||
        d->verdict == POLICY_DENY || d->verdict == POLICY_ERROR) {
        fprintf(f, "decided by: ");
        if (d->rule != NULL)
            fprintf(f, "rule %s, ", detect_rule_id(d->rule));
        if (d->why == POLICY_WHY_RESTRICTED)
            fprintf(f, "the restricted-data invariant (egress check)");
        else
            print_where(f, &d->where, d->rule);
        fputc('\n', f);
    }
    if (d->verdict >= POLICY_BLOCK)
        fprintf(f, "message:    %s\n", policy_message(p, d->why, "en"));
    if (d->nhits > 0)
        fprintf(f, "findings:\n");
    for (i = 0; i < d->nhits; i++) {
        const struct policy_hit *h = &d->hits[i];
        fprintf(f, "  %-32s %-24s bytes %zu-%zu  %s", detect_rule_id(h->rule),
                detect_rule_category(h->rule), h->start, h->end, policy_action_name(h->action));
        if (h->applied != h->action)
            fprintf(f, " (applied: %s%s)", policy_action_name(h->applied),
                    h->mode == POLICY_MODE_MONITOR ? ", monitor mode" : "");
        fprintf(f, "  <- ");
        print_where(f, &h->where, h->rule);
        fputc('\n', f);
    }
}

int cmd_scan_policy(const char *path, const char *caller, const char *model,
                    const char *endpoint, int json, size_t max_input, const char *keyfile)
{
    struct vigie_diag diag;
    struct policy *p = NULL;
    struct policy_ctx *ctx = NULL;
    struct policy_identity id;
    struct policy_decision d;
    struct policy_request req;
    struct policy_text t;
    struct vigie_buf in, key, out;
    int status = EXIT_USAGE, ep = POLICY_EP_CHAT, rc;
    char err[512];

    vigie_diag_init(&diag);
    vigie_buf_init(&in, 0);
    vigie_buf_init(&key, 0);
    vigie_buf_init(&out, 0);
    policy_decision_init(&d);
    if (endpoint != NULL && ((ep = policy_endpoint_parse(endpoint)) < 0 || ep == POLICY_EP_MODELS)) {
        fprintf(stderr, "%s scan: --endpoint: expected chat, completions or embeddings, got '%s'\n",
                cli_progname, endpoint);
        goto out;
    }
    if ((p = policy_load_file(path, VIGIE_DEFAULT_RULES, 0, &diag)) == NULL) {
        cli_print_diag(stderr, &diag, NULL);
        fprintf(stderr, "%s scan: the policy did not load; nothing was scanned\n", cli_progname);
        goto out;
    }
    if (caller == NULL && policy_anonymous_group(p) == NULL) {
        size_t i;
        fprintf(stderr, "%s scan: this policy refuses anonymous callers: say who is asking with "
                        "--as CALLER (one of:", cli_progname);
        for (i = 0; i < policy_ncallers(p); i++)
            fprintf(stderr, " %s", policy_caller_id(policy_caller_at(p, i)));
        fprintf(stderr, ")\n");
        goto out;
    }
    if (caller == NULL)
        caller = "anonymous";
    /* A refused "anonymous" goes on with no group: the decision says why. */
    if (policy_identity_of(p, caller, &id) != 0 && strcmp(caller, "anonymous") != 0) {
        size_t i;
        fprintf(stderr, "%s scan: unknown caller '%s'; the policy's callers are:", cli_progname,
                caller);
        for (i = 0; i < policy_ncallers(p); i++)
            fprintf(stderr, " %s", policy_caller_id(policy_caller_at(p, i)));
        fprintf(stderr, "\n");
        goto out;
    }
    if (model == NULL && (model = policy_first_model(p, &id)) == NULL) {
        fprintf(stderr, "%s scan: caller '%s' may use no model\n", cli_progname, caller);
        goto out;
    }
    if (keyfile != NULL) {
        if (vigie_file_read(keyfile, 4096, &key, err, sizeof(err)) != VIGIE_OK) {
            fprintf(stderr, "%s scan: %s\n", cli_progname, err);
            goto out;
        }
        if (key.len < 32) {
            fprintf(stderr, "%s scan: %s: a pseudonym key needs at least 32 bytes\n",
                    cli_progname, keyfile);
            goto out;
        }
    }
    status = EXIT_REFUSED;
    rc = cli_read_stdin(max_input, &in);
    if (rc != VIGIE_OK) {
        fprintf(stderr, "%s scan: input refused: %s\n", cli_progname,
                rc == VIGIE_ERR_TOO_BIG ? "larger than --max-input" : vigie_strerror(rc));
        goto out;
    }
    if ((ctx = policy_ctx_new()) == NULL)
        goto out;
    t.s = in.data ? in.data : "";
    t.len = in.len;
    memset(&req, 0, sizeof(req));
    req.who = &id;
    req.endpoint = (enum policy_endpoint)ep;
    req.model = model;
    req.body_len = in.len;
    req.nmessages = 1;
    req.texts = &t;
    req.ntexts = 1;
    rc = policy_decide(ctx, p, &req, (const unsigned char *)key.data, key.len, &d);
    if (rc != VIGIE_OK) {
        fprintf(stderr, "%s scan: %s\n", cli_progname, vigie_strerror(rc));
        goto out;
    }
    if (json) {
        vigie_buf_init(&out, 8 * max_input + 65536);
        if (json_decision(p, &id, &d, t.s, t.len, &out) != VIGIE_OK ||
            cli_write_all(out.data, out.len) != 0) {
            fprintf(stderr, "%s scan: cannot write the result\n", cli_progname);
            goto out;
        }
    } else {
        report_decision(stderr, p, &id, &d);
        if (d.verdict < POLICY_BLOCK) {
            int changed = d.out_changed != NULL && d.out_changed[0];
            const char *s = changed ? d.out[0].data : t.s;
            size_t n = changed ? d.out[0].len : t.len;
            if (cli_write_all(s, n) != 0)
                goto out;
        }
    }
    switch (d.verdict) {
    case POLICY_ALLOW:
    case POLICY_MASK:
    case POLICY_REROUTE:
        status = 0;
        break;
    case POLICY_BLOCK:
        status = EXIT_BLOCKED;
        break;
    default:
        status = EXIT_REFUSED;
        break;
    }
out:
    policy_decision_fini(&d);
    policy_ctx_free(ctx);
    policy_unref(p);
    vigie_buf_free(&in);
    vigie_buf_free(&key);
    vigie_buf_free(&out);
    vigie_diag_free(&diag);
    return status;
}
