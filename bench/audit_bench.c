/*
 * bench_audit: how many records per second audit_write() takes, with the
 * default durability settings (fdatasync every 256 records or 1 s, a
 * checkpoint every 1,000 records), from 1 and 2 threads, and what one
 * fdatasync costs on the disk under the log.
 *
 *   bench_audit [--dir DIR] [--records N] [--threads T] [--sync-records N]
 *
 * The record is a realistic exchange record (about 480 bytes of fields, a
 * ~690-byte line). Each figure is the median of 3 runs; a run writes N
 * records (200,000 by default) into a fresh log in DIR (default: a new
 * directory under /tmp; put it on the disk the gateway would use), then
 * closes it, which waits for the last fdatasync. The log of the last run is
 * verified with audit_verify, so that a fast but broken writer fails the
 * benchmark. Any error exits non-zero.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"

#define RUNS 3

static const char key[] = "bench-audit-key-0123456789abcdef";

static const char fields_fmt[] =
    "\"id\":\"r-%08x-%04u\",\"caller\":\"agent.martin\",\"groups\":[\"douane-agents\"],"
    "\"client\":\"10.20.1.11\",\"endpoint\":\"/v1/chat/completions\",\"model\":\"gpt-4o\","
    "\"model_served\":\"gpt-4o\",\"upstream\":\"openai\",\"trust\":\"external\","
    "\"policy\":{\"id\":\"customs\",\"version\":\"3f2a9c1e\",\"mode\":\"enforce\"},"
    "\"decision\":\"mask\",\"findings\":[{\"rule\":\"contact.email\",\"category\":"
    "\"contact.email\",\"count\":2,\"action\":\"pseudonymise\"},{\"rule\":\"finance.iban\","
    "\"category\":\"finance.iban\",\"count\":1,\"action\":\"mask\"}],\"stream\":true,"
    "\"tokens_in\":812,\"tokens_out\":233,\"bytes_in\":4211,\"bytes_out\":1873,"
    "\"status\":200,\"code\":null,\"ms\":1432,\"vigie_ms\":3";

struct job {
    struct audit_log *log;
    unsigned id;
    unsigned long n;
    int failed;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *writer(void *arg)
{
    struct job *j = arg;
    char f[1024];
    unsigned long i;

    for (i = 0; i < j->n; i++) {
        int n = snprintf(f, sizeof(f), fields_fmt, (unsigned)i, j->id);
        if (audit_write(j->log, "exchange", f, (size_t)n) != VIGIE_OK) {
            j->failed = 1;
            break;
        }
    }
    return NULL;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static int cmp_d(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* One run: N records from T threads into dir/audit.log; returns records/s. */
static double run(const char *dir, unsigned long n, unsigned threads, unsigned sync_records,
                  int verify, struct audit_stats *st)
{
    struct audit_config c;
    struct audit_log *log;
    struct vigie_diag d;
    struct job jobs[16];
    pthread_t th[16];
    char path[600], kpath[600];
    double t0, t1;
    unsigned k;
    int fd;

    snprintf(path, sizeof(path), "%s/audit.log", dir);
    snprintf(kpath, sizeof(kpath), "%s/audit.key", dir);
    unlink(path);
    {
        char ck[620];
        snprintf(ck, sizeof(ck), "%s.checkpoints", path);
        unlink(ck);
    }
    fd = open(kpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, key, sizeof(key) - 1) != (ssize_t)(sizeof(key) - 1)) {
        perror(kpath);
        exit(1);
    }
    close(fd);
    audit_config_defaults(&c);
    c.file = strdup(path);
    c.key_file = strdup(kpath);
    if (sync_records > 0)
        c.sync_records = sync_records;
    vigie_diag_init(&d);
    if (audit_open(&log, &c, "\"version\":\"bench\"", &d) != VIGIE_OK) {
        fprintf(stderr, "audit_open failed: %s\n", d.n > 0 ? d.msgs[0] : "?");
        exit(1);
    }
    vigie_diag_free(&d);
    t0 = now_s();
    for (k = 0; k < threads; k++) {
        jobs[k].log = log;
        jobs[k].id = k;
        jobs[k].n = n / threads;
        jobs[k].failed = 0;
        pthread_create(&th[k], NULL, writer, &jobs[k]);
    }
    for (k = 0; k < threads; k++)
        pthread_join(th[k], NULL);
    audit_get_stats(log, st);
    audit_close(log, "bench");
    t1 = now_s();
    for (k = 0; k < threads; k++)
        if (jobs[k].failed) {
            fprintf(stderr, "audit_write failed\n");
            exit(1);
        }
    if (verify) {
        const char *files[1] = {path};
        char ck[620];
        struct audit_verify_opts o;
        struct audit_verify_result res;
        snprintf(ck, sizeof(ck), "%s.checkpoints", path);
        memset(&o, 0, sizeof(o));
        o.files = files;
        o.nfiles = 1;
        o.key = (const unsigned char *)key;
        o.keylen = sizeof(key) - 1;
        o.checkpoint_file = ck;
        if (audit_verify(&o, &res) != VIGIE_OK || !res.ok) {
            fprintf(stderr, "verify: %s: %s\n", res.where, res.why);
            exit(1);
        }
    }
    audit_config_fini(&c);
    return (double)(n / threads * threads) / (t1 - t0);
}

static double fdatasync_us(const char *dir)
{
    char path[600], line[700];
    double t0, t1;
    int fd, i;

    snprintf(path, sizeof(path), "%s/sync.probe", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    if (fd < 0)
        return -1;
    memset(line, 'x', sizeof(line));
    t0 = now_s();
    for (i = 0; i < 500; i++)
        if (write(fd, line, sizeof(line)) != (ssize_t)sizeof(line) || fdatasync(fd) != 0)
            break;
    t1 = now_s();
    close(fd);
    unlink(path);
    return (t1 - t0) / 500 * 1e6;
}

int main(int argc, char **argv)
{
    char dir[512] = "";
    unsigned long n = 200000;
    unsigned sync_records = 0, threads_only = 0, t;
    int i, made = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            snprintf(dir, sizeof(dir), "%s", argv[++i]);
        else if (strcmp(argv[i], "--records") == 0 && i + 1 < argc)
            n = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads_only = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--sync-records") == 0 && i + 1 < argc)
            sync_records = (unsigned)strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr,
                    "usage: %s [--dir DIR] [--records N] [--threads T] "
                    "[--sync-records N]\n",
                    argv[0]);
            return 2;
        }
    }
    if (n == 0 || threads_only > 16) {
        fprintf(stderr, "bad --records or --threads\n");
        return 2;
    }
    if (dir[0] == '\0') {
        snprintf(dir, sizeof(dir), "/tmp/vigie-bench-audit-XXXXXX");
        if (mkdtemp(dir) == NULL) {
            perror("mkdtemp");
            return 1;
        }
        made = 1;
    }
    printf("audit_write: %lu records per run, median of %d runs, log in %s\n", n, RUNS, dir);
    printf("fdatasync of one 700-byte append: %.0f us\n", fdatasync_us(dir));
    for (t = 1; t <= 2; t++) {
        double r[RUNS];
        struct audit_stats st;
        int k;
        unsigned th = threads_only > 0 ? threads_only : t;
        if (threads_only > 0 && t > 1)
            break;
        for (k = 0; k < RUNS; k++)
            r[k] = run(dir, n, th, sync_records, k == RUNS - 1, &st);
        qsort(r, RUNS, sizeof(r[0]), cmp_d);
        printf("%u thread(s): %.0f records/s (min %.0f, max %.0f); last run: %llu syncs, "
               "%llu checkpoints, %.1f MB\n",
               th, r[RUNS / 2], r[0], r[RUNS - 1], (unsigned long long)st.syncs,
               (unsigned long long)st.checkpoints, (double)st.bytes / 1e6);
    }
    if (made)
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
