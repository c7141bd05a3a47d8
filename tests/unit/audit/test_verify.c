/*
 * audit_verify (proxy/audit/verify.c): what it flags, where, and what it
 * cannot see.
 *
 * - The line reader: lines across its 1 MiB read blocks, the longest line the
 *   writer can write (accepted wherever it falls) and one byte more (flagged
 *   wherever it falls), a last line without its newline.
 * - The checkpoint file: a changed export, a torn last export, a missing
 *   file.
 * - The mutation test (research §6.5, "Tamper"): a log of 3,000 records
 *   written by the writer across many files, and a second log written with
 *   the same key; then, on copies, random single-bit flips, deleted,
 *   duplicated, swapped and moved lines, files cut mid-line and at a line
 *   boundary, middle files deleted, files given in shuffled order, lines and
 *   files spliced in from the second log. Every mutation must be flagged,
 *   except those the design says cannot be: the counts are printed, and the
 *   exceptions asserted one by one:
 *     - without the key, a change in the last record of the last file is seen
 *       only through the exported checkpoints (the chain has no next record);
 *     - without the checkpoints, records cut off the end are not seen;
 *     - with both, cutting records written after the last exported checkpoint
 *       is not seen (test_writer.c asserts that limit);
 *     - a chain that does not start at seq 1 (the first file or first lines
 *       removed) verifies, and says so through first_seq: older files are
 *       archived away in normal operation.
 *   With the key, a single-bit flip is reported at exactly its FILE:LINE.
 *   VIGIE_MUTATIONS=N scales the number of mutations, VIGIE_SEED=S replays.
 */
#include <dirent.h>

#include "audit_test.h"
#include "test.h"

static char dir[256];

/* ---- a log written here, record by record (independent of writer.c) ----------- */

struct gen {
    FILE *f;
    unsigned long long seq;
    char prev[65];
    size_t off; /* bytes written */
};

static void gen_open(struct gen *g, const char *path)
{
    g->f = fopen(path, "wb");
    g->seq = 0;
    memcpy(g->prev, T_ZERO64, 65);
    g->off = 0;
}

/* The line record seq+1 would be with `pad` bytes of padding: its length. */
static size_t gen_len(const struct gen *g, size_t pad)
{
    static char fields[2 * AUDIT_LINE_MAX], line[2 * AUDIT_LINE_MAX + 512];
    memcpy(fields, "\"pad\":\"", 7);
    memset(fields + 7, 'p', pad);
    memcpy(fields + 7 + pad, "\"", 2);
    return t_record(line, sizeof(line), g->seq + 1, "2026-11-26T21:00:00.000Z", "exchange", fields,
                    g->prev, t_key, sizeof(t_key) - 1);
}

/* Appends a record of exactly `len` bytes, newline included. */
static void gen_put(struct gen *g, size_t len)
{
    static char fields[2 * AUDIT_LINE_MAX], line[2 * AUDIT_LINE_MAX + 512];
    size_t base = gen_len(g, 0), pad = len - base, n;
    memcpy(fields, "\"pad\":\"", 7);
    memset(fields + 7, 'p', pad);
    memcpy(fields + 7 + pad, "\"", 2);
    n = t_record(line, sizeof(line), g->seq + 1, "2026-11-26T21:00:00.000Z", "exchange", fields,
                 g->prev, t_key, sizeof(t_key) - 1);
    if (n != len)
        T_FAIL("gen_put: %zu bytes, wanted %zu", n, len);
    fwrite(line, 1, n, g->f);
    t_sha256(line, n - 1, g->prev);
    g->seq++;
    g->off += n;
}

/* Fills with ~1,000-byte records until a record of `len` bytes would start
 * at `at`, then writes it. Returns its line number. */
static unsigned long long gen_put_at(struct gen *g, size_t at, size_t len)
{
    size_t small = gen_len(g, 0);
    while (g->off + 1000 + small + 1000 <= at)
        gen_put(g, 1000);
    if (at - g->off >= small)
        gen_put(g, at - g->off);
    if (g->off != at)
        T_FAIL("gen_put_at: at %zu, wanted %zu", g->off, at);
    gen_put(g, len);
    return g->seq;
}

/* ---- the line reader --------------------------------------------------------------- */

#define BLOCK      (1u << 20)
#define FIRST_READ (BLOCK + AUDIT_LINE_MAX) /* what the reader's first read() covers */

static void test_blocks_and_long_lines(void)
{
    struct audit_verify_result res;
    struct gen g;
    char p[512];
    const char *files[1];
    unsigned long long line;

    t_mkdtemp(dir, sizeof(dir));
    snprintf(p, sizeof(p), "%s/blocks.log", dir);
    files[0] = p;

    /* 3.5 MB of records of many sizes, two longest lines across read blocks */
    gen_open(&g, p);
    gen_put_at(&g, FIRST_READ - 100, AUDIT_LINE_MAX);
    gen_put_at(&g, 2 * BLOCK + 7, AUDIT_LINE_MAX);
    while (g.off < 3500000)
        gen_put(&g, 300 + (size_t)(g.seq * 7919 % 3000));
    fclose(g.f);
    T_EQ_INT(t_verify(files, 1, 1, NULL, &res), VIGIE_OK);
    if (!res.ok)
        T_FAIL("%s: %s", res.where, res.why);
    T_EQ_INT(res.records, g.seq);
    T_EQ_INT(res.last_seq, g.seq);

    /* one byte more than the longest line: flagged, across a block ... */
    gen_open(&g, p);
    line = gen_put_at(&g, FIRST_READ - 100, AUDIT_LINE_MAX + 1);
    gen_put(&g, 500);
    fclose(g.f);
    T_EQ_INT(t_verify(files, 1, 1, NULL, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 0);
    {
        char want[600];
        snprintf(want, sizeof(want), "%s:%llu (seq %llu)", p, line, line);
        T_EQ_STR(res.where, want);
        T_EQ_STR(res.why, "a line longer than 65536 bytes (newline included): not a record");
    }
    /* ... or within one */
    gen_open(&g, p);
    line = gen_put_at(&g, 5000, AUDIT_LINE_MAX + 1);
    gen_put(&g, 500);
    fclose(g.f);
    T_EQ_INT(t_verify(files, 1, 1, NULL, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 0);
    {
        char want[600];
        snprintf(want, sizeof(want), "%s:%llu (seq %llu)", p, line, line);
        T_EQ_STR(res.where, want);
    }
    T_EQ_STR(res.why, "a line longer than 65536 bytes (newline included): not a record");
    /* far longer than the reader's buffer, then a newline */
    gen_open(&g, p);
    gen_put(&g, 500);
    {
        static char junk[3 * BLOCK];
        memset(junk, 'j', sizeof(junk));
        junk[sizeof(junk) - 1] = '\n';
        fwrite(junk, 1, sizeof(junk), g.f);
    }
    gen_put(&g, 500);
    fclose(g.f);
    T_EQ_INT(t_verify(files, 1, 1, NULL, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 0);
    T_CONTAINS(res.where, ":2 (seq 2)");
    T_EQ_STR(res.why, "a line longer than 65536 bytes (newline included): not a record");
    /* a last line without its newline */
    gen_open(&g, p);
    gen_put(&g, 500);
    gen_put(&g, 500);
    fclose(g.f);
    T_EQ_INT(truncate(p, 999), 0);
    T_EQ_INT(t_verify(files, 1, 1, NULL, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 0);
    T_CONTAINS(res.where, ":2 (seq 2)");
    T_CONTAINS(res.why, "the last line is cut (no newline)");
    t_rm_tree(dir);
}

/* ---- a few records by hand: chain, seq, genesis, ts, MAC, files -------------------- */

static void test_hand_made(void)
{
    struct audit_verify_result res;
    char p[512], q[512], line[1024], prev[65];
    const char *files[2];
    size_t n;

    t_mkdtemp(dir, sizeof(dir));
    snprintf(p, sizeof(p), "%s/a.log", dir);
    snprintf(q, sizeof(q), "%s/b.log", dir);
    files[0] = p;
    files[1] = q;

    /* the first record of a chain must have the genesis prev */
    n = t_record(line, sizeof(line), 1, "2026-11-26T21:00:00.000Z", "start", "", T_ZERO64 "", t_key,
                 sizeof(t_key) - 1);
    t_write_file(p, line, n, 0600);
    T_EQ_INT(t_verify(files, 1, 1, NULL, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 1);
    T_EQ_INT(res.clean_end, 0);
    t_sha256(line, n - 1, prev);
    n = t_record(line, sizeof(line), 1, "2026-11-26T21:00:00.000Z", "start", "", prev, t_key,
                 sizeof(t_key) - 1);
    t_write_file(q, line, n, 0600);
    files[0] = q;
    T_EQ_INT(t_verify(files, 1, 1, NULL, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 0);
    T_EQ_STR(res.why, "the first record's prev is not the genesis value");
    files[0] = p;

    /* ts going back */
    n = t_record(line, sizeof(line), 2, "2026-11-26T20:59:59.999Z", "exchange", "\"id\":1", prev,
                 t_key, sizeof(t_key) - 1);
    t_append_file(p, line, n);
    T_EQ_INT(t_verify(files, 1, 1, NULL, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 0);
    T_EQ_STR(res.why, "ts goes back in time");
    T_CONTAINS(res.where, "a.log:2 (seq 2)");
    /* a ts not of the fixed form */
    t_write_file(p, line, 0, 0600);
    n = t_record(line, sizeof(line), 1, "2026-11-26 21:00:00.000Z", "start", "", T_ZERO64, t_key,
                 sizeof(t_key) - 1);
    t_write_file(p, line, n, 0600);
    T_EQ_INT(t_verify(files, 1, 1, NULL, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 0);
    T_CONTAINS(res.why, "ts is not a UTC time");
    /* MAC with another key: only seen with the key */
    n = t_record(line, sizeof(line), 1, "2026-11-26T21:00:00.000Z", "start", "", T_ZERO64,
                 "another key, 16+ bytes", 22);
    t_write_file(p, line, n, 0600);
    T_EQ_INT(t_verify(files, 1, 1, NULL, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 0);
    T_CONTAINS(res.why, "the MAC does not verify");
    T_EQ_INT(t_verify(files, 1, 0, NULL, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 1);
    /* a checkpoint whose head is not its prev */
    n = t_record(line, sizeof(line), 1, "2026-11-26T21:00:00.000Z", "checkpoint",
                 "\"head\":\"" T_ZERO64 "1\",\"file\":\"a.log\"", T_ZERO64, t_key,
                 sizeof(t_key) - 1);
    t_write_file(p, line, n, 0600);
    T_EQ_INT(t_verify(files, 1, 1, NULL, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 0);
    T_EQ_STR(res.why, "a checkpoint whose head is not its prev");
    /* duplicate keys, bad JSON inside the fixed frame */
    n = t_record(line, sizeof(line), 1, "2026-11-26T21:00:00.000Z", "exchange", "\"type\":\"stop\"",
                 T_ZERO64, t_key, sizeof(t_key) - 1);
    t_write_file(p, line, n, 0600);
    T_EQ_INT(t_verify(files, 1, 1, NULL, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 0);
    T_CONTAINS(res.why, "not a JSON object");
    n = t_record(line, sizeof(line), 1, "2026-11-26T21:00:00.000Z", "exchange", "\"x\":[}",
                 T_ZERO64, t_key, sizeof(t_key) - 1);
    t_write_file(p, line, n, 0600);
    T_EQ_INT(t_verify(files, 1, 1, NULL, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 0);
    T_CONTAINS(res.why, "not a JSON object");
    /* seq with a leading zero, seq not a number */
    t_write_file(p, "{\"v\":1,\"seq\":01,\"ts\":\"2026",
                 strlen("{\"v\":1,\"seq\":01,\"ts\":\"2026"), 0600);
    t_append_file(p, "\n", 1);
    T_EQ_INT(t_verify(files, 1, 1, NULL, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 0);
    T_CONTAINS(res.where, "a.log:1 (seq 0)");
    /* seq 0 does not exist: it would make the next record look like the
     * first of a chain, unchecked */
    n = t_record(line, sizeof(line), 0, "2026-11-26T21:00:00.000Z", "start", "", T_ZERO64, t_key,
                 sizeof(t_key) - 1);
    t_write_file(p, line, n, 0600);
    T_EQ_INT(t_verify(files, 1, 0, NULL, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 0);
    T_EQ_STR(res.why, "seq 0: a chain starts at 1");
    /* an empty file among others is skipped; an unreadable one is an error */
    n = t_record(line, sizeof(line), 1, "2026-11-26T21:00:00.000Z", "start", "", T_ZERO64, t_key,
                 sizeof(t_key) - 1);
    t_write_file(p, line, n, 0600);
    t_write_file(q, "", 0, 0600);
    T_EQ_INT(t_verify(files, 2, 1, NULL, &res), VIGIE_OK);
    T_EQ_INT(res.ok, 1);
    T_EQ_INT(res.files, 1);
    unlink(q);
    T_EQ_INT(t_verify(files, 2, 1, NULL, &res), VIGIE_ERR_IO);
    T_EQ_INT(res.ok, 0);
    T_EQ_STR(res.where, q);
    T_CONTAINS(res.why, "No such file");
    /* a checkpoint file that does not exist */
    T_EQ_INT(t_verify(files, 1, 1, q, &res), VIGIE_ERR_IO);
    T_EQ_INT(res.ok, 0);
    T_CONTAINS(res.why, "cannot read the checkpoint file");
    t_rm_tree(dir);
}

/* ---- the mutation test --------------------------------------------------------------- */

#define MF_MAX 64

struct mfile {
    char name[64];
    char *data;
    size_t len;
};

struct mset {
    struct mfile f[MF_MAX];
    size_t n;
    char *ck; /* the checkpoint file */
    size_t cklen;
};

static unsigned long long rng_state;

static unsigned long long rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t rnd_below(size_t n)
{
    return n > 0 ? (size_t)(rnd() % n) : 0;
}

static void mset_free(struct mset *m)
{
    size_t i;
    for (i = 0; i < m->n; i++)
        free(m->f[i].data);
    free(m->ck);
    memset(m, 0, sizeof(*m));
}

static char *dup_bytes(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

static void mset_copy(struct mset *dst, const struct mset *src)
{
    size_t i;
    *dst = *src;
    for (i = 0; i < src->n; i++)
        dst->f[i].data = dup_bytes(src->f[i].data, src->f[i].len);
    dst->ck = dup_bytes(src->ck, src->cklen);
}

/* Loads dir's audit.log* files, ordered by their first seq (the chain order),
 * and its checkpoint file. */
static int cmp_mfile(const void *x, const void *y)
{
    const struct mfile *a = x, *b = y;
    unsigned long long sa = strtoull(a->data + 13, NULL, 10), sb = strtoull(b->data + 13, NULL, 10);
    return sa < sb ? -1 : sa > sb;
}

static void mset_load(struct mset *m, const char *d)
{
    DIR *dh = opendir(d);
    struct dirent *e;
    char p[600];

    memset(m, 0, sizeof(*m));
    while (dh != NULL && (e = readdir(dh)) != NULL) {
        if (strncmp(e->d_name, "audit.log", 9) != 0 || strstr(e->d_name, "checkpoints") != NULL)
            continue;
        if (m->n == MF_MAX) {
            T_FAIL("more than %d files", MF_MAX);
            break;
        }
        snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
        snprintf(m->f[m->n].name, sizeof(m->f[m->n].name), "%.63s", e->d_name);
        m->f[m->n].data = t_read_all(p, &m->f[m->n].len);
        m->n++;
    }
    if (dh != NULL)
        closedir(dh);
    qsort(m->f, m->n, sizeof(m->f[0]), cmp_mfile);
    snprintf(p, sizeof(p), "%s/audit.log.checkpoints", d);
    m->ck = t_read_all(p, &m->cklen);
}

/* Writes the set to the scratch dir (files[] in a random order), returns the
 * checkpoint file's path. */
static const char *mset_write(const struct mset *m, const char *scratch, char paths[][600],
                              const char **files)
{
    static char ck[600];
    size_t i, order[MF_MAX];
    DIR *dh = opendir(scratch);
    struct dirent *e;

    while (dh != NULL && (e = readdir(dh)) != NULL) {
        char p[600];
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%.255s", scratch, e->d_name);
        unlink(p);
    }
    if (dh != NULL)
        closedir(dh);
    for (i = 0; i < m->n; i++)
        order[i] = i;
    for (i = m->n; i > 1; i--) {
        size_t j = rnd_below(i), t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    for (i = 0; i < m->n; i++) {
        snprintf(paths[i], 600, "%s/%s", scratch, m->f[order[i]].name);
        t_write_file(paths[i], m->f[order[i]].data, m->f[order[i]].len, 0600);
        files[i] = paths[i];
    }
    snprintf(ck, sizeof(ck), "%s/audit.log.checkpoints", scratch);
    t_write_file(ck, m->ck, m->cklen, 0600);
    return ck;
}

static size_t line_count(const struct mfile *f)
{
    size_t i, n = 0;
    for (i = 0; i < f->len; i++)
        n += f->data[i] == '\n';
    return n;
}

/* [start, end) of line k (0-based), newline included */
static void line_span(const struct mfile *f, size_t k, size_t *start, size_t *end)
{
    size_t i = 0, n = 0;
    while (n < k && i < f->len) {
        if (f->data[i++] == '\n')
            n++;
    }
    *start = i;
    while (i < f->len && f->data[i] != '\n')
        i++;
    *end = i < f->len ? i + 1 : i;
}

/* Replaces [from, to) of f with n bytes of p. */
static void splice_bytes(struct mfile *f, size_t from, size_t to, const char *p, size_t n)
{
    char *d = malloc(f->len - (to - from) + n + 1);
    memcpy(d, f->data, from);
    memcpy(d + from, p, n);
    memcpy(d + from + n, f->data + to, f->len - to);
    f->len = f->len - (to - from) + n;
    d[f->len] = '\0';
    free(f->data);
    f->data = d;
}

static void remove_file(struct mset *m, size_t i)
{
    free(m->f[i].data);
    memmove(&m->f[i], &m->f[i + 1], (m->n - i - 1) * sizeof(m->f[0]));
    m->n--;
}

enum expect {
    EXPECT_FLAGGED = 0,  /* verify must say broken */
    EXPECT_OK = 1,       /* verify must say intact (nothing was changed that matters) */
    EXPECT_HEAD_CUT = 2, /* intact, but first_seq > 1: the documented blind spot */
    EXPECT_UNSEEN = 3,   /* cannot be seen in this mode (documented): not asserted */
};

struct tally {
    unsigned tried, flagged, ok_expected, head_cut, unseen;
};

static struct tally tal[16];
static const char *const kind_names[] = {
    "bit flip, key + checkpoints",
    "bit flip, checkpoints, no key",
    "bit flip, chain only",
    "bit flip in the checkpoint file",
    "line deleted",
    "line duplicated",
    "adjacent lines swapped",
    "line moved",
    "file cut mid-line",
    "file cut at a line boundary",
    "whole file deleted",
    "files in shuffled order",
    "line from the other log",
    "file from the other log",
    "line deleted, no checkpoints",
};
#define KINDS 15

/* Runs verify on m with the given mode and checks the outcome. want_where:
 * the exact "FILE:LINE (" expected (NULL: any). */
static void check(int kind, const struct mset *m, const char *scratch, int with_key, int with_ck,
                  enum expect exp, const char *want_name, size_t want_line)
{
    static char paths[MF_MAX][600];
    const char *files[MF_MAX], *ck;
    struct audit_verify_result res;
    struct tally *t = &tal[kind];
    int rc;

    ck = mset_write(m, scratch, paths, files);
    rc = t_verify(files, m->n, with_key, with_ck ? ck : NULL, &res);
    t->tried++;
    if (rc != VIGIE_OK) {
        T_FAIL("%s: verify returned %d (%s)", kind_names[kind], rc, res.why);
        return;
    }
    if (!res.ok)
        t->flagged++;
    switch (exp) {
    case EXPECT_FLAGGED:
        if (res.ok)
            T_FAIL("%s: not flagged (%s:%zu, %llu records, key %d, checkpoints %d)",
                   kind_names[kind], want_name != NULL ? want_name : "?", want_line,
                   (unsigned long long)res.records, with_key, with_ck);
        if (!res.ok && want_name != NULL) {
            char want[700];
            snprintf(want, sizeof(want), "%s/%s:%zu (", scratch, want_name, want_line);
            if (strncmp(res.where, want, strlen(want)) != 0)
                T_FAIL("%s: flagged at %s, not at %s: %s", kind_names[kind], res.where, want,
                       res.why);
        }
        break;
    case EXPECT_OK:
        t->ok_expected++;
        if (!res.ok)
            T_FAIL("%s: flagged %s: %s", kind_names[kind], res.where, res.why);
        break;
    case EXPECT_HEAD_CUT:
        t->head_cut++;
        if (!res.ok || res.first_seq <= 1)
            T_FAIL("%s: ok %d first_seq %llu", kind_names[kind], res.ok,
                   (unsigned long long)res.first_seq);
        break;
    case EXPECT_UNSEEN:
        t->unseen++;
        if (!res.ok)
            t->unseen--; /* seen after all (e.g. a flip that broke the syntax) */
        break;
    }
}

/* Flips one random bit of one random file: returns the file and 1-based line. */
static void flip(struct mset *m, size_t *fi, size_t *line, int *in_last_line)
{
    size_t f = rnd_below(m->n), off, i, ln = 1, last_start = 0, nlines;
    struct mfile *mf;

    /* weigh files by size, roughly: pick twice, keep the larger */
    i = rnd_below(m->n);
    if (m->f[i].len > m->f[f].len)
        f = i;
    mf = &m->f[f];
    off = rnd_below(mf->len);
    for (i = 0; i < off; i++)
        ln += mf->data[i] == '\n';
    nlines = line_count(mf);
    line_span(mf, nlines - 1, &last_start, &i);
    mf->data[off] ^= (char)(1u << rnd_below(8));
    *fi = f;
    *line = ln;
    *in_last_line = f == m->n - 1 && off >= last_start;
}

static void test_mutations(void)
{
    struct audit_config c;
    struct audit_log *a;
    struct mset orig, other, m;
    struct vigie_diag od;
    char base[256], scratch[600], odir[600], f[256];
    const char *env = getenv("VIGIE_MUTATIONS");
#ifdef VIGIE_INSTRUMENTED
    unsigned per_default = 10; /* sanitizers: 5x slower, the same paths */
#else
    unsigned per_default = 30;
#endif
    unsigned per = env != NULL ? (unsigned)strtoul(env, NULL, 10) : per_default, i, k;
    size_t total_lines = 0;

    rng_state = getenv("VIGIE_SEED") != NULL ? strtoull(getenv("VIGIE_SEED"), NULL, 10)
                                             : 0x9e3779b97f4a7c15ull;
    if (rng_state == 0)
        rng_state = 1;
    printf("mutations: seed %llu, %u per kind\n", rng_state, per);
    t_mkdtemp(base, sizeof(base));
    snprintf(dir, sizeof(dir), "%s", base);
    snprintf(scratch, sizeof(scratch), "%s/scratch", base);
    snprintf(odir, sizeof(odir), "%s/other", base);
    mkdir(scratch, 0700);
    mkdir(odir, 0700);

    /* the log: 3,000 exchanges in files of ~40 KB, a checkpoint every 250
     * records, and a restart in the middle */
    t_cfg(&c, base);
    c.rotate_size = 40000;
    c.checkpoint_records = 250;
    a = NULL;
    for (k = 0; k < 2; k++) {
        struct vigie_diag d;
        vigie_diag_init(&d);
        if (audit_open(&a, &c, T_START_FIELDS, &d) != VIGIE_OK) {
            T_FAIL("audit_open: %s", d.n > 0 ? d.msgs[0] : "?");
            vigie_diag_free(&d);
            return;
        }
        vigie_diag_free(&d);
        for (i = 0; i < 1500; i++) {
            int n = snprintf(f, sizeof(f),
                             "\"id\":\"m%u-%u\",\"caller\":\"agent.%u\",\"model\":\"gpt-4o\","
                             "\"decision\":\"allow\",\"status\":200,\"ms\":%u",
                             k, i, i % 7, i * 13 % 997);
            if (audit_write(a, "exchange", f, (size_t)n) != VIGIE_OK)
                T_FAIL("audit_write %u", i);
            if (i % 300 == 0)
                t_sleep_ms(2); /* let the sync thread rotate as it goes */
        }
        audit_close(a, "sigterm");
    }
    audit_config_fini(&c);
    /* the other log: same key, its own records */
    t_cfg(&c, odir);
    vigie_diag_init(&od);
    if (audit_open(&a, &c, T_START_FIELDS, &od) == VIGIE_OK) {
        for (i = 0; i < 400; i++) {
            int n = snprintf(f, sizeof(f), "\"id\":\"other-%u\"", i);
            audit_write(a, "exchange", f, (size_t)n);
        }
        audit_close(a, "sigterm");
    }
    vigie_diag_free(&od);
    audit_config_fini(&c);
    mset_load(&orig, base);
    mset_load(&other, odir);
    for (i = 0; i < orig.n; i++)
        total_lines += line_count(&orig.f[i]);
    printf("mutations: a log of %zu records in %zu files, %zu exported checkpoints\n", total_lines,
           orig.n, line_count(&(struct mfile){"", orig.ck, orig.cklen}));
    T_ASSERT(orig.n >= 3);
    T_ASSERT(total_lines > 3000);
    if (orig.n < 3 || other.n < 1)
        goto out;

    /* The documented blind spots, once each, on purpose. */
    {
        struct mfile *last;
        size_t s, e, n;
        /* the first line removed: a head cut, seen only as first_seq 2 */
        mset_copy(&m, &orig);
        line_span(&m.f[0], 0, &s, &e);
        splice_bytes(&m.f[0], s, e, "", 0);
        check(4, &m, scratch, 1, 1, EXPECT_HEAD_CUT, NULL, 0);
        mset_free(&m);
        /* the first file removed: the same */
        mset_copy(&m, &orig);
        remove_file(&m, 0);
        check(10, &m, scratch, 1, 1, EXPECT_HEAD_CUT, NULL, 0);
        mset_free(&m);
        /* the last record removed: seen through the checkpoints only */
        mset_copy(&m, &orig);
        last = &m.f[m.n - 1];
        n = line_count(last);
        line_span(last, n - 1, &s, &e);
        last->len = s;
        check(9, &m, scratch, 1, 1, EXPECT_FLAGGED, NULL, 0);
        check(14, &m, scratch, 1, 0, EXPECT_UNSEEN, NULL, 0);
        T_EQ_INT(tal[14].unseen, 1);
        mset_free(&m);
        /* a bit of the last record's MAC: seen with the key or through the
         * checkpoints, not by the chain alone */
        mset_copy(&m, &orig);
        last = &m.f[m.n - 1];
        /* a hex digit of the MAC, changed to another hex digit */
        last->data[last->len - 4] = last->data[last->len - 4] == '0' ? '1' : '0';
        check(0, &m, scratch, 1, 0, EXPECT_FLAGGED, last->name, line_count(last));
        check(1, &m, scratch, 0, 1, EXPECT_FLAGGED, NULL, 0);
        check(2, &m, scratch, 0, 0, EXPECT_UNSEEN, NULL, 0);
        T_EQ_INT(tal[2].unseen, 1);
        mset_free(&m);
    }
    /* The first seq of a middle file changed so that it would sort after
     * every other file: still reported at that file's line 1, not in the
     * intact file that would otherwise come in its place. */
    {
        size_t fi = orig.n / 2;
        char *comma;
        mset_copy(&m, &orig);
        /* the comma after the seq becomes a digit: 10 times larger, with
         * more digits than any seq of this log */
        comma = strchr(m.f[fi].data + strlen("{\"v\":1,\"seq\":"), ',');
        *comma = '9';
        check(0, &m, scratch, 1, 1, EXPECT_FLAGGED, m.f[fi].name, 1);
        check(0, &m, scratch, 1, 0, EXPECT_FLAGGED, m.f[fi].name, 1);
        mset_free(&m);
    }
    /* the unmutated log, its files in every order: intact */
    for (i = 0; i < per; i++) {
        mset_copy(&m, &orig);
        check(11, &m, scratch, 1, 1, EXPECT_OK, NULL, 0);
        mset_free(&m);
    }
    for (i = 0; i < per * 4; i++) {
        size_t fi, ln;
        int last;
        /* with the key (and the checkpoints): at exactly FILE:LINE */
        mset_copy(&m, &orig);
        flip(&m, &fi, &ln, &last);
        check(0, &m, scratch, 1, 1, EXPECT_FLAGGED, m.f[fi].name, ln);
        /* with the key and without the checkpoints: the same */
        check(0, &m, scratch, 1, 0, EXPECT_FLAGGED, m.f[fi].name, ln);
        mset_free(&m);
        /* without the key: the chain and the checkpoints see every flip */
        mset_copy(&m, &orig);
        flip(&m, &fi, &ln, &last);
        check(1, &m, scratch, 0, 1, EXPECT_FLAGGED, NULL, 0);
        /* the chain alone: all but a flip in the very last record */
        check(2, &m, scratch, 0, 0, last ? EXPECT_UNSEEN : EXPECT_FLAGGED, NULL, 0);
        mset_free(&m);
    }
    /* the checkpoint file itself, with the key */
    for (i = 0; i < per; i++) {
        mset_copy(&m, &orig);
        m.ck[rnd_below(m.cklen)] ^= (char)(1u << rnd_below(8));
        check(3, &m, scratch, 1, 1, EXPECT_FLAGGED, NULL, 0);
        mset_free(&m);
    }
    for (i = 0; i < per; i++) {
        size_t fi = rnd_below(orig.n), n, k1, s, e, s2, e2;
        struct mfile *mf;
        int first = fi == 0;

        /* a line deleted */
        mset_copy(&m, &orig);
        mf = &m.f[fi];
        n = line_count(mf);
        k1 = rnd_below(n);
        line_span(mf, k1, &s, &e);
        splice_bytes(mf, s, e, "", 0);
        check(4, &m, scratch, 1, 1, first && k1 == 0 ? EXPECT_HEAD_CUT : EXPECT_FLAGGED, NULL, 0);
        /* without the checkpoints, the last record deleted is not seen */
        check(14, &m, scratch, 1, 0,
              first && k1 == 0               ? EXPECT_HEAD_CUT
              : fi == m.n - 1 && k1 == n - 1 ? EXPECT_UNSEEN
                                             : EXPECT_FLAGGED,
              NULL, 0);
        mset_free(&m);
        /* a line duplicated, right after itself or anywhere */
        mset_copy(&m, &orig);
        mf = &m.f[fi];
        line_span(mf, k1, &s, &e);
        {
            char *copy = dup_bytes(mf->data + s, e - s);
            size_t at = i % 2 ? e : 0;
            if (i % 2 == 0)
                line_span(mf, rnd_below(n), &at, &e2);
            splice_bytes(mf, at, at, copy, e - s);
            free(copy);
        }
        check(5, &m, scratch, 1, 1, EXPECT_FLAGGED, NULL, 0);
        mset_free(&m);
        /* two adjacent lines swapped */
        mset_copy(&m, &orig);
        mf = &m.f[fi];
        k1 = rnd_below(n - 1);
        line_span(mf, k1, &s, &e);
        line_span(mf, k1 + 1, &s2, &e2);
        {
            char *both = malloc(e2 - s);
            memcpy(both, mf->data + s2, e2 - s2);
            memcpy(both + (e2 - s2), mf->data + s, e - s);
            splice_bytes(mf, s, e2, both, e2 - s);
            free(both);
        }
        check(6, &m, scratch, 1, 1, EXPECT_FLAGGED, NULL, 0);
        mset_free(&m);
        /* a line moved to another place, maybe another file */
        mset_copy(&m, &orig);
        mf = &m.f[fi];
        k1 = rnd_below(n);
        line_span(mf, k1, &s, &e);
        {
            char *copy = dup_bytes(mf->data + s, e - s);
            size_t len = e - s, tf = rnd_below(m.n), tk;
            splice_bytes(mf, s, e, "", 0);
            tk = rnd_below(line_count(&m.f[tf]) + 1);
            if (tf == fi && tk == k1)
                tk = tk > 0 ? tk - 1 : tk + 1;
            line_span(&m.f[tf], tk, &s2, &e2);
            splice_bytes(&m.f[tf], s2, s2, copy, len);
            free(copy);
        }
        check(7, &m, scratch, 1, 1, EXPECT_FLAGGED, NULL, 0);
        mset_free(&m);
        /* a file cut in the middle of a line */
        mset_copy(&m, &orig);
        mf = &m.f[fi];
        line_span(mf, rnd_below(n), &s, &e);
        mf->len = s + 1 + rnd_below(e - s - 1);
        check(8, &m, scratch, 1, 1, EXPECT_FLAGGED, NULL, 0);
        mset_free(&m);
        /* a file cut at a line boundary: the first file emptied is a head
         * cut; the end of the last one is seen through the checkpoints */
        mset_copy(&m, &orig);
        mf = &m.f[fi];
        k1 = rnd_below(n);
        line_span(mf, k1, &s, &e);
        mf->len = s;
        check(9, &m, scratch, 1, 1, first && k1 == 0 ? EXPECT_HEAD_CUT : EXPECT_FLAGGED, NULL, 0);
        mset_free(&m);
        /* a middle file deleted */
        mset_copy(&m, &orig);
        remove_file(&m, 1 + rnd_below(m.n - 2));
        check(10, &m, scratch, 1, 1, EXPECT_FLAGGED, NULL, 0);
        mset_free(&m);
        /* a line of the other log, instead of one or in between */
        mset_copy(&m, &orig);
        mf = &m.f[fi];
        {
            struct mfile *of = &other.f[rnd_below(other.n)];
            size_t os, oe;
            line_span(of, rnd_below(line_count(of)), &os, &oe);
            line_span(mf, k1, &s, &e);
            splice_bytes(mf, s, i % 2 ? e : s, of->data + os, oe - os);
        }
        check(12, &m, scratch, 1, 1, EXPECT_FLAGGED, NULL, 0);
        mset_free(&m);
        /* a whole file of the other log, instead of one or in addition */
        mset_copy(&m, &orig);
        {
            struct mfile *of = &other.f[rnd_below(other.n)];
            size_t at = i % 2 ? fi : m.n;
            if (at == m.n)
                m.n++;
            else
                free(m.f[at].data);
            snprintf(m.f[at].name, sizeof(m.f[at].name), "audit.log.other%u", i);
            m.f[at].data = dup_bytes(of->data, of->len);
            m.f[at].len = of->len;
        }
        check(13, &m, scratch, 1, 1, EXPECT_FLAGGED, NULL, 0);
        mset_free(&m);
    }
    {
        unsigned tried = 0, flagged = 0;
        printf("%-34s %6s %8s  %s\n", "mutation", "tried", "flagged", "not flagged, as expected");
        for (k = 0; k < KINDS; k++) {
            char note[160] = "";
            if (tal[k].ok_expected)
                snprintf(note, sizeof(note), "%u intact (nothing changed)", tal[k].ok_expected);
            if (tal[k].head_cut)
                snprintf(note + strlen(note), sizeof(note) - strlen(note),
                         "%u head cuts (first_seq > 1)", tal[k].head_cut);
            if (tal[k].unseen)
                snprintf(note + strlen(note), sizeof(note) - strlen(note),
                         "%u in the last record, unseen in this mode", tal[k].unseen);
            printf("%-34s %6u %8u  %s\n", kind_names[k], tal[k].tried, tal[k].flagged, note);
            tried += tal[k].tried;
            flagged += tal[k].flagged;
        }
        printf("mutations: %u verified, %u flagged\n", tried, flagged);
    }
out:
    mset_free(&orig);
    mset_free(&other);
    t_rm_tree(base);
}

int main(void)
{
    T_RUN(test_blocks_and_long_lines);
    T_RUN(test_hand_made);
    T_RUN(test_mutations);
    return T_DONE();
}
