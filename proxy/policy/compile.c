/*
 * Policy documents (YAML trees from proxy/conf) compiled into struct policy.
 *
 * Every check reports at the node it concerns and goes on, so one `vigie
 * check` lists every problem of a file. Nothing is kept if anything failed.
 * The language is documented in docs/policy-guide.md; the order of the
 * sections below follows it.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "policy/policy_int.h"

/* ---- allocation ------------------------------------------------------------ */

void *policy_alloc(struct policy *p, size_t n)
{
    void *m;

    if (VIGIE_ARRAY_RESERVE(p->allocs, p->nallocs, p->capallocs, 64) != VIGIE_OK)
        return NULL;
    if ((m = calloc(1, n ? n : 1)) == NULL)
        return NULL;
    p->allocs[p->nallocs++] = m;
    return m;
}

char *policy_strdup(struct policy *p, const char *s, size_t len)
{
    char *d = policy_alloc(p, len + 1);

    if (d != NULL)
        memcpy(d, s, len);
    return d;
}

/* ---- names ----------------------------------------------------------------- */

static const char *const action_names[] = {"allow", "flag", "pseudonymise", "mask",
                                           "reroute", "block"};
static const char *const verdict_names[] = {"allow", "mask", "reroute", "block", "deny", "error"};
static const char *const why_names[] = {
    "none",     "unknown_caller", "endpoint",      "model",    "body",     "messages",
    "blocked",  "restricted",     "budget",        "detector", "internal"};
static const char *const endpoint_names[] = {"chat", "completions", "embeddings", "models"};
static const char *const endpoint_paths[] = {"/v1/chat/completions", "/v1/completions",
                                             "/v1/embeddings", "/v1/models"};

const char *policy_action_name(enum policy_action a)
{
    return (unsigned)a < 6 ? action_names[a] : "?";
}

const char *policy_verdict_name(enum policy_verdict v)
{
    return (unsigned)v < 6 ? verdict_names[v] : "?";
}

const char *policy_why_name(enum policy_why w)
{
    return (unsigned)w < POLICY_WHY_COUNT ? why_names[w] : "?";
}

const char *policy_endpoint_name(enum policy_endpoint e)
{
    return (unsigned)e < POLICY_EP_COUNT ? endpoint_names[e] : "?";
}

int policy_endpoint_parse(const char *s)
{
    int i;

    for (i = 0; i < POLICY_EP_COUNT; i++)
        if (strcmp(s, endpoint_names[i]) == 0 || strcmp(s, endpoint_paths[i]) == 0)
            return i;
    return -1;
}

enum policy_action policy_pack_action(const struct detect_rule *r)
{
    switch (detect_rule_action(r)) {
    case DETECT_ACT_ALLOW:
        return POLICY_ACT_ALLOW;
    case DETECT_ACT_FLAG:
        return POLICY_ACT_FLAG;
    case DETECT_ACT_MASK:
        return POLICY_ACT_MASK;
    case DETECT_ACT_PSEUDONYMISE:
        return POLICY_ACT_PSEUDONYMISE;
    case DETECT_ACT_BLOCK:
        return POLICY_ACT_BLOCK;
    }
    return POLICY_ACT_BLOCK;
}

/* Messages shown to a refused user when the policy gives none. */
static const char *const default_messages[POLICY_WHY_COUNT][2] = {
    {"", ""},
    {"Appelant inconnu : présentez une clé d'API ou un certificat valide.",
     "Unknown caller: present a valid API key or certificate."},
    {"Ce service n'est pas ouvert à votre groupe.",
     "This endpoint is not open to your group."},
    {"Ce modèle n'est pas autorisé pour votre groupe.",
     "This model is not allowed for your group."},
    {"La requête est trop volumineuse.", "The request is too large."},
    {"La conversation contient trop de messages.", "The conversation has too many messages."},
    {"Votre demande contient des données qui ne doivent pas quitter le service ; elle n'a "
     "pas été transmise.",
     "Your request contains data that must not leave the service; it was not sent."},
    {"Votre demande contient des données protégées qui ne peuvent pas être envoyées à un "
     "modèle externe ; elle n'a pas été transmise.",
     "Your request contains protected data that cannot be sent to an external model; it was "
     "not sent."},
    {"L'analyse de votre demande a pris trop de temps ; elle n'a pas été transmise.",
     "Inspecting your request took too long; it was not sent."},
    {"Votre demande n'a pas pu être analysée ; elle n'a pas été transmise.",
     "Your request could not be inspected; it was not sent."},
    {"Erreur interne de la passerelle.", "Internal gateway error."},
};

const char *policy_message(const struct policy *p, enum policy_why why, const char *lang)
{
    int l = (lang != NULL && strncmp(lang, "en", 2) == 0) ? 1 : 0;

    if ((unsigned)why >= POLICY_WHY_COUNT)
        why = POLICY_WHY_INTERNAL;
    if (p != NULL && p->messages[why][l] != NULL)
        return p->messages[why][l];
    return default_messages[why][l];
}

/* ---- addresses ------------------------------------------------------------------ */

int policy_cidr_parse(const char *s, struct policy_cidr *out)
{
    char addr[64];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    unsigned long bits;

    memset(out, 0, sizeof(*out));
    if (alen == 0 || alen >= sizeof(addr))
        return -1;
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    if (inet_pton(AF_INET, addr, out->addr) == 1)
        out->family = 4;
    else if (inet_pton(AF_INET6, addr, out->addr) == 1)
        out->family = 6;
    else
        return -1;
    bits = out->family == 4 ? 32 : 128;
    if (slash != NULL) {
        const char *d = slash + 1;
        unsigned long v = 0;
        if (*d == '\0' || strlen(d) > 3)
            return -1;
        for (; *d; d++) {
            if (*d < '0' || *d > '9')
                return -1;
            v = v * 10 + (unsigned long)(*d - '0');
        }
        if (v > bits)
            return -1;
        bits = v;
    }
    out->bits = (unsigned)bits;
    return 0;
}

int policy_cidr_match(const struct policy_cidr *c, const char *addr)
{
    unsigned char a[16];
    unsigned full, rest;

    if (addr == NULL)
        return 0;
    if (c->family == 4) {
        if (inet_pton(AF_INET, addr, a) != 1) {
            /* ::ffff:a.b.c.d from a dual-stack listener is the same peer. */
            static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
            unsigned char a6[16];
            if (inet_pton(AF_INET6, addr, a6) != 1 || memcmp(a6, prefix, 12) != 0)
                return 0;
            memcpy(a, a6 + 12, 4);
        }
    } else if (inet_pton(AF_INET6, addr, a) != 1) {
        return 0;
    }
    full = c->bits / 8;
    rest = c->bits % 8;
    if (memcmp(a, c->addr, full) != 0)
        return 0;
    if (rest != 0) {
        unsigned char m = (unsigned char)(0xff << (8 - rest));
        if ((a[full] & m) != (c->addr[full] & m))
            return 0;
    }
    return 1;
}

/* ---- reading nodes ------------------------------------------------------------------ */

struct compiler {
    const struct conf_node *one; /* get_list's list of one */
    struct policy *p;
    struct vigie_diag *diag;
    const char *file;
    size_t errors_before;
};

static int failed(const struct compiler *c)
{
    return c->diag->n + c->diag->dropped != c->errors_before;
}

/* Positions name the policy's own copy of the file name: the parsed document
 * is freed once the policy is compiled. */
static struct policy_where where_of(const struct compiler *c, const struct conf_node *n)
{
    struct policy_where w = {NULL, 0, 0};

    if (n != NULL) {
        w.file = c->p->file;
        w.line = n->line;
        w.col = n->col;
    }
    return w;
}

/* A non-empty string without NUL or control characters, copied into the policy. */
static const char *get_name(struct compiler *c, const struct conf_node *n, const char *what)
{
    const char *s;
    size_t len, i;

    if (conf_get_str(n, &s, &len, c->diag) != VIGIE_OK)
        return NULL;
    if (len == 0 || len > 256) {
        conf_diag(c->diag, n, "%s must be 1 to 256 characters long", what);
        return NULL;
    }
    for (i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            conf_diag(c->diag, n, "%s must not contain control characters", what);
            return NULL;
        }
    return policy_strdup(c->p, s, len);
}

/* A text shown to users: any printable string up to 1 KiB. */
static const char *get_text(struct compiler *c, const struct conf_node *n, const char *what)
{
    const char *s;
    size_t len;

    if (conf_get_str(n, &s, &len, c->diag) != VIGIE_OK)
        return NULL;
    if (len == 0 || len > 1024 || memchr(s, '\0', len) != NULL) {
        conf_diag(c->diag, n, "%s must be 1 to 1024 characters long", what);
        return NULL;
    }
    return policy_strdup(c->p, s, len);
}

static const struct conf_node *need_map(struct compiler *c, const struct conf_node *n,
                                        const char *what)
{
    if (n == NULL)
        return NULL;
    if (n->kind != CONF_MAP) {
        conf_diag(c->diag, n, "'%s' must be a mapping, found %s", what, conf_kind_name(n->kind));
        return NULL;
    }
    return n;
}

/* A list of strings; a single string is accepted as a list of one when
 * single_ok. Returns the number of items (0 with an error reported). */
static size_t get_list(struct compiler *c, const struct conf_node *n, const char *what,
                       int single_ok, const struct conf_node ***items)
{
    if (n->kind == CONF_SCALAR && single_ok) {
        /* The node itself is the list of one: no storage of our own, so two
         * policies may compile at once (a reload beside a check). */
        *items = &c->one;
        c->one = n;
        return 1;
    }
    if (n->kind != CONF_SEQ) {
        conf_diag(c->diag, n, "'%s' must be a list, found %s", what, conf_kind_name(n->kind));
        return 0;
    }
    if (n->n == 0) {
        conf_diag(c->diag, n, "'%s' is empty", what);
        return 0;
    }
    *items = (const struct conf_node **)n->vals;
    return n->n;
}

/* Sizes as people write them: 4194304, 512k, 4M. */
static int get_size(struct compiler *c, const struct conf_node *n, size_t min, size_t max,
                    size_t *out)
{
    const char *s;
    size_t len, i;
    unsigned long long v = 0;

    if (conf_get_str(n, &s, &len, c->diag) != VIGIE_OK)
        return -1;
    for (i = 0; i < len && s[i] >= '0' && s[i] <= '9' && i < 12; i++)
        v = v * 10 + (unsigned long long)(s[i] - '0');
    if (i > 0 && i + 1 == len && (s[i] == 'k' || s[i] == 'K'))
        v *= 1024, i++;
    else if (i > 0 && i + 1 == len && (s[i] == 'm' || s[i] == 'M'))
        v *= 1024 * 1024, i++;
    if (i == 0 || i != len || v < min || v > max) {
        conf_diag(c->diag, n, "expected a size from %zu to %zu bytes (such as 65536, 512k or 4M)",
                  min, max);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

static int parse_action(const char *s, enum policy_action *out)
{
    int i;

    for (i = 0; i < 6; i++)
        if (strcmp(s, action_names[i]) == 0) {
            *out = (enum policy_action)i;
            return 0;
        }
    /* The English spelling, so an officer's habit is not an error. */
    if (strcmp(s, "pseudonymize") == 0) {
        *out = POLICY_ACT_PSEUDONYMISE;
        return 0;
    }
    return -1;
}

static int get_mode(struct compiler *c, const struct conf_node *n, enum policy_mode *out)
{
    const char *s;

    if (conf_get_str(n, &s, NULL, c->diag) != VIGIE_OK)
        return -1;
    if (strcmp(s, "enforce") == 0)
        *out = POLICY_MODE_ENFORCE;
    else if (strcmp(s, "monitor") == 0)
        *out = POLICY_MODE_MONITOR;
    else {
        conf_diag(c->diag, n, "unknown mode '%s' (expected enforce or monitor)", s);
        return -1;
    }
    return 0;
}

/* ---- upstreams -------------------------------------------------------------------- */

const struct policy_upstream *policy_model_upstream(const struct policy *p, const char *model)
{
    size_t i, j;

    if (model == NULL)
        return NULL;
    for (i = 0; i < p->nupstreams; i++)
        for (j = 0; j < p->upstreams[i]->info.nmodels; j++)
            if (strcmp(p->upstreams[i]->models[j], model) == 0)
                return p->upstreams[i];
    return NULL;
}

static int url_ok(const char *u)
{
    if (strcmp(u, "builtin:echo") == 0)
        return 1;
    if (strncmp(u, "http://", 7) == 0)
        return u[7] != '\0' && u[7] != '/';
    if (strncmp(u, "https://", 8) == 0)
        return u[8] != '\0' && u[8] != '/';
    return 0;
}

static void compile_credentials(struct compiler *c, struct policy_upstream *u,
                                const struct conf_node *n)
{
    static const char *const keys[] = {"env", "file", "header", "scheme", NULL};
    const struct conf_node *v;

    if (need_map(c, n, "credentials") == NULL)
        return;
    conf_map_check_keys(n, keys, c->diag);
    if ((v = conf_map_get(n, "env")) != NULL)
        u->info.cred_env = get_name(c, v, "an environment variable name");
    if ((v = conf_map_get(n, "file")) != NULL)
        u->info.cred_file = get_name(c, v, "a credential file");
    if (u->info.cred_env != NULL && u->info.cred_file != NULL)
        conf_diag(c->diag, n, "credentials: give 'env' or 'file', not both");
    if (conf_map_get(n, "env") == NULL && conf_map_get(n, "file") == NULL)
        conf_diag(c->diag, n, "credentials: say where the secret is, with 'env' or 'file' "
                              "(a secret is never written in a policy)");
    if ((v = conf_map_get(n, "header")) != NULL)
        u->info.cred_header = get_name(c, v, "a header name");
    if ((v = conf_map_get(n, "scheme")) != NULL) {
        const char *s;
        size_t len;
        if (conf_get_str(v, &s, &len, c->diag) == VIGIE_OK)
            u->info.cred_scheme = policy_strdup(c->p, s, len);
    }
}

static void compile_upstreams(struct compiler *c, const struct conf_node *map)
{
    static const char *const keys[] = {"url",           "trust",       "models", "default_model",
                                       "credentials",   "ca_file",     "description", NULL};
    struct policy *p = c->p;
    size_t i, j;

    if (need_map(c, map, "upstreams") == NULL)
        return;
    if (map->n == 0) {
        conf_diag(c->diag, map, "'upstreams' is empty: name at least one model server");
        return;
    }
    p->upstreams = policy_alloc(p, map->n * sizeof(*p->upstreams));
    if (p->upstreams == NULL)
        return;
    for (i = 0; i < map->n; i++) {
        const struct conf_node *n = map->vals[i], *v;
        struct policy_upstream *u = policy_alloc(p, sizeof(*u));
        const struct conf_node **items;
        size_t nitems;

        if (u == NULL)
            return;
        u->info.name = get_name(c, map->keys[i], "an upstream name");
        u->info.where = where_of(c, map->keys[i]);
        u->info.cred_header = "Authorization";
        u->info.cred_scheme = "Bearer";
        if (u->info.name == NULL || need_map(c, n, "upstream") == NULL)
            continue;
        conf_map_check_keys(n, keys, c->diag);
        if ((v = conf_map_get(n, "url")) == NULL)
            conf_diag(c->diag, n, "upstream '%s': missing 'url'", u->info.name);
        else if ((u->info.url = get_name(c, v, "a URL")) != NULL && !url_ok(u->info.url))
            conf_diag(c->diag, v, "upstream '%s': url must start with http:// or https:// "
                                  "(or be builtin:echo)", u->info.name);
        if ((v = conf_map_get(n, "trust")) == NULL) {
            conf_diag(c->diag, n, "upstream '%s': missing 'trust' (internal or external)",
                      u->info.name);
        } else {
            const char *s;
            if (conf_get_str(v, &s, NULL, c->diag) == VIGIE_OK) {
                if (strcmp(s, "internal") == 0)
                    u->info.trust = POLICY_TRUST_INTERNAL;
                else if (strcmp(s, "external") == 0)
                    u->info.trust = POLICY_TRUST_EXTERNAL;
                else
                    conf_diag(c->diag, v, "unknown trust '%s' (expected internal or external)", s);
            }
        }
        if ((v = conf_map_get(n, "models")) == NULL) {
            conf_diag(c->diag, n, "upstream '%s': missing 'models' (the models it serves)",
                      u->info.name);
        } else if ((nitems = get_list(c, v, "models", 0, &items)) > 0) {
            u->models = policy_alloc(p, nitems * sizeof(char *));
            if (u->models == NULL)
                return;
            for (j = 0; j < nitems; j++) {
                const char *m = get_name(c, items[j], "a model name");
                if (m == NULL)
                    continue;
                if (strcmp(m, "*") == 0) {
                    conf_diag(c->diag, items[j], "an upstream lists the models it serves by "
                                                 "name; '*' is for groups");
                    continue;
                }
                {
                    const struct policy_upstream *other = policy_model_upstream(p, m);
                    size_t k;
                    int dup = 0;
                    for (k = 0; k < u->info.nmodels; k++)
                        dup |= strcmp(u->models[k], m) == 0;
                    if (other != NULL)
                        conf_diag(c->diag, items[j],
                                  "model '%s' is already served by upstream '%s': a model "
                                  "name must lead to one upstream",
                                  m, other->info.name);
                    else if (dup)
                        conf_diag(c->diag, items[j], "model '%s' is listed twice", m);
                    else
                        u->models[u->info.nmodels++] = m;
                }
            }
            u->info.models = u->models;
        }
        if ((v = conf_map_get(n, "default_model")) != NULL &&
            (u->info.default_model = get_name(c, v, "a model name")) != NULL) {
            int found = 0;
            for (j = 0; j < u->info.nmodels; j++)
                found |= strcmp(u->models[j], u->info.default_model) == 0;
            if (!found)
                conf_diag(c->diag, v, "default_model '%s' is not one of the models of "
                                      "upstream '%s'",
                          u->info.default_model, u->info.name);
        }
        if ((v = conf_map_get(n, "credentials")) != NULL)
            compile_credentials(c, u, v);
        if ((v = conf_map_get(n, "ca_file")) != NULL)
            u->info.ca_file = get_name(c, v, "a CA file");
        if ((v = conf_map_get(n, "description")) != NULL)
            (void)get_text(c, v, "a description");
        p->upstreams[p->nupstreams++] = u;
    }
}

/* ---- clauses ---------------------------------------------------------------------- */

/* Whether category cat is name or below it ("identity" covers "identity.nir"). */
static int category_covers(const char *name, const char *cat)
{
    size_t n = strlen(name);

    return strncmp(name, cat, n) == 0 && (cat[n] == '\0' || cat[n] == '.');
}

static unsigned category_depth(const char *name)
{
    unsigned d = 1;

    for (; *name; name++)
        d += *name == '.';
    return d;
}

static int category_known(const struct policy *p, const char *name)
{
    size_t i;

    for (i = 0; i < p->nrules; i++)
        if (category_covers(name, detect_rule_category(detect_set_rule(p->set, i))))
            return 1;
    return 0;
}

static struct policy_clause *add_clause(struct compiler *c, struct policy_layer *l)
{
    struct policy_clause *cl;

    if (VIGIE_ARRAY_RESERVE(l->clauses, l->nclauses, l->cap, 16) != VIGIE_OK)
        return NULL;
    cl = &l->clauses[l->nclauses++];
    memset(cl, 0, sizeof(*cl));
    cl->mode = POLICY_MODE_INHERIT;
    return cl;
}

static void compile_clause(struct compiler *c, struct policy_layer *l, int dir,
                           const struct conf_node *key, const struct conf_node *val,
                           int is_rule)
{
    static const char *const keys[] = {"action", "mode", "to", NULL};
    struct policy *p = c->p;
    const struct conf_node *an = val, *v;
    const char *name, *s;
    struct policy_clause *cl;

    if ((name = get_name(c, key, is_rule ? "a rule id" : "a category")) == NULL)
        return;
    if (is_rule && detect_set_find(p->set, name) == NULL) {
        conf_diag(c->diag, key, "unknown rule '%s' (no loaded pack defines it)", name);
        return;
    }
    if (!is_rule && !category_known(p, name)) {
        conf_diag(c->diag, key, "unknown category '%s' (no loaded rule has it%s)", name,
                  detect_set_find(p->set, name) ? "; it is a rule id: put it under 'rules'" : "");
        return;
    }
    if ((cl = add_clause(c, l)) == NULL)
        return;
    cl->key = name;
    cl->dir = dir;
    cl->is_rule = is_rule;
    cl->where = where_of(c, key);
    cl->spec = is_rule ? POLICY_SPEC_RULE : category_depth(name);
    if (val->kind == CONF_MAP) {
        conf_map_check_keys(val, keys, c->diag);
        if ((an = conf_map_get(val, "action")) == NULL) {
            conf_diag(c->diag, val, "clause '%s': missing 'action'", name);
            l->nclauses--;
            return;
        }
        if ((v = conf_map_get(val, "mode")) != NULL) {
            enum policy_mode m;
            if (get_mode(c, v, &m) == 0)
                cl->mode = (int)m;
        }
    }
    if (conf_get_str(an, &s, NULL, c->diag) != VIGIE_OK) {
        l->nclauses--;
        return;
    }
    if (parse_action(s, &cl->action) != 0) {
        conf_diag(c->diag, an, "unknown action '%s' (expected allow, flag, pseudonymise, mask, "
                               "reroute or block)", s);
        l->nclauses--;
        return;
    }
    if (dir == POLICY_DIR_RESPONSE &&
        (cl->action == POLICY_ACT_REROUTE || cl->action == POLICY_ACT_PSEUDONYMISE)) {
        conf_diag(c->diag, an, "'%s' has no meaning on an answer (use allow, flag, mask or "
                               "block)", s);
        l->nclauses--;
        return;
    }
    if (cl->action == POLICY_ACT_REROUTE) {
        v = val->kind == CONF_MAP ? conf_map_get(val, "to") : NULL;
        if (v != NULL) {
            const char *to;
            if (conf_get_str(v, &to, NULL, c->diag) == VIGIE_OK) {
                cl->to = policy_upstream_find(p, to);
                if (cl->to == NULL)
                    conf_diag(c->diag, v, "unknown upstream '%s'", to);
                else if (cl->to->info.trust != POLICY_TRUST_INTERNAL)
                    conf_diag(c->diag, v, "reroute target '%s' is external: a reroute sends "
                                          "data to an internal upstream", to);
            }
        } else if ((cl->to = p->reroute_to) == NULL) {
            conf_diag(c->diag, an, "reroute: say where with 'to: UPSTREAM', or set "
                                   "'reroute_to' at the top of the policy");
        }
    } else if (val->kind == CONF_MAP && conf_map_get(val, "to") != NULL) {
        conf_diag(c->diag, conf_map_get(val, "to"), "'to' is only for the reroute action");
    }
}

static void compile_direction(struct compiler *c, struct policy_layer *l, int dir,
                              const struct conf_node *n, const char *what)
{
    static const char *const keys[] = {"categories", "rules", NULL};
    const struct conf_node *v;
    size_t i;

    if (need_map(c, n, what) == NULL)
        return;
    conf_map_check_keys(n, keys, c->diag);
    if ((v = conf_map_get(n, "categories")) != NULL && need_map(c, v, "categories") != NULL)
        for (i = 0; i < v->n; i++)
            compile_clause(c, l, dir, v->keys[i], v->vals[i], 0);
    if ((v = conf_map_get(n, "rules")) != NULL && need_map(c, v, "rules") != NULL)
        for (i = 0; i < v->n; i++)
            compile_clause(c, l, dir, v->keys[i], v->vals[i], 1);
}

/* For each rule, the best clause of the layer in each direction. Two clauses
 * of one layer never tie: the same key twice is a duplicate YAML key, and a
 * rule id and a category differ in specificity. */
static int index_layer(struct compiler *c, struct policy_layer *l)
{
    struct policy *p = c->p;
    size_t r, k;
    int dir;

    for (dir = 0; dir < 2; dir++) {
        l->best[dir] = policy_alloc(p, (p->nrules ? p->nrules : 1) * sizeof(void *));
        if (l->best[dir] == NULL)
            return -1;
    }
    for (r = 0; r < p->nrules; r++) {
        const struct detect_rule *rule = detect_set_rule(p->set, r);
        for (k = 0; k < l->nclauses; k++) {
            const struct policy_clause *cl = &l->clauses[k];
            const struct policy_clause **slot = &l->best[cl->dir][r];
            int applies = cl->is_rule ? strcmp(cl->key, detect_rule_id(rule)) == 0
                                      : category_covers(cl->key, detect_rule_category(rule));
            if (applies && (*slot == NULL || (*slot)->spec < cl->spec))
                *slot = cl;
        }
    }
    return 0;
}

/* ---- groups --------------------------------------------------------------------- */

static const struct policy_group *find_group(const struct policy *p, const char *name)
{
    size_t i;

    for (i = 0; i < p->ngroups; i++)
        if (strcmp(p->groups[i]->name, name) == 0)
            return p->groups[i];
    return NULL;
}

/* The settings a group and the base share: models, endpoints, limits, clauses. */
static void compile_layer(struct compiler *c, struct policy_group *g, const struct conf_node *n)
{
    struct policy *p = c->p;
    const struct conf_node *v, **items;
    size_t nitems, j;

    if ((v = conf_map_get(n, "models")) != NULL) {
        g->has_models = 1;
        g->models_where = where_of(c, v);
        if (v->kind == CONF_SCALAR && v->len == 1 && v->str[0] == '*') {
            g->all_models = 1;
        } else if ((nitems = get_list(c, v, "models", 0, &items)) > 0) {
            g->models = policy_alloc(p, nitems * sizeof(char *));
            if (g->models == NULL)
                return;
            for (j = 0; j < nitems; j++) {
                const char *m = get_name(c, items[j], "a model name");
                if (m == NULL)
                    continue;
                if (strcmp(m, "*") == 0)
                    g->all_models = 1;
                else if (policy_model_upstream(p, m) == NULL)
                    conf_diag(c->diag, items[j], "unknown model '%s' (no upstream serves it)", m);
                else
                    g->models[g->nmodels++] = m;
            }
        }
    }
    if ((v = conf_map_get(n, "endpoints")) != NULL) {
        g->has_endpoints = 1;
        if (v->kind == CONF_SCALAR && v->len == 1 && v->str[0] == '*') {
            g->endpoints = (1u << POLICY_EP_COUNT) - 1;
        } else if ((nitems = get_list(c, v, "endpoints", 0, &items)) > 0) {
            for (j = 0; j < nitems; j++) {
                const char *s;
                int ep;
                if (conf_get_str(items[j], &s, NULL, c->diag) != VIGIE_OK)
                    continue;
                if ((ep = policy_endpoint_parse(s)) < 0)
                    conf_diag(c->diag, items[j], "unknown endpoint '%s' (expected chat, "
                                                 "completions, embeddings or models)", s);
                else
                    g->endpoints |= 1u << ep;
            }
        }
    }
    if ((v = conf_map_get(n, "limits")) != NULL && need_map(c, v, "limits") != NULL) {
        static const char *const keys[] = {"body", "messages", "inspect_ms", NULL};
        const struct conf_node *w;
        unsigned long ul;
        conf_map_check_keys(v, keys, c->diag);
        if ((w = conf_map_get(v, "body")) != NULL &&
            get_size(c, w, 1024, VIGIE_POLICY_BODY_MAX, &g->limits.body_max) == 0)
            g->limits_set |= POLICY_LIMIT_BODY;
        if ((w = conf_map_get(v, "messages")) != NULL &&
            conf_get_uint(w, 1, VIGIE_POLICY_MESSAGES_MAX, &ul, c->diag) == VIGIE_OK) {
            g->limits.messages_max = ul;
            g->limits_set |= POLICY_LIMIT_MESSAGES;
        }
        if ((w = conf_map_get(v, "inspect_ms")) != NULL &&
            conf_get_uint(w, 1, 60000, &ul, c->diag) == VIGIE_OK) {
            g->limits.inspect_ms = (unsigned)ul;
            g->limits_set |= POLICY_LIMIT_INSPECT;
        }
    }
    if ((v = conf_map_get(n, "request")) != NULL)
        compile_direction(c, &g->layer, POLICY_DIR_REQUEST, v, "request");
    if ((v = conf_map_get(n, "response")) != NULL)
        compile_direction(c, &g->layer, POLICY_DIR_RESPONSE, v, "response");
}

static const char *const layer_keys[] = {"description", "models", "endpoints", "limits",
                                         "request",     "response", NULL};

static void compile_groups(struct compiler *c, const struct conf_node *map)
{
    struct policy *p = c->p;
    size_t i;

    if (need_map(c, map, "groups") == NULL)
        return;
    p->groups = policy_alloc(p, (map->n ? map->n : 1) * sizeof(*p->groups));
    if (p->groups == NULL)
        return;
    for (i = 0; i < map->n; i++) {
        const struct conf_node *n = map->vals[i], *v;
        struct policy_group *g = policy_alloc(p, sizeof(*g));
        if (g == NULL)
            return;
        if ((g->name = get_name(c, map->keys[i], "a group name")) == NULL)
            continue;
        g->where = where_of(c, map->keys[i]);
        p->groups[p->ngroups++] = g;
        if (n->kind == CONF_SCALAR && n->len == 0)
            continue; /* "name:" alone: a group that only refines nothing */
        if (need_map(c, n, "group") == NULL)
            continue;
        conf_map_check_keys(n, layer_keys, c->diag);
        if ((v = conf_map_get(n, "description")) != NULL)
            g->description = get_text(c, v, "a description");
        compile_layer(c, g, n);
    }
}

/* A list of group names into an array of groups. */
static size_t get_groups(struct compiler *c, const struct conf_node *n,
                         const struct policy_group ***out)
{
    const struct conf_node **items;
    size_t nitems, j, k = 0;

    if ((nitems = get_list(c, n, "groups", 1, &items)) == 0)
        return 0;
    *out = policy_alloc(c->p, nitems * sizeof(**out));
    if (*out == NULL)
        return 0;
    for (j = 0; j < nitems; j++) {
        const char *s;
        const struct policy_group *g;
        if (conf_get_str(items[j], &s, NULL, c->diag) != VIGIE_OK)
            continue;
        if ((g = find_group(c->p, s)) == NULL)
            conf_diag(c->diag, items[j], "unknown group '%s'", s);
        else
            (*out)[k++] = g;
    }
    return k;
}

/* ---- callers and identity -------------------------------------------------------------- */

static int hex_sha256(const char *s, size_t len, unsigned char out[32])
{
    size_t i;

    if (len != 64)
        return -1;
    for (i = 0; i < 64; i++) {
        int v;
        char ch = s[i];
        if (ch >= '0' && ch <= '9')
            v = ch - '0';
        else if (ch >= 'a' && ch <= 'f')
            v = ch - 'a' + 10;
        else if (ch >= 'A' && ch <= 'F')
            v = ch - 'A' + 10;
        else
            return -1;
        if (i % 2 == 0)
            out[i / 2] = (unsigned char)(v << 4);
        else
            out[i / 2] |= (unsigned char)v;
    }
    return 0;
}

static void compile_callers(struct compiler *c, const struct conf_node *seq)
{
    static const char *const keys[] = {"id", "api_key_sha256", "certificate", "user", "groups",
                                       "description", NULL};
    struct policy *p = c->p;
    size_t i, j;

    if (seq->kind != CONF_SEQ) {
        conf_diag(c->diag, seq, "'callers' must be a list, found %s", conf_kind_name(seq->kind));
        return;
    }
    p->callers = policy_alloc(p, (seq->n ? seq->n : 1) * sizeof(*p->callers));
    if (p->callers == NULL)
        return;
    for (i = 0; i < seq->n; i++) {
        const struct conf_node *n = seq->vals[i], *v;
        struct policy_caller *k = policy_alloc(p, sizeof(*k));
        int nid = 0;
        if (k == NULL)
            return;
        if (need_map(c, n, "caller") == NULL)
            continue;
        conf_map_check_keys(n, keys, c->diag);
        k->where = where_of(c, n);
        if ((v = conf_map_get(n, "id")) == NULL) {
            conf_diag(c->diag, n, "caller: missing 'id'");
            continue;
        }
        if ((k->id = get_name(c, v, "a caller id")) == NULL)
            continue;
        for (j = 0; j < p->ncallers; j++)
            if (strcmp(p->callers[j]->id, k->id) == 0)
                conf_diag(c->diag, v, "caller '%s' is defined twice", k->id);
        if ((v = conf_map_get(n, "api_key_sha256")) != NULL) {
            const char *s;
            size_t len;
            nid++;
            k->kind = POLICY_ID_KEY;
            if (conf_get_str(v, &s, &len, c->diag) == VIGIE_OK &&
                hex_sha256(s, len, k->key_sha256) != 0)
                conf_diag(c->diag, v, "api_key_sha256 must be 64 hexadecimal digits (the "
                                      "SHA-256 of the key: printf %%s KEY | sha256sum); a key "
                                      "is never written in clear");
            for (j = 0; j < p->ncallers; j++)
                if (p->callers[j]->kind == POLICY_ID_KEY &&
                    CRYPTO_memcmp(p->callers[j]->key_sha256, k->key_sha256, 32) == 0)
                    conf_diag(c->diag, v, "caller '%s' has the same API key as caller '%s'",
                              k->id, p->callers[j]->id);
        }
        if ((v = conf_map_get(n, "certificate")) != NULL) {
            nid++;
            k->kind = POLICY_ID_CERT;
            k->subject = get_name(c, v, "a certificate subject");
        }
        if ((v = conf_map_get(n, "user")) != NULL) {
            nid++;
            k->kind = POLICY_ID_USER;
            k->user = get_name(c, v, "a user name");
            if (p->user_header == NULL)
                conf_diag(c->diag, v, "caller '%s' is identified by 'user', but "
                                      "identity.user_header is not configured", k->id);
        }
        if (nid != 1) {
            conf_diag(c->diag, n, "caller '%s': give exactly one of api_key_sha256, "
                                  "certificate or user", k->id);
            continue;
        }
        if ((v = conf_map_get(n, "groups")) == NULL) {
            conf_diag(c->diag, n, "caller '%s': missing 'groups'", k->id);
            continue;
        }
        k->ngroups = get_groups(c, v, &k->groups);
        p->callers[p->ncallers++] = k;
    }
}

static void compile_identity(struct compiler *c, const struct conf_node *n)
{
    static const char *const keys[] = {"anonymous", "user_header", NULL};
    static const char *const hkeys[] = {"name", "trusted_proxies", "groups", NULL};
    struct policy *p = c->p;
    const struct conf_node *v, *h, **items;
    size_t nitems, j;

    if (need_map(c, n, "identity") == NULL)
        return;
    conf_map_check_keys(n, keys, c->diag);
    if ((v = conf_map_get(n, "anonymous")) != NULL) {
        const char *s;
        if (conf_get_str(v, &s, NULL, c->diag) == VIGIE_OK && strcmp(s, "refuse") != 0) {
            const struct policy_group *g = find_group(p, s);
            if (g == NULL) {
                conf_diag(c->diag, v, "anonymous: expected 'refuse' or a group name; unknown "
                                      "group '%s'", s);
            } else if ((p->anon_groups = policy_alloc(p, sizeof(void *))) != NULL) {
                p->anon_groups[0] = g;
                p->nanon = 1;
            }
        }
    }
    if ((h = conf_map_get(n, "user_header")) != NULL && need_map(c, h, "user_header") != NULL) {
        conf_map_check_keys(h, hkeys, c->diag);
        if ((v = conf_map_get(h, "name")) == NULL)
            conf_diag(c->diag, h, "user_header: missing 'name' (the header your front proxy "
                                  "sets, such as X-Remote-User)");
        else
            p->user_header = get_name(c, v, "a header name");
        if ((v = conf_map_get(h, "trusted_proxies")) == NULL) {
            conf_diag(c->diag, h, "user_header: missing 'trusted_proxies' (a user header is "
                                  "believed only from these addresses)");
        } else if ((nitems = get_list(c, v, "trusted_proxies", 1, &items)) > 0) {
            p->proxies = policy_alloc(p, nitems * sizeof(*p->proxies));
            if (p->proxies == NULL)
                return;
            for (j = 0; j < nitems; j++) {
                const char *s;
                if (conf_get_str(items[j], &s, NULL, c->diag) != VIGIE_OK)
                    continue;
                if (policy_cidr_parse(s, &p->proxies[p->nproxies]) != 0)
                    conf_diag(c->diag, items[j], "'%s' is not an address or a network "
                                                 "(such as 127.0.0.1 or 10.0.0.0/8)", s);
                else
                    p->nproxies++;
            }
        }
        if ((v = conf_map_get(h, "groups")) != NULL)
            p->nheader_groups = get_groups(c, v, &p->header_groups);
    }
}

/* ---- restricted categories and the invariant ------------------------------------------------ */

static void compile_restricted(struct compiler *c, const struct conf_node *n)
{
    struct policy *p = c->p;
    const struct conf_node **items;
    size_t nitems, j, r;

    if ((nitems = get_list(c, n, "restricted", 1, &items)) == 0)
        return;
    p->restricted_names = policy_alloc(p, nitems * sizeof(char *));
    if (p->restricted_names == NULL)
        return;
    for (j = 0; j < nitems; j++) {
        const char *s = get_name(c, items[j], "a category");
        if (s == NULL)
            continue;
        if (!category_known(p, s)) {
            conf_diag(c->diag, items[j], "unknown category '%s' (no loaded rule has it)", s);
            continue;
        }
        p->restricted_names[p->nrestricted++] = s;
        for (r = 0; r < p->nrules; r++)
            if (category_covers(s, detect_rule_category(detect_set_rule(p->set, r))))
                p->restricted[r] = 1;
    }
}

/* Whether a caller with these groups may use a model served by an external
 * upstream; *model and *up name one for messages. */
static int reaches_external(const struct policy *p, const struct policy_group *const *groups,
                            size_t ngroups, const char **model, const struct policy_upstream **up)
{
    size_t i, j;

    for (i = 0; i < p->nupstreams; i++) {
        const struct policy_upstream *u = p->upstreams[i];
        if (u->info.trust != POLICY_TRUST_EXTERNAL)
            continue;
        for (j = 0; j < u->info.nmodels; j++) {
            struct policy_identity id = {NULL, "", groups, ngroups, ""};
            if (policy_model_allowed(p, &id, u->models[j])) {
                *model = u->models[j];
                *up = u;
                return 1;
            }
        }
    }
    return 0;
}

/* The load-time check of the invariant, for one set of groups that some caller
 * has: no restricted rule may end up allowed or flagged when an external model
 * is within reach. (Monitor mode cannot relax this at run time either; the
 * action a clause names is what is checked.) */
static void check_invariant(struct compiler *c, const struct policy_group *const *groups,
                            size_t ngroups, const char *who, const struct conf_node *restricted)
{
    struct policy *p = c->p;
    const char *model;
    const struct policy_upstream *up;
    size_t r;

    if (!reaches_external(p, groups, ngroups, &model, &up))
        return;
    for (r = 0; r < p->nrules; r++) {
        const struct detect_rule *rule = detect_set_rule(p->set, r);
        const struct policy_clause *cl;
        enum policy_action a;
        if (!p->restricted[r])
            continue;
        cl = policy_resolve(p, groups, ngroups, r, POLICY_DIR_REQUEST);
        a = cl ? cl->action : policy_pack_action(rule);
        if (a != POLICY_ACT_ALLOW && a != POLICY_ACT_FLAG)
            continue;
        if (cl != NULL)
            vigie_diag_add(c->diag, cl->where.file, cl->where.line, cl->where.col,
                           "'%s: %s' lets restricted category '%s' (rule %s) reach external "
                           "upstream '%s' (%s may use model '%s'); use pseudonymise, mask, "
                           "reroute or block",
                           cl->key, policy_action_name(a), detect_rule_category(rule),
                           detect_rule_id(rule), up->info.name, who, model);
        else
            conf_diag(c->diag, restricted,
                      "restricted category '%s': rule %s's own action is '%s', which would "
                      "let it reach external upstream '%s' (%s may use model '%s'); add a "
                      "clause that pseudonymises, masks, reroutes or blocks it",
                      detect_rule_category(rule), detect_rule_id(rule), policy_action_name(a),
                      up->info.name, who, model);
        return; /* one message per caller is enough to find the clause */
    }
}

/* ---- messages -------------------------------------------------------------------------- */

static void compile_messages(struct compiler *c, const struct conf_node *n)
{
    static const char *const keys[] = {"unknown_caller", "endpoint", "model",    "body",
                                       "messages",       "blocked",  "restricted", "budget",
                                       "detector",       "internal", NULL};
    static const char *const langs[] = {"fr", "en", NULL};
    size_t i;

    if (need_map(c, n, "messages") == NULL)
        return;
    conf_map_check_keys(n, keys, c->diag);
    for (i = 0; i < n->n; i++) {
        const char *k = n->keys[i]->str;
        const struct conf_node *m = n->vals[i], *v;
        int why;
        for (why = 1; why < POLICY_WHY_COUNT; why++)
            if (strcmp(k, why_names[why]) == 0)
                break;
        if (why == POLICY_WHY_COUNT || need_map(c, m, k) == NULL)
            continue;
        conf_map_check_keys(m, langs, c->diag);
        if ((v = conf_map_get(m, "fr")) != NULL)
            c->p->messages[why][0] = get_text(c, v, "a message");
        if ((v = conf_map_get(m, "en")) != NULL)
            c->p->messages[why][1] = get_text(c, v, "a message");
    }
}

/* ---- the document ---------------------------------------------------------------------- */

static void compile_header(struct compiler *c, const struct conf_node *n)
{
    static const char *const keys[] = {"id",          "version",       "mode",
                                       "description", "audit_failure", NULL};
    const struct conf_node *v;

    if (need_map(c, n, "policy") == NULL)
        return;
    conf_map_check_keys(n, keys, c->diag);
    if ((v = conf_map_get(n, "id")) == NULL)
        conf_diag(c->diag, n, "policy: missing 'id' (audit records name the policy by it)");
    else
        c->p->id = get_name(c, v, "a policy id");
    if ((v = conf_map_get(n, "version")) == NULL)
        conf_diag(c->diag, n, "policy: missing 'version' (audit records carry it)");
    else
        c->p->version = get_name(c, v, "a version");
    if ((v = conf_map_get(n, "mode")) != NULL)
        (void)get_mode(c, v, &c->p->mode);
    if ((v = conf_map_get(n, "description")) != NULL)
        c->p->description = get_text(c, v, "a description");
    /* When the audit log cannot be written, requests are refused (503) unless
     * the policy says, in so many words, that service goes on unrecorded. */
    if ((v = conf_map_get(n, "audit_failure")) != NULL) {
        const char *s = get_name(c, v, "audit_failure");
        if (s != NULL && strcmp(s, "serve") == 0)
            c->p->audit_fail_open = 1;
        else if (s != NULL && strcmp(s, "refuse") != 0)
            conf_diag(c->diag, v,
                      "audit_failure: '%s' is not one of refuse (the default: 503 while the "
                      "audit log cannot be written) or serve (go on unrecorded)",
                      s);
    }
}

int policy_audit_fail_open(const struct policy *p)
{
    return p->audit_fail_open;
}

/* passthrough: paths forwarded as they are, bodies and answers uninspected.
 * The invariant of the whole language holds here too, more strictly: such
 * traffic goes to an internal upstream only, since nothing can say what it
 * carries. */
static void compile_passthrough(struct compiler *c, const struct conf_node *n)
{
    static const char *const keys[] = {"path", "methods", "upstream", "groups", NULL};
    static const char *const mnames[] = {"GET", "POST", "PUT", "DELETE", "PATCH", NULL};
    struct policy *p = c->p;
    size_t i;

    if (n->kind != CONF_SEQ || n->n == 0) {
        conf_diag(c->diag, n, "'passthrough' must be a list of {path, upstream, methods, groups}");
        return;
    }
    if ((p->passthrough = policy_alloc(p, n->n * sizeof(*p->passthrough))) == NULL)
        return;
    for (i = 0; i < n->n; i++) {
        const struct conf_node *e = n->vals[i], *v;
        struct policy_passthrough *t = &p->passthrough[p->npassthrough];
        const char *s;
        if (need_map(c, e, "passthrough entry") == NULL)
            continue;
        conf_map_check_keys(e, keys, c->diag);
        t->where = where_of(c, e);
        if ((v = conf_map_get(e, "path")) == NULL) {
            conf_diag(c->diag, e, "passthrough entry: missing 'path'");
            continue;
        }
        if ((t->path = get_name(c, v, "a path")) == NULL)
            continue;
        t->len = strlen(t->path);
        if (t->path[0] != '/' || strstr(t->path, "..") != NULL || strchr(t->path, '?') != NULL ||
            strchr(t->path, ' ') != NULL || (strchr(t->path, '*') != NULL &&
                                              strchr(t->path, '*') != t->path + t->len - 1)) {
            conf_diag(c->diag, v, "a passthrough path starts with '/', has no '..', '?' or space, "
                                  "and may end with '*' (a prefix)");
            continue;
        }
        if (t->path[t->len - 1] == '*') {
            t->prefix = 1;
            t->len--;
        }
        if (policy_endpoint_parse(t->path) >= 0) {
            conf_diag(c->diag, v, "'%s' is an inspected endpoint: it cannot pass through", t->path);
            continue;
        }
        t->methods = 1u; /* GET */
        if ((v = conf_map_get(e, "methods")) != NULL) {
            const struct conf_node **items;
            size_t k, m, nitems = get_list(c, v, "methods", 1, &items);
            t->methods = 0;
            for (k = 0; k < nitems; k++) {
                if (conf_get_str(items[k], &s, NULL, c->diag) != VIGIE_OK)
                    continue;
                for (m = 0; mnames[m] != NULL && strcmp(mnames[m], s) != 0; m++)
                    ;
                if (mnames[m] == NULL)
                    conf_diag(c->diag, items[k], "unknown method '%s' (GET, POST, PUT, DELETE "
                                                 "or PATCH)", s);
                else
                    t->methods |= 1u << m;
            }
            if (t->methods == 0)
                continue;
        }
        if ((v = conf_map_get(e, "upstream")) == NULL) {
            conf_diag(c->diag, e, "passthrough entry: missing 'upstream'");
            continue;
        }
        if (conf_get_str(v, &s, NULL, c->diag) != VIGIE_OK)
            continue;
        if ((t->to = policy_upstream_find(p, s)) == NULL) {
            conf_diag(c->diag, v, "unknown upstream '%s'", s);
            continue;
        }
        if (t->to->info.trust != POLICY_TRUST_INTERNAL) {
            conf_diag(c->diag, v, "upstream '%s' is external: uninspected traffic goes to an "
                                  "internal upstream only", s);
            continue;
        }
        if ((v = conf_map_get(e, "groups")) != NULL &&
            (t->ngroups = get_groups(c, v, &t->groups)) == 0)
            continue;
        p->npassthrough++;
    }
}

struct policy *policy_compile(const struct conf_doc *doc, struct detect_set *set,
                              struct vigie_diag *diag)
{
    static const char *const keys[] = {"policy",   "rules",  "restricted", "identity",
                                       "callers",  "upstreams", "reroute_to", "defaults",
                                       "groups",   "messages", "passthrough", NULL};
    const struct conf_node *root = conf_doc_root(doc), *v, *restricted;
    struct compiler c;
    struct policy *p;
    size_t i;

    c.one = NULL;
    c.diag = diag;
    c.file = conf_doc_file(doc);
    c.errors_before = diag->n + diag->dropped;
    if ((p = calloc(1, sizeof(*p))) == NULL) {
        detect_set_free(set);
        vigie_diag_add(diag, c.file, 0, 0, "out of memory");
        return NULL;
    }
    p->magic = POLICY_MAGIC;
    atomic_init(&p->refs, 1);
    p->set = set;
    p->nrules = set ? detect_set_nrules(set) : 0;
    c.p = p;
    p->file = policy_strdup(p, c.file, strlen(c.file));
    p->base.name = "defaults";
    p->restricted = policy_alloc(p, p->nrules ? p->nrules : 1);
    if (p->file == NULL || p->restricted == NULL || set == NULL) {
        vigie_diag_add(diag, c.file, 0, 0, set ? "out of memory" : "no rule set");
        goto fail;
    }
    if (root == NULL) {
        vigie_diag_add(diag, c.file, 1, 1, "empty policy");
        goto fail;
    }
    if (root->kind != CONF_MAP) {
        conf_diag(diag, root, "a policy must be a mapping, found %s", conf_kind_name(root->kind));
        goto fail;
    }
    conf_map_check_keys(root, keys, diag);
    if ((v = conf_map_get(root, "policy")) == NULL)
        conf_diag(diag, root, "missing 'policy' (id, version, mode)");
    else
        compile_header(&c, v);
    /* Order matters: upstreams before reroute_to and groups, groups before
     * callers and identity, identity (user_header) before callers. */
    if ((v = conf_map_get(root, "upstreams")) == NULL)
        conf_diag(diag, root, "missing 'upstreams' (the model servers vigie may reach)");
    else
        compile_upstreams(&c, v);
    if ((v = conf_map_get(root, "reroute_to")) != NULL) {
        const char *s;
        if (conf_get_str(v, &s, NULL, diag) == VIGIE_OK) {
            p->reroute_to = policy_upstream_find(p, s);
            if (p->reroute_to == NULL)
                conf_diag(diag, v, "unknown upstream '%s'", s);
            else if (p->reroute_to->info.trust != POLICY_TRUST_INTERNAL)
                conf_diag(diag, v, "reroute_to '%s' is external: a reroute sends data to an "
                                   "internal upstream", s);
            else if (p->reroute_to->info.default_model == NULL)
                conf_diag(diag, v, "upstream '%s' needs a default_model to receive rerouted "
                                   "requests", s);
        }
    }
    if ((v = conf_map_get(root, "defaults")) != NULL && need_map(&c, v, "defaults") != NULL) {
        conf_map_check_keys(v, layer_keys, diag);
        compile_layer(&c, &p->base, v);
    }
    if ((v = conf_map_get(root, "groups")) == NULL)
        conf_diag(diag, root, "missing 'groups' (every caller belongs to at least one)");
    else
        compile_groups(&c, v);
    if ((v = conf_map_get(root, "passthrough")) != NULL)
        compile_passthrough(&c, v);
    if ((v = conf_map_get(root, "identity")) != NULL)
        compile_identity(&c, v);
    if ((v = conf_map_get(root, "callers")) != NULL)
        compile_callers(&c, v);
    if ((restricted = conf_map_get(root, "restricted")) != NULL)
        compile_restricted(&c, restricted);
    if ((v = conf_map_get(root, "messages")) != NULL)
        compile_messages(&c, v);
    /* A reroute clause's target needs a default model too. */
    for (i = 0; i <= p->ngroups; i++) {
        struct policy_layer *l = i < p->ngroups ? &p->groups[i]->layer : &p->base.layer;
        size_t k;
        for (k = 0; k < l->nclauses; k++) {
            const struct policy_clause *cl = &l->clauses[k];
            if (cl->action == POLICY_ACT_REROUTE && cl->to != NULL &&
                cl->to->info.trust == POLICY_TRUST_INTERNAL && cl->to->info.default_model == NULL)
                vigie_diag_add(diag, cl->where.file, cl->where.line, cl->where.col,
                               "reroute target '%s' needs a default_model", cl->to->info.name);
        }
        if (index_layer(&c, l) != 0) {
            vigie_diag_add(diag, c.file, 0, 0, "out of memory");
            goto fail;
        }
    }
    if (failed(&c))
        goto fail;
    /* The invariant, for every group alone, then for every set of several
     * groups a caller can have (one group's clause may win for a model
     * another group opens). */
    for (i = 0; i < p->ngroups; i++)
        check_invariant(&c, (const struct policy_group *const *)&p->groups[i], 1,
                        p->groups[i]->name, restricted);
    for (i = 0; i < p->ncallers; i++)
        if (p->callers[i]->ngroups > 1)
            check_invariant(&c, p->callers[i]->groups, p->callers[i]->ngroups,
                            p->callers[i]->id, restricted);
    if (p->nheader_groups > 1)
        check_invariant(&c, p->header_groups, p->nheader_groups, "a header user", restricted);
    if (failed(&c))
        goto fail;
    return p;
fail:
    policy_unref(p);
    return NULL;
}
