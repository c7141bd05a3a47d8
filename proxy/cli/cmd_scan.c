/*
 * vigie scan: stdin in, the masked text (or JSON findings) out. With
 * --policy, the dry run of a request (cmd_policy.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "detect/load.h"

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

int cmd_scan(int argc, char **argv)
{
    static const struct option opts[] = {
        {"rules", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"max-input", required_argument, NULL, 'm'},
        {"key-file", required_argument, NULL, 'k'},
        {"policy", required_argument, NULL, 'p'},
        {"as", required_argument, NULL, 'a'},
        {"model", required_argument, NULL, 'M'},
        {"endpoint", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *rules[64];
    size_t nrules = 0, max_input = VIGIE_SCAN_INPUT_MAX, i, n;
    const char *keyfile = NULL, *policy = NULL, *as = NULL, *model = NULL, *endpoint = NULL;
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

    while ((c = getopt_long(argc, argv, "r:jm:k:p:c:a:M:e:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (nrules == sizeof(rules) / sizeof(rules[0])) {
                fprintf(stderr, "%s scan: too many --rules\n", cli_progname);
                goto out;
            }
            rules[nrules++] = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'm':
            if (cli_parse_size(optarg, &max_input) != 0) {
                fprintf(stderr, "%s scan: --max-input: expected a size such as 65536, 64k or 4M "
                                "(at most 1G), got '%s'\n",
                        cli_progname, optarg);
                goto out;
            }
            break;
        case 'k':
            keyfile = optarg;
            break;
        case 'p':
        case 'c':
            policy = optarg;
            break;
        case 'a':
            as = optarg;
            break;
        case 'M':
            model = optarg;
            break;
        case 'e':
            endpoint = optarg;
            break;
        case 'h':
            cli_usage(stdout);
            status = 0;
            goto out;
        default:
            cli_usage(stderr);
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s scan: unexpected argument '%s' (the text is read on stdin)\n",
                cli_progname, argv[optind]);
        goto out;
    }
    if (policy != NULL) {
        if (nrules > 0) {
            fprintf(stderr, "%s scan: --rules and --policy do not go together: the policy "
                            "names its rule packs\n", cli_progname);
            goto out;
        }
        status = cmd_scan_policy(policy, as, model, endpoint, json, max_input, keyfile);
        goto out;
    }
    if (as != NULL || model != NULL || endpoint != NULL) {
        fprintf(stderr, "%s scan: --as, --model and --endpoint need --policy\n", cli_progname);
        goto out;
    }
    if (nrules == 0)
        rules[nrules++] = VIGIE_DEFAULT_RULES;

    set = detect_load_paths(rules, nrules, &diag);
    if (set == NULL) {
        cli_print_diag(stderr, &diag, NULL);
        fprintf(stderr, "%s scan: rule packs did not load; nothing was scanned\n", cli_progname);
        goto out;
    }
    if (keyfile != NULL) {
        if (vigie_file_read(keyfile, 4096, &key, err, sizeof(err)) != VIGIE_OK) {
            fprintf(stderr, "%s scan: %s\n", cli_progname, err);
            goto out;
        }
        if (key.len < 32) {
            fprintf(stderr, "%s scan: %s: a pseudonym key needs at least 32 bytes\n", cli_progname,
                    keyfile);
            goto out;
        }
        mopts.key = (const unsigned char *)key.data;
        mopts.keylen = key.len;
    }
    sc = detect_scanner_new(set, max_input);
    map = detect_revmap_new();
    if (sc == NULL || map == NULL) {
        fprintf(stderr, "%s scan: out of memory\n", cli_progname);
        status = EXIT_REFUSED;
        goto out;
    }

    status = EXIT_REFUSED;
    rc = cli_read_stdin(max_input, &in);
    if (rc == VIGIE_ERR_TOO_BIG) {
        fprintf(stderr, "%s scan: input refused: larger than %zu bytes (--max-input)\n", cli_progname,
                max_input);
        goto out;
    }
    if (rc != VIGIE_OK) {
        fprintf(stderr, "%s scan: cannot read stdin: %s\n", cli_progname, vigie_strerror(rc));
        goto out;
    }
    vigie_buf_init(&out, 3 * max_input + 4096);
    rc = detect_redact(sc, in.data, in.len, &mopts, map, &out, &blocked);
    if (rc == VIGIE_ERR_CONFIG) {
        fprintf(stderr, "%s scan: a rule uses keyed pseudonyms: give the key with --key-file\n",
                cli_progname);
        status = EXIT_USAGE;
        goto out;
    }
    if (rc != VIGIE_OK) {
        fprintf(stderr, "%s scan: input refused: %s\n", cli_progname, vigie_strerror(rc));
        goto out;
    }
    if (json) {
        vigie_buf_init(&report, 8 * max_input + 65536);
        if ((rc = json_report(sc, &out, blocked, &report)) != VIGIE_OK) {
            fprintf(stderr, "%s scan: %s\n", cli_progname, vigie_strerror(rc));
            goto out;
        }
        rc = cli_write_all(report.data, report.len);
    } else {
        rc = cli_write_all(out.data ? out.data : "", out.len);
    }
    if (rc != 0) {
        fprintf(stderr, "%s scan: cannot write the result: %s\n", cli_progname, strerror(errno));
        goto out;
    }
    status = 0;
    if (blocked) {
        const struct detect_finding *f = detect_redact_findings(sc, &n);
        for (i = 0; i < n; i++)
            if (detect_finding_action(&f[i], &mopts) == DETECT_ACT_BLOCK)
                fprintf(stderr, "%s scan: blocked by rule %s (%s) at bytes %zu-%zu\n", cli_progname,
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

