/*
 * vigie verify: reads audit logs as bytes and checks, record by record, what
 * audit.h promises. It never trusts a field it has not checked: the order of
 * the files comes from their first seq, the chain from the bytes, the MAC
 * from the key. It stops at the first break and names it as FILE:LINE.
 *
 * What it proves and what it does not is in docs/audit.md ("What the chain
 * proves").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "api/internal.h"
#include "audit/audit.h"
#include "audit/hash.h"

/* ,"prev":"<64>","mac":"<64>"} */
#define TAIL_LEN   (9 + AUDIT_HASH_HEX + 9 + AUDIT_HASH_HEX + 2)
#define READ_BLOCK (1u << 20)

struct exported {
    uint64_t seq;
    char hash[AUDIT_HASH_HEX + 1];
    int found;
};

struct verifier {
    const struct audit_verify_opts *o;
    struct audit_verify_result *res;
    struct exported *ck;
    size_t nck, ck_next; /* exported checkpoints, sorted by seq; next to meet */
    uint64_t seq;        /* last seq seen; 0 before the first record */
    char head[AUDIT_HASH_HEX + 1];
    char last_ts[32];
    char last_type[32], before_type[32];
    const char *file;
    uint64_t line;
    uint64_t claimed_seq; /* the seq the current line claims (0: not read yet) */
    struct audit_hasher hash; /* SHA-256 and HMAC keyed once (hash.h) */
};

static void verifier_sha256_hex(struct verifier *v, const char *p, size_t n, char *out)
{
    audit_hasher_sha256_hex(&v->hash, p, n, out);
}

static void verifier_hmac_hex(struct verifier *v, const char *p, size_t n, char *out)
{
    audit_hasher_hmac_hex(&v->hash, p, n, out);
}

/* Streams the lines of one file to fn, newline excluded. A line of
 * AUDIT_LINE_MAX bytes or more (newline excluded: the writer's longest line
 * is AUDIT_LINE_MAX bytes with it) is flagged LINE_LONG, wherever it falls
 * in the read blocks, and handed over once, cut; a last line without its
 * newline is flagged LINE_TORN. Returns 0, 1 when fn stopped, -1 on a read
 * error. */
typedef int (*line_fn)(void *arg, const char *line, size_t len, int flags);
#define LINE_TORN 1
#define LINE_LONG 2

static int each_line(const char *path, line_fn fn, void *arg, char *err, size_t errsz)
{
    const size_t cap = READ_BLOCK + AUDIT_LINE_MAX;
    char *buf = malloc(cap);
    size_t have = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0, skipping = 0;

    if (buf == NULL || fd < 0) {
        vigie_errf(err, errsz, "%s: %s", path, fd < 0 ? strerror(errno) : "out of memory");
        free(buf);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (;;) {
        /* have < AUDIT_LINE_MAX here: a read always has READ_BLOCK of room */
        ssize_t r = read(fd, buf + have, cap - have);
        size_t start = 0, scanned = have;
        char *nl;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            vigie_errf(err, errsz, "%s: %s", path, strerror(errno));
            rc = -1;
            break;
        }
        if (r == 0) {
            if (have > 0 && !skipping)
                rc = fn(arg, buf, have, LINE_TORN) != 0;
            break;
        }
        have += (size_t)r;
        while ((nl = memchr(buf + scanned, '\n', have - scanned)) != NULL) {
            size_t i = (size_t)(nl - buf);
            if (skipping) {
                skipping = 0; /* the end of a long line already reported */
            } else if (fn(arg, buf + start, i - start,
                          i - start >= AUDIT_LINE_MAX ? LINE_LONG : 0) != 0) {
                rc = 1;
                goto out;
            }
            start = scanned = i + 1;
        }
        memmove(buf, buf + start, have - start);
        have -= start;
        if (skipping) {
            have = 0;
        } else if (have >= AUDIT_LINE_MAX) {
            /* no newline in sight: report the line now, skip to its end */
            if (fn(arg, buf, have, LINE_LONG) != 0) {
                rc = 1;
                break;
            }
            skipping = 1;
            have = 0;
        }
    }
out:
    free(buf);
    close(fd);
    return rc;
}

static int is_hex64(const char *p)
{
    size_t i;
    for (i = 0; i < AUDIT_HASH_HEX; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return 0;
    return 1;
}

static int broken(struct verifier *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records the first break: where (FILE:LINE and the seq the chain expects
 * there, or, at the very first record, the one the line claims) and why. */
static int broken(struct verifier *v, const char *fmt, ...)
{
    va_list ap;

    v->res->ok = 0;
    snprintf(v->res->where, sizeof(v->res->where), "%s:%llu (seq %llu)", v->file,
             (unsigned long long)v->line,
             (unsigned long long)(v->seq > 0 ? v->seq + 1 : v->claimed_seq));
    va_start(ap, fmt);
    vsnprintf(v->res->why, sizeof(v->res->why), fmt, ap);
    va_end(ap);
    return 1;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ": compared as bytes along the chain, so the form
 * must be exact */
static int ts_ok(const char *p)
{
    static const char form[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    size_t i;
    for (i = 0; i < sizeof(form) - 1; i++)
        if (form[i] == 'd' ? !(p[i] >= '0' && p[i] <= '9') : p[i] != form[i])
            return 0;
    return 1;
}

/* Reads the unsigned integer at p (digits only), advancing *n. */
static int read_u64(const char *p, size_t len, uint64_t *out, size_t *n)
{
    uint64_t x = 0;
    size_t i = 0;
    while (i < len && p[i] >= '0' && p[i] <= '9' && i < 20) {
        x = x * 10u + (uint64_t)(p[i] - '0');
        i++;
    }
    if (i == 0 || (i > 1 && p[0] == '0'))
        return -1;
    *out = x;
    *n = i;
    return 0;
}

static int on_record(void *arg, const char *l, size_t len, int flags)
{
    static const char pre[] = "{\"v\":1,\"seq\":";
    struct verifier *v = arg;
    char h[AUDIT_HASH_HEX + 1];
    const char *p, *tail;
    uint64_t seq;
    size_t n;
    json_t *root;
    enum api_json_err jerr;
    size_t jat;

    v->line++;
    v->claimed_seq = 0;
    if (flags & LINE_TORN)
        return broken(v, "the last line is cut (no newline): a torn write, or the file was "
                         "truncated");
    if (flags & LINE_LONG)
        return broken(v, "a line longer than %u bytes (newline included): not a record",
                      AUDIT_LINE_MAX);
    if (len < sizeof(pre) - 1 + TAIL_LEN || memcmp(l, pre, sizeof(pre) - 1) != 0)
        return broken(v, "not an audit record of format 1");
    if (read_u64(l + sizeof(pre) - 1, len - (sizeof(pre) - 1), &seq, &n) != 0)
        return broken(v, "seq is not a number");
    v->claimed_seq = seq;
    if (seq == 0)
        return broken(v, "seq 0: a chain starts at 1");
    p = l + sizeof(pre) - 1 + n;
    if ((size_t)(l + len - p) < 8 + 24 + 10 || memcmp(p, ",\"ts\":\"", 7) != 0 ||
        memcmp(p + 7 + 24, "\",\"type\":\"", 10) != 0)
        return broken(v, "ts or type missing or out of place");
    if (!ts_ok(p + 7))
        return broken(v, "ts is not a UTC time of the form YYYY-MM-DDTHH:MM:SS.mmmZ");
    tail = l + len - TAIL_LEN;
    if (memcmp(tail, ",\"prev\":\"", 9) != 0 || !is_hex64(tail + 9) ||
        memcmp(tail + 9 + AUDIT_HASH_HEX, "\",\"mac\":\"", 9) != 0 ||
        !is_hex64(tail + 18 + AUDIT_HASH_HEX) || memcmp(l + len - 2, "\"}", 2) != 0)
        return broken(v, "prev and mac missing or out of place");
    root = api_json_parse(l, len, 8, &jerr, &jat);
    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        return broken(v, "not a JSON object (at byte %zu)", jat);
    }
    /* sequence and time: the record right after the previous one */
    if (v->seq == 0) {
        v->res->first_seq = seq;
        if (seq == 1 &&
            memcmp(tail + 9, "0000000000000000000000000000000000000000000000000000000000000000",
                   AUDIT_HASH_HEX) != 0) {
            json_decref(root);
            return broken(v, "the first record's prev is not the genesis value");
        }
    } else {
        if (seq != v->seq + 1) {
            json_decref(root);
            return broken(v,
                          seq <= v->seq ? "seq %llu after %llu: a record repeated, moved or "
                                          "inserted"
                                        : "seq %llu after %llu: %llu record(s) missing",
                          (unsigned long long)seq, (unsigned long long)v->seq,
                          (unsigned long long)(seq - v->seq - 1));
        }
        if (memcmp(tail + 9, v->head, AUDIT_HASH_HEX) != 0) {
            json_decref(root);
            return broken(v, "prev is not the hash of the record before: that record or this "
                             "one was changed, or one was removed or inserted");
        }
        if (memcmp(p + 7, v->last_ts, 24) < 0) {
            json_decref(root);
            return broken(v, "ts goes back in time");
        }
    }
    if (v->o->key != NULL) {
        char mac[AUDIT_HASH_HEX + 1];
        verifier_hmac_hex(v, l, (size_t)(tail + 9 + AUDIT_HASH_HEX + 1 - l), mac);
        if (memcmp(mac, tail + 18 + AUDIT_HASH_HEX, AUDIT_HASH_HEX) != 0) {
            json_decref(root);
            return broken(v, "the MAC does not verify: the record was changed or written "
                             "without the audit key");
        }
    }
    {
        const char *type = json_string_value(json_object_get(root, "type"));
        memcpy(v->before_type, v->last_type, sizeof(v->before_type));
        snprintf(v->last_type, sizeof(v->last_type), "%s", type != NULL ? type : "");
        if (type != NULL && strcmp(type, "checkpoint") == 0) {
            const char *head = json_string_value(json_object_get(root, "head"));
            if (head == NULL || strlen(head) != AUDIT_HASH_HEX ||
                memcmp(head, tail + 9, AUDIT_HASH_HEX) != 0) {
                json_decref(root);
                return broken(v, "a checkpoint whose head is not its prev");
            }
        }
    }
    json_decref(root);
    verifier_sha256_hex(v, l, len, h);
    /* an exported checkpoint at this seq must be this very record */
    while (v->ck_next < v->nck && v->ck[v->ck_next].seq < seq)
        v->ck_next++;
    while (v->ck_next < v->nck && v->ck[v->ck_next].seq == seq) {
        if (memcmp(v->ck[v->ck_next].hash, h, AUDIT_HASH_HEX) != 0)
            return broken(v,
                          "the exported checkpoint for seq %llu names another record: the "
                          "log was rewritten",
                          (unsigned long long)seq);
        v->ck[v->ck_next].found = 1;
        v->res->checkpoints_found++;
        v->ck_next++;
    }
    memcpy(v->head, h, sizeof(v->head));
    memcpy(v->last_ts, p + 7, 24);
    v->seq = seq;
    v->res->last_seq = seq;
    v->res->records++;
    return 0;
}

/* ---- the checkpoint file ------------------------------------------------------- */

/* ,"hash":"<64>","mac":"<64>"} */
#define CK_TAIL_LEN (9 + AUDIT_HASH_HEX + 1 + 8 + AUDIT_HASH_HEX + 2)

struct ck_reader {
    struct verifier *v;
    uint64_t line;
    int bad;
    char why[256];
    size_t cap;
};

static int ck_bad(struct ck_reader *r, const char *why)
{
    snprintf(r->why, sizeof(r->why), "%s", why);
    r->bad = 1;
    return 1;
}

/* {"ts":"<24>","seq":S,"file":"F","hash":"H","mac":"M"} */
static int on_checkpoint(void *arg, const char *l, size_t len, int flags)
{
    static const char pre[] = "{\"ts\":\"";
    struct ck_reader *r = arg;
    struct verifier *v = r->v;
    const char *h, *m;
    uint64_t seq = 0;
    size_t n;

    r->line++;
    if (flags & LINE_TORN)
        return 0; /* an export cut by a crash (the writer cuts it at its next start) */
    if (flags & LINE_LONG)
        return ck_bad(r, "a line longer than a checkpoint can be");
    if (len < sizeof(pre) - 1 + 24 + 8 + 1 + CK_TAIL_LEN || memcmp(l, pre, sizeof(pre) - 1) != 0 ||
        memcmp(l + 7 + 24, "\",\"seq\":", 8) != 0 ||
        read_u64(l + 7 + 24 + 8, len - (7 + 24 + 8), &seq, &n) != 0)
        return ck_bad(r, "not an exported checkpoint");
    h = l + len - CK_TAIL_LEN;
    m = h + 9 + AUDIT_HASH_HEX + 1;
    if (memcmp(h, ",\"hash\":\"", 9) != 0 || !is_hex64(h + 9) || h[9 + AUDIT_HASH_HEX] != '"' ||
        memcmp(m, ",\"mac\":\"", 8) != 0 || !is_hex64(m + 8) || memcmp(l + len - 2, "\"}", 2) != 0)
        return ck_bad(r, "not an exported checkpoint");
    if (v->o->key != NULL) {
        char mac[AUDIT_HASH_HEX + 1];
        verifier_hmac_hex(v, l, (size_t)(m - l), mac);
        if (memcmp(mac, m + 8, AUDIT_HASH_HEX) != 0)
            return ck_bad(r, "the checkpoint's MAC does not verify: it was changed or written "
                             "without the audit key");
    }
    if (VIGIE_ARRAY_RESERVE(v->ck, v->nck, r->cap, 64) != VIGIE_OK)
        return ck_bad(r, "out of memory");
    v->ck[v->nck].seq = seq;
    memcpy(v->ck[v->nck].hash, h + 9, AUDIT_HASH_HEX);
    v->ck[v->nck].hash[AUDIT_HASH_HEX] = '\0';
    v->ck[v->nck].found = 0;
    v->nck++;
    return 0;
}

static int cmp_ck(const void *x, const void *y)
{
    const struct exported *a = x, *b = y;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* ---- files in chain order ------------------------------------------------------- */

struct file_first {
    const char *path;
    uint64_t seq; /* the file's first seq, as voted below; UINT64_MAX: empty */
    size_t given; /* its rank on the command line, to keep ties stable */
};

/* The seqs of a file's first lines (0: not readable as a record). */
struct first_lines {
    uint64_t seq[3];
    int n;
};

static int on_first(void *arg, const char *l, size_t len, int flags)
{
    static const char pre[] = "{\"v\":1,\"seq\":";
    struct first_lines *f = arg;
    uint64_t seq = 0;
    size_t n;

    if (!(flags & LINE_LONG) && len > sizeof(pre) - 1 && memcmp(l, pre, sizeof(pre) - 1) == 0 &&
        read_u64(l + sizeof(pre) - 1, len - (sizeof(pre) - 1), &seq, &n) != 0)
        seq = 0;
    f->seq[f->n++] = seq;
    return f->n == 3;
}

/* Where a file starts in the chain. Its first line says so, unless that very
 * line was damaged: then the order would be wrong and the break would be
 * reported in another, intact, file. So the next two lines vote: when they
 * agree with each other (seq2 - 1 == seq3 - 2), they win over the first. */
static int first_seq_of(const char *path, uint64_t *seq, char *err, size_t errsz)
{
    struct first_lines f;

    memset(&f, 0, sizeof(f));
    *seq = UINT64_MAX;
    if (each_line(path, on_first, &f, err, errsz) < 0)
        return -1;
    if (f.n == 0)
        return 0; /* empty */
    *seq = f.seq[0];
    if (f.n == 3 && f.seq[1] > 1 && f.seq[2] > 2 && f.seq[1] - 1 == f.seq[2] - 2)
        *seq = f.seq[1] - 1;
    /* not a log at all: verified first, where it fails at line 1 */
    return 0;
}

static int cmp_first(const void *x, const void *y)
{
    const struct file_first *a = x, *b = y;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return a->given < b->given ? -1 : a->given > b->given;
}

int audit_verify(const struct audit_verify_opts *o, struct audit_verify_result *res)
{
    struct verifier v;
    struct file_first *ff = NULL;
    char err[512];
    size_t i;
    int rc = VIGIE_OK;

    memset(res, 0, sizeof(*res));
    memset(&v, 0, sizeof(v));
    v.o = o;
    v.res = res;
    res->ok = 1;
    audit_hasher_init(&v.hash, o->key, o->keylen);
    if (o->checkpoint_file != NULL) {
        struct ck_reader r;
        int k;
        memset(&r, 0, sizeof(r));
        r.v = &v;
        k = each_line(o->checkpoint_file, on_checkpoint, &r, err, sizeof(err));
        if (k < 0) {
            res->ok = 0;
            snprintf(res->where, sizeof(res->where), "%s", o->checkpoint_file);
            snprintf(res->why, sizeof(res->why), "cannot read the checkpoint file: %.400s", err);
            rc = VIGIE_ERR_IO;
            goto out;
        }
        if (r.bad) {
            res->ok = 0;
            snprintf(res->where, sizeof(res->where), "%s:%llu", o->checkpoint_file,
                     (unsigned long long)r.line);
            snprintf(res->why, sizeof(res->why), "%s", r.why);
            goto out;
        }
        if (v.nck > 1) /* qsort wants a non-NULL array, even of none */
            qsort(v.ck, v.nck, sizeof(*v.ck), cmp_ck);
        res->checkpoints_exported = v.nck;
    }
    ff = calloc(o->nfiles > 0 ? o->nfiles : 1, sizeof(*ff));
    if (ff == NULL) {
        rc = VIGIE_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < o->nfiles; i++) {
        ff[i].path = o->files[i];
        ff[i].given = i;
        if (first_seq_of(o->files[i], &ff[i].seq, err, sizeof(err)) != 0) {
            res->ok = 0;
            snprintf(res->where, sizeof(res->where), "%s", o->files[i]);
            snprintf(res->why, sizeof(res->why), "cannot read: %.400s", err);
            rc = VIGIE_ERR_IO;
            goto out;
        }
    }
    qsort(ff, o->nfiles, sizeof(*ff), cmp_first);
    for (i = 0; i < o->nfiles && res->ok; i++) {
        if (ff[i].seq == UINT64_MAX)
            continue; /* empty */
        v.file = ff[i].path;
        v.line = 0;
        res->files++;
        if (each_line(ff[i].path, on_record, &v, err, sizeof(err)) < 0) {
            res->ok = 0;
            snprintf(res->where, sizeof(res->where), "%s", ff[i].path);
            snprintf(res->why, sizeof(res->why), "cannot read: %.400s", err);
            rc = VIGIE_ERR_IO;
            goto out;
        }
    }
    if (res->ok) {
        /* exported checkpoints past the end: records were cut off the end */
        for (i = 0; i < v.nck; i++) {
            if (!v.ck[i].found && v.ck[i].seq > v.seq) {
                res->ok = 0;
                snprintf(res->where, sizeof(res->where), "%s", o->checkpoint_file);
                snprintf(res->why, sizeof(res->why),
                         "the logs end at seq %llu but a checkpoint was exported at seq %llu: "
                         "records were removed from the end (or the files after it were not given)",
                         (unsigned long long)v.seq, (unsigned long long)v.ck[i].seq);
                break;
            }
        }
        /* a clean stop writes "stop" then its checkpoint */
        res->clean_end =
            strcmp(v.last_type, "stop") == 0 ||
            (strcmp(v.last_type, "checkpoint") == 0 && strcmp(v.before_type, "stop") == 0);
    }
out:
    audit_hasher_fini(&v.hash);
    free(ff);
    free(v.ck);
    return rc;
}
