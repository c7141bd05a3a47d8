"""Upstream failures: refused connection (502), first byte too late (504), a
model that dies mid-stream, malformed answers (502), no reuse of a connection
after a framing anomaly, a client that abandons a stream, error statuses passed
on. Each test checks that the gateway keeps serving afterwards."""

import json
import unittest

from harness import (AGENT, Client, Gateway, GatewayTest, Mock, chat, chat_body, content_of,
                     free_port, metric)


def mode(m):
    return {"x-mock-mode": m}


class UpstreamTest(GatewayTest):
    # upstream_first_byte and upstream_idle short, for 504 and stalls.
    GATEWAY_ARGS = {"timeouts": {"upstream_first_byte": "1s", "upstream_idle": "1s"}}

    def still_serving(self):
        r = chat(self.gw.port, "Encore là ?", model="local-model")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(content_of(r), "Encore là ?")

    def test_first_byte_timeout_504(self):
        m = self.internal.mark()
        r = chat(self.gw.port, "Bonjour", model="local-model", headers=mode("delay=3"))
        self.assertOpenAIError(r, 504, code="upstream_timeout", type_="upstream_error")
        self.assertEqual(len(self.internal.requests(m)), 1)  # it did reach the model
        self.assertGreaterEqual(metric(self.gw.metrics(), "vigie_upstream_errors_total",
                                       upstream="internal", kind="timeout"), 1)
        self.still_serving()

    def test_stall_between_chunks_cuts_stream(self):
        r = chat(self.gw.port, "Bonjour tout le monde", model="local-model", stream=True,
                 headers=mode("stall=3;piece=4"))
        # Either nothing was sent yet (504), or the stream ends abnormally.
        if r.status == 200:
            self.assertFalse(r.complete and "[DONE]" in r.sse_data() and not
                             any("error" in d for d in r.sse_data()), r)
        else:
            self.assertOpenAIError(r, 504, code="upstream_timeout")
        self.still_serving()

    def test_mock_dies_mid_stream(self):
        r = chat(self.gw.port, "Bonjour tout le monde, une longue réponse.", model="local-model",
                 stream=True, headers=mode("die-after=3;piece=4"))
        self.assertEqual(r.status, 200, r)
        self.assertIn("chunked", (r.header("transfer-encoding") or "").lower())
        events = r.sse_data()
        # The client must see the stream end abnormally: the chunked body not
        # terminated, or an error event; never a clean [DONE].
        abnormal = (not r.complete) or any('"error"' in d for d in events)
        self.assertTrue(abnormal, "stream ended cleanly: %r" % r.body[-300:])
        self.assertNotIn("[DONE]", events)
        self.still_serving()

    def test_mock_dies_mid_answer_not_streamed(self):
        r = chat(self.gw.port, "Bonjour", model="local-model", headers=mode("die-after=1"))
        self.assertOpenAIError(r, 502, type_="upstream_error")
        self.still_serving()

    def test_malformed_answers_502(self):
        for m in ("te-cl", "bad-chunk", "cl-dup", "bad-status", "bare-lf", "truncate"):
            with self.subTest(mode=m):
                r = chat(self.gw.port, "Bonjour", model="local-model", headers=mode(m))
                self.assertOpenAIError(r, 502, type_="upstream_error")
                if m != "truncate":
                    self.assertEqual(r.json()["error"]["code"], "upstream_framing")
        self.assertGreaterEqual(metric(self.gw.metrics(), "vigie_upstream_errors_total",
                                       upstream="internal", kind="framing"), 5)
        self.still_serving()

    def test_malformed_stream_after_head(self):
        # The answer's head is valid, a later chunk is not: the client's stream
        # cannot be a clean one.
        r = chat(self.gw.port, "Bonjour tout le monde", model="local-model", stream=True,
                 headers=mode("bad-chunk;piece=3"))
        if r.status == 200:
            self.assertTrue((not r.complete) or any('"error"' in d for d in r.sse_data()), r)
            self.assertNotIn("[DONE]", r.sse_data())
        else:
            self.assertOpenAIError(r, 502, code="upstream_framing")
        self.still_serving()

    def test_connection_not_reused_after_framing_anomaly(self):
        for m in ("te-cl", "cl-dup"):
            with self.subTest(mode=m):
                mark = self.internal.mark()
                r = chat(self.gw.port, "Bonjour", model="local-model", headers=mode(m))
                self.assertEqual(r.status, 502, r)
                for i in range(3):
                    r = chat(self.gw.port, "Suite %d" % i, model="local-model")
                    self.assertEqual(r.status, 200, r)
                reqs = self.internal.requests(mark)
                self.assertEqual(len(reqs), 4)
                bad_conn = reqs[0]["conn"]
                self.assertNotIn(bad_conn, [q["conn"] for q in reqs[1:]],
                                 "the connection that carried a malformed answer was reused")

    def test_upstream_connection_close_honoured(self):
        mark = self.internal.mark()
        for i in range(3):
            r = chat(self.gw.port, "Close %d" % i, model="local-model", headers=mode("close"))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(content_of(r), "Close %d" % i)
        reqs = self.internal.requests(mark)
        self.assertEqual(len({q["conn"] for q in reqs}), 3)

    def test_error_status_passed_on(self):
        r = chat(self.gw.port, "Bonjour", model="local-model", headers=mode("error=429"))
        self.assertEqual(r.status, 429, r)
        self.assertEqual(r.json()["error"]["code"], "mock_429")
        r = chat(self.gw.port, "Bonjour", model="local-model", headers=mode("error=500"))
        self.assertEqual(r.status, 500, r)
        self.assertEqual(r.json()["error"]["code"], "mock_500")
        self.still_serving()

    def test_client_abandons_stream(self):
        mark = self.internal.mark()
        text = "Une réponse longue, envoyée lettre par lettre pour durer. " * 2
        c = Client(self.gw.port)
        c.send(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "
               + AGENT.encode() + b"\r\nx-mock-mode: stall=0.2;piece=1\r\nContent-Type: "
               b"application/json\r\nContent-Length: %d\r\n\r\n"
               % len(json.dumps(chat_body(text, model="local-model", stream=True)).encode())
               + json.dumps(chat_body(text, model="local-model", stream=True)).encode())
        got = []

        class Enough(Exception):
            pass

        def on_chunk(d):
            got.append(d)
            if len(got) >= 3:
                raise Enough()
        try:
            c.read_response(on_chunk=on_chunk)
        except Enough:
            pass
        c.close()  # the client goes away after three chunks
        reqs = self.internal.requests(mark)
        self.assertEqual(len(reqs), 1)
        conn = reqs[0]["conn"]
        recs = self.internal.wait_for(
            lambda rs: any(r["event"] in ("abort", "died") and r["conn"] == conn for r in rs),
            since=mark)
        aborts = [r for r in recs if r["event"] == "abort" and r["conn"] == conn]
        self.assertTrue(aborts, "the model never saw the abandoned stream's connection closed")
        self.assertLess(aborts[0]["sent"], len(text))  # well before the end of the answer
        self.still_serving()


class UpstreamRefusedTest(unittest.TestCase):
    """The internal upstream's port has nobody listening."""

    @classmethod
    def setUpClass(cls):
        cls.external = Mock("external", models=("cloud-model",))
        cls.dead = free_port()
        try:
            cls.gw = Gateway("refused", "http://127.0.0.1:%d" % cls.dead, cls.external.url,
                             timeouts={"upstream_connect": "2s"})
        except Exception:
            cls.external.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.gw.stop()
        finally:
            cls.external.stop()

    def test_connection_refused_502(self):
        r = chat(self.gw.port, "Bonjour", model="local-model")
        self.assertEqual(r.status, 502, r)
        err = r.json()["error"]
        self.assertEqual(err["code"], "upstream_connect")
        self.assertEqual(err["type"], "upstream_error")
        self.assertIsNotNone(r.header("x-request-id"))
        # The other upstream still works.
        r = chat(self.gw.port, "Bonjour", model="cloud-model")
        self.assertEqual(r.status, 200, r)
        m = self.gw.metrics()
        self.assertGreaterEqual(metric(m, "vigie_upstream_errors_total", upstream="internal",
                                       kind="connect"), 1)


if __name__ == "__main__":
    unittest.main()
