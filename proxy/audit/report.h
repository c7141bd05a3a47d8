/*
 * audit report: the usage reports auditors read, aggregated from audit logs
 * (audit.h): who used which model, how much, what was masked, blocked or
 * rerouted, and whether data reached an external model as written.
 *
 * Reading is streamed, line by line, with a dedicated scanner of the record
 * format (not a general JSON tree): memory grows with the number of distinct
 * keys (callers, groups, models, ...), never with the number of records, and
 * each table is capped at AUDIT_REPORT_ROWS_MAX keys, past which records are
 * counted in one "(other)" row. A line that is not a record (not JSON, a
 * field missing or of the wrong type, longer than AUDIT_LINE_MAX) is counted
 * as unreadable, with the place of the first one, and the rest is reported.
 *
 * A report never prints anything that is not in the records, and only
 * aggregates them. It does not check the chain or the MACs: that is `vigie
 * verify`'s job, to run first.
 */
#ifndef VIGIE_AUDIT_REPORT_H
#define VIGIE_AUDIT_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "audit/audit.h"

/* Limits of a report (kept beside the module: they bound its memory). */
#define AUDIT_REPORT_KEY_MAX       128u    /* bytes of one key; longer ones are cut, with "…" */
#define AUDIT_REPORT_ROWS_MAX      100000u /* distinct keys per table; the rest in "(other)" */
#define AUDIT_REPORT_GROUPS_MAX    64u     /* groups of one exchange; more: unreadable */
#define AUDIT_REPORT_FINDINGS_MAX  4096u   /* findings of one exchange; more: unreadable */
#define AUDIT_REPORT_TOP_MAX       1000u   /* rows of a summary's top lists (--top) */
#define AUDIT_REPORT_HTML_ROWS_MAX 5000u   /* rows of the HTML table; CSV has them all */

/* What rows are keyed by. An exchange counts once in each of its groups; the
 * finding dimensions (category, rule) make rows of findings, not exchanges. */
enum audit_dim {
    AUDIT_DIM_CALLER = 0,
    AUDIT_DIM_GROUP = 1,
    AUDIT_DIM_MODEL = 2, /* the model asked for */
    AUDIT_DIM_UPSTREAM = 3,
    AUDIT_DIM_TRUST = 4,    /* internal, external, or none when refused before routing */
    AUDIT_DIM_DAY = 5,      /* UTC day of ts */
    AUDIT_DIM_CATEGORY = 6, /* of a finding */
    AUDIT_DIM_RULE = 7,     /* of a finding */
    AUDIT_DIM_COUNT = 8,
};

enum audit_report_format {
    AUDIT_REPORT_TEXT = 0,
    AUDIT_REPORT_CSV = 1,
    AUDIT_REPORT_JSON = 2,
    AUDIT_REPORT_HTML = 3,
};

#define AUDIT_REPORT_BY_MAX 2 /* --by caller,model */

struct audit_report_opts {
    int64_t since_ms; /* first ms included (INT64_MIN: no bound) */
    int64_t until_ms; /* first ms excluded (INT64_MAX: no bound) */
    enum audit_dim by[AUDIT_REPORT_BY_MAX];
    size_t nby;           /* 0: the summary (text, HTML); CSV and JSON rows default to caller */
    size_t top;           /* rows of the summary's top lists and charts (0: 10) */
    int64_t generated_ms; /* the report's date (the caller's clock, or SOURCE_DATE_EPOCH) */
};

void audit_report_opts_init(struct audit_report_opts *o);

/* What reading found, for the command's messages and exit status. */
struct audit_report_status {
    uint64_t lines;             /* every line read, readable or not */
    uint64_t records;           /* readable records inside the range */
    uint64_t exchanges;         /* of which exchanges */
    uint64_t outside;           /* readable records outside --since/--until */
    uint64_t unreadable;        /* lines that are not records */
    char first_unreadable[512]; /* FILE:LINE: why, of the first one ("" if none) */
    uint64_t cut_keys;          /* exchanges with a key cut at AUDIT_REPORT_KEY_MAX bytes */
    uint64_t other_rows;        /* records (or findings) counted in an "(other)" row */
};

struct audit_report;

/* A new, empty report. Returns VIGIE_OK, or VIGIE_ERR_NOMEM. */
int audit_report_new(struct audit_report **out, const struct audit_report_opts *o);
void audit_report_free(struct audit_report *r);

/* Reads one log file to its end (name "-": standard input), adding its
 * records. Unreadable lines are counted, not errors. Returns VIGIE_OK,
 * VIGIE_ERR_IO when the file cannot be opened or read (described in err;
 * what was read before the failure stays counted), or VIGIE_ERR_NOMEM. */
int audit_report_read_file(struct audit_report *r, const char *path, char *err, size_t errsz);

/* Adds one line (without its newline) as if read from file:lineno. Returns
 * VIGIE_OK (also for an unreadable line, which is counted) or VIGIE_ERR_NOMEM.
 * For tests and for callers that have lines already. */
int audit_report_add_line(struct audit_report *r, const char *line, size_t len, const char *file,
                          uint64_t lineno);

/* Writes the report. Returns VIGIE_OK, VIGIE_ERR_IO when out failed, or
 * VIGIE_ERR_NOMEM. May be called more than once (one call per format). */
int audit_report_write(struct audit_report *r, enum audit_report_format f, FILE *out);

void audit_report_get_status(const struct audit_report *r, struct audit_report_status *st);

/* "2026-11-01", "2026-11-01T10:00", "2026-11-01T10:00:00", with an optional
 * ".mmm" and "Z": UTC, to ms since the epoch. Returns VIGIE_OK or
 * VIGIE_ERR_PARSE (why in err). */
int audit_report_parse_time(const char *s, int64_t *ms, char *err, size_t errsz);

/* "caller", "group,model", ...: fills by[] and *nby. Returns VIGIE_OK or
 * VIGIE_ERR_PARSE (why in err). */
int audit_report_parse_by(const char *s, enum audit_dim *by, size_t *nby, char *err, size_t errsz);

const char *audit_dim_name(enum audit_dim d);

#endif
