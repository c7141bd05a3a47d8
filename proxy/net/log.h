/*
 * vlog: the gateway's structured log, one JSON object per line, stderr by
 * default.
 *
 * A record is built field by field in a bounded buffer on the caller's stack
 * and written by vlog_end() with a single write(2). Lines are at most
 * VLOG_LINE_MAX bytes, which is no more than PIPE_BUF, so lines from several
 * threads never interleave and no lock is taken. A record that would be
 * longer is cut cleanly: the field that did not fit is shortened (a string)
 * or left out (anything else), later fields are dropped, and the line ends
 * with "truncated":true. It is still one valid JSON object.
 *
 * Every line starts with "ts" (RFC 3339 UTC with milliseconds), "level" and
 * "event". Strings are JSON-escaped; invalid UTF-8 is written as U+FFFD.
 *
 * NEVER give it a prompt, a value found in one, a header value or a
 * credential: only ids, names, counts, statuses, durations and hashes. Log
 * files are read by more people, and kept longer, than the traffic they
 * describe.
 *
 * vlog performs no I/O other than that write(2), and never allocates.
 */
#ifndef VIGIE_NET_LOG_H
#define VIGIE_NET_LOG_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of one line, newline included. At most PIPE_BUF (4096 on Linux) so
 * that one write(2) of a line to a pipe is atomic. */
#define VLOG_LINE_MAX 4096u

enum vlog_level {
    VLOG_DEBUG = 0,
    VLOG_INFO = 1,
    VLOG_WARN = 2,
    VLOG_ERROR = 3,
};

/* A record being built. Lives on the caller's stack; nothing to free. */
struct vlog_rec {
    size_t len;    /* bytes in buf */
    int on;        /* 0: level below the minimum, every call is a no-op */
    int truncated; /* a field did not fit; later ones are dropped */
    char buf[VLOG_LINE_MAX];
};

/* Sets where lines go and the lowest level written. Until it is called,
 * lines go to stderr (fd 2) at VLOG_INFO and above. May be called again at
 * any time (a reload changing the level); records in flight use either the
 * old or the new setting. fd is not closed by vlog. */
void vlog_open(int fd, enum vlog_level min);

/* "debug", "info", "warn" (or "warning"), "error" -> the level; -1 for
 * anything else, so configuration loading can report it. */
int vlog_level_parse(const char *s);
const char *vlog_level_name(enum vlog_level level);

/* 1 when lines of this level are written. One relaxed atomic load: callers
 * test it before gathering fields that are costly to compute. */
int vlog_enabled(enum vlog_level level);

/* Starts a record: {"ts":...,"level":...,"event":event. event is a constant
 * naming what happened ("request", "listening", "reload"). */
void vlog_begin(struct vlog_rec *r, enum vlog_level level, const char *event);

/* Add one field each. key is a constant; every call is a no-op on a record
 * whose level is filtered out or that is already truncated. A NULL string is
 * written as null. */
void vlog_str(struct vlog_rec *r, const char *key, const char *val);
void vlog_strn(struct vlog_rec *r, const char *key, const char *val, size_t len);
void vlog_int(struct vlog_rec *r, const char *key, int64_t val);
void vlog_uint(struct vlog_rec *r, const char *key, uint64_t val);
/* decimals: digits after the point (0..9). NaN and infinities are written as
 * null: JSON has no way to carry them. */
void vlog_double(struct vlog_rec *r, const char *key, double val, int decimals);
void vlog_bool(struct vlog_rec *r, const char *key, int val);
/* json is written as it is: it must be one valid JSON value built by the
 * caller (a small object or array of names and counts). Left out whole, and
 * the record marked truncated, when it does not fit. */
void vlog_raw(struct vlog_rec *r, const char *key, const char *json);

/* Closes the record and writes the line with one write(2), retried on EINTR
 * and after a partial write. Returns 0 (written, or filtered out), or -1 when
 * the write failed: the line is lost, there is nowhere else to report it. */
int vlog_end(struct vlog_rec *r);

#endif
