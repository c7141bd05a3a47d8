/*
 * metrics: workers updating their shards while another thread renders
 * (exact totals after the join), label escaping, the series cap, cumulative
 * histogram buckets, and a parse of the rendered text: every line is
 * # HELP, # TYPE or name{labels} value.
 */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/metrics.h"
#include "test.h"

/* ---- a strict reader of the text format -------------------------------------------- */

static const char *metric_name(const char *p)
{
    if (!isalpha((unsigned char)*p) && *p != '_' && *p != ':')
        return NULL;
    while (isalnum((unsigned char)*p) || *p == '_' || *p == ':')
        p++;
    return p;
}

/* {name="value",...}: returns the end, or NULL. */
static const char *labels(const char *p)
{
    if (*p++ != '{')
        return NULL;
    while (*p != '}') {
        if ((p = metric_name(p)) == NULL || *p++ != '=' || *p++ != '"')
            return NULL;
        while (*p != '"') {
            if (*p == '\0' || *p == '\n')
                return NULL;
            if (*p == '\\') {
                p++;
                if (*p != '\\' && *p != '"' && *p != 'n')
                    return NULL;
            }
            p++;
        }
        p++;
        if (*p == ',')
            p++;
        else if (*p != '}')
            return NULL;
    }
    return p + 1;
}

/* Checks every line; returns the number of samples, -1 on a bad line. */
static int check_format(const char *text)
{
    char typed[64][80];
    int ntyped = 0, samples = 0;
    const char *line = text;

    while (*line != '\0') {
        const char *eol = strchr(line, '\n'), *p;
        char name[80], *end;
        size_t nl;
        int i, ok = 0;

        if (eol == NULL)
            return -1;
        if (strncmp(line, "# HELP ", 7) == 0) {
            if ((p = metric_name(line + 7)) == NULL || *p != ' ' || p + 1 >= eol)
                return -1;
        } else if (strncmp(line, "# TYPE ", 7) == 0) {
            if ((p = metric_name(line + 7)) == NULL || *p != ' ' || ntyped == 64)
                return -1;
            snprintf(typed[ntyped++], sizeof(typed[0]), "%.*s", (int)(p - line - 7), line + 7);
            if (strncmp(p + 1, "counter\n", 8) != 0 && strncmp(p + 1, "gauge\n", 6) != 0 &&
                strncmp(p + 1, "histogram\n", 10) != 0)
                return -1;
        } else {
            if ((p = metric_name(line)) == NULL)
                return -1;
            nl = (size_t)(p - line);
            snprintf(name, sizeof(name), "%.*s", (int)nl, line);
            if (*p == '{' && (p = labels(p)) == NULL)
                return -1;
            if (*p++ != ' ')
                return -1;
            strtod(p, &end);
            if (end == p || end != eol)
                return -1;
            /* The sample belongs to a family typed above it. */
            for (i = 0; i < ntyped && !ok; i++) {
                size_t tl = strlen(typed[i]);

                ok = strcmp(name, typed[i]) == 0 ||
                     (strncmp(name, typed[i], tl) == 0 &&
                      (strcmp(name + tl, "_bucket") == 0 || strcmp(name + tl, "_sum") == 0 ||
                       strcmp(name + tl, "_count") == 0));
            }
            if (!ok)
                return -1;
            samples++;
        }
        line = eol + 1;
    }
    return samples;
}

/* The value of the sample written exactly as series ("name{...}"), -1 if
 * absent. */
static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    const char *p = text;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return -1;
}

static int count_prefix(const char *text, const char *prefix)
{
    const char *p = text;
    size_t n = strlen(prefix);
    int c = 0;

    while (p != NULL && *p != '\0') {
        c += strncmp(p, prefix, n) == 0;
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return c;
}

static char *render(struct metrics *m, struct vigie_buf *b)
{
    vigie_buf_free(b);
    vigie_buf_init(b, 16u << 20);
    if (metrics_render(m, b) != VIGIE_OK || b->data == NULL) {
        T_FAIL("render failed");
        return "";
    }
    return b->data;
}

/* ---- cases ----------------------------------------------------------------------------- */

#define WORKERS 4
#define ROUNDS 20000

static struct metrics *shared;
static atomic_int workers_done, scrapes;

static void *worker(void *arg)
{
    struct metrics_shard *sh = metrics_shard(shared, (unsigned)(size_t)arg);
    static const char *const ups[] = {"u0", "u1", "u2", "u3", "u4"};
    int i;

    /* Start once a scrape has run, so that scrapes and updates overlap. */
    while (atomic_load(&scrapes) == 0)
        ;
    for (i = 0; i < ROUNDS; i++) {
        metrics_conn(sh, +1);
        metrics_request(sh, i % 2 ? 404 : 200, "mask", ups[i % 5], 0.002, i % 4 ? 0.0001 : -1,
                        0.0003);
        metrics_finding(sh, "contact.email", "pseudonymise", 2);
        if (i % 10 == 0)
            metrics_upstream_error(sh, ups[i % 5], "timeout");
        metrics_conn(sh, -1);
    }
    atomic_fetch_add(&workers_done, 1);
    return NULL;
}

static void *scraper(void *arg)
{
    struct vigie_buf b = {0};
    int *renders = arg;

    while (atomic_load(&workers_done) < WORKERS) {
        vigie_buf_init(&b, 16u << 20);
        if (metrics_render(shared, &b) != VIGIE_OK || check_format(b.data) < 0)
            (*renders) = -1000000;
        (*renders)++;
        atomic_fetch_add(&scrapes, 1);
        vigie_buf_free(&b);
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t w[WORKERS], s;
    struct vigie_buf b = {0};
    const char *t;
    int renders = 0;
    size_t i;

    shared = metrics_new(WORKERS, "0.1.0");
    T_ASSERT(shared != NULL);
    if (shared == NULL)
        return;
    pthread_create(&s, NULL, scraper, &renders);
    for (i = 0; i < WORKERS; i++)
        pthread_create(&w[i], NULL, worker, (void *)i);
    for (i = 0; i < WORKERS; i++)
        pthread_join(w[i], NULL);
    pthread_join(s, NULL);
    T_ASSERT(renders >= 2);

    t = render(shared, &b);
    T_ASSERT(check_format(t) > 0);
    for (i = 0; i < 5; i++) {
        char series[160];

        /* Each worker: ROUNDS/2 200s spread over 5 upstreams, i%5 and i%2
         * pairing so that even upstream indexes get only even i. */
        snprintf(series, sizeof(series),
                 "vigie_requests_total{status=\"200\",decision=\"mask\",upstream=\"u%zu\"}", i);
        T_EQ_INT(value_of(t, series), WORKERS * ROUNDS / 10);
        snprintf(series, sizeof(series),
                 "vigie_upstream_errors_total{upstream=\"u%zu\",kind=\"timeout\"}", i);
        T_EQ_INT(value_of(t, series), i == 0 ? WORKERS * ROUNDS / 10 : -1);
    }
    T_EQ_INT(count_prefix(t, "vigie_requests_total{"), 10);
    T_EQ_INT(value_of(t, "vigie_findings_total{category=\"contact.email\",action=\"pseudonymise\"}"),
             2 * WORKERS * ROUNDS);
    T_EQ_INT(value_of(t, "vigie_request_duration_seconds_count"), WORKERS * ROUNDS);
    T_EQ_INT(value_of(t, "vigie_inspection_duration_seconds_count"), WORKERS * ROUNDS * 3 / 4);
    T_EQ_INT(value_of(t, "vigie_inspection_duration_seconds_bucket{le=\"5e-05\"}"), 0);
    T_EQ_INT(value_of(t, "vigie_inspection_duration_seconds_bucket{le=\"0.0001\"}"),
             WORKERS * ROUNDS * 3 / 4);
    T_CONTAINS(t, "\nvigie_request_duration_seconds_sum 160.000000000\n");
    T_EQ_INT(value_of(t, "vigie_connections_open"), 0);
    T_EQ_INT(value_of(t, "vigie_connections_total"), WORKERS * ROUNDS);
    T_EQ_INT(value_of(t, "vigie_metrics_dropped_series_total"), 0);
    vigie_buf_free(&b);
    metrics_free(shared);
}

static void test_escaping(void)
{
    struct metrics *m = metrics_new(2, "0.1.0");
    struct metrics_shard *sh = metrics_shard(m, 1);
    struct vigie_buf b = {0};
    char longv[400], want[200];
    const char *t;

    metrics_finding(sh, "a\"b\\c\nd", "mask", 1);
    metrics_finding(sh, "bad\xff", "mask", 1);
    memset(longv, 'x', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    longv[METRICS_LABEL_MAX - 1] = '\xc3'; /* a 2-byte character across the cut */
    longv[METRICS_LABEL_MAX] = '\xa9';
    metrics_finding(sh, longv, "mask", 1);
    metrics_upstream_error(sh, NULL, "connect");
    metrics_request(sh, 502, NULL, NULL, 0.1, -1, -1);
    metrics_finding(sh, "zero", "mask", 0);
    t = render(m, &b);
    T_ASSERT(check_format(t) > 0);
    T_EQ_INT(value_of(t, "vigie_findings_total{category=\"a\\\"b\\\\c\\nd\",action=\"mask\"}"), 1);
    T_EQ_INT(value_of(t, "vigie_findings_total{category=\"bad\xef\xbf\xbd\",action=\"mask\"}"), 1);
    snprintf(want, sizeof(want), "vigie_findings_total{category=\"%.*s\",action=\"mask\"}",
             METRICS_LABEL_MAX - 1, longv);
    T_EQ_INT(value_of(t, want), 1);
    T_EQ_INT(value_of(t, "vigie_upstream_errors_total{upstream=\"none\",kind=\"connect\"}"), 1);
    T_EQ_INT(value_of(t, "vigie_requests_total{status=\"502\",decision=\"none\",upstream=\"none\"}"),
             1);
    T_ASSERT(strstr(t, "zero") == NULL);
    /* Series are sorted by their labels. */
    T_ASSERT(strstr(t, "category=\"a\\\"") < strstr(t, "category=\"bad"));
    T_ASSERT(strstr(t, "category=\"bad") < strstr(t, "category=\"xxx"));
    vigie_buf_free(&b);
    metrics_free(m);
}

static void test_cap(void)
{
    struct metrics *m = metrics_new(2, "0.1.0");
    struct vigie_buf b = {0};
    const char *t;
    char name[32];
    unsigned i;

    for (i = 0; i < METRICS_SERIES_MAX + 88; i++) {
        snprintf(name, sizeof(name), "up%04u", i);
        metrics_upstream_error(metrics_shard(m, 0), name, "tls");
    }
    /* Existing series still count; the other shard has its own cap; the
     * other families are not affected. */
    metrics_upstream_error(metrics_shard(m, 0), "up0000", "tls");
    metrics_upstream_error(metrics_shard(m, 1), "up9999", "tls");
    metrics_upstream_error(metrics_shard(m, 1), "up0000", "tls");
    metrics_finding(metrics_shard(m, 0), "c", "a", 1);
    t = render(m, &b);
    T_ASSERT(check_format(t) > 0);
    T_EQ_INT(count_prefix(t, "vigie_upstream_errors_total{"), METRICS_SERIES_MAX + 1);
    T_EQ_INT(value_of(t, "vigie_upstream_errors_total{upstream=\"up0000\",kind=\"tls\"}"), 3);
    T_EQ_INT(value_of(t, "vigie_upstream_errors_total{upstream=\"up0511\",kind=\"tls\"}"), 1);
    T_EQ_INT(value_of(t, "vigie_upstream_errors_total{upstream=\"up0512\",kind=\"tls\"}"), -1);
    T_EQ_INT(value_of(t, "vigie_upstream_errors_total{upstream=\"up9999\",kind=\"tls\"}"), 1);
    T_EQ_INT(value_of(t, "vigie_findings_total{category=\"c\",action=\"a\"}"), 1);
    T_EQ_INT(value_of(t, "vigie_metrics_dropped_series_total"), 88);
    vigie_buf_free(&b);
    metrics_free(m);
}

static void test_histogram(void)
{
    static const double obs[] = {0.00005, 0.00005001, 0.0003, 0.7, 1, 59.9, 60, 100, -1};
    static const struct {
        const char *le;
        int n;
    } want[] = {{"5e-05", 1},  {"0.0001", 2}, {"0.00025", 2}, {"0.0005", 3}, {"0.001", 3},
                {"0.0025", 3}, {"0.005", 3},  {"0.01", 3},    {"0.025", 3},  {"0.05", 3},
                {"0.1", 3},    {"0.25", 3},   {"0.5", 3},     {"1", 5},      {"2.5", 5},
                {"5", 5},      {"10", 5},     {"30", 5},      {"60", 7},     {"+Inf", 8}};
    struct metrics *m = metrics_new(3, "0.1.0");
    struct vigie_buf b = {0};
    char series[96];
    const char *t;
    size_t i;

    for (i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
        metrics_request(metrics_shard(m, (unsigned)i % 3), 200, "allow", "onprem", obs[i], -1, NAN);
    t = render(m, &b);
    T_ASSERT(check_format(t) > 0);
    T_EQ_INT(count_prefix(t, "vigie_request_duration_seconds_bucket{"), 20);
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        snprintf(series, sizeof(series), "vigie_request_duration_seconds_bucket{le=\"%s\"}",
                 want[i].le);
        T_EQ_INT(value_of(t, series), want[i].n);
    }
    T_EQ_INT(value_of(t, "vigie_request_duration_seconds_count"), 8);
    T_CONTAINS(t, "\nvigie_request_duration_seconds_sum 221.600400010\n");
    T_EQ_INT(value_of(t, "vigie_inspection_duration_seconds_count"), 0);
    T_EQ_INT(value_of(t, "vigie_added_latency_seconds_count"), 0);
    T_CONTAINS(t, "# TYPE vigie_request_duration_seconds histogram\n");
    vigie_buf_free(&b);
    metrics_free(m);
}

static void test_globals(void)
{
    struct metrics *m = metrics_new(2, "0.1.0");
    struct vigie_buf b = {0};
    const char *t;
    char id[] = "customs-assistant", ver[] = "2026.11.1";

    T_ASSERT(metrics_new(0, "x") == NULL);
    T_ASSERT(metrics_new(METRICS_SHARDS_MAX + 1, "x") == NULL);
    metrics_free(NULL);
    t = render(m, &b);
    T_ASSERT(check_format(t) > 0);
    T_CONTAINS(t, "# TYPE vigie_policy_info gauge\n");
    T_ASSERT(count_prefix(t, "vigie_policy_info{") == 0);
    T_EQ_INT(value_of(t, "vigie_build_info{version=\"0.1.0\"}"), 1);
    T_EQ_INT(value_of(t, "vigie_reloads_total{result=\"ok\"}"), 0);

    metrics_set_policy(m, "old", "1");
    T_EQ_INT(metrics_set_policy(m, id, ver), VIGIE_OK);
    memset(id, 'z', sizeof(id) - 1); /* copied: the policy's strings may go away */
    metrics_reload(m, 1);
    metrics_reload(m, 1);
    metrics_reload(m, 0);
    metrics_conn(metrics_shard(m, 0), +1);
    metrics_conn(metrics_shard(m, 0), +1);
    metrics_conn(metrics_shard(m, 1), -1); /* closed on another shard */
    t = render(m, &b);
    T_ASSERT(check_format(t) > 0);
    T_EQ_INT(value_of(t, "vigie_policy_info{id=\"customs-assistant\",version=\"2026.11.1\"}"), 1);
    T_EQ_INT(count_prefix(t, "vigie_policy_info{"), 1);
    T_EQ_INT(value_of(t, "vigie_reloads_total{result=\"ok\"}"), 2);
    T_EQ_INT(value_of(t, "vigie_reloads_total{result=\"failed\"}"), 1);
    T_EQ_INT(value_of(t, "vigie_connections_open"), 1);
    T_EQ_INT(value_of(t, "vigie_connections_total"), 2);
    /* Every family of the contract is there, typed. */
    T_CONTAINS(t, "# TYPE vigie_requests_total counter\n");
    T_CONTAINS(t, "# TYPE vigie_findings_total counter\n");
    T_CONTAINS(t, "# TYPE vigie_inspection_duration_seconds histogram\n");
    T_CONTAINS(t, "# TYPE vigie_added_latency_seconds histogram\n");
    T_CONTAINS(t, "# TYPE vigie_connections_open gauge\n");
    T_CONTAINS(t, "# TYPE vigie_connections_total counter\n");
    T_CONTAINS(t, "# TYPE vigie_upstream_errors_total counter\n");
    T_CONTAINS(t, "# TYPE vigie_reloads_total counter\n");
    T_CONTAINS(t, "# TYPE vigie_build_info gauge\n");

    /* A render into a buffer too small fails cleanly. */
    vigie_buf_free(&b);
    vigie_buf_init(&b, 64);
    T_ASSERT(metrics_render(m, &b) != VIGIE_OK);
    T_ASSERT(b.data == NULL);
    vigie_buf_free(&b);
    metrics_free(m);
}

static void test_format_checker(void)
{
    /* The checker itself refuses what it must. */
    T_ASSERT(check_format("# TYPE a counter\na 1\n") == 1);
    T_ASSERT(check_format("# TYPE a counter\na{x=\"1\"} 1\n") == 1);
    T_ASSERT(check_format("a 1\n") == -1);
    T_ASSERT(check_format("# TYPE a counter\na{x=\"1} 1\n") == -1);
    T_ASSERT(check_format("# TYPE a counter\na{x=\"\\q\"} 1\n") == -1);
    T_ASSERT(check_format("# TYPE a counter\na 1x\n") == -1);
    T_ASSERT(check_format("# TYPE a summary\n") == -1);
}

int main(void)
{
    T_RUN(test_format_checker);
    T_RUN(test_threads);
    T_RUN(test_escaping);
    T_RUN(test_cap);
    T_RUN(test_histogram);
    T_RUN(test_globals);
    return T_DONE();
}
