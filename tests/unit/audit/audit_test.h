/*
 * Helpers shared by the audit tests: scratch directories, whole-file reads,
 * lines, and an independent implementation of the record format of audit.h
 * (SHA-256 and HMAC computed here with OpenSSL's EVP calls, not with the
 * writer's helpers), so that a test can both check the writer's bytes and
 * forge records the way someone holding the key would.
 */
#ifndef VIGIE_AUDIT_TEST_H
#define VIGIE_AUDIT_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "audit/audit.h"

#define T_ZERO64 "0000000000000000000000000000000000000000000000000000000000000000"

static const char t_key[] = "0123456789abcdef-test-audit-key!";

struct t_lines {
    char *buf; /* the file, owned */
    size_t len;
    const char **p; /* line starts */
    size_t *n;      /* line lengths, newline excluded */
    size_t count;
    int torn; /* the last line has no newline */
};

static inline int t_rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static inline void t_rm_tree(const char *dir)
{
    nftw(dir, t_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void t_mkdtemp(char *out, size_t n)
{
    snprintf(out, n, "/tmp/vigie-audit-XXXXXX");
    if (mkdtemp(out) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
}

static inline void t_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
        perror(path);
        exit(2);
    }
    fchmod(fd, mode);
    close(fd);
}

static inline void t_append_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
        perror(path);
        exit(2);
    }
    close(fd);
}

/* The whole file, NUL-terminated; NULL when it cannot be read. */
static inline char *t_read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b;
    long n;

    *len = 0;
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)n + 1);
    if (b == NULL || fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        fclose(f);
        return NULL;
    }
    b[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return b;
}

static inline long long t_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static inline void t_lines_free(struct t_lines *l)
{
    free(l->buf);
    free(l->p);
    free(l->n);
    memset(l, 0, sizeof(*l));
}

static inline int t_lines_read(const char *path, struct t_lines *l)
{
    size_t i, start = 0, cap = 64;

    memset(l, 0, sizeof(*l));
    l->buf = t_read_all(path, &l->len);
    if (l->buf == NULL)
        return -1;
    l->p = malloc(cap * sizeof(*l->p));
    l->n = malloc(cap * sizeof(*l->n));
    for (i = 0; i <= l->len; i++) {
        if (i < l->len && l->buf[i] != '\n')
            continue;
        if (i == l->len && start == l->len)
            break;
        if (l->count == cap) {
            cap *= 2;
            l->p = realloc(l->p, cap * sizeof(*l->p));
            l->n = realloc(l->n, cap * sizeof(*l->n));
        }
        l->p[l->count] = l->buf + start;
        l->n[l->count] = i - start;
        l->count++;
        if (i == l->len)
            l->torn = 1;
        start = i + 1;
    }
    return 0;
}

/* A line as a NUL-terminated copy (static ring of 4). */
static inline const char *t_line(const struct t_lines *l, size_t i)
{
    static char ring[4][AUDIT_LINE_MAX + 1];
    static int k;
    char *s = ring[k++ & 3];
    size_t n = i < l->count ? l->n[i] : 0;
    if (n > AUDIT_LINE_MAX)
        n = AUDIT_LINE_MAX;
    memcpy(s, i < l->count ? l->p[i] : "", n);
    s[n] = '\0';
    return s;
}

static inline void t_hex(const unsigned char *md, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = hx[md[i] >> 4];
        out[2 * i + 1] = hx[md[i] & 15];
    }
    out[2 * n] = '\0';
}

static inline void t_sha256(const void *p, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
    t_hex(md, 32, out);
}

static inline void t_hmac(const void *key, size_t keylen, const void *p, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), key, (int)keylen, p, n, md, &mdlen);
    t_hex(md, 32, out);
}

/* Builds one record line (with its newline) as audit.h defines it, in out
 * (at least 200 + strlen(fields) bytes). */
static inline size_t t_record(char *out, size_t outsz, unsigned long long seq, const char *ts,
                              const char *type, const char *fields, const char *prev,
                              const void *key, size_t keylen)
{
    char mac[65];
    int n = snprintf(out, outsz,
                     "{\"v\":1,\"seq\":%llu,\"ts\":\"%s\",\"type\":\"%s\"%s%s,"
                     "\"prev\":\"%s\"",
                     seq, ts, type, fields[0] != '\0' ? "," : "", fields, prev);
    t_hmac(key, keylen, out, (size_t)n, mac);
    n += snprintf(out + n, outsz - (size_t)n, ",\"mac\":\"%s\"}\n", mac);
    return (size_t)n;
}

static inline void t_ts_now(char *out, size_t n, long long offset_ms)
{
    struct timespec ts;
    long long ms;
    time_t s;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + offset_ms;
    s = (time_t)(ms / 1000);
    gmtime_r(&s, &tm);
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000 + 1000) % 1000);
}

static inline void t_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static inline void t_key_write(const char *dir, char *path, size_t n)
{
    snprintf(path, n, "%s/audit.key", dir);
    t_write_file(path, t_key, sizeof(t_key) - 1, 0600);
}

/* A configuration for dir/audit.log with the test key; strings owned by cfg. */
static inline void t_cfg(struct audit_config *c, const char *dir)
{
    char p[512];
    audit_config_defaults(c);
    snprintf(p, sizeof(p), "%s/audit.log", dir);
    c->file = strdup(p);
    t_key_write(dir, p, sizeof(p));
    c->key_file = strdup(p);
}

#define T_START_FIELDS "\"version\":\"test\",\"pid\":1,\"workers\":1,\"policy\":null"

static inline int t_verify(const char *const *files, size_t nfiles, int with_key, const char *ckpt,
                           struct audit_verify_result *res)
{
    struct audit_verify_opts o;
    memset(&o, 0, sizeof(o));
    o.files = files;
    o.nfiles = nfiles;
    if (with_key) {
        o.key = (const unsigned char *)t_key;
        o.keylen = sizeof(t_key) - 1;
    }
    o.checkpoint_file = ckpt;
    o.quiet = 1;
    return audit_verify(&o, res);
}

#endif
