/*
 * Loading rule packs from files: the one part of detection that touches the
 * file system, kept apart so that proxy/detect stays pure. Used by the
 * command line, the benchmarks and the tests; the gateway's reload will use it
 * through the policy module.
 */
#ifndef VIGIE_DETECT_LOAD_H
#define VIGIE_DETECT_LOAD_H

#include "detect/detect.h"

/* Builds and finishes a rule set from each path (a pack file, or a directory
 * whose *.yaml and *.yml files are loaded in name order). Every problem of
 * every file is added to diag. Returns the finished set, or NULL when anything
 * failed: a partial set is never returned, since a missing pack means
 * unchecked data. */
struct detect_set *detect_load_paths(const char *const *paths, size_t npaths,
                                     struct vigie_diag *diag);

#endif
