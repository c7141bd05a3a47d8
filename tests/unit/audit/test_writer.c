/*
 * The audit writer (proxy/audit/writer.c) against the contract of audit.h:
 * the bytes of every line (recomputed here with OpenSSL, not with the
 * writer's helpers), the chain across reopenings, recovery of a torn tail,
 * refusals, checkpoints, rotation, logrotate's reopen, fail-closed on a write
 * error (RLIMIT_FSIZE) and on a failed fdatasync (interposed below), many
 * threads at once, and the sync thread staying idle.
 *
 * fdatasync is interposed: the test binary defines it, so the writer's calls
 * (linked statically) come here. By default it is the system call; a test arms
 * it to fail once for one file and counts every call made on that file later,
 * which must be none ("fsyncgate": a failed fdatasync is never retried).
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "audit_test.h"
#include "test.h"

/* ---- fdatasync, interposed ------------------------------------------------------ */

static atomic_int sync_fail_armed;       /* 1: the next fdatasync on sync_fail_ino fails */
static atomic_ulong sync_fail_ino;       /* the file that failed (0: none) */
static atomic_int sync_calls_after_fail; /* fdatasync calls on that file after it failed */

int fdatasync(int fd)
{
    struct stat st;
    unsigned long ino = fstat(fd, &st) == 0 ? (unsigned long)st.st_ino : 0;

    if (ino != 0 && ino == atomic_load(&sync_fail_ino)) {
        if (atomic_exchange(&sync_fail_armed, 0) != 0) {
            errno = EIO;
            return -1;
        }
        atomic_fetch_add(&sync_calls_after_fail, 1);
    }
    return (int)syscall(SYS_fdatasync, fd);
}

/* ---- helpers -------------------------------------------------------------------- */

static char dir[256];

static void path_in(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static struct audit_log *open_ok(const struct audit_config *c)
{
    struct audit_log *a = NULL;
    struct vigie_diag d;
    int rc;

    vigie_diag_init(&d);
    rc = audit_open(&a, c, T_START_FIELDS, &d);
    if (rc != VIGIE_OK)
        T_FAIL("audit_open: %s: %s", vigie_strerror(rc), d.n > 0 ? d.msgs[0] : "no diag");
    vigie_diag_free(&d);
    return a;
}

/* audit_open must fail with rc; its first diag in msg. */
static int open_refused(const struct audit_config *c, char *msg, size_t msgsz)
{
    struct audit_log *a = NULL;
    struct vigie_diag d;
    int rc;

    vigie_diag_init(&d);
    rc = audit_open(&a, c, T_START_FIELDS, &d);
    snprintf(msg, msgsz, "%s", d.n > 0 ? d.msgs[0] : "");
    vigie_diag_free(&d);
    if (a != NULL) {
        T_FAIL("audit_open accepted what it should refuse");
        audit_close(a, NULL);
    }
    return rc;
}

static void write_n(struct audit_log *a, unsigned from, unsigned n)
{
    char f[64];
    unsigned i;
    if (a == NULL)
        return;
    for (i = from; i < from + n; i++) {
        int k = snprintf(f, sizeof(f), "\"id\":\"r%u\"", i);
        T_EQ_INT(audit_write(a, "exchange", f, (size_t)k), VIGIE_OK);
    }
}

/* The ts of a line ("YYYY-MM-DDTHH:MM:SS.mmmZ"), checked for its form. */
static const char *line_ts(const char *line)
{
    static char ts[25];
    const char *p = strstr(line, ",\"ts\":\"");
    int y, mo, d, h, mi, s, ms, n = 0;

    ts[0] = '\0';
    if (p == NULL || strlen(p) < 7 + 25 || p[7 + 24] != '"')
        return ts;
    memcpy(ts, p + 7, 24);
    ts[24] = '\0';
    if (sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &y, &mo, &d, &h, &mi, &s, &ms, &n) != 7 ||
        n != 24)
        T_FAIL("ts not in the audit.h form: %s", ts);
    return ts;
}

/* Line i of l must be exactly the record (seq, type, fields, prev), MACed
 * with the test key, with whatever well-formed ts it has. Returns the line's
 * hash in hash_out. */
static void expect_line(const struct t_lines *l, size_t i, unsigned long long seq, const char *type,
                        const char *fields, const char *prev, char *hash_out)
{
    char want[4096];
    const char *got = t_line(l, i);

    if (i >= l->count) {
        T_FAIL("line %zu missing (%zu lines)", i + 1, l->count);
        return;
    }
    t_record(want, sizeof(want), seq, line_ts(got), type, fields, prev, t_key, sizeof(t_key) - 1);
    want[strlen(want) - 1] = '\0'; /* the newline */
    T_EQ_STR(got, want);
    if (hash_out != NULL)
        t_sha256(l->p[i], l->n[i], hash_out);
}

static void key_id(char out[17])
{
    char buf[16 + sizeof(t_key)], h[65];
    memcpy(buf, "vigie-audit-key:", 16);
    memcpy(buf + 16, t_key, sizeof(t_key) - 1);
    t_sha256(buf, 16 + sizeof(t_key) - 1, h);
    memcpy(out, h, 16);
    out[16] = '\0';
}

static void start_fields(char *out, size_t n, int genesis)
{
    char kid[17];
    key_id(kid);
    snprintf(out, n, T_START_FIELDS ",\"file\":\"audit.log\",\"key_id\":\"%s\",\"genesis\":%s", kid,
             genesis ? "true" : "false");
}

static void verify_ok(const char *const *files, size_t n, const char *ckpt,
                      struct audit_verify_result *res)
{
    int rc = t_verify(files, n, 1, ckpt, res);
    T_EQ_INT(rc, VIGIE_OK);
    if (!res->ok)
        T_FAIL("verify: %s: %s", res->where, res->why);
}

static void fresh_dir(void)
{
    if (dir[0] != '\0')
        t_rm_tree(dir);
    t_mkdtemp(dir, sizeof(dir));
}

static unsigned long long stats_rotations(struct audit_log *a)
{
    struct audit_stats st;
    audit_get_stats(a, &st);
    return (unsigned long long)st.rotations;
}

/* Rewrites the file with the first n lines of l (a cut at a line boundary). */
static void keep_lines(const char *path, const struct t_lines *l, size_t n)
{
    t_write_file(path, l->buf, n < l->count ? (size_t)(l->p[n] - l->buf) : l->len, 0600);
}

/* ---- 1..3: a fresh log, reopened, then with a torn tail -------------------------- */

static void test_fresh_reopen_torn(void)
{
    struct audit_config c;
    struct audit_log *a;
    struct audit_verify_result res;
    struct audit_stats st;
    struct t_lines l, ck;
    char p[512], ckp[512], h[65], prev[65], f[512], want[1024], mac[65];
    const char *files[1];
    unsigned i;
    struct stat sb;

    fresh_dir();
    t_cfg(&c, dir);
    path_in(p, sizeof(p), "audit.log");
    path_in(ckp, sizeof(ckp), "audit.log.checkpoints");
    files[0] = p;

    /* 1. fresh: start (genesis), 5 exchanges, stop, checkpoint */
    a = open_ok(&c);
    if (a == NULL)
        return;
    write_n(a, 0, 5);
    audit_get_stats(a, &st);
    T_EQ_INT(st.records, 6);
    T_EQ_INT(st.last_seq, 6);
    T_EQ_INT(st.broken, 0);
    audit_close(a, "sigterm");

    T_EQ_INT(stat(p, &sb), 0);
    T_EQ_INT(sb.st_mode & 0777, 0600);
    T_EQ_INT(stat(ckp, &sb), 0);
    T_EQ_INT(sb.st_mode & 0777, 0600);
    T_EQ_INT(t_lines_read(p, &l), 0);
    T_EQ_INT(l.count, 8);
    T_EQ_INT(l.torn, 0);
    start_fields(f, sizeof(f), 1);
    expect_line(&l, 0, 1, "start", f, T_ZERO64, prev);
    for (i = 0; i < 5; i++) {
        snprintf(f, sizeof(f), "\"id\":\"r%u\"", i);
        expect_line(&l, 1 + i, 2 + i, "exchange", f, prev, h);
        memcpy(prev, h, sizeof(prev));
    }
    expect_line(&l, 6, 7, "stop", "\"reason\":\"sigterm\",\"records\":7", prev, h);
    memcpy(prev, h, sizeof(prev));
    snprintf(f, sizeof(f), "\"head\":\"%s\",\"file\":\"audit.log\"", prev);
    expect_line(&l, 7, 8, "checkpoint", f, prev, h);
    /* ts never goes back along the chain */
    for (i = 1; i < l.count; i++) {
        char t0[25];
        snprintf(t0, sizeof(t0), "%s", line_ts(t_line(&l, i - 1)));
        T_ASSERT(strcmp(t0, line_ts(t_line(&l, i))) <= 0);
    }
    /* the exported checkpoint: its ts, seq 8, the file, the hash of line 8 */
    T_EQ_INT(t_lines_read(ckp, &ck), 0);
    T_EQ_INT(ck.count, 1);
    {
        const char *got = t_line(&ck, 0);
        int n = snprintf(want, sizeof(want),
                         "{\"ts\":\"%.24s\",\"seq\":8,\"file\":\"audit.log\",\"hash\":\"%s\"",
                         strlen(got) > 7 + 24 ? got + 7 : "", h);
        t_hmac(t_key, sizeof(t_key) - 1, want, (size_t)n, mac);
        snprintf(want + n, sizeof(want) - (size_t)n, ",\"mac\":\"%s\"}", mac);
        T_EQ_STR(got, want);
    }
    t_lines_free(&ck);
    t_lines_free(&l);
    verify_ok(files, 1, ckp, &res);
    T_EQ_INT(res.records, 8);
    T_EQ_INT(res.files, 1);
    T_EQ_INT(res.first_seq, 1);
    T_EQ_INT(res.last_seq, 8);
    T_EQ_INT(res.clean_end, 1);
    T_EQ_INT(res.checkpoints_exported, 1);
    T_EQ_INT(res.checkpoints_found, 1);

    /* 2. reopened: the chain goes on from the last line */
    a = open_ok(&c);
    if (a == NULL)
        return;
    write_n(a, 5, 2);
    audit_close(a, "sigterm");
    T_EQ_INT(t_lines_read(p, &l), 0);
    T_EQ_INT(l.count, 13);
    t_sha256(l.p[7], l.n[7], prev);
    start_fields(f, sizeof(f), 0);
    expect_line(&l, 8, 9, "start", f, prev, h);
    expect_line(&l, 9, 10, "exchange", "\"id\":\"r5\"", h, h);
    expect_line(&l, 10, 11, "exchange", "\"id\":\"r6\"", h, h);
    expect_line(&l, 11, 12, "stop", "\"reason\":\"sigterm\",\"records\":4", h, prev);
    snprintf(f, sizeof(f), "\"head\":\"%s\",\"file\":\"audit.log\"", prev);
    expect_line(&l, 12, 13, "checkpoint", f, prev, h);
    t_lines_free(&l);
    verify_ok(files, 1, ckp, &res);
    T_EQ_INT(res.records, 13);
    T_EQ_INT(res.checkpoints_exported, 2);
    T_EQ_INT(res.checkpoints_found, 2);
    T_EQ_INT(res.clean_end, 1);

    /* 3. a torn tail: a partial line without its newline is cut and said */
    {
        static const char torn[] = "{\"v\":1,\"seq\":14,\"ts\":\"20";
        t_append_file(p, torn, sizeof(torn) - 1);
        a = open_ok(&c);
        if (a == NULL)
            return;
        audit_close(a, "sigterm");
        T_EQ_INT(t_lines_read(p, &l), 0);
        T_EQ_INT(l.count, 17);
        t_sha256(l.p[12], l.n[12], prev);
        snprintf(f, sizeof(f), "\"truncated_bytes\":%zu,\"last_seq\":13", sizeof(torn) - 1);
        expect_line(&l, 13, 14, "recovered", f, prev, h);
        start_fields(f, sizeof(f), 0);
        expect_line(&l, 14, 15, "start", f, h, h);
        t_lines_free(&l);
        verify_ok(files, 1, ckp, &res);
        T_EQ_INT(res.records, 17);
    }
    /* ... and the zeros a power cut can leave after the last line (the size
     * reached the disk, the data did not), even more than a line's worth */
    {
        static char zeros[3 * AUDIT_LINE_MAX];
        t_append_file(p, zeros, sizeof(zeros));
        a = open_ok(&c);
        if (a == NULL)
            return;
        audit_close(a, "sigterm");
        T_EQ_INT(t_lines_read(p, &l), 0);
        T_EQ_INT(l.count, 21);
        t_sha256(l.p[16], l.n[16], prev);
        snprintf(f, sizeof(f), "\"truncated_bytes\":%zu,\"last_seq\":17", sizeof(zeros));
        expect_line(&l, 17, 18, "recovered", f, prev, NULL);
        t_lines_free(&l);
        verify_ok(files, 1, ckp, &res);
        T_EQ_INT(res.records, 21);
        T_EQ_INT(res.checkpoints_found, 4);
    }
    /* ... but a long tail of something else than a torn record is not cut
     * away: the file is not ours, or not only ours */
    {
        static char junk[3 * AUDIT_LINE_MAX];
        long long before;
        memset(junk, 'x', sizeof(junk));
        t_append_file(p, junk, sizeof(junk));
        before = t_file_size(p);
        T_EQ_INT(open_refused(&c, f, sizeof(f)), VIGIE_ERR_PARSE);
        T_CONTAINS(f, "longer than");
        T_EQ_INT(t_file_size(p), before);
    }
    audit_config_fini(&c);
}

/* A crash while a checkpoint was exported leaves a partial line in the
 * checkpoint file: cut at the next start, so that the next export is not
 * glued to it. */
static void test_torn_export(void)
{
    struct audit_config c;
    struct audit_log *a;
    struct audit_verify_result res;
    struct t_lines ck;
    char p[512], ckp[512];
    const char *files[1];

    fresh_dir();
    t_cfg(&c, dir);
    path_in(p, sizeof(p), "audit.log");
    path_in(ckp, sizeof(ckp), "audit.log.checkpoints");
    files[0] = p;
    a = open_ok(&c);
    write_n(a, 0, 2);
    audit_close(a, "sigterm");
    {
        static const char torn[] = "{\"ts\":\"2026-11-26T21:00:00.000Z\",\"seq\":9";
        t_append_file(ckp, torn, sizeof(torn) - 1);
    }
    /* verify ignores a torn last export */
    T_EQ_INT(t_verify(files, 1, 1, ckp, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 1);
    T_EQ_INT(res.checkpoints_exported, 1);
    a = open_ok(&c);
    write_n(a, 2, 2);
    audit_close(a, "sigterm");
    T_EQ_INT(t_lines_read(ckp, &ck), 0);
    T_EQ_INT(ck.count, 2);
    T_EQ_INT(ck.torn, 0);
    T_CONTAINS(t_line(&ck, 1), "{\"ts\":\"");
    T_CONTAINS(t_line(&ck, 1), "\",\"seq\":10,\"file\":\"audit.log\",\"hash\":\"");
    t_lines_free(&ck);
    verify_ok(files, 1, ckp, &res);
    T_EQ_INT(res.checkpoints_exported, 2);
    T_EQ_INT(res.checkpoints_found, 2);
    audit_config_fini(&c);
}

/* ---- 4: refusals ---------------------------------------------------------------- */

static void test_refusals(void)
{
    struct audit_config c;
    struct audit_log *a;
    char msg[512], kp[512], p[512];
    long long size;

    fresh_dir();
    t_cfg(&c, dir);
    path_in(p, sizeof(p), "audit.log");
    path_in(kp, sizeof(kp), "audit.key");
    a = open_ok(&c);
    if (a == NULL)
        return;
    write_n(a, 0, 3);
    audit_close(a, "sigterm");
    size = t_file_size(p);

    /* another key: the last record does not verify */
    t_write_file(kp, "another-key-of-the-right-size!!", 31, 0600);
    T_EQ_INT(open_refused(&c, msg, sizeof(msg)), VIGIE_ERR_CONFIG);
    T_CONTAINS(msg, "does not verify with this audit key");
    T_EQ_INT(t_file_size(p), size);

    /* the right key, readable by others */
    t_write_file(kp, t_key, sizeof(t_key) - 1, 0644);
    T_EQ_INT(open_refused(&c, msg, sizeof(msg)), VIGIE_ERR_CONFIG);
    T_CONTAINS(msg, "can be read by group or others (mode 644)");
    t_write_file(kp, t_key, sizeof(t_key) - 1, 0640);
    T_EQ_INT(open_refused(&c, msg, sizeof(msg)), VIGIE_ERR_CONFIG);
    T_CONTAINS(msg, "mode 640");

    /* too short, too long, missing, a directory */
    t_write_file(kp, t_key, AUDIT_KEY_MIN - 1, 0600);
    T_EQ_INT(open_refused(&c, msg, sizeof(msg)), VIGIE_ERR_CONFIG);
    T_CONTAINS(msg, "16 bytes or more");
    {
        static char big[4097];
        memset(big, 'k', sizeof(big));
        t_write_file(kp, big, sizeof(big), 0600);
        T_ASSERT(open_refused(&c, msg, sizeof(msg)) != VIGIE_OK);
        T_CONTAINS(msg, "4096");
    }
    unlink(kp);
    T_EQ_INT(open_refused(&c, msg, sizeof(msg)), VIGIE_ERR_IO);
    T_CONTAINS(msg, "No such file");
    T_EQ_INT(mkdir(kp, 0700), 0);
    T_ASSERT(open_refused(&c, msg, sizeof(msg)) != VIGIE_OK);
    T_CONTAINS(msg, "not a regular file");
    rmdir(kp);
    T_EQ_INT(t_file_size(p), size);

    /* no file or no key configured */
    {
        struct audit_config c2;
        audit_config_defaults(&c2);
        c2.file = strdup(p);
        T_EQ_INT(open_refused(&c2, msg, sizeof(msg)), VIGIE_ERR_CONFIG);
        T_CONTAINS(msg, "needs a file and a key_file");
        audit_config_fini(&c2);
    }
    /* back to the right key: accepted again */
    t_write_file(kp, t_key, sizeof(t_key) - 1, 0600);
    a = open_ok(&c);
    audit_close(a, "sigterm");
    audit_config_fini(&c);
}

/* ---- 5: checkpoints ahead of the log; truncation after the last one -------------- */

static void test_checkpoint_ahead(void)
{
    struct audit_config c;
    struct audit_log *a;
    struct audit_verify_result res;
    struct t_lines l;
    char p[512], ckp[512], msg[512], save[512];
    const char *files[1];
    pid_t pid;
    int status;

    fresh_dir();
    t_cfg(&c, dir);
    path_in(p, sizeof(p), "audit.log");
    path_in(ckp, sizeof(ckp), "audit.log.checkpoints");
    path_in(save, sizeof(save), "audit.log.save");
    files[0] = p;
    /* two runs: checkpoints exported at seq 6 and seq 12 */
    a = open_ok(&c);
    write_n(a, 0, 3);
    audit_close(a, "sigterm");
    a = open_ok(&c);
    write_n(a, 3, 3);
    audit_close(a, "sigterm");
    T_EQ_INT(t_lines_read(p, &l), 0);
    T_EQ_INT(l.count, 12);

    /* cut at a line boundary before the last checkpoint (9 lines left) */
    keep_lines(p, &l, 9);
    T_EQ_INT(open_refused(&c, msg, sizeof(msg)), VIGIE_ERR_CONFIG);
    T_CONTAINS(msg, "the log ends at record 9 but");
    T_CONTAINS(msg, "has a checkpoint at record 12: records were removed");
    T_EQ_INT(t_verify(files, 1, 1, ckp, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 0);
    T_CONTAINS(res.why, "the logs end at seq 9 but a checkpoint was exported at seq 12: "
                        "records were removed from the end");
    T_EQ_INT(res.records, 9);
    /* without the checkpoints, nothing shows it: the reason they are exported */
    T_EQ_INT(t_verify(files, 1, 1, NULL, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 1);
    T_EQ_INT(res.clean_end, 0);

    /* the last checkpoint's seq with another record there: refused too */
    {
        char line[1024], prevh[65];
        size_t n;
        t_write_file(p, l.buf, (size_t)(l.p[11] - l.buf), 0600);
        t_sha256(l.p[10], l.n[10], prevh);
        n = t_record(line, sizeof(line), 12, line_ts(t_line(&l, 11)), "exchange",
                     "\"id\":\"forged\"", prevh, t_key, sizeof(t_key) - 1);
        t_append_file(p, line, n);
        T_EQ_INT(open_refused(&c, msg, sizeof(msg)), VIGIE_ERR_CONFIG);
        T_CONTAINS(msg, "is not the record of the checkpoint");
        T_EQ_INT(t_verify(files, 1, 1, ckp, &res), VIGIE_OK);
        T_EQ_INT(res.ok, 0);
        T_CONTAINS(res.where, ":12 (seq 12)");
        T_CONTAINS(res.why, "the exported checkpoint for seq 12 names another record");
    }
    /* put back the whole log */
    T_EQ_INT(truncate(p, 0), 0);
    t_append_file(p, l.buf, l.len);
    t_lines_free(&l);

    /* records after the last checkpoint, then a crash: a child writes 3 and
     * dies without closing (no stop, no checkpoint) */
    pid = fork();
    if (pid == 0) {
        struct vigie_diag d;
        struct audit_log *b = NULL;
        vigie_diag_init(&d);
        if (audit_open(&b, &c, T_START_FIELDS, &d) != VIGIE_OK)
            _exit(3);
        for (int i = 0; i < 3; i++)
            if (audit_write(b, "exchange", "\"id\":\"late\"", 11) != VIGIE_OK)
                _exit(4);
        _exit(0);
    }
    T_EQ_INT(waitpid(pid, &status, 0), pid);
    T_EQ_INT(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
    T_EQ_INT(t_lines_read(p, &l), 0);
    T_EQ_INT(l.count, 16);
    T_EQ_INT(t_verify(files, 1, 1, ckp, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 1);
    T_EQ_INT(res.records, 16);
    T_EQ_INT(res.clean_end, 0);
    /* The documented limit: cutting records written after the last exported
     * checkpoint (here 13..16 -> 13) cannot be seen, by verify or by open. */
    keep_lines(p, &l, 13);
    T_EQ_INT(t_verify(files, 1, 1, ckp, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 1);
    T_EQ_INT(res.records, 13);
    T_EQ_INT(res.checkpoints_found, 2);
    /* down to the checkpoint itself: still not seen */
    keep_lines(p, &l, 12);
    T_EQ_INT(t_verify(files, 1, 1, ckp, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 1);
    /* one more line, and the checkpoint is missing */
    keep_lines(p, &l, 11);
    T_EQ_INT(t_verify(files, 1, 1, ckp, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 0);
    /* put it back, open: the chain goes on from seq 13 */
    keep_lines(p, &l, 13);
    a = open_ok(&c);
    audit_close(a, "sigterm");
    T_EQ_INT(t_verify(files, 1, 1, ckp, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 1);
    T_EQ_INT(res.records, 16);
    t_lines_free(&l);

    /* a log moved away while stopped: the new file continues the chain from
     * the last exported checkpoint (seq 16), and both verify together */
    T_EQ_INT(rename(p, save), 0);
    a = open_ok(&c);
    write_n(a, 100, 1);
    audit_close(a, "sigterm");
    T_EQ_INT(t_lines_read(p, &l), 0);
    T_EQ_INT(l.count, 4);
    T_CONTAINS(t_line(&l, 0), "{\"v\":1,\"seq\":17,");
    T_CONTAINS(t_line(&l, 0), "\"genesis\":false");
    t_lines_free(&l);
    {
        const char *both[2] = {p, save};
        T_EQ_INT(t_verify(both, 2, 1, ckp, &res), VIGIE_OK);
        T_EQ_INT(res.ok, 1);
        T_EQ_INT(res.records, 20);
        T_EQ_INT(res.files, 2);
        T_EQ_INT(res.checkpoints_found, 4);
    }
    audit_config_fini(&c);
}

/* ---- a power cut: the log cut anywhere after its last sync ----------------------- */

/* What survives a power cut is the log up to some byte at or after its last
 * fdatasync, maybe followed by NULs (a size that reached the disk before
 * the data). The exported checkpoint was synced after the log, so the cut is
 * never before it. Every such cut must open (recovered, when a line was
 * torn), and verify. */
static void test_power_cut(void)
{
    struct audit_config c;
    struct audit_log *a;
    struct audit_verify_result res;
    struct t_lines l;
    char p[512], ckp[512], *log_bytes, *ck_bytes;
    const char *files[1];
    size_t log_len, ck_len, synced, i;
    unsigned long long r = 88172645463325252ull;
    static char zeros[8192];
    pid_t pid;
    int status;

    fresh_dir();
    t_cfg(&c, dir);
    path_in(p, sizeof(p), "audit.log");
    path_in(ckp, sizeof(ckp), "audit.log.checkpoints");
    files[0] = p;
    a = open_ok(&c);
    write_n(a, 0, 3);
    audit_close(a, "sigterm");
    pid = fork();
    if (pid == 0) { /* 20 more records, then the process dies */
        struct audit_log *b = NULL;
        struct vigie_diag d;
        vigie_diag_init(&d);
        if (audit_open(&b, &c, T_START_FIELDS, &d) != VIGIE_OK)
            _exit(3);
        for (i = 0; i < 20; i++)
            if (audit_write(b, "exchange", "\"id\":\"late\"", 11) != VIGIE_OK)
                _exit(4);
        _exit(0);
    }
    T_EQ_INT(waitpid(pid, &status, 0), pid);
    T_EQ_INT(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
    T_EQ_INT(t_lines_read(p, &l), 0);
    T_EQ_INT(l.count, 6 + 21);
    synced = (size_t)(l.p[6] - l.buf); /* after the exported checkpoint */
    log_bytes = t_read_all(p, &log_len);
    ck_bytes = t_read_all(ckp, &ck_len);
    for (i = 0; i < 40 && log_bytes != NULL && ck_bytes != NULL; i++) {
        size_t cut, torn, nz = i % 2 ? (size_t)(r % sizeof(zeros)) + 1 : 0;
        struct t_lines after;
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        cut = synced + (size_t)(r % (log_len - synced + 1));
        for (torn = 0; cut - torn > synced && log_bytes[cut - torn - 1] != '\n'; torn++)
            ;
        t_write_file(p, log_bytes, cut, 0600);
        if (nz > 0)
            t_append_file(p, zeros, nz);
        t_write_file(ckp, ck_bytes, ck_len, 0600);
        a = open_ok(&c);
        if (a == NULL)
            break;
        audit_close(a, "sigterm");
        T_EQ_INT(t_lines_read(p, &after), 0);
        if (torn + nz > 0) {
            char want[128];
            snprintf(want, sizeof(want), "\"type\":\"recovered\",\"truncated_bytes\":%zu,",
                     torn + nz);
            T_CONTAINS(t_line(&after, after.count - 4), want);
        } else {
            T_CONTAINS(t_line(&after, after.count - 3), "\"type\":\"start\"");
        }
        t_lines_free(&after);
        verify_ok(files, 1, ckp, &res);
    }
    free(log_bytes);
    free(ck_bytes);
    t_lines_free(&l);
    audit_config_fini(&c);
}

/* ---- lines at and over AUDIT_LINE_MAX ------------------------------------------- */

static void test_line_max(void)
{
    struct audit_config c;
    struct audit_log *a;
    struct audit_verify_result res;
    struct audit_stats st;
    struct t_lines l;
    char p[512], ckp[512];
    const char *files[1];
    static char f[AUDIT_LINE_MAX + 16];
    size_t fixed, room;
    long long size;

    fresh_dir();
    t_cfg(&c, dir);
    path_in(p, sizeof(p), "audit.log");
    path_in(ckp, sizeof(ckp), "audit.log.checkpoints");
    files[0] = p;
    a = open_ok(&c);
    if (a == NULL)
        return;
    audit_get_stats(a, &st);
    /* a line is {"v":1,"seq":2,"ts":"<24>","type":"exchange",FIELDS,"prev":"<64>",
     * "mac":"<64>"}\n: fixed bytes around FIELDS, then the room left for them */
    fixed =
        strlen("{\"v\":1,\"seq\":2,\"ts\":\"2026-01-01T00:00:00.000Z\",\"type\":\"exchange\",") +
        strlen(",\"prev\":\"\",\"mac\":\"\"}\n") + 2 * AUDIT_HASH_HEX;
    room = AUDIT_LINE_MAX - fixed;
    /* "p":"xxx": the largest record that fits exactly */
    memcpy(f, "\"p\":\"", 5);
    memset(f + 5, 'x', room - 6);
    f[room - 1] = '"';
    size = t_file_size(p);
    /* one byte more: refused, nothing written, the log not broken */
    {
        static char g[AUDIT_LINE_MAX + 16];
        memcpy(g, f, room - 1);
        g[room - 1] = 'x';
        g[room] = '"';
        T_EQ_INT(audit_write(a, "exchange", g, room + 1), VIGIE_ERR_TOO_BIG);
        T_EQ_INT(t_file_size(p), size);
        T_EQ_INT(audit_usable(a), 1);
        /* far too big: also refused cleanly (it once wrote a line without its head) */
        memset(g, 'y', sizeof(g));
        T_EQ_INT(audit_write(a, "exchange", g, sizeof(g)), VIGIE_ERR_TOO_BIG);
        T_EQ_INT(t_file_size(p), size);
    }
    T_EQ_INT(audit_write(a, "exchange", f, room), VIGIE_OK);
    T_EQ_INT(t_file_size(p), size + (long long)AUDIT_LINE_MAX);
    write_n(a, 0, 1);
    audit_close(a, "sigterm");
    T_EQ_INT(t_lines_read(p, &l), 0);
    T_EQ_INT(l.count, 5);
    T_EQ_INT(l.n[1], AUDIT_LINE_MAX - 1);
    t_lines_free(&l);
    verify_ok(files, 1, ckp, &res);
    T_EQ_INT(res.records, 5);
    audit_config_fini(&c);
}

/* ---- ts never goes back, even when the clock does -------------------------------- */

static void test_ts_monotonic(void)
{
    struct audit_config c;
    struct audit_log *a;
    struct audit_verify_result res;
    struct t_lines l;
    char p[512], line[1024], future[64];
    const char *files[1];
    size_t n, i;

    fresh_dir();
    t_cfg(&c, dir);
    path_in(p, sizeof(p), "audit.log");
    files[0] = p;
    /* the last record was written an hour "later" than now: as if the clock
     * had been set back since */
    t_ts_now(future, sizeof(future), 3600 * 1000);
    n = t_record(line, sizeof(line), 1, future, "exchange", "\"id\":\"x\"", T_ZERO64, t_key,
                 sizeof(t_key) - 1);
    t_write_file(p, line, n, 0600);
    a = open_ok(&c);
    if (a == NULL)
        return;
    write_n(a, 0, 3);
    audit_close(a, "sigterm");
    T_EQ_INT(t_lines_read(p, &l), 0);
    T_EQ_INT(l.count, 7);
    for (i = 1; i < l.count; i++)
        T_EQ_STR(line_ts(t_line(&l, i)), future);
    t_lines_free(&l);
    verify_ok(files, 1, NULL, &res);
    T_EQ_INT(res.records, 7);
    audit_config_fini(&c);
}

/* ---- 7: rotation by size, by time, and logrotate's reopen ------------------------ */

/* Every file of the log in dir, in readdir order (verify sorts them). */
static size_t log_files(char files[][512], size_t max)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    while (d != NULL && n < max && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "audit.log", 9) != 0 || strstr(e->d_name, "checkpoints") != NULL)
            continue;
        snprintf(files[n++], 512, "%.250s/%.250s", dir, e->d_name);
    }
    if (d != NULL)
        closedir(d);
    return n;
}

static void test_rotate_size(void)
{
    struct audit_config c;
    struct audit_log *a;
    struct audit_verify_result res;
    static char names[64][512];
    const char *files[64];
    char ckp[512];
    size_t n, i, segments = 0;
    unsigned k;

    fresh_dir();
    t_cfg(&c, dir);
    path_in(ckp, sizeof(ckp), "audit.log.checkpoints");
    c.rotate_size = 1; /* smaller than any record: one rotation per record at most */
    a = open_ok(&c);
    if (a == NULL)
        return;
    /* many rotations within one second: names must not collide */
    for (k = 0; k < 6; k++) {
        unsigned long long r = stats_rotations(a);
        int waited;
        write_n(a, k, 1);
        for (waited = 0; waited < 2000 && stats_rotations(a) == r; waited += 5)
            t_sleep_ms(5);
        T_EQ_INT(stats_rotations(a), r + 1);
    }
    /* idle: a file holding only its segment record is not rotated again */
    t_sleep_ms(50);
    T_EQ_INT(stats_rotations(a), 6);
    audit_close(a, "sigterm");
    n = log_files(names, 64);
    T_EQ_INT(n, 7);
    for (i = 0; i < n; i++) {
        struct t_lines l;
        files[i] = names[i];
        T_EQ_INT(t_lines_read(names[i], &l), 0);
        if (strstr(t_line(&l, 0), "\"type\":\"segment\",\"reason\":\"rotate-size\","
                                  "\"file\":\"audit.log\",\"previous_file\":\"audit.log.") != NULL)
            segments++;
        /* every file but the active one: segment or start, the exchange, and
         * a checkpoint at its end */
        if (strcmp(names[i] + strlen(dir), "/audit.log") != 0) {
            T_EQ_INT(l.count, 3);
            T_CONTAINS(t_line(&l, l.count - 1), "\"type\":\"checkpoint\"");
        }
        t_lines_free(&l);
    }
    T_EQ_INT(segments, 6);
    verify_ok(files, n, ckp, &res);
    T_EQ_INT(res.files, 7);
    T_EQ_INT(res.records, 1 + 6 * 3 + 2);
    T_EQ_INT(res.checkpoints_exported, 7);
    T_EQ_INT(res.checkpoints_found, 7);
    T_EQ_INT(res.clean_end, 1);
    audit_config_fini(&c);
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_rotate_time_and_idle(void)
{
    struct audit_config c;
    struct audit_log *a;
    struct audit_verify_result res;
    static char names[16][512];
    const char *files[16];
    char p[512], ckp[512];
    double cpu0, cpu, t0;
    size_t n, i;
    int waited;

    fresh_dir();
    t_cfg(&c, dir);
    path_in(p, sizeof(p), "audit.log");
    path_in(ckp, sizeof(ckp), "audit.log.checkpoints");
    c.rotate_interval_s = 1;
    t0 = mono_s();
    a = open_ok(&c);
    if (a == NULL)
        return;
    write_n(a, 0, 2);
    cpu0 = cpu_s();
    for (waited = 0; waited < 3000 && stats_rotations(a) == 0; waited += 20)
        t_sleep_ms(20);
    T_EQ_INT(stats_rotations(a), 1);
    /* not before its time: the file was opened after t0 */
    if (mono_s() - t0 < 0.99)
        T_FAIL("rotated after %.3f s", mono_s() - t0);
    /* nothing written since: no rotation of a file holding only its header,
     * and the sync thread sleeps (no busy loop) */
    t_sleep_ms(1300);
    cpu = cpu_s() - cpu0;
    T_EQ_INT(stats_rotations(a), 1);
    if (cpu > 0.05)
        T_FAIL("%.3f s of CPU in 2.3 s of an idle log", cpu);
    printf("idle log: %.1f ms of CPU over %.1f s\n", cpu * 1e3, (waited + 1300) / 1e3);
    write_n(a, 2, 1);
    audit_close(a, "sigterm");
    n = log_files(names, 16);
    T_EQ_INT(n, 2);
    for (i = 0; i < n; i++)
        files[i] = names[i];
    {
        struct t_lines l;
        T_EQ_INT(t_lines_read(p, &l), 0);
        T_CONTAINS(t_line(&l, 0), "\"type\":\"segment\",\"reason\":\"rotate-time\"");
        T_EQ_INT(l.count, 4);
        t_lines_free(&l);
    }
    verify_ok(files, n, ckp, &res);
    T_EQ_INT(res.records, 1 + 2 + 1 + 1 + 1 + 2);
    audit_config_fini(&c);
}

static void test_reopen_logrotate(void)
{
    struct audit_config c;
    struct audit_log *a;
    struct audit_verify_result res;
    struct t_lines l;
    char p[512], moved[512], ckp[512];
    int waited;

    fresh_dir();
    t_cfg(&c, dir);
    path_in(p, sizeof(p), "audit.log");
    path_in(moved, sizeof(moved), "audit.log.1");
    path_in(ckp, sizeof(ckp), "audit.log.checkpoints");
    a = open_ok(&c);
    if (a == NULL)
        return;
    write_n(a, 0, 3);
    /* a reopen with the file where it was: nothing to do, nothing written */
    audit_reopen(a);
    t_sleep_ms(1200);
    T_EQ_INT(t_lines_read(p, &l), 0);
    T_EQ_INT(l.count, 4);
    t_lines_free(&l);
    /* logrotate: rename, then the signal; records written in between still go
     * to the moved file */
    T_EQ_INT(rename(p, moved), 0);
    write_n(a, 3, 2);
    audit_reopen(a);
    /* the new file exists as soon as it is opened, and has its first record
     * once the moved one is sealed (an fdatasync) */
    for (waited = 0; waited < 3000 && t_file_size(p) <= 0; waited += 20)
        t_sleep_ms(20);
    T_ASSERT(t_file_size(p) > 0);
    write_n(a, 5, 2);
    audit_close(a, "sigterm");
    T_EQ_INT(t_lines_read(moved, &l), 0);
    /* start, 5 exchanges, the checkpoint that closed it */
    T_EQ_INT(l.count, 7);
    T_CONTAINS(t_line(&l, 6), "\"type\":\"checkpoint\"");
    t_lines_free(&l);
    T_EQ_INT(t_lines_read(p, &l), 0);
    T_EQ_INT(l.count, 5);
    T_CONTAINS(t_line(&l, 0), "\"seq\":8,");
    T_CONTAINS(t_line(&l, 0), "\"type\":\"segment\",\"reason\":\"reopen\",\"file\":"
                              "\"audit.log\",\"previous_file\":null,");
    t_lines_free(&l);
    {
        const char *f1[2] = {p, moved}, *f2[2] = {moved, p};
        verify_ok(f1, 2, ckp, &res);
        T_EQ_INT(res.records, 12);
        verify_ok(f2, 2, ckp, &res);
        T_EQ_INT(res.records, 12);
        T_EQ_INT(res.checkpoints_found, 2);
    }
    audit_config_fini(&c);
}

/* ---- 8: a write error: fail closed, then a storage_error record ------------------ */

static void test_write_failure(void)
{
    struct audit_config c;
    struct audit_log *a;
    struct audit_verify_result res;
    struct audit_stats st;
    struct t_lines l;
    struct rlimit old, lim;
    char p[512], ckp[512], msg[256];
    const char *files[1];
    long long size;
    int waited, i;

    fresh_dir();
    t_cfg(&c, dir);
    path_in(p, sizeof(p), "audit.log");
    path_in(ckp, sizeof(ckp), "audit.log.checkpoints");
    files[0] = p;
    a = open_ok(&c);
    if (a == NULL)
        return;
    write_n(a, 0, 3);
    size = t_file_size(p);
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)size + 40; /* a part of the next line fits */
    T_EQ_INT(setrlimit(RLIMIT_FSIZE, &lim), 0);

    T_EQ_INT(audit_write(a, "exchange", "\"id\":\"refused\"", 14), VIGIE_ERR_IO);
    /* cut back: the file still ends with a whole line */
    T_EQ_INT(t_file_size(p), size);
    T_EQ_INT(audit_usable(a), 0);
    audit_set_fail_open(a, 1);
    T_EQ_INT(audit_usable(a), 1);
    audit_set_fail_open(a, 0);
    T_EQ_INT(audit_usable(a), 0);
    for (i = 0; i < 3; i++)
        audit_refused(a);
    T_EQ_INT(audit_write(a, "exchange", "\"id\":\"x\"", 8), VIGIE_ERR_IO);
    audit_get_stats(a, &st);
    T_EQ_INT(st.broken, 1);
    T_EQ_INT(st.refused, 3);
    T_EQ_INT(st.failures, 1);
    T_EQ_INT(st.last_seq, 4);
    /* the sync thread tries again every second, and fails while the limit holds */
    t_sleep_ms(1300);
    T_EQ_INT(audit_usable(a), 0);
    T_EQ_INT(t_file_size(p), size);
    /* the disk is back */
    T_EQ_INT(setrlimit(RLIMIT_FSIZE, &old), 0);
    for (waited = 0; waited < 2500 && !audit_usable(a); waited += 20)
        t_sleep_ms(20);
    T_EQ_INT(audit_usable(a), 1);
    audit_get_stats(a, &st);
    T_EQ_INT(st.broken, 0);
    T_EQ_INT(st.last_seq, 5);
    T_EQ_INT(st.synced_seq, 5);
    write_n(a, 10, 1);
    audit_close(a, "sigterm");
    signal(SIGXFSZ, SIG_DFL);
    T_EQ_INT(t_lines_read(p, &l), 0);
    T_EQ_INT(l.count, 8);
    snprintf(msg, sizeof(msg), "%s", t_line(&l, 4));
    T_CONTAINS(msg, "\"seq\":5,");
    T_CONTAINS(msg, "\"type\":\"storage_error\",\"error\":\"EFBIG\",\"refused\":3,\"since\":\"");
    t_lines_free(&l);
    verify_ok(files, 1, ckp, &res);
    T_EQ_INT(res.records, 8);
    audit_config_fini(&c);
}

/* ---- a failed fdatasync: never again on that file, a new file instead ------------ */

static void test_fdatasync_failure(void)
{
    struct audit_config c;
    struct audit_log *a;
    struct audit_verify_result res;
    struct audit_stats st;
    static char names[8][512];
    const char *files[8];
    struct t_lines l;
    struct stat sb;
    char p[512], ckp[512];
    size_t n, i;
    int waited;

    fresh_dir();
    t_cfg(&c, dir);
    path_in(p, sizeof(p), "audit.log");
    path_in(ckp, sizeof(ckp), "audit.log.checkpoints");
    c.sync_records = 4;
    a = open_ok(&c);
    if (a == NULL)
        return;
    T_EQ_INT(stat(p, &sb), 0);
    atomic_store(&sync_calls_after_fail, 0);
    atomic_store(&sync_fail_ino, (unsigned long)sb.st_ino);
    atomic_store(&sync_fail_armed, 1);
    write_n(a, 0, 4); /* 4 waiting: the sync thread syncs, and that fails */
    for (waited = 0; waited < 2000 && audit_usable(a); waited += 5)
        t_sleep_ms(5);
    T_EQ_INT(atomic_load(&sync_fail_armed), 0);
    /* Broken until a new file is started; as soon as that worked, writing
     * goes on there. */
    for (waited = 0; waited < 3000 && !audit_usable(a); waited += 20)
        t_sleep_ms(20);
    T_EQ_INT(audit_usable(a), 1);
    audit_get_stats(a, &st);
    T_EQ_INT(st.failures, 1);
    T_EQ_INT(st.rotations, 1);
    write_n(a, 10, 8);
    audit_close(a, "sigterm");
    T_EQ_INT(atomic_load(&sync_calls_after_fail), 0);
    atomic_store(&sync_fail_ino, 0);
    T_EQ_INT(t_lines_read(p, &l), 0);
    T_CONTAINS(t_line(&l, 0), "\"type\":\"segment\",\"reason\":\"recover\"");
    T_CONTAINS(t_line(&l, 1), "\"type\":\"storage_error\",\"error\":\"EIO\",\"refused\":0,");
    t_lines_free(&l);
    n = log_files(names, 8);
    T_EQ_INT(n, 2);
    for (i = 0; i < n; i++)
        files[i] = names[i];
    verify_ok(files, n, ckp, &res);
    T_EQ_INT(res.records, 1 + 4 + 2 + 8 + 2);
    audit_config_fini(&c);
}

/* ---- 9: threads ------------------------------------------------------------------- */

#define THREADS    4
#define PER_THREAD 2000

struct job {
    struct audit_log *a;
    unsigned id;
    int errors;
};

static void *job_main(void *arg)
{
    struct job *j = arg;
    char f[64];
    unsigned i;
    for (i = 0; i < PER_THREAD; i++) {
        int n = snprintf(f, sizeof(f), "\"id\":\"t%u-%u\"", j->id, i);
        if (audit_write(j->a, "exchange", f, (size_t)n) != VIGIE_OK)
            j->errors++;
    }
    return NULL;
}

static void test_threads(void)
{
    struct audit_config c;
    struct audit_log *a;
    struct audit_verify_result res;
    struct t_lines l;
    struct job jobs[THREADS];
    pthread_t th[THREADS];
    char p[512], ckp[512];
    const char *files[1];
    static unsigned char seen[THREADS][PER_THREAD];
    unsigned k, exchanges = 0, dup = 0;
    size_t i;

    fresh_dir();
    t_cfg(&c, dir);
    path_in(p, sizeof(p), "audit.log");
    path_in(ckp, sizeof(ckp), "audit.log.checkpoints");
    files[0] = p;
    a = open_ok(&c);
    if (a == NULL)
        return;
    for (k = 0; k < THREADS; k++) {
        jobs[k].a = a;
        jobs[k].id = k;
        jobs[k].errors = 0;
        pthread_create(&th[k], NULL, job_main, &jobs[k]);
    }
    for (k = 0; k < THREADS; k++) {
        pthread_join(th[k], NULL);
        T_EQ_INT(jobs[k].errors, 0);
    }
    audit_close(a, "sigterm");
    verify_ok(files, 1, ckp, &res);
    T_EQ_INT(t_lines_read(p, &l), 0);
    T_EQ_INT(res.records, l.count);
    T_EQ_INT(res.first_seq, 1);
    T_EQ_INT(res.last_seq, l.count);
    T_EQ_INT(res.checkpoints_found, res.checkpoints_exported);
    T_ASSERT(res.checkpoints_exported >= 1);
    memset(seen, 0, sizeof(seen));
    for (i = 0; i < l.count; i++) {
        const char *s = t_line(&l, i), *id = strstr(s, "\"type\":\"exchange\",\"id\":\"t");
        unsigned t, n;
        if (id == NULL)
            continue;
        exchanges++;
        if (sscanf(id + strlen("\"type\":\"exchange\",\"id\":\"t"), "%u-%u", &t, &n) == 2 &&
            t < THREADS && n < PER_THREAD) {
            if (seen[t][n]++)
                dup++;
        }
    }
    T_EQ_INT(exchanges, THREADS * PER_THREAD);
    T_EQ_INT(dup, 0);
    t_lines_free(&l);
    audit_config_fini(&c);
}

/* ---- every record synced before audit_write returns ------------------------------- */

static void test_strict_sync(void)
{
    struct audit_config c;
    struct audit_log *a;
    struct audit_stats st;

    fresh_dir();
    t_cfg(&c, dir);
    c.sync_records = 1;
    a = open_ok(&c);
    if (a == NULL)
        return;
    write_n(a, 0, 5);
    audit_get_stats(a, &st);
    T_EQ_INT(st.synced_seq, 6);
    T_EQ_INT(st.last_seq, 6);
    T_ASSERT(st.syncs >= 5);
    audit_close(a, "sigterm");
    audit_close(NULL, "sigterm"); /* a no-op */
    audit_config_fini(&c);
}

/* `unit_audit_writer --make-log DIR N`: writes a log of N exchanges into
 * DIR (key DIR/audit.key, files rotated at 16 KB, a checkpoint every 100
 * records, one restart), for tests/cli/test_verify.sh. */
static int make_log(const char *d, unsigned n)
{
    struct audit_config c;
    struct audit_log *a;
    struct vigie_diag diag;
    char f[256];
    unsigned run, i;

    t_cfg(&c, d);
    c.rotate_size = 16000;
    c.checkpoint_records = 100;
    for (run = 0; run < 2; run++) {
        vigie_diag_init(&diag);
        if (audit_open(&a, &c, T_START_FIELDS, &diag) != VIGIE_OK) {
            fprintf(stderr, "audit_open: %s\n", diag.n > 0 ? diag.msgs[0] : "?");
            return 1;
        }
        vigie_diag_free(&diag);
        for (i = run * n / 2; i < (run + 1) * n / 2; i++) {
            int k = snprintf(f, sizeof(f),
                             "\"id\":\"c%u\",\"caller\":\"agent.\\\"q\\\"\",\"model\":"
                             "\"gpt-4o\",\"tokens_in\":%u,\"status\":200",
                             i, i * 7 % 1000);
            if (audit_write(a, "exchange", f, (size_t)k) != VIGIE_OK)
                return 1;
            if (i % 50 == 0)
                t_sleep_ms(1); /* let the sync thread rotate as it goes */
        }
        audit_close(a, "sigterm");
    }
    audit_config_fini(&c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--make-log") == 0)
        return make_log(argv[2], (unsigned)strtoul(argv[3], NULL, 10));
    T_RUN(test_fresh_reopen_torn);
    T_RUN(test_torn_export);
    T_RUN(test_refusals);
    T_RUN(test_checkpoint_ahead);
    T_RUN(test_power_cut);
    T_RUN(test_line_max);
    T_RUN(test_ts_monotonic);
    T_RUN(test_rotate_size);
    T_RUN(test_rotate_time_and_idle);
    T_RUN(test_reopen_logrotate);
    T_RUN(test_write_failure);
    T_RUN(test_fdatasync_failure);
    T_RUN(test_threads);
    T_RUN(test_strict_sync);
    if (dir[0] != '\0')
        t_rm_tree(dir);
    return T_DONE();
}
