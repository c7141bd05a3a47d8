"""The built-in echo model (`builtin:echo`) as the contract describes it, and the
command line of `vigie serve`: --upstream, --listen over the file, exit statuses."""

import json
import math
import os
import subprocess
import unittest

import data
from harness import (EXT_KEY, WAIT, Client, Gateway, Mock, auth, body_json, chat, chat_body,
                     content_of, free_port, header_values, vigie_path)


class EchoTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.gw = Gateway("echo", "builtin:echo", "builtin:echo")

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()

    def test_chat_shows_what_the_model_saw(self):
        r = chat(self.gw.port, data.PROMPT)
        self.assertEqual(r.status, 200, r)
        a = r.json()
        self.assertEqual(a["model"], "cloud-model")
        self.assertEqual(a["choices"][0]["message"]["content"], "user: " + data.PROMPT_RESTORED)
        received = a["vigie_echo"]["received"]
        seen = received["messages"][0]["content"]
        for v in (data.NAME, data.EMAIL, data.PHONE, data.IBAN):
            self.assertNotIn(v, json.dumps(received, ensure_ascii=False))
        self.assertIn("[IBAN]", seen)
        self.assertIn("[EMAIL_", seen)
        # usage: received text bytes / 4, rounded up; completion tokens likewise.
        u = a["usage"]
        self.assertEqual(u["prompt_tokens"], math.ceil(len(seen.encode()) / 4))
        self.assertGreater(u["completion_tokens"], 0)

    def test_chat_several_messages_one_line_each(self):
        with Client(self.gw.port) as c:
            r = c.request("POST", "/v1/chat/completions", {"model": "local-model", "messages": [
                {"role": "system", "content": "Sois bref."},
                {"role": "user", "content": [{"type": "text", "text": "Bonjour"},
                                             {"type": "text", "text": data.EMAIL}]}]}, auth())
        self.assertEqual(r.status, 200, r)
        self.assertEqual(content_of(r), "system: Sois bref.\nuser: Bonjour " + data.EMAIL)

    def test_stream_in_small_pieces(self):
        r = chat(self.gw.port, data.PROMPT, stream=True,
                 stream_options={"include_usage": True})
        self.assertEqual(r.status, 200, r)
        events = r.sse_data()
        self.assertEqual(events[-1], "[DONE]")
        chunks = [json.loads(e) for e in events[:-1]]
        self.assertEqual(chunks[0]["choices"][0]["delta"].get("role"), "assistant")
        self.assertEqual(content_of(r), "user: " + data.PROMPT_RESTORED)
        self.assertTrue(chunks[-1].get("usage"), chunks[-1])
        finish = [c["choices"][0]["finish_reason"] for c in chunks if c.get("choices")]
        self.assertIn("stop", finish)
        self.assertGreater(len(chunks), 10)  # 7-byte pieces

    def test_tool_call(self):
        with Client(self.gw.port) as c:
            r = c.request("POST", "/v1/chat/completions", dict(
                chat_body(data.PROMPT), tools=[{"type": "function", "function": {
                    "name": "f", "parameters": {"type": "object"}}}]), auth())
        self.assertEqual(r.status, 200, r)
        call = r.json()["choices"][0]["message"]["tool_calls"][0]
        self.assertEqual(call["function"]["name"], "f")
        self.assertEqual(json.loads(call["function"]["arguments"]),
                         {"echo": data.PROMPT_RESTORED})

    def test_completions_and_embeddings(self):
        with Client(self.gw.port) as c:
            r = c.request("POST", "/v1/completions",
                          {"model": "cloud-model", "prompt": ["Un", "Deux " + data.EMAIL]}, auth())
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["choices"][0]["text"], "Un\nDeux " + data.EMAIL)
            r = c.request("POST", "/v1/embeddings",
                          {"model": "local-embed", "input": ["a", "b", "a"]},
                          auth("e2e-dev-key"))
            self.assertEqual(r.status, 200, r)
            vecs = [d["embedding"] for d in r.json()["data"]]
            self.assertEqual([len(v) for v in vecs], [8, 8, 8])
            self.assertEqual(vecs[0], vecs[2])
            self.assertNotEqual(vecs[0], vecs[1])


class CommandLineTest(unittest.TestCase):

    def run_vigie(self, args, env=None):
        e = dict(os.environ)
        e.update(env or {})
        return subprocess.run([vigie_path(), "serve"] + args, capture_output=True, text=True,
                              timeout=WAIT, env=e, stdin=subprocess.DEVNULL)

    def test_upstream_and_listen_win_over_the_file(self):
        mock = Mock("one-for-all", models=("cloud-model", "local-model"))
        self.addCleanup(mock.stop)
        port = free_port()
        gw = Gateway("cli", "http://127.0.0.1:9", "http://127.0.0.1:9", start=False,
                     args=["--upstream", mock.url, "--listen", "127.0.0.1:%d" % port])
        file_port, gw.port = gw.port, port
        gw.start()
        self.addCleanup(gw.stop)
        for model in ("cloud-model", "local-model"):
            r = chat(port, "Bonjour", model=model)
            self.assertEqual(r.status, 200, r)
        reqs = mock.requests()
        self.assertEqual([body_json(q)["model"] for q in reqs], ["cloud-model", "local-model"])
        self.assertEqual(header_values(reqs[0]["headers"], "authorization"),
                         ["Bearer " + EXT_KEY])
        with self.assertRaises(OSError):  # the file's listener was replaced
            Client(file_port, timeout=2).close()

    def test_bad_policy_exit_1_with_position(self):
        gw = Gateway("badpolicy", "http://127.0.0.1:9", "http://127.0.0.1:9", start=False)
        with open(gw.policy, "a", encoding="utf-8") as f:
            f.write("unknown_section: 1\n")
        r = self.run_vigie(["-c", gw.config])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, r"policy\.yaml:\d+:\d+: ")

    def test_missing_credential_exit_1(self):
        gw = Gateway("nocred", "http://127.0.0.1:9", "http://127.0.0.1:9", start=False)
        r = subprocess.run([vigie_path(), "serve", "-c", gw.config], capture_output=True,
                           text=True, timeout=WAIT, stdin=subprocess.DEVNULL,
                           env={k: v for k, v in os.environ.items()
                                if k != "VIGIE_TEST_EXT_KEY"})
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("VIGIE_TEST_EXT_KEY", r.stderr)

    def test_usage_exit_2(self):
        r = self.run_vigie(["--no-such-option"])
        self.assertEqual(r.returncode, 2, r.stderr)


if __name__ == "__main__":
    unittest.main()
