/*
 * vigie's command line.
 *
 *   vigie scan [--rules PATH]... [--json] [--max-input BYTES] [--key-file FILE]
 *
 * Commands still to come (serve, check, test, report, verify) are named in
 * docs and DESIGN.md; each arrives with the module it needs.
 *
 * Exit codes, for scripts and CI jobs:
 *   0  the text was scanned; the masked text is on stdout
 *   1  the text was refused (over the size cap, or a detector failed):
 *      nothing is written to stdout, since an unchecked text must not pass
 *   2  usage or configuration error (rule packs that do not load)
 *   3  the text holds data whose action is "block": the masked text is
 *      written all the same (a dry run must show what was found), and the
 *      rules that blocked are named on stderr
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/load.h"

#ifndef VIGIE_DEFAULT_RULES
#define VIGIE_DEFAULT_RULES "/usr/share/vigie/rules"
#endif

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_BLOCKED 3

static const char *progname = "vigie";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s COMMAND [OPTIONS]\n"
            "\n"
            "commands:\n"
            "  scan      read text on stdin, write it masked on stdout\n"
            "  version   print the version\n"
            "  help      this message\n"
            "\n"
            "scan options:\n"
            "  -r, --rules PATH      rule pack file or directory (repeatable;\n"
            "                        default: %s)\n"
            "  -j, --json            print {\"text\", \"blocked\", \"findings\": [...]}\n"
            "  -m, --max-input N     refuse input over N bytes (default %u)\n"
            "  -k, --key-file FILE   HMAC key for keyed pseudonyms\n"
            "\n"
            "exit: 0 scanned, 1 input refused, 2 usage or rule error, 3 blocked data found\n",
            progname, VIGIE_DEFAULT_RULES, VIGIE_SCAN_INPUT_MAX);
}

/* Reads all of stdin, refusing more than max bytes. */
static int read_stdin(size_t max, struct vigie_buf *in)
{
    char chunk[65536];

    vigie_buf_init(in, max);
    if (vigie_buf_reserve(in, 0) != VIGIE_OK)
        return VIGIE_ERR_NOMEM;
    for (;;) {
        ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
        int rc;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            vigie_buf_free(in);
            return VIGIE_ERR_IO;
        }
        if (n == 0)
            break;
        rc = vigie_buf_append(in, chunk, (size_t)n);
        vigie_wipe(chunk, (size_t)n);
        if (rc != VIGIE_OK)
            return rc; /* the buffer freed itself */
    }
    return VIGIE_OK;
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s)
        return -1;
    if (*end == 'k' || *end == 'K')
        v *= 1024, end++;
    else if (*end == 'm' || *end == 'M')
        v *= 1024 * 1024, end++;
    if (*end != '\0' || v == 0 || v > (1ull << 30))
        return -1;
    *out = (size_t)v;
    return 0;
}

static void print_diag(const struct vigie_diag *d)
{
    size_t i;

    for (i = 0; i < d->n; i++)
        fprintf(stderr, "%s\n", d->msgs[i]);
    if (d->dropped > 0)
        fprintf(stderr, "... and %zu more problems\n", d->dropped);
}

static int write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDOUT_FILENO, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int json_report(struct detect_scanner *sc, const struct vigie_buf *masked, int blocked,
                       struct vigie_buf *out)
{
    const struct detect_finding *f;
    size_t n, i;
    int rc;

    rc = vigie_buf_append(out, "{\"text\":", 8);
    if (rc == VIGIE_OK)
        rc = vigie_buf_json_str(out, masked->data, masked->len);
    if (rc == VIGIE_OK)
        rc = vigie_buf_printf(out, ",\"blocked\":%s,\"findings\":[", blocked ? "true" : "false");
    f = detect_redact_findings(sc, &n);
    for (i = 0; rc == VIGIE_OK && i < n; i++) {
        const struct detect_rule *r = f[i].rule;
        /* Offsets, rule and action only: never the value itself. */
        rc = vigie_buf_printf(out,
                              "%s{\"rule\":\"%s\",\"category\":\"%s\",\"start\":%zu,\"end\":%zu,"
                              "\"action\":\"%s\",\"context\":%s}",
                              i ? "," : "", detect_rule_id(r), detect_rule_category(r),
                              f[i].start, f[i].end,
                              detect_action_name(detect_finding_action(&f[i], NULL)),
                              f[i].context ? "true" : "false");
    }
    if (rc == VIGIE_OK)
        rc = vigie_buf_append(out, "]}\n", 3);
    return rc;
}

static int cmd_scan(int argc, char **argv)
{
    static const struct option opts[] = {
        {"rules", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"max-input", required_argument, NULL, 'm'},
        {"key-file", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *rules[64];
    size_t nrules = 0, max_input = VIGIE_SCAN_INPUT_MAX, i, n;
    const char *keyfile = NULL;
    int json = 0, c, rc, blocked = 0, status = EXIT_USAGE;
    struct vigie_diag diag;
    struct detect_set *set = NULL;
    struct detect_scanner *sc = NULL;
    struct detect_revmap *map = NULL;
    struct vigie_buf in, out, report, key;
    struct detect_mask_opts mopts;
    char err[512];

    vigie_buf_init(&in, 0);
    vigie_buf_init(&out, 0);
    vigie_buf_init(&report, 0);
    vigie_buf_init(&key, 0);
    vigie_diag_init(&diag);
    memset(&mopts, 0, sizeof(mopts));

    while ((c = getopt_long(argc, argv, "r:jm:k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (nrules == sizeof(rules) / sizeof(rules[0])) {
                fprintf(stderr, "%s scan: too many --rules\n", progname);
                goto out;
            }
            rules[nrules++] = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'm':
            if (parse_size(optarg, &max_input) != 0) {
                fprintf(stderr, "%s scan: --max-input: expected a size such as 65536, 64k or 4M "
                                "(at most 1G), got '%s'\n",
                        progname, optarg);
                goto out;
            }
            break;
        case 'k':
            keyfile = optarg;
            break;
        case 'h':
            usage(stdout);
            status = 0;
            goto out;
        default:
            usage(stderr);
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s scan: unexpected argument '%s' (the text is read on stdin)\n",
                progname, argv[optind]);
        goto out;
    }
    if (nrules == 0)
        rules[nrules++] = VIGIE_DEFAULT_RULES;

    set = detect_load_paths(rules, nrules, &diag);
    if (set == NULL) {
        print_diag(&diag);
        fprintf(stderr, "%s scan: rule packs did not load; nothing was scanned\n", progname);
        goto out;
    }
    if (keyfile != NULL) {
        if (vigie_file_read(keyfile, 4096, &key, err, sizeof(err)) != VIGIE_OK) {
            fprintf(stderr, "%s scan: %s\n", progname, err);
            goto out;
        }
        if (key.len < 32) {
            fprintf(stderr, "%s scan: %s: a pseudonym key needs at least 32 bytes\n", progname,
                    keyfile);
            goto out;
        }
        mopts.key = (const unsigned char *)key.data;
        mopts.keylen = key.len;
    }
    sc = detect_scanner_new(set, max_input);
    map = detect_revmap_new();
    if (sc == NULL || map == NULL) {
        fprintf(stderr, "%s scan: out of memory\n", progname);
        status = EXIT_REFUSED;
        goto out;
    }

    status = EXIT_REFUSED;
    rc = read_stdin(max_input, &in);
    if (rc == VIGIE_ERR_TOO_BIG) {
        fprintf(stderr, "%s scan: input refused: larger than %zu bytes (--max-input)\n", progname,
                max_input);
        goto out;
    }
    if (rc != VIGIE_OK) {
        fprintf(stderr, "%s scan: cannot read stdin: %s\n", progname, vigie_strerror(rc));
        goto out;
    }
    vigie_buf_init(&out, 3 * max_input + 4096);
    rc = detect_redact(sc, in.data, in.len, &mopts, map, &out, &blocked);
    if (rc == VIGIE_ERR_CONFIG) {
        fprintf(stderr, "%s scan: a rule uses keyed pseudonyms: give the key with --key-file\n",
                progname);
        status = EXIT_USAGE;
        goto out;
    }
    if (rc != VIGIE_OK) {
        fprintf(stderr, "%s scan: input refused: %s\n", progname, vigie_strerror(rc));
        goto out;
    }
    if (json) {
        vigie_buf_init(&report, 8 * max_input + 65536);
        if ((rc = json_report(sc, &out, blocked, &report)) != VIGIE_OK) {
            fprintf(stderr, "%s scan: %s\n", progname, vigie_strerror(rc));
            goto out;
        }
        rc = write_all(report.data, report.len);
    } else {
        rc = write_all(out.data ? out.data : "", out.len);
    }
    if (rc != 0) {
        fprintf(stderr, "%s scan: cannot write the result: %s\n", progname, strerror(errno));
        goto out;
    }
    status = 0;
    if (blocked) {
        const struct detect_finding *f = detect_redact_findings(sc, &n);
        for (i = 0; i < n; i++)
            if (detect_finding_action(&f[i], &mopts) == DETECT_ACT_BLOCK)
                fprintf(stderr, "%s scan: blocked by rule %s (%s) at bytes %zu-%zu\n", progname,
                        detect_rule_id(f[i].rule), detect_rule_category(f[i].rule), f[i].start,
                        f[i].end);
        status = EXIT_BLOCKED;
    }
out:
    vigie_buf_free(&in);
    vigie_buf_free(&out);
    vigie_buf_free(&report);
    vigie_buf_free(&key);
    detect_revmap_free(map);
    detect_scanner_free(sc);
    detect_set_free(set);
    vigie_diag_free(&diag);
    return status;
}

int main(int argc, char **argv)
{
    const char *cmd;

    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    cmd = argv[1];
    if (strcmp(cmd, "scan") == 0)
        return cmd_scan(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("vigie %s\n", VIGIE_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "%s: unknown command '%s'\n", progname, cmd);
    usage(stderr);
    return EXIT_USAGE;
}
