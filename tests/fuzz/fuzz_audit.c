/*
 * Fuzzer of the audit log readers: the input is a log. Every line goes to the
 * report's reader, which must never take for a record a line that jansson
 * does not read as a JSON object (duplicate keys aside: inside a nested
 * object the report keeps one of them, as jansson without
 * JSON_REJECT_DUPLICATES does; `vigie verify` refuses such a line), and a
 * report, in a format the input picks, is written from what it kept; then the whole input goes to `vigie verify` as a file
 * (MACs checked with a fixed key, the one the seed logs were written with),
 * whose verdict must agree with the line count when it says "intact".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/audit.h"
#include "audit/report.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* printf 'fuzz-audit-key-0123456789' > key; gen_log.py --key-file key */
static const unsigned char key[] = "fuzz-audit-key-0123456789";

static void report(const unsigned char *data, size_t size)
{
    static const enum audit_report_format fmts[] = {AUDIT_REPORT_TEXT, AUDIT_REPORT_CSV,
                                                    AUDIT_REPORT_JSON, AUDIT_REPORT_HTML};
    struct audit_report_opts o;
    struct audit_report *r;
    struct audit_report_status before, after;
    FILE *sink;
    size_t start = 0, i, f;

    uint64_t lineno = 0;

    audit_report_opts_init(&o);
    o.generated_ms = 0;
    if (size > 0 && data[0] < 8) { /* let the input pick a grouping */
        o.by[0] = (enum audit_dim)(data[0] % AUDIT_DIM_COUNT);
        o.nby = 1;
    }
    if (audit_report_new(&r, &o) != 0)
        return;
    for (i = 0; i <= size; i++) {
        if (i < size && data[i] != '\n')
            continue;
        lineno++;
        audit_report_get_status(r, &before);
        audit_report_add_line(r, (const char *)data + start, i - start, "fuzz", lineno);
        audit_report_get_status(r, &after);
        if (after.unreadable == before.unreadable && i > start) {
            /* taken as a record: it must be a JSON object for jansson too */
            json_t *v = json_loadb((const char *)data + start, i - start, 0, NULL);
            if (!json_is_object(v)) {
                fprintf(stderr, "a line the report read is not a JSON object\n");
                abort();
            }
            json_decref(v);
        }
        start = i + 1;
    }
    sink = fopen("/dev/null", "w");
    f = size > 1 ? data[1] % (sizeof(fmts) / sizeof(fmts[0])) : 0;
    if (sink != NULL)
        audit_report_write(r, fmts[f], sink);
    if (sink != NULL)
        fclose(sink);
    audit_report_free(r);
}

static void verify(const unsigned char *data, size_t size)
{
    struct audit_verify_opts o;
    struct audit_verify_result res;
    char path[64];
    const char *files[1];
    size_t lines = 0, i;
    int fd = memfd_create("fuzz-audit", 0);

    if (fd < 0)
        return;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    files[0] = path;
    memset(&o, 0, sizeof(o));
    o.files = files;
    o.nfiles = 1;
    o.key = key;
    o.keylen = sizeof(key) - 1;
    o.quiet = 1;
    if (audit_verify(&o, &res) == VIGIE_OK && res.ok) {
        for (i = 0; i < size; i++)
            lines += data[i] == '\n';
        /* intact means every line is a record that verified */
        if (size > 0 && (data[size - 1] != '\n' || res.records != lines)) {
            fprintf(stderr, "intact, but %llu records for %zu lines\n",
                    (unsigned long long)res.records, lines);
            abort();
        }
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    report(data, size);
    verify(data, size);
    return 0;
}
