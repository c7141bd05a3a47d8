/* The gateway's configuration file (-c FILE): strict YAML, every problem
 * reported at its node, paths taken beside the file. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "conf/conf.h"
#include "net/log.h"
#include "net/net.h"

void net_config_defaults(struct net_config *c)
{
    memset(c, 0, sizeof(*c));
    audit_config_defaults(&c->audit);
    c->t.head_ms = 10000;
    c->t.body_ms = 30000;
    c->t.keepalive_ms = 60000;
    c->t.up_connect_ms = 5000;
    c->t.up_first_byte_ms = 120000;
    c->t.up_idle_ms = 60000;
    c->t.drain_ms = 30000;
    http_limits_default(&c->req_limits, HTTP_REQUEST);
    c->body_max = VIGIE_HTTP_BODY_MAX;
    c->conn_max = 10000;
    c->pipeline_max = 64u * 1024;
    c->log_level = VLOG_INFO;
    {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->workers = n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
    }
}

void net_config_fini(struct net_config *c)
{
    size_t i, j;

    for (i = 0; i < c->nlistens; i++) {
        free(c->listens[i].address);
        for (j = 0; j < c->listens[i].ncerts; j++) {
            free(c->listens[i].certs[j]);
            free(c->listens[i].keys[j]);
        }
        free(c->listens[i].client_ca);
    }
    audit_config_fini(&c->audit);
    free(c->file);
    free(c->admin);
    free(c->policy_file);
    free(c->rules_dir);
    free(c->upstream_url);
    free(c->key_file);
    free(c->upstream_ca_file);
    memset(c, 0, sizeof(*c));
}

int net_duration_parse(const char *s, unsigned *ms)
{
    char *end;
    unsigned long v;
    unsigned long mul = 1000;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || end == s)
        return -1;
    if (strcmp(end, "ms") == 0)
        mul = 1;
    else if (strcmp(end, "s") == 0 || *end == '\0')
        mul = 1000;
    else if (strcmp(end, "m") == 0)
        mul = 60000;
    else
        return -1;
    if (v > 24ul * 3600 * 1000 / mul)
        return -1;
    *ms = (unsigned)(v * mul);
    return 0;
}

static int size_parse(const char *s, size_t *out)
{
    char *end;
    unsigned long long v, mul = 1;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0)
        return -1;
    if (*end == 'k' || *end == 'K')
        mul = 1024, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1024 * 1024, end++;
    else if (*end == 'g' || *end == 'G')
        mul = 1024 * 1024 * 1024, end++;
    /* Checked before multiplying: 17592186044420M must not wrap to 4M. */
    if (*end != '\0' || v > (1ull << 32) / mul)
        return -1;
    v *= mul;
    *out = (size_t)v;
    return 0;
}

int net_address_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len, char *err,
                      size_t errsz)
{
    char host[256];
    const char *colon, *h;
    size_t hlen;
    char *end;
    unsigned long port;

    memset(ss, 0, sizeof(*ss));
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb[1] != ':') {
            vigie_errf(err, errsz, "'%s': expected [IPv6]:PORT", s);
            return VIGIE_ERR_CONFIG;
        }
        h = s + 1;
        hlen = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL) {
            vigie_errf(err, errsz, "'%s': expected ADDR:PORT", s);
            return VIGIE_ERR_CONFIG;
        }
        h = s;
        hlen = (size_t)(colon - s);
        if (memchr(s, ':', hlen) != NULL) {
            vigie_errf(err, errsz, "'%s': an IPv6 address is written [ADDR]:PORT", s);
            return VIGIE_ERR_CONFIG;
        }
    }
    if (hlen == 0 || hlen >= sizeof(host)) {
        vigie_errf(err, errsz, "'%s': missing address", s);
        return VIGIE_ERR_CONFIG;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 || port > 65535) {
        vigie_errf(err, errsz, "'%s': port must be 0 to 65535", s);
        return VIGIE_ERR_CONFIG;
    }
    {
        struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
            a4->sin_family = AF_INET;
            a4->sin_port = htons((uint16_t)port);
            *len = sizeof(*a4);
            return VIGIE_OK;
        }
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
            a6->sin6_family = AF_INET6;
            a6->sin6_port = htons((uint16_t)port);
            *len = sizeof(*a6);
            return VIGIE_OK;
        }
    }
    {
        /* A name: resolved once, at start (a listener never moves). */
        struct addrinfo hints, *res = NULL;
        int rc;
        memset(&hints, 0, sizeof(hints));
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_ADDRCONFIG;
        if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0 || res == NULL) {
            vigie_errf(err, errsz, "'%s': cannot resolve %s: %s", s, host, gai_strerror(rc));
            return VIGIE_ERR_CONFIG;
        }
        memcpy(ss, res->ai_addr, res->ai_addrlen);
        *len = (socklen_t)res->ai_addrlen;
        freeaddrinfo(res);
        if (ss->ss_family == AF_INET)
            ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
        else
            ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    }
    return VIGIE_OK;
}

/* ---- the file ------------------------------------------------------------------- */

struct loader {
    const char *path;
    struct vigie_diag *diag;
    int bad;
};

/* A string value, or NULL with the problem reported and the load marked bad. */
static const char *str_of(struct loader *l, const struct conf_node *n)
{
    const char *s;

    if (conf_get_str(n, &s, NULL, l->diag) != VIGIE_OK) {
        l->bad = 1;
        return NULL;
    }
    return s;
}

/* A string value as a path beside the configuration file (malloc'ed). */
static char *get_path(struct loader *l, const struct conf_node *n)
{
    const char *s = str_of(l, n);
    char *p;

    if (s == NULL)
        return NULL;
    if (s[0] == '\0') {
        conf_diag(l->diag, n, "expected a file path, found an empty string");
        l->bad = 1;
        return NULL;
    }
    if ((p = vigie_path_beside(l->path, s)) == NULL)
        l->bad = 1;
    return p;
}

/* A string value, copied (malloc'ed). */
static char *get_string(struct loader *l, const struct conf_node *n)
{
    const char *s = str_of(l, n);
    char *p;

    if (s == NULL)
        return NULL;
    if ((p = strdup(s)) == NULL)
        l->bad = 1;
    return p;
}

static void load_tls(struct loader *l, struct net_listen *ln, const struct conf_node *n)
{
    static const char *const keys[] = {"certificates", "client_ca", "client_certificate", NULL};
    const struct conf_node *v;
    size_t i;

    if (n->kind != CONF_MAP) {
        conf_diag(l->diag, n, "tls must be a mapping");
        l->bad = 1;
        return;
    }
    l->bad |= conf_map_check_keys(n, keys, l->diag) != 0;
    v = conf_map_get(n, "certificates");
    if (v == NULL || v->kind != CONF_SEQ || v->n == 0 || v->n > NET_TLS_CERTS_MAX) {
        conf_diag(l->diag, v != NULL ? v : n,
                  "tls: 'certificates' must list 1 to %d {cert, key} pairs", NET_TLS_CERTS_MAX);
        l->bad = 1;
    } else {
        for (i = 0; i < v->n; i++) {
            static const char *const ck[] = {"cert", "key", NULL};
            const struct conf_node *p = v->vals[i], *cert, *key;
            if (p->kind != CONF_MAP || (cert = conf_map_get(p, "cert")) == NULL ||
                (key = conf_map_get(p, "key")) == NULL) {
                conf_diag(l->diag, p, "a certificate is {cert: FILE, key: FILE}");
                l->bad = 1;
                continue;
            }
            l->bad |= conf_map_check_keys(p, ck, l->diag) != 0;
            ln->certs[ln->ncerts] = get_path(l, cert);
            ln->keys[ln->ncerts] = get_path(l, key);
            ln->ncerts++;
        }
    }
    if ((v = conf_map_get(n, "client_ca")) != NULL)
        ln->client_ca = get_path(l, v);
    if ((v = conf_map_get(n, "client_certificate")) != NULL) {
        const char *s;
        if (conf_get_str(v, &s, NULL, l->diag) != VIGIE_OK)
            l->bad = 1;
        else if (strcmp(s, "none") == 0)
            ln->client_cert = NET_CLIENT_CERT_NONE;
        else if (strcmp(s, "optional") == 0)
            ln->client_cert = NET_CLIENT_CERT_OPTIONAL;
        else if (strcmp(s, "required") == 0)
            ln->client_cert = NET_CLIENT_CERT_REQUIRED;
        else {
            conf_diag(l->diag, v, "client_certificate must be none, optional or required");
            l->bad = 1;
        }
        if (ln->client_cert != NET_CLIENT_CERT_NONE && ln->client_ca == NULL) {
            conf_diag(l->diag, v, "client_certificate needs client_ca (the CA of client "
                                  "certificates)");
            l->bad = 1;
        }
    }
}

static void load_listen(struct loader *l, const struct conf_node *n, struct net_config *c)
{
    size_t i;

    if (n->kind != CONF_SEQ) {
        conf_diag(l->diag, n, "listen must be a list of {address, tls}");
        l->bad = 1;
        return;
    }
    for (i = 0; i < n->n; i++) {
        static const char *const keys[] = {"address", "tls", NULL};
        const struct conf_node *it = n->vals[i], *a, *t;
        struct net_listen *ln;
        char err[256];
        if (c->nlistens == NET_LISTEN_MAX) {
            conf_diag(l->diag, it, "at most %d listeners", NET_LISTEN_MAX);
            l->bad = 1;
            return;
        }
        if (it->kind == CONF_MAP)
            l->bad |= conf_map_check_keys(it, keys, l->diag) != 0;
        if (it->kind != CONF_MAP || (a = conf_map_get(it, "address")) == NULL) {
            conf_diag(l->diag, it, "a listener is {address: ADDR:PORT, tls: {...}}");
            l->bad = 1;
            continue;
        }
        ln = &c->listens[c->nlistens++];
        if ((ln->address = get_string(l, a)) == NULL)
            continue;
        if (net_address_parse(ln->address, &ln->ss, &ln->sslen, err, sizeof(err)) != VIGIE_OK) {
            conf_diag(l->diag, a, "%s", err);
            l->bad = 1;
        }
        if ((t = conf_map_get(it, "tls")) != NULL)
            load_tls(l, ln, t);
    }
}

static void load_timeouts(struct loader *l, const struct conf_node *n, struct net_timeouts *t)
{
    static const char *const keys[] = {"head",        "body",          "keepalive",
                                       "upstream_connect", "upstream_first_byte",
                                       "upstream_idle", "drain", NULL};
    unsigned *dst[] = {&t->head_ms,          &t->body_ms,          &t->keepalive_ms,
                       &t->up_connect_ms,    &t->up_first_byte_ms, &t->up_idle_ms,
                       &t->drain_ms};
    size_t i;

    if (n->kind != CONF_MAP) {
        conf_diag(l->diag, n, "timeouts must be a mapping");
        l->bad = 1;
        return;
    }
    l->bad |= conf_map_check_keys(n, keys, l->diag) != 0;
    for (i = 0; keys[i] != NULL; i++) {
        const struct conf_node *v = conf_map_get(n, keys[i]);
        const char *s;
        unsigned ms;
        if (v == NULL)
            continue;
        if (conf_get_str(v, &s, NULL, l->diag) != VIGIE_OK) {
            l->bad = 1;
            continue;
        }
        if (net_duration_parse(s, &ms) != 0 || ms == 0) {
            conf_diag(l->diag, v, "timeouts.%s: expected a duration such as 10s, 250ms or 2m",
                      keys[i]);
            l->bad = 1;
            continue;
        }
        *dst[i] = ms;
    }
}

static void load_limits(struct loader *l, const struct conf_node *n, struct net_config *c)
{
    static const char *const keys[] = {"request_line", "header_section", "header_fields",
                                       "body", "connections", "pipeline", NULL};
    size_t i;

    if (n->kind != CONF_MAP) {
        conf_diag(l->diag, n, "limits must be a mapping");
        l->bad = 1;
        return;
    }
    l->bad |= conf_map_check_keys(n, keys, l->diag) != 0;
    for (i = 0; keys[i] != NULL; i++) {
        const struct conf_node *v = conf_map_get(n, keys[i]);
        const char *s;
        size_t sz;
        static const size_t lo[] = {256, 1024, 8, 1024, 1, 1024};
        static const size_t hi[] = {65536, 1u << 20, 1000, VIGIE_POLICY_BODY_MAX, 1000000,
                                    16u << 20};
        if (v == NULL)
            continue;
        if (conf_get_str(v, &s, NULL, l->diag) != VIGIE_OK) {
            l->bad = 1;
            continue;
        }
        if (size_parse(s, &sz) != 0 || sz < lo[i] || sz > hi[i]) {
            conf_diag(l->diag, v, "limits.%s: expected a number from %zu to %zu (K and M "
                                  "suffixes allowed)", keys[i], lo[i], hi[i]);
            l->bad = 1;
            continue;
        }
        switch (i) {
        case 0: c->req_limits.line_max = sz; break;
        case 1: c->req_limits.section_max = sz; break;
        case 2: c->req_limits.fields_max = sz; break;
        case 3: c->body_max = sz; c->req_limits.body_max = sz; break;
        case 4: c->conn_max = (unsigned)sz; break;
        default: c->pipeline_max = sz; break;
        }
    }
}

/* audit: where records go and how durably (docs/audit.md). `audit: off` runs
 * without records, and must be written out. */
static void load_audit(struct loader *l, const struct conf_node *n, struct net_config *c)
{
    static const char *const keys[] = {"file",          "key_file",           "checkpoint_file",
                                       "sync_interval", "sync_records",       "checkpoint_interval",
                                       "checkpoint_records", "rotate_size", "rotate_interval",
                                       "stream_usage", NULL};
    const struct conf_node *v;
    unsigned ms;
    unsigned long u;
    size_t sz;
    const char *s;

    if (n->kind == CONF_SCALAR && conf_get_str(n, &s, NULL, NULL) == VIGIE_OK &&
        strcmp(s, "off") == 0) {
        c->audit_off = 1;
        return;
    }
    if (n->kind != CONF_MAP) {
        conf_diag(l->diag, n, "audit must be a mapping (file, key_file, ...) or 'off'");
        l->bad = 1;
        return;
    }
    l->bad |= conf_map_check_keys(n, keys, l->diag) != 0;
    if ((v = conf_map_get(n, "file")) != NULL) {
        free(c->audit.file);
        c->audit.file = get_path(l, v);
    }
    if ((v = conf_map_get(n, "key_file")) != NULL) {
        free(c->audit.key_file);
        c->audit.key_file = get_path(l, v);
    }
    if ((v = conf_map_get(n, "checkpoint_file")) != NULL) {
        free(c->audit.checkpoint_file);
        c->audit.checkpoint_file = get_path(l, v);
    }
    if ((v = conf_map_get(n, "sync_interval")) != NULL) {
        if (conf_get_str(v, &s, NULL, l->diag) != VIGIE_OK || net_duration_parse(s, &ms) != 0 ||
            ms < 1 || ms > 60000) {
            conf_diag(l->diag, v, "audit.sync_interval: expected a duration from 1ms to 60s");
            l->bad = 1;
        } else {
            c->audit.sync_interval_ms = ms;
        }
    }
    if ((v = conf_map_get(n, "checkpoint_interval")) != NULL) {
        if (conf_get_str(v, &s, NULL, l->diag) != VIGIE_OK || net_duration_parse(s, &ms) != 0 ||
            ms < 100 || ms > 86400000) {
            conf_diag(l->diag, v, "audit.checkpoint_interval: expected a duration from 100ms "
                                  "to 24h");
            l->bad = 1;
        } else {
            c->audit.checkpoint_interval_ms = ms;
        }
    }
    if ((v = conf_map_get(n, "rotate_interval")) != NULL) {
        /* seconds to days: "3600", "90m", "24h", "7d" */
        char *end = NULL;
        unsigned long x = 0, mul = 0;
        if (conf_get_str(v, &s, NULL, l->diag) == VIGIE_OK && s[0] >= '0' && s[0] <= '9') {
            errno = 0;
            x = strtoul(s, &end, 10);
            mul = errno != 0 ? 0 : (*end == '\0' || strcmp(end, "s") == 0) ? 1
                                 : strcmp(end, "m") == 0                  ? 60
                                 : strcmp(end, "h") == 0                  ? 3600
                                 : strcmp(end, "d") == 0                  ? 86400
                                                                          : 0;
        }
        if (mul == 0 || x == 0 || x > 366ul * 86400 / mul) {
            conf_diag(l->diag, v, "audit.rotate_interval: expected a duration from 1s to 366d "
                                  "(\"3600\", \"90m\", \"24h\", \"7d\")");
            l->bad = 1;
        } else {
            c->audit.rotate_interval_s = (unsigned)(x * mul);
        }
    }
    if ((v = conf_map_get(n, "sync_records")) != NULL) {
        if (conf_get_uint(v, 1, 100000, &u, l->diag) != VIGIE_OK)
            l->bad = 1;
        else
            c->audit.sync_records = (unsigned)u;
    }
    if ((v = conf_map_get(n, "checkpoint_records")) != NULL) {
        if (conf_get_uint(v, 1, 10000000, &u, l->diag) != VIGIE_OK)
            l->bad = 1;
        else
            c->audit.checkpoint_records = (unsigned)u;
    }
    if ((v = conf_map_get(n, "rotate_size")) != NULL) {
        if (conf_get_str(v, &s, NULL, l->diag) != VIGIE_OK || size_parse(s, &sz) != 0 ||
            sz < 4096) {
            conf_diag(l->diag, v, "audit.rotate_size: expected a size of 4K or more (K, M and "
                                  "G suffixes allowed)");
            l->bad = 1;
        } else {
            c->audit.rotate_size = sz;
        }
    }
    if ((v = conf_map_get(n, "stream_usage")) != NULL) {
        /* ask: streamed requests ask the model for usage (tokens in the
         * records); the usage chunk is hidden from clients that did not ask */
        if (conf_get_str(v, &s, NULL, l->diag) != VIGIE_OK ||
            (strcmp(s, "ask") != 0 && strcmp(s, "off") != 0)) {
            conf_diag(l->diag, v, "audit.stream_usage: expected ask or off");
            l->bad = 1;
        } else {
            c->stream_usage_off = strcmp(s, "off") == 0;
        }
    }
    if (c->audit.file == NULL || c->audit.key_file == NULL) {
        conf_diag(l->diag, n, "audit needs 'file' and 'key_file' (or write 'audit: off')");
        l->bad = 1;
    }
}

int net_config_load(struct net_config *c, const char *path, struct vigie_diag *diag)
{
    static const char *const keys[] = {"listen",  "admin",  "policy",   "workers",
                                       "pseudonym_key_file", "upstream_ca_file",
                                       "timeouts", "limits", "log", "rules", "audit", NULL};
    struct loader l = {path, diag, 0};
    struct vigie_buf buf;
    struct conf_doc *doc;
    const struct conf_node *root, *v;
    char err[512];

    if (vigie_file_read(path, VIGIE_CONF_FILE_MAX, &buf, err, sizeof(err)) != VIGIE_OK) {
        vigie_diag_add(diag, NULL, 0, 0, "%s", err);
        return VIGIE_ERR_CONFIG;
    }
    doc = conf_doc_parse(path, buf.data, buf.len, diag);
    vigie_buf_free(&buf);
    if (doc == NULL)
        return VIGIE_ERR_CONFIG;
    if ((c->file = strdup(path)) == NULL)
        l.bad = 1;
    root = conf_doc_root(doc);
    if (root == NULL || root->kind != CONF_MAP) {
        vigie_diag_add(diag, path, 1, 1, "a gateway configuration is a mapping (listen, "
                                         "policy, ...)");
        conf_doc_free(doc);
        return VIGIE_ERR_CONFIG;
    }
    l.bad |= conf_map_check_keys(root, keys, diag) != 0;
    if ((v = conf_map_get(root, "listen")) != NULL)
        load_listen(&l, v, c);
    if ((v = conf_map_get(root, "admin")) != NULL) {
        struct sockaddr_storage ss;
        socklen_t len;
        free(c->admin);
        if ((c->admin = get_string(&l, v)) != NULL &&
            net_address_parse(c->admin, &ss, &len, err, sizeof(err)) != VIGIE_OK) {
            conf_diag(diag, v, "admin: %s", err);
            l.bad = 1;
        }
    }
    if ((v = conf_map_get(root, "policy")) != NULL)
        c->policy_file = get_path(&l, v);
    if ((v = conf_map_get(root, "rules")) != NULL)
        c->rules_dir = get_path(&l, v);
    if ((v = conf_map_get(root, "pseudonym_key_file")) != NULL)
        c->key_file = get_path(&l, v);
    if ((v = conf_map_get(root, "upstream_ca_file")) != NULL)
        c->upstream_ca_file = get_path(&l, v);
    if ((v = conf_map_get(root, "workers")) != NULL) {
        unsigned long w;
        if (conf_get_uint(v, 1, 64, &w, diag) != VIGIE_OK)
            l.bad = 1;
        else
            c->workers = (unsigned)w;
    }
    if ((v = conf_map_get(root, "timeouts")) != NULL)
        load_timeouts(&l, v, &c->t);
    if ((v = conf_map_get(root, "limits")) != NULL)
        load_limits(&l, v, c);
    if ((v = conf_map_get(root, "audit")) != NULL)
        load_audit(&l, v, c);
    if ((v = conf_map_get(root, "log")) != NULL) {
        static const char *const lk[] = {"level", NULL};
        const struct conf_node *lv;
        if (v->kind != CONF_MAP) {
            conf_diag(diag, v, "log must be a mapping");
            l.bad = 1;
        } else {
            l.bad |= conf_map_check_keys(v, lk, diag) != 0;
            if ((lv = conf_map_get(v, "level")) != NULL) {
                const char *s;
                int lvl;
                if (conf_get_str(lv, &s, NULL, diag) != VIGIE_OK ||
                    (lvl = vlog_level_parse(s)) < 0) {
                    conf_diag(diag, lv, "log.level must be debug, info, warn or error");
                    l.bad = 1;
                } else {
                    c->log_level = lvl;
                }
            }
        }
    }
    conf_doc_free(doc);
    return l.bad ? VIGIE_ERR_CONFIG : VIGIE_OK;
}

static int readable(const char *path)
{
    return path != NULL && access(path, R_OK) == 0;
}

int net_config_check(struct net_config *c, struct vigie_diag *diag)
{
    const char *where = c->file != NULL ? c->file : "command line";
    size_t i, j;
    int bad = 0;

    if (c->nlistens == 0) {
        vigie_diag_add(diag, where, 0, 0, "no listener: give --listen ADDR:PORT or 'listen:'");
        bad = 1;
    }
    if (c->policy_file == NULL) {
        vigie_diag_add(diag, where, 0, 0, "no policy: give --policy FILE or 'policy:'");
        bad = 1;
    }
    for (i = 0; i < c->nlistens; i++) {
        const struct net_listen *ln = &c->listens[i];
        for (j = 0; j < ln->ncerts; j++) {
            if (!readable(ln->certs[j]) || !readable(ln->keys[j])) {
                vigie_diag_add(diag, where, 0, 0, "listener %s: cannot read %s", ln->address,
                               readable(ln->certs[j]) ? ln->keys[j] : ln->certs[j]);
                bad = 1;
            }
        }
        if (ln->client_ca != NULL && !readable(ln->client_ca)) {
            vigie_diag_add(diag, where, 0, 0, "listener %s: cannot read %s", ln->address,
                           ln->client_ca);
            bad = 1;
        }
    }
    if (!c->audit_off && (c->audit.file == NULL || c->audit.key_file == NULL)) {
        vigie_diag_add(diag, where, 0, 0,
                       "no audit log: give --audit-log FILE and --audit-key FILE (or 'audit:' "
                       "in the configuration); --no-audit runs without usage records");
        bad = 1;
    }
    if (c->key_file != NULL && !readable(c->key_file)) {
        vigie_diag_add(diag, where, 0, 0, "cannot read the pseudonym key file %s", c->key_file);
        bad = 1;
    }
    return bad ? VIGIE_ERR_CONFIG : VIGIE_OK;
}
