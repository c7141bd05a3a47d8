/*
 * policy: the security officers' language, compiled into an immutable
 * snapshot, and the decisions it makes.
 *
 * A policy says who may call (callers and their groups), where traffic may go
 * (named upstreams, internal or external, and the models they serve), and
 * what happens to each kind of data found in a prompt or an answer. The
 * language is in docs/policy-guide.md; docs/internals/policy.md says how it
 * is compiled and decided.
 *
 * policy is pure: it performs no I/O and knows nothing of sockets or HTTP.
 * The file side (reading the policy, its rule packs, upstream credentials)
 * is policy/load.h. A compiled policy never changes: threads share it through
 * reference counts, and a reload builds a new one off to the side and swaps it
 * in one step (struct policy_holder), so a request keeps the snapshot it
 * started with and a policy that fails to load never replaces a good one.
 *
 * The invariant no clause can override: data of a category declared
 * `restricted` never reaches an `external` upstream. It is checked three
 * times: at load (a clause that would let it through is an error), at
 * decision (the action is forced), and on the exact outgoing text (egress
 * re-scan; a finding blocks the request). Monitor mode does not relax it.
 */
#ifndef VIGIE_POLICY_H
#define VIGIE_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "core/core.h"
#include "detect/detect.h"

/* The API endpoints a group may be allowed. */
enum policy_endpoint {
    POLICY_EP_CHAT = 0,        /* /v1/chat/completions */
    POLICY_EP_COMPLETIONS = 1, /* /v1/completions */
    POLICY_EP_EMBEDDINGS = 2,  /* /v1/embeddings */
    POLICY_EP_MODELS = 3,      /* /v1/models */
    POLICY_EP_COUNT = 4,
};

enum policy_trust {
    POLICY_TRUST_INTERNAL = 0,
    POLICY_TRUST_EXTERNAL = 1,
};

enum policy_direction {
    POLICY_DIR_REQUEST = 0,  /* prompt, on its way to the model */
    POLICY_DIR_RESPONSE = 1, /* answer, on its way back to the client */
};

/* What a clause does with a finding, from least to most strict: ties between
 * a caller's groups go to the larger value. */
enum policy_action {
    POLICY_ACT_ALLOW = 0,        /* forward untouched, do not record */
    POLICY_ACT_FLAG = 1,         /* forward untouched, record the finding */
    POLICY_ACT_PSEUDONYMISE = 2, /* replace by a token, restored in the answer */
    POLICY_ACT_MASK = 3,         /* replace irreversibly */
    POLICY_ACT_REROUTE = 4,      /* send the whole request to an internal upstream */
    POLICY_ACT_BLOCK = 5,        /* refuse the request */
};

enum policy_mode {
    POLICY_MODE_ENFORCE = 0,
    POLICY_MODE_MONITOR = 1, /* decide and record, change nothing (restricted excepted) */
};

/* The request's outcome. */
enum policy_verdict {
    POLICY_ALLOW = 0,   /* forward the original bytes */
    POLICY_MASK = 1,    /* forward the rewritten texts */
    POLICY_REROUTE = 2, /* forward (rewritten if changed) to the reroute upstream */
    POLICY_BLOCK = 3,   /* refuse: data that must not leave */
    POLICY_DENY = 4,    /* refuse: caller, endpoint, model or limit not allowed */
    POLICY_ERROR = 5,   /* refuse: a detector failed or the budget ran out (fail closed) */
};

/* Why a request was refused (or POLICY_WHY_NONE). Each maps to one status and
 * one message in the gateway. */
enum policy_why {
    POLICY_WHY_NONE = 0,
    POLICY_WHY_UNKNOWN_CALLER = 1,   /* 401 */
    POLICY_WHY_ENDPOINT = 2,         /* 403: endpoint not allowed for the caller */
    POLICY_WHY_MODEL = 3,            /* 403: model not allowed or not served */
    POLICY_WHY_BODY = 4,             /* 413: body over the group's limit */
    POLICY_WHY_MESSAGES = 5,         /* 400: too many messages */
    POLICY_WHY_BLOCKED = 6,          /* 403: a block clause matched */
    POLICY_WHY_RESTRICTED = 7,       /* 403: restricted data on its way to an external model */
    POLICY_WHY_BUDGET = 8,           /* 422: inspection took longer than the budget */
    POLICY_WHY_DETECTOR = 9,         /* 422: a detector failed; the text is unchecked */
    POLICY_WHY_INTERNAL = 10,        /* 500: out of memory and the like */
};

struct policy;
struct policy_group;
struct policy_upstream;
struct policy_caller;
struct policy_ctx;

/* Where a clause was written: "policies/customs.yaml:42:7", or the pack. */
struct policy_where {
    const char *file; /* NULL for a pack's default action */
    unsigned line, col;
};

/* ---- building ---------------------------------------------------------------- */

/* Compiles a parsed policy document against a finished rule set, taking
 * ownership of set (freed with the policy, or at once on failure). Every
 * problem is added to diag as FILE:LINE:COL: message: unknown keys and wrong
 * types, references to an unknown group, upstream, model, category or rule, a
 * restricted category that some caller could send to an external upstream, a
 * reroute to an external upstream, and so on. Returns the policy with one
 * reference, or NULL if anything is wrong: a partial policy is never built.
 * The `rules` key (pack paths) is read by policy/load.h, not here. */
struct policy *policy_compile(const struct conf_doc *doc, struct detect_set *set,
                              struct vigie_diag *diag);

/* Credentials are secrets: the file side reads them and hands them over.
 * Copies value (wiped on free). Returns VIGIE_OK or VIGIE_ERR_NOMEM. */
int policy_upstream_set_credential(struct policy_upstream *u, const char *value, size_t len);
/* Points an upstream at another URL (`vigie serve --upstream`, the demo's
 * builtin:echo). The URL is copied into the policy; the caller checked it. */
int policy_upstream_set_url(struct policy *p, struct policy_upstream *u, const char *url);

void policy_ref(struct policy *p);
/* Drops a reference; the last one frees the policy (credentials wiped). NULL is fine. */
void policy_unref(struct policy *p);

/* ---- reading a compiled policy ------------------------------------------------- */

const char *policy_id(const struct policy *p);
const char *policy_version(const struct policy *p);
enum policy_mode policy_mode(const struct policy *p);
const char *policy_file(const struct policy *p);
/* 1 when the policy says `audit_failure: serve`: requests go on while the
 * audit log cannot be written (default: refused with 503). */
int policy_audit_fail_open(const struct policy *p);
const struct detect_set *policy_rules(const struct policy *p);

size_t policy_ngroups(const struct policy *p);
const struct policy_group *policy_group_at(const struct policy *p, size_t i);
const char *policy_group_name(const struct policy_group *g);

/* A group as configured; models and endpoints inherited from the base are
 * filled in (inherited says which). The base is policy_group_base(). */
struct policy_group_info {
    const char *name;
    const char *description;
    int all_models;
    const char *const *models;
    size_t nmodels;
    unsigned endpoints; /* bit per enum policy_endpoint */
    int models_inherited, endpoints_inherited;
    struct policy_where where;
};
void policy_group_info(const struct policy *p, const struct policy_group *g,
                       struct policy_group_info *out);
const struct policy_group *policy_group_base(const struct policy *p);

/* What the policy does with rule r's findings for a caller with these groups
 * (none: the base alone), in one direction: the action, its mode, and the
 * clause (file NULL: the pack's own action, or "pass" for answers). */
enum policy_action policy_rule_action(const struct policy *p,
                                      const struct policy_group *const *groups, size_t ngroups,
                                      const struct detect_rule *r, enum policy_direction dir,
                                      enum policy_mode *mode, struct policy_where *where);
int policy_rule_restricted(const struct policy *p, const struct detect_rule *r);
size_t policy_nrestricted(const struct policy *p);
const char *policy_restricted_at(const struct policy *p, size_t i);
const struct policy_upstream *policy_reroute_default(const struct policy *p);
/* Identity sources, for summaries. */
const char *policy_user_header(const struct policy *p);
size_t policy_header_ngroups(const struct policy *p);
const struct policy_group *policy_header_group(const struct policy *p, size_t i);
const struct policy_group *policy_anonymous_group(const struct policy *p);
/* "api_key", "certificate" or "user". */
const char *policy_caller_kind(const struct policy_caller *c);

size_t policy_nupstreams(const struct policy *p);
const struct policy_upstream *policy_upstream_at(const struct policy *p, size_t i);
const struct policy_upstream *policy_upstream_find(const struct policy *p, const char *name);

/* Everything the gateway needs to reach an upstream. */
struct policy_upstream_info {
    const char *name;
    const char *url;           /* http://, https:// or builtin:echo */
    enum policy_trust trust;
    const char *default_model; /* model used when a request is rerouted here; may be NULL */
    const char *ca_file;       /* NULL: the system's CA bundle */
    const char *cred_env;      /* where the credential comes from (one of the two, or none) */
    const char *cred_file;
    const char *cred_header;   /* header that carries it, default "Authorization" */
    const char *cred_scheme;   /* prefix, default "Bearer" ("" for none) */
    const char *credential;    /* the secret, NULL until set */
    size_t credential_len;
    size_t nmodels;
    const char *const *models;
    struct policy_where where;
};
void policy_upstream_info(const struct policy_upstream *u, struct policy_upstream_info *out);

size_t policy_ncallers(const struct policy *p);
const struct policy_caller *policy_caller_at(const struct policy *p, size_t i);
const struct policy_caller *policy_caller_find(const struct policy *p, const char *id);
const char *policy_caller_id(const struct policy_caller *c);
size_t policy_caller_ngroups(const struct policy_caller *c);
const struct policy_group *policy_caller_group(const struct policy_caller *c, size_t i);

/* The message shown to a refused user, by reason and language ("fr", "en"). */
const char *policy_message(const struct policy *p, enum policy_why why, const char *lang);

const char *policy_action_name(enum policy_action a);
const char *policy_verdict_name(enum policy_verdict v);
const char *policy_why_name(enum policy_why w);
const char *policy_endpoint_name(enum policy_endpoint e);
/* Endpoint from its configuration name ("chat", ...) or API path
 * ("/v1/chat/completions"); -1 when unknown. */
int policy_endpoint_parse(const char *s);

/* ---- who is calling ------------------------------------------------------------- */

/* What the gateway knows of the client. Any field may be NULL. */
struct policy_who {
    const char *api_key; /* the bearer token or x-api-key the client presented */
    size_t api_key_len;
    const char *cert_subject; /* verified client certificate subject, RFC 2253 */
    const char *user;         /* value of the configured user header */
    const char *peer;         /* client address as text ("127.0.0.1", "::1") */
};

/* Identifies the caller: an API key (compared by SHA-256, constant time), a
 * certificate subject, or the user header, believed only when the peer is one
 * of the configured front proxies. A header user who is not listed gets the
 * user header's groups, if configured. The caller is written into *out (which
 * lives as long as the policy). Returns 0, or -1 when unknown and anonymous
 * use is not allowed. `how` (may be NULL) says which identity matched:
 * "api_key", "certificate", "user_header", "anonymous". */
struct policy_identity {
    const struct policy_caller *caller; /* listed caller, or NULL for header users */
    const char *id;                     /* caller id, or the header user's name */
    const struct policy_group *const *groups;
    size_t ngroups;
    const char *how;
};
int policy_identify(const struct policy *p, const struct policy_who *who,
                    struct policy_identity *out);
/* The identity of a listed caller by id (or an unlisted header user, or
 * "anonymous"), as a dry run uses it. -1 if unknown; *out is then that id
 * with no group, which policy_decide refuses as an unknown caller. */
int policy_identity_of(const struct policy *p, const char *caller_id, struct policy_identity *out);

/* Whether the identity may call this endpoint / use this model (a model is
 * allowed if one of the caller's groups allows it and an upstream serves it). */
int policy_endpoint_allowed(const struct policy *p, const struct policy_identity *id,
                            enum policy_endpoint ep);
int policy_model_allowed(const struct policy *p, const struct policy_identity *id,
                         const char *model);
/* The first model (in upstream order) the identity may use; NULL if none.
 * Dry runs and test cases that name no model use it. */
const char *policy_first_model(const struct policy *p, const struct policy_identity *id);
/* passthrough: the internal upstream that a path (its query removed) takes
 * for this identity and method ("GET", "POST", ...), forwarded without
 * inspection; NULL when no entry allows it. where (may be NULL) gets the
 * entry's position. */
const struct policy_upstream *policy_passthrough(const struct policy *p,
                                                const struct policy_identity *id,
                                                const char *method, const char *path,
                                                size_t len, struct policy_where *where);
size_t policy_npassthrough(const struct policy *p);

/* The upstream serving a model, NULL if none. */
const struct policy_upstream *policy_model_upstream(const struct policy *p, const char *model);

/* ---- deciding --------------------------------------------------------------------- */

/* Per-thread state: the detection scanner (bound to the rule set of the last
 * policy it served; rebuilt when a reload changed it). Not shared. */
struct policy_ctx *policy_ctx_new(void);
void policy_ctx_free(struct policy_ctx *ctx);

/* One text field of a request, as the API module found it. */
struct policy_text {
    const char *s;
    size_t len;
};

/* The limits that apply to an identity. */
struct policy_limits {
    size_t body_max;
    size_t messages_max;
    unsigned inspect_ms;
};
void policy_limits_of(const struct policy *p, const struct policy_identity *id,
                      struct policy_limits *out);

struct policy_request {
    const struct policy_identity *who;
    enum policy_endpoint endpoint;
    const char *model; /* may be NULL for /v1/models */
    size_t body_len;
    size_t nmessages;
    const struct policy_text *texts;
    size_t ntexts;
};

/* One finding summarised: which rule, what the policy did, and the clause
 * that decided it. Never the value. */
struct policy_hit {
    const struct detect_rule *rule;
    size_t text;       /* index of the text it was found in */
    size_t start, end; /* byte span in that text (for dry runs; never logged) */
    enum policy_action action;  /* what the clause says */
    enum policy_action applied; /* what was done (differs in monitor mode or on egress) */
    enum policy_mode mode;
    struct policy_where where;
};

struct policy_decision {
    enum policy_verdict verdict;
    enum policy_why why;
    enum policy_mode mode; /* the policy's mode */
    const struct policy_upstream *upstream; /* where to send it (NULL when refused) */
    const char *model;     /* the model to ask: the request's, or the reroute target's */
    struct policy_where where; /* the clause that decided a block, reroute or deny */
    const struct detect_rule *rule; /* the rule behind a block or reroute, if any */
    int changed;           /* some text was rewritten */
    struct vigie_buf *out; /* ntexts rewritten texts (valid when out_changed[i]) */
    int *out_changed;
    size_t ntexts;
    struct policy_hit *hits;
    size_t nhits;
    struct detect_revmap *map; /* pseudonyms written, to restore in the answer */
    uint64_t inspect_ns;       /* time spent inspecting */
};

void policy_decision_init(struct policy_decision *d);
/* Wipes and frees the rewritten texts and the map. */
void policy_decision_fini(struct policy_decision *d);

/* Decides a request: limits, endpoint and model, then every text is scanned
 * and each finding gets the action of the most specific clause (a group's
 * clause before the base's; a rule's clause before its category's, a longer
 * category before a shorter prefix; between the caller's groups, the
 * strictest). Blocks win over reroutes; a reroute sends the request to an
 * internal upstream; masks and pseudonyms rewrite the texts. Finally, if the
 * request goes to an external upstream, the outgoing texts are scanned again
 * and any restricted finding blocks it. `key` is the HMAC key for keyed
 * pseudonyms (may be NULL when no rule uses them). Returns VIGIE_OK with the
 * outcome in *d (refusals are outcomes, not errors); a detector failure or
 * memory shortage gives verdict POLICY_ERROR, never a forwarded text. */
int policy_decide(struct policy_ctx *ctx, const struct policy *p,
                  const struct policy_request *req, const unsigned char *key, size_t keylen,
                  struct policy_decision *d);

/* Applies the response clauses to one text of the model's answer (after the
 * gateway restored pseudonyms): mask, flag or block. *blocked is set when a
 * block clause matched (the text must not be passed on). Returns VIGIE_OK
 * with the filtered text in out (unchanged copies are not made: *changed
 * says whether out holds anything), or a detect error (fail closed). */
int policy_filter_response(struct policy_ctx *ctx, const struct policy *p,
                           const struct policy_identity *who, const char *text, size_t len,
                           struct vigie_buf *out, int *changed, int *blocked);

/* Whether the answer clauses can change or stop an answer for this identity
 * (some rule's answer action is pseudonymise, mask or block). When they
 * cannot, policy_filter_response returns at once. */
int policy_answer_clauses(struct policy_ctx *ctx, const struct policy *p,
                          const struct policy_identity *who);

/* ---- snapshots for reload ---------------------------------------------------------- */

/* Holds the current policy. get() returns it with a new reference (the caller
 * unrefs it when the request ends); swap() installs a new one (taking the
 * caller's reference) and drops the holder's reference to the old: requests
 * that hold the old one finish with it. Safe from any thread. */
struct policy_holder;
struct policy_holder *policy_holder_new(struct policy *initial);
struct policy *policy_holder_get(struct policy_holder *h);
void policy_holder_swap(struct policy_holder *h, struct policy *next);
void policy_holder_free(struct policy_holder *h);

#endif
