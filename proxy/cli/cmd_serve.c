/*
 * vigie serve: the gateway. The configuration file (-c) first, then the
 * command line over it; with no argument at all, from the source tree, the
 * demo (shipped policy, every upstream the built-in echo model, loopback).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "cli/cli.h"
#include "net/log.h"
#include "net/net.h"

#ifndef VIGIE_SOURCE_POLICY
#define VIGIE_SOURCE_POLICY VIGIE_DEFAULT_POLICY
#endif
#ifndef VIGIE_DEMO_DIR
#define VIGIE_DEMO_DIR "vigie-demo"
#endif

static void serve_usage(FILE *f)
{
    fprintf(f,
            "usage: %s serve [-c FILE] [--listen ADDR:PORT]... [--admin ADDR:PORT]\n"
            "                [--upstream URL] [--policy FILE] [--workers N] [--key-file FILE]\n"
            "                [--audit-log FILE --audit-key FILE | --no-audit]\n"
            "                [--log-level debug|info|warn|error]\n"
            "\n"
            "  -c FILE             gateway configuration (docs/operations.md)\n"
            "  -l, --listen A:P    plain-HTTP listener (repeatable; replaces the file's)\n"
            "      --admin A:P     /healthz and /metrics listener\n"
            "  -u, --upstream URL  point every upstream of the policy at URL\n"
            "                      (http://, https:// or builtin:echo)\n"
            "  -p, --policy FILE   the policy (default %s)\n"
            "  -w, --workers N     worker threads (default: one per CPU)\n"
            "  -k, --key-file FILE HMAC key of keyed pseudonyms\n"
            "      --audit-log F   the audit log (docs/audit.md); required, or --no-audit\n"
            "      --audit-key F   the audit MAC key (16+ bytes, mode 0600)\n"
            "      --no-audit      run without usage records\n"
            "\n"
            "With no argument: the demo (shipped policy, built-in echo model, 127.0.0.1:8080,\n"
            "audit log in %s).\n"
            "SIGHUP reloads the configuration and policy; SIGUSR1 reopens the audit log\n"
            "(logrotate); SIGTERM drains and exits.\n",
            cli_progname, VIGIE_SOURCE_POLICY, VIGIE_DEMO_DIR);
}

static int set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = strdup(v);
    return *dst != NULL ? 0 : -1;
}

/* What the command line said, kept for reloads: SIGHUP reads the file again
 * and lays the same options over it. */
struct serve_opts {
    const char *conf_file;
    const char *listens[NET_LISTEN_MAX];
    size_t nlistens;
    const char *admin, *upstream, *policy, *keyfile;
    const char *audit_log, *audit_key;
    int no_audit;
    long workers;
    int level;
    int demo;
};

/* Builds the configuration: defaults, the file, then the command line, then
 * the defaults that depend on the others. Returns VIGIE_OK, or an error with
 * every problem in diag (cfg is then to be finished by the caller). */
static int serve_config(struct net_config *cfg, void *arg, struct vigie_diag *diag)
{
    const struct serve_opts *o = arg;
    size_t i;

    net_config_defaults(cfg);
    cfg->demo = o->demo;
    if (o->conf_file != NULL && net_config_load(cfg, o->conf_file, diag) != VIGIE_OK)
        return VIGIE_ERR_CONFIG;
    if (o->nlistens > 0) {
        /* The command line's listeners replace the file's plain ones. */
        size_t k = 0;
        for (i = 0; i < cfg->nlistens; i++) {
            if (cfg->listens[i].ncerts > 0)
                cfg->listens[k++] = cfg->listens[i];
            else
                free(cfg->listens[i].address);
        }
        cfg->nlistens = k;
        for (i = 0; i < o->nlistens && cfg->nlistens < NET_LISTEN_MAX; i++) {
            struct net_listen *ln = &cfg->listens[cfg->nlistens];
            char err[256];
            memset(ln, 0, sizeof(*ln));
            if (net_address_parse(o->listens[i], &ln->ss, &ln->sslen, err, sizeof(err)) !=
                VIGIE_OK) {
                vigie_diag_add(diag, NULL, 0, 0, "--listen %s", err);
                return VIGIE_ERR_CONFIG;
            }
            if ((ln->address = strdup(o->listens[i])) == NULL)
                return VIGIE_ERR_NOMEM;
            cfg->nlistens++;
        }
    } else if (cfg->nlistens == 0) {
        struct net_listen *ln = &cfg->listens[cfg->nlistens];
        char err[64];
        if ((ln->address = strdup("127.0.0.1:8080")) == NULL)
            return VIGIE_ERR_NOMEM;
        net_address_parse("127.0.0.1:8080", &ln->ss, &ln->sslen, err, sizeof(err));
        cfg->nlistens++;
    }
    if ((o->admin != NULL && set_str(&cfg->admin, o->admin) != 0) ||
        (o->upstream != NULL && set_str(&cfg->upstream_url, o->upstream) != 0) ||
        (o->policy != NULL && set_str(&cfg->policy_file, o->policy) != 0) ||
        (o->keyfile != NULL && set_str(&cfg->key_file, o->keyfile) != 0) ||
        (o->audit_log != NULL && set_str(&cfg->audit.file, o->audit_log) != 0) ||
        (o->audit_key != NULL && set_str(&cfg->audit.key_file, o->audit_key) != 0))
        return VIGIE_ERR_NOMEM;
    if (o->no_audit)
        cfg->audit_off = 1;
    if (cfg->policy_file == NULL &&
        set_str(&cfg->policy_file, access(VIGIE_SOURCE_POLICY, R_OK) == 0
                                       ? VIGIE_SOURCE_POLICY
                                       : VIGIE_DEFAULT_POLICY) != 0)
        return VIGIE_ERR_NOMEM;
    if (cfg->rules_dir == NULL && set_str(&cfg->rules_dir, VIGIE_DEFAULT_RULES) != 0)
        return VIGIE_ERR_NOMEM;
    if (o->workers > 0)
        cfg->workers = (unsigned)o->workers;
    if (o->level >= 0)
        cfg->log_level = o->level;
    cfg->reload = serve_config;
    cfg->reload_arg = arg;
    return net_config_check(cfg, diag);
}

/* The demo's audit log and key, in VIGIE_DEMO_DIR: the key is drawn once
 * and kept, so the demo's log stays one chain across runs. */
static int demo_audit(void)
{
    const char *key = VIGIE_DEMO_DIR "/audit.key";
    unsigned char k[32];
    int fd;

    if (mkdir(VIGIE_DEMO_DIR, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s serve: cannot create %s: %s\n", cli_progname, VIGIE_DEMO_DIR,
                strerror(errno));
        return -1;
    }
    if (access(key, F_OK) == 0)
        return 0;
    fd = open(key, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || RAND_bytes(k, sizeof(k)) != 1 || cli_write_fd(fd, k, sizeof(k)) != 0) {
        fprintf(stderr, "%s serve: cannot write the demo's audit key %s\n", cli_progname, key);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    vigie_wipe(k, sizeof(k));
    close(fd);
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},   {"admin", required_argument, NULL, 'a'},
        {"upstream", required_argument, NULL, 'u'}, {"policy", required_argument, NULL, 'p'},
        {"workers", required_argument, NULL, 'w'},  {"key-file", required_argument, NULL, 'k'},
        {"log-level", required_argument, NULL, 'L'}, {"help", no_argument, NULL, 'h'},
        {"audit-log", required_argument, NULL, 'A'}, {"audit-key", required_argument, NULL, 'K'},
        {"no-audit", no_argument, NULL, 'N'},       {NULL, 0, NULL, 0}};
    struct serve_opts o;
    struct net_config cfg;
    struct vigie_diag diag;
    int c, rc;

    memset(&o, 0, sizeof(o));
    o.level = -1;
    while ((c = getopt_long(argc, argv, "c:l:u:p:w:k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o.conf_file = optarg; break;
        case 'l':
            if (o.nlistens == NET_LISTEN_MAX) {
                fprintf(stderr, "%s serve: at most %d listeners\n", cli_progname, NET_LISTEN_MAX);
                return EXIT_USAGE;
            }
            o.listens[o.nlistens++] = optarg;
            break;
        case 'a': o.admin = optarg; break;
        case 'u': o.upstream = optarg; break;
        case 'p': o.policy = optarg; break;
        case 'k': o.keyfile = optarg; break;
        case 'A': o.audit_log = optarg; break;
        case 'K': o.audit_key = optarg; break;
        case 'N': o.no_audit = 1; break;
        case 'w': {
            char *end;
            o.workers = strtol(optarg, &end, 10);
            if (*end != '\0' || o.workers < 1 || o.workers > 64) {
                fprintf(stderr, "%s serve: --workers takes 1 to 64\n", cli_progname);
                return EXIT_USAGE;
            }
            break;
        }
        case 'L':
            if ((o.level = vlog_level_parse(optarg)) < 0) {
                fprintf(stderr, "%s serve: --log-level is debug, info, warn or error\n",
                        cli_progname);
                return EXIT_USAGE;
            }
            break;
        case 'h': serve_usage(stdout); return 0;
        default: serve_usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s serve: unexpected argument '%s'\n", cli_progname, argv[optind]);
        return EXIT_USAGE;
    }
    if (argc <= 1) {
        /* The demo: nothing to configure, nothing to reach. */
        o.demo = 1;
        o.upstream = "builtin:echo";
        o.admin = "127.0.0.1:8081";
        o.listens[o.nlistens++] = "127.0.0.1:8080";
        if (demo_audit() != 0)
            return 1;
        o.audit_log = VIGIE_DEMO_DIR "/audit.log";
        o.audit_key = VIGIE_DEMO_DIR "/audit.key";
    }
    if (o.no_audit && (o.audit_log != NULL || o.audit_key != NULL)) {
        fprintf(stderr, "%s serve: --no-audit with --audit-log or --audit-key\n", cli_progname);
        return EXIT_USAGE;
    }
    for (c = 0; c < (int)o.nlistens; c++) {
        struct sockaddr_storage ss;
        socklen_t len;
        char err[256];
        if (net_address_parse(o.listens[c], &ss, &len, err, sizeof(err)) != VIGIE_OK) {
            fprintf(stderr, "%s serve: --listen %s\n", cli_progname, err);
            return EXIT_USAGE;
        }
    }
    if (o.upstream != NULL && strncmp(o.upstream, "http://", 7) != 0 &&
        strncmp(o.upstream, "https://", 8) != 0 && strcmp(o.upstream, "builtin:echo") != 0) {
        fprintf(stderr, "%s serve: --upstream must be http://, https:// or builtin:echo\n",
                cli_progname);
        return EXIT_USAGE;
    }
    vigie_diag_init(&diag);
    if (serve_config(&cfg, &o, &diag) != VIGIE_OK) {
        cli_print_diag(stderr, &diag, "");
        vigie_diag_free(&diag);
        net_config_fini(&cfg);
        return 1;
    }
    vigie_diag_free(&diag);
    vlog_open(STDERR_FILENO, (enum vlog_level)cfg.log_level);
    if (cfg.demo)
        fprintf(stderr,
                "vigie demo: gateway on http://127.0.0.1:8080 (admin http://127.0.0.1:8081)\n"
                "  policy %s, every upstream is the built-in echo model.\n"
                "  try:  curl -s http://127.0.0.1:8080/v1/chat/completions \\\n"
                "          -H 'Authorization: Bearer demo-portal-key' \\\n"
                "          -H 'Content-Type: application/json' \\\n"
                "          -d '{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                "\"content\":\"Je suis Jean Dupont, jean.dupont@example.fr\"}]}'\n"
                "  audit log %s; after a few requests:\n"
                "        %s report --audit-log %s\n"
                "        %s verify --audit-log %s --key-file %s\n",
                cfg.policy_file, cfg.audit.file, cli_progname, cfg.audit.file, cli_progname,
                cfg.audit.file, cfg.audit.key_file);
    rc = net_serve(&cfg);
    net_config_fini(&cfg);
    return rc;
}
