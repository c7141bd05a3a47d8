#!/usr/bin/env python3
"""report.py RAW_DIR OUT_JSON: turns the raw outputs of bench/gateway.sh into
the printed tables and one JSON file. Standard library only."""
import glob
import json
import os
import re
import sys

raw, out = sys.argv[1], sys.argv[2]

facts = {}
with open(os.path.join(raw, "facts")) as f:
    for line in f:
        k, _, v = line.rstrip("\n").partition("=")
        facts[k] = v


def num(k, default=None):
    v = facts.get(k)
    try:
        return int(v)
    except (TypeError, ValueError):
        try:
            return float(v)
        except (TypeError, ValueError):
            return default


clk = num("clk_tck", 100)
NAMES = {"a": "direct to the mock", "b": "nginx proxy_pass", "c": "vigie (full pipeline)",
         "b2": "nginx proxy_pass, 2 workers", "c2": "vigie, 2 workers"}
UNIT = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6}
SIZE = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}


def dur_us(s):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", s)
    return float(m.group(1)) * UNIT[m.group(2)] if m else None


def parse_wrk(row):
    path = os.path.join(raw, "wrk-%s.txt" % row)
    if not os.path.exists(path):
        return None
    text = open(path).read()
    r = {"row": row, "name": NAMES[row]}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    r["rps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+), ([\d.]+)(\w+) read", text)
    if m:
        r["requests"] = int(m.group(1))
        r["seconds"] = dur_us(m.group(2) + m.group(3)) / 1e6
        r["bytes_read"] = float(m.group(4)) * SIZE.get(m.group(5), 1)
        r["bytes_per_response"] = round(r["bytes_read"] / max(1, r["requests"]))
    lat = {}
    for p, v in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)\s*$", text, re.M):
        lat["p" + p] = dur_us(v)
    r["latency_us"] = lat
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    r["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    r["non_2xx"] = int(m.group(1)) if m else 0
    ticks = num("wrk_%s_server_ticks" % row)
    wall = num("wrk_%s_wall_ns" % row)
    if ticks is not None and r.get("requests"):
        r["server_cpu_us_per_req"] = round(ticks / clk * 1e6 / r["requests"], 1)
        r["server_cpu_busy"] = round(ticks / clk / (wall / 1e9), 2)
        mt = num("wrk_%s_mock_ticks" % row)
        if mt is not None and row != "a":
            r["mock_cpu_us_per_req"] = round(mt / clk * 1e6 / r["requests"], 1)
    r["server_core_busy"] = num("wrk_%s_server_core_busy" % row)
    r["client_core_busy"] = num("wrk_%s_client_core_busy" % row)
    if facts.get("server_cpu") and not row.endswith("2") and row != "a":
        # Which side set the pace: the server process, or the core of wrk + the mock.
        if r.get("server_cpu_busy", 0) >= 0.9:
            r["limited_by"] = "server"
        elif (r["client_core_busy"] or 0) >= 0.95:
            r["limited_by"] = "client core (wrk + mock)"
        elif (r["server_core_busy"] or 0) >= 0.9:
            r["limited_by"] = "server core, shared with other work"
        else:
            r["limited_by"] = "neither saturated"
    problems = []
    if r["rps"] is None:
        problems.append("wrk output not understood: " + text.strip().replace("\n", " | ")[:200])
    if r["non_2xx"]:
        problems.append("%d answers with status >= 400" % r["non_2xx"])
    if r["socket_errors"]:
        problems.append("%d socket errors" % r["socket_errors"])
    vr, v200 = num("wrk_%s_vigie_requests" % row), num("wrk_%s_vigie_200" % row)
    v499 = num("wrk_%s_vigie_499" % row, 0)
    conns = 64 if row.endswith("2") else 32
    if vr is not None:
        r["vigie_metrics_requests"], r["vigie_metrics_200"] = vr, v200
        r["vigie_metrics_499_client_closed"] = v499
        if vr - v200 - v499:
            problems.append("vigie /metrics counts %d answers that are not 200" % (vr - v200 - v499))
        if v499 > conns:
            problems.append("%d requests abandoned (499), more than wrk's %d connections" % (v499, conns))
    base = row[0]
    chk = facts.get("check_" + base, "not run")
    if chk != "ok":
        problems.append("check request: " + chk)
    cb = num("completion_bytes", 0)
    if r.get("bytes_per_response") is not None and r["bytes_per_response"] < cb:
        problems.append("%d bytes per answer, less than the mock's %d-byte body"
                        % (r["bytes_per_response"], cb))
    r["valid"] = not problems
    r["problems"] = problems
    return r


def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]


def parse_openloop(row):
    files = sorted(glob.glob(os.path.join(raw, "lat-%s-*.json" % row)))
    if not files:
        return None
    pooled, rounds = [], []
    bad = {"non200": 0, "missing_marker": 0, "errors": 0, "unanswered": 0}
    for fn in files:
        try:
            j = json.loads(open(fn).read().strip().splitlines()[-1])
        except (ValueError, IndexError):
            j = {"error": open(fn).read()[:200]}
            bad["errors"] += 1
        lat = []
        tf = fn[:-5] + ".txt"
        if os.path.exists(tf):
            lat = [float(x) for x in open(tf) if x.strip()]
        for k in bad:
            bad[k] += j.get(k, 0)
        rounds.append({"n": len(lat), "p50": pct(lat, 50), "p99": pct(lat, 99),
                       "connections": j.get("connections"),
                       "send_late_us_max": j.get("send_late_us", {}).get("max")})
        pooled += lat
    r = {"row": row, "name": NAMES[row], "n": len(pooled), "p50": pct(pooled, 50),
         "p90": pct(pooled, 90), "p99": pct(pooled, 99), "p999": pct(pooled, 99.9),
         "rounds": rounds}
    r.update(bad)
    r["valid"] = r["n"] > 0 and not any(bad.values())
    return r


res = {"facts": facts, "throughput": {}, "latency_fixed_rate": {}, "streaming": None,
       "memory": {}, "ratios": {}, "added_latency_us": {}, "added_ttfb_us": {}}
for row in ("a", "b", "c", "b2", "c2"):
    w = parse_wrk(row)
    if w:
        res["throughput"][row] = w
for row in ("a", "b", "c"):
    h = parse_openloop(row)
    if h:
        res["latency_fixed_rate"][row] = h
try:
    res["streaming"] = json.load(open(os.path.join(raw, "sse.json")))
except (OSError, ValueError):
    err = open(os.path.join(raw, "sse.err")).read() if os.path.exists(os.path.join(raw, "sse.err")) else ""
    res["streaming"] = {"error": "sse_ttfb gave no result " + err[:200]}

tp = res["throughput"]
if "b" in tp and "c" in tp and tp["b"]["rps"] and tp["c"]["rps"]:
    res["ratios"]["vigie_over_nginx_rps"] = round(tp["c"]["rps"] / tp["b"]["rps"], 3)
    if tp["b"].get("server_cpu_us_per_req") and tp["c"].get("server_cpu_us_per_req"):
        res["ratios"]["nginx_over_vigie_cpu_per_req"] = round(
            tp["b"]["server_cpu_us_per_req"] / tp["c"]["server_cpu_us_per_req"], 3)
    res["ratios"]["valid"] = tp["b"]["valid"] and tp["c"]["valid"]
if "b2" in tp and "c2" in tp and tp["b2"]["rps"] and tp["c2"]["rps"]:
    res["ratios"]["vigie_over_nginx_rps_2_workers"] = round(tp["c2"]["rps"] / tp["b2"]["rps"], 3)

lf = res["latency_fixed_rate"]
for row in ("b", "c"):
    if "a" in lf and row in lf and lf[row]["n"] and lf["a"]["n"]:
        per_round = [
            {"p50": x["p50"] - y["p50"], "p99": x["p99"] - y["p99"]}
            for x, y in zip(lf[row]["rounds"], lf["a"]["rounds"]) if x["n"] and y["n"]]
        res["added_latency_us"][row] = {
            "p50": lf[row]["p50"] - lf["a"]["p50"], "p99": lf[row]["p99"] - lf["a"]["p99"],
            "p50_rounds": [x["p50"] for x in per_round], "p99_rounds": [x["p99"] for x in per_round],
            "valid": lf[row]["valid"] and lf["a"]["valid"]}

st = res["streaming"]
if st and "targets" in st and "a" in st["targets"]:
    a = st["targets"]["a"]
    for row in ("b", "c"):
        if row in st["targets"] and st["targets"][row]["n"] and a["n"]:
            t = st["targets"][row]
            res["added_ttfb_us"][row] = {
                "p50": round(t["ttfb_us"]["p50"] - a["ttfb_us"]["p50"], 1),
                "p99": round(t["ttfb_us"]["p99"] - a["ttfb_us"]["p99"], 1),
                "valid": t["errors"] == 0 and a["errors"] == 0}

mem = res["memory"]
for who, row, pidkey in (("vigie", "c", "rss_idle_kb_vigie"), ("nginx", "b", "rss_idle_kb_nginx")):
    m = {"idle_after_start_kb": num(pidkey)}
    if num("idle_%s_rss_kb" % row) is not None:
        m["with_idle_connections_kb"] = num("idle_%s_rss_kb" % row)
        m["after_they_closed_kb"] = num("idle_%s_rss_after_kb" % row)
        p = os.path.join(raw, "idle-%s.txt" % row)
        txt = open(p).read() if os.path.exists(p) else ""
        mm = re.search(r"ready open=(\d+) ok=\d+ failed=(\d+) non200=(\d+) ms=(\d+)", txt)
        if mm:
            m["connections_open"] = int(mm.group(1))
            m["connections_failed"] = int(mm.group(2))
            m["open_ms"] = int(mm.group(4))
        mm = re.search(r"closed open=(\d+)", txt)
        if mm:
            m["still_open_at_end"] = int(mm.group(1))
    m["after_load_kb"] = num("rss_after_load_kb_" + who)
    m["fresh_before_connections_kb"] = num("rss_before_idle_kb_" + who)
    if m.get("with_idle_connections_kb") is not None and m["fresh_before_connections_kb"] is not None \
            and m.get("connections_open"):
        m["kb_per_connection"] = round((m["with_idle_connections_kb"] - m["fresh_before_connections_kb"])
                                       / m["connections_open"], 2)
    if who == "nginx":
        m["note"] = "master + worker; worker alone idle: %s kB" % facts.get("rss_idle_kb_nginx_worker")
    if m["idle_after_start_kb"] is not None or "with_idle_connections_kb" in m:
        mem[who] = m
if "idle_c_open_metric" in facts:
    mem.setdefault("vigie", {})["connections_open_metric"] = facts["idle_c_open_metric"]

# ------------------------------------------------------------------ print
P = print


def f_us(v):
    if v is None:
        return "-"
    return "%.0f µs" % v if abs(v) < 10000 else "%.1f ms" % (v / 1000)


def f_kb(v):
    return "-" if v is None else "%.1f MB" % (v / 1024)


P("vigie gateway benchmark — %s — %s, %s CPU, kernel %s" % (
    facts.get("date"), facts.get("cpu_model"), facts.get("ncpu"), facts.get("kernel")))
P("nginx %s, wrk %s; vigie %s (%s), commit %s%s" % (
    facts.get("nginx_version"), facts.get("wrk_version"),
    facts.get("vigie_version") or "-", facts.get("vigie_build_type") or "?", facts.get("git_commit"),
    " + uncommitted changes" if facts.get("git_dirty") == "yes" else ""))
if facts.get("server_cpu"):
    P("pinning: server under test on CPU %s; mock and load tools on CPU %s" % (
        facts["server_cpu"], facts["client_cpu"]))
else:
    P("pinning: none (figures are noisier)")
P("request: %s-byte French chat completion (2 names, e-mail, phone pseudonymised; IBAN masked); "
  "mock answer %s bytes" % (facts.get("body_bytes"), facts.get("completion_bytes")))
if facts.get("check_c"):
    P("vigie check request: %s; x-vigie-decision: %s; findings per request (/metrics): %s; "
      "streaming: %s, %s" % (facts.get("check_c"), facts.get("check_c_decision") or "-",
                             facts.get("check_c_findings", "-"), facts.get("check_c_sse"),
                             facts.get("check_c_sse_type") or "-"))
if facts.get("vigie_not_measured"):
    P("vigie row NOT MEASURED: " + facts["vigie_not_measured"])
if facts.get("vigie_died"):
    P("WARNING: " + facts["vigie_died"] + "; the rows after that are missing")
P("")
P("1. Throughput: wrk -t1 -c32 -d%ss, keep-alive, POST (1 worker each, pinned)" % facts.get("duration"))
P("   %-30s %9s %9s %9s %9s %11s %5s %11s %7s  %s" % (
    "row", "req/s", "p50", "p90", "p99", "server CPU", "busy", "cores s/c", "B/resp", "status"))
for row in ("a", "b", "c", "b2", "c2"):
    w = tp.get(row)
    if not w:
        continue
    if row == "b2":
        P("   -- 2 workers each, nothing pinned, wrk -t2 -c64 -d%ss --" % max(3, (num("duration", 10) // 2)))
    L = w["latency_us"]
    cores = "-"
    if w.get("server_core_busy") is not None and facts.get("server_cpu"):
        cores = "%.0f/%.0f %%" % (100 * w["server_core_busy"], 100 * w["client_core_busy"])
    P("   %-30s %9s %9s %9s %9s %11s %5s %11s %7s  %s" % (
        "(%s) %s" % (row, w["name"]), "%.0f" % w["rps"] if w["rps"] else "-",
        f_us(L.get("p50")), f_us(L.get("p90")), f_us(L.get("p99")),
        "%.1f µs/req" % w["server_cpu_us_per_req"] if "server_cpu_us_per_req" in w else "-",
        "%.0f%%" % (100 * w["server_cpu_busy"]) if "server_cpu_busy" in w else "-", cores,
        w.get("bytes_per_response", "-"),
        ("ok" if w["valid"] else "INVALID: " + "; ".join(w["problems"]))
        + ("; limited by " + w["limited_by"] if "limited_by" in w else "")))
r = res["ratios"]
if "vigie_over_nginx_rps" in r:
    P("   vigie/nginx req/s: %.2f (goal >= 0.5: %s)%s" % (
        r["vigie_over_nginx_rps"], "met" if r["vigie_over_nginx_rps"] >= 0.5 else "NOT met",
        "" if r["valid"] else "  [INVALID run]"))
    if "nginx_over_vigie_cpu_per_req" in r:
        P("   nginx/vigie server CPU per request: %.2f (capacity per core; independent of the "
          "load tool's limits)" % r["nginx_over_vigie_cpu_per_req"])
if "vigie_over_nginx_rps_2_workers" in r:
    P("   vigie/nginx req/s with 2 workers: %.2f" % r["vigie_over_nginx_rps_2_workers"])
P("")
P("2. Latency at a fixed %s req/s, open loop (bench/gateway/openloop.c: evenly spaced requests on 16 "
  "keep-alive connections,\n   latency from the due time), %s interleaved rounds of %ss, pooled" % (
      facts.get("rate"), facts.get("lat_rounds"), facts.get("lat_dur")))
P("   %-30s %8s %9s %9s %9s %9s  %s" % ("row", "requests", "p50", "p90", "p99", "p99.9", "status"))
for row in ("a", "b", "c"):
    h = lf.get(row)
    if not h:
        continue
    P("   %-30s %8d %9s %9s %9s %9s  %s" % (
        "(%s) %s" % (row, h["name"]), h["n"], f_us(h["p50"]), f_us(h["p90"]), f_us(h["p99"]),
        f_us(h["p999"]),
        "ok" if h["valid"] else "INVALID: %d non-200, %d without the mock's content, %d errors, "
        "%d unanswered" % (h["non200"], h["missing_marker"], h["errors"], h["unanswered"])))
for row, label in (("b", "nginx"), ("c", "vigie")):
    a = res["added_latency_us"].get(row)
    if a:
        extra = ""
        if row == "c":
            extra = "  (goal p50 <= 150 µs: %s; p99 <= 1 ms: %s)" % (
                "met" if a["p50"] <= 150 else "NOT met", "met" if a["p99"] <= 1000 else "NOT met")
        P("   added by %-6s p50 %+6.0f µs, p99 %+6.0f µs  (per round p50: %s; p99: %s)%s%s" % (
            label, a["p50"], a["p99"], " ".join("%+.0f" % x for x in a["p50_rounds"]),
            " ".join("%+.0f" % x for x in a["p99_rounds"]), extra, "" if a["valid"] else "  [INVALID]"))
# A round where the pool grew well past 16 connections had a stall of about
# (connections / rate) seconds: say so, since it dominates that row's p99.
for row in ("a", "b", "c"):
    h = lf.get(row)
    if h:
        big = [x for x in h["rounds"] if (x.get("connections") or 0) > 32]
        for x in big:
            P("   note: (%s) a round needed %d connections: the server stalled for about %.0f ms at least once"
              % (row, x["connections"], 1000.0 * x["connections"] / max(1, num("rate", 2000))))
P("")
if st and "targets" in st:
    P("3. Streaming: time to the first SSE event, %s sequential requests per row, interleaved, "
      "one connection each" % facts.get("sse_n"))
    P("   %-30s %6s %9s %9s %9s %7s %7s  %s" % ("row", "n", "p50", "p90", "p99", "events", "chunks",
                                                "status"))
    for row in ("a", "b", "c"):
        t = st["targets"].get(row)
        if not t:
            continue
        T = t["ttfb_us"]
        P("   %-30s %6d %9s %9s %9s %7s %7s  %s" % (
            "(%s) %s" % (row, NAMES[row]), t["n"], f_us(T["p50"]), f_us(T["p90"]), f_us(T["p99"]),
            t["events"], t["http_chunks"] or "-",
            "ok" if t["errors"] == 0 else "INVALID: %d errors, first: %s" % (t["errors"], t["first_error"])))
    for row, label in (("b", "nginx"), ("c", "vigie")):
        a = res["added_ttfb_us"].get(row)
        if a:
            extra = "  (goal p99 <= 1 ms: %s)" % ("met" if a["p99"] <= 1000 else "NOT met") if row == "c" else ""
            P("   added by %-6s p50 %+6.0f µs, p99 %+6.0f µs%s%s" % (
                label, a["p50"], a["p99"], extra, "" if a["valid"] else "  [INVALID]"))
else:
    P("3. Streaming: " + str(st.get("error") if st else "not run"))
P("")
P("4. Memory (VmRSS)")
for who in ("vigie", "nginx"):
    m = mem.get(who)
    if not m:
        continue
    line = "   %-6s idle after start %s" % (who, f_kb(m.get("idle_after_start_kb")))
    if m.get("after_load_kb") is not None:
        line += "; after the load runs above %s" % f_kb(m["after_load_kb"])
    line += "\n          restarted %s" % f_kb(m.get("fresh_before_connections_kb"))
    if "with_idle_connections_kb" in m:
        line += ", with %s idle keep-alive connections %s (%s KB each; %s opened, %s failed, %s still open at the end)" % (
            facts.get("idle_n"), f_kb(m["with_idle_connections_kb"]), m.get("kb_per_connection", "?"),
            m.get("connections_open", "?"), m.get("connections_failed", "?"), m.get("still_open_at_end", "?"))
        line += ", after they closed %s" % f_kb(m.get("after_they_closed_kb"))
    if who == "vigie":
        ok_idle = (m.get("idle_after_start_kb") or 1e9) <= 10 * 1024
        ok_10k = (m.get("with_idle_connections_kb") or 1e9) <= 200 * 1024
        line += "\n          goals: <= 10 MB idle: %s; <= 200 MB with 10k: %s" % (
            "met" if ok_idle else "NOT met", "met" if ok_10k else "NOT met")
        if m.get("connections_failed"):
            line += "  [INVALID: connections failed]"
    else:
        line += "\n          (master + worker)"
    P(line)
P("")
P("elapsed %ss; results in %s" % (facts.get("elapsed_s"), out))

os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
with open(out, "w") as f:
    json.dump(res, f, indent=1, ensure_ascii=False)
    f.write("\n")
