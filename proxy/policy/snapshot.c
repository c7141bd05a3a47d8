/*
 * Compiled policies as shared, immutable snapshots: reference counts, the
 * accessors, and the holder that a reload swaps.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

void policy_ref(struct policy *p)
{
    VIGIE_ASSERT(p != NULL && p->magic == POLICY_MAGIC);
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

void policy_unref(struct policy *p)
{
    size_t i;

    if (p == NULL)
        return;
    VIGIE_ASSERT(p->magic == POLICY_MAGIC);
    /* acq_rel: the thread that frees must see every other thread's last use. */
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (i = 0; i < p->nupstreams; i++)
        if (p->upstreams[i]->credential != NULL) {
            vigie_wipe(p->upstreams[i]->credential, p->upstreams[i]->credential_len);
            free(p->upstreams[i]->credential);
        }
    for (i = 0; i < p->ngroups; i++)
        free(p->groups[i]->layer.clauses);
    free(p->base.layer.clauses);
    detect_set_free(p->set);
    for (i = 0; i < p->nallocs; i++)
        free(p->allocs[i]);
    free(p->allocs);
    p->magic = 0;
    free(p);
}

int policy_upstream_set_url(struct policy *p, struct policy_upstream *u, const char *url)
{
    char *d = policy_strdup(p, url, strlen(url));

    if (d == NULL)
        return VIGIE_ERR_NOMEM;
    u->info.url = d;
    return VIGIE_OK;
}

int policy_upstream_set_credential(struct policy_upstream *u, const char *value, size_t len)
{
    char *c = malloc(len + 1);

    if (c == NULL)
        return VIGIE_ERR_NOMEM;
    memcpy(c, value, len);
    c[len] = '\0';
    if (u->credential != NULL) {
        vigie_wipe(u->credential, u->credential_len);
        free(u->credential);
    }
    u->credential = c;
    u->credential_len = len;
    u->info.credential = c;
    u->info.credential_len = len;
    return VIGIE_OK;
}

const char *policy_id(const struct policy *p) { return p->id; }
const char *policy_version(const struct policy *p) { return p->version; }
enum policy_mode policy_mode(const struct policy *p) { return p->mode; }
const char *policy_file(const struct policy *p) { return p->file; }
const struct detect_set *policy_rules(const struct policy *p) { return p->set; }
size_t policy_ngroups(const struct policy *p) { return p->ngroups; }
size_t policy_nupstreams(const struct policy *p) { return p->nupstreams; }
size_t policy_ncallers(const struct policy *p) { return p->ncallers; }
const char *policy_group_name(const struct policy_group *g) { return g->name; }
const char *policy_caller_id(const struct policy_caller *c) { return c->id; }
size_t policy_caller_ngroups(const struct policy_caller *c) { return c->ngroups; }

const struct policy_group *policy_group_at(const struct policy *p, size_t i)
{
    return i < p->ngroups ? p->groups[i] : NULL;
}

const struct policy_upstream *policy_upstream_at(const struct policy *p, size_t i)
{
    return i < p->nupstreams ? p->upstreams[i] : NULL;
}

const struct policy_upstream *policy_upstream_find(const struct policy *p, const char *name)
{
    size_t i;

    for (i = 0; i < p->nupstreams; i++)
        if (strcmp(p->upstreams[i]->info.name, name) == 0)
            return p->upstreams[i];
    return NULL;
}

void policy_upstream_info(const struct policy_upstream *u, struct policy_upstream_info *out)
{
    *out = u->info;
}

const struct policy_caller *policy_caller_at(const struct policy *p, size_t i)
{
    return i < p->ncallers ? p->callers[i] : NULL;
}

const struct policy_caller *policy_caller_find(const struct policy *p, const char *id)
{
    size_t i;

    for (i = 0; i < p->ncallers; i++)
        if (strcmp(p->callers[i]->id, id) == 0)
            return p->callers[i];
    return NULL;
}

const struct policy_group *policy_caller_group(const struct policy_caller *c, size_t i)
{
    return i < c->ngroups ? c->groups[i] : NULL;
}

/* ---- the holder ------------------------------------------------------------------ */

/* A mutex rather than a lock-free pointer: reading the pointer and taking a
 * reference must be one step, or a swap between the two could free the
 * policy under the reader. The lock is held for two instructions, once per
 * request: it never shows in a profile. */
struct policy_holder {
    pthread_mutex_t lock;
    struct policy *cur;
};

struct policy_holder *policy_holder_new(struct policy *initial)
{
    struct policy_holder *h;

    if (initial == NULL || (h = calloc(1, sizeof(*h))) == NULL)
        return NULL;
    if (pthread_mutex_init(&h->lock, NULL) != 0) {
        free(h);
        return NULL;
    }
    h->cur = initial;
    return h;
}

struct policy *policy_holder_get(struct policy_holder *h)
{
    struct policy *p;

    pthread_mutex_lock(&h->lock);
    p = h->cur;
    policy_ref(p);
    pthread_mutex_unlock(&h->lock);
    return p;
}

void policy_holder_swap(struct policy_holder *h, struct policy *next)
{
    struct policy *old;

    VIGIE_ASSERT(next != NULL && next->magic == POLICY_MAGIC);
    pthread_mutex_lock(&h->lock);
    old = h->cur;
    h->cur = next;
    pthread_mutex_unlock(&h->lock);
    policy_unref(old); /* outside the lock: freeing a policy takes a while */
}

void policy_holder_free(struct policy_holder *h)
{
    if (h == NULL)
        return;
    policy_unref(h->cur);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

void policy_group_info(const struct policy *p, const struct policy_group *g,
                       struct policy_group_info *out)
{
    const struct policy_group *m = g->has_models ? g : &p->base;

    memset(out, 0, sizeof(*out));
    out->name = g->name;
    out->description = g->description;
    out->all_models = m->all_models;
    out->models = m->models;
    out->nmodels = m->nmodels;
    out->models_inherited = !g->has_models && g != &p->base;
    if (g->has_endpoints)
        out->endpoints = g->endpoints;
    else if (p->base.has_endpoints)
        out->endpoints = p->base.endpoints;
    else
        out->endpoints = (1u << POLICY_EP_COUNT) - 1;
    out->endpoints_inherited = !g->has_endpoints && g != &p->base;
    out->where = g->where;
}

const struct policy_group *policy_group_base(const struct policy *p) { return &p->base; }

enum policy_action policy_rule_action(const struct policy *p,
                                      const struct policy_group *const *groups, size_t ngroups,
                                      const struct detect_rule *r, enum policy_direction dir,
                                      enum policy_mode *mode, struct policy_where *where)
{
    const struct policy_clause *cl =
        policy_resolve(p, groups, ngroups, detect_rule_index(r), (int)dir);

    if (mode != NULL)
        *mode = (cl != NULL && cl->mode != POLICY_MODE_INHERIT) ? (enum policy_mode)cl->mode
                                                                 : p->mode;
    if (where != NULL) {
        struct policy_where none = {NULL, 0, 0};
        *where = cl != NULL ? cl->where : none;
    }
    if (cl != NULL)
        return cl->action;
    return dir == POLICY_DIR_REQUEST ? policy_pack_action(r) : POLICY_ACT_ALLOW;
}

int policy_rule_restricted(const struct policy *p, const struct detect_rule *r)
{
    return p->restricted[detect_rule_index(r)];
}

size_t policy_nrestricted(const struct policy *p) { return p->nrestricted; }

const char *policy_restricted_at(const struct policy *p, size_t i)
{
    return i < p->nrestricted ? p->restricted_names[i] : NULL;
}

const struct policy_upstream *policy_reroute_default(const struct policy *p)
{
    return p->reroute_to;
}

const char *policy_user_header(const struct policy *p) { return p->user_header; }
size_t policy_header_ngroups(const struct policy *p) { return p->nheader_groups; }

const struct policy_group *policy_header_group(const struct policy *p, size_t i)
{
    return i < p->nheader_groups ? p->header_groups[i] : NULL;
}

const struct policy_group *policy_anonymous_group(const struct policy *p)
{
    return p->nanon > 0 ? p->anon_groups[0] : NULL;
}

const char *policy_caller_kind(const struct policy_caller *c)
{
    static const char *const names[] = {"api_key", "certificate", "user"};
    return names[c->kind];
}
