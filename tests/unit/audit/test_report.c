/*
 * audit report: records are read as jansson would read them (and a line
 * jansson refuses is never counted), counts land in the right rows, ranges
 * and keys behave at their edges, and every format escapes what came from
 * the records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/report.h"
#include "test.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* One exchange line as the writer puts it. groups and findings are JSON
 * arrays' contents; caller, model, upstream and trust are JSON values. */
static int xline(char *out, size_t sz, unsigned seq, const char *ts, const char *caller,
                 const char *groups, const char *model, const char *upstream, const char *trust,
                 const char *decision, const char *findings, const char *tokens_in,
                 const char *tokens_out, unsigned bytes_in, unsigned bytes_out, const char *ms)
{
    return snprintf(
        out, sz,
        "{\"v\":1,\"seq\":%u,\"ts\":\"%s\",\"type\":\"exchange\",\"id\":\"r%u\",\"caller\":%s,"
        "\"groups\":[%s],\"client\":\"10.0.0.1\",\"endpoint\":\"/v1/chat/completions\","
        "\"model\":%s,\"model_served\":%s,\"upstream\":%s,\"trust\":%s,\"policy\":{\"id\":\"p\","
        "\"version\":\"1\",\"mode\":\"enforce\"},\"decision\":\"%s\",\"findings\":[%s],"
        "\"stream\":false,\"tokens_in\":%s,\"tokens_out\":%s,\"bytes_in\":%u,\"bytes_out\":%u,"
        "\"status\":200,\"code\":null,\"ms\":%s,\"vigie_ms\":0.25,\"prev\":\"" H64
        "\",\"mac\":\"" H64 "\"}",
        seq, ts, seq, caller, groups, model, model, upstream, trust, decision, findings, tokens_in,
        tokens_out, bytes_in, bytes_out, ms);
}

static int other_line(char *out, size_t sz, unsigned seq, const char *ts, const char *type,
                      const char *fields)
{
    return snprintf(out, sz,
                    "{\"v\":1,\"seq\":%u,\"ts\":\"%s\",\"type\":\"%s\",%s%s\"prev\":\"" H64
                    "\",\"mac\":\"" H64 "\"}",
                    seq, ts, type, fields, fields[0] ? "," : "");
}

static struct audit_report *report_new(const char *by, int64_t since, int64_t until)
{
    struct audit_report_opts o;
    struct audit_report *r;
    char err[256];

    audit_report_opts_init(&o);
    o.generated_ms = 1795000000000;
    o.since_ms = since;
    o.until_ms = until;
    if (by != NULL && audit_report_parse_by(by, o.by, &o.nby, err, sizeof(err)) != VIGIE_OK) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    if (audit_report_new(&r, &o) != VIGIE_OK)
        exit(1);
    return r;
}

static void add(struct audit_report *r, const char *line)
{
    static uint64_t n;
    if (audit_report_add_line(r, line, strlen(line), "t.log", ++n) != VIGIE_OK)
        T_FAIL("add_line failed");
}

/* The report in one format, as a malloc'ed string. */
static char *render(struct audit_report *r, enum audit_report_format f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);

    if (m == NULL || audit_report_write(r, f, m) != VIGIE_OK)
        T_FAIL("write failed");
    if (m != NULL)
        fclose(m);
    return buf;
}

static json_t *render_json(struct audit_report *r)
{
    char *s = render(r, AUDIT_REPORT_JSON);
    json_error_t e;
    json_t *j = json_loads(s ? s : "", JSON_REJECT_DUPLICATES, &e);

    if (j == NULL)
        T_FAIL("the JSON report does not load: %s (line %d)", e.text, e.line);
    free(s);
    return j;
}

static long long jint(json_t *j, const char *path)
{
    /* "a.b.c" through objects */
    char buf[256], *p, *save = NULL;
    json_t *v = j;

    snprintf(buf, sizeof(buf), "%s", path);
    for (p = strtok_r(buf, ".", &save); p && v; p = strtok_r(NULL, ".", &save))
        v = json_object_get(v, p);
    if (!json_is_integer(v)) {
        T_FAIL("%s is not an integer", path);
        return -1;
    }
    return json_integer_value(v);
}

/* The row whose key k1 (and k2) is v1 (and v2; NULL: JSON null). */
static json_t *jrow(json_t *rows, const char *k1, const char *v1)
{
    size_t i;
    json_t *row;

    json_array_foreach(rows, i, row)
    {
        json_t *k = json_object_get(row, k1);
        if ((v1 == NULL && json_is_null(k)) ||
            (v1 != NULL && json_is_string(k) && strcmp(json_string_value(k), v1) == 0))
            return row;
    }
    T_FAIL("no row %s=%s", k1, v1 ? v1 : "null");
    return NULL;
}

static long long rint_(json_t *row, const char *k)
{
    json_t *v = json_object_get(row, k);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* A small log with known counts:
 *   1 alice [a]     gpt (ext)  allow  findings: siret x2 flag          tokens 10/20
 *   2 alice [a]     gpt (ext)  mask   email x1 pseudonymise, iban x1 mask  30/40
 *   3 bob   [a,b]   llm (int)  allow  email x3 flag                   5/null
 *   4 bob   [a,b]   gpt (ext)  block  nir x1 block, email x1 pseudonymise  null/null
 *   5 null  []      gpt        deny   (trust null)                    null/null
 *   6 carol [b]     llm (int)  reroute marking x1 reroute              7/8   (next day)
 * plus start, reload (failed), checkpoint, stop. */
static void small_log(struct audit_report *r)
{
    char l[4096];

    other_line(
        l, sizeof(l), 1, "2026-11-01T08:00:00.000Z", "start",
        "\"version\":\"0.1.0\",\"pid\":1,\"workers\":2,\"file\":\"a.log\",\"policy\":{\"id\":"
        "\"p\",\"version\":\"1\",\"mode\":\"enforce\"},\"key_id\":\"k\",\"genesis\":true");
    add(r, l);
    xline(l, sizeof(l), 2, "2026-11-01T09:00:00.000Z", "\"alice\"", "\"a\"", "\"gpt\"",
          "\"openai\"", "\"external\"", "allow",
          "{\"rule\":\"company.siret\",\"category\":\"company.siret\",\"count\":2,\"action\":"
          "\"flag\"}",
          "10", "20", 100, 200, "100");
    add(r, l);
    xline(l, sizeof(l), 3, "2026-11-01T10:00:00.000Z", "\"alice\"", "\"a\"", "\"gpt\"",
          "\"openai\"", "\"external\"", "mask",
          "{\"rule\":\"contact.email\",\"category\":\"contact.email\",\"count\":1,\"action\":"
          "\"pseudonymise\"},{\"rule\":\"finance.iban\",\"category\":\"finance.iban\","
          "\"count\":1,\"action\":\"mask\"}",
          "30", "40", 300, 400, "200");
    add(r, l);
    xline(l, sizeof(l), 4, "2026-11-01T11:00:00.000Z", "\"bob\"", "\"a\",\"b\"", "\"llm\"",
          "\"local\"", "\"internal\"", "allow",
          "{\"rule\":\"contact.email\",\"category\":\"contact.email\",\"count\":3,\"action\":"
          "\"flag\"}",
          "5", "null", 50, 60, "300");
    add(r, l);
    other_line(l, sizeof(l), 5, "2026-11-01T11:30:00.000Z", "reload", "\"ok\":false,\"errors\":2");
    add(r, l);
    xline(l, sizeof(l), 6, "2026-11-01T12:00:00.000Z", "\"bob\"", "\"a\",\"b\"", "\"gpt\"",
          "\"openai\"", "\"external\"", "block",
          "{\"rule\":\"identity.nir\",\"category\":\"identity.nir\",\"count\":1,\"action\":"
          "\"block\"},{\"rule\":\"contact.email\",\"category\":\"contact.email\",\"count\":1,"
          "\"action\":\"pseudonymise\"}",
          "null", "null", 70, 80, "2");
    add(r, l);
    xline(l, sizeof(l), 7, "2026-11-01T13:00:00.000Z", "null", "", "\"gpt\"", "null", "null",
          "deny", "", "null", "null", 90, 100, "1");
    add(r, l);
    other_line(l, sizeof(l), 8, "2026-11-01T14:00:00.000Z", "checkpoint",
               "\"head\":\"" H64 "\",\"file\":\"a.log\"");
    add(r, l);
    xline(l, sizeof(l), 9, "2026-11-02T00:00:00.000Z", "\"carol\"", "\"b\"", "\"llm\"", "\"local\"",
          "\"internal\"", "reroute",
          "{\"rule\":\"marking.stamp\",\"category\":\"marking\",\"count\":1,\"action\":"
          "\"reroute\"}",
          "7", "8", 11, 12, "400");
    add(r, l);
    other_line(l, sizeof(l), 10, "2026-11-02T01:00:00.000Z", "stop",
               "\"reason\":\"signal\",\"records\":10");
    add(r, l);
}

static void test_totals(void)
{
    struct audit_report *r = report_new(NULL, INT64_MIN, INT64_MAX);
    struct audit_report_status st;
    json_t *j, *rows;

    small_log(r);
    audit_report_get_status(r, &st);
    T_EQ_INT(st.lines, 10);
    T_EQ_INT(st.records, 10);
    T_EQ_INT(st.exchanges, 6);
    T_EQ_INT(st.unreadable, 0);
    j = render_json(r);
    T_EQ_INT(jint(j, "totals.requests"), 6);
    T_EQ_INT(jint(j, "totals.allowed"), 2);
    T_EQ_INT(jint(j, "totals.masked"), 1);
    T_EQ_INT(jint(j, "totals.rerouted"), 1);
    T_EQ_INT(jint(j, "totals.blocked"), 1);
    T_EQ_INT(jint(j, "totals.denied"), 1);
    T_EQ_INT(jint(j, "totals.tokens_in"), 52);
    T_EQ_INT(jint(j, "totals.tokens_out"), 68);
    T_EQ_INT(jint(j, "totals.bytes_in"), 621);
    T_EQ_INT(jint(j, "totals.bytes_out"), 852);
    T_EQ_INT(jint(j, "totals.findings"), 10);
    T_EQ_INT(jint(j, "totals.with_findings"), 5);
    T_EQ_INT(jint(j, "totals.external"), 3);
    T_EQ_INT(jint(j, "records.types.start"), 1);
    T_EQ_INT(jint(j, "records.types.stop"), 1);
    T_EQ_INT(jint(j, "records.types.reload"), 1);
    T_EQ_INT(jint(j, "records.reload_failed"), 1);
    T_EQ_INT(jint(j, "records.types.checkpoint"), 1);
    /* External: 3 exchanges, 2 forwarded; siret x2 flagged went as written,
     * email+iban replaced, nir+email of the blocked one stopped (as they
     * would be with trust null, as the gateway writes a refusal). */
    T_EQ_INT(jint(j, "external.exchanges"), 3);
    T_EQ_INT(jint(j, "external.forwarded"), 2);
    T_EQ_INT(jint(j, "external.findings"), 6);
    T_EQ_INT(jint(j, "external.findings_sent_as_written"), 2);
    T_EQ_INT(jint(j, "external.findings_sent_replaced"), 2);
    T_EQ_INT(jint(j, "external.findings_stopped"), 2);
    T_EQ_STR(json_string_value(json_object_get(json_object_get(j, "range"), "first")),
             "2026-11-01T08:00:00.000Z");
    T_EQ_STR(json_string_value(json_object_get(json_object_get(j, "range"), "last")),
             "2026-11-02T01:00:00.000Z");
    T_ASSERT(json_is_null(json_object_get(json_object_get(j, "range"), "since")));
    /* Rows default to callers, most requests first, null caller included. */
    rows = json_object_get(j, "rows");
    T_EQ_INT(json_array_size(rows), 4);
    T_EQ_STR(json_string_value(json_object_get(json_array_get(rows, 0), "caller")), "alice");
    T_EQ_INT(rint_(jrow(rows, "caller", "bob"), "requests"), 2);
    T_EQ_INT(rint_(jrow(rows, "caller", "bob"), "blocked"), 1);
    T_EQ_INT(rint_(jrow(rows, "caller", "bob"), "tokens_in"), 5);
    T_EQ_INT(rint_(jrow(rows, "caller", NULL), "denied"), 1);
    json_decref(j);
    audit_report_free(r);
}

static void test_by_keys(void)
{
    struct audit_report *r;
    json_t *j, *rows, *row;

    /* group: bob counts in a and b. */
    r = report_new("group", INT64_MIN, INT64_MAX);
    small_log(r);
    j = render_json(r);
    rows = json_object_get(j, "rows");
    T_EQ_INT(rint_(jrow(rows, "group", "a"), "requests"), 4);
    T_EQ_INT(rint_(jrow(rows, "group", "b"), "requests"), 3);
    T_EQ_INT(rint_(jrow(rows, "group", NULL), "requests"), 1);
    json_decref(j);
    audit_report_free(r);

    /* day: in date order. */
    r = report_new("day", INT64_MIN, INT64_MAX);
    small_log(r);
    j = render_json(r);
    rows = json_object_get(j, "rows");
    T_EQ_INT(json_array_size(rows), 2);
    T_EQ_STR(json_string_value(json_object_get(json_array_get(rows, 0), "day")), "2026-11-01");
    T_EQ_INT(rint_(json_array_get(rows, 0), "requests"), 5);
    T_EQ_INT(rint_(json_array_get(rows, 1), "rerouted"), 1);
    json_decref(j);
    audit_report_free(r);

    /* category: findings by action and trust. */
    r = report_new("category", INT64_MIN, INT64_MAX);
    small_log(r);
    j = render_json(r);
    rows = json_object_get(j, "rows");
    row = jrow(rows, "category", "contact.email");
    T_EQ_STR(json_string_value(json_object_get(json_array_get(rows, 0), "category")),
             "contact.email");
    T_EQ_INT(rint_(row, "findings"), 5);
    T_EQ_INT(rint_(row, "exchanges"), 3);
    T_EQ_INT(rint_(row, "flag"), 3);
    T_EQ_INT(rint_(row, "pseudonymise"), 2);
    T_EQ_INT(rint_(row, "internal"), 3);
    T_EQ_INT(rint_(row, "external"), 2);
    T_EQ_INT(rint_(row, "external_replaced"), 1);
    T_EQ_INT(rint_(row, "stopped"), 1);
    T_EQ_INT(rint_(jrow(rows, "category", "company.siret"), "external_as_written"), 2);
    json_decref(j);
    audit_report_free(r);

    /* rule, trust, upstream, model. */
    r = report_new("rule", INT64_MIN, INT64_MAX);
    small_log(r);
    j = render_json(r);
    T_EQ_INT(rint_(jrow(json_object_get(j, "rows"), "rule", "marking.stamp"), "reroute"), 1);
    json_decref(j);
    audit_report_free(r);
    r = report_new("trust", INT64_MIN, INT64_MAX);
    small_log(r);
    j = render_json(r);
    T_EQ_INT(rint_(jrow(json_object_get(j, "rows"), "trust", "external"), "requests"), 3);
    T_EQ_INT(rint_(jrow(json_object_get(j, "rows"), "trust", NULL), "requests"), 1);
    json_decref(j);
    audit_report_free(r);
    r = report_new("upstream", INT64_MIN, INT64_MAX);
    small_log(r);
    j = render_json(r);
    T_EQ_INT(rint_(jrow(json_object_get(j, "rows"), "upstream", "local"), "tokens_out"), 8);
    json_decref(j);
    audit_report_free(r);

    /* caller,model pairs: grouped by caller, the busiest first. */
    r = report_new("caller,model", INT64_MIN, INT64_MAX);
    small_log(r);
    j = render_json(r);
    rows = json_object_get(j, "rows");
    T_EQ_INT(json_array_size(rows), 5);
    T_EQ_STR(json_string_value(json_object_get(json_array_get(rows, 0), "caller")), "alice");
    T_EQ_STR(json_string_value(json_object_get(json_array_get(rows, 0), "model")), "gpt");
    T_EQ_INT(rint_(json_array_get(rows, 0), "requests"), 2);
    T_EQ_STR(json_string_value(json_object_get(json_array_get(rows, 1), "caller")), "bob");
    T_EQ_STR(json_string_value(json_object_get(json_array_get(rows, 2), "caller")), "bob");
    json_decref(j);
    audit_report_free(r);

    /* group,category: findings of each group. */
    r = report_new("group,category", INT64_MIN, INT64_MAX);
    small_log(r);
    j = render_json(r);
    rows = json_object_get(j, "rows");
    {
        size_t i;
        long long email_b = -1;
        json_array_foreach(rows, i, row)
        {
            if (strcmp(json_string_value(json_object_get(row, "group")), "b") == 0 &&
                strcmp(json_string_value(json_object_get(row, "category")), "contact.email") == 0)
                email_b = rint_(row, "findings");
        }
        T_EQ_INT(email_b, 4);
    }
    json_decref(j);
    audit_report_free(r);
}

static void test_range(void)
{
    int64_t since, until;
    struct audit_report *r;
    struct audit_report_status st;
    json_t *j;

    /* since inclusive, until exclusive: 09:00 in, 12:00 out. */
    T_EQ_INT(audit_report_parse_time("2026-11-01T09:00", &since, NULL, 0), VIGIE_OK);
    T_EQ_INT(audit_report_parse_time("2026-11-01T12:00:00Z", &until, NULL, 0), VIGIE_OK);
    r = report_new(NULL, since, until);
    small_log(r);
    audit_report_get_status(r, &st);
    T_EQ_INT(st.records, 4); /* exchanges 2, 3, 4 and the reload */
    T_EQ_INT(st.exchanges, 3);
    T_EQ_INT(st.outside, 6);
    j = render_json(r);
    T_EQ_INT(jint(j, "totals.requests"), 3);
    T_EQ_STR(json_string_value(json_object_get(json_object_get(j, "range"), "since")),
             "2026-11-01T09:00:00.000Z");
    T_EQ_STR(json_string_value(json_object_get(json_object_get(j, "range"), "until")),
             "2026-11-01T12:00:00.000Z");
    json_decref(j);
    audit_report_free(r);
}

static void test_parse_time(void)
{
    int64_t ms = 0;
    char err[256];

    T_EQ_INT(audit_report_parse_time("1970-01-01", &ms, NULL, 0), VIGIE_OK);
    T_EQ_INT(ms, 0);
    T_EQ_INT(audit_report_parse_time("2026-11-01", &ms, NULL, 0), VIGIE_OK);
    T_EQ_INT(ms, 1793491200000LL);
    T_EQ_INT(audit_report_parse_time("2026-11-01T10:00", &ms, NULL, 0), VIGIE_OK);
    T_EQ_INT(ms, 1793491200000LL + 36000000);
    T_EQ_INT(audit_report_parse_time("2026-11-01T10:00:05Z", &ms, NULL, 0), VIGIE_OK);
    T_EQ_INT(ms, 1793491200000LL + 36005000);
    T_EQ_INT(audit_report_parse_time("2026-11-01T10:00:05.12Z", &ms, NULL, 0), VIGIE_OK);
    T_EQ_INT(ms, 1793491200000LL + 36005120);
    T_EQ_INT(audit_report_parse_time("2024-02-29", &ms, NULL, 0), VIGIE_OK);
    T_EQ_INT(audit_report_parse_time("2026-02-29", &ms, err, sizeof(err)), VIGIE_ERR_PARSE);
    T_CONTAINS(err, "no such date");
    T_EQ_INT(audit_report_parse_time("2026-11-01T10:00+02:00", &ms, err, sizeof(err)),
             VIGIE_ERR_PARSE);
    T_CONTAINS(err, "UTC");
    T_EQ_INT(audit_report_parse_time("yesterday", &ms, err, sizeof(err)), VIGIE_ERR_PARSE);
    T_CONTAINS(err, "expected a UTC time");
    T_EQ_INT(audit_report_parse_time("2026-11-01T25:00", &ms, NULL, 0), VIGIE_ERR_PARSE);
    T_EQ_INT(audit_report_parse_time("2026-11-01T10", &ms, NULL, 0), VIGIE_ERR_PARSE);
    T_EQ_INT(audit_report_parse_time("2026-11-01T10:00:00.1234", &ms, NULL, 0), VIGIE_ERR_PARSE);
    T_EQ_INT(audit_report_parse_time("", &ms, NULL, 0), VIGIE_ERR_PARSE);
}

static void test_parse_by(void)
{
    enum audit_dim by[AUDIT_REPORT_BY_MAX];
    size_t n = 0;
    char err[256];

    T_EQ_INT(audit_report_parse_by("caller", by, &n, NULL, 0), VIGIE_OK);
    T_EQ_INT(n, 1);
    T_EQ_INT(by[0], AUDIT_DIM_CALLER);
    T_EQ_INT(audit_report_parse_by("day,rule", by, &n, NULL, 0), VIGIE_OK);
    T_EQ_INT(n, 2);
    T_EQ_INT(by[1], AUDIT_DIM_RULE);
    T_EQ_INT(audit_report_parse_by("callers", by, &n, err, sizeof(err)), VIGIE_ERR_PARSE);
    T_CONTAINS(err, "expected caller, group");
    T_EQ_INT(audit_report_parse_by("a,b,c", by, &n, NULL, 0), VIGIE_ERR_PARSE);
    T_EQ_INT(audit_report_parse_by("caller,model,day", by, &n, err, sizeof(err)), VIGIE_ERR_PARSE);
    T_CONTAINS(err, "at most 2");
    T_EQ_INT(audit_report_parse_by("model,model", by, &n, err, sizeof(err)), VIGIE_ERR_PARSE);
    T_EQ_INT(audit_report_parse_by("", by, &n, NULL, 0), VIGIE_ERR_PARSE);
}

/* Lines that are not records: each counted, none aggregated. */
static void test_unreadable(void)
{
    static const char *const bad[] = {
        "",
        "not json",
        "[1,2]",
        "{\"v\":1}",
        "{\"v\":2,\"seq\":1,\"ts\":\"2026-11-01T00:00:00.000Z\",\"type\":\"stop\",\"prev\":\"" H64
        "\",\"mac\":\"" H64 "\"}",
        "{\"v\":1,\"seq\":1,\"ts\":\"2026-11-01 00:00:00\",\"type\":\"stop\",\"prev\":\"" H64
        "\",\"mac\":\"" H64 "\"}",
        "{\"v\":1,\"seq\":1,\"ts\":\"2026-11-01T00:00:00.000Z\",\"type\":\"stop\",\"prev\":\"x\","
        "\"mac\":\"" H64 "\"}",
        "{\"v\":1,\"seq\":1,\"seq\":2,\"ts\":\"2026-11-01T00:00:00.000Z\",\"type\":\"stop\","
        "\"prev\":\"" H64 "\",\"mac\":\"" H64 "\"}",
        "{\"v\":1,\"seq\":1,\"ts\":\"2026-11-01T00:00:00.000Z\",\"type\":\"stop\",\"prev\":\"" H64
        "\",\"mac\":\"" H64 "\"} x",
        "{\"v\":1,\"seq\":1,\"ts\":\"2026-11-01T00:00:00.000Z\",\"type\":\"reload\",\"prev\":\"" H64
        "\",\"mac\":\"" H64 "\"}",
        "{\"v\":1,\"seq\":1,\"ts\":\"2026-11-01T00:00:00.000Z\",\"type\":\"exchange\",\"prev\":"
        "\"" H64 "\",\"mac\":\"" H64 "\"}",
        "{\"v\":1,\"seq\":-1,\"ts\":\"2026-11-01T00:00:00.000Z\",\"type\":\"stop\",\"prev\":\"" H64
        "\",\"mac\":\"" H64 "\"}",
        "{\"v\":1,\"seq\":99999999999999999999,\"ts\":\"2026-11-01T00:00:00.000Z\",\"type\":"
        "\"stop\",\"prev\":\"" H64 "\",\"mac\":\"" H64 "\"}",
        "{\"v\":1,\"seq\":1,\"ts\":\"2026-11-01T00:00:00.000Z\",\"type\":\"st\\u0000op\",\"prev\":"
        "\"" H64 "\",\"mac\":\"" H64 "\"}",
        "{\"v\":1,\"seq\":1,\"ts\":\"2026-11-01T00:00:00.000Z\",\"type\":\"st\xc3(op\",\"prev\":"
        "\"" H64 "\",\"mac\":\"" H64 "\"}",
        "{\"v\":1,\"seq\":1,\"ts\":\"2026-11-01T00:00:00.000Z\",\"type\":\"\\ud800\",\"prev\":"
        "\"" H64 "\",\"mac\":\"" H64 "\"}",
    };
    struct audit_report *r = report_new(NULL, INT64_MIN, INT64_MAX);
    struct audit_report_status st;
    char l[4096];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        audit_report_add_line(r, bad[i], strlen(bad[i]), "bad.log", i + 1);
        audit_report_get_status(r, &st);
        if (st.unreadable != i + 1)
            T_FAIL("line %zu was read as a record: %s", i + 1, bad[i]);
    }
    T_EQ_STR(st.first_unreadable, "bad.log:1: an empty line");
    T_EQ_INT(st.records, 0);
    /* A wrong type in an exchange, named. */
    xline(l, sizeof(l), 1, "2026-11-01T00:00:00.000Z", "\"a\"", "", "\"m\"", "null", "null",
          "allow", "", "\"ten\"", "null", 1, 1, "1");
    audit_report_add_line(r, l, strlen(l), "bad.log", 99);
    audit_report_get_status(r, &st);
    T_EQ_INT(st.unreadable, sizeof(bad) / sizeof(bad[0]) + 1);
    T_EQ_INT(st.exchanges, 0);
    audit_report_free(r);

    r = report_new(NULL, INT64_MIN, INT64_MAX);
    audit_report_add_line(r, l, strlen(l), "x.log", 7);
    audit_report_get_status(r, &st);
    T_EQ_STR(st.first_unreadable, "x.log:7: \"tokens_in\": expected a count");
    audit_report_free(r);
}

/* Escapes and unknown keys are read as jansson reads them. */
static void test_json_edges(void)
{
    struct audit_report *r = report_new(NULL, INT64_MIN, INT64_MAX);
    struct audit_report_status st;
    json_t *j;
    char l[4096];
    int n;

    /* caller "é/\"x" written with escapes, spaces around tokens, an unknown
     * key with a nested value, ms as a real. */
    n = snprintf(
        l, sizeof(l),
        "{ \"v\" : 1 , \"seq\":1,\"ts\":\"2026-11-01T00:00:00.000Z\",\"type\":\"exchange\","
        "\"future\":{\"a\":[1,2,{\"b\":null}]},\"id\":\"r\",\"caller\":\"\\u00e9\\/\\\"x\","
        "\"groups\":[],\"client\":null,\"endpoint\":\"/\",\"model\":\"\\ud83d\\ude00\","
        "\"model_served\":null,\"upstream\":null,\"trust\":null,\"policy\":null,"
        "\"decision\":\"none\",\"findings\":[],\"stream\":null,\"tokens_in\":null,"
        "\"tokens_out\":null,\"bytes_in\":0,\"bytes_out\":0,\"status\":404,\"code\":1,"
        "\"ms\":1.5e0,\"vigie_ms\":0,\"prev\":\"" H64 "\",\"mac\":\"" H64 "\" }");
    audit_report_add_line(r, l, (size_t)n, "e.log", 1);
    audit_report_get_status(r, &st);
    T_EQ_INT(st.unreadable, 0);
    T_EQ_INT(st.exchanges, 1);
    j = render_json(r);
    T_EQ_STR(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "rows"), 0), "caller")),
        "\xc3\xa9/\"x");
    T_EQ_INT(jint(j, "decisions.none"), 1);
    json_decref(j);
    audit_report_free(r);
}

/* Property: a line jansson refuses is never counted as a record. Single-byte
 * changes of a valid line, each compared with json_loadb. */
static void test_mutations_vs_jansson(void)
{
    static const char repl[] = "{}[]\",:\\0123456789-+.eEtfnul \x01\x7f\xc3\xff";
    struct audit_report *r = report_new(NULL, INT64_MIN, INT64_MAX);
    struct audit_report_status st;
    uint64_t seed = 42, before;
    char base[4096], l[4096];
    size_t len, i, refused = 0, tried = 0;

    len = (size_t)xline(base, sizeof(base), 1, "2026-11-01T00:00:00.000Z", "\"a\\u00e9\"", "\"g\"",
                        "\"m\"", "\"u\"", "\"external\"", "mask",
                        "{\"rule\":\"r\",\"category\":\"c\",\"count\":2,\"action\":\"mask\"}", "1",
                        "2", 3, 4, "5.5");
    for (i = 0; i < 20000; i++) {
        size_t at;
        json_error_t e;
        json_t *v;
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        at = (size_t)(seed >> 33) % len;
        memcpy(l, base, len);
        l[at] = repl[(seed >> 13) % (sizeof(repl) - 1)];
        audit_report_get_status(r, &st);
        before = st.unreadable;
        audit_report_add_line(r, l, len, "m.log", i + 1);
        audit_report_get_status(r, &st);
        v = json_loadb(l, len, JSON_REJECT_DUPLICATES, &e);
        tried++;
        if (v == NULL) {
            refused++;
            if (st.unreadable != before + 1) {
                T_FAIL("jansson refuses (%s) but the report read: %.*s", e.text, (int)len, l);
                break;
            }
        }
        json_decref(v);
    }
    T_ASSERT(refused > tried / 10);
    audit_report_free(r);
}

static void test_escaping(void)
{
    struct audit_report *r = report_new("caller", INT64_MIN, INT64_MAX);
    char l[4096], *s;

    xline(l, sizeof(l), 1, "2026-11-01T00:00:00.000Z", "\"<script>alert(1)</script>\"", "\"g\"",
          "\"<b>m</b>\"", "null", "null", "deny", "", "null", "null", 1, 1, "1");
    add(r, l);
    xline(l, sizeof(l), 2, "2026-11-01T00:00:00.000Z", "\"=SUM(A1),\\\"x\\\"\"", "\"g\"", "\"m\"",
          "null", "null", "deny", "", "null", "null", 1, 1, "1");
    add(r, l);
    xline(l, sizeof(l), 3, "2026-11-01T00:00:00.000Z", "\"\\u001b[31mred\\u202e\"", "\"g\"",
          "\"m\"", "null", "null", "deny", "", "null", "null", 1, 1, "1");
    add(r, l);

    s = render(r, AUDIT_REPORT_HTML);
    T_ASSERT(s != NULL && strstr(s, "<script>") == NULL);
    T_CONTAINS(s, "&lt;script&gt;alert(1)&lt;/script&gt;");
    T_ASSERT(strstr(s, "<b>m</b>") == NULL);
    T_CONTAINS(s, "&lt;b&gt;m&lt;/b&gt;");
    T_CONTAINS(s, "\\x1b[31mred\\u{202e}");
    T_ASSERT(strstr(s, "http://") == NULL && strstr(s, "https://") == NULL);
    T_ASSERT(strstr(s, "<script") == NULL && strstr(s, "<link") == NULL);
    free(s);

    s = render(r, AUDIT_REPORT_CSV);
    T_CONTAINS(s, "\r\n\"'=SUM(A1),\"\"x\"\"\",");
    T_CONTAINS(s, "\r\n<script>alert(1)</script>,");
    free(s);

    s = render(r, AUDIT_REPORT_TEXT);
    T_CONTAINS(s, "\\x1b[31mred\\u{202e}");
    T_ASSERT(strchr(s, '\x1b') == NULL);
    free(s);
    audit_report_free(r);
}

static void test_limits(void)
{
    struct audit_report *r = report_new("caller", INT64_MIN, INT64_MAX);
    struct audit_report_status st;
    char caller[400], l[4096];
    json_t *j, *rows;
    unsigned i;

    /* A caller of 300 bytes: cut at 128, marked. */
    memset(caller, 'x', sizeof(caller));
    caller[0] = '"';
    caller[301] = '"';
    caller[302] = '\0';
    xline(l, sizeof(l), 1, "2026-11-01T00:00:00.000Z", caller, "", "\"m\"", "null", "null", "deny",
          "", "null", "null", 1, 1, "1");
    add(r, l);
    audit_report_get_status(r, &st);
    T_EQ_INT(st.cut_keys, 1);
    j = render_json(r);
    rows = json_object_get(j, "rows");
    T_EQ_INT(strlen(json_string_value(json_object_get(json_array_get(rows, 0), "caller"))),
             AUDIT_REPORT_KEY_MAX + 3);
    json_decref(j);
    audit_report_free(r);

    /* Past AUDIT_REPORT_ROWS_MAX callers, the rest in one "(other)" row. */
    r = report_new("caller", INT64_MIN, INT64_MAX);
    for (i = 0; i < AUDIT_REPORT_ROWS_MAX + 5; i++) {
        char c[32];
        snprintf(c, sizeof(c), "\"c%u\"", i);
        xline(l, sizeof(l), i + 1, "2026-11-01T00:00:00.000Z", c, "", "\"m\"", "null", "null",
              "deny", "", "null", "null", 1, 1, "1");
        add(r, l);
    }
    audit_report_get_status(r, &st);
    T_EQ_INT(st.other_rows, 5);
    j = render_json(r);
    rows = json_object_get(j, "rows");
    T_EQ_INT(json_array_size(rows), AUDIT_REPORT_ROWS_MAX + 1);
    T_ASSERT(json_is_true(json_object_get(json_array_get(rows, AUDIT_REPORT_ROWS_MAX), "other")));
    T_EQ_INT(rint_(json_array_get(rows, AUDIT_REPORT_ROWS_MAX), "requests"), 5);
    T_EQ_INT(jint(j, "totals.requests"), AUDIT_REPORT_ROWS_MAX + 5);
    json_decref(j);
    audit_report_free(r);
}

/* Durations: p50 and p95 of 1..1000 ms within the histogram's 6 %. */
static void test_percentiles(void)
{
    struct audit_report *r = report_new("model", INT64_MIN, INT64_MAX);
    char l[4096], ms[32];
    json_t *j, *row;
    double p50, p95;
    unsigned i;

    for (i = 1; i <= 1000; i++) {
        snprintf(ms, sizeof(ms), "%u", i);
        xline(l, sizeof(l), i, "2026-11-01T00:00:00.000Z", "\"a\"", "", "\"m\"", "null", "null",
              "allow", "", "1", "1", 1, 1, ms);
        add(r, l);
    }
    j = render_json(r);
    row = json_array_get(json_object_get(j, "rows"), 0);
    p50 = json_real_value(json_object_get(row, "p50_ms"));
    p95 = json_real_value(json_object_get(row, "p95_ms"));
    if (p50 < 500 * 0.94 || p50 > 500 * 1.06 || p95 < 950 * 0.94 || p95 > 950 * 1.06)
        T_FAIL("p50 %.1f, p95 %.1f", p50, p95);
    json_decref(j);
    audit_report_free(r);
}

/* Files: blocks, a line over AUDIT_LINE_MAX, a last line without newline, a
 * missing file, an empty file. */
static void test_files(void)
{
    char path[] = "/tmp/vigie-report-XXXXXX", l[4096], err[256];
    struct audit_report *r = report_new(NULL, INT64_MIN, INT64_MAX);
    struct audit_report_status st;
    FILE *f;
    int fd = mkstemp(path);
    unsigned i;
    json_t *j;

    T_ASSERT(fd >= 0);
    f = fdopen(fd, "w");
    for (i = 0; i < 3000; i++) {
        xline(l, sizeof(l), i + 1, "2026-11-01T00:00:00.000Z", "\"a\"", "", "\"m\"", "null", "null",
              "allow", "", "1", "1", 1, 1, "1");
        fprintf(f, "%s\n", l);
        if (i == 1000) {
            /* 200 KB without a newline, then the newline. */
            unsigned k;
            for (k = 0; k < 200000; k++)
                fputc('x', f);
            fputc('\n', f);
        }
    }
    fputs(l, f); /* no newline at the end */
    fclose(f);
    T_EQ_INT(audit_report_read_file(r, path, err, sizeof(err)), VIGIE_OK);
    audit_report_get_status(r, &st);
    T_EQ_INT(st.lines, 3002);
    T_EQ_INT(st.exchanges, 3001);
    T_EQ_INT(st.unreadable, 1);
    {
        char want[512];
        snprintf(want, sizeof(want), "%s:1002: longer than the longest record", path);
        T_CONTAINS(st.first_unreadable, want);
    }
    j = render_json(r);
    T_EQ_INT(jint(j, "totals.requests"), 3001);
    json_decref(j);
    T_EQ_INT(audit_report_read_file(r, "/nonexistent/audit.log", err, sizeof(err)), VIGIE_ERR_IO);
    T_CONTAINS(err, "/nonexistent/audit.log");
    audit_report_free(r);

    /* Empty: a valid report of zeros in every format. */
    f = fopen(path, "w");
    fclose(f);
    r = report_new(NULL, INT64_MIN, INT64_MAX);
    T_EQ_INT(audit_report_read_file(r, path, err, sizeof(err)), VIGIE_OK);
    j = render_json(r);
    T_EQ_INT(jint(j, "totals.requests"), 0);
    T_ASSERT(json_is_null(json_object_get(json_object_get(j, "range"), "first")));
    T_EQ_INT(json_array_size(json_object_get(j, "rows")), 0);
    json_decref(j);
    free(render(r, AUDIT_REPORT_TEXT));
    free(render(r, AUDIT_REPORT_CSV));
    free(render(r, AUDIT_REPORT_HTML));
    audit_report_free(r);
    unlink(path);
}

int main(void)
{
    T_RUN(test_parse_time);
    T_RUN(test_parse_by);
    T_RUN(test_totals);
    T_RUN(test_by_keys);
    T_RUN(test_range);
    T_RUN(test_unreadable);
    T_RUN(test_json_edges);
    T_RUN(test_mutations_vs_jansson);
    T_RUN(test_escaping);
    T_RUN(test_limits);
    T_RUN(test_percentiles);
    T_RUN(test_files);
    return T_DONE();
}
