#!/usr/bin/env python3
"""Detection quality of the shipped rule packs over the labelled corpus.

  python3 tests/quality/quality.py --batch build/scan_batch --rules rules
      [--corpus FILE.jsonl] [--seed N] [--n N] [--examples K]

Generates the corpus in memory with gen_corpus.py (same default seed as the
generator; --corpus reads a JSONL file it wrote instead), sends every prompt
to scan_batch in one run (NUL-separated UTF-8), and compares the findings
with the gold spans:

  * a gold span is recalled when a finding of the SAME category overlaps it
    (exact-span matches are counted apart);
  * a finding is a false positive when it overlaps no gold span of its
    category;
  * "secrets" and "markings" are the groups secret.* and marking.*: there a
    finding of any category of the group counts.

Prints per category gold, found, TP (gold recalled), FN, FP, exact, recall,
precision and leak (share of gold bytes covered by no finding at all), then
false positives by hard-negative kind, then the first missed and false
examples of each category. Exits 1 when a gate fails, 2 when the scanner
could not run; the last line is always "N passed, N failed" over the gates.
"""

import argparse
import json
import os
import subprocess
import sys

# ctest runs this from the source tree: leave no __pycache__ behind there.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_corpus  # noqa: E402

CHECKSUM_GATE = 0.99
SOFT_GATE = 0.97
GATES = [
    ("identity.nir", CHECKSUM_GATE),
    ("finance.iban", CHECKSUM_GATE),
    ("finance.card", CHECKSUM_GATE),
    ("company.siret", CHECKSUM_GATE),
    ("company.vat", CHECKSUM_GATE),
    ("company.eori", CHECKSUM_GATE),
    ("customs.mrn", CHECKSUM_GATE),
    ("customs.container", CHECKSUM_GATE),
    ("contact.email", SOFT_GATE),
    ("contact.phone", SOFT_GATE),
    ("vehicle.plate", SOFT_GATE),
    ("secrets", SOFT_GATE),
    ("markings", SOFT_GATE),
]
GROUPS = {"secrets": "secret.", "markings": "marking."}

# A finding of the key category overlapping a gold span of one of the listed
# categories is not a false positive: a postcode rule firing inside a full
# postal address found the right thing, only less of it.
ALIASES = {"place.postcode": ("place.address",)}

CONTEXT_BYTES = 40


def members(name):
    """Predicate on categories for a category or a group name."""
    prefix = GROUPS.get(name)
    if prefix:
        return lambda c: c.startswith(prefix)
    return lambda c: c == name


def overlaps(a, b):
    return a["start"] < b["end"] and b["start"] < a["end"]


def show(s):
    out = []
    for ch in s:
        if ch == "\n":
            out.append("⏎")
        elif ch in "\u00a0\u202f\u200b\u200c\u200d\u2060\ufeff\t" or not ch.isprintable():
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def snippet(rec, start, end):
    raw = rec["text"].encode("utf-8")
    before = raw[max(0, start - CONTEXT_BYTES):start].decode("utf-8", "ignore")
    inside = raw[start:end].decode("utf-8", "ignore")
    if len(inside) > 100:
        inside = inside[:48] + " … " + inside[-48:]
    after = raw[end:end + CONTEXT_BYTES].decode("utf-8", "ignore")
    return "%s[%s]%s" % (show(before), show(inside), show(after))


def run_scanner(batch, rules, records):
    cmd = [batch]
    for r in rules:
        cmd += ["--rules", r]
    data = b"\0".join(r["text"].encode("utf-8") for r in records)
    proc = subprocess.run(cmd, input=data, capture_output=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError("scan_batch exited %d:\n%s" % (proc.returncode,
                                                          proc.stderr.decode("utf-8", "replace")))
    lines = proc.stdout.decode("utf-8").splitlines()
    if len(lines) != len(records):
        raise RuntimeError("scan_batch answered %d lines for %d prompts" % (len(lines), len(records)))
    results, errors = [], []
    for rec, line in zip(records, lines):
        obj = json.loads(line)
        if "error" in obj:
            errors.append((rec["id"], obj["error"]))
            results.append([])
        else:
            results.append(obj["findings"])
    return results, errors


class Stats:
    def __init__(self, name):
        self.name = name
        self.gold = self.found = self.recalled = self.exact = self.fp = 0
        self.gold_bytes = self.leak_bytes = 0
        self.missed, self.false = [], []

    @property
    def recall(self):
        return self.recalled / self.gold if self.gold else None

    @property
    def precision(self):
        return (self.found - self.fp) / self.found if self.found else None


def uncovered_bytes(span, findings):
    """Bytes of span covered by no finding (a union: findings of two passes may nest)."""
    parts = sorted((max(span["start"], f["start"]), min(span["end"], f["end"])) for f in findings)
    covered, reach = 0, span["start"]
    for lo, hi in parts:
        lo = max(lo, reach)
        if lo < hi:
            covered += hi - lo
            reach = hi
    return span["end"] - span["start"] - covered


def evaluate(records, results, names):
    stats = {n: Stats(n) for n in names}
    for rec, findings in zip(records, results):
        for name, st in stats.items():
            is_member = members(name)
            gold = [g for g in rec["spans"] if is_member(g["category"])]
            found = [f for f in findings if is_member(f["category"])]
            st.gold += len(gold)
            st.found += len(found)
            for gi, g in enumerate(gold):
                hits = [f for f in found if overlaps(f, g)]
                st.gold_bytes += g["end"] - g["start"]
                st.leak_bytes += uncovered_bytes(g, findings)
                if hits:
                    st.recalled += 1
                    if any(f["start"] == g["start"] and f["end"] == g["end"] for f in hits):
                        st.exact += 1
                else:
                    others = [f for f in findings if overlaps(f, g)]
                    index = rec["spans"].index(g)
                    perts = [p["kind"] for p in rec["perturbations"] if p["span"] == index]
                    st.missed.append((rec, g, others, perts))
            for f in found:
                ok_cats = (f["category"],) + ALIASES.get(f["category"], ())
                if any(overlaps(f, g) and (is_member(g["category"]) or g["category"] in ok_cats)
                       for g in rec["spans"]):
                    continue
                st.fp += 1
                negs = [n["kind"] for n in rec["negatives"] if overlaps(f, n)]
                golds = [g["category"] for g in rec["spans"] if overlaps(f, g)]
                st.false.append((rec, f, negs, golds))
    return stats


def fmt_ratio(x):
    return "-" if x is None else "%.3f" % x


def print_table(stats, order, gates):
    head = "%-26s %5s %5s %5s %5s %5s %5s %5s %7s %7s %6s  %s" % (
        "category", "gate", "gold", "found", "TP", "FN", "FP", "exact", "recall", "prec.", "leak", "")
    print(head)
    print("-" * len(head))
    for name in order:
        st = stats[name]
        gate = gates.get(name)
        status = ""
        if gate is not None:
            status = "ok" if gate_ok(st, gate) else "FAIL"
        leak = "%.3f" % (st.leak_bytes / st.gold_bytes) if st.gold_bytes else "-"
        print("%-26s %5s %5d %5d %5d %5d %5d %5d %7s %7s %6s  %s" % (
            name, "%.2f" % gate if gate else "-", st.gold, st.found, st.recalled, st.gold - st.recalled,
            st.fp, st.exact, fmt_ratio(st.recall), fmt_ratio(st.precision), leak, status))


def gate_ok(st, threshold):
    if st.gold == 0:
        return False
    precision = st.precision if st.precision is not None else 1.0
    return st.recall >= threshold and precision >= threshold


def print_negatives(records, results):
    kinds = {}
    for rec, findings in zip(records, results):
        for n in rec["negatives"]:
            entry = kinds.setdefault(n["kind"], [0, 0, {}])
            entry[0] += 1
            fps = [f for f in findings if overlaps(f, n)
                   and not any(overlaps(f, g) and g["category"] == f["category"] for g in rec["spans"])]
            if fps:
                entry[1] += 1
                for f in fps:
                    entry[2][f["rule"]] = entry[2].get(f["rule"], 0) + 1
    print("\nHard negatives: how many were (partly) found by some rule")
    print("%-16s %6s %6s %7s  %s" % ("kind", "count", "hit", "rate", "rules that fired"))
    total = hit = 0
    for kind in sorted(kinds):
        n, h, rules = kinds[kind]
        total, hit = total + n, hit + h
        print("%-16s %6d %6d %7.3f  %s" % (kind, n, h, h / n,
                                           ", ".join("%s×%d" % kv for kv in sorted(rules.items()))))
    print("%-16s %6d %6d %7.3f" % ("all", total, hit, hit / total if total else 0.0))


def print_examples(stats, order, k):
    for name in order:
        st = stats[name]
        if not st.missed and not st.false:
            continue
        if name in GROUPS:
            continue  # the member categories already list them
        print("\n== %s: %d missed, %d false" % (name, len(st.missed), len(st.false)))
        for rec, g, others, perts in st.missed[:k]:
            extra = ""
            if others:
                extra += " found instead as " + ", ".join(
                    "%s %s" % (f["category"], show(rec["text"].encode()[f["start"]:f["end"]].decode(
                        "utf-8", "ignore"))) for f in others)
            if perts:
                extra += " perturbed: " + ",".join(perts)
            print("  FN %s %s%s" % (rec["id"], snippet(rec, g["start"], g["end"]), extra))
        for rec, f, negs, golds in st.false[:k]:
            why = ""
            if negs:
                why = " on negative " + ",".join(negs)
            elif golds:
                why = " on gold " + ",".join(golds)
            print("  FP %s %s (rule %s)%s" % (rec["id"], snippet(rec, f["start"], f["end"]), f["rule"], why))


def load_corpus(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def main(argv=None):
    ap = argparse.ArgumentParser(description="Per-category recall/precision of the rule packs.")
    ap.add_argument("--batch", required=True, help="path to the scan_batch binary")
    ap.add_argument("--rules", action="append", help="pack file or directory (repeatable; default rules)")
    ap.add_argument("--corpus", help="read this JSONL corpus instead of generating one")
    ap.add_argument("--seed", type=int, default=gen_corpus.SEED)
    ap.add_argument("--n", type=int, default=gen_corpus.DEFAULT_N)
    ap.add_argument("--examples", type=int, default=5, help="missed/false examples per category")
    args = ap.parse_args(argv)
    rules = args.rules or ["rules"]

    if args.corpus:
        records = load_corpus(args.corpus)
        source = args.corpus
    else:
        gen_corpus.self_check()
        records = gen_corpus.generate(seed=args.seed, n=args.n)
        gen_corpus.check_records(records)
        source = "generated, seed %d" % args.seed
    gates = dict(GATES)
    try:
        results, errors = run_scanner(args.batch, rules, records)
    except (OSError, RuntimeError, subprocess.TimeoutExpired, ValueError) as e:
        print("quality: cannot scan the corpus: %s" % e)
        print("0 passed, %d failed" % len(GATES))
        return 2

    cats = {g["category"] for r in records for g in r["spans"]}
    cats |= {f["category"] for fs in results for f in fs}
    gated = [name for name, _ in GATES]
    group_members = [c for c in sorted(cats) for g in GROUPS.values() if c.startswith(g)]
    order = gated + group_members + sorted(c for c in cats if c not in gated and c not in group_members)
    stats = evaluate(records, results, order)

    nspans = sum(len(r["spans"]) for r in records)
    nnegs = sum(len(r["negatives"]) for r in records)
    langs = {}
    for r in records:
        langs[r["lang"]] = langs.get(r["lang"], 0) + 1
    print("corpus: %d prompts (%s), %s; %d gold spans, %d hard negatives; rules: %s\n" % (
        len(records), ", ".join("%d %s" % (v, k) for k, v in sorted(langs.items())), source,
        nspans, nnegs, " ".join(rules)))
    print_table(stats, order, gates)

    gated_cats = [c for c in sorted(cats) if any(members(n)(c) for n in gated)]
    gb = sum(g["end"] - g["start"] for r in records for g in r["spans"] if g["category"] in gated_cats)
    leak = sum(uncovered_bytes(g, fs) for r, fs in zip(records, results)
               for g in r["spans"] if g["category"] in gated_cats)
    print("\nleak rate (gated categories): %d of %d gold bytes covered by no finding = %.4f"
          % (leak, gb, leak / gb if gb else 0.0))
    if errors:
        print("engine errors on %d prompts (counted as no findings): %s" % (
            len(errors), ", ".join("%s: %s" % e for e in errors[:10])))
    print_negatives(records, results)
    print_examples(stats, order, args.examples)

    failed = [name for name, t in GATES if not gate_ok(stats[name], t)]
    print()
    for name in failed:
        st = stats[name]
        why = "no gold span in the corpus" if st.gold == 0 else "recall %s, precision %s < %.2f" % (
            fmt_ratio(st.recall), fmt_ratio(st.precision), gates[name])
        print("gate failed: %s (%s)" % (name, why))
    print("%d passed, %d failed" % (len(GATES) - len(failed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
