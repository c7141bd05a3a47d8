#!/usr/bin/env python3
"""Runs vigie's end-to-end tests: run.py --vigie PATH [--only PATTERN] [--keep] [-v]

Loads tests/e2e/test_*.py (unittest), runs them against the given binary,
prints a summary and exits 1 on any failure or error. test_privacy runs last:
it reads the logs of every gateway the run started. PATTERN selects tests whose
id (module.Class.test_name) contains it; several patterns may be given
separated by commas. --keep leaves the scratch folder (logs, configurations,
mock records) in place and prints where it is.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ORDER = ["test_api", "test_openai_node", "test_malformed", "test_limits", "test_upstream",
         "test_tls", "test_flow", "test_reload", "test_admin", "test_echo_cli", "test_privacy"]


def iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from iter_tests(t)
        else:
            yield t


class Result(unittest.TextTestResult):
    def startTest(self, test):
        self._t0 = time.time()
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        self.times = getattr(self, "times", [])
        self.times.append((time.time() - self._t0, test.id()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vigie", required=True)
    ap.add_argument("--only", default="")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    vigie = os.path.abspath(args.vigie)
    if not os.access(vigie, os.X_OK):
        print("run.py: %s is not an executable" % vigie, file=sys.stderr)
        return 2
    os.environ["VIGIE"] = vigie
    work = tempfile.mkdtemp(prefix="vigie-e2e-")
    os.environ["E2E_RUN_DIR"] = work
    sys.path.insert(0, HERE)

    names = sorted(f[:-3] for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py"))
    names.sort(key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER) - 1, n))
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    patterns = [p for p in args.only.split(",") if p]
    for n in names:
        for t in iter_tests(loader.loadTestsFromName(n)):
            if not patterns or any(p in t.id() for p in patterns):
                suite.addTest(t)
    if suite.countTestCases() == 0:
        print("run.py: no test matches %r" % args.only, file=sys.stderr)
        return 2

    t0 = time.time()
    runner = unittest.TextTestRunner(verbosity=2 if args.verbose else 1, resultclass=Result,
                                     stream=sys.stdout)
    res = runner.run(suite)
    took = time.time() - t0

    print("\n== e2e summary (%s)" % vigie)
    failed, sub = set(), {}
    for t, _ in res.failures + res.errors:
        base = getattr(t, "test_case", t).id()  # a subTest's own test
        failed.add(base)
        if base != t.id():
            sub.setdefault(base, []).append(t.id()[len(base):].strip())
    skipped = {t.id(): why for t, why in res.skipped}
    for dt, tid in getattr(res, "times", []):
        state = "FAIL" if tid in failed else "skip" if tid in skipped else "ok"
        extra = ("  (%s)" % skipped[tid]) if tid in skipped else ""
        print("  %-4s %6.1fs  %s%s" % (state, dt, tid, extra))
        for what in sub.get(tid, []):
            print("                 failed: %s" % what)
    for tid in sorted(failed - {tid for _, tid in getattr(res, "times", [])}):
        print("  FAIL          %s (class set-up or tear-down)" % tid)
    print("%d tests, %d failed or errors, %d skipped, %.0f s" %
          (res.testsRun, len(res.failures) + len(res.errors), len(res.skipped), took))
    if args.keep or failed:
        print("scratch folder (logs, configs, mock records): %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if res.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
