/*
 * proxy/net/config.c: the gateway's configuration (docs/internals/net-contract.md).
 * Durations and addresses with their refusals; a file using every key of the
 * contract, each field checked where it landed (paths beside the file); one
 * broken file per kind of mistake, each with its exact "FILE:LINE:COL:
 * message"; a file with several mistakes reporting all of them; and
 * net_config_check on what the file leaves missing or unreadable.
 */
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include "net/log.h"
#include "net/net.h"
#include "test.h"

/* The temporary directory every file of this run is written to. */
static char dir[] = "/tmp/vigie-test-config-XXXXXX";

/* dir/name, in a static buffer (one at a time is enough here). */
static const char *path_of(const char *name)
{
    static char p[512];

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return p;
}

/* Writes text to dir/name; returns the full path (static buffer). */
static const char *write_file(const char *name, const char *text)
{
    const char *p = path_of(name);
    FILE *f = fopen(p, "w");

    if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
        T_FAIL("cannot write %s", p);
        return p;
    }
    return p;
}

/* Every diagnostic, one per line, in a static buffer. */
static const char *diag_text(const struct vigie_diag *d)
{
    static char out[16384];
    size_t i, n = 0;

    out[0] = '\0';
    for (i = 0; i < d->n && n < sizeof(out) - 1; i++)
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s\n", d->msgs[i]);
    return out;
}

/* ---- durations ------------------------------------------------------------------------ */

static void test_duration_valid(void)
{
    unsigned ms = 7;

    T_EQ_INT(net_duration_parse("10s", &ms), 0);
    T_EQ_INT(ms, 10000);
    T_EQ_INT(net_duration_parse("250ms", &ms), 0);
    T_EQ_INT(ms, 250);
    T_EQ_INT(net_duration_parse("2m", &ms), 0);
    T_EQ_INT(ms, 120000);
    T_EQ_INT(net_duration_parse("30", &ms), 0);
    T_EQ_INT(ms, 30000);
    /* The bound is a day, in any unit. */
    T_EQ_INT(net_duration_parse("1440m", &ms), 0);
    T_EQ_INT(ms, 86400000);
    T_EQ_INT(net_duration_parse("86400", &ms), 0);
    T_EQ_INT(ms, 86400000);
    T_EQ_INT(net_duration_parse("86400000ms", &ms), 0);
    T_EQ_INT(ms, 86400000);
}

static void test_duration_refused(void)
{
    /* clang-format off */
    static const char *const bad[] = {
        "",    "-1",  "10h", "1.5s", "s",   "ms",  " 10s", "10 s", "10S", "+10", "10sec",
        "1441m", "86401", "86400001ms",
        "99999999999999999999999999",           /* strtoul overflows */
        "18446744073709551615",                  /* ULONG_MAX seconds */
        "4294968s",                              /* wraps a 32-bit unsigned in ms */
        NULL};
    /* clang-format on */
    size_t i;

    for (i = 0; bad[i] != NULL; i++) {
        unsigned ms = 12345;
        if (net_duration_parse(bad[i], &ms) == 0)
            T_FAIL("'%s' accepted as %u ms", bad[i], ms);
        else if (ms != 12345)
            T_FAIL("'%s' refused but wrote %u", bad[i], ms);
    }
}

/* ---- addresses ------------------------------------------------------------------------ */

static void test_address_valid(void)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    char err[256] = "";
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)&ss;
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;
    char text[INET6_ADDRSTRLEN];

    T_EQ_INT(net_address_parse("127.0.0.1:8080", &ss, &len, err, sizeof(err)), VIGIE_OK);
    T_EQ_INT(ss.ss_family, AF_INET);
    T_EQ_INT(len, sizeof(struct sockaddr_in));
    T_EQ_INT(ntohs(a4->sin_port), 8080);
    T_EQ_INT(ntohl(a4->sin_addr.s_addr), 0x7f000001);

    T_EQ_INT(net_address_parse("0.0.0.0:0", &ss, &len, err, sizeof(err)), VIGIE_OK);
    T_EQ_INT(ss.ss_family, AF_INET);
    T_EQ_INT(ntohs(a4->sin_port), 0);
    T_EQ_INT(a4->sin_addr.s_addr, 0);

    T_EQ_INT(net_address_parse("10.1.2.3:65535", &ss, &len, err, sizeof(err)), VIGIE_OK);
    T_EQ_INT(ntohs(a4->sin_port), 65535);
    T_EQ_INT(ntohl(a4->sin_addr.s_addr), 0x0a010203);

    T_EQ_INT(net_address_parse("[::1]:8443", &ss, &len, err, sizeof(err)), VIGIE_OK);
    T_EQ_INT(ss.ss_family, AF_INET6);
    T_EQ_INT(len, sizeof(struct sockaddr_in6));
    T_EQ_INT(ntohs(a6->sin6_port), 8443);
    T_ASSERT(IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr));

    T_EQ_INT(net_address_parse("[2001:db8::17]:0", &ss, &len, err, sizeof(err)), VIGIE_OK);
    T_EQ_INT(ss.ss_family, AF_INET6);
    T_EQ_INT(ntohs(a6->sin6_port), 0);
    inet_ntop(AF_INET6, &a6->sin6_addr, text, sizeof(text));
    T_EQ_STR(text, "2001:db8::17");

    T_EQ_INT(net_address_parse("[::]:65535", &ss, &len, err, sizeof(err)), VIGIE_OK);
    T_EQ_INT(ntohs(a6->sin6_port), 65535);
    T_ASSERT(IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr));
}

static void test_address_refused(void)
{
    static const struct {
        const char *in, *msg;
    } bad[] = {
        {"127.0.0.1", "'127.0.0.1': expected ADDR:PORT"},
        {"nonsense", "'nonsense': expected ADDR:PORT"},
        {"127.0.0.1:65536", "'127.0.0.1:65536': port must be 0 to 65535"},
        {"127.0.0.1:99999999999999999999999", "port must be 0 to 65535"},
        {"127.0.0.1:", "'127.0.0.1:': port must be 0 to 65535"},
        {"127.0.0.1:-1", "'127.0.0.1:-1': port must be 0 to 65535"},
        {"127.0.0.1:+80", "'127.0.0.1:+80': port must be 0 to 65535"},
        {"127.0.0.1:80x", "'127.0.0.1:80x': port must be 0 to 65535"},
        {"127.0.0.1: 80", "'127.0.0.1: 80': port must be 0 to 65535"},
        {"[::1]8080", "'[::1]8080': expected [IPv6]:PORT"},
        {"[::1]", "'[::1]': expected [IPv6]:PORT"},
        {"[::1:8080", "'[::1:8080': expected [IPv6]:PORT"},
        {"[::1]:65536", "'[::1]:65536': port must be 0 to 65535"},
        {":8080", "':8080': missing address"},
        {"[]:8080", "'[]:8080': missing address"},
        {"", "'': expected ADDR:PORT"},
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sockaddr_storage ss;
        socklen_t len = 0;
        char err[256] = "";
        if (net_address_parse(bad[i].in, &ss, &len, err, sizeof(err)) != VIGIE_ERR_CONFIG)
            T_FAIL("'%s' accepted", bad[i].in);
        else if (strstr(err, bad[i].msg) == NULL)
            T_FAIL("'%s': error \"%s\", expected \"%s\"", bad[i].in, err, bad[i].msg);
    }
    {
        /* A host that cannot be resolved (.invalid never resolves, RFC 6761). */
        struct sockaddr_storage ss;
        socklen_t len = 0;
        char err[256] = "";
        T_EQ_INT(net_address_parse("no-such-host.invalid:80", &ss, &len, err, sizeof(err)),
                 VIGIE_ERR_CONFIG);
        T_CONTAINS(err, "'no-such-host.invalid:80': cannot resolve no-such-host.invalid");
    }
}

/* ---- the file: everything valid ------------------------------------------------------- */

/* Every key of the contract, with values that differ from the defaults. */
/* clang-format off */
static const char full_yaml[] =
    "# every key of docs/internals/net-contract.md\n"
    "listen:\n"
    "  - address: 127.0.0.1:8080\n"
    "  - address: \"0.0.0.0:8443\"\n"
    "    tls:\n"
    "      certificates:\n"
    "        - { cert: tls/rsa.crt, key: tls/rsa.key }\n"
    "        - { cert: /etc/vigie/ecdsa.crt, key: tls/ecdsa.key }\n"
    "      client_ca: tls/clients-ca.pem\n"
    "      client_certificate: optional\n"
    "  - address: \"[::1]:9443\"\n"
    "    tls:\n"
    "      certificates:\n"
    "        - cert: one.crt\n"
    "          key: one.key\n"
    "      client_ca: ca.pem\n"
    "      client_certificate: required\n"
    "  - address: \"[::]:10443\"\n"
    "    tls:\n"
    "      certificates: [{ cert: two.crt, key: two.key }]\n"
    "      client_certificate: none\n"
    "admin: 127.0.0.1:9090\n"
    "policy: ../policies/customs.yaml\n"
    "workers: 3\n"
    "pseudonym_key_file: /etc/vigie/pseudonym.key\n"
    "upstream_ca_file: certs/ca.crt\n"
    "timeouts:\n"
    "  head: 11s\n"
    "  body: 250ms\n"
    "  keepalive: 2m\n"
    "  upstream_connect: 7\n"
    "  upstream_first_byte: 121s\n"
    "  upstream_idle: 61s\n"
    "  drain: 1500ms\n"
    "limits:\n"
    "  request_line: 4K\n"
    "  header_section: 16k\n"
    "  header_fields: 50\n"
    "  body: 2M\n"
    "  connections: 500\n"
    "  pipeline: 128K\n"
    "log:\n"
    "  level: warn\n";
/* clang-format on */

static void test_load_full(void)
{
    struct net_config c;
    struct vigie_diag d;
    const char *file;
    char want[600];
    const struct net_listen *ln;

    file = write_file("full.yaml", full_yaml);
    net_config_defaults(&c);
    vigie_diag_init(&d);
    T_EQ_INT(net_config_load(&c, file, &d), VIGIE_OK);
    T_EQ_INT(d.n, 0);
    if (d.n > 0)
        T_FAIL("unexpected diagnostics:\n%s", diag_text(&d));
    T_EQ_STR(c.file, file);

#define BESIDE(rel) (snprintf(want, sizeof(want), "%s/%s", dir, rel), want)
    T_EQ_INT(c.nlistens, 4);

    ln = &c.listens[0];
    T_EQ_STR(ln->address, "127.0.0.1:8080");
    T_EQ_INT(ln->ss.ss_family, AF_INET);
    T_EQ_INT(ntohs(((const struct sockaddr_in *)&ln->ss)->sin_port), 8080);
    T_EQ_INT(ln->ncerts, 0);
    T_ASSERT(ln->client_ca == NULL);
    T_EQ_INT(ln->client_cert, NET_CLIENT_CERT_NONE);

    ln = &c.listens[1];
    T_EQ_STR(ln->address, "0.0.0.0:8443");
    T_EQ_INT(ln->ss.ss_family, AF_INET);
    T_EQ_INT(ntohs(((const struct sockaddr_in *)&ln->ss)->sin_port), 8443);
    T_EQ_INT(ln->ncerts, 2);
    T_EQ_STR(ln->certs[0], BESIDE("tls/rsa.crt"));
    T_EQ_STR(ln->keys[0], BESIDE("tls/rsa.key"));
    T_EQ_STR(ln->certs[1], "/etc/vigie/ecdsa.crt"); /* absolute: kept */
    T_EQ_STR(ln->keys[1], BESIDE("tls/ecdsa.key"));
    T_EQ_STR(ln->client_ca, BESIDE("tls/clients-ca.pem"));
    T_EQ_INT(ln->client_cert, NET_CLIENT_CERT_OPTIONAL);

    ln = &c.listens[2];
    T_EQ_STR(ln->address, "[::1]:9443");
    T_EQ_INT(ln->ss.ss_family, AF_INET6);
    T_EQ_INT(ln->sslen, sizeof(struct sockaddr_in6));
    T_EQ_INT(ntohs(((const struct sockaddr_in6 *)&ln->ss)->sin6_port), 9443);
    T_EQ_INT(ln->ncerts, 1);
    T_EQ_STR(ln->certs[0], BESIDE("one.crt"));
    T_EQ_STR(ln->keys[0], BESIDE("one.key"));
    T_EQ_STR(ln->client_ca, BESIDE("ca.pem"));
    T_EQ_INT(ln->client_cert, NET_CLIENT_CERT_REQUIRED);

    ln = &c.listens[3];
    T_EQ_STR(ln->address, "[::]:10443");
    T_EQ_INT(ln->ncerts, 1);
    T_EQ_STR(ln->certs[0], BESIDE("two.crt"));
    T_ASSERT(ln->client_ca == NULL);
    T_EQ_INT(ln->client_cert, NET_CLIENT_CERT_NONE);

    T_EQ_STR(c.admin, "127.0.0.1:9090");
    T_EQ_STR(c.policy_file, BESIDE("../policies/customs.yaml"));
    T_EQ_INT(c.workers, 3);
    T_EQ_STR(c.key_file, "/etc/vigie/pseudonym.key");
    T_EQ_STR(c.upstream_ca_file, BESIDE("certs/ca.crt"));
    T_ASSERT(c.upstream_url == NULL);
#undef BESIDE

    T_EQ_INT(c.t.head_ms, 11000);
    T_EQ_INT(c.t.body_ms, 250);
    T_EQ_INT(c.t.keepalive_ms, 120000);
    T_EQ_INT(c.t.up_connect_ms, 7000);
    T_EQ_INT(c.t.up_first_byte_ms, 121000);
    T_EQ_INT(c.t.up_idle_ms, 61000);
    T_EQ_INT(c.t.drain_ms, 1500);

    T_EQ_INT(c.req_limits.line_max, 4096);
    T_EQ_INT(c.req_limits.section_max, 16384);
    T_EQ_INT(c.req_limits.fields_max, 50);
    T_EQ_INT(c.body_max, 2u << 20);
    T_EQ_INT(c.req_limits.body_max, 2u << 20);
    T_EQ_INT(c.conn_max, 500);
    T_EQ_INT(c.pipeline_max, 128u << 10);
    T_EQ_INT(c.log_level, VLOG_WARN);
    T_EQ_INT(c.demo, 0);

    vigie_diag_free(&d);
    net_config_fini(&c);
}

/* A file that sets nothing leaves the defaults; one that sets a little
 * changes only that. */
static void test_load_defaults_kept(void)
{
    struct net_config c, def;
    struct vigie_diag d;
    const char *file;

    net_config_defaults(&def);
    T_EQ_INT(def.t.head_ms, 10000);
    T_EQ_INT(def.t.body_ms, 30000);
    T_EQ_INT(def.t.keepalive_ms, 60000);
    T_EQ_INT(def.t.up_connect_ms, 5000);
    T_EQ_INT(def.t.up_first_byte_ms, 120000);
    T_EQ_INT(def.t.up_idle_ms, 60000);
    T_EQ_INT(def.t.drain_ms, 30000);
    T_EQ_INT(def.body_max, 4u << 20);
    T_EQ_INT(def.conn_max, 10000);
    T_EQ_INT(def.pipeline_max, 64u << 10);
    T_EQ_INT(def.log_level, VLOG_INFO);
    T_ASSERT(def.workers >= 1 && def.workers <= 64);
    T_EQ_INT(def.nlistens, 0);
    T_ASSERT(def.policy_file == NULL && def.admin == NULL && def.file == NULL);

    net_config_defaults(&c);
    vigie_diag_init(&d);
    file = write_file("little.yaml",
                      "policy: /abs/p.yaml\ntimeouts: {drain: 5s}\nlog: {level: DEBUG}\n");
    T_EQ_INT(net_config_load(&c, file, &d), VIGIE_OK);
    T_EQ_INT(d.n, 0);
    T_EQ_STR(c.policy_file, "/abs/p.yaml");
    T_EQ_INT(c.t.drain_ms, 5000);
    T_EQ_INT(c.t.head_ms, def.t.head_ms);
    T_EQ_INT(c.t.up_first_byte_ms, def.t.up_first_byte_ms);
    T_EQ_INT(c.req_limits.line_max, def.req_limits.line_max);
    T_EQ_INT(c.req_limits.section_max, def.req_limits.section_max);
    T_EQ_INT(c.req_limits.fields_max, def.req_limits.fields_max);
    T_EQ_INT(c.body_max, def.body_max);
    T_EQ_INT(c.workers, def.workers);
    T_EQ_INT(c.log_level, VLOG_DEBUG);
    T_EQ_INT(c.nlistens, 0);
    vigie_diag_free(&d);
    net_config_fini(&c);
}

/* ---- the file: one mistake each ------------------------------------------------------- */

/* Loads text as dir/name and expects a refusal whose diagnostics contain
 * "dir/name:" followed by want ("LINE:COL: message"). Returns the number of
 * diagnostics. */
static size_t expect_refused(const char *name, const char *text, const char *want)
{
    struct net_config c;
    struct vigie_diag d;
    const char *file = write_file(name, text);
    char full[1024];
    size_t n;

    snprintf(full, sizeof(full), "%s:%s", file, want);
    net_config_defaults(&c);
    vigie_diag_init(&d);
    if (net_config_load(&c, file, &d) != VIGIE_ERR_CONFIG)
        T_FAIL("%s: accepted, expected \"%s\"", name, want);
    else if (strstr(diag_text(&d), full) == NULL)
        T_FAIL("%s: diagnostics\n%sdo not contain \"%s\"", name, diag_text(&d), full);
    n = d.n;
    vigie_diag_free(&d);
    net_config_fini(&c);
    return n;
}

#define TLS_HEAD "listen:\n  - address: 127.0.0.1:8443\n    tls:\n"

static void test_load_refused(void)
{
    size_t n;

    expect_refused("typo_root.yaml", "listen:\n  - address: 127.0.0.1:8080\nwokers: 2\n",
                   "3:1: unknown key 'wokers' (did you mean 'workers'?)");
    expect_refused("typo_timeouts.yaml", "timeouts:\n  head: 10s\n  keepalvie: 60s\n",
                   "3:3: unknown key 'keepalvie' (did you mean 'keepalive'?)");
    expect_refused("typo_limits.yaml", "limits:\n  header_feilds: 100\n",
                   "2:3: unknown key 'header_feilds' (did you mean 'header_fields'?)");
    expect_refused("typo_tls.yaml",
                   TLS_HEAD "      certificates: [{cert: a, key: b}]\n"
                            "      client_cas: ca.pem\n",
                   "5:7: unknown key 'client_cas' (did you mean 'client_ca'?)");
    expect_refused("typo_listener.yaml", "listen:\n  - address: 127.0.0.1:80\n    tsl: {}\n",
                   "3:5: unknown key 'tsl' (did you mean 'tls'?)");
    expect_refused("unknown_root.yaml", "frobnicate: 1\n", "1:1: unknown key 'frobnicate'");

    /* Wrong types. */
    expect_refused("workers_word.yaml", "workers: two\n",
                   "1:10: expected a whole number between 1 and 64, found 'two'");
    expect_refused("workers_0.yaml", "workers: 0\n",
                   "1:10: expected a whole number between 1 and 64, found '0'");
    expect_refused("workers_65.yaml", "workers: 65\n",
                   "1:10: expected a whole number between 1 and 64, found '65'");
    expect_refused("policy_list.yaml", "policy: [a.yaml, b.yaml]\n",
                   "1:9: expected a string, found a list");
    expect_refused("policy_null.yaml", "policy:\nworkers: 2\n",
                   "1:8: expected a string, found null");
    expect_refused("admin_map.yaml", "admin: {address: 127.0.0.1:9090}\n",
                   "1:8: expected a string, found a mapping");
    expect_refused("timeouts_list.yaml", "timeouts: [10s]\n", "1:11: timeouts must be a mapping");
    expect_refused("limits_scalar.yaml", "limits: 4M\n", "1:9: limits must be a mapping");
    expect_refused("log_scalar.yaml", "log: debug\n", "1:6: log must be a mapping");
    expect_refused("tls_scalar.yaml", TLS_HEAD "      on\n", "4:7: tls must be a mapping");

    /* Durations. */
    expect_refused("duration_h.yaml", "timeouts:\n  head: 10h\n",
                   "2:9: timeouts.head: expected a duration such as 10s, 250ms or 2m");
    expect_refused("duration_frac.yaml", "timeouts:\n  upstream_first_byte: 1.5s\n",
                   "2:24: timeouts.upstream_first_byte: expected a duration such as 10s, 250ms "
                   "or 2m");
    expect_refused("duration_zero.yaml", "timeouts:\n  drain: 0s\n",
                   "2:10: timeouts.drain: expected a duration such as 10s, 250ms or 2m");
    expect_refused("duration_neg.yaml", "timeouts:\n  body: -1\n",
                   "2:9: timeouts.body: expected a duration such as 10s, 250ms or 2m");
    expect_refused("duration_big.yaml", "timeouts:\n  keepalive: 99999999999999999999\n",
                   "2:14: timeouts.keepalive: expected a duration such as 10s, 250ms or 2m");

    /* Limits out of range. */
    expect_refused("limit_fields.yaml", "limits:\n  header_fields: 1001\n",
                   "2:18: limits.header_fields: expected a number from 8 to 1000 (K and M "
                   "suffixes allowed)");
    expect_refused("limit_line.yaml", "limits:\n  request_line: 100\n",
                   "2:17: limits.request_line: expected a number from 256 to 65536");
    expect_refused("limit_body.yaml", "limits:\n  body: 65M\n",
                   "2:9: limits.body: expected a number from 1024 to 67108864");
    expect_refused("limit_conn.yaml", "limits:\n  connections: 0\n",
                   "2:16: limits.connections: expected a number from 1 to 1000000");
    expect_refused("limit_pipeline.yaml", "limits:\n  pipeline: 1G\n",
                   "2:13: limits.pipeline: expected a number from 1024 to 16777216");
    expect_refused("limit_section.yaml", "limits:\n  header_section: 2M\n",
                   "2:19: limits.header_section: expected a number from 1024 to 1048576");
    expect_refused("limit_neg.yaml", "limits:\n  body: -4M\n",
                   "2:9: limits.body: expected a number from 1024 to 67108864");
    expect_refused("limit_huge.yaml", "limits:\n  body: 99999999999999999999999M\n",
                   "2:9: limits.body: expected a number from 1024 to 67108864");

    /* TLS. */
    expect_refused("mtls_no_ca.yaml",
                   TLS_HEAD "      certificates:\n        - { cert: a.crt, key: a.key }\n"
                            "      client_certificate: required\n",
                   "6:27: client_certificate needs client_ca (the CA of client certificates)");
    expect_refused("mtls_optional_no_ca.yaml",
                   TLS_HEAD "      certificates: [{ cert: a.crt, key: a.key }]\n"
                            "      client_certificate: optional\n",
                   "5:27: client_certificate needs client_ca");
    expect_refused("mtls_mode.yaml",
                   TLS_HEAD "      certificates: [{ cert: a.crt, key: a.key }]\n"
                            "      client_ca: ca.pem\n"
                            "      client_certificate: maybe\n",
                   "6:27: client_certificate must be none, optional or required");
    expect_refused("certs_five.yaml",
                   TLS_HEAD "      certificates:\n"
                            "        - { cert: 1.crt, key: 1.key }\n"
                            "        - { cert: 2.crt, key: 2.key }\n"
                            "        - { cert: 3.crt, key: 3.key }\n"
                            "        - { cert: 4.crt, key: 4.key }\n"
                            "        - { cert: 5.crt, key: 5.key }\n",
                   "5:9: tls: 'certificates' must list 1 to 4 {cert, key} pairs");
    expect_refused("certs_none.yaml", TLS_HEAD "      certificates: []\n",
                   "4:21: tls: 'certificates' must list 1 to 4 {cert, key} pairs");
    expect_refused("certs_missing.yaml", TLS_HEAD "      client_ca: ca.pem\n",
                   "4:7: tls: 'certificates' must list 1 to 4 {cert, key} pairs");
    expect_refused("cert_no_key.yaml", TLS_HEAD "      certificates:\n        - { cert: a.crt }\n",
                   "5:11: a certificate is {cert: FILE, key: FILE}");
    expect_refused("cert_extra_key.yaml",
                   TLS_HEAD "      certificates:\n        - { cert: a.crt, key: a.key, "
                            "pass: x }\n",
                   "5:38: unknown key 'pass'");

    /* Listeners and addresses. */
    expect_refused("listen_scalar.yaml", "listen: 127.0.0.1:8080\n",
                   "1:9: listen must be a list of {address, tls}");
    expect_refused("listen_map.yaml", "listen:\n  address: 127.0.0.1:8080\n",
                   "2:3: listen must be a list of {address, tls}");
    expect_refused("listen_no_address.yaml", "listen:\n  - tls: {}\n",
                   "2:5: a listener is {address: ADDR:PORT, tls: {...}}");
    expect_refused("listen_item_scalar.yaml", "listen:\n  - 127.0.0.1:8080\n",
                   "2:5: a listener is {address: ADDR:PORT, tls: {...}}");
    expect_refused("address_port.yaml", "listen:\n  - address: 127.0.0.1:65536\n",
                   "2:14: '127.0.0.1:65536': port must be 0 to 65535");
    expect_refused("address_noport.yaml", "listen:\n  - address: 127.0.0.1\n",
                   "2:14: '127.0.0.1': expected ADDR:PORT");
    expect_refused("address_v6.yaml", "listen:\n  - address: \"[::1]8080\"\n",
                   "2:14: '[::1]8080': expected [IPv6]:PORT");
    expect_refused("address_nohost.yaml", "listen:\n  - address: \":8080\"\n",
                   "2:14: ':8080': missing address");
    expect_refused("admin_bad.yaml", "admin: localhost\n",
                   "1:8: admin: 'localhost': expected ADDR:PORT");
    {
        /* The 17th listener is one too many. */
        char text[2048];
        size_t len = (size_t)snprintf(text, sizeof(text), "listen:\n");
        int i;
        for (i = 0; i < NET_LISTEN_MAX + 1; i++)
            len += (size_t)snprintf(text + len, sizeof(text) - len, "  - address: 127.0.0.1:%d\n",
                                    8000 + i);
        expect_refused("listen_17.yaml", text, "18:5: at most 16 listeners");
    }

    /* log.level. */
    expect_refused("log_level.yaml", "log:\n  level: verbose\n",
                   "2:10: log.level must be debug, info, warn or error");
    expect_refused("log_typo.yaml", "log:\n  levle: info\n",
                   "2:3: unknown key 'levle' (did you mean 'level'?)");

    /* The document itself. */
    expect_refused("root_list.yaml", "- listen\n",
                   "1:1: a gateway configuration is a mapping (listen, policy, ...)");
    expect_refused("root_empty.yaml", "",
                   "1:1: a gateway configuration is a mapping (listen, policy, ...)");
    expect_refused("syntax.yaml", "listen: [unclosed\n", "2:1: ");
    expect_refused("duplicate.yaml", "workers: 2\nworkers: 3\n", "2:1: ");
    expect_refused("anchor.yaml", "admin: &a 127.0.0.1:9090\npolicy: *a\n", "1:");

    /* A file that cannot be read names itself. */
    {
        struct net_config c;
        struct vigie_diag d;
        net_config_defaults(&c);
        vigie_diag_init(&d);
        T_EQ_INT(net_config_load(&c, path_of("absent.yaml"), &d), VIGIE_ERR_CONFIG);
        T_CONTAINS(diag_text(&d), path_of("absent.yaml"));
        vigie_diag_free(&d);
        net_config_fini(&c);
    }

    /* A wrong type is reported once, not once per layer. */
    n = expect_refused("once.yaml", "workers: [1]\n",
                       "1:10: expected a whole number between 1 and 64, found a list");
    T_EQ_INT(n, 1);
}

/* Sizes with a suffix must not wrap around 2^64 into the accepted range. */
static void test_load_size_overflow(void)
{
    /* 17592186044420 * 2^20 = 2^64 + 4 MiB; 18014398509481992 * 2^10 = 2^64 + 8 KiB */
    expect_refused("wrap_body.yaml", "limits:\n  body: 17592186044420M\n",
                   "2:9: limits.body: expected a number from 1024 to 67108864");
    expect_refused("wrap_line.yaml", "limits:\n  request_line: 18014398509481992K\n",
                   "2:17: limits.request_line: expected a number from 256 to 65536");
}

/* One file, many mistakes: every one reported, each at its place. */
static void test_load_all_errors(void)
{
    /* clang-format off */
    static const char text[] = "listen:\n"                                   /* 1 */
                               "  - address: 127.0.0.1:99999\n"              /* 2 */
                               "  - address: 127.0.0.1:8443\n"               /* 3 */
                               "    tls:\n"                                  /* 4 */
                               "      certificates: [{cert: a, key: b}]\n"   /* 5 */
                               "      client_certificate: required\n"        /* 6 */
                               "admin: nowhere\n"                            /* 7 */
                               "polcy: p.yaml\n"                             /* 8 */
                               "workers: 65\n"                               /* 9 */
                               "timeouts:\n"                                 /* 10 */
                               "  head: 10h\n"                               /* 11 */
                               "  drain: 1.5s\n"                             /* 12 */
                               "limits:\n"                                   /* 13 */
                               "  header_fields: 5\n"                        /* 14 */
                               "log:\n"                                      /* 15 */
                               "  level: loud\n";                            /* 16 */
    static const char *const want[] = {
        "2:14: '127.0.0.1:99999': port must be 0 to 65535",
        "6:27: client_certificate needs client_ca",
        "7:8: admin: 'nowhere': expected ADDR:PORT",
        "8:1: unknown key 'polcy' (did you mean 'policy'?)",
        "9:10: expected a whole number between 1 and 64, found '65'",
        "11:9: timeouts.head: expected a duration",
        "12:10: timeouts.drain: expected a duration",
        "14:18: limits.header_fields: expected a number from 8 to 1000",
        "16:10: log.level must be debug, info, warn or error",
        NULL};
    /* clang-format on */
    struct net_config c;
    struct vigie_diag d;
    const char *file = write_file("many.yaml", text);
    const char *all;
    char full[512];
    size_t i;

    net_config_defaults(&c);
    vigie_diag_init(&d);
    T_EQ_INT(net_config_load(&c, file, &d), VIGIE_ERR_CONFIG);
    all = diag_text(&d);
    for (i = 0; want[i] != NULL; i++) {
        snprintf(full, sizeof(full), "%s:%s", file, want[i]);
        if (strstr(all, full) == NULL)
            T_FAIL("diagnostics\n%sdo not contain \"%s\"", all, full);
    }
    T_EQ_INT(d.n, i);
    vigie_diag_free(&d);
    net_config_fini(&c);
}

/* ---- net_config_check ----------------------------------------------------------------- */

/* audit: every key lands; each mistake has its position; 'off' is explicit. */
static void test_audit_section(void)
{
    struct net_config c;
    struct vigie_diag d;
    const char *file;
    char want[600];

    file = write_file("audit.yaml", "audit:\n  file: logs/audit.log\n  key_file: /etc/k\n"
                                    "  checkpoint_file: ck\n  sync_interval: 250ms\n"
                                    "  sync_records: 64\n  checkpoint_interval: 30s\n"
                                    "  checkpoint_records: 500\n  rotate_size: 1G\n"
                                    "  rotate_interval: 24h\n");
    net_config_defaults(&c);
    vigie_diag_init(&d);
    T_EQ_INT(net_config_load(&c, file, &d), VIGIE_OK);
    snprintf(want, sizeof(want), "%s/logs/audit.log", dir);
    T_EQ_STR(c.audit.file, want);
    T_EQ_STR(c.audit.key_file, "/etc/k");
    snprintf(want, sizeof(want), "%s/ck", dir);
    T_EQ_STR(c.audit.checkpoint_file, want);
    T_EQ_INT(c.audit.sync_interval_ms, 250);
    T_EQ_INT(c.audit.sync_records, 64);
    T_EQ_INT(c.audit.checkpoint_interval_ms, 30000);
    T_EQ_INT(c.audit.checkpoint_records, 500);
    T_EQ_INT(c.audit.rotate_size, 1024ull * 1024 * 1024);
    T_EQ_INT(c.audit.rotate_interval_s, 86400);
    T_EQ_INT(c.audit_off, 0);
    vigie_diag_free(&d);
    net_config_fini(&c);

    /* defaults when only the two required keys are given */
    file = write_file("audit_min.yaml", "audit: {file: a.log, key_file: a.key}\n");
    net_config_defaults(&c);
    vigie_diag_init(&d);
    T_EQ_INT(net_config_load(&c, file, &d), VIGIE_OK);
    T_EQ_INT(c.audit.sync_interval_ms, 1000);
    T_EQ_INT(c.audit.sync_records, 256);
    T_EQ_INT(c.audit.checkpoint_records, 1000);
    T_EQ_INT(c.audit.rotate_size, 0);
    vigie_diag_free(&d);
    net_config_fini(&c);

    file = write_file("audit_off.yaml", "audit: off\n");
    net_config_defaults(&c);
    vigie_diag_init(&d);
    T_EQ_INT(net_config_load(&c, file, &d), VIGIE_OK);
    T_EQ_INT(c.audit_off, 1);
    vigie_diag_free(&d);
    net_config_fini(&c);

    expect_refused("audit_typo.yaml", "audit:\n  file: a\n  key_file: k\n  sync_intervall: 1s\n",
                   "4:3: unknown key 'sync_intervall' (did you mean 'sync_interval'?)");
    expect_refused("audit_nokey.yaml", "audit:\n  file: a\n",
                   "2:3: audit needs 'file' and 'key_file' (or write 'audit: off')");
    expect_refused("audit_on.yaml", "audit: on\n",
                   "1:8: audit must be a mapping (file, key_file, ...) or 'off'");
    expect_refused("audit_sync.yaml", "audit: {file: a, key_file: k, sync_interval: 2m}\n",
                   "1:46: audit.sync_interval: expected a duration from 1ms to 60s");
    expect_refused("audit_records.yaml", "audit: {file: a, key_file: k, sync_records: 0}\n",
                   "1:45: expected a whole number between 1 and 100000, found '0'");
    expect_refused("audit_rotate.yaml", "audit: {file: a, key_file: k, rotate_size: 1K}\n",
                   "1:44: audit.rotate_size: expected a size of 4K or more");
    expect_refused("audit_usage.yaml", "audit: {file: a, key_file: k, stream_usage: always}\n",
                   "1:45: audit.stream_usage: expected ask or off");
    expect_refused("audit_rotate_t.yaml", "audit: {file: a, key_file: k, rotate_interval: 10ms}\n",
                   "1:48: audit.rotate_interval: expected a duration from 1s to 366d");
}

static void test_check(void)
{
    struct net_config c;
    struct vigie_diag d;
    const char *file;
    char want[1024];

    /* Nothing at all: no listener, no policy, said as coming from the command line. */
    net_config_defaults(&c);
    vigie_diag_init(&d);
    T_EQ_INT(net_config_check(&c, &d), VIGIE_ERR_CONFIG);
    T_CONTAINS(diag_text(&d), "command line: no listener: give --listen ADDR:PORT or 'listen:'");
    T_CONTAINS(diag_text(&d), "command line: no policy: give --policy FILE or 'policy:'");
    T_CONTAINS(diag_text(&d), "command line: no audit log: give --audit-log FILE and "
                              "--audit-key FILE (or 'audit:' in the configuration); --no-audit "
                              "runs without usage records");
    T_EQ_INT(d.n, 3);
    vigie_diag_free(&d);
    net_config_fini(&c);

    /* A file with a listener but no policy names the file. */
    file = write_file("nopolicy.yaml", "listen:\n  - address: 127.0.0.1:8080\naudit: off\n");
    net_config_defaults(&c);
    vigie_diag_init(&d);
    T_EQ_INT(net_config_load(&c, file, &d), VIGIE_OK);
    T_EQ_INT(net_config_check(&c, &d), VIGIE_ERR_CONFIG);
    snprintf(want, sizeof(want), "%s: no policy: give --policy FILE or 'policy:'", file);
    T_CONTAINS(diag_text(&d), want);
    T_EQ_INT(d.n, 1);
    vigie_diag_free(&d);
    net_config_fini(&c);

    /* A policy but no listener. */
    file = write_file("nolisten.yaml", "policy: p.yaml\naudit: off\n");
    net_config_defaults(&c);
    vigie_diag_init(&d);
    T_EQ_INT(net_config_load(&c, file, &d), VIGIE_OK);
    T_EQ_INT(net_config_check(&c, &d), VIGIE_ERR_CONFIG);
    snprintf(want, sizeof(want), "%s: no listener: give --listen ADDR:PORT or 'listen:'", file);
    T_CONTAINS(diag_text(&d), want);
    T_EQ_INT(d.n, 1);
    vigie_diag_free(&d);
    net_config_fini(&c);

    /* TLS files: all present passes; then a missing cert, a missing key, a
     * missing client CA, a missing pseudonym key, each named. */
    write_file("ok.crt", "x\n");
    write_file("ok.key", "x\n");
    write_file("ok-ca.pem", "x\n");
    write_file("ok-pseudonym.key", "x\n");
    {
        static const struct {
            const char *cert, *key, *ca, *pkey, *missing;
        } cases[] = {
            {"ok.crt", "ok.key", "ok-ca.pem", "ok-pseudonym.key", NULL},
            {"no.crt", "ok.key", "ok-ca.pem", "ok-pseudonym.key", "no.crt"},
            {"ok.crt", "no.key", "ok-ca.pem", "ok-pseudonym.key", "no.key"},
            {"ok.crt", "ok.key", "no-ca.pem", "ok-pseudonym.key", "no-ca.pem"},
            {"ok.crt", "ok.key", "ok-ca.pem", "no-pseudonym.key", "no-pseudonym.key"},
        };
        size_t i;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            char text[1024], missing[600];
            snprintf(text, sizeof(text),
                     "listen:\n  - address: 127.0.0.1:8443\n    tls:\n"
                     "      certificates: [{cert: %s, key: %s}]\n"
                     "      client_ca: %s\n      client_certificate: optional\n"
                     "policy: p.yaml\npseudonym_key_file: %s\naudit: off\n",
                     cases[i].cert, cases[i].key, cases[i].ca, cases[i].pkey);
            file = write_file("tlscheck.yaml", text);
            net_config_defaults(&c);
            vigie_diag_init(&d);
            T_EQ_INT(net_config_load(&c, file, &d), VIGIE_OK);
            if (cases[i].missing == NULL) {
                T_EQ_INT(net_config_check(&c, &d), VIGIE_OK);
                T_EQ_INT(d.n, 0);
            } else {
                T_EQ_INT(net_config_check(&c, &d), VIGIE_ERR_CONFIG);
                T_EQ_INT(d.n, 1);
                snprintf(missing, sizeof(missing), "%s/%s", dir, cases[i].missing);
                T_CONTAINS(diag_text(&d), missing);
                T_CONTAINS(diag_text(&d), file);
                if (strstr(cases[i].missing, "pseudonym") != NULL)
                    T_CONTAINS(diag_text(&d), "cannot read the pseudonym key file");
                else
                    T_CONTAINS(diag_text(&d), "listener 127.0.0.1:8443: cannot read ");
            }
            vigie_diag_free(&d);
            net_config_fini(&c);
        }
    }
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(p);
}

/* The temporary directory and what the cases wrote into it. */
static void remove_dir(void)
{
    if (nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

int main(void)
{
    int rc;

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    T_RUN(test_duration_valid);
    T_RUN(test_duration_refused);
    T_RUN(test_address_valid);
    T_RUN(test_address_refused);
    T_RUN(test_load_full);
    T_RUN(test_load_defaults_kept);
    T_RUN(test_load_refused);
    T_RUN(test_load_size_overflow);
    T_RUN(test_load_all_errors);
    T_RUN(test_audit_section);
    T_RUN(test_check);
    rc = T_DONE();
    remove_dir();
    return rc;
}
