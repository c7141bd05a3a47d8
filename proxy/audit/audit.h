/*
 * audit: the usage records auditors read. One JSON line per exchange (and per
 * start, stop, reload, checkpoint, file change), hash-chained and MACed, so
 * that a modified, deleted, inserted, reordered or truncated record is found
 * by `vigie verify`, across rotated files. A record never holds a prompt, a
 * value found in one, a header value or a credential: rule ids, categories,
 * counts, names, statuses, sizes and durations only.
 *
 * ---- The line (format version 1) -------------------------------------------
 *
 *   {"v":1,"seq":S,"ts":"2026-11-26T21:00:00.123Z","type":"T",FIELDS,"prev":"P","mac":"M"}\n
 *
 * - seq: 1 for the first record ever written, then +1 for every record,
 *   across files, restarts and rotations. Never reused.
 * - ts: UTC, milliseconds, non-decreasing along the chain.
 * - FIELDS: the type's own fields (below); may be empty, then no comma.
 * - P: the chain link, hex SHA-256 of the previous record's line (its bytes
 *   from '{' to '}', newline excluded). 64 '0' for the first record (seq 1).
 * - M: hex HMAC-SHA-256(audit key, the line's bytes from '{' up to and
 *   including the closing quote of P's value). Without the key nobody can
 *   write a record that verifies; with only the chain, anyone can check that
 *   nothing was changed, removed or inserted between two trusted points.
 * - Keys always come in this order; strings are JSON-escaped UTF-8. The
 *   verifier works on the bytes, never on a re-serialisation.
 *
 * ---- Types and their fields -------------------------------------------------
 *
 * exchange    one per request that reached the gateway's HTTP layer:
 *             "id","caller","groups":[..],"client","endpoint","model",
 *             "model_served","upstream","trust","policy":{"id","version",
 *             "mode"},"decision","findings":[{"rule","category","count",
 *             "action"}],"stream","tokens_in","tokens_out","bytes_in",
 *             "bytes_out","status","code","ms","vigie_ms"
 *             (null where unknown; decision is allow, mask, reroute, block,
 *             deny, error, passthrough or none).
 * start       "version","pid","workers","policy":{..},"file","key_id",
 *             "genesis" (true when this record starts a new chain).
 * stop        "reason","records" (records written by this process).
 * reload      "ok", and "policy":{..} or "errors":N.
 * segment     first record of a file opened while running:
 *             "reason" (rotate-size, rotate-time, reopen, recover),
 *             "file","previous_file".
 * checkpoint  "head" (hash of the previous record, = this record's prev),
 *             "file". Also exported, see below.
 * recovered   written at start when a torn last line was cut away:
 *             "truncated_bytes","last_seq".
 * storage_error  written when writing works again after a failure:
 *             "error" (errno name),"refused" (requests answered 503
 *             meanwhile),"since" (ts of the failure).
 *
 * ---- Checkpoints ------------------------------------------------------------
 *
 * Every checkpoint record is also appended, after the log was synced, to the
 * checkpoint file (another disk, another owner; a regular file, which the
 * writer reads back at start and a collector may follow):
 *
 *   {"ts":"..","seq":S,"file":"audit.log","hash":"H","mac":"M"}\n
 *
 * H is the hex SHA-256 of the checkpoint record's line; M the HMAC of the
 * bytes before ,"mac". `vigie verify --checkpoints FILE` requires every one of
 * them to be found in the logs, so cutting records off the end of the log,
 * which the chain alone cannot show, is found up to the last checkpoint.
 */
#ifndef VIGIE_AUDIT_H
#define VIGIE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

#define AUDIT_FORMAT 1
#define AUDIT_HASH_HEX 64 /* hex SHA-256 / HMAC-SHA-256 */
#define AUDIT_LINE_MAX 65536u /* bytes of a line, newline included: a longer line is refused
                                (writer) and an error (reader) */
#define AUDIT_KEY_MIN 16u

struct audit_config {
    char *file;            /* the active log; rotated files are FILE.<UTC time> */
    char *key_file;        /* the MAC key: 16 bytes or more, read once */
    char *checkpoint_file; /* NULL: FILE.checkpoints */
    unsigned sync_interval_ms;   /* fdatasync at least this often when records wait (1..60000) */
    unsigned sync_records;       /* ... or as soon as this many wait (1: every record) */
    unsigned checkpoint_records; /* a checkpoint every N records ... */
    unsigned checkpoint_interval_ms; /* ... or this long, whichever comes first */
    uint64_t rotate_size;            /* bytes; 0: never by size */
    unsigned rotate_interval_s;      /* seconds; 0: never by time */
    /* (a file holding no record after its own first ones is not rotated) */
    int fail_open; /* the policy says requests go on while the log is broken */
};

void audit_config_defaults(struct audit_config *c);
void audit_config_fini(struct audit_config *c);

struct audit_log;

/* Opens (or creates, mode 0600) the log: reads the key, recovers a torn last
 * line, takes the chain's head from the last record (or from the checkpoint
 * file when the log is new and the checkpoint file is not), checks that the
 * last record verifies with the key and that no checkpoint is ahead of the
 * log, then starts the sync thread. Errors go to diag. start_fields: the start
 * record's fields (without "genesis"), written before returning. */
int audit_open(struct audit_log **out, const struct audit_config *cfg, const char *start_fields,
               struct vigie_diag *diag);

/* Appends one record: seq, ts and chain fields are added here, under the
 * writer's lock, and the line is written with write(2) before this returns,
 * so a process killed afterwards loses nothing (an unsynced tail is lost only
 * with the machine). fields: "k":v,... (no braces), len bytes. Returns
 * VIGIE_OK, or VIGIE_ERR_IO when it could not be written: the log is then
 * broken (audit_usable() says 0) until the sync thread manages to write again.
 * VIGIE_ERR_TOO_BIG (the line would be longer than AUDIT_LINE_MAX) or
 * VIGIE_ERR_NOMEM: this record is not written, the log stays usable.
 * Safe from any thread. */
int audit_write(struct audit_log *a, const char *type, const char *fields, size_t len);

/* 1 when a request may be served: the log is writable, or fail_open is set. */
int audit_usable(struct audit_log *a);
/* A request was refused because the log is broken (counted for the
 * storage_error record). */
void audit_refused(struct audit_log *a);
/* Asks for the file to be closed and opened again by name (logrotate moved
 * it). Async-signal-safe: the sync thread does it within a second. A moved
 * file is sealed with a checkpoint first; a file that was not moved is left
 * as it is. */
void audit_reopen(struct audit_log *a);
/* Changes fail_open (a reload). */
void audit_set_fail_open(struct audit_log *a, int fail_open);

struct audit_stats {
    uint64_t records, bytes, syncs, checkpoints, rotations, failures, refused;
    uint64_t last_seq, synced_seq;
    int broken;
};
void audit_get_stats(struct audit_log *a, struct audit_stats *st);

/* Writes the stop record and a checkpoint, syncs, stops the thread, closes.
 * NULL is a no-op. */
void audit_close(struct audit_log *a, const char *reason);

/* ---- helpers shared by the writer, verify and report ------------------------ */

/* Reads a key file: 16..4096 bytes, refused when group or others may read it. */
int audit_key_read(const char *path, unsigned char **key, size_t *keylen, char *err,
                   size_t errsz);
/* hex SHA-256 of n bytes; out has AUDIT_HASH_HEX + 1 bytes. */
void audit_sha256_hex(const void *p, size_t n, char *out);
/* hex HMAC-SHA-256. */
void audit_hmac_hex(const unsigned char *key, size_t keylen, const void *p, size_t n, char *out);

/* ---- verify ------------------------------------------------------------------ */

struct audit_verify_opts {
    const char *const *files; /* in any order: sorted by their first seq */
    size_t nfiles;
    const unsigned char *key; /* NULL: hashes and sequence only, MACs not checked */
    size_t keylen;
    const char *checkpoint_file; /* NULL: none */
    int quiet;
};

struct audit_verify_result {
    uint64_t records, files, checkpoints_found, checkpoints_exported;
    uint64_t first_seq, last_seq;
    int ok;            /* 1: every check passed */
    int clean_end;     /* the last record is a stop record */
    char where[512];   /* the first break: FILE:LINE (seq N) */
    char why[512];     /* what is wrong there */
};

/* Checks every file: line framing, JSON object, the fixed key order, seq +1,
 * ts not going back, prev = hash of the previous line (across files), MAC,
 * checkpoint heads, and every exported checkpoint present. Stops at the first
 * break. Returns VIGIE_OK when it could read everything (whatever the
 * verdict, in res->ok), VIGIE_ERR_IO when a file could not be read. */
int audit_verify(const struct audit_verify_opts *o, struct audit_verify_result *res);

#endif
