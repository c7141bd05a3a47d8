/*
 * vigie report: usage reports from audit logs, as text, CSV, JSON or one
 * HTML page (proxy/audit/report.h; docs/audit-reports.md).
 *
 * Exit status: 0 the report was written; 1 it was written, but some lines
 * were not records (counted, the first one named on stderr); 2 usage error,
 * a file that cannot be read, or the report could not be written (then
 * nothing is written, and -o FILE is left as it was).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/report.h"
#include "cli/cli.h"

#define REPORT_FILES_MAX 4096u /* log files in one report */

static void report_usage(FILE *f)
{
    fprintf(f,
            "usage: %s report --audit-log FILE [FILE...] [--since T] [--until T]\n"
            "                    [--by KEY[,KEY]] [--format text|csv|json|html] [--top N]\n"
            "                    [-o FILE]\n"
            "\n"
            "  -l, --audit-log FILE  an audit log (repeatable; more files may follow it,\n"
            "                        in any order: rotated files FILE.<time> too; '-' is stdin)\n"
            "  -s, --since T         first time included (UTC): 2026-11-01, 2026-11-01T10:00,\n"
            "                        2026-11-01T10:00:00Z\n"
            "  -u, --until T         first time excluded (UTC)\n"
            "  -b, --by KEY[,KEY]    one row per caller, group, model, upstream, trust, day,\n"
            "                        category or rule; two keys make pairs (caller,model)\n"
            "  -f, --format F        text (default), csv, json or html\n"
            "  -n, --top N           rows of the summary's lists and charts (default 10)\n"
            "  -o, --output FILE     write there instead of stdout (replaced when complete)\n"
            "\n"
            "Without --by, text is a summary; CSV and JSON rows are per caller. Exit status:\n"
            "0 written, 1 written but some lines were not records, 2 nothing written.\n"
            "Run `%s verify` on the same files to know the records are intact.\n",
            cli_progname, cli_progname);
}

static int parse_format(const char *s, enum audit_report_format *f)
{
    static const char *const names[] = {"text", "csv", "json", "html"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i]) == 0) {
            *f = (enum audit_report_format)i;
            return 0;
        }
    return -1;
}

/* The report's date: SOURCE_DATE_EPOCH when set (reproducible output, as
 * build tools do), else now. */
static int64_t generated_ms(void)
{
    const char *e = getenv("SOURCE_DATE_EPOCH");
    struct timespec ts;

    if (e != NULL && *e != '\0') {
        char *end;
        long long v;
        errno = 0;
        v = strtoll(e, &end, 10);
        if (errno == 0 && *end == '\0' && v >= 0 && v < 253402300800LL)
            return (int64_t)v * 1000;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The report goes to a temporary file beside FILE, renamed over it once
 * complete: a failed run never leaves half a report, nor destroys the last
 * one. */
static FILE *output_open(const char *path, char **tmp)
{
    size_t n = strlen(path);
    mode_t mask;
    FILE *f;
    int fd;

    if ((*tmp = malloc(n + 16)) == NULL)
        return NULL;
    snprintf(*tmp, n + 16, "%s.tmp.XXXXXX", path);
    if ((fd = mkstemp(*tmp)) < 0) {
        free(*tmp);
        *tmp = NULL;
        return NULL;
    }
    mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    if ((f = fdopen(fd, "w")) == NULL) {
        close(fd);
        unlink(*tmp);
        free(*tmp);
        *tmp = NULL;
    }
    return f;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"audit-log", required_argument, NULL, 'l'},
        {"since", required_argument, NULL, 's'},
        {"until", required_argument, NULL, 'u'},
        {"by", required_argument, NULL, 'b'},
        {"format", required_argument, NULL, 'f'},
        {"top", required_argument, NULL, 'n'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char **files = NULL;
    struct stat *seen = NULL;
    size_t nfiles = 0, nseen = 0, i, j;
    const char *output = NULL;
    enum audit_report_format format = AUDIT_REPORT_TEXT;
    struct audit_report_opts ro;
    struct audit_report_status st;
    struct audit_report *r = NULL;
    char err[512], *tmp = NULL, *end;
    FILE *out = NULL;
    int c, rc, status = EXIT_USAGE;
    unsigned long top;

    audit_report_opts_init(&ro);
    if ((files = calloc((size_t)argc + 1, sizeof(*files))) == NULL ||
        (seen = calloc((size_t)argc + 1, sizeof(*seen))) == NULL) {
        fprintf(stderr, "%s report: out of memory\n", cli_progname);
        goto out;
    }
    /* Leading '+' is not used: files may follow --audit-log FILE, and getopt
     * moves them after the options. */
    while ((c = getopt_long(argc, argv, "l:s:u:b:f:n:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            files[nfiles++] = optarg;
            break;
        case 's':
        case 'u':
            if (audit_report_parse_time(optarg, c == 's' ? &ro.since_ms : &ro.until_ms, err,
                                        sizeof(err)) != VIGIE_OK) {
                fprintf(stderr, "%s report: --%s: %s\n", cli_progname, c == 's' ? "since" : "until",
                        err);
                goto out;
            }
            break;
        case 'b':
            if (audit_report_parse_by(optarg, ro.by, &ro.nby, err, sizeof(err)) != VIGIE_OK) {
                fprintf(stderr, "%s report: --by: %s\n", cli_progname, err);
                goto out;
            }
            break;
        case 'f':
            if (parse_format(optarg, &format) != 0) {
                fprintf(stderr, "%s report: --format: '%s': expected text, csv, json or html\n",
                        cli_progname, optarg);
                goto out;
            }
            break;
        case 'n':
            errno = 0;
            top = strtoul(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || optarg[0] < '0' || optarg[0] > '9' || top == 0 ||
                top > AUDIT_REPORT_TOP_MAX) {
                fprintf(stderr, "%s report: --top: '%s': expected 1 to %u\n", cli_progname, optarg,
                        AUDIT_REPORT_TOP_MAX);
                goto out;
            }
            ro.top = top;
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            report_usage(stdout);
            status = 0;
            goto out;
        default:
            report_usage(stderr);
            goto out;
        }
    }
    for (; optind < argc; optind++)
        files[nfiles++] = argv[optind];
    if (nfiles == 0) {
        fprintf(stderr, "%s report: no audit log: give --audit-log FILE\n", cli_progname);
        report_usage(stderr);
        goto out;
    }
    if (nfiles > REPORT_FILES_MAX) {
        fprintf(stderr, "%s report: %zu files: at most %u in one report\n", cli_progname, nfiles,
                REPORT_FILES_MAX);
        goto out;
    }
    if (ro.since_ms >= ro.until_ms) {
        fprintf(stderr, "%s report: --since is not before --until: the range is empty\n",
                cli_progname);
        goto out;
    }

    /* Every file is checked before any is read: a typo fails at once, not
     * after an hour of reading. The same file named twice (a glob and its
     * name) is read once; the checkpoint file a glob catches is skipped. */
    for (i = 0, j = 0; i < nfiles; i++) {
        struct stat sb;
        size_t k;
        if (strcmp(files[i], "-") == 0) {
            files[j++] = files[i];
            continue;
        }
        if (stat(files[i], &sb) != 0) {
            fprintf(stderr, "%s report: %s: %s\n", cli_progname, files[i], strerror(errno));
            goto out;
        }
        if (S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "%s report: %s: a directory (name the files: %s/audit.log*)\n",
                    cli_progname, files[i], files[i]);
            goto out;
        }
        if (ends_with(files[i], ".checkpoints")) {
            fprintf(stderr,
                    "%s report: %s: skipped: a checkpoint file (vigie verify "
                    "--checkpoints reads it)\n",
                    cli_progname, files[i]);
            continue;
        }
        for (k = 0; k < nseen; k++)
            if (seen[k].st_dev == sb.st_dev && seen[k].st_ino == sb.st_ino)
                break;
        if (k < nseen) {
            fprintf(stderr, "%s report: %s: named twice, read once\n", cli_progname, files[i]);
            continue;
        }
        seen[nseen++] = sb;
        files[j++] = files[i];
    }
    nfiles = j;
    if (output != NULL && strcmp(output, "-") != 0) {
        /* -o naming one of the logs would replace it with the report. */
        struct stat sb;
        if (stat(output, &sb) == 0)
            for (i = 0; i < nseen; i++)
                if (seen[i].st_dev == sb.st_dev && seen[i].st_ino == sb.st_ino) {
                    fprintf(stderr, "%s report: -o %s: that is one of the audit logs read\n",
                            cli_progname, output);
                    goto out;
                }
    }

    ro.generated_ms = generated_ms();
    if (audit_report_new(&r, &ro) != VIGIE_OK) {
        fprintf(stderr, "%s report: out of memory\n", cli_progname);
        goto out;
    }
    for (i = 0; i < nfiles; i++) {
        rc = audit_report_read_file(r, files[i], err, sizeof(err));
        if (rc == VIGIE_ERR_IO) {
            fprintf(stderr, "%s report: %s; nothing was written\n", cli_progname, err);
            goto out;
        }
        if (rc != VIGIE_OK) {
            fprintf(stderr, "%s report: %s: %s\n", cli_progname, files[i], vigie_strerror(rc));
            goto out;
        }
    }

    if (output != NULL && strcmp(output, "-") != 0) {
        if ((out = output_open(output, &tmp)) == NULL) {
            fprintf(stderr, "%s report: %s: %s\n", cli_progname, output, strerror(errno));
            goto out;
        }
    } else {
        out = stdout;
    }
    rc = audit_report_write(r, format, out);
    if (out != stdout) {
        if (fclose(out) != 0 && rc == VIGIE_OK)
            rc = VIGIE_ERR_IO;
        out = NULL;
        if (rc == VIGIE_OK && rename(tmp, output) != 0) {
            fprintf(stderr, "%s report: %s: %s\n", cli_progname, output, strerror(errno));
            unlink(tmp);
            goto out;
        }
        if (rc != VIGIE_OK)
            unlink(tmp);
    }
    if (rc != VIGIE_OK) {
        fprintf(stderr, "%s report: cannot write the report: %s\n", cli_progname,
                rc == VIGIE_ERR_IO ? strerror(errno) : vigie_strerror(rc));
        goto out;
    }

    audit_report_get_status(r, &st);
    status = 0;
    if (st.cut_keys > 0)
        fprintf(stderr,
                "%s report: note: %" PRIu64 " exchanges name something in more than "
                "%u bytes: cut there, marked \xe2\x80\xa6\n",
                cli_progname, st.cut_keys, AUDIT_REPORT_KEY_MAX);
    if (st.other_rows > 0)
        fprintf(stderr,
                "%s report: note: a table reached %u keys; %" PRIu64 " more were counted "
                "in its (other) row\n",
                cli_progname, AUDIT_REPORT_ROWS_MAX, st.other_rows);
    if (st.unreadable > 0) {
        fprintf(stderr, "%s report: %" PRIu64 " unreadable line%s not counted; the first: %s\n",
                cli_progname, st.unreadable, st.unreadable == 1 ? "" : "s", st.first_unreadable);
        status = EXIT_REFUSED;
    }
out:
    free(tmp);
    free(files);
    free(seen);
    audit_report_free(r);
    return status;
}
