/*
 * vigie's command line: dispatches to the commands in proxy/cli/.
 *
 *   vigie scan  [--rules PATH]... [--json] [--max-input N] [--key-file FILE]
 *   vigie scan  --policy FILE [--as CALLER] [--model M] [--endpoint E] [--json]
 *   vigie check [-c FILE | --policy FILE]
 *   vigie test  FILE...
 *   vigie serve [-c FILE] [--listen A:P]... [--upstream URL] [--policy FILE] ...
 *
 * Commands still to come (serve, report, verify) are named in DESIGN.md; each
 * arrives with the module it needs. Exit codes are in proxy/cli/cli.h.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

void cli_usage(FILE *f)
{
    fprintf(f,
            "usage: %s COMMAND [OPTIONS]\n"
            "\n"
            "commands:\n"
            "  serve     run the gateway (no option: the demo; serve --help)\n"
            "  scan      read text on stdin, write it masked on stdout\n"
            "  check     validate a policy and its rule packs; print a summary\n"
            "  test      run policy test cases (YAML files)\n"
            "  report    usage reports from audit logs (report --help)\n"
            "  verify    check audit logs' chain, MACs and checkpoints (verify --help)\n"
            "  version   print the version\n"
            "  help      this message\n"
            "\n"
            "scan options:\n"
            "  -r, --rules PATH      rule pack file or directory (repeatable;\n"
            "                        default: %s)\n"
            "  -j, --json            print {\"text\", \"blocked\", \"findings\": [...]}\n"
            "  -m, --max-input N     refuse input over N bytes (default %u)\n"
            "  -k, --key-file FILE   HMAC key for keyed pseudonyms\n"
            "  -p, --policy FILE     dry run: decide the text as a request under this policy\n"
            "      --as CALLER       caller id from the policy (or a header user name)\n"
            "      --model M         model asked (default: the caller's first allowed model)\n"
            "      --endpoint E      chat, completions or embeddings (default chat)\n"
            "\n"
            "check options:\n"
            "  -p, --policy FILE     the policy to check (default %s)\n"
            "  -c FILE               a gateway configuration (vigie serve -c): the file, its TLS\n"
            "                        certificates and keys, then its policy\n"
            "\n"
            "exit: 0 ok, 1 refused / invalid / test failed, 2 usage or load error,\n"
            "      3 (scan) blocked data found\n",
            cli_progname, VIGIE_DEFAULT_RULES, VIGIE_SCAN_INPUT_MAX, VIGIE_DEFAULT_POLICY);
}

int main(int argc, char **argv)
{
    const char *cmd;

    if (argc < 2) {
        cli_usage(stderr);
        return EXIT_USAGE;
    }
    cmd = argv[1];
    if (strcmp(cmd, "scan") == 0)
        return cmd_scan(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (strcmp(cmd, "test") == 0)
        return cmd_test(argc - 1, argv + 1);
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return cmd_report(argc - 1, argv + 1);
    if (strcmp(cmd, "verify") == 0)
        return cmd_verify(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("vigie %s\n", VIGIE_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        cli_usage(stdout);
        return 0;
    }
    fprintf(stderr, "%s: unknown command '%s'\n", cli_progname, cmd);
    cli_usage(stderr);
    return EXIT_USAGE;
}
