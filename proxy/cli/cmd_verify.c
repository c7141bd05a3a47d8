/*
 * vigie verify: checks audit logs (chain, sequence, MACs, exported
 * checkpoints) and says where the first break is. Exit 0: intact; 1: broken;
 * 2: usage, or a file that cannot be read.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cli/cli.h"

#define VERIFY_FILES_MAX 4096

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s verify --audit-log FILE [FILE...] [--key-file KEY]\n"
            "                    [--checkpoints FILE | --no-checkpoints] [--json]\n"
            "\n"
            "Checks that the audit logs are whole and unchanged: every record follows the\n"
            "one before (seq, ts, prev = SHA-256 of that record), every MAC verifies with\n"
            "the audit key, and every exported checkpoint is found in the logs (so records\n"
            "cut off the end are seen). Rotated files may be given in any order.\n"
            "\n"
            "  -a, --audit-log FILE   a log file (repeatable; more files may follow)\n"
            "  -k, --key-file KEY     the audit key; without it MACs are not checked\n"
            "  -c, --checkpoints FILE exported checkpoints (default: ACTIVE.checkpoints, for\n"
            "                         the first log named that is the active file or one\n"
            "                         rotated from it (ACTIVE.<time>), when it exists)\n"
            "      --no-checkpoints   do not read exported checkpoints\n"
            "  -j, --json             the verdict as one JSON object\n"
            "\n"
            "exit: 0 intact, 1 broken, 2 usage or unreadable file\n",
            cli_progname);
}

/* Is name FILE.<YYYYmmddTHHMMSSZ>[-N], a file the writer rotated? Returns the
 * length of FILE, or 0. */
static size_t rotated_stem(const char *name)
{
    const char *dot = strrchr(name, '.'), *p;
    size_t i;

    if (dot == NULL || dot == name || strlen(dot + 1) < 16)
        return 0;
    p = dot + 1;
    for (i = 0; i < 16; i++) {
        char c = p[i];
        if (i == 8 ? c != 'T' : i == 15 ? c != 'Z' : !(c >= '0' && c <= '9'))
            return 0;
    }
    if (p[16] == '-') {
        for (i = 17; p[i] >= '0' && p[i] <= '9'; i++)
            ;
        if (i == 17 || p[i] != '\0')
            return 0;
    } else if (p[16] != '\0') {
        return 0;
    }
    return (size_t)(dot - name);
}

/* The writer's default place for exported checkpoints is ACTIVE.checkpoints;
 * among the files named, the active one is the one without a rotation
 * suffix, or the stem of a rotated one. The first that exists. */
static char *default_checkpoints(const char *const *files, size_t nfiles)
{
    size_t i;

    for (i = 0; i < nfiles; i++) {
        size_t stem = rotated_stem(files[i]);
        char *p = NULL;
        if (asprintf(&p, "%.*s.checkpoints", stem > 0 ? (int)stem : (int)strlen(files[i]),
                     files[i]) < 0)
            return NULL;
        if (access(p, F_OK) == 0)
            return p;
        free(p);
    }
    return NULL;
}

int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"audit-log", required_argument, NULL, 'a'},
        {"key-file", required_argument, NULL, 'k'},
        {"checkpoints", required_argument, NULL, 'c'},
        {"no-checkpoints", no_argument, NULL, 'N'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *files[VERIFY_FILES_MAX];
    size_t nfiles = 0;
    const char *keyfile = NULL, *ckfile = NULL;
    char *ckdefault = NULL, err[256];
    int nock = 0, json = 0, c, rc = EXIT_USAGE, vrc;
    unsigned char *key = NULL;
    size_t keylen = 0;
    struct audit_verify_opts o;
    struct audit_verify_result res;

    optind = 1;
    while ((c = getopt_long(argc, argv, "a:k:c:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (nfiles == VERIFY_FILES_MAX) {
                fprintf(stderr, "%s verify: more than %d files\n", cli_progname, VERIFY_FILES_MAX);
                return EXIT_USAGE;
            }
            files[nfiles++] = optarg;
            break;
        case 'k':
            keyfile = optarg;
            break;
        case 'c':
            ckfile = optarg;
            break;
        case 'N':
            nock = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    for (; optind < argc; optind++) {
        if (nfiles == VERIFY_FILES_MAX) {
            fprintf(stderr, "%s verify: more than %d files\n", cli_progname, VERIFY_FILES_MAX);
            return EXIT_USAGE;
        }
        files[nfiles++] = argv[optind];
    }
    {
        /* `audit.log*` also names the checkpoint file: it is not a log; it is
         * the checkpoint file, unless one was named. */
        size_t i, k = 0;
        for (i = 0; i < nfiles; i++) {
            size_t n = strlen(files[i]);
            if (n > 12 && strcmp(files[i] + n - 12, ".checkpoints") == 0) {
                if (ckfile == NULL && !nock)
                    ckfile = files[i];
                continue;
            }
            files[k++] = files[i];
        }
        nfiles = k;
    }
    if (nfiles == 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (ckfile != NULL && nock) {
        fprintf(stderr, "%s verify: --checkpoints and --no-checkpoints together\n", cli_progname);
        return EXIT_USAGE;
    }
    if (keyfile != NULL && audit_key_read(keyfile, &key, &keylen, err, sizeof(err)) != VIGIE_OK) {
        fprintf(stderr, "%s verify: %s: %s\n", cli_progname, keyfile, err);
        return EXIT_USAGE;
    }
    if (ckfile == NULL && !nock)
        ckfile = ckdefault = default_checkpoints(files, nfiles);
    memset(&o, 0, sizeof(o));
    o.files = files;
    o.nfiles = nfiles;
    o.key = key;
    o.keylen = keylen;
    o.checkpoint_file = ckfile;
    vrc = audit_verify(&o, &res);
    if (vrc != VIGIE_OK) {
        /* Not a verdict: something could not be read (or memory ran out).
         * Exit 2, so that a script never takes it for "broken" or "intact". */
        fprintf(stderr, "%s verify: %s%s%s\n", cli_progname, res.where[0] != '\0' ? res.where : "",
                res.where[0] != '\0' ? ": " : "",
                res.why[0] != '\0' ? res.why : vigie_strerror(vrc));
        rc = EXIT_USAGE;
        goto out;
    }
    if (json) {
        struct vigie_buf b;
        int jr;
        vigie_buf_init(&b, 8192);
        jr = vigie_buf_printf(&b,
                              "{\"ok\":%s,\"records\":%llu,\"files\":%llu,\"first_seq\":%llu,"
                              "\"last_seq\":%llu,\"macs_checked\":%s,\"checkpoint_file\":",
                              res.ok ? "true" : "false", (unsigned long long)res.records,
                              (unsigned long long)res.files, (unsigned long long)res.first_seq,
                              (unsigned long long)res.last_seq, key != NULL ? "true" : "false");
        if (jr == VIGIE_OK)
            jr = ckfile != NULL ? vigie_buf_json_str(&b, ckfile, strlen(ckfile))
                                : vigie_buf_printf(&b, "null");
        if (jr == VIGIE_OK)
            jr = vigie_buf_printf(&b,
                                  ",\"checkpoints_exported\":%llu,\"checkpoints_found\":%llu,"
                                  "\"clean_end\":%s,\"where\":",
                                  (unsigned long long)res.checkpoints_exported,
                                  (unsigned long long)res.checkpoints_found,
                                  res.clean_end ? "true" : "false");
        if (jr == VIGIE_OK && res.ok)
            jr = vigie_buf_printf(&b, "null,\"why\":null}\n");
        else if (jr == VIGIE_OK) {
            jr = vigie_buf_json_str(&b, res.where, strlen(res.where));
            if (jr == VIGIE_OK)
                jr = vigie_buf_printf(&b, ",\"why\":");
            if (jr == VIGIE_OK)
                jr = vigie_buf_json_str(&b, res.why, strlen(res.why));
            if (jr == VIGIE_OK)
                jr = vigie_buf_printf(&b, "}\n");
        }
        if (jr == VIGIE_OK)
            cli_write_all(b.data, b.len);
        vigie_buf_free(&b);
        if (jr != VIGIE_OK) {
            fprintf(stderr, "%s verify: out of memory\n", cli_progname);
            rc = EXIT_USAGE;
            goto out;
        }
    } else if (res.ok) {
        printf("intact: %llu records in %llu file(s), seq %llu..%llu\n",
               (unsigned long long)res.records, (unsigned long long)res.files,
               (unsigned long long)res.first_seq, (unsigned long long)res.last_seq);
        printf("  MACs: %s\n", key != NULL ? "all verified with the audit key"
                                           : "NOT checked (no --key-file): chain only");
        if (ckfile != NULL)
            printf("  checkpoints: %llu exported, %llu found in these files (%s)\n",
                   (unsigned long long)res.checkpoints_exported,
                   (unsigned long long)res.checkpoints_found, ckfile);
        else
            printf("  checkpoints: none read: records cut off the end would not be seen\n");
        if (res.first_seq > 1)
            printf("  note: the chain starts at seq %llu: files before it were not given\n",
                   (unsigned long long)res.first_seq);
        printf("  end: %s\n", res.clean_end ? "a clean stop"
                                            : "no stop record (the gateway is running, or "
                                              "stopped without closing the log)");
    } else {
        printf("BROKEN at %s: %s\n", res.where[0] != '\0' ? res.where : "?", res.why);
        printf("  %llu record(s) verified before it\n", (unsigned long long)res.records);
    }
    rc = res.ok ? 0 : EXIT_REFUSED;
out:
    if (key != NULL) {
        vigie_wipe(key, keylen);
        free(key);
    }
    free(ckdefault);
    return rc;
}
