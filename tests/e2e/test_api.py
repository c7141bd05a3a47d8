"""The API as curl and a raw client see it: masking and pseudonyms end to end,
what the upstream receives (headers, framing, credentials), blocks, reroutes,
identities, /v1/models, unknown paths."""

import json
import os
import re
import subprocess
import unittest

import data
from harness import (AGENT, EXT_KEY, KEYS, Client, GatewayTest, auth, body_json, body_text,
                     chat, chat_body, content_of, header_values, settle)

HOPS = {"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authorization", "proxy-connection", "x-hop"}


class ApiTest(GatewayTest):

    def curl(self, path, body, headers):
        cmd = ["curl", "-sS", "-D", "-", "--max-time", "60", "-X", "POST",
               "http://127.0.0.1:%d%s" % (self.gw.port, path), "--data-binary", "@-"]
        for n, v in headers.items():
            cmd += ["-H", "%s: %s" % (n, v)]
        r = subprocess.run(cmd, input=json.dumps(body).encode(), capture_output=True, timeout=90)
        self.assertEqual(r.returncode, 0, r.stderr)
        head, _, payload = r.stdout.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = [tuple(x.strip() for x in ln.split(":", 1)) for ln in lines[1:]]
        return status, hdrs, payload

    def check_upstream_head(self, rec, mock, external):
        h = rec["headers"]
        names = [n.lower() for n, _ in h]
        raw = json.dumps(h)
        # The client's credential never leaves; the upstream's is injected (external only).
        self.assertNotIn(AGENT, raw)
        self.assertNotIn("x-api-key", names)
        if external:
            self.assertEqual(header_values(h, "authorization"), ["Bearer " + EXT_KEY])
        else:
            self.assertEqual(header_values(h, "authorization"), [])
            self.assertNotIn(EXT_KEY, raw)
        # Rebuilt framing: one Content-Length, equal to the body, no Transfer-Encoding.
        self.assertEqual(len(header_values(h, "content-length")), 1, h)
        self.assertEqual(int(header_values(h, "content-length")[0]),
                         len(body_text(rec).encode()), h)
        self.assertNotIn("transfer-encoding", names)
        self.assertFalse(rec["chunked"])
        # Hop-by-hop fields and the client's forwarding chain are gone; ours is there.
        for n in names:
            self.assertNotIn(n, HOPS - {"connection"}, h)
        self.assertEqual(header_values(h, "x-forwarded-for"), ["127.0.0.1"], h)
        self.assertEqual(header_values(h, "host"), ["127.0.0.1:%d" % mock.port], h)
        self.assertEqual(rec["version"], "HTTP/1.1")

    def test_curl_chat_personal_data_external(self):
        m_ext, m_int = self.external.mark(), self.internal.mark()
        status, hdrs, payload = self.curl(
            "/v1/chat/completions", chat_body(data.PROMPT),
            {"Authorization": "Bearer " + AGENT, "Content-Type": "application/json",
             "X-Forwarded-For": "6.6.6.6", "Connection": "keep-alive, X-Hop", "X-Hop": "secret",
             "Keep-Alive": "timeout=5", "TE": "trailers", "Proxy-Authorization": "Basic eDp5",
             "Accept-Encoding": "gzip", "Expect": "", "X-Custom": "kept"})
        self.assertEqual(status, 200, payload)
        h = dict((n.lower(), v) for n, v in hdrs)
        self.assertRegex(h.get("x-request-id", ""), r"^[0-9a-f]{16}$")
        self.assertEqual(h.get("x-vigie-decision"), "mask")
        answer = json.loads(payload)
        # Pseudonyms restored for the client; the masked IBAN cannot come back.
        self.assertEqual(answer["choices"][0]["message"]["content"], data.PROMPT_RESTORED)
        reqs = self.external.requests(m_ext)
        self.assertEqual(len(reqs), 1)
        self.assertEqual(self.internal.requests(m_int), [])
        rec = reqs[0]
        self.assertEqual((rec["method"], rec["path"]), ("POST", "/v1/chat/completions"))
        sent = body_json(rec)["messages"][0]["content"]
        for v in (data.NAME, "DUPONT", data.EMAIL, data.PHONE, data.IBAN, "0112 3456"):
            self.assertNotIn(v, body_text(rec))
        self.assertIn("[IBAN]", sent)
        self.assertEqual(len(re.findall(r"\[(?:NAME|EMAIL|PHONE)_[0-9a-zA-Z]+\]", sent)), 3, sent)
        self.check_upstream_head(rec, self.external, external=True)
        self.assertEqual(header_values(rec["headers"], "x-custom"), ["kept"])
        self.assertEqual(header_values(rec["headers"], "accept-encoding"), [])
        self.assertNotIn("6.6.6.6", json.dumps(rec["headers"]))

    def test_internal_upstream_gets_no_credential(self):
        m = self.internal.mark()
        with Client(self.gw.port) as c:
            r = c.request("POST", "/v1/chat/completions",
                          chat_body("Écrire à %s." % data.EMAIL, model="local-model"),
                          {"x-api-key": AGENT})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(content_of(r), "Écrire à %s." % data.EMAIL)
        reqs = self.internal.requests(m)
        self.assertEqual(len(reqs), 1)
        self.assertNotIn(data.EMAIL, body_text(reqs[0]))
        self.check_upstream_head(reqs[0], self.internal, external=False)

    def test_user_header_identifies_and_is_not_forwarded(self):
        m = self.external.mark()
        r = chat(self.gw.port, "Bonjour " + data.EMAIL, key=None,
                 headers={"X-Remote-User": "alice.test"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(content_of(r), "Bonjour " + data.EMAIL)
        reqs = self.external.requests(m)
        self.assertEqual(len(reqs), 1)
        self.assertNotIn("alice.test", json.dumps(reqs[0]["headers"]))
        self.assertEqual(header_values(reqs[0]["headers"], "x-remote-user"), [])
        self.assertEqual(header_values(reqs[0]["headers"], "authorization"),
                         ["Bearer " + EXT_KEY])
        settle()
        rid = r.header("x-request-id")
        lines = [e for e in self.gw.log_events("request") if e.get("id") == rid]
        self.assertEqual([e.get("caller") for e in lines], ["alice.test"])

    def test_chunked_request_is_rebuilt_with_one_length(self):
        m = self.internal.mark()
        body = json.dumps(chat_body("Bonjour", model="local-model")).encode()
        half = len(body) // 2
        with Client(self.gw.port) as c:
            c.send(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "
                   + AGENT.encode() + b"\r\nContent-Type: application/json\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n"
                   + b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\nX-Trailer: t\r\n\r\n"
                   % (half, body[:half], len(body) - half, body[half:]))
            r = c.read_response()
        self.assertEqual(r.status, 200, r)
        reqs = self.internal.requests(m)
        self.assertEqual(len(reqs), 1)
        self.assertEqual(body_text(reqs[0]).encode(), body)  # nothing found: original bytes
        self.check_upstream_head(reqs[0], self.internal, external=False)
        self.assertEqual(header_values(reqs[0]["headers"], "x-trailer"), [])

    def test_keep_alive_several_requests(self):
        with Client(self.gw.port) as c:
            for i in range(3):
                r = c.request("POST", "/v1/chat/completions",
                              chat_body("Question %d" % i, model="local-model"), auth())
                self.assertEqual(r.status, 200, r)
                self.assertEqual(content_of(r), "Question %d" % i)
                self.assertEqual(r.header("x-vigie-decision"), "allow")
            self.assertFalse(c.eof)

    def test_stream_passed_on_event_by_event(self):
        # The model sends two events, then waits for a gate that the test opens
        # only once the client has received a content event: a gateway that held
        # the answer back would never let it through (and the test times out).
        gate = os.path.join(self.gw.dir, "gate-%d" % self.external.mark())
        text = "Écrire à %s, merci." % data.EMAIL
        got = []

        def on_chunk(d):
            got.append(d)
            if b'"content":"' in d.replace(b'": "', b'":"') and b'"content":""' not in \
                    d.replace(b'": "', b'":"'):
                open(gate, "w").close()
        m = self.external.mark()
        with Client(self.gw.port) as c:
            r = c.request("POST", "/v1/chat/completions", chat_body(text, stream=True),
                          dict(auth(), **{"x-mock-mode": "piece=3;gate=" + gate}),
                          on_chunk=on_chunk)
        self.assertEqual(r.status, 200, r)
        self.assertIn("chunked", (r.header("transfer-encoding") or "").lower())
        self.assertIn("text/event-stream", r.header("content-type") or "")
        self.assertRegex(r.header("x-request-id") or "", r"^[0-9a-f]{16}$")
        self.assertTrue(r.complete)
        self.assertEqual(content_of(r), text)
        self.assertEqual(r.sse_data()[-1], "[DONE]")
        opened = self.external.events("gate_opened", m)
        self.assertEqual([e["opened"] for e in opened], [True])
        self.assertNotIn(data.EMAIL, body_text(self.external.requests(m)[0]))

    def test_json_escapes_do_not_hide_values(self):
        # The e-mail written with JSON escapes is the same string once parsed:
        # found, and never forwarded in any form.
        m = self.external.mark()
        raw = ('{"model": "cloud-model", "messages": [{"role": "user", "content": '
               '"Mail : jean.dupont\\u0040example.fr, t\\u00e9l. 06 39 98\\u002000 01"}]}')
        with Client(self.gw.port) as c:
            r = c.request("POST", "/v1/chat/completions", raw.encode(), auth())
        self.assertEqual(r.status, 200, r)
        self.assertEqual(content_of(r), "Mail : %s, tél. %s" % (data.EMAIL, data.PHONE))
        reqs = self.external.requests(m)
        self.assertEqual(len(reqs), 1)
        sent = body_json(reqs[0])["messages"][0]["content"]
        self.assertNotIn(data.EMAIL, sent)
        self.assertNotIn(data.PHONE, sent)
        self.assertNotIn("u0040", body_text(reqs[0]))

    def test_large_answers(self):
        # About 600 KB each way, a value at both ends: restored at both ends,
        # streamed (about 150 events) and not.
        text = "%s %s %s" % (data.EMAIL, "x " * 300000, data.EMAIL)
        for stream in (False, True):
            with self.subTest(stream=stream):
                m = self.external.mark()
                with Client(self.gw.port) as c:
                    r = c.request("POST", "/v1/chat/completions",
                                  chat_body(text, stream=stream),
                                  dict(auth(), **{"x-mock-mode": "piece=4096"}))
                self.assertEqual(r.status, 200, r.status)
                self.assertTrue(r.complete)
                self.assertTrue(content_of(r) == text, "answer differs from the prompt")
                reqs = self.external.requests(m)
                self.assertEqual(len(reqs), 1)
                self.assertNotIn(data.EMAIL, body_text(reqs[0]))

    def test_pipelined_requests_answered_in_order(self):
        body = json.dumps(chat_body("Premier", model="local-model")).encode()
        key = AGENT.encode()
        with Client(self.gw.port) as c:
            c.send(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "
                   + key + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                   % len(body) + body
                   + b"GET /v1/models HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + key
                   + b"\r\n\r\n")
            r1 = c.read_response()
            r2 = c.read_response(method="GET")
        self.assertEqual(r1.status, 200, r1)
        self.assertEqual(content_of(r1), "Premier")
        self.assertEqual(r2.status, 200, r2)
        self.assertEqual(r2.json()["object"], "list")
        self.assertNotEqual(r1.header("x-request-id"), r2.header("x-request-id"))

    def test_blocked_private_key(self):
        m_ext, m_int = self.external.mark(), self.internal.mark()
        r = chat(self.gw.port, "Voici la clé :\n" + data.PRIVATE_KEY)
        err = self.assertOpenAIError(r, 403, code="blocked", type_="policy_error")
        self.assertEqual(err["message"], "Bloqué par la politique de test.")
        self.assertIsNone(r.header("x-vigie-decision"))
        settle()
        self.assertEqual(self.external.requests(m_ext), [])
        self.assertEqual(self.internal.requests(m_int), [])

    def test_blocked_marking_in_english(self):
        m_ext, m_int = self.external.mark(), self.internal.mark()
        r = chat(self.gw.port, "Note classée %s sur le fret." % data.MARKING,
                 headers={"Accept-Language": "en-GB,en;q=0.8"})
        err = self.assertOpenAIError(r, 403, code="blocked", type_="policy_error")
        self.assertEqual(err["message"], "Blocked by the test policy.")
        settle()
        self.assertEqual(self.external.requests(m_ext), [])
        self.assertEqual(self.internal.requests(m_int), [])

    def test_answer_clause_blocks_non_streamed_answer(self):
        # The request is clean; the model's answer carries a marking that the
        # answer clauses block: the client gets a 403 and never the text.
        say = ("Voici la note %s demandée." % data.MARKING).encode().hex()
        r = chat(self.gw.port, "Bonjour", headers=dict(auth(), **{"x-mock-mode": "say=" + say}))
        err = self.assertOpenAIError(r, 403, code="answer_blocked", type_="policy_error")
        self.assertIn("interrompue", err["message"])
        self.assertNotIn(data.MARKING.encode(), r.body)

    def test_answer_clause_stops_stream_before_the_value(self):
        # Streamed 3 characters per event: the marking arrives in pieces. The
        # stream goes out until the piece that completes it, which never does;
        # an error event ends the stream, and the chunked body ends cleanly.
        text = "Voici la note %s demandée, et la suite." % data.MARKING
        m = self.external.mark()
        with Client(self.gw.port) as c:
            r = c.request("POST", "/v1/chat/completions", chat_body("Bonjour", stream=True),
                          dict(auth(), **{"x-mock-mode": "piece=3;say=" + text.encode().hex()}))
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.complete)
        got = content_of(r)
        self.assertTrue(text.startswith(got), (got, text))
        self.assertNotIn(data.MARKING, got)
        self.assertGreater(len(got), len("Voici la note "))  # what came before went out
        last = json.loads(r.sse_data()[-1])
        self.assertEqual(last["error"]["code"], "answer_blocked")
        self.assertEqual(last["error"]["type"], "policy_error")
        settle()
        self.assertTrue(any(e.get("by") == "peer" or e.get("where") == "stream"
                            for e in self.external.events("close", m) + self.external.events("abort", m)),
                        "the model's connection was not closed")

    def test_answer_clauses_leave_clean_streams_alone(self):
        text = "Rien de sensible ici : articles 70 et 71 du code des douanes."
        with Client(self.gw.port) as c:
            r = c.request("POST", "/v1/chat/completions", chat_body("Bonjour", stream=True),
                          dict(auth(), **{"x-mock-mode": "piece=2;say=" + text.encode().hex()}))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(content_of(r), text)
        self.assertEqual(r.sse_data()[-1], "[DONE]")

    def test_passthrough_paths(self):
        # A path the policy lets through reaches the internal model as sent:
        # body uninspected (the policy's choice), credentials still dropped.
        m_int, m_ext = self.internal.mark(), self.external.mark()
        body = b'{"q": "%s"}' % data.EMAIL.encode()
        with Client(self.gw.port) as c:
            r = c.request("POST", "/internal/tool?x=1", body,
                          dict(auth(), **{"Content-Type": "text/plain"}))
        self.assertEqual(r.status, 404, r)  # the mock answers 404 for paths it does not know
        self.assertIn("chunked", (r.header("transfer-encoding") or "").lower())
        settle()
        recs = self.internal.requests(m_int)
        self.assertEqual(len(recs), 1, recs)
        self.assertEqual(recs[0]["path"], "/internal/tool?x=1")
        self.assertEqual(body_text(recs[0]), body.decode())
        self.assertNotIn(AGENT, json.dumps(recs[0]["headers"]))
        self.assertEqual(self.external.requests(m_ext), [])
        # A method the entry does not list, a path no entry names, a group the
        # entry leaves out: 404; an unknown caller: 401.
        with Client(self.gw.port) as c:
            self.assertEqual(c.request("DELETE", "/internal/tool", None, auth()).status, 404)
        with Client(self.gw.port) as c:
            self.assertEqual(c.request("GET", "/elsewhere", None, auth()).status, 404)
        with Client(self.gw.port) as c:
            self.assertEqual(c.request("POST", "/v1/rerank", b"{}", auth()).status, 404)
        with Client(self.gw.port) as c:
            self.assertEqual(c.request("POST", "/v1/rerank", b"{}", auth(KEYS["dev"])).status, 404)
        with Client(self.gw.port) as c:
            self.assertEqual(c.request("GET", "/internal/x", None, auth("nope")).status, 401)
        settle()
        self.assertEqual(len(self.internal.requests(m_int)), 2)  # /internal/tool, then rerank (dev)

    def test_restricted_nir_rerouted_to_internal(self):
        m_ext, m_int = self.external.mark(), self.internal.mark()
        text = "Mon NIR est %s, mail %s." % (data.NIR, data.EMAIL)
        r = chat(self.gw.port, text, model="cloud-model")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("x-vigie-decision"), "reroute")
        self.assertEqual(content_of(r), text)
        settle()
        self.assertEqual(self.external.requests(m_ext), [])
        reqs = self.internal.requests(m_int)
        self.assertEqual(len(reqs), 1)
        sent = body_json(reqs[0])
        self.assertEqual(sent["model"], "local-model")
        self.assertIn(data.NIR, sent["messages"][0]["content"])  # the value goes as written
        self.assertNotIn(data.EMAIL, body_text(reqs[0]))     # the other findings: their action
        self.assertEqual(header_values(reqs[0]["headers"], "authorization"), [])

    def models(self, key):
        with Client(self.gw.port) as c:
            r = c.request("GET", "/v1/models", None, auth(key))
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(body.get("object"), "list")
        return {m["id"] for m in body["data"]}

    def test_models_filtered_per_caller(self):
        m_ext, m_int = self.external.mark(), self.internal.mark()
        self.assertEqual(self.models(KEYS["agent"]), {"cloud-model", "local-model"})
        self.assertEqual(self.models(KEYS["indexer"]), {"local-embed"})
        self.assertEqual(self.models(KEYS["dev"]), {"cloud-model", "local-model", "local-embed"})
        settle()
        self.assertEqual(self.external.requests(m_ext), [])
        self.assertEqual(self.internal.requests(m_int), [])

    def test_unknown_path_404(self):
        with Client(self.gw.port) as c:
            r = c.request("POST", "/v1/engines/x/completions", {"prompt": "x"}, auth())
        self.assertOpenAIError(r, 404, code="unknown_url", type_="invalid_request_error")

    def test_wrong_method_405(self):
        with Client(self.gw.port) as c:
            r = c.request("GET", "/v1/chat/completions", None, auth())
        self.assertOpenAIError(r, 405)

    def test_unknown_caller_401(self):
        m_ext = self.external.mark()
        r = chat(self.gw.port, "Bonjour", key="not-a-known-key")
        self.assertOpenAIError(r, 401, code="unknown_caller", type_="policy_error")
        fr = self.assertOpenAIError(r, 401)["message"]
        r = chat(self.gw.port, "Bonjour", key="not-a-known-key",
                 headers={"Accept-Language": "en-US"})
        en = self.assertOpenAIError(r, 401, code="unknown_caller")["message"]
        self.assertNotEqual(fr, en)  # French by default, English when asked
        r = chat(self.gw.port, "Bonjour", key=None)
        self.assertOpenAIError(r, 401, code="unknown_caller", type_="policy_error")
        with Client(self.gw.port) as c:
            r = c.request("GET", "/v1/models")
        self.assertOpenAIError(r, 401, code="unknown_caller")
        settle()
        self.assertEqual(self.external.requests(m_ext), [])

    def test_model_not_allowed_403(self):
        m_ext, m_int = self.external.mark(), self.internal.mark()
        r = chat(self.gw.port, "Bonjour", model="local-embed")  # agents may not
        self.assertOpenAIError(r, 403, code="model", type_="policy_error")
        r = chat(self.gw.port, "Bonjour", model="no-such-model")
        self.assertOpenAIError(r, 403, code="model")
        r = chat(self.gw.port, "Bonjour", key=KEYS["indexer"], model="local-embed")
        self.assertOpenAIError(r, 403, code="endpoint", type_="policy_error")
        settle()
        self.assertEqual(self.external.requests(m_ext), [])
        self.assertEqual(self.internal.requests(m_int), [])

    def test_completions_restored(self):
        m = self.external.mark()
        prompt = "Répondre à %s." % data.EMAIL
        with Client(self.gw.port) as c:
            r = c.request("POST", "/v1/completions", {"model": "cloud-model", "prompt": prompt},
                          auth())
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["choices"][0]["text"], prompt)
        reqs = self.external.requests(m)
        self.assertEqual(len(reqs), 1)
        self.assertEqual(reqs[0]["path"], "/v1/completions")
        self.assertNotIn(data.EMAIL, body_text(reqs[0]))
        self.assertIn("[EMAIL_", body_text(reqs[0]))

    def test_embeddings(self):
        m = self.internal.mark()
        with Client(self.gw.port) as c:
            r = c.request("POST", "/v1/embeddings",
                          {"model": "local-embed", "input": ["Bonjour", "Mail %s" % data.EMAIL]},
                          auth(KEYS["indexer"]))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.json()["data"]), 2)
        reqs = self.internal.requests(m)
        self.assertEqual(len(reqs), 1)
        self.assertEqual(reqs[0]["path"], "/v1/embeddings")
        self.assertNotIn(data.EMAIL, body_text(reqs[0]))

    def test_request_log_line(self):
        r = chat(self.gw.port, "Bonjour", model="local-model")
        self.assertEqual(r.status, 200, r)
        rid = r.header("x-request-id")
        settle()
        lines = [e for e in self.gw.log_events("request") if e.get("id") == rid]
        self.assertEqual(len(lines), 1, self.gw.stderr()[-2000:])
        e = lines[0]
        self.assertEqual(e.get("caller"), "agent")
        self.assertEqual(e.get("status"), 200)
        self.assertEqual(e.get("upstream"), "internal")
        self.assertEqual(e.get("model"), "local-model")
        self.assertEqual(e.get("decision"), "allow")
        for k in ("ts", "level", "peer", "endpoint", "bytes_in", "bytes_out", "ms", "groups"):
            self.assertIn(k, e)


if __name__ == "__main__":
    unittest.main()
