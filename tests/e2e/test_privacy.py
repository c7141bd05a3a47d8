"""Privacy of what vigie writes: after every other test of the run (run.py runs
this one last), no personal value sent through any gateway appears in any of
their logs, audit logs, exported checkpoints or metrics. This test also sends every value itself, through a gateway at
log level debug, in every way a request can carry it (body, streamed answer,
blocked request, rerouted request, parser error, header values, keys), so that
it means something when run alone."""

import glob
import os
import unittest

import data
from harness import (AGENT, EXT_KEY, KEYS, Client, GatewayTest, chat, run_dir, settle)


class PrivacyTest(GatewayTest):
    GATEWAY_ARGS = {"log_level": "debug"}

    def send_everything(self):
        p = self.gw.port
        chat(p, data.PROMPT)
        chat(p, data.PROMPT, stream=True)
        chat(p, data.PROMPT, model="local-model", headers={"x-mock-mode": "error=500"})
        chat(p, "NIR %s, mail %s" % (data.NIR, data.EMAIL2))
        chat(p, "Clé :\n" + data.PRIVATE_KEY)
        chat(p, "Note %s, %s" % (data.MARKING, data.EMAIL))
        chat(p, data.PROMPT, key="wrong-" + data.EMAIL)
        with Client(p) as c:  # a parser error with personal data in the head
            c.send(("POST /v1/chat/completions?mail=%s HTTP/1.1\r\nHost: gw\r\nX-Note: %s\r\n"
                    "X : %s\r\n\r\n" % (data.EMAIL.replace("@", "%40"), data.NAME, data.PHONE)
                    ).encode())
            c.read_response()
        with Client(p) as c:
            c.request("POST", "/v1/chat/completions", {"model": "cloud-model", "messages": [
                {"role": "user", "content": data.PROMPT}], "x": [1, 2, 3]},
                {"Authorization": "Bearer " + AGENT, "X-User-Mail": data.EMAIL})

    def test_no_personal_value_in_any_log(self):
        self.send_everything()
        settle()
        # Every file vigie wrote: its logs, audit logs (rotated ones too) and
        # exported checkpoints, and what /metrics says.
        logs = sorted(glob.glob(os.path.join(run_dir(), "gw-*", "vigie.stderr")) +
                      glob.glob(os.path.join(run_dir(), "gw-*", "audit.log*")))
        self.assertIn(self.gw.stderr_path, logs)
        self.assertIn(self.gw.audit_log, logs)
        metrics_path = os.path.join(self.gw.dir, "metrics.txt")
        with open(metrics_path, "w", encoding="utf-8") as f:
            f.write(self.gw.admin_get("/metrics").body.decode())
        logs.append(metrics_path)
        secrets = data.PERSONAL + [AGENT, KEYS["indexer"], KEYS["dev"], EXT_KEY,
                                   data.EMAIL.replace("@", "%40")]
        total = 0
        for path in logs:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            total += len(text)
            for v in secrets:
                with self.subTest(log=os.path.relpath(path, run_dir()), value=v[:12]):
                    self.assertNotIn(v, text)
        self.assertGreater(total, 0)
        # The debug log did log the exchanges, and the audit log recorded
        # them (this test is not vacuous).
        self.assertGreaterEqual(len(self.gw.log_events("request")), 8)
        self.assertGreaterEqual(len(self.gw.audit_records("exchange")), 8)


if __name__ == "__main__":
    unittest.main()
