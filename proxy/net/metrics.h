/*
 * metrics: the gateway's counters, gauges and histograms, rendered for
 * Prometheus (text format 0.0.4) on the admin listener's /metrics.
 *
 * Built for worker threads: each worker updates its own shard, and the hot
 * path takes no lock (relaxed C11 atomics for counters and buckets, so a
 * scrape from another thread reads them safely). Labelled series live in
 * bounded per-shard tables; a new series is created under the shard's mutex
 * and published with a release store, so lookups and scrapes never lock.
 * Past METRICS_SERIES_MAX series in one family of one shard, updates are
 * counted in vigie_metrics_dropped_series_total instead of allocating: label
 * values come from configuration and traffic, and memory must stay bounded.
 * A render sums every shard.
 *
 * Label values are copied (a reload frees the policy that named them) and
 * are escaped when rendered. Metrics carry names, statuses and counts only:
 * never a prompt, a value, a header value or a credential.
 *
 * metrics performs no I/O.
 */
#ifndef VIGIE_NET_METRICS_H
#define VIGIE_NET_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* Labelled series per family (requests, findings, upstream errors) and per
 * shard. */
#define METRICS_SERIES_MAX 512u
/* Bytes of one label value; longer values are cut at a character. */
#define METRICS_LABEL_MAX 128u
/* Shards of one registry (one per worker thread, plus the main thread). */
#define METRICS_SHARDS_MAX 1024u

struct metrics;
struct metrics_shard;

/* A registry with nshards shards (1..METRICS_SHARDS_MAX); version is the
 * build's, for vigie_build_info. NULL when out of memory or nshards is out of
 * range. */
struct metrics *metrics_new(unsigned nshards, const char *version);
/* Frees the registry and its shards. No thread may use it any more. NULL is
 * fine. */
void metrics_free(struct metrics *m);

/* Shard i (< nshards). A shard is meant for one thread; several threads may
 * share one safely, at the cost of contended cache lines. */
struct metrics_shard *metrics_shard(struct metrics *m, unsigned i);

/* One exchange answered: vigie_requests_total{status,decision,upstream} and
 * the three duration histograms, in seconds. decision is allow, mask,
 * reroute, block, deny, error or none; upstream a name or NULL ("none"). A
 * negative (or NaN) duration is not observed: inspect_s for a request
 * refused before policy_decide. */
void metrics_request(struct metrics_shard *sh, int status, const char *decision,
                     const char *upstream, double total_s, double inspect_s, double added_s);
/* n findings of category handled by action: vigie_findings_total. */
void metrics_finding(struct metrics_shard *sh, const char *category, const char *action,
                     uint64_t n);
/* kind: connect, tls, timeout or framing. */
void metrics_upstream_error(struct metrics_shard *sh, const char *upstream, const char *kind);
/* A client connection opened (+1, which also counts in
 * vigie_connections_total) or closed (-1). Open and close may happen on
 * different shards: the gauge is the sum over shards. */
void metrics_conn(struct metrics_shard *sh, int delta_open);

/* A reload finished: vigie_reloads_total{result="ok"|"failed"}. */
void metrics_reload(struct metrics *m, int ok);
/* The policy now in force, for vigie_policy_info (copied). VIGIE_OK or
 * VIGIE_ERR_NOMEM (the previous values stay). */
int metrics_set_policy(struct metrics *m, const char *id, const char *version);

/* Appends every metric, all shards summed, to out: # HELP and # TYPE lines,
 * then the series of each family sorted by their labels. Safe while workers
 * update their shards; counters read during the render may be a few updates
 * apart from each other, never torn. VIGIE_OK, or an error of out (whose
 * contents are then gone: see vigie_buf) or VIGIE_ERR_NOMEM. */
int metrics_render(struct metrics *m, struct vigie_buf *out);

#endif
