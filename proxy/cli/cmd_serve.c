/*
 * vigie serve: the gateway. The configuration file (-c) first, then the
 * command line over it; with no argument at all, from the source tree, the
 * demo (shipped policy, every upstream the built-in echo model, loopback).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "net/log.h"
#include "net/net.h"

#ifndef VIGIE_SOURCE_POLICY
#define VIGIE_SOURCE_POLICY VIGIE_DEFAULT_POLICY
#endif

static void serve_usage(FILE *f)
{
    fprintf(f,
            "usage: %s serve [-c FILE] [--listen ADDR:PORT]... [--admin ADDR:PORT]\n"
            "                [--upstream URL] [--policy FILE] [--workers N] [--key-file FILE]\n"
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
            "\n"
            "With no argument: the demo (shipped policy, built-in echo model, 127.0.0.1:8080).\n"
            "SIGHUP reloads the policy, its packs and credentials; SIGTERM drains and exits.\n",
            cli_progname, VIGIE_SOURCE_POLICY);
}

static int set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = strdup(v);
    return *dst != NULL ? 0 : -1;
}

int cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},   {"admin", required_argument, NULL, 'a'},
        {"upstream", required_argument, NULL, 'u'}, {"policy", required_argument, NULL, 'p'},
        {"workers", required_argument, NULL, 'w'},  {"key-file", required_argument, NULL, 'k'},
        {"log-level", required_argument, NULL, 'L'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    struct net_config cfg;
    struct vigie_diag diag;
    const char *conf_file = NULL;
    const char *listens[NET_LISTEN_MAX];
    size_t nlistens = 0, i;
    const char *admin = NULL, *upstream = NULL, *policy = NULL, *keyfile = NULL;
    long workers = 0;
    int level = -1, c, rc;

    while ((c = getopt_long(argc, argv, "c:l:u:p:w:k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': conf_file = optarg; break;
        case 'l':
            if (nlistens == NET_LISTEN_MAX) {
                fprintf(stderr, "%s serve: at most %d listeners\n", cli_progname, NET_LISTEN_MAX);
                return EXIT_USAGE;
            }
            listens[nlistens++] = optarg;
            break;
        case 'a': admin = optarg; break;
        case 'u': upstream = optarg; break;
        case 'p': policy = optarg; break;
        case 'k': keyfile = optarg; break;
        case 'w': {
            char *end;
            workers = strtol(optarg, &end, 10);
            if (*end != '\0' || workers < 1 || workers > 64) {
                fprintf(stderr, "%s serve: --workers takes 1 to 64\n", cli_progname);
                return EXIT_USAGE;
            }
            break;
        }
        case 'L':
            if ((level = vlog_level_parse(optarg)) < 0) {
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
    net_config_defaults(&cfg);
    vigie_diag_init(&diag);
    if (argc <= 1) {
        /* The demo: nothing to configure, nothing to reach. */
        cfg.demo = 1;
        upstream = "builtin:echo";
        admin = "127.0.0.1:8081";
        listens[nlistens++] = "127.0.0.1:8080";
    }
    if (conf_file != NULL && net_config_load(&cfg, conf_file, &diag) != VIGIE_OK)
        goto bad;
    if (nlistens > 0) {
        /* The command line's listeners replace the file's plain ones. */
        size_t k = 0;
        for (i = 0; i < cfg.nlistens; i++) {
            if (cfg.listens[i].ncerts > 0)
                cfg.listens[k++] = cfg.listens[i];
            else
                free(cfg.listens[i].address);
        }
        cfg.nlistens = k;
        for (i = 0; i < nlistens && cfg.nlistens < NET_LISTEN_MAX; i++) {
            struct net_listen *ln = &cfg.listens[cfg.nlistens];
            char err[256];
            memset(ln, 0, sizeof(*ln));
            if (net_address_parse(listens[i], &ln->ss, &ln->sslen, err, sizeof(err)) != VIGIE_OK) {
                fprintf(stderr, "%s serve: --listen %s\n", cli_progname, err);
                net_config_fini(&cfg);
                return EXIT_USAGE;
            }
            ln->address = strdup(listens[i]);
            cfg.nlistens++;
        }
    } else if (cfg.nlistens == 0) {
        struct net_listen *ln = &cfg.listens[cfg.nlistens++];
        char err[64];
        ln->address = strdup("127.0.0.1:8080");
        net_address_parse("127.0.0.1:8080", &ln->ss, &ln->sslen, err, sizeof(err));
    }
    if ((admin != NULL && set_str(&cfg.admin, admin) != 0) ||
        (upstream != NULL && set_str(&cfg.upstream_url, upstream) != 0) ||
        (policy != NULL && set_str(&cfg.policy_file, policy) != 0) ||
        (keyfile != NULL && set_str(&cfg.key_file, keyfile) != 0))
        goto bad;
    if (upstream != NULL && strncmp(upstream, "http://", 7) != 0 &&
        strncmp(upstream, "https://", 8) != 0 && strcmp(upstream, "builtin:echo") != 0) {
        fprintf(stderr, "%s serve: --upstream must be http://, https:// or builtin:echo\n",
                cli_progname);
        net_config_fini(&cfg);
        return EXIT_USAGE;
    }
    if (cfg.policy_file == NULL &&
        set_str(&cfg.policy_file, access(VIGIE_SOURCE_POLICY, R_OK) == 0 ? VIGIE_SOURCE_POLICY
                                                                         : VIGIE_DEFAULT_POLICY) != 0)
        goto bad;
    if (cfg.rules_dir == NULL && set_str(&cfg.rules_dir, VIGIE_DEFAULT_RULES) != 0)
        goto bad;
    if (workers > 0)
        cfg.workers = (unsigned)workers;
    if (level >= 0)
        cfg.log_level = level;
    if (net_config_check(&cfg, &diag) != VIGIE_OK)
        goto bad;
    vlog_open(STDERR_FILENO, (enum vlog_level)cfg.log_level);
    if (cfg.demo)
        fprintf(stderr,
                "vigie demo: gateway on http://127.0.0.1:8080 (admin http://127.0.0.1:8081)\n"
                "  policy %s, every upstream is the built-in echo model.\n"
                "  try:  curl -s http://127.0.0.1:8080/v1/chat/completions \\\n"
                "          -H 'Authorization: Bearer demo-portal-key' \\\n"
                "          -H 'Content-Type: application/json' \\\n"
                "          -d '{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                "\"content\":\"Je suis Jean Dupont, jean.dupont@example.fr\"}]}'\n",
                cfg.policy_file);
    rc = net_serve(&cfg);
    net_config_fini(&cfg);
    vigie_diag_free(&diag);
    return rc;
bad:
    cli_print_diag(stderr, &diag, "");
    vigie_diag_free(&diag);
    net_config_fini(&cfg);
    return 1;
}
