/*
 * Snapshots for reload: readers on several threads get the current policy,
 * decide with it and let it go while the main thread swaps in new ones. Each
 * reader only ever sees whole policies, never an older one after a newer one,
 * and once everybody has let go every old policy is down to the reference
 * this test keeps (then freed: the ASan build checks for leaks). Per-thread
 * contexts follow a swap to the new rule set.
 *
 * White-box: the reference counts are read from policy_int.h. Nothing here
 * depends on timing: the swaps are paced by the readers' progress.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "helpers.h"
#include "policy/policy_int.h"

#define NREADERS     4
#define NGETS        20000
#define NSWAPS       12
#define DECIDE_EVERY 64 /* a full decision every this many gets */

/* Policy number i: id "snap-i", version "i"; even ones pseudonymise
 * addresses, odd ones mask them, so a decision says which policy made it. */
static struct policy *make_policy(unsigned i)
{
    char yaml[1024];

    snprintf(yaml, sizeof(yaml),
             "policy: {id: snap-%u, version: \"%u\"}\n" POLICY_TEST_UPSTREAMS "defaults:\n"
             "  models: \"*\"\n"
             "  request:\n"
             "    categories:\n"
             "      contact.email: %s\n"
             "groups: {g: }\n"
             "callers:\n"
             "  - {id: alice, certificate: CN=alice, groups: [g]}\n",
             i, i, i % 2 ? "mask" : "pseudonymise");
    return policy_ok(yaml);
}

/* The number of a policy from its id, after checking id and version agree. */
static long policy_number(const struct policy *p)
{
    const char *id = policy_id(p), *v = policy_version(p);
    char *end;
    long n;

    if (id == NULL || v == NULL || strncmp(id, "snap-", 5) != 0)
        return -1;
    n = strtol(id + 5, &end, 10);
    if (*end != '\0' || strcmp(id + 5, v) != 0)
        return -1;
    return n;
}

static struct policy_holder *holder;
static atomic_ulong total_gets;
static atomic_uint errors;

struct reader {
    pthread_t tid;
    unsigned decisions;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    struct policy_ctx *ctx = policy_ctx_new();
    long last = -1;
    unsigned i;

    if (ctx == NULL) {
        atomic_fetch_add(&errors, 1);
        return NULL;
    }
    for (i = 0; i < NGETS; i++) {
        struct policy *p = policy_holder_get(holder);
        long n = policy_number(p);

        if (n < 0 || n < last) {
            fprintf(stderr, "reader saw policy %ld after %ld (%s/%s)\n", n, last,
                    policy_id(p) ? policy_id(p) : "?", policy_version(p) ? policy_version(p) : "?");
            atomic_fetch_add(&errors, 1);
        }
        last = n;
        if (i % DECIDE_EVERY == 0) {
            /* A whole decision with the snapshot in hand: its text says
             * which policy decided. */
            struct policy_identity id;
            struct policy_text t = {"to ab@example.org", 17};
            struct policy_request req;
            struct policy_decision d;
            const char *want = n % 2 ? "to [EMAIL]" : "to [EMAIL_1]";
            memset(&req, 0, sizeof(req));
            req.who = &id;
            req.endpoint = POLICY_EP_CHAT;
            req.model = "small";
            req.texts = &t;
            req.ntexts = 1;
            req.nmessages = 1;
            req.body_len = t.len;
            if (policy_identity_of(p, "alice", &id) != 0 ||
                policy_decide(ctx, p, &req, NULL, 0, &d) != VIGIE_OK || d.verdict != POLICY_MASK ||
                !d.out_changed[0] || d.out[0].len != strlen(want) ||
                memcmp(d.out[0].data, want, d.out[0].len) != 0) {
                fprintf(stderr, "policy %ld decided wrongly\n", n);
                atomic_fetch_add(&errors, 1);
            }
            policy_decision_fini(&d);
            r->decisions++;
        }
        policy_unref(p);
        atomic_fetch_add_explicit(&total_gets, 1, memory_order_relaxed);
    }
    policy_ctx_free(ctx); /* drops its reference to the last policy it used */
    return NULL;
}

static unsigned refs(struct policy *p)
{
    return atomic_load(&p->refs);
}

static void test_swap_under_readers(void)
{
    struct policy *all[NSWAPS + 1];
    int given[NSWAPS + 1] = {0}; /* the policy's first reference went to the holder */
    struct reader readers[NREADERS];
    unsigned k, nbuilt = 0;
    int started = 0;

    atomic_store(&total_gets, 0);
    atomic_store(&errors, 0);
    /* Built beforehand: compiling is not what is tested, and readers must
     * not finish before the swaps start. */
    for (k = 0; k <= NSWAPS; k++) {
        if ((all[k] = make_policy(k)) == NULL)
            goto out;
        policy_ref(all[k]); /* this test's own reference, to look at the count at the end */
        nbuilt++;
    }
    holder = policy_holder_new(all[0]); /* takes the first reference */
    if (holder == NULL) {
        T_FAIL("policy_holder_new");
        goto out;
    }
    given[0] = 1;
    for (started = 0; started < NREADERS; started++) {
        readers[started].decisions = 0;
        if (pthread_create(&readers[started].tid, NULL, reader_main, &readers[started]) != 0) {
            T_FAIL("pthread_create");
            break;
        }
    }
    /* Swap k happens once the readers have done k/(NSWAPS+1) of their gets. */
    for (k = 1; k <= NSWAPS && started == NREADERS; k++) {
        unsigned long due = (unsigned long)k * NREADERS * NGETS / (NSWAPS + 1);
        while (atomic_load(&total_gets) < due)
            sched_yield();
        policy_holder_swap(holder, all[k]); /* takes the first reference */
        given[k] = 1;
    }
    while (started > 0) {
        started--;
        pthread_join(readers[started].tid, NULL);
        T_EQ_INT(readers[started].decisions, (NGETS + DECIDE_EVERY - 1) / DECIDE_EVERY);
    }
    T_EQ_INT(atomic_load(&errors), 0);
    T_EQ_INT(atomic_load(&total_gets), (unsigned long)NREADERS * NGETS);
    /* Every reader and context has let go: the old policies hold only this
     * test's reference, the current one the holder's too. */
    for (k = 0; k < NSWAPS; k++)
        T_EQ_INT(refs(all[k]), 1);
    T_EQ_INT(refs(all[NSWAPS]), 2);
    {
        struct policy *cur = policy_holder_get(holder);
        T_ASSERT(cur == all[NSWAPS]);
        T_EQ_INT(refs(cur), 3);
        policy_unref(cur);
    }
    policy_holder_free(holder);
    holder = NULL;
    T_EQ_INT(refs(all[NSWAPS]), 1);
out:
    policy_holder_free(holder); /* only when a step above failed */
    holder = NULL;
    for (k = 0; k < nbuilt; k++) {
        if (!given[k])
            policy_unref(all[k]);
        policy_unref(all[k]); /* the last reference of each: freed here */
    }
}

/* A context keeps its scanner (and a reference to the policy it was built
 * for) until it serves another policy, then follows the new rule set. */
static void test_ctx_follows_swap(void)
{
    struct policy *p0 = make_policy(0), *p1 = make_policy(1), *cur;
    struct policy_ctx *ctx = policy_ctx_new();
    struct policy_holder *h;
    struct policy_identity id;
    struct policy_decision d;
    struct policy_text t = {"ab@example.org", 14};
    struct policy_request req;

    if (p0 == NULL || p1 == NULL || ctx == NULL) {
        policy_unref(p0);
        policy_unref(p1);
        policy_ctx_free(ctx);
        return;
    }
    T_ASSERT(policy_holder_new(NULL) == NULL);
    policy_holder_free(NULL);
    policy_ref(p0); /* ours, to watch the count */
    h = policy_holder_new(p0);
    memset(&req, 0, sizeof(req));
    req.who = &id;
    req.endpoint = POLICY_EP_CHAT;
    req.model = "small";
    req.texts = &t;
    req.ntexts = 1;
    req.nmessages = 1;

    cur = policy_holder_get(h);
    T_EQ_INT(policy_identity_of(cur, "alice", &id), 0);
    T_EQ_INT(policy_decide(ctx, cur, &req, NULL, 0, &d), VIGIE_OK);
    T_EQ_INT(d.out_changed[0], 1);
    T_EQ_INT(d.out[0].len, 9);
    T_ASSERT(memcmp(d.out[0].data, "[EMAIL_1]", 9) == 0);
    policy_decision_fini(&d);
    policy_unref(cur);
    T_EQ_INT(refs(p0), 3); /* ours, the holder's, the context's */

    policy_holder_swap(h, p1);
    T_EQ_INT(refs(p0), 2); /* the holder let go; the context still holds it */
    cur = policy_holder_get(h);
    T_ASSERT(cur == p1);
    T_EQ_INT(policy_identity_of(cur, "alice", &id), 0);
    T_EQ_INT(policy_decide(ctx, cur, &req, NULL, 0, &d), VIGIE_OK);
    /* The new policy's rule set and clauses: the address is masked now. */
    T_EQ_INT(d.out_changed[0], 1);
    T_EQ_INT(d.out[0].len, 7);
    T_ASSERT(memcmp(d.out[0].data, "[EMAIL]", 7) == 0);
    policy_decision_fini(&d);
    T_EQ_INT(refs(p0), 1); /* the context moved on */
    T_EQ_INT(refs(p1), 3);
    policy_unref(cur);
    policy_ctx_free(ctx);
    T_EQ_INT(refs(p1), 1);
    policy_holder_free(h);
    policy_unref(p0);
    policy_ctx_free(NULL);
    policy_unref(NULL);
}

int main(void)
{
    T_RUN(test_ctx_follows_swap);
    T_RUN(test_swap_under_readers);
    return T_DONE();
}
