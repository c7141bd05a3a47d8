/* Policies from files: document, rule packs, credentials. */
#include <stdlib.h>
#include <string.h>

#include "detect/load.h"
#include "policy/load.h"

/* Reads a credential; trailing newlines (from `echo KEY > file`) are not part
 * of it. Returns VIGIE_OK with the value in out, or an error in err. */
static int read_credential(const struct policy_upstream_info *u, const char *policy_path,
                           struct vigie_buf *out, char *err, size_t errsz)
{
    vigie_buf_init(out, 16384);
    if (u->cred_env != NULL) {
        const char *v = getenv(u->cred_env);
        if (v == NULL || v[0] == '\0') {
            vigie_errf(err, errsz, "environment variable %s is not set", u->cred_env);
            return VIGIE_ERR_CONFIG;
        }
        return vigie_buf_append(out, v, strlen(v));
    }
    if (u->cred_file != NULL) {
        char *path = vigie_path_beside(policy_path, u->cred_file);
        int rc;
        if (path == NULL)
            return VIGIE_ERR_NOMEM;
        rc = vigie_file_read(path, 16384, out, err, errsz);
        free(path);
        if (rc != VIGIE_OK)
            return rc;
        while (out->len > 0 && (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == '\r'))
            out->data[--out->len] = '\0';
        if (out->len == 0) {
            vigie_errf(err, errsz, "credential file %s is empty", u->cred_file);
            vigie_buf_free(out);
            return VIGIE_ERR_CONFIG;
        }
        return VIGIE_OK;
    }
    return VIGIE_OK; /* no credential configured */
}

struct policy *policy_load_file(const char *path, const char *default_rules, unsigned flags,
                                struct vigie_diag *diag)
{
    return policy_load_file_at(path, default_rules, flags, NULL, diag);
}

struct policy *policy_load_file_at(const char *path, const char *default_rules, unsigned flags,
                                   const char *upstream_url, struct vigie_diag *diag)
{
    struct vigie_buf buf;
    struct conf_doc *doc = NULL;
    struct detect_set *set = NULL;
    struct policy *p = NULL;
    const struct conf_node *root, *rules;
    const char *paths[VIGIE_PACK_FILES_MAX];
    char *owned[VIGIE_PACK_FILES_MAX];
    size_t npaths = 0, i, before = diag->n + diag->dropped;
    char err[512];

    memset(owned, 0, sizeof(owned));
    if (vigie_file_read(path, VIGIE_CONF_FILE_MAX, &buf, err, sizeof(err)) != VIGIE_OK) {
        vigie_diag_add(diag, NULL, 0, 0, "%s", err);
        return NULL;
    }
    doc = conf_doc_parse(path, buf.data, buf.len, diag);
    vigie_buf_free(&buf);
    if (doc == NULL)
        return NULL;
    root = conf_doc_root(doc);
    rules = (root != NULL && root->kind == CONF_MAP) ? conf_map_get(root, "rules") : NULL;
    if (rules == NULL) {
        if (default_rules == NULL) {
            vigie_diag_add(diag, path, 1, 1, "missing 'rules' (the rule packs this policy uses)");
            goto fail;
        }
        paths[npaths++] = default_rules;
    } else {
        const struct conf_node *const *items = (const struct conf_node *const *)&rules;
        size_t n = 1;
        if (rules->kind == CONF_SEQ) {
            items = (const struct conf_node *const *)rules->vals;
            n = rules->n;
        }
        if (n == 0 || n > VIGIE_PACK_FILES_MAX) {
            conf_diag(diag, rules, "'rules' must name 1 to %u pack files or directories",
                      VIGIE_PACK_FILES_MAX);
            goto fail;
        }
        for (i = 0; i < n; i++) {
            const char *s;
            if (conf_get_str(items[i], &s, NULL, diag) != VIGIE_OK)
                goto fail;
            if ((owned[npaths] = vigie_path_beside(path, s)) == NULL)
                goto fail;
            paths[npaths] = owned[npaths];
            npaths++;
        }
    }
    if ((set = detect_load_paths(paths, npaths, diag)) == NULL) {
        vigie_diag_add(diag, path, 0, 0, "the policy's rule packs did not load");
        goto fail;
    }
    p = policy_compile(doc, set, diag); /* takes set */
    set = NULL;
    for (i = 0; p != NULL && upstream_url != NULL && i < policy_nupstreams(p); i++) {
        struct policy_upstream *u = (struct policy_upstream *)policy_upstream_at(p, i);
        if (policy_upstream_set_url(p, u, upstream_url) != VIGIE_OK) {
            vigie_diag_add(diag, path, 0, 0, "out of memory");
            policy_unref(p);
            p = NULL;
        }
    }
    if (p != NULL && (flags & POLICY_LOAD_CREDENTIALS)) {
        for (i = 0; i < policy_nupstreams(p); i++) {
            struct policy_upstream *u = (struct policy_upstream *)policy_upstream_at(p, i);
            struct policy_upstream_info info;
            struct vigie_buf cred;
            policy_upstream_info(u, &info);
            if ((info.cred_env == NULL && info.cred_file == NULL) ||
                strncmp(info.url, "builtin:", 8) == 0)
                continue;
            if (read_credential(&info, path, &cred, err, sizeof(err)) != VIGIE_OK) {
                vigie_diag_add(diag, info.where.file, info.where.line, info.where.col,
                               "upstream '%s': %s", info.name, err);
                continue;
            }
            if (policy_upstream_set_credential(u, cred.data, cred.len) != VIGIE_OK)
                vigie_diag_add(diag, path, 0, 0, "out of memory");
            vigie_buf_free(&cred);
        }
        if (diag->n + diag->dropped != before) {
            policy_unref(p);
            p = NULL;
        }
    }
fail:
    for (i = 0; i < npaths; i++)
        free(owned[i]);
    detect_set_free(set);
    conf_doc_free(doc);
    return p;
}

size_t policy_probe_credentials(const struct policy *p, struct vigie_diag *warn)
{
    size_t i, missing = 0;
    char err[512];

    for (i = 0; i < policy_nupstreams(p); i++) {
        struct policy_upstream_info info;
        struct vigie_buf cred;
        policy_upstream_info(policy_upstream_at(p, i), &info);
        if (info.cred_env == NULL && info.cred_file == NULL)
            continue;
        if (read_credential(&info, policy_file(p), &cred, err, sizeof(err)) != VIGIE_OK) {
            vigie_diag_add(warn, info.where.file, info.where.line, info.where.col,
                           "upstream '%s': credential not available here: %s", info.name, err);
            missing++;
            continue;
        }
        vigie_buf_free(&cred);
    }
    return missing;
}
