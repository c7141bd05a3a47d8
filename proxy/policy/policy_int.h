/*
 * policy internals, shared by compile.c, decide.c and snapshot.c. Not for
 * other modules: they use policy.h.
 */
#ifndef VIGIE_POLICY_INT_H
#define VIGIE_POLICY_INT_H

#include <stdatomic.h>

#include "policy/policy.h"

#define POLICY_MAGIC 0x504f4c49u /* "POLI" */
#define POLICY_CTX_MAGIC 0x50435458u

/* Specificity of a clause: a rule id beats any category; a longer category
 * beats a shorter prefix of it ("identity.nir" beats "identity"). */
#define POLICY_SPEC_RULE 1000u

#define POLICY_MODE_INHERIT (-1)

struct policy_clause {
    enum policy_action action;
    int mode; /* POLICY_MODE_INHERIT or an enum policy_mode */
    const struct policy_upstream *to; /* reroute target */
    struct policy_where where;
    unsigned spec;
    const char *key; /* the category or rule id as written */
    int is_rule;
    int dir; /* enum policy_direction */
};

/* The clauses of one layer (the base "defaults" or one group), and for each
 * rule of the set the best clause of this layer per direction (or NULL). */
struct policy_layer {
    struct policy_clause *clauses;
    size_t nclauses, cap;
    const struct policy_clause **best[2];
};

#define POLICY_LIMIT_BODY 0x1u
#define POLICY_LIMIT_MESSAGES 0x2u
#define POLICY_LIMIT_INSPECT 0x4u

struct policy_group {
    const char *name;
    const char *description;
    struct policy_where where;
    int has_models, all_models;
    const char **models;
    size_t nmodels;
    struct policy_where models_where;
    int has_endpoints;
    unsigned endpoints; /* bit per enum policy_endpoint */
    unsigned limits_set;
    struct policy_limits limits;
    struct policy_layer layer;
};

struct policy_upstream {
    struct policy_upstream_info info;
    const char **models;
    char *credential; /* malloc'ed, wiped on free */
    size_t credential_len;
};

enum policy_id_kind {
    POLICY_ID_KEY = 0,
    POLICY_ID_CERT = 1,
    POLICY_ID_USER = 2,
};

/* A path forwarded without inspection, to an internal upstream only. */
struct policy_passthrough {
    const char *path; /* exact, or a prefix when prefix is set (the path before a final star) */
    size_t len;
    int prefix;
    unsigned methods; /* bit i: GET, POST, PUT, DELETE, PATCH */
    const struct policy_upstream *to;
    const struct policy_group **groups; /* none: every identified caller */
    size_t ngroups;
    struct policy_where where;
};

struct policy_caller {
    const char *id;
    enum policy_id_kind kind;
    unsigned char key_sha256[32];
    const char *subject; /* POLICY_ID_CERT */
    const char *user;    /* POLICY_ID_USER */
    const struct policy_group **groups;
    size_t ngroups;
    struct policy_where where;
};

struct policy_cidr {
    int family; /* 4 or 6 */
    unsigned char addr[16];
    unsigned bits;
};

#define POLICY_WHY_COUNT 11

struct policy {
    unsigned magic;
    atomic_uint refs;
    const char *id, *version, *file, *description;
    enum policy_mode mode;
    int audit_fail_open; /* policy: audit_failure: serve */
    struct detect_set *set;
    size_t nrules;

    struct policy_group base; /* "defaults" */
    struct policy_group **groups;
    size_t ngroups;
    struct policy_upstream **upstreams;
    size_t nupstreams;
    struct policy_caller **callers;
    size_t ncallers;

    unsigned char *restricted; /* per rule index */
    const char **restricted_names;
    size_t nrestricted;
    const struct policy_upstream *reroute_to;

    struct policy_passthrough *passthrough;
    size_t npassthrough;

    const char *user_header;
    struct policy_cidr *proxies;
    size_t nproxies;
    const struct policy_group **header_groups;
    size_t nheader_groups;
    const struct policy_group **anon_groups; /* one group, or none */
    size_t nanon;

    const char *messages[POLICY_WHY_COUNT][2]; /* [why][0 fr, 1 en] */

    /* Every allocation of the compiled policy, freed together. */
    void **allocs;
    size_t nallocs, capallocs;
};

/* Allocations owned by the policy (freed with it). NULL on failure. */
void *policy_alloc(struct policy *p, size_t n);
char *policy_strdup(struct policy *p, const char *s, size_t len);

/* The clause that decides rule r for a set of groups in one direction: the
 * most specific among the groups (ties: strictest action), else the base's.
 * NULL: the pack's own action applies. */
const struct policy_clause *policy_resolve(const struct policy *p,
                                           const struct policy_group *const *groups,
                                           size_t ngroups, size_t rule, int dir);

enum policy_action policy_pack_action(const struct detect_rule *r);

int policy_cidr_parse(const char *s, struct policy_cidr *out);
int policy_cidr_match(const struct policy_cidr *c, const char *addr);

#endif
