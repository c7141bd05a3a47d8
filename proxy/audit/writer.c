/*
 * The audit writer: one file, one chain, one lock, one sync thread.
 *
 * Workers format their record's fields, then audit_write() takes the lock,
 * gives the record its seq, ts and prev, MACs it and write(2)s the line before
 * returning. The page cache then holds it: a killed process loses nothing.
 * What a power cut can take is what fdatasync has not reached yet; the sync
 * thread bounds that window (sync_interval_ms or sync_records, whichever
 * comes first), and also writes checkpoints, rotates and reopens the file,
 * and, after a failure, tries to write again every second.
 *
 * Failure (docs/audit.md, "When the disk fails"): a write that fails is cut
 * back to the last whole line (ftruncate) and the log is broken: requests get
 * 503 until a storage_error record can be written and synced. A failed
 * fdatasync is not retried on the same file (Linux may have dropped the dirty
 * pages, PostgreSQL's "fsyncgate"): the file is rotated away and a new one
 * starts with that record.
 *
 * Locking: a->mu guards the chain, the current file and the counters. The
 * sync thread releases it around the fdatasync of ordinary group commits and
 * around the export of a checkpoint, so that workers keep appending; it holds
 * it across the fdatasync that seals a file before a rotation or a reopen, so
 * that nothing lands in a file after its last checkpoint. Only the sync thread
 * (or audit_close, once that thread has stopped) changes a->fd or touches
 * a->ckpt_fd, which is why they may be used with the lock released.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "audit/audit.h"
#include "audit/hash.h"

#define RETRY_MS     1000u /* a broken log: try to write again this often */
#define IDLE_WAKE_MS 1000u /* the longest sleep: audit_reopen() is seen this soon */
#define KEY_MAX      4096u
/* ,"mac":"<64 hex>"} and the newline: what follows the MACed part of a line */
#define MAC_TAIL (8 + AUDIT_HASH_HEX + 2 + 1)
/* rotated names FILE.<time>, FILE.<time>-1, ... up to this suffix */
#define ROTATE_NAMES_MAX 1000

enum broken_kind {
    BROKEN_NO = 0,
    BROKEN_WRITE = 1, /* a write failed and was cut back: the file is whole */
    BROKEN_SYNC = 2,  /* fdatasync failed: the file is not trusted again */
};

struct audit_log {
    unsigned magic;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thr;
    int thr_started;
    int stop;

    /* the configuration (strings owned) */
    char *path, *ckpt_path;
    unsigned sync_interval_ms, sync_records, ckpt_records, ckpt_interval_ms;
    uint64_t rotate_size;
    unsigned rotate_interval_s;
    atomic_int fail_open;
    unsigned char *key;
    size_t keylen;
    struct audit_hasher hash; /* keyed once (after the key is read); under mu */

    /* the chain, under mu */
    int fd, ckpt_fd;
    uint64_t seq; /* last seq written */
    char head[AUDIT_HASH_HEX + 1];
    uint64_t last_ts_ms;
    uint64_t size;         /* bytes of whole lines in the current file */
    uint64_t file_records; /* records in the current file after its header records */
    uint64_t opened_ms;    /* when the current file was started (rotation by time) */
    uint64_t ckpt_seq;     /* seq of the last checkpoint record */
    uint64_t ckpt_ms;
    uint64_t pending; /* lines written since the last fdatasync */
    uint64_t first_pending_ms;
    uint64_t ckpt_file_size; /* bytes of whole lines in the checkpoint file */
    char moved_to[PATH_MAX]; /* a rotation renamed the file but has not opened the next */
    struct vigie_buf line;

    /* failure */
    atomic_int broken; /* enum broken_kind */
    int err_no;        /* the last error */
    int first_err;     /* the error that broke it */
    char broken_since[64];
    uint64_t retry_ms;
    atomic_uint_fast64_t refused;
    atomic_int reopen;

    struct audit_stats st;
};

#define AUDIT_MAGIC 0x41554454u

/* ---- helpers ------------------------------------------------------------------ */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void format_ts(uint64_t ms, char *out, size_t outsz)
{
    time_t s = (time_t)(ms / 1000u);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000u));
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" at p (n bytes available) -> ms; 0 when it is not
 * one. */
static uint64_t parse_ts(const char *p, size_t n)
{
    char s[25];
    struct tm tm;
    unsigned msec = 0;
    time_t t;

    if (n < 24)
        return 0;
    memcpy(s, p, 24);
    s[24] = '\0';
    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3uZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &msec) != 7)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    t = timegm(&tm);
    return t < 0 ? 0 : (uint64_t)t * 1000u + msec;
}

/* The writer's SHA-256 and HMAC (hash.h); a->mu held. */
static void log_sha256_hex(struct audit_log *a, const void *p, size_t n, char *out)
{
    audit_hasher_sha256_hex(&a->hash, p, n, out);
}

static void log_hmac_hex(struct audit_log *a, const void *p, size_t n, char *out)
{
    audit_hasher_hmac_hex(&a->hash, p, n, out);
}

int audit_key_read(const char *path, unsigned char **key, size_t *keylen, char *err, size_t errsz)
{
    struct stat st;
    unsigned char *b = NULL;
    size_t len = 0;
    int fd, rc;

    *key = NULL;
    *keylen = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        vigie_errf(err, errsz, "cannot open the audit key: %s", strerror(errno));
        return VIGIE_ERR_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        vigie_errf(err, errsz, "the audit key is not a regular file");
        return VIGIE_ERR_IO;
    }
    /* A key others can read lets them forge records: refuse it, as ssh does. */
    if ((st.st_mode & 077) != 0) {
        close(fd);
        vigie_errf(err, errsz,
                   "the audit key can be read by group or others (mode %03o); "
                   "chmod 600 it",
                   (unsigned)(st.st_mode & 0777));
        return VIGIE_ERR_CONFIG;
    }
    /* Read from the descriptor whose mode was checked, not from the name
     * again: the file could be swapped in between. */
    b = malloc(KEY_MAX + 1);
    if (b == NULL) {
        close(fd);
        return VIGIE_ERR_NOMEM;
    }
    while (len <= KEY_MAX) {
        ssize_t r = read(fd, b + len, KEY_MAX + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            vigie_errf(err, errsz, "cannot read the audit key: %s", strerror(errno));
            rc = VIGIE_ERR_IO;
            goto fail;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (len > KEY_MAX) {
        vigie_errf(err, errsz, "an audit key has %u bytes at most", KEY_MAX);
        rc = VIGIE_ERR_CONFIG;
        goto fail;
    }
    if (len < AUDIT_KEY_MIN) {
        vigie_errf(err, errsz, "an audit key needs %u bytes or more", AUDIT_KEY_MIN);
        rc = VIGIE_ERR_CONFIG;
        goto fail;
    }
    close(fd);
    *key = b;
    *keylen = len;
    return VIGIE_OK;
fail:
    close(fd);
    vigie_wipe(b, KEY_MAX + 1);
    free(b);
    return rc;
}

void audit_config_defaults(struct audit_config *c)
{
    memset(c, 0, sizeof(*c));
    c->sync_interval_ms = 1000;
    c->sync_records = 256;
    c->checkpoint_records = 1000;
    c->checkpoint_interval_ms = 60000;
    c->rotate_size = 0;
    c->rotate_interval_s = 0;
}

void audit_config_fini(struct audit_config *c)
{
    if (c == NULL)
        return;
    free(c->file);
    free(c->key_file);
    free(c->checkpoint_file);
    memset(c, 0, sizeof(*c));
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s != NULL ? s + 1 : p;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int pread_all(int fd, char *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO; /* the file shrank under us */
            return -1;
        }
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

static int sync_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *s = strrchr(path, '/');
    int fd, rc;

    if (s == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (s == path)
        snprintf(dir, sizeof(dir), "/");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(s - path), path);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* The log cannot be written (kind: enum broken_kind; a kind never goes down
 * until recover() succeeds). a->mu held. */
static void mark_broken(struct audit_log *a, int kind, int err_no)
{
    if (atomic_load(&a->broken) == BROKEN_NO) {
        a->first_err = err_no;
        format_ts(now_ms(), a->broken_since, sizeof(a->broken_since));
        atomic_store(&a->refused, 0);
        a->st.failures++;
    }
    if (atomic_load(&a->broken) < kind)
        atomic_store(&a->broken, kind);
    a->err_no = err_no;
    a->retry_ms = mono_ms() + RETRY_MS;
}

/* Cuts the current file back to its last whole line (a->size). Never
 * extends it: if it is shorter than that, someone else cut it (logrotate's
 * copytruncate, or worse); the chain shows the loss, and the writer goes on
 * from its real end. Returns 0, or -1 and errno. a->mu held. */
static int cut_back(struct audit_log *a)
{
    struct stat st;

    if (fstat(a->fd, &st) != 0)
        return -1;
    if ((uint64_t)st.st_size > a->size)
        return ftruncate(a->fd, (off_t)a->size);
    a->size = (uint64_t)st.st_size;
    return 0;
}

/* Builds and writes one line; a->mu held. The line is written whole or the
 * file is cut back to where it was, so the log always ends with a whole
 * line. VIGIE_ERR_TOO_BIG: the line would be longer than AUDIT_LINE_MAX bytes
 * (newline included); nothing is written and the log stays usable. */
static int append(struct audit_log *a, const char *type, const char *fields, size_t len)
{
    char ts[64], mac[AUDIT_HASH_HEX + 1];
    struct vigie_buf *l = &a->line;
    uint64_t ms = now_ms();
    int rc;

    if (ms < a->last_ts_ms) /* the clock went back: ts never does */
        ms = a->last_ts_ms;
    format_ts(ms, ts, sizeof(ts));
    if (len > AUDIT_LINE_MAX)
        return VIGIE_ERR_TOO_BIG;
    vigie_buf_reset(l);
    /* A vigie_buf frees itself when a step fails: every step is checked, or
     * the next one would start a new line without its head. */
    rc = vigie_buf_printf(l, "{\"v\":%d,\"seq\":%llu,\"ts\":\"%s\",\"type\":\"%s\"", AUDIT_FORMAT,
                          (unsigned long long)(a->seq + 1), ts, type);
    if (rc == VIGIE_OK && len > 0) {
        rc = vigie_buf_appendc(l, ',');
        if (rc == VIGIE_OK)
            rc = vigie_buf_append(l, fields, len);
    }
    if (rc == VIGIE_OK)
        rc = vigie_buf_printf(l, ",\"prev\":\"%s\"", a->head);
    if (rc == VIGIE_OK && l->len + MAC_TAIL > AUDIT_LINE_MAX)
        rc = VIGIE_ERR_TOO_BIG;
    if (rc != VIGIE_OK)
        return rc;
    log_hmac_hex(a, l->data, l->len, mac);
    if ((rc = vigie_buf_printf(l, ",\"mac\":\"%s\"}\n", mac)) != VIGIE_OK)
        return rc;
    if (write_all(a->fd, l->data, l->len) != 0) {
        int e = errno;
        /* A torn line would break every later record's chain: cut it off. If
         * even that fails, recover() cuts it before writing again. */
        cut_back(a);
        mark_broken(a, BROKEN_WRITE, e);
        return VIGIE_ERR_IO;
    }
    log_sha256_hex(a, l->data, l->len - 1, a->head);
    a->seq++;
    a->last_ts_ms = ms;
    a->size += l->len;
    a->file_records++;
    if (a->pending++ == 0)
        a->first_pending_ms = mono_ms();
    a->st.records++;
    a->st.bytes += l->len;
    a->st.last_seq = a->seq;
    return VIGIE_OK;
}

/* A record of the writer's own (checkpoint, segment, storage_error...): when
 * it cannot be written the log is broken, whatever the reason, so that the
 * sync thread retries later instead of at once. a->mu held. */
static int append_own(struct audit_log *a, const char *type, const char *fields, size_t len)
{
    int rc = fields != NULL ? append(a, type, fields, len) : VIGIE_ERR_NOMEM;

    if (rc != VIGIE_OK && rc != VIGIE_ERR_IO)
        mark_broken(a, BROKEN_WRITE, rc == VIGIE_ERR_NOMEM ? ENOMEM : E2BIG);
    return rc;
}

/* fdatasync with the lock released (writes go on meanwhile); a->mu held on
 * entry and on return. Returns 0, or -1 and the log broken. */
static int sync_unlocked(struct audit_log *a)
{
    uint64_t upto = a->seq, n = a->pending;
    int fd = a->fd, rc, e;

    pthread_mutex_unlock(&a->mu);
    rc = fdatasync(fd);
    e = errno;
    pthread_mutex_lock(&a->mu);
    if (rc != 0) {
        mark_broken(a, BROKEN_SYNC, e);
        return -1;
    }
    a->st.syncs++;
    if (upto > a->st.synced_seq)
        a->st.synced_seq = upto;
    a->pending = a->pending > n ? a->pending - n : 0;
    if (a->pending > 0)
        a->first_pending_ms = mono_ms();
    return 0;
}

/* fdatasync with the lock held: nothing can be appended in between, so the
 * whole file is on disk when it returns 0. a->mu held. */
static int sync_locked(struct audit_log *a)
{
    if (fdatasync(a->fd) != 0) {
        mark_broken(a, BROKEN_SYNC, errno);
        return -1;
    }
    a->st.syncs++;
    a->st.synced_seq = a->seq;
    a->pending = 0;
    return 0;
}

struct ckpt {
    uint64_t seq;
    char hash[AUDIT_HASH_HEX + 1];
    int ok; /* written and synced: to be exported */
};

/* Appends the exported form of a checkpoint record to the checkpoint file
 * and syncs it, with a->mu released (only the sync thread, or audit_close
 * once it has stopped, uses ckpt_fd). Called once the log is synced past the
 * record. A failure is counted, not fatal: the log itself is whole, and an
 * unexported checkpoint is only less evidence. */
static void export_checkpoint(struct audit_log *a, const struct ckpt *ck)
{
    char ts[64], mac[AUDIT_HASH_HEX + 1];
    struct vigie_buf b;
    uint64_t ms = now_ms();
    int rc;

    if (!ck->ok || a->ckpt_fd < 0)
        return;
    if (ms < a->last_ts_ms)
        ms = a->last_ts_ms;
    format_ts(ms, ts, sizeof(ts));
    vigie_buf_init(&b, 2 * PATH_MAX + 512);
    rc = vigie_buf_printf(&b, "{\"ts\":\"%s\",\"seq\":%llu,\"file\":", ts,
                          (unsigned long long)ck->seq);
    if (rc == VIGIE_OK)
        rc = vigie_buf_json_str(&b, base_name(a->path), strlen(base_name(a->path)));
    if (rc == VIGIE_OK)
        rc = vigie_buf_printf(&b, ",\"hash\":\"%s\"", ck->hash);
    if (rc == VIGIE_OK) {
        audit_hmac_hex(a->key, a->keylen, b.data, b.len, mac);
        rc = vigie_buf_printf(&b, ",\"mac\":\"%s\"}\n", mac);
    }
    if (rc != VIGIE_OK) {
        a->st.failures++;
        return;
    }
    pthread_mutex_unlock(&a->mu);
    if (write_all(a->ckpt_fd, b.data, b.len) != 0 || fdatasync(a->ckpt_fd) != 0) {
        /* Cut a partial line off, or the next export would be glued to it
         * and the file would stop verifying. */
        if (ftruncate(a->ckpt_fd, (off_t)a->ckpt_file_size) != 0)
            (void)0;
        rc = VIGIE_ERR_IO;
    } else {
        a->ckpt_file_size += b.len;
    }
    pthread_mutex_lock(&a->mu);
    if (rc != VIGIE_OK)
        a->st.failures++;
    vigie_buf_free(&b);
}

/* Writes a checkpoint record and syncs the log; `seal`: with the lock held
 * (the file is about to be closed), else released. The caller exports *ck
 * afterwards. a->mu held. Returns 0, or -1 and the log broken. */
static int checkpoint(struct audit_log *a, int seal, struct ckpt *ck)
{
    struct vigie_buf f;
    int rc;

    ck->ok = 0;
    vigie_buf_init(&f, 2 * PATH_MAX);
    rc = vigie_buf_printf(&f, "\"head\":\"%s\",\"file\":", a->head);
    if (rc == VIGIE_OK)
        rc = vigie_buf_json_str(&f, base_name(a->path), strlen(base_name(a->path)));
    rc = append_own(a, "checkpoint", rc == VIGIE_OK ? f.data : NULL, f.len);
    vigie_buf_free(&f);
    if (rc != VIGIE_OK)
        return -1;
    ck->seq = a->seq;
    memcpy(ck->hash, a->head, sizeof(ck->hash));
    a->ckpt_seq = a->seq;
    a->ckpt_ms = mono_ms();
    a->st.checkpoints++;
    if ((seal ? sync_locked(a) : sync_unlocked(a)) != 0)
        return -1;
    ck->ok = 1;
    return 0;
}

static int open_log(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

/* Renames the current file to FILE.<UTC time>[-N], never over an existing
 * file. Returns 0 with the new name in a->moved_to, or -1 and errno. */
static int move_aside(struct audit_log *a)
{
    char ts[64], dst[PATH_MAX];
    time_t s = time(NULL);
    struct tm tm;
    int k;

    gmtime_r(&s, &tm);
    snprintf(ts, sizeof(ts), "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    for (k = 0; k < ROTATE_NAMES_MAX; k++) {
        int n = k == 0 ? snprintf(dst, sizeof(dst), "%s.%s", a->path, ts)
                       : snprintf(dst, sizeof(dst), "%s.%s-%d", a->path, ts, k);
        if (n < 0 || (size_t)n >= sizeof(dst)) {
            errno = ENAMETOOLONG;
            return -1;
        }
        /* RENAME_NOREPLACE: two rotations in one second, or a file someone
         * left there, must not be overwritten. Filesystems without it get
         * the check-then-rename, which only another writer could race. */
        if (renameat2(AT_FDCWD, a->path, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
            break;
        if (errno == EEXIST)
            continue;
        if (errno != EINVAL && errno != ENOSYS)
            return -1;
        if (access(dst, F_OK) == 0)
            continue;
        if (rename(a->path, dst) != 0)
            return -1;
        break;
    }
    if (k == ROTATE_NAMES_MAX) {
        errno = EEXIST;
        return -1;
    }
    snprintf(a->moved_to, sizeof(a->moved_to), "%s", dst);
    return 0;
}

/* Moves the current file aside as FILE.<UTC time> and starts a new one whose
 * first record says why (a->mu held). The caller has sealed the old file with
 * a checkpoint, except after a failed fdatasync, where nothing more is written
 * to it. If the rename worked but the new file could not be opened, the next
 * attempt goes on from there (a->moved_to) instead of renaming again. */
static int rotate(struct audit_log *a, const char *reason)
{
    struct vigie_buf f;
    int fd, rc;

    if (a->moved_to[0] == '\0' && move_aside(a) != 0) {
        mark_broken(a, BROKEN_WRITE, errno);
        return -1;
    }
    fd = open_log(a->path);
    if (fd < 0) {
        mark_broken(a, BROKEN_WRITE, errno);
        return -1;
    }
    /* the old file is complete: nothing will be written to it again */
    close(a->fd);
    a->fd = fd;
    a->size = 0;
    a->opened_ms = mono_ms();
    a->st.rotations++;
    vigie_buf_init(&f, 3 * PATH_MAX);
    rc = vigie_buf_printf(&f, "\"reason\":\"%s\",\"file\":", reason);
    if (rc == VIGIE_OK)
        rc = vigie_buf_json_str(&f, base_name(a->path), strlen(base_name(a->path)));
    if (rc == VIGIE_OK)
        rc = vigie_buf_printf(&f, ",\"previous_file\":");
    if (rc == VIGIE_OK)
        rc = vigie_buf_json_str(&f, base_name(a->moved_to), strlen(base_name(a->moved_to)));
    a->moved_to[0] = '\0';
    rc = append_own(a, "segment", rc == VIGIE_OK ? f.data : NULL, f.len);
    vigie_buf_free(&f);
    a->file_records = 0;
    if (rc != VIGIE_OK)
        return -1;
    /* both names (the moved file and the new one) survive a power cut */
    if (sync_dir(a->path) != 0) {
        mark_broken(a, BROKEN_SYNC, errno);
        return -1;
    }
    return 0;
}

/* audit_reopen(): logrotate moved the file (or not); open the name again
 * (a->mu held). A file that was not moved is left as it is. A moved one is
 * sealed with a checkpoint first, like a rotated one. */
static int reopen(struct audit_log *a)
{
    struct vigie_buf f;
    struct stat st, cur;
    struct ckpt ck = {0};
    int fd, rc;

    fd = open_log(a->path);
    if (fd < 0 || fstat(fd, &st) != 0) {
        rc = errno;
        if (fd >= 0)
            close(fd);
        mark_broken(a, BROKEN_WRITE, rc);
        return -1;
    }
    if (fstat(a->fd, &cur) == 0 && cur.st_dev == st.st_dev && cur.st_ino == st.st_ino) {
        close(fd);
        return 0;
    }
    if (checkpoint(a, 1, &ck) != 0) {
        close(fd);
        return -1;
    }
    close(a->fd);
    a->fd = fd;
    a->size = (uint64_t)st.st_size;
    a->opened_ms = mono_ms();
    vigie_buf_init(&f, 2 * PATH_MAX);
    rc = vigie_buf_printf(&f, "\"reason\":\"reopen\",\"file\":");
    if (rc == VIGIE_OK)
        rc = vigie_buf_json_str(&f, base_name(a->path), strlen(base_name(a->path)));
    if (rc == VIGIE_OK)
        rc = vigie_buf_printf(&f, ",\"previous_file\":null");
    rc = append_own(a, "segment", rc == VIGIE_OK ? f.data : NULL, f.len);
    vigie_buf_free(&f);
    a->file_records = 0;
    if (rc == VIGIE_OK && sync_dir(a->path) != 0) {
        mark_broken(a, BROKEN_SYNC, errno);
        rc = VIGIE_ERR_IO;
    }
    export_checkpoint(a, &ck);
    return rc == VIGIE_OK ? 0 : -1;
}

/* The log is broken: try to write again (a->mu held). */
static void recover(struct audit_log *a)
{
    char fields[320];
    /* the error that broke the log, the one "since" dates */
    const char *name = strerrorname_np(a->first_err);
    int kind = atomic_load(&a->broken);

    if (kind == BROKEN_SYNC) {
        /* Never trust a file whose fdatasync failed: continue in a new one. */
        if (rotate(a, "recover") != 0)
            goto again;
    } else if (cut_back(a) != 0) {
        mark_broken(a, BROKEN_WRITE, errno);
        goto again;
    }
    snprintf(fields, sizeof(fields), "\"error\":\"%s\",\"refused\":%llu,\"since\":\"%s\"",
             name != NULL ? name : "EIO", (unsigned long long)atomic_load(&a->refused),
             a->broken_since);
    if (append_own(a, "storage_error", fields, strlen(fields)) != VIGIE_OK)
        goto again;
    if (sync_locked(a) != 0)
        goto again;
    atomic_store(&a->broken, BROKEN_NO);
    return;
again:
    a->retry_ms = mono_ms() + RETRY_MS;
}

static void deadline_add(struct timespec *ts, uint64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000u);
    ts->tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* ms from t until `at`, 0 when it is past */
static uint64_t until(uint64_t at, uint64_t t)
{
    return at > t ? at - t : 0;
}

static uint64_t min_u64(uint64_t x, uint64_t y)
{
    return x < y ? x : y;
}

/* The sync thread: durability window, checkpoints, rotation, reopen and
 * recovery, each when it is due. Every branch that acts goes round again at
 * once, and each one changes what made it due (or breaks the log, which
 * waits RETRY_MS), so the loop never spins; otherwise it sleeps until the
 * next deadline, at most IDLE_WAKE_MS. */
static void *sync_main(void *arg)
{
    struct audit_log *a = arg;

    pthread_mutex_lock(&a->mu);
    while (!a->stop) {
        uint64_t t = mono_ms(), wait = IDLE_WAKE_MS;
        uint64_t rotate_at = a->opened_ms + (uint64_t)a->rotate_interval_s * 1000u;
        /* a file holding only its header records is never rotated: with a
         * tiny rotate_size or an idle gateway, that would never end */
        int has_records = a->file_records > 0;
        struct timespec dl;
        struct ckpt ck;

        if (atomic_load(&a->broken) != BROKEN_NO) {
            if (t >= a->retry_ms) {
                recover(a);
                continue;
            }
            wait = a->retry_ms - t;
        } else if (atomic_load(&a->reopen) != 0) {
            /* kept while the log is broken: done once it works again */
            atomic_store(&a->reopen, 0);
            if (reopen(a) != 0)
                atomic_store(&a->reopen, 1);
            continue;
        } else if (has_records && a->rotate_size > 0 && a->size >= a->rotate_size) {
            if (checkpoint(a, 1, &ck) == 0)
                (void)rotate(a, "rotate-size");
            export_checkpoint(a, &ck);
            continue;
        } else if (has_records && a->rotate_interval_s > 0 && t >= rotate_at) {
            if (checkpoint(a, 1, &ck) == 0)
                (void)rotate(a, "rotate-time");
            export_checkpoint(a, &ck);
            continue;
        } else if (a->seq > a->ckpt_seq && (a->seq - a->ckpt_seq >= a->ckpt_records ||
                                            t - a->ckpt_ms >= a->ckpt_interval_ms)) {
            (void)checkpoint(a, 0, &ck);
            export_checkpoint(a, &ck);
            continue;
        } else if (a->pending > 0 && (a->pending >= a->sync_records ||
                                      t - a->first_pending_ms >= a->sync_interval_ms)) {
            (void)sync_unlocked(a);
            continue;
        } else {
            if (a->pending > 0)
                wait = min_u64(wait, until(a->first_pending_ms + a->sync_interval_ms, t));
            if (a->seq > a->ckpt_seq)
                wait = min_u64(wait, until(a->ckpt_ms + a->ckpt_interval_ms, t));
            if (has_records && a->rotate_interval_s > 0)
                wait = min_u64(wait, until(rotate_at, t));
        }
        deadline_add(&dl, wait > 0 ? wait : 1);
        pthread_cond_timedwait(&a->cv, &a->mu, &dl);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* ---- opening: recovery and the chain's head -------------------------------------- */

/* Reads the u64 after `"key":` in a line; 0 when absent. */
static uint64_t field_u64(const char *line, size_t len, const char *key)
{
    char pat[32];
    const char *p;
    uint64_t v = 0;
    int digits = 0;

    snprintf(pat, sizeof(pat), "\"%s\":", key);
    p = memmem(line, len, pat, strlen(pat));
    if (p == NULL)
        return 0;
    for (p += strlen(pat); p < line + len && *p >= '0' && *p <= '9' && digits < 19; p++) {
        v = v * 10u + (uint64_t)(*p - '0');
        digits++;
    }
    return v;
}

/* Checks that a line ends in ,"mac":"<hex>"} and that the MAC verifies. */
static int line_mac_ok(struct audit_log *a, const char *line, size_t len)
{
    char mac[AUDIT_HASH_HEX + 1];
    size_t tail = MAC_TAIL - 1; /* ,"mac":" + hex + "} */

    if (len < tail + 1 || memcmp(line + len - tail, ",\"mac\":\"", 8) != 0 ||
        memcmp(line + len - 2, "\"}", 2) != 0)
        return 0;
    log_hmac_hex(a, line, len - tail, mac);
    return memcmp(mac, line + len - 2 - AUDIT_HASH_HEX, AUDIT_HASH_HEX) == 0;
}

/* The end of a file the writer appends to: its last whole line, and what
 * follows it (a torn line). */
struct tail {
    char *buf;       /* the bytes read, owned */
    size_t line_off; /* the last whole line in buf, newline excluded */
    size_t line_len; /* 0: no whole line */
    uint64_t keep;   /* the file's size without the torn part */
    uint64_t cut;    /* bytes after the last newline */
};

/* Finds the last line of fd and the torn part after it. The torn part is
 * what a crash leaves: a line written in part, and, after a power cut, the
 * NUL bytes of blocks whose size reached the disk before their data. It may
 * hold any number of NULs but less than a line's worth of anything else;
 * more than that is not a torn record, and is refused rather than cut. */
static int read_tail(int fd, const char *path, struct tail *t, struct vigie_diag *diag)
{
    char blk[4096];
    struct stat st;
    uint64_t size, nz, from;
    size_t want, end, start;

    memset(t, 0, sizeof(*t));
    if (fstat(fd, &st) != 0) {
        vigie_diag_add(diag, path, 0, 0, "cannot stat: %s", strerror(errno));
        return VIGIE_ERR_IO;
    }
    size = (uint64_t)st.st_size;
    /* skip trailing NULs, a block at a time */
    for (nz = size; nz > 0;) {
        size_t n = nz < sizeof(blk) ? (size_t)nz : sizeof(blk), i;
        if (pread_all(fd, blk, n, nz - n) != 0) {
            vigie_diag_add(diag, path, 0, 0, "cannot read: %s", strerror(errno));
            return VIGIE_ERR_IO;
        }
        for (i = n; i > 0 && blk[i - 1] == '\0'; i--)
            ;
        if (i > 0) {
            nz = nz - n + i;
            break;
        }
        nz -= n;
    }
    /* the last line and the non-NUL torn part both fit in 2 lines' worth */
    want = nz < 2u * AUDIT_LINE_MAX ? (size_t)nz : 2u * AUDIT_LINE_MAX;
    from = nz - want;
    t->buf = malloc(want + 1);
    if (t->buf == NULL)
        return VIGIE_ERR_NOMEM;
    if (pread_all(fd, t->buf, want, from) != 0) {
        vigie_diag_add(diag, path, 0, 0, "cannot read: %s", strerror(errno));
        return VIGIE_ERR_IO;
    }
    end = want;
    while (end > 0 && t->buf[end - 1] != '\n')
        end--;
    if (want - end >= AUDIT_LINE_MAX || (end == 0 && from > 0)) {
        vigie_diag_add(diag, path, 0, 0,
                       "the last line is longer than %u bytes: not a record cut by a crash; "
                       "is this an audit log?",
                       AUDIT_LINE_MAX);
        return VIGIE_ERR_PARSE;
    }
    t->keep = from + end;
    t->cut = size - t->keep;
    if (end == 0)
        return VIGIE_OK; /* no whole line: nothing but a torn first one */
    start = end - 1;
    while (start > 0 && t->buf[start - 1] != '\n')
        start--;
    if ((start == 0 && from > 0) || end - 1 - start > AUDIT_LINE_MAX - 1) {
        vigie_diag_add(diag, path, 0, 0, "the last line is longer than %u bytes", AUDIT_LINE_MAX);
        return VIGIE_ERR_PARSE;
    }
    t->line_off = start;
    t->line_len = end - 1 - start;
    return VIGIE_OK;
}

/* Cuts the torn part read_tail found. */
static int cut_tail(int fd, const char *path, const struct tail *t, struct vigie_diag *diag)
{
    if (t->cut == 0)
        return VIGIE_OK;
    if (ftruncate(fd, (off_t)t->keep) != 0 || fsync(fd) != 0) {
        vigie_diag_add(diag, path, 0, 0, "cannot cut the torn last line: %s", strerror(errno));
        return VIGIE_ERR_IO;
    }
    return VIGIE_OK;
}

/* The log's last record gives the chain's head: seq, hash, ts. Its MAC must
 * verify before anything is cut or written. *cut: the torn bytes removed. */
static int open_tail(struct audit_log *a, uint64_t *cut, struct vigie_diag *diag)
{
    struct tail t;
    int rc;

    *cut = 0;
    if ((rc = read_tail(a->fd, a->path, &t, diag)) != VIGIE_OK)
        goto out;
    if (t.line_len > 0) {
        const char *l = t.buf + t.line_off, *p;
        if (!line_mac_ok(a, l, t.line_len)) {
            vigie_diag_add(diag, a->path, 0, 0,
                           "the last record does not verify with this audit key (another key, "
                           "or the file was changed); run vigie verify");
            rc = VIGIE_ERR_CONFIG;
            goto out;
        }
        a->seq = field_u64(l, t.line_len, "seq");
        log_sha256_hex(a, l, t.line_len, a->head);
        p = memmem(l, t.line_len, "\"ts\":\"", 6);
        if (p != NULL)
            a->last_ts_ms = parse_ts(p + 6, t.line_len - (size_t)(p + 6 - l));
    }
    if ((rc = cut_tail(a->fd, a->path, &t, diag)) != VIGIE_OK)
        goto out;
    *cut = t.cut;
    a->size = t.keep;
out:
    free(t.buf);
    return rc;
}

/* The last exported checkpoint: its seq, hash and ts, MAC checked. A torn
 * export (a crash while appending it) is cut: the one before it counts. */
static int open_checkpoints(struct audit_log *a, uint64_t *seq, char *hash, uint64_t *ts_ms,
                            struct vigie_diag *diag)
{
    struct tail t;
    struct stat st;
    int rc, created;

    *seq = 0;
    *ts_ms = 0;
    created = stat(a->ckpt_path, &st) != 0;
    a->ckpt_fd = open(a->ckpt_path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (a->ckpt_fd < 0 || fstat(a->ckpt_fd, &st) != 0) {
        vigie_diag_add(diag, a->ckpt_path, 0, 0, "cannot open the checkpoint file: %s",
                       strerror(errno));
        return VIGIE_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        vigie_diag_add(diag, a->ckpt_path, 0, 0, "the checkpoint file is not a regular file");
        return VIGIE_ERR_CONFIG;
    }
    /* its name, like its lines, must survive a power cut */
    if (created && sync_dir(a->ckpt_path) != 0) {
        vigie_diag_add(diag, a->ckpt_path, 0, 0, "cannot sync its directory: %s", strerror(errno));
        return VIGIE_ERR_IO;
    }
    if ((rc = read_tail(a->ckpt_fd, a->ckpt_path, &t, diag)) != VIGIE_OK)
        goto out;
    if (t.line_len > 0) {
        const char *l = t.buf + t.line_off, *h, *p;
        if (!line_mac_ok(a, l, t.line_len) ||
            (h = memmem(l, t.line_len, ",\"hash\":\"", 9)) == NULL ||
            (size_t)(l + t.line_len - h) < 9 + AUDIT_HASH_HEX) {
            vigie_diag_add(diag, a->ckpt_path, 0, 0,
                           "the last checkpoint does not verify with this audit key");
            rc = VIGIE_ERR_CONFIG;
            goto out;
        }
        *seq = field_u64(l, t.line_len, "seq");
        memcpy(hash, h + 9, AUDIT_HASH_HEX);
        hash[AUDIT_HASH_HEX] = '\0';
        p = memmem(l, t.line_len, "{\"ts\":\"", 7);
        if (p == l)
            *ts_ms = parse_ts(p + 7, t.line_len - 7);
    }
    if ((rc = cut_tail(a->ckpt_fd, a->ckpt_path, &t, diag)) != VIGIE_OK)
        goto out;
    a->ckpt_file_size = t.keep;
out:
    free(t.buf);
    return rc;
}

int audit_open(struct audit_log **out, const struct audit_config *cfg, const char *start_fields,
               struct vigie_diag *diag)
{
    struct audit_log *a;
    char err[256], hash[AUDIT_HASH_HEX + 1];
    uint64_t cut = 0, ck_seq = 0, ck_ts = 0;
    struct vigie_buf f;
    struct stat st;
    int rc, created;

    *out = NULL;
    if (cfg->file == NULL || cfg->key_file == NULL) {
        vigie_diag_add(diag, cfg->file != NULL ? cfg->file : "audit", 0, 0,
                       "an audit log needs a file and a key_file");
        return VIGIE_ERR_CONFIG;
    }
    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return VIGIE_ERR_NOMEM;
    a->magic = AUDIT_MAGIC;
    a->fd = a->ckpt_fd = -1;
    pthread_mutex_init(&a->mu, NULL);
    {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&a->cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    vigie_buf_init(&a->line, AUDIT_LINE_MAX);
    a->path = strdup(cfg->file);
    if (cfg->checkpoint_file != NULL)
        a->ckpt_path = strdup(cfg->checkpoint_file);
    else if (a->path != NULL && asprintf(&a->ckpt_path, "%s.checkpoints", a->path) < 0)
        a->ckpt_path = NULL;
    if (a->path == NULL || a->ckpt_path == NULL) {
        rc = VIGIE_ERR_NOMEM;
        goto fail;
    }
    a->sync_interval_ms = cfg->sync_interval_ms > 0 ? cfg->sync_interval_ms : 1000;
    a->sync_records = cfg->sync_records > 0 ? cfg->sync_records : 1;
    a->ckpt_records = cfg->checkpoint_records > 0 ? cfg->checkpoint_records : 1000;
    a->ckpt_interval_ms = cfg->checkpoint_interval_ms > 0 ? cfg->checkpoint_interval_ms : 60000;
    a->rotate_size = cfg->rotate_size;
    a->rotate_interval_s = cfg->rotate_interval_s;
    atomic_store(&a->fail_open, cfg->fail_open);
    memset(a->head, '0', AUDIT_HASH_HEX);

    if ((rc = audit_key_read(cfg->key_file, &a->key, &a->keylen, err, sizeof(err))) != VIGIE_OK) {
        vigie_diag_add(diag, cfg->key_file, 0, 0, "%s", err);
        goto fail;
    }
    audit_hasher_init(&a->hash, a->key, a->keylen);
    created = stat(a->path, &st) != 0;
    a->fd = open(a->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (a->fd < 0) {
        vigie_diag_add(diag, a->path, 0, 0, "cannot open the audit log: %s", strerror(errno));
        rc = VIGIE_ERR_IO;
        goto fail;
    }
    if (fstat(a->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        vigie_diag_add(diag, a->path, 0, 0, "the audit log is not a regular file");
        rc = VIGIE_ERR_CONFIG;
        goto fail;
    }
    if ((rc = open_tail(a, &cut, diag)) != VIGIE_OK ||
        (rc = open_checkpoints(a, &ck_seq, hash, &ck_ts, diag)) != VIGIE_OK)
        goto fail;
    if (a->seq == 0 && ck_seq > 0) {
        /* A new file (logrotate moved the last one away while we were
         * stopped): the chain goes on from the last exported checkpoint. */
        a->seq = ck_seq;
        memcpy(a->head, hash, sizeof(a->head));
        a->last_ts_ms = ck_ts;
    } else if (ck_seq > a->seq) {
        vigie_diag_add(diag, a->path, 0, 0,
                       "the log ends at record %llu but %s has a checkpoint at record %llu: "
                       "records were removed; run vigie verify, then move the log aside",
                       (unsigned long long)a->seq, a->ckpt_path, (unsigned long long)ck_seq);
        rc = VIGIE_ERR_CONFIG;
        goto fail;
    } else if (ck_seq > 0 && ck_seq == a->seq && memcmp(hash, a->head, AUDIT_HASH_HEX) != 0) {
        vigie_diag_add(diag, a->path, 0, 0,
                       "the last record (seq %llu) is not the record of the checkpoint "
                       "exported at seq %llu in %s: the log was rewritten; run vigie verify",
                       (unsigned long long)a->seq, (unsigned long long)ck_seq, a->ckpt_path);
        rc = VIGIE_ERR_CONFIG;
        goto fail;
    }
    a->opened_ms = a->ckpt_ms = mono_ms();
    a->ckpt_seq = a->seq;

    pthread_mutex_lock(&a->mu);
    rc = VIGIE_OK;
    if (cut > 0) {
        char fields[96];
        snprintf(fields, sizeof(fields), "\"truncated_bytes\":%llu,\"last_seq\":%llu",
                 (unsigned long long)cut, (unsigned long long)a->seq);
        rc = append(a, "recovered", fields, strlen(fields));
    }
    if (rc == VIGIE_OK) {
        char kid[AUDIT_HASH_HEX + 1];
        unsigned char *kk = malloc(a->keylen + 16);
        if (kk == NULL) {
            rc = VIGIE_ERR_NOMEM;
        } else {
            /* The key's id: a hash of a labelled copy, so it says which key
             * without helping anyone guess it. */
            memcpy(kk, "vigie-audit-key:", 16);
            memcpy(kk + 16, a->key, a->keylen);
            audit_sha256_hex(kk, a->keylen + 16, kid);
            vigie_wipe(kk, a->keylen + 16);
            free(kk);
            vigie_buf_init(&f, AUDIT_LINE_MAX);
            if (start_fields != NULL && start_fields[0] != '\0')
                rc = vigie_buf_printf(&f, "%s,", start_fields);
            if (rc == VIGIE_OK)
                rc = vigie_buf_printf(&f, "\"file\":");
            if (rc == VIGIE_OK)
                rc = vigie_buf_json_str(&f, base_name(a->path), strlen(base_name(a->path)));
            if (rc == VIGIE_OK)
                rc = vigie_buf_printf(&f, ",\"key_id\":\"%.16s\",\"genesis\":%s", kid,
                                      a->seq == 0 ? "true" : "false");
            if (rc == VIGIE_OK)
                rc = append(a, "start", f.data, f.len);
            vigie_buf_free(&f);
        }
    }
    if (rc == VIGIE_OK && sync_locked(a) != 0)
        rc = VIGIE_ERR_IO;
    /* a new file's name survives a power cut too */
    if (rc == VIGIE_OK && created && sync_dir(a->path) != 0) {
        a->err_no = errno;
        rc = VIGIE_ERR_IO;
    }
    a->file_records = 0;
    pthread_mutex_unlock(&a->mu);
    if (rc != VIGIE_OK) {
        vigie_diag_add(diag, a->path, 0, 0, "cannot write the audit log: %s",
                       rc == VIGIE_ERR_IO && a->err_no != 0 ? strerror(a->err_no)
                                                            : vigie_strerror(rc));
        goto fail;
    }
    if (pthread_create(&a->thr, NULL, sync_main, a) != 0) {
        rc = VIGIE_ERR_NOMEM;
        goto fail;
    }
    a->thr_started = 1;
    *out = a;
    return VIGIE_OK;
fail:
    audit_close(a, NULL);
    return rc;
}

int audit_write(struct audit_log *a, const char *type, const char *fields, size_t len)
{
    int rc;

    VIGIE_ASSERT(a != NULL && a->magic == AUDIT_MAGIC);
    pthread_mutex_lock(&a->mu);
    if (atomic_load(&a->broken) != BROKEN_NO) {
        pthread_mutex_unlock(&a->mu);
        return VIGIE_ERR_IO;
    }
    rc = append(a, type, fields, len);
    if (rc == VIGIE_OK && a->sync_records <= 1) {
        /* every record synced before the answer: slow, and the strictest */
        if (sync_locked(a) != 0) {
            pthread_cond_signal(&a->cv);
            rc = VIGIE_ERR_IO;
        }
    } else if (rc == VIGIE_OK &&
               (a->pending >= a->sync_records || a->seq - a->ckpt_seq >= a->ckpt_records ||
                (a->rotate_size > 0 && a->size >= a->rotate_size))) {
        pthread_cond_signal(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int audit_usable(struct audit_log *a)
{
    return a == NULL || atomic_load(&a->broken) == BROKEN_NO || atomic_load(&a->fail_open) != 0;
}

void audit_refused(struct audit_log *a)
{
    if (a != NULL)
        atomic_fetch_add(&a->refused, 1);
}

void audit_reopen(struct audit_log *a)
{
    if (a != NULL)
        atomic_store(&a->reopen, 1);
    /* the sync thread sees it within IDLE_WAKE_MS; no condition signal here,
     * it is not async-signal-safe */
}

void audit_set_fail_open(struct audit_log *a, int fail_open)
{
    if (a != NULL)
        atomic_store(&a->fail_open, fail_open);
}

void audit_get_stats(struct audit_log *a, struct audit_stats *st)
{
    VIGIE_ASSERT(a != NULL && a->magic == AUDIT_MAGIC);
    pthread_mutex_lock(&a->mu);
    *st = a->st;
    st->broken = atomic_load(&a->broken) != BROKEN_NO;
    st->refused = atomic_load(&a->refused);
    pthread_mutex_unlock(&a->mu);
}

void audit_close(struct audit_log *a, const char *reason)
{
    if (a == NULL)
        return;
    VIGIE_ASSERT(a->magic == AUDIT_MAGIC);
    if (a->thr_started) {
        pthread_mutex_lock(&a->mu);
        a->stop = 1;
        pthread_cond_signal(&a->cv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->thr, NULL);
    }
    if (reason != NULL && a->fd >= 0 && atomic_load(&a->broken) == BROKEN_NO) {
        char fields[160];
        struct ckpt ck;
        pthread_mutex_lock(&a->mu);
        snprintf(fields, sizeof(fields), "\"reason\":\"%.100s\",\"records\":%llu", reason,
                 (unsigned long long)(a->st.records + 1));
        if (append(a, "stop", fields, strlen(fields)) == VIGIE_OK &&
            checkpoint(a, 1, &ck) == 0) /* the last record: synced, exported */
            export_checkpoint(a, &ck);
        pthread_mutex_unlock(&a->mu);
    }
    if (a->fd >= 0) {
        /* after a failed fdatasync, never again on that file */
        if (a->pending > 0 && atomic_load(&a->broken) != BROKEN_SYNC)
            (void)fdatasync(a->fd);
        close(a->fd);
    }
    if (a->ckpt_fd >= 0)
        close(a->ckpt_fd);
    if (a->key != NULL) {
        vigie_wipe(a->key, a->keylen);
        free(a->key);
    }
    audit_hasher_fini(&a->hash);
    vigie_buf_free(&a->line);
    free(a->path);
    free(a->ckpt_path);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    a->magic = 0;
    free(a);
}
