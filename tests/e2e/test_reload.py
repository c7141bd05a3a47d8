"""SIGHUP reload under traffic (no failed request, the new policy takes over),
an invalid policy on reload (the old one stays, the log says why), SIGTERM with
a request in flight (it completes, then vigie exits 0)."""

import threading
import time
import unittest

import data
from harness import (WAIT, Client, Gateway, GatewayTest, Mock, auth, chat, content_of,
                     in_thread, metric, render_policy, sha256)

NEW_KEY = "e2e-new-key"
NEW_CALLER = ("  - id: newcomer\n"
              "    api_key_sha256: %s\n"
              "    groups: [agents]\n" % sha256(NEW_KEY))


class ReloadTest(GatewayTest):

    def rewrite(self, **policy_args):
        args = dict(self.gw.policy_args)
        args.update(policy_args)
        render_policy(self.gw.policy, self.gw.internal_url, self.gw.external_url, **args)

    def reloads(self, result):
        return metric(self.gw.metrics(), "vigie_reloads_total", result=result)

    def wait_metric(self, fn, want):
        end = time.time() + WAIT
        while time.time() < end:
            if fn() >= want:
                return True
            time.sleep(0.1)
        return False

    def test_1_sighup_under_traffic(self):
        stop = threading.Event()
        results = []

        def traffic():
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    if i % 3 == 0:
                        with Client(self.gw.port) as c:
                            r = c.request("GET", "/v1/models", None, auth())
                            results.append(("models", r.status, None))
                    else:
                        text = "Requête %d de %s" % (i, data.EMAIL)
                        r = chat(self.gw.port, text, model="local-model",
                                 stream=(i % 3 == 1))
                        ok = r.status == 200 and r.complete and content_of(r) == text
                        results.append(("chat", r.status if ok else -r.status, r))
                except Exception as e:  # a reset or a timeout is a failed request
                    results.append(("error", 0, repr(e)))
        t = threading.Thread(target=traffic, daemon=True)
        ok_before = self.reloads("ok")
        t.start()
        try:
            time.sleep(0.5)
            self.assertEqual(chat(self.gw.port, "x", key=NEW_KEY).status, 401)
            self.rewrite(version="2", extra_callers=NEW_CALLER)
            for _ in range(4):
                self.gw.sighup()
                time.sleep(0.4)
            self.assertTrue(self.wait_metric(lambda: self.reloads("ok"), ok_before + 1),
                            "no successful reload counted")
            time.sleep(0.5)
        finally:
            stop.set()
            t.join(WAIT)
        failed = [r for r in results if r[1] != 200]
        self.assertGreater(len(results), 10, "too little traffic to mean anything")
        self.assertEqual(failed, [], "%d of %d requests failed during reloads"
                         % (len(failed), len(results)))
        r = chat(self.gw.port, "Bonjour", key=NEW_KEY, model="local-model")
        self.assertEqual(r.status, 200, r)
        m = self.gw.metrics()
        self.assertEqual(metric(m, "vigie_policy_info", id="e2e-test", version="2"), 1)
        health = self.gw.admin_get("/healthz").json()
        self.assertEqual(health["policy"]["version"], "2")
        self.assertTrue(self.gw.alive())

    def test_2_invalid_policy_keeps_the_old_one(self):
        failed_before = self.reloads("failed")
        version_before = self.gw.admin_get("/healthz").json()["policy"]["version"]
        log_before = len(self.gw.log())
        with open(self.gw.policy, "w", encoding="utf-8") as f:
            f.write("policy:\n  id: broken\n  version: \"9\"\nupstreams: [\n")
        self.gw.sighup()
        self.assertTrue(self.wait_metric(lambda: self.reloads("failed"), failed_before + 1),
                        "the failed reload was not counted")
        # Still served, by the old policy.
        r = chat(self.gw.port, "Bonjour", model="local-model")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.gw.admin_get("/healthz").json()["policy"]["version"],
                         version_before)
        self.assertTrue(self.gw.alive())
        new_lines = self.gw.log()[log_before:]
        why = [e for e in new_lines if "policy.yaml:" in str(e)]
        self.assertTrue(why, "the log does not say why the reload failed: %r" % new_lines)
        self.assertIn(why[0].get("level"), ("warn", "error"))
        # And a good policy after the bad one is taken again.
        self.rewrite(version="3", extra_callers=NEW_CALLER)
        ok_before = self.reloads("ok")
        self.gw.sighup()
        self.assertTrue(self.wait_metric(lambda: self.reloads("ok"), ok_before + 1))
        self.assertEqual(self.gw.admin_get("/healthz").json()["policy"]["version"], "3")


class DrainTest(unittest.TestCase):

    check_healthz = False

    def test_healthz_503_while_draining(self):
        self.check_healthz = True
        self.test_sigterm_with_request_in_flight()

    def test_sigterm_with_request_in_flight(self):
        internal = Mock("internal", models=("local-model",))
        external = Mock("external", models=("cloud-model",))
        self.addCleanup(internal.stop)
        self.addCleanup(external.stop)
        gw = Gateway("drain", internal.url, external.url)
        self.addCleanup(gw.stop)
        m = internal.mark()
        text = "Réponse lente pour %s" % data.EMAIL
        t, res = in_thread(chat, gw.port, text, model="local-model",
                           headers={"x-mock-mode": "delay=2"})
        # Wait until the request is at the model (in flight), then SIGTERM.
        recs = internal.wait_for(lambda rs: any(r["event"] == "request" for r in rs), since=m)
        self.assertTrue(any(r["event"] == "request" for r in recs), "request never reached")
        gw.sigterm()
        if self.check_healthz:
            # While the request drains, /healthz says so (once the signal has
            # been handled: polled with a deadline, the request is 2 s long).
            deadline = time.monotonic() + 1.5
            h = gw.admin_get("/healthz")
            while h.status != 503 and time.monotonic() < deadline:
                time.sleep(0.02)
                h = gw.admin_get("/healthz")
            self.assertEqual(h.status, 503, h)
            self.assertIs(h.json()["draining"], True)
        t.join(WAIT)
        self.assertNotIn("error", res, res)
        r = res["value"]
        self.assertEqual(r.status, 200, r)
        self.assertEqual(content_of(r), text)
        self.assertEqual(gw.wait_exit(), 0, gw.stderr()[-2000:])
        # Once drained nobody listens any more.
        with self.assertRaises(OSError):
            Client(gw.port, timeout=2).close()


if __name__ == "__main__":
    unittest.main()
