/*
 * Loading a policy from files: the policy document, the rule packs it names
 * and the upstream credentials. The one part of policy that touches the file
 * system and the environment, kept apart so proxy/policy stays pure. Used by
 * `vigie check`, `vigie scan --policy`, `vigie test` and the gateway's
 * (re)load.
 */
#ifndef VIGIE_POLICY_LOAD_H
#define VIGIE_POLICY_LOAD_H

#include "policy/policy.h"

/* Read credentials too: a gateway needs them, a check does not. */
#define POLICY_LOAD_CREDENTIALS 0x1u

/* Loads and compiles the policy at path. Its `rules` (a path or a list of
 * paths, relative to the policy's directory) name the rule packs; without
 * it, default_rules is used. With POLICY_LOAD_CREDENTIALS, each upstream's
 * credential is read from its environment variable or file, and a missing
 * one is an error. Every problem goes to diag; NULL when anything failed. */
struct policy *policy_load_file(const char *path, const char *default_rules, unsigned flags,
                                struct vigie_diag *diag);

/* The same, with every upstream pointed at upstream_url when it is not NULL
 * (`vigie serve --upstream URL`, the demo). Upstreams whose URL is then a
 * builtin: model need no credential, so none is read for them. */
struct policy *policy_load_file_at(const char *path, const char *default_rules, unsigned flags,
                                   const char *upstream_url, struct vigie_diag *diag);

/* Lists, as "FILE:LINE:COL: message" lines in warn, every credential that
 * could not be read now (for `vigie check`, which does not need them).
 * Returns how many are missing. */
size_t policy_probe_credentials(const struct policy *p, struct vigie_diag *warn);

#endif
