"""The audit trail, end to end: one record per exchange with the fields an
auditor needs and no value; a chain that `vigie verify` accepts across a kill
-9, a restart, rotation and a logrotate reopen; fail closed when the log
cannot be written (a file size limit set on the running process gives EFBIG),
and `audit_failure: serve` when the policy says so."""

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import unittest

import data
from harness import (AGENT, WAIT, Client, Gateway, GatewayTest, Mock, auth, chat, chat_body,
                     metric, settle)


def ids_of(records):
    return {r["id"] for r in records if r["type"] == "exchange"}


def wait_until(pred, timeout=10.0, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def prlimit_fsize(pid, soft):
    """Sets the running process's file size limit (soft; the hard one stays)."""
    subprocess.run(["prlimit", "--pid", str(pid), "--fsize=%s:unlimited" % soft], check=True)


class AuditRecordsTest(GatewayTest):
    """What an exchange's record says, for each kind of outcome."""

    def record_for(self, resp):
        rid = resp.header("x-request-id")
        self.assertTrue(rid, resp)
        recs = [r for r in self.gw.audit_records("exchange") if r["id"] == rid]
        self.assertEqual(len(recs), 1, (rid, recs))
        return recs[0]

    def test_masked_exchange(self):
        r = chat(self.gw.port, data.PROMPT)
        self.assertEqual(r.status, 200, r)
        rec = self.record_for(r)
        self.assertEqual(rec["caller"], "agent")
        self.assertEqual(rec["groups"], ["agents"])
        self.assertEqual(rec["client"], "127.0.0.1")
        self.assertEqual(rec["endpoint"], "chat")
        self.assertEqual(rec["model"], "cloud-model")
        self.assertEqual(rec["model_served"], "cloud-model")
        self.assertEqual((rec["upstream"], rec["trust"]), ("external", "external"))
        self.assertEqual(rec["policy"], {"id": "e2e-test", "version": "1", "mode": "enforce"})
        self.assertEqual(rec["decision"], "mask")
        self.assertEqual(rec["status"], 200)
        self.assertIsNone(rec["code"])
        self.assertFalse(rec["stream"])
        # The mock's usage, as it answered it.
        usage = r.json()["usage"]
        self.assertEqual((rec["tokens_in"], rec["tokens_out"]),
                         (usage["prompt_tokens"], usage["completion_tokens"]))
        cats = {f["category"]: (f["count"], f["action"]) for f in rec["findings"]}
        self.assertEqual(cats.get("contact.email"), (1, "pseudonymise"), rec["findings"])
        self.assertEqual(cats.get("finance.iban"), (1, "mask"), rec["findings"])
        self.assertTrue(all(set(f) == {"rule", "category", "count", "action"}
                            for f in rec["findings"]), rec["findings"])
        self.assertGreater(rec["bytes_out"], len(r.body))
        self.assertGreater(rec["bytes_in"], len(data.PROMPT))
        self.assertGreaterEqual(rec["ms"], rec["vigie_ms"])
        self.assertGreater(rec["vigie_ms"], 0)

    def test_streamed_exchange_with_usage(self):
        r = chat(self.gw.port, "Bonjour %s" % data.EMAIL, stream=True,
                 stream_options={"include_usage": True})
        self.assertEqual(r.status, 200, r)
        rec = self.record_for(r)
        self.assertTrue(rec["stream"])
        self.assertEqual(rec["decision"], "mask")
        usage = [json.loads(d)["usage"] for d in r.sse_data()
                 if d != "[DONE]" and json.loads(d).get("usage")]
        self.assertEqual(len(usage), 1, r.sse_data())
        self.assertEqual((rec["tokens_in"], rec["tokens_out"]),
                         (usage[0]["prompt_tokens"], usage[0]["completion_tokens"]))

    def test_stream_without_usage_still_recorded(self):
        """The client did not ask for usage: vigie asks the model, records the
        tokens, and the client's stream has no usage chunk."""
        mark = self.external.mark()
        r = chat(self.gw.port, "Bonjour %s" % data.EMAIL, stream=True)
        self.assertEqual(r.status, 200, r)
        chunks = [json.loads(d) for d in r.sse_data() if d != "[DONE]"]
        self.assertTrue(chunks)
        self.assertFalse([c for c in chunks if c.get("usage")], chunks)
        self.assertTrue(all(c["choices"] for c in chunks), chunks)
        self.assertEqual(r.sse_data()[-1], "[DONE]")
        sent = json.loads(self.external.requests(mark)[0]["body_text"])
        self.assertEqual(sent["stream_options"], {"include_usage": True})
        rec = self.record_for(r)
        self.assertIsInstance(rec["tokens_in"], int)
        self.assertIsInstance(rec["tokens_out"], int)
        self.assertGreater(rec["tokens_out"], 0)

    def test_reroute_block_deny_and_errors(self):
        p = self.gw.port
        rr = chat(p, "NIR %s" % data.NIR)
        blk = chat(p, "Note %s" % data.MARKING)
        bad_key = chat(p, data.PROMPT, key="wrong-" + data.EMAIL)
        # A model name is client text: only names the policy knows are recorded.
        odd = chat(p, "bonjour", model="modele-" + data.NAME)
        with Client(p) as c:
            malformed = c.request("POST", "/v1/chat/completions", b"{not json", auth())
        with Client(p) as c:
            models = c.request("GET", "/v1/models", None, auth())
        rec = self.record_for(rr)
        self.assertEqual((rec["decision"], rec["upstream"], rec["trust"], rec["status"]),
                         ("reroute", "internal", "internal", 200))
        self.assertEqual(rec["model"], "cloud-model")
        self.assertEqual(rec["model_served"], "local-model")
        # the actions are those applied at the internal model, where it went
        self.assertIn("identity.nir", {f["category"] for f in rec["findings"]})
        rec = self.record_for(blk)
        self.assertEqual((rec["decision"], rec["status"], rec["upstream"], rec["tokens_in"]),
                         ("block", 403, None, None))
        self.assertIn("block", {f["action"] for f in rec["findings"]})
        rec = self.record_for(bad_key)
        self.assertEqual((rec["decision"], rec["status"], rec["caller"], rec["groups"]),
                         ("deny", 401, None, []))
        rec = self.record_for(odd)
        self.assertEqual((rec["decision"], rec["status"], rec["model"]), ("deny", 403, None))
        rec = self.record_for(malformed)
        self.assertEqual(rec["status"], 400)
        self.assertTrue(rec["code"], rec)
        rec = self.record_for(models)
        self.assertEqual((rec["endpoint"], rec["status"], rec["decision"]), ("models", 200, "allow"))
        text = "".join(open(f, encoding="utf-8").read() for f in self.gw.audit_files())
        for v in data.PERSONAL + [AGENT, "wrong-" + data.EMAIL]:
            self.assertNotIn(v, text)

    def test_chain_verifies_and_metrics(self):
        for i in range(5):
            self.assertEqual(chat(self.gw.port, "bonjour %d" % i).status, 200)
        rc, out = self.gw.audit_verify()
        self.assertEqual(rc, 0, out)
        self.assertIn("MACs: all verified", out)
        recs = self.gw.audit_records()
        self.assertEqual(recs[0]["type"], "start")
        self.assertEqual([r["seq"] for r in recs], list(range(1, len(recs) + 1)))
        m = self.gw.metrics()
        self.assertGreaterEqual(metric(m, "vigie_audit_records_total"), len(recs))
        self.assertEqual(metric(m, "vigie_audit_broken"), 0)
        h = json.loads(self.gw.admin_get("/healthz").body)
        self.assertEqual(h["audit"], "ok")


class AuditReloadTest(GatewayTest):
    def test_reload_and_stop_records(self):
        self.gw.sighup()
        self.assertTrue(wait_until(lambda: len(self.gw.audit_records("reload")) == 1))
        good = open(self.gw.policy, encoding="utf-8").read()
        with open(self.gw.policy, "w", encoding="utf-8") as f:
            f.write(good.replace("  mode: enforce", "  mdoe: enforce"))
        self.gw.sighup()
        self.assertTrue(wait_until(lambda: len(self.gw.audit_records("reload")) == 2))
        with open(self.gw.policy, "w", encoding="utf-8") as f:
            f.write(good)
        ok, bad = self.gw.audit_records("reload")
        self.assertEqual((ok["ok"], ok["policy"]["id"]), (True, "e2e-test"))
        self.assertEqual((bad["ok"], bad["errors"]), (False, 1))
        self.assertEqual(self.gw.stop(), 0)
        recs = self.gw.audit_records()
        self.assertEqual([r["type"] for r in recs[-2:]], ["stop", "checkpoint"])
        self.assertEqual(recs[-2]["reason"], "sigterm")
        rc, out = self.gw.audit_verify()
        self.assertEqual(rc, 0, out)
        self.assertIn("end: a clean stop", out)
        # started again on the same log: the chain goes on
        self.gw.start()
        self.assertEqual(chat(self.gw.port, "bonjour").status, 200)
        starts = self.gw.audit_records("start")
        self.assertEqual([s["genesis"] for s in starts], [True, False])
        rc, out = self.gw.audit_verify()
        self.assertEqual(rc, 0, out)


class AuditCrashTest(GatewayTest):
    """kill -9 under load: every answer a client received has its record."""

    def test_kill_9_loses_no_answered_record(self):
        answered, stop = [], threading.Event()
        lock = threading.Lock()

        def load():
            while not stop.is_set():
                try:
                    with Client(self.gw.port) as c:
                        for _ in range(20):
                            r = c.request("POST", "/v1/chat/completions",
                                          chat_body("Bonjour %s" % data.EMAIL), auth())
                            if r.complete and r.status == 200:
                                with lock:
                                    answered.append(r.header("x-request-id"))
                except Exception:  # the gateway died under us: expected
                    if stop.is_set() or not self.gw.alive():
                        return
        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        wait_until(lambda: len(answered) >= 300, timeout=WAIT)
        os.kill(self.gw.proc.pid, signal.SIGKILL)
        self.gw.proc.wait()
        stop.set()
        for t in threads:
            t.join(WAIT)
        self.assertGreaterEqual(len(answered), 300)
        recorded = ids_of(self.gw.audit_records())
        missing = set(answered) - recorded
        self.assertEqual(missing, set(), "%d of %d answered requests have no record" %
                         (len(missing), len(answered)))
        # No stop record: the log says the gateway did not close it.
        self.assertNotEqual(self.gw.audit_records()[-1]["type"], "stop")
        self.gw.stderr_f.close()
        self.gw.start()  # the same log: recovered if torn, then the chain goes on
        self.assertEqual(chat(self.gw.port, "bonjour").status, 200)
        rc, out = self.gw.audit_verify()
        self.assertEqual(rc, 0, out)
        print("\n  kill -9 under load: %d answered, %d recorded, 0 missing"
              % (len(answered), len(recorded)), end="")


class AuditFailClosedTest(GatewayTest):
    """The log cannot be written: 503 with nothing forwarded, then recovery."""

    def test_efbig_refuses_then_recovers(self):
        p = self.gw.port
        self.assertEqual(chat(p, "bonjour").status, 200)
        size = os.path.getsize(self.gw.audit_log)
        mark = self.external.mark()
        prlimit_fsize(self.gw.proc.pid, size + 50)
        try:
            r1 = chat(p, "bonjour %s" % data.EMAIL)  # its record fails: the answer is withheld
            r2 = chat(p, "bonjour")                  # the log is broken: refused at the head
        finally:
            prlimit_fsize(self.gw.proc.pid, "unlimited")
        for r in (r1, r2):
            self.assertOpenAIError(r, 503, "audit_unavailable")
            self.assertEqual(r.header("retry-after"), "5")
        # the first reached the model (its answer was not recorded: withheld); the
        # second never left the gateway
        self.assertEqual(len(self.external.requests(mark)), 1)
        # the file still ends with a whole line
        with open(self.gw.audit_log, "rb") as f:
            self.assertTrue(f.read().endswith(b"\n"))
        self.assertTrue(wait_until(lambda: self.gw.admin_get("/healthz").status == 200, 10))
        self.assertEqual(chat(p, "bonjour").status, 200)
        errs = self.gw.audit_records("storage_error")
        self.assertEqual(len(errs), 1, errs)
        self.assertEqual(errs[0]["error"], "EFBIG")
        self.assertGreaterEqual(errs[0]["refused"], 2)
        rc, out = self.gw.audit_verify()
        self.assertEqual(rc, 0, out)
        self.assertGreaterEqual(metric(self.gw.metrics(), "vigie_audit_failures_total"), 1)

    def test_healthz_degraded_while_broken(self):
        size = os.path.getsize(self.gw.audit_log)
        prlimit_fsize(self.gw.proc.pid, size + 10)
        try:
            chat(self.gw.port, "bonjour")
            h = self.gw.admin_get("/healthz")
            self.assertEqual(h.status, 503)
            self.assertEqual(json.loads(h.body)["audit"], "broken")
            self.assertEqual(metric(self.gw.metrics(), "vigie_audit_broken"), 1)
        finally:
            prlimit_fsize(self.gw.proc.pid, "unlimited")
        self.assertTrue(wait_until(lambda: self.gw.admin_get("/healthz").status == 200, 10))


class AuditFailOpenTest(GatewayTest):
    """`audit_failure: serve`: the policy chose service over the record."""
    GATEWAY_ARGS = {"policy_args": {"policy_extra": "  audit_failure: serve"}}

    def test_serves_unrecorded_and_counts(self):
        p = self.gw.port
        size = os.path.getsize(self.gw.audit_log)
        prlimit_fsize(self.gw.proc.pid, size + 10)
        try:
            rs = [chat(p, "bonjour %d" % i) for i in range(3)]
        finally:
            prlimit_fsize(self.gw.proc.pid, "unlimited")
        self.assertEqual([r.status for r in rs], [200, 200, 200])
        self.assertTrue(wait_until(lambda: len(self.gw.audit_records("storage_error")) == 1, 10))
        err = self.gw.audit_records("storage_error")[0]
        self.assertEqual(err["refused"], 3)  # served, but unrecorded: counted
        self.assertEqual(ids_of(self.gw.audit_records()) & {r.header("x-request-id") for r in rs},
                         set())
        rc, out = self.gw.audit_verify()
        self.assertEqual(rc, 0, out)


class AuditRotationTest(GatewayTest):
    GATEWAY_ARGS = {"audit": {"rotate_size": "4K", "checkpoint_records": 5}}

    def test_rotation_and_reopen(self):
        p = self.gw.port
        for i in range(20):
            self.assertEqual(chat(p, "bonjour %d" % i).status, 200)
        self.assertTrue(wait_until(lambda: len(self.gw.audit_files()) >= 3, 10),
                        self.gw.audit_files())
        # logrotate's way: move the file, then SIGUSR1
        os.rename(self.gw.audit_log, self.gw.audit_log + ".moved")
        self.gw.signal(signal.SIGUSR1)
        self.assertTrue(wait_until(lambda: os.path.exists(self.gw.audit_log), 5))
        self.assertEqual(chat(p, "après").status, 200)
        with open(self.gw.audit_log, encoding="utf-8") as f:
            first = json.loads(f.readline())
        self.assertEqual((first["type"], first["reason"]), ("segment", "reopen"))
        segs = [r["reason"] for r in self.gw.audit_records("segment")]
        self.assertIn("rotate-size", segs)
        rc, out = self.gw.audit_verify()
        self.assertEqual(rc, 0, out)
        self.assertIn("checkpoints:", out)
        # a whole middle file gone: found
        files = sorted(self.gw.audit_files(), key=lambda f: json.loads(open(f).readline())["seq"])
        middle, away = files[1], os.path.join(self.gw.dir, "away")
        shutil.move(middle, away)
        try:
            rc, out = self.gw.audit_verify()
            self.assertEqual(rc, 1, out)
            self.assertIn("missing", out)
        finally:
            shutil.move(away, middle)


if __name__ == "__main__":
    unittest.main()
