#!/usr/bin/env python3
"""Writes valid vigie audit logs (format 1, proxy/audit/audit.h), for tests and benchmarks.

An independent implementation of the record format, written from audit.h alone, so that
the C writer and verifier can be checked against it byte for byte:

  {"v":1,"seq":S,"ts":"2026-11-26T21:00:00.123Z","type":"T",FIELDS,"prev":"P","mac":"M"}\\n

- seq starts at 1 (or --first-seq) and goes up by one across files and restarts;
- ts is UTC with milliseconds and never goes back;
- P is the hex SHA-256 of the previous line without its newline, 64 '0' for seq 1;
- M is the hex HMAC-SHA-256, keyed with the bytes of --key-file, of the line from '{'
  through the closing quote of P's value;
- strings are escaped as the gateway's JSON writer does (vigie_buf_json_str): '"', '\\\\',
  \\n, \\r, \\t, other bytes below 0x20 as \\u00XX, UTF-8 left as it is.

The traffic is made up but plausible: about ten callers in four groups, four models on
an internal ("local-llm") and an external ("openai") upstream, findings of the shipped
rules with the actions a customs policy would take, and every decision (allow, mask,
reroute, block, deny, error, passthrough, none). A start record opens the log, a stop
record closes it; restarts (stop + start), reloads (one of them failed) and checkpoints
come in between. Output depends only on the arguments (--seed): no clock, no entropy.
Field values are those the gateway writes (docs/audit.md): endpoint names (chat,
embeddings, completions, passthrough), ms and vigie_ms with three decimals, a refusal
(block, deny, error) with no upstream and no trust, an upstream failure keeping its
decision with status 502, error codes as the gateway names them. Record field order is
audit.h's (a start record: version, pid, workers, policy, file, key_id, genesis).

  gen_log.py --key-file k --records 1000000 --days 30 -o audit.log
  gen_log.py --key-file k --records 500 --rotate 200 --checkpoints audit.log.checkpoints \\
             --expect expect.json -o audit.log

--rotate N starts a new file every N exchanges: the earlier ones are renamed
FILE.<UTC time of rotation, %Y%m%dT%H%M%SZ>[-1, -2...] and each new file opens with a
segment record. --checkpoints FILE also exports every checkpoint there, as the writer does
({"ts","seq","file","hash","mac"}, the MAC over the bytes before ,"mac"). --expect writes the aggregates a report must show (JSON), computed here
independently. --hostile adds callers and models with names that test escaping
(<script>, =formula, quotes, commas, a newline, accents).

Only random.random() and getrandbits() are used, so a seed gives the same log on every
Python 3 version.
"""
import argparse
import bisect
import hashlib
import hmac
import json
import os
import random
import sys
import time

ZERO_HASH = "0" * 64

# --- the population ---------------------------------------------------------------------

# (name, groups, weight, client)
CALLERS = [
    ("agent.martin", ["douane-agents"], 14, "10.20.1.11"),
    ("agent.durand", ["douane-agents"], 12, "10.20.1.12"),
    ("agent.bernard", ["douane-agents"], 10, "10.20.1.13"),
    ("agent.petit", ["douane-agents"], 8, "10.20.1.14"),
    ("enq.moreau", ["douane-enquete"], 9, "10.20.2.21"),
    ("enq.laurent", ["douane-enquete", "douane-agents"], 7, "10.20.2.22"),
    ("dev.lefebvre", ["dev"], 8, "10.30.0.5"),
    ("dev.ci", ["dev"], 12, "10.30.0.9"),
    ("admin.roux", ["admin"], 2, "10.10.0.2"),
    ("svc.batch", ["dev", "admin"], 6, "10.30.0.12"),
]
UNKNOWN_CALLER_WEIGHT = 1.5  # requests with no known credential: 401

HOSTILE_CALLERS = [
    ("<script>alert(1)</script>", ["dev"], 3, "10.66.0.1"),
    ('=HYPERLINK("http://x.invalid","y")', ["dev"], 2, "10.66.0.2"),
    ("-2+3", ["admin"], 1, "10.66.0.3"),
    ("@SUM(A1)", ["admin"], 1, "10.66.0.4"),
    ('quote"comma,caller', ["douane-agents"], 1, "10.66.0.5"),
    ("agent.éloïse", ["douane-agents"], 2, "10.66.0.6"),
    ("line\nbreak\ttab", ["dev"], 1, "10.66.0.7"),
]

# model -> (upstream, trust)
MODELS = {
    "mistral-small-3": ("local-llm", "internal"),
    "llama-3.1-70b": ("local-llm", "internal"),
    "gpt-4o": ("openai", "external"),
    "gpt-4o-mini": ("openai", "external"),
}
HOSTILE_MODELS = {"<b>model</b>&amp;": ("local-llm", "internal")}

# group -> model weights (the first group of a caller decides)
GROUP_MODELS = {
    "douane-agents": [("mistral-small-3", 40), ("llama-3.1-70b", 20), ("gpt-4o", 25),
                      ("gpt-4o-mini", 15)],
    "douane-enquete": [("mistral-small-3", 55), ("llama-3.1-70b", 45)],
    "dev": [("gpt-4o", 35), ("gpt-4o-mini", 35), ("mistral-small-3", 20),
            ("llama-3.1-70b", 10)],
    "admin": [("mistral-small-3", 50), ("gpt-4o-mini", 50)],
}

# rule -> (category, weight, action on internal, action on external)
RULES = {
    "identity.person_name": ("identity.person_name", 30, "flag", "pseudonymise"),
    "contact.email": ("contact.email", 18, "flag", "pseudonymise"),
    "contact.phone.fr": ("contact.phone", 12, "flag", "pseudonymise"),
    "finance.iban": ("finance.iban", 8, "flag", "mask"),
    "finance.card": ("finance.card", 3, "mask", "mask"),
    "company.siret": ("company.siret", 14, "flag", "flag"),
    "company.eori": ("company.eori", 10, "flag", "flag"),
    "customs.mrn": ("customs.mrn", 9, "flag", "flag"),
    "identity.nir": ("identity.nir", 4, "mask", "block"),
    "identity.passport": ("identity.passport", 2, "flag", "block"),
    "marking.classification.stamp": ("marking.classification", 2, "flag", "reroute"),
}

# Endpoint names as the gateway records them (policy_endpoint_name).
ENDPOINTS = [("chat", 85), ("embeddings", 10), ("completions", 5)]


class Weighted:
    """Picks among (value, weight) pairs with one random() call (bisect on the sums)."""

    def __init__(self, pairs):
        self.values = [v for v, _ in pairs]
        self.sums = []
        total = 0.0
        for _, w in pairs:
            total += w
            self.sums.append(total)
        self.total = total

        self.last = len(self.values) - 1

    def pick(self, rnd, _bisect=bisect.bisect_right):
        i = _bisect(self.sums, rnd() * self.total)
        return self.values[i if i <= self.last else self.last]


def json_str(s):
    """A JSON string as vigie_buf_json_str writes it (valid UTF-8 input)."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20:
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_SIMPLE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_/:")


def js(s, _cache={}):
    """json_str, cached: the same few names come back millions of times."""
    if s is None:
        return "null"
    r = _cache.get(s)
    if r is None:
        r = '"' + s + '"' if set(s) <= _SIMPLE else json_str(s)
        _cache[s] = r
    return r


def iso_ms(ms, _cache={}):
    sec, milli = divmod(ms, 1000)
    base = _cache.get(sec)
    if base is None:
        base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        if len(_cache) > 4096:
            _cache.clear()
        _cache[sec] = base
    return "%s.%03dZ" % (base, milli)


def parse_start(s):
    """2026-11-01 or 2026-11-01T08:00:00Z -> ms since the epoch (UTC)."""
    s = s.rstrip("Z")
    fmt = "%Y-%m-%dT%H:%M:%S" if "T" in s else "%Y-%m-%d"
    import calendar
    return calendar.timegm(time.strptime(s, fmt)) * 1000


class Log:
    """The chain: seq, prev, MAC, and the files (rotation)."""

    def __init__(self, path, key, first_seq, prev, checkpoints):
        self.path = path
        self.key = key
        self.seq = first_seq
        self.prev = prev
        self.ts = 0
        self.f = open(path + ".part", "w", encoding="utf-8", newline="\n")
        self.pending = []
        self.files = []  # finished rotated names
        self.cp = open(checkpoints, "w", encoding="utf-8", newline="\n") if checkpoints else None
        self.counts = {}

    def write(self, ts, rtype, fields):
        if ts < self.ts:
            ts = self.ts  # never back
        self.ts = ts
        head = '{"v":1,"seq":%d,"ts":"%s","type":"%s",%s%s"prev":"%s"' % (
            self.seq, iso_ms(ts), rtype, fields, "," if fields else "", self.prev)
        hb = head.encode("utf-8")
        mac = hmac.digest(self.key, hb, "sha256").hex()
        line = hb + (',"mac":"%s"}' % mac).encode("ascii")
        self.pending.append(line)
        self.prev = hashlib.sha256(line).hexdigest()
        self.seq += 1
        self.counts[rtype] = self.counts.get(rtype, 0) + 1
        if len(self.pending) >= 8192:
            self.flush()
        return line

    def checkpoint(self, ts):
        head = self.prev
        line = self.write(ts, "checkpoint", '"head":"%s","file":%s' % (
            head, js(os.path.basename(self.path))))
        if self.cp is not None:
            body = '{"ts":"%s","seq":%d,"file":%s,"hash":"%s"' % (
                iso_ms(self.ts), self.seq - 1, js(os.path.basename(self.path)),
                hashlib.sha256(line).hexdigest())
            mac = hmac.digest(self.key, body.encode("utf-8"), "sha256").hex()
            self.cp.write(body + ',"mac":"%s"}\n' % mac)

    def flush(self):
        if self.pending:
            self.f.buffer.write(b"\n".join(self.pending) + b"\n")
            self.pending = []

    def rotate(self, ts, reason="rotate-size"):
        """The active file becomes FILE.<UTC time>; the new one opens with a segment."""
        self.flush()
        self.f.close()
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(ts // 1000))
        name = "%s.%s" % (self.path, stamp)
        n = 0
        while name in self.files:  # two rotations in one second: -1, -2, ...
            n += 1
            name = "%s.%s-%d" % (self.path, stamp, n)
        os.replace(self.path + ".part", name)
        self.files.append(name)
        self.f = open(self.path + ".part", "w", encoding="utf-8", newline="\n")
        self.write(ts, "segment", '"reason":%s,"file":%s,"previous_file":%s' % (
            js(reason), js(os.path.basename(self.path)), js(os.path.basename(name))))

    def close(self):
        self.flush()
        self.f.close()
        os.replace(self.path + ".part", self.path)
        if self.cp is not None:
            self.cp.close()


def lognormal(rnd, median, spread):
    """A cheap skewed positive number: median * spread**(sum of 3 uniforms - 1.5)."""
    return median * spread ** ((rnd() + rnd() + rnd() - 1.5) * 1.4)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--out", required=True, help="the log file (the active one)")
    ap.add_argument("--key-file", required=True, help="MAC key: the file's bytes, 16 or more")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--records", type=int, default=1000, help="exchange records")
    ap.add_argument("--days", type=float, default=30.0, help="spread of the timestamps")
    ap.add_argument("--start", default="2026-11-01", help="first day (UTC)")
    ap.add_argument("--rotate", type=int, default=0, help="exchanges per file (0: one file)")
    ap.add_argument("--checkpoint-every", type=int, default=1000,
                    help="records between checkpoints (0: none)")
    ap.add_argument("--checkpoints", help="also export checkpoints to this file")
    ap.add_argument("--restarts", type=int, default=1, help="stop+start pairs in between")
    ap.add_argument("--reloads", type=int, default=2, help="reloads (the second one fails)")
    ap.add_argument("--first-seq", type=int, default=1)
    ap.add_argument("--prev", default=None, help="prev of the first record (default 64 '0')")
    ap.add_argument("--hostile", action="store_true", help="add names that test escaping")
    ap.add_argument("--expect", help="write the aggregates a report must show (JSON)")
    a = ap.parse_args()

    with open(a.key_file, "rb") as f:
        key = f.read()
    if len(key) < 16:
        sys.exit("gen_log.py: %s: the key needs 16 bytes or more" % a.key_file)
    if a.first_seq < 1 or (a.first_seq == 1) != (a.prev is None or a.prev == ZERO_HASH):
        sys.exit("gen_log.py: --first-seq > 1 needs --prev, and seq 1 has prev 64 '0'")

    rng = random.Random(a.seed)
    rnd = rng.random
    callers = CALLERS + (HOSTILE_CALLERS if a.hostile else [])
    models = dict(MODELS)
    group_models = {g: Weighted(v) for g, v in GROUP_MODELS.items()}
    if a.hostile:
        models.update(HOSTILE_MODELS)
        group_models["dev"] = Weighted(GROUP_MODELS["dev"] + [("<b>model</b>&amp;", 5)])
    who = Weighted([((c, g, cl), w) for c, g, w, cl in callers] +
                   [((None, [], "10.99.0.1"), UNKNOWN_CALLER_WEIGHT)])
    rules = Weighted([(r, v[1]) for r, v in RULES.items()])
    endpoints = Weighted(ENDPOINTS)

    # Timestamps first, sorted: working days and hours get most of the traffic.
    t0 = parse_start(a.start)
    span = int(a.days * 86400000)
    ndays = max(1, int(a.days + 0.999))
    day_w = []
    for d in range(ndays):
        wd = time.gmtime((t0 + d * 86400000) // 1000).tm_wday
        day_w.append((d, 1.0 if wd < 5 else 0.15))
    days = Weighted(day_w)
    hours = Weighted([(h, (0.05 if h < 7 or h > 19 else 1.0 if 8 <= h <= 17 else 0.4))
                      for h in range(24)])
    stamps = []
    for _ in range(a.records):
        while True:
            ms = (days.pick(rnd) * 86400000 + hours.pick(rnd) * 3600000 +
                  int(rnd() * 3600000))
            if ms < span:
                break
        stamps.append(t0 + ms)
    stamps.sort()

    log = Log(a.out, key, a.first_seq, a.prev or ZERO_HASH, a.checkpoints)
    policy_version = ["2026-11-01.1"]
    workers = 2
    pid = [4100]
    in_process = [0]
    exp = {"exchanges": 0, "decisions": {}, "trust": {}, "tokens_in": 0, "tokens_out": 0,
           "bytes_in": 0, "bytes_out": 0, "findings": 0, "callers": {}, "groups": {},
           "models": {}, "categories": {}, "rules": {}, "days": {},
           "external_findings": {"sent_as_written": 0, "sent_replaced": 0, "stopped": 0},
           "reloads_failed": 0}

    def write(ts, rtype, fields):
        in_process[0] += 1
        before = log.seq
        log.write(ts, rtype, fields)
        if a.checkpoint_every and (before - a.first_seq + 1) % a.checkpoint_every == 0:
            in_process[0] += 1
            log.checkpoint(ts)

    def policy_obj(mode="enforce"):
        return '{"id":"customs","version":"%s","mode":"%s"}' % (policy_version[0], mode)

    def start(ts, genesis):
        pid[0] += 17
        in_process[0] = 0
        # Field order as audit.h gives it; key_id as the writer makes it: a hash
        # of a labelled copy of the key, 16 hex digits.
        write(ts, "start", '"version":"0.1.0","pid":%d,"workers":%d,"policy":%s,"file":%s,'
              '"key_id":"%s","genesis":%s' % (
                  pid[0], workers, policy_obj(), js(os.path.basename(a.out)),
                  hashlib.sha256(b"vigie-audit-key:" + key).hexdigest()[:16],
                  "true" if genesis else "false"))

    def stop(ts, reason):
        write(ts, "stop", '"reason":"%s","records":%d' % (reason, in_process[0] + 1))

    n = a.records
    restart_at = {n * (i + 1) // (a.restarts + 1) for i in range(a.restarts)} if n else set()
    reload_at = {n * (2 * i + 1) // (2 * a.reloads + 1): i for i in range(a.reloads)} if n else {}
    reload_no = 0

    first_ts = stamps[0] - 1500 if stamps else t0
    start(max(first_ts, t0 - 1500) if a.first_seq == 1 else first_ts, a.first_seq == 1)

    ex = exp
    for i, ts in enumerate(stamps):
        if i in restart_at and i > 0:
            stop(ts - 900, "sigterm")
            start(ts - 400, False)
        if i in reload_at:
            reload_no += 1
            if reload_no == 2:
                write(ts - 50, "reload", '"ok":false,"errors":2')
                ex["reloads_failed"] += 1
            else:
                policy_version[0] = "2026-11-%02d.%d" % (1 + reload_no, reload_no + 1)
                write(ts - 50, "reload", '"ok":true,"policy":%s' % policy_obj())
        if a.rotate and i > 0 and i % a.rotate == 0:
            log.rotate(ts - 10)

        caller, groups, client = who.pick(rnd)
        rid = "%016x" % rng.getrandbits(64)
        stream = "false"
        findings = []
        model_served = None
        code = None
        tokens_in = tokens_out = None
        vigie_ms = 0.15 + lognormal(rnd, 0.45, 3.0)
        model_ms = 0.0
        r = rnd()
        # As the gateway records them: a refusal (deny, block, policy error)
        # has no upstream and no trust; an upstream failure keeps the
        # decision, with status 502.
        if caller is None:
            endpoint = "chat"
            model = group_models["douane-agents"].pick(rnd)
            upstream = trust = None
            decision, status, code = "deny", 401, "unknown_caller"
            bytes_in, bytes_out = int(lognormal(rnd, 1800, 3)), 132
        elif r < 0.02:
            endpoint = "passthrough"
            model = None
            upstream, trust = "local-llm", "internal"
            decision, status = "passthrough", 200
            bytes_in, bytes_out = 0, int(lognormal(rnd, 900, 2))
            vigie_ms = 0.05 + rnd() * 0.1
            model_ms = lognormal(rnd, 15, 2)
        elif r < 0.023:
            endpoint = model = upstream = trust = None
            decision, status, code = "none", 404, "unknown_url"
            bytes_in, bytes_out = 0, 96
            vigie_ms = 0.03 + rnd() * 0.05
        else:
            endpoint = endpoints.pick(rnd)
            model = group_models[groups[0]].pick(rnd)
            upstream, trust = models[model]
            if rnd() < 0.012:
                # A model this group may not use.
                decision, status, code = "deny", 403, "model"
                upstream = trust = None
                bytes_in, bytes_out = int(lognormal(rnd, 1800, 3)), 140
            else:
                ext = trust == "external"
                seen = {}
                if rnd() < 0.42:
                    k = 1 + int(rnd() * rnd() * 5)
                    for _ in range(k):
                        rule = rules.pick(rnd)
                        seen[rule] = seen.get(rule, 0) + 1 + int(rnd() * rnd() * 4)
                for rule, cnt in seen.items():
                    cat, _, a_int, a_ext = RULES[rule]
                    findings.append((rule, cat, cnt, a_ext if ext else a_int))
                acts = {f[3] for f in findings}
                bytes_in = int(lognormal(rnd, 2400, 3)) + 120
                if "block" in acts:
                    decision, status, code = "block", 403, "blocked"
                    upstream = trust = None
                elif rnd() < 0.003:
                    # The inspection budget ran out, or a detector failed:
                    # refused, fail closed.
                    decision, status = "error", 422
                    code = "budget" if rnd() < 0.7 else "detector"
                    upstream = trust = None
                elif "reroute" in acts:
                    decision, status = "reroute", 200
                    upstream, trust = "local-llm", "internal"
                    model_served = "mistral-small-3"
                elif acts & {"mask", "pseudonymise"}:
                    decision, status = "mask", 200
                else:
                    decision, status = "allow", 200
                if status == 200 and rnd() < 0.003:
                    status, code = 502, "upstream_timeout"
                    model_served = None
                    bytes_out = 180
                    model_ms = 30000.0
                elif status == 200:
                    tokens_in = max(1, bytes_in // 4)
                    if endpoint == "embeddings":
                        tokens_out = 0
                        bytes_out = 40 + tokens_in * 9
                        model_ms = lognormal(rnd, 90, 3)
                    else:
                        tokens_out = int(lognormal(rnd, 280, 3)) + 1
                        bytes_out = tokens_out * 5 + 420
                        model_ms = lognormal(rnd, 1400, 3)
                    if endpoint == "chat" and rnd() < 0.6:
                        stream = "true"
                    if model_served is None:
                        model_served = model
                else:
                    bytes_out = 160
        ms = vigie_ms + model_ms
        fjson = ",".join('{"rule":%s,"category":%s,"count":%d,"action":"%s"}' % (
            js(f[0]), js(f[1]), f[2], f[3]) for f in findings)
        fields = (
            '"id":"%s","caller":%s,"groups":[%s],"client":%s,"endpoint":%s,"model":%s,'
            '"model_served":%s,"upstream":%s,"trust":%s,"policy":%s,"decision":"%s",'
            '"findings":[%s],"stream":%s,"tokens_in":%s,"tokens_out":%s,"bytes_in":%d,'
            '"bytes_out":%d,"status":%d,"code":%s,"ms":%.3f,"vigie_ms":%.3f' % (
                rid, js(caller), ",".join(js(g) for g in groups), js(client), js(endpoint),
                js(model), js(model_served), js(upstream), js(trust), policy_obj(), decision,
                fjson, stream, "null" if tokens_in is None else tokens_in,
                "null" if tokens_out is None else tokens_out, bytes_in, bytes_out, status,
                js(code), ms, vigie_ms))
        write(ts, "exchange", fields)

        # What a report must show, computed from the values rather than the bytes.
        if not a.expect:
            continue
        ex["exchanges"] += 1
        ex["decisions"][decision] = ex["decisions"].get(decision, 0) + 1
        tk = trust or "(none)"
        ex["trust"][tk] = ex["trust"].get(tk, 0) + 1
        ex["tokens_in"] += tokens_in or 0
        ex["tokens_out"] += tokens_out or 0
        ex["bytes_in"] += bytes_in
        ex["bytes_out"] += bytes_out
        ck = caller if caller is not None else "(none)"
        ex["callers"][ck] = ex["callers"].get(ck, 0) + 1
        for g in (groups or ["(none)"]):
            ex["groups"][g] = ex["groups"].get(g, 0) + 1
        mk = model if model is not None else "(none)"
        ex["models"][mk] = ex["models"].get(mk, 0) + 1
        day = iso_ms(ts)[:10]
        ex["days"][day] = ex["days"].get(day, 0) + 1
        forwarded = decision in ("allow", "mask", "reroute", "passthrough")
        for rule, cat, cnt, act in findings:
            ex["findings"] += cnt
            ex["rules"][rule] = ex["rules"].get(rule, 0) + cnt
            ex["categories"][cat] = ex["categories"].get(cat, 0) + cnt
            if not forwarded:
                ex["external_findings"]["stopped"] += cnt
            elif trust == "external":
                if act in ("mask", "pseudonymise"):
                    ex["external_findings"]["sent_replaced"] += cnt
                else:
                    ex["external_findings"]["sent_as_written"] += cnt

    end_ts = (stamps[-1] if stamps else t0) + 2000
    stop(end_ts, "sigterm")
    log.close()
    exp["records"] = log.seq - a.first_seq
    exp["types"] = log.counts
    exp["files"] = log.files + [a.out]
    exp["last_seq"] = log.seq - 1
    exp["head"] = log.prev
    if a.expect:
        with open(a.expect, "w", encoding="utf-8") as f:
            json.dump(exp, f, indent=1, sort_keys=True, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    main()
