"""The official `openai` npm client (tests/e2e/node) against vigie: non-streamed
and streamed chat with pseudonyms restored even when the model's events cut
them anywhere, tool calls in both directions, the usage chunk, errors.

Needs `npm ci --prefix tests/e2e/node` (scripts/test.sh runs it); skipped with
"SKIPPED: npm ci not run" otherwise."""

import json
import os
import shutil
import subprocess
import unittest

import data
from harness import (AGENT, HERE, KEYS, GatewayTest, body_json, body_text, header_values)

NODE_DIR = os.path.join(HERE, "node")
SCRIPT = os.path.join(NODE_DIR, "openai_client.mjs")


def node_ready():
    return (shutil.which("node") is not None and
            os.path.isdir(os.path.join(NODE_DIR, "node_modules", "openai")))


@unittest.skipUnless(node_ready(), "SKIPPED: npm ci not run (npm ci --prefix tests/e2e/node)")
class OpenAINodeTest(GatewayTest):

    def node(self, specs):
        """Runs openai_client.mjs on one spec or a list; returns its result(s)."""
        def fill(s):
            s = dict(s)
            s.setdefault("baseURL", "http://127.0.0.1:%d/v1" % self.gw.port)
            s.setdefault("apiKey", AGENT)
            s.setdefault("op", "chat")
            return s
        arg = [fill(s) for s in specs] if isinstance(specs, list) else fill(specs)
        r = subprocess.run(["node", SCRIPT, json.dumps(arg)], capture_output=True, text=True,
                           timeout=300, cwd=NODE_DIR)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_non_streamed(self):
        m = self.external.mark()
        out = self.node({"body": {"model": "cloud-model", "messages": [
            {"role": "system", "content": "Tu es un assistant."},
            {"role": "user", "content": data.PROMPT}]}})
        self.assertNotIn("error", out, out)
        self.assertEqual(out["status"], 200)
        self.assertRegex(out["request_id"] or "", r"^[0-9a-f]{16}$")
        self.assertEqual(out["completion"]["choices"][0]["message"]["content"],
                         data.PROMPT_RESTORED)
        reqs = self.external.requests(m)
        self.assertEqual(len(reqs), 1)
        for v in (data.NAME, data.EMAIL, data.PHONE, data.IBAN):
            self.assertNotIn(v, body_text(reqs[0]))
        ua = header_values(reqs[0]["headers"], "user-agent")
        self.assertTrue(ua and "OpenAI" in ua[0], reqs[0]["headers"])  # end-to-end field kept

    def received_content(self, text, model="cloud-model"):
        """What the model receives for `text` (the pseudonymised prompt)."""
        m = self.external.mark()
        out = self.node({"body": {"model": model, "messages": [{"role": "user",
                                                                "content": text}]}})
        self.assertNotIn("error", out, out)
        reqs = self.external.requests(m)
        self.assertEqual(len(reqs), 1)
        return body_json(reqs[0])["messages"][-1]["content"]

    def test_stream_pseudonym_split_at_every_position(self):
        text = "Écrire à %s, M. %s." % (data.EMAIL, data.NAME)
        sent = self.received_content(text)
        self.assertNotIn(data.EMAIL, sent)
        self.assertIn("[EMAIL_", sent)
        # One request per cut position: the content is cut into two events there
        # (so every pseudonym is cut at every one of its characters).
        specs = [{"headers": {"x-mock-mode": "split=%d" % p},
                  "body": {"model": "cloud-model", "stream": True,
                           "messages": [{"role": "user", "content": text}]}}
                 for p in range(1, len(sent))]
        m = self.external.mark()
        outs = self.node(specs)
        self.assertEqual(len(self.external.requests(m)), len(specs))
        for p, out in enumerate(outs, 1):
            with self.subTest(cut=p):
                self.assertNotIn("error", out, out)
                self.assertEqual(out["content"], text)
                self.assertEqual(out["finish_reason"], "stop")
        # Every character its own event, and events cut across chunks of 5 bytes.
        outs = self.node([{"headers": {"x-mock-mode": mode},
                           "body": {"model": "cloud-model", "stream": True,
                                    "messages": [{"role": "user", "content": text}]}}
                          for mode in ("piece=1", "piece=2;wire=5", "piece=1000")])
        for mode, out in zip(("piece=1", "piece=2;wire=5", "piece=1000"), outs):
            with self.subTest(mode=mode):
                self.assertNotIn("error", out, out)
                self.assertEqual(out["content"], text)

    def test_stream_usage_chunk_passed_through(self):
        out = self.node({"body": {"model": "cloud-model", "stream": True,
                                  "stream_options": {"include_usage": True},
                                  "messages": [{"role": "user", "content": "Bonjour " +
                                                data.EMAIL}]}})
        self.assertNotIn("error", out, out)
        self.assertEqual(out["content"], "Bonjour " + data.EMAIL)
        self.assertIsNotNone(out["usage"], out["chunks"][-2:])
        self.assertGreater(out["usage"]["prompt_tokens"], 0)
        self.assertEqual(out["usage"]["total_tokens"],
                         out["usage"]["prompt_tokens"] + out["usage"]["completion_tokens"])
        last = [c for c in out["chunks"] if c.get("usage")]
        self.assertEqual(len(last), 1)
        self.assertEqual(last[0]["choices"], [])

    TOOLS = [{"type": "function", "function": {
        "name": "chercher_dossier", "description": "Cherche un dossier",
        "parameters": {"type": "object", "properties": {"echo": {"type": "string"}}}}}]

    def test_tool_call_answer_restored(self):
        text = "Cherche le dossier de %s (tél. %s)." % (data.EMAIL, data.PHONE)
        m = self.external.mark()
        base = {"model": "cloud-model", "tools": self.TOOLS,
                "messages": [{"role": "user", "content": text}]}
        outs = self.node([{"body": base},
                          {"body": dict(base, stream=True), "headers": {"x-mock-mode": "piece=3"}}])
        self.assertNotIn("error", outs[0], outs[0])
        calls = outs[0]["completion"]["choices"][0]["message"]["tool_calls"]
        self.assertEqual(calls[0]["function"]["name"], "chercher_dossier")
        self.assertEqual(json.loads(calls[0]["function"]["arguments"]), {"echo": text})
        self.assertNotIn("error", outs[1], outs[1])
        self.assertEqual(outs[1]["finish_reason"], "tool_calls")
        self.assertEqual(outs[1]["tool_calls"][0]["name"], "chercher_dossier")
        self.assertEqual(json.loads(outs[1]["tool_calls"][0]["arguments"]), {"echo": text})
        reqs = self.external.requests(m)
        self.assertEqual(len(reqs), 2)
        for r in reqs:
            self.assertNotIn(data.EMAIL, body_text(r))
            self.assertNotIn(data.PHONE, body_text(r))

    def test_tool_call_in_request_inspected(self):
        m = self.external.mark()
        out = self.node({"body": {"model": "cloud-model", "tools": self.TOOLS, "messages": [
            {"role": "user", "content": "Cherche le dossier."},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {
                    "name": "chercher_dossier",
                    "arguments": json.dumps({"echo": "dossier de %s" % data.EMAIL2})}}]},
            {"role": "tool", "tool_call_id": "call_1",
             "content": "Dossier trouvé : M. %s, IBAN %s, tél. %s" % (data.NAME, data.IBAN,
                                                                   data.PHONE)},
            {"role": "user", "content": "Résume le dossier."}]}})
        self.assertNotIn("error", out, out)
        reqs = self.external.requests(m)
        self.assertEqual(len(reqs), 1)
        sent = body_json(reqs[0])
        args = sent["messages"][1]["tool_calls"][0]["function"]["arguments"]
        self.assertNotIn(data.EMAIL2, args)
        self.assertIn("[EMAIL_", args)
        json.loads(args)  # still valid JSON after rewriting
        tool = sent["messages"][2]["content"]
        for v in (data.NAME, data.IBAN, data.PHONE):
            self.assertNotIn(v, tool)
        self.assertIn("[IBAN]", tool)

    def test_models_and_errors(self):
        outs = self.node([
            {"op": "models"},
            {"op": "models", "apiKey": KEYS["indexer"]},
            {"body": {"model": "cloud-model", "messages": [
                {"role": "user", "content": "Note %s." % data.MARKING}]}},
            {"apiKey": "wrong-key", "body": {"model": "cloud-model", "messages": [
                {"role": "user", "content": "Bonjour"}]}},
        ])
        self.assertEqual(set(outs[0]["ids"]), {"cloud-model", "local-model"})
        self.assertEqual(set(outs[1]["ids"]), {"local-embed"})
        self.assertEqual(outs[2]["error"]["status"], 403)
        self.assertEqual(outs[2]["error"]["code"], "blocked")
        self.assertEqual(outs[2]["error"]["name"], "PermissionDeniedError")
        self.assertEqual(outs[3]["error"]["status"], 401)
        self.assertEqual(outs[3]["error"]["code"], "unknown_caller")


if __name__ == "__main__":
    unittest.main()
