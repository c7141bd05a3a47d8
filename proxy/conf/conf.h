/*
 * conf: strict YAML documents as trees that remember where each node came from.
 *
 * Security officers edit rule packs and policies by hand; every error vigie
 * reports must point at the exact place: "rules/contact.yaml:12:14: unknown key
 * 'paterns' (did you mean 'pattern'?)". Every node carries its 1-based line and
 * column (libyaml marks + 1) and the file name.
 *
 * Strict on purpose: one document per file; anchors, aliases and merge keys
 * refused (no billion-laughs, nothing hidden at a distance); tags refused
 * except none; duplicate mapping keys refused (two values for one key would
 * let a reader and vigie disagree); keys must be scalars; nesting depth,
 * node count and scalar size bounded. The tree is built iteratively from
 * libyaml's event stream: no recursion on input.
 *
 * conf performs no I/O: it parses a buffer the caller has read.
 */
#ifndef VIGIE_CONF_H
#define VIGIE_CONF_H

#include <stddef.h>

#include "core/core.h"

enum conf_kind {
    CONF_SCALAR = 0,
    CONF_MAP = 1,
    CONF_SEQ = 2,
};

struct conf_doc;

struct conf_node {
    enum conf_kind kind;
    unsigned line; /* 1-based */
    unsigned col;  /* 1-based */
    const struct conf_doc *doc;
    /* CONF_SCALAR: the value, NUL-terminated (may contain NUL if quoted with
     * \0; len is authoritative). quoted != 0 for '...', "...", | and >. */
    const char *str;
    size_t len;
    int quoted;
    /* CONF_MAP: n pairs keys[i] -> vals[i], in file order.
     * CONF_SEQ: n items in vals[i]. */
    size_t n;
    struct conf_node **keys;
    struct conf_node **vals;
};

/* Parses buf[0..len) as one YAML document. file is the name used in
 * diagnostics. On error, returns NULL and adds "FILE:LINE:COL: message" lines
 * to diag. An empty document yields a doc whose root is NULL. */
struct conf_doc *conf_doc_parse(const char *file, const char *buf, size_t len,
                                struct vigie_diag *diag);
const struct conf_node *conf_doc_root(const struct conf_doc *d);
const char *conf_doc_file(const struct conf_doc *d);
void conf_doc_free(struct conf_doc *d);

/* Mapping lookup by key; NULL when absent or when node is not a map. */
const struct conf_node *conf_map_get(const struct conf_node *map, const char *key);

/* Checks that every key of map is one of allowed (NULL-terminated). Reports
 * each unknown key at the key's position as "unknown key 'x'", adding
 * " (did you mean 'y'?)" when an allowed key is within edit distance 2.
 * Returns the number of unknown keys. */
int conf_map_check_keys(const struct conf_node *map, const char *const *allowed,
                        struct vigie_diag *diag);

/* Typed reads. Each reports a precise diagnostic at the node and returns
 * VIGIE_ERR_CONFIG when the node has the wrong kind or value.
 * - bool: plain true/false (YAML 1.2 core schema; yes/no/on/off refused, with
 *   a hint).
 * - uint: plain decimal digits only, value in [min, max].
 * - str: any scalar (a plain "null"/"~" is refused as a string). */
int conf_get_bool(const struct conf_node *n, int *out, struct vigie_diag *diag);
int conf_get_uint(const struct conf_node *n, unsigned long min, unsigned long max,
                  unsigned long *out, struct vigie_diag *diag);
int conf_get_str(const struct conf_node *n, const char **out, size_t *len,
                 struct vigie_diag *diag);

/* Adds a diagnostic at a node's position (or the file alone if n is NULL). */
void conf_diag(struct vigie_diag *diag, const struct conf_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Human name of a node kind for messages: "a string", "a mapping", "a list". */
const char *conf_kind_name(enum conf_kind k);

#endif
