/*
 * The command line's shared pieces. Each command lives in its own file
 * (proxy/cli/cmd_*.c); proxy/main.c dispatches.
 *
 * Exit codes, for scripts and CI jobs, the same for every command:
 *   0  success (scan: the text may be sent; check: valid; test: all passed)
 *   1  refused or failed (scan: input refused or request denied; check: invalid;
 *      test: a case failed)
 *   2  usage or load error
 *   3  scan only: the text holds data whose action is "block"
 */
#ifndef VIGIE_CLI_H
#define VIGIE_CLI_H

#include <stdio.h>

#include "core/core.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_BLOCKED 3

#ifndef VIGIE_DEFAULT_RULES
#define VIGIE_DEFAULT_RULES "/usr/share/vigie/rules"
#endif
#ifndef VIGIE_DEFAULT_POLICY
#define VIGIE_DEFAULT_POLICY "/etc/vigie/policy.yaml"
#endif

extern const char *cli_progname;

int cli_read_stdin(size_t max, struct vigie_buf *in);
int cli_parse_size(const char *s, size_t *out);
void cli_print_diag(FILE *f, const struct vigie_diag *d, const char *prefix);
int cli_write_all(const char *p, size_t n);
/* write(2) of every byte to fd, retried on EINTR: 0 or -1. */
int cli_write_fd(int fd, const void *buf, size_t n);

void cli_usage(FILE *f);
int cmd_scan(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_serve(int argc, char **argv);
/* Audit logs (cmd_report.c, cmd_verify.c). */
int cmd_report(int argc, char **argv);
int cmd_verify(int argc, char **argv);
/* `vigie scan --policy`: the dry run (cmd_policy.c). */
int cmd_scan_policy(const char *policy, const char *caller, const char *model,
                    const char *endpoint, int json, size_t max_input, const char *keyfile);

#endif
