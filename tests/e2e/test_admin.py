"""/healthz and /metrics on the admin listener: the counters move by exactly
what known requests should make them move."""

import time
import unittest

import data
from harness import (WAIT, Client, GatewayTest, auth, chat, metric, parse_metrics, settle)


class AdminTest(GatewayTest):

    def test_healthz(self):
        r = self.gw.admin_get("/healthz")
        self.assertEqual(r.status, 200, r)
        h = r.json()
        self.assertEqual(h["status"], "ok")
        self.assertEqual(h["policy"], {"id": "e2e-test", "version": "1"})
        self.assertIs(h["draining"], False)

    def test_admin_not_on_the_main_listener(self):
        with Client(self.gw.port) as c:
            r = c.request("GET", "/metrics", None, auth())
        self.assertEqual(r.status, 404, r)

    def test_metrics_static(self):
        text = self.gw.admin_get("/metrics")
        self.assertEqual(text.status, 200)
        self.assertIn("text/plain", text.header("content-type") or "")
        m = parse_metrics(text.body.decode())
        self.assertEqual(metric(m, "vigie_policy_info", id="e2e-test", version="1"), 1)
        self.assertEqual(len([k for k in m if k[0] == "vigie_build_info"]), 1)
        for name in ("vigie_request_duration_seconds_bucket",
                     "vigie_inspection_duration_seconds_bucket",
                     "vigie_added_latency_seconds_bucket", "vigie_connections_open",
                     "vigie_connections_total"):
            self.assertTrue(any(k[0] == name for k in m), name)

    def test_counters_move(self):
        before = self.gw.metrics()
        # 2 masked chats to the external model (one e-mail each), 1 blocked,
        # 1 unknown path, 1 unknown caller, 1 parser error: 6 connections.
        for _ in range(2):
            self.assertEqual(chat(self.gw.port, "Écrire à " + data.EMAIL).status, 200)
        self.assertEqual(chat(self.gw.port, "Note %s." % data.MARKING).status, 403)
        with Client(self.gw.port) as c:
            self.assertEqual(c.request("GET", "/v1/nothing", None, auth()).status, 404)
        self.assertEqual(chat(self.gw.port, "Bonjour", key="wrong").status, 401)
        with Client(self.gw.port) as c:
            c.send(b"GET /v1/models HTTP/1.1\r\nHost: gw\r\nX : y\r\n\r\n")
            self.assertEqual(c.read_response().status, 400)

        def delta(name, **labels):
            return metric(self.gw.metrics(), name, **labels) - metric(before, name, **labels)
        want = [
            (2, "vigie_requests_total", dict(status="200", decision="mask", upstream="external")),
            (1, "vigie_requests_total", dict(status="403", decision="block")),
            (1, "vigie_requests_total", dict(status="404", decision="none", upstream="none")),
            (1, "vigie_requests_total", dict(status="401", decision="deny")),
            (1, "vigie_requests_total", dict(status="400", decision="none", upstream="none")),
            (6, "vigie_requests_total", {}),
            (2, "vigie_findings_total", dict(category="contact.email", action="pseudonymise")),
            (6, "vigie_request_duration_seconds_count", {}),
        ]
        # Counters are updated when an exchange ends: wait until they settle.
        end = time.time() + WAIT
        while time.time() < end and any(delta(n, **l) < v for v, n, l in want):
            time.sleep(0.1)
        for v, n, l in want:
            with self.subTest(metric=n, labels=l):
                self.assertEqual(delta(n, **l), v)
        # At least the six client connections (whether admin scrapes count is not said).
        self.assertGreaterEqual(delta("vigie_connections_total"), 6)
        settle()
        self.assertLessEqual(metric(self.gw.metrics(), "vigie_connections_open"), 1)


if __name__ == "__main__":
    unittest.main()
