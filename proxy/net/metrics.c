/*
 * metrics: per-shard atomics, bounded series tables published with
 * release/acquire, and a Prometheus text render that sums the shards.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/metrics.h"

/* ---- families and buckets ------------------------------------------------------ */

enum family {
    FAM_REQUESTS = 0,   /* status, decision, upstream */
    FAM_FINDINGS = 1,   /* category, action */
    FAM_UP_ERRORS = 2,  /* upstream, kind */
    FAM_COUNT = 3,
};

struct family_desc {
    const char *name, *help;
    size_t nlabels;
    const char *labels[3];
};

static const struct family_desc families[FAM_COUNT] = {
    {"vigie_requests_total", "Exchanges answered, by status, decision and upstream.", 3,
     {"status", "decision", "upstream"}},
    {"vigie_findings_total", "Findings in requests, by category and the action taken.", 2,
     {"category", "action"}},
    {"vigie_upstream_errors_total", "Upstream failures, by upstream and kind.", 2,
     {"upstream", "kind"}},
};

enum histo_id {
    HIST_TOTAL = 0,   /* the whole exchange */
    HIST_INSPECT = 1, /* policy_decide */
    HIST_ADDED = 2,   /* vigie's own share of the latency */
    HIST_COUNT = 3,
};

static const struct {
    const char *name, *help;
} histos[HIST_COUNT] = {
    {"vigie_request_duration_seconds", "Time from request head to end of answer."},
    {"vigie_inspection_duration_seconds", "Time spent deciding on a request (policy_decide)."},
    {"vigie_added_latency_seconds", "Latency vigie adds to an exchange (its own share)."},
};

/* Seconds, 50 us to 60 s; the last bucket is +Inf. The strings are what the
 * render writes, so that le values never depend on printf rounding. */
#define NBOUNDS 19
static const double bounds[NBOUNDS] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                       0.01,    0.025,  0.05,    0.1,    0.25,  0.5,    1,
                                       2.5,     5,      10,      30,     60};
static const char *const bound_names[NBOUNDS + 1] = {
    "5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005",
    "0.01",  "0.025",  "0.05",    "0.1",    "0.25",  "0.5",    "1",
    "2.5",   "5",      "10",      "30",     "60",    "+Inf"};

/* ---- storage -------------------------------------------------------------------- */

/* One labelled series. key holds the label values, each followed by a NUL;
 * it never changes after the series is published. */
struct series {
    _Atomic uint64_t value;
    uint32_t hash;
    uint32_t klen;
    char key[];
};

/* Open addressing, at most half full, so a probe always ends on an empty
 * slot. A slot goes from NULL to a series once, under the shard's mutex, with
 * a release store; readers load it with acquire and see the whole series. */
#define SLOTS (2 * METRICS_SERIES_MAX)
struct table {
    _Atomic(struct series *) slot[SLOTS];
    unsigned n; /* series created: written under the shard's mutex only */
};

struct histo {
    _Atomic uint64_t bucket[NBOUNDS + 1]; /* per bucket, not cumulative */
    _Atomic uint64_t sum_ns;
};

struct metrics_shard {
    pthread_mutex_t lock; /* creation of series only */
    struct table fam[FAM_COUNT];
    struct histo hist[HIST_COUNT];
    _Atomic int64_t conns_open;
    _Atomic uint64_t conns_total;
    _Atomic uint64_t dropped; /* updates lost to a full table */
};

struct metrics {
    unsigned nshards;
    struct metrics_shard **shards;
    _Atomic uint64_t reloads_ok, reloads_failed;
    pthread_mutex_t policy_lock; /* policy_id and policy_version */
    char *policy_id, *policy_version;
    char *version;
};

#define RELAXED memory_order_relaxed

/* ---- label values ------------------------------------------------------------- */


/* Copies value v into out as valid UTF-8 (an invalid byte becomes U+FFFD:
 * Prometheus label values are UTF-8), at most METRICS_LABEL_MAX bytes cut at
 * a character, then a NUL. out has METRICS_LABEL_MAX + 1 bytes. Returns the
 * bytes written, NUL included. */
static size_t key_value(char *out, const char *v)
{
    const unsigned char *p = (const unsigned char *)(v ? v : "none");
    size_t n = strlen((const char *)p), i = 0, o = 0;

    while (i < n) {
        size_t used = p[i] < 0x80 ? 1 : vigie_utf8_len(p + i, n - i), l = used;
        const char *src = (const char *)p + i;

        if (used == 0)
            src = "\xef\xbf\xbd", l = 3, used = 1;
        if (l > METRICS_LABEL_MAX - o)
            break;
        memcpy(out + o, src, l);
        o += l;
        i += used;
    }
    out[o++] = '\0';
    return o;
}

#define KEY_MAX (3 * (METRICS_LABEL_MAX + 1))

static size_t make_key(char *key, const char *a, const char *b, const char *c, size_t n)
{
    const char *vals[3] = {a, b, c};
    size_t i, len = 0;

    for (i = 0; i < n; i++)
        len += key_value(key + len, vals[i]);
    return len;
}

static uint32_t hash_key(const char *k, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 16777619u;
    return h;
}

/* ---- series tables -------------------------------------------------------------- */

/* The slot holding key, or the empty slot where it would go. */
static size_t probe(struct table *t, const char *key, size_t klen, uint32_t h,
                    struct series **found)
{
    size_t i = h & (SLOTS - 1);

    for (;;) {
        struct series *s = atomic_load_explicit(&t->slot[i], memory_order_acquire);

        if (s == NULL || (s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0)) {
            *found = s;
            return i;
        }
        i = (i + 1) & (SLOTS - 1);
    }
}

/* The series of key in family f of sh, created if needed; NULL when the table
 * is full (the update is counted as dropped) or out of memory. */
static struct series *series_get(struct metrics_shard *sh, enum family f, const char *key,
                                 size_t klen)
{
    struct table *t = &sh->fam[f];
    uint32_t h = hash_key(key, klen);
    struct series *s;
    size_t i;

    probe(t, key, klen, h, &s);
    if (s != NULL)
        return s; /* the hot path: no lock */
    pthread_mutex_lock(&sh->lock);
    /* Another thread sharing the shard may have created it meanwhile. */
    i = probe(t, key, klen, h, &s);
    if (s == NULL && t->n < METRICS_SERIES_MAX && (s = malloc(sizeof(*s) + klen)) != NULL) {
        atomic_init(&s->value, 0);
        s->hash = h;
        s->klen = (uint32_t)klen;
        memcpy(s->key, key, klen);
        t->n++;
        atomic_store_explicit(&t->slot[i], s, memory_order_release);
    }
    pthread_mutex_unlock(&sh->lock);
    if (s == NULL)
        atomic_fetch_add_explicit(&sh->dropped, 1, RELAXED);
    return s;
}

static void series_add(struct metrics_shard *sh, enum family f, const char *a, const char *b,
                       const char *c, uint64_t n)
{
    char key[KEY_MAX];
    size_t klen = make_key(key, a, b, c, families[f].nlabels);
    struct series *s = series_get(sh, f, key, klen);

    if (s != NULL)
        atomic_fetch_add_explicit(&s->value, n, RELAXED);
}

/* ---- updates ----------------------------------------------------------------------- */

static void observe(struct histo *h, double v)
{
    size_t i = 0;

    if (!(v >= 0)) /* negative: not observed; NaN too */
        return;
    while (i < NBOUNDS && v > bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->bucket[i], 1, RELAXED);
    /* Nanoseconds keep the sum exact under concurrent adds; past 10^9 s an
     * observation is nonsense anyway and is clamped. */
    if (v > 1e9)
        v = 1e9;
    atomic_fetch_add_explicit(&h->sum_ns, (uint64_t)(v * 1e9 + 0.5), RELAXED);
}

void metrics_request(struct metrics_shard *sh, int status, const char *decision,
                     const char *upstream, double total_s, double inspect_s, double added_s)
{
    char st[16];

    snprintf(st, sizeof(st), "%d", status);
    series_add(sh, FAM_REQUESTS, st, decision, upstream, 1);
    observe(&sh->hist[HIST_TOTAL], total_s);
    observe(&sh->hist[HIST_INSPECT], inspect_s);
    observe(&sh->hist[HIST_ADDED], added_s);
}

void metrics_finding(struct metrics_shard *sh, const char *category, const char *action,
                     uint64_t n)
{
    if (n > 0)
        series_add(sh, FAM_FINDINGS, category, action, NULL, n);
}

void metrics_upstream_error(struct metrics_shard *sh, const char *upstream, const char *kind)
{
    series_add(sh, FAM_UP_ERRORS, upstream, kind, NULL, 1);
}

void metrics_conn(struct metrics_shard *sh, int delta_open)
{
    atomic_fetch_add_explicit(&sh->conns_open, delta_open, RELAXED);
    if (delta_open > 0)
        atomic_fetch_add_explicit(&sh->conns_total, (uint64_t)delta_open, RELAXED);
}

void metrics_reload(struct metrics *m, int ok)
{
    atomic_fetch_add_explicit(ok ? &m->reloads_ok : &m->reloads_failed, 1, RELAXED);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s ? s : "") + 1;
    char *d = malloc(n);

    if (d != NULL)
        memcpy(d, s ? s : "", n);
    return d;
}

int metrics_set_policy(struct metrics *m, const char *id, const char *version)
{
    char *i = dup_str(id), *v = dup_str(version);

    if (i == NULL || v == NULL) {
        free(i);
        free(v);
        return VIGIE_ERR_NOMEM;
    }
    pthread_mutex_lock(&m->policy_lock);
    free(m->policy_id);
    free(m->policy_version);
    m->policy_id = i;
    m->policy_version = v;
    pthread_mutex_unlock(&m->policy_lock);
    return VIGIE_OK;
}

/* ---- life cycle ---------------------------------------------------------------------- */

static void shard_free(struct metrics_shard *sh)
{
    size_t f, i;

    if (sh == NULL)
        return;
    for (f = 0; f < FAM_COUNT; f++)
        for (i = 0; i < SLOTS; i++)
            free(atomic_load_explicit(&sh->fam[f].slot[i], RELAXED));
    pthread_mutex_destroy(&sh->lock);
    free(sh);
}

static struct metrics_shard *shard_new(void)
{
    /* calloc zeroes the atomics and slots: all-bits-zero is a valid initial
     * value for atomic integers and pointers on every platform we build on. */
    struct metrics_shard *sh = calloc(1, sizeof(*sh));

    if (sh != NULL && pthread_mutex_init(&sh->lock, NULL) != 0) {
        free(sh);
        return NULL;
    }
    return sh;
}

struct metrics *metrics_new(unsigned nshards, const char *version)
{
    struct metrics *m;
    unsigned i;

    if (nshards == 0 || nshards > METRICS_SHARDS_MAX)
        return NULL;
    if ((m = calloc(1, sizeof(*m))) == NULL)
        return NULL;
    if (pthread_mutex_init(&m->policy_lock, NULL) != 0) {
        free(m);
        return NULL;
    }
    m->nshards = nshards;
    if ((m->shards = calloc(nshards, sizeof(*m->shards))) == NULL ||
        (m->version = dup_str(version)) == NULL)
        goto fail;
    for (i = 0; i < nshards; i++)
        if ((m->shards[i] = shard_new()) == NULL)
            goto fail;
    return m;
fail:
    metrics_free(m);
    return NULL;
}

void metrics_free(struct metrics *m)
{
    unsigned i;

    if (m == NULL)
        return;
    for (i = 0; m->shards != NULL && i < m->nshards; i++)
        shard_free(m->shards[i]);
    free(m->shards);
    free(m->policy_id);
    free(m->policy_version);
    free(m->version);
    pthread_mutex_destroy(&m->policy_lock);
    free(m);
}

struct metrics_shard *metrics_shard(struct metrics *m, unsigned i)
{
    VIGIE_ASSERT(i < m->nshards);
    return m->shards[i];
}

/* ---- render --------------------------------------------------------------------------- */

/* The text format's escape of c in a label value, or NULL. */
static const char *label_escape(char c)
{
    switch (c) {
    case '\\':
        return "\\\\";
    case '"':
        return "\\\"";
    case '\n':
        return "\\n";
    default:
        return NULL;
    }
}

/* Label value escaping of the text format: backslash, double quote and
 * newline. Values are already valid UTF-8 (key_value). */
static int put_label_value(struct vigie_buf *out, const char *v, size_t n)
{
    size_t i, from = 0;
    int rc = VIGIE_OK;

    for (i = 0; i < n && rc == VIGIE_OK; i++) {
        const char *esc = label_escape(v[i]);

        if (esc == NULL)
            continue;
        if ((rc = vigie_buf_append(out, v + from, i - from)) == VIGIE_OK)
            rc = vigie_buf_append(out, esc, 2);
        from = i + 1;
    }
    if (rc == VIGIE_OK)
        rc = vigie_buf_append(out, v + from, n - from);
    return rc;
}

static int put_header(struct vigie_buf *out, const char *name, const char *help,
                      const char *type)
{
    return vigie_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{l1="v1",...} value: the values are the NUL-separated key. */
static int put_series(struct vigie_buf *out, const char *name, const struct family_desc *d,
                      const char *key, uint64_t value)
{
    size_t i;
    int rc = vigie_buf_printf(out, "%s{", name);

    for (i = 0; i < d->nlabels && rc == VIGIE_OK; i++) {
        size_t n = strlen(key);

        rc = vigie_buf_printf(out, "%s%s=\"", i ? "," : "", d->labels[i]);
        if (rc == VIGIE_OK)
            rc = put_label_value(out, key, n);
        if (rc == VIGIE_OK)
            rc = vigie_buf_appendc(out, '"');
        key += n + 1;
    }
    return rc == VIGIE_OK ? vigie_buf_printf(out, "} %llu\n", (unsigned long long)value) : rc;
}

struct row {
    const struct series *s;
    uint64_t value;
};

static int row_order(const void *x, const void *y)
{
    const struct series *a = ((const struct row *)x)->s, *b = ((const struct row *)y)->s;
    int c = memcmp(a->key, b->key, a->klen < b->klen ? a->klen : b->klen);

    return c != 0 ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

/* Every published series of family f over all shards into rows (at most
 * max), or, with rows NULL, their number. */
static size_t collect(struct metrics *m, enum family f, struct row *rows, size_t max)
{
    size_t n = 0, i, j;

    for (i = 0; i < m->nshards; i++) {
        struct table *t = &m->shards[i]->fam[f];

        for (j = 0; j < SLOTS; j++) {
            struct series *s = atomic_load_explicit(&t->slot[j], memory_order_acquire);

            if (s == NULL)
                continue;
            /* Workers may publish between the count and the copy: bounded. */
            if (rows != NULL && n < max)
                rows[n] = (struct row){s, atomic_load_explicit(&s->value, RELAXED)};
            n++;
        }
    }
    return rows != NULL && n > max ? max : n;
}

/* Every series of family f over all shards, sorted by labels, equal labels
 * summed. */
static int render_family(struct metrics *m, enum family f, struct vigie_buf *out)
{
    const struct family_desc *d = &families[f];
    size_t max = collect(m, f, NULL, 0), n = 0, i, j;
    struct row *rows = max ? malloc(max * sizeof(*rows)) : NULL;
    int rc;

    if (max > 0 && rows == NULL)
        return VIGIE_ERR_NOMEM;
    if (max > 0)
        n = collect(m, f, rows, max);
    if (n > 1)
        qsort(rows, n, sizeof(*rows), row_order);
    rc = put_header(out, d->name, d->help, "counter");
    for (i = 0; i < n && rc == VIGIE_OK; i = j) {
        uint64_t sum = rows[i].value;

        for (j = i + 1; j < n && row_order(&rows[i], &rows[j]) == 0; j++)
            sum += rows[j].value;
        rc = put_series(out, d->name, d, rows[i].s->key, sum);
    }
    free(rows);
    return rc;
}

static int render_histo(struct metrics *m, enum histo_id h, struct vigie_buf *out)
{
    uint64_t buckets[NBOUNDS + 1] = {0}, sum_ns = 0, cum = 0;
    const char *name = histos[h].name;
    unsigned i, b;
    int rc;

    for (i = 0; i < m->nshards; i++) {
        struct histo *hs = &m->shards[i]->hist[h];

        for (b = 0; b <= NBOUNDS; b++)
            buckets[b] += atomic_load_explicit(&hs->bucket[b], RELAXED);
        sum_ns += atomic_load_explicit(&hs->sum_ns, RELAXED);
    }
    rc = put_header(out, name, histos[h].help, "histogram");
    for (b = 0; b <= NBOUNDS && rc == VIGIE_OK; b++) {
        cum += buckets[b];
        rc = vigie_buf_printf(out, "%s_bucket{le=\"%s\"} %llu\n", name, bound_names[b],
                              (unsigned long long)cum);
    }
    /* _count is the +Inf bucket, so the two agree even when a worker is
     * between adding to a bucket and to the sum. */
    if (rc == VIGIE_OK)
        rc = vigie_buf_printf(out, "%s_sum %llu.%09llu\n%s_count %llu\n", name,
                              (unsigned long long)(sum_ns / 1000000000u),
                              (unsigned long long)(sum_ns % 1000000000u), name,
                              (unsigned long long)cum);
    return rc;
}

static int render_info(struct metrics *m, struct vigie_buf *out)
{
    int rc;

    rc = put_header(out, "vigie_policy_info", "The policy in force.", "gauge");
    pthread_mutex_lock(&m->policy_lock);
    if (rc == VIGIE_OK && m->policy_id != NULL) {
        static const struct family_desc d = {"vigie_policy_info", "", 2, {"id", "version"}};
        char key[KEY_MAX];
        size_t len = key_value(key, m->policy_id);

        key_value(key + len, m->policy_version);
        rc = put_series(out, d.name, &d, key, 1);
    }
    pthread_mutex_unlock(&m->policy_lock);
    if (rc == VIGIE_OK)
        rc = put_header(out, "vigie_build_info", "The running build.", "gauge");
    if (rc == VIGIE_OK) {
        static const struct family_desc d = {"vigie_build_info", "", 1, {"version"}};
        char key[METRICS_LABEL_MAX + 1];

        key_value(key, m->version);
        rc = put_series(out, d.name, &d, key, 1);
    }
    return rc;
}

static int render_globals(struct metrics *m, struct vigie_buf *out)
{
    int64_t open = 0;
    uint64_t total = 0, dropped = 0;
    unsigned i;
    int rc;

    for (i = 0; i < m->nshards; i++) {
        open += atomic_load_explicit(&m->shards[i]->conns_open, RELAXED);
        total += atomic_load_explicit(&m->shards[i]->conns_total, RELAXED);
        dropped += atomic_load_explicit(&m->shards[i]->dropped, RELAXED);
    }
    rc = put_header(out, "vigie_connections_open", "Client connections open now.", "gauge");
    if (rc == VIGIE_OK)
        rc = vigie_buf_printf(out, "vigie_connections_open %lld\n", (long long)open);
    if (rc == VIGIE_OK)
        rc = put_header(out, "vigie_connections_total", "Client connections accepted.",
                        "counter");
    if (rc == VIGIE_OK)
        rc = vigie_buf_printf(out, "vigie_connections_total %llu\n", (unsigned long long)total);
    if (rc == VIGIE_OK)
        rc = render_family(m, FAM_UP_ERRORS, out);
    if (rc == VIGIE_OK)
        rc = put_header(out, "vigie_reloads_total", "Policy reloads, by result.", "counter");
    if (rc == VIGIE_OK)
        rc = vigie_buf_printf(
            out, "vigie_reloads_total{result=\"ok\"} %llu\nvigie_reloads_total{result=\"failed\"} %llu\n",
            (unsigned long long)atomic_load_explicit(&m->reloads_ok, RELAXED),
            (unsigned long long)atomic_load_explicit(&m->reloads_failed, RELAXED));
    if (rc == VIGIE_OK)
        rc = render_info(m, out);
    if (rc == VIGIE_OK)
        rc = put_header(out, "vigie_metrics_dropped_series_total",
                        "Updates lost because a family had reached its series cap in a shard.",
                        "counter");
    if (rc == VIGIE_OK)
        rc = vigie_buf_printf(out, "vigie_metrics_dropped_series_total %llu\n",
                              (unsigned long long)dropped);
    return rc;
}

int metrics_render(struct metrics *m, struct vigie_buf *out)
{
    int rc = render_family(m, FAM_REQUESTS, out);
    unsigned h;

    if (rc == VIGIE_OK)
        rc = render_family(m, FAM_FINDINGS, out);
    for (h = 0; h < HIST_COUNT && rc == VIGIE_OK; h++)
        rc = render_histo(m, (enum histo_id)h, out);
    if (rc == VIGIE_OK)
        rc = render_globals(m, out);
    return rc;
}
