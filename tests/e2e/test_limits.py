"""Limits and timeouts over the wire, with a gateway configured small: body 64K,
request line 1K, header section 4K, 20 header fields, head 1s, body 1s, keep-alive 2s. Each refusal
is checked for its status and for nothing reaching the model; timeouts are checked
for what happens, never for how long it took."""

import json
import select
import time
import unittest

from harness import AGENT, Client, Closed, GatewayTest, auth, body_json, chat_body, settle

KEY = AGENT.encode()
P = b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + KEY + b"\r\n"


def answered(c):
    """Whether the gateway has answered (or closed): stop sending then, or the
    reset our bytes provoke could destroy its answer before we read it."""
    r, _, _ = select.select([c.sock], [], [], 0)
    return bool(r)


class LimitsTest(GatewayTest):
    GATEWAY_ARGS = {
        "timeouts": {"head": "1s", "body": "1s", "keepalive": "2s"},
        "limits": {"body": "64K", "request_line": "1K", "header_section": "4K",
                   "header_fields": 20},
    }

    def no_request_reached_the_models(self, m_int, m_ext):
        settle()
        self.assertEqual(self.internal.requests(m_int), [])
        self.assertEqual(self.external.requests(m_ext), [])

    def marks(self):
        return self.internal.mark(), self.external.mark()

    def expect_refusal(self, c, status):
        r = c.read_response()
        self.assertEqual(r.status, status, r)
        self.assertIn("error", json.loads(r.body))
        self.assertTrue(c.closed_by_peer(10), "connection left open after %d" % status)
        return r

    def test_body_over_limit_content_length(self):
        m = self.marks()
        with Client(self.gw.port) as c:
            c.send(P + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                   % (64 * 1024 + 1))
            self.expect_refusal(c, 413)
        self.no_request_reached_the_models(*m)

    def test_body_over_limit_chunked(self):
        m = self.marks()
        with Client(self.gw.port) as c:
            c.send(P + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            try:
                for _ in range(17):  # 17 x 4 KiB > 64 KiB
                    if answered(c):
                        break  # refused while we were still sending: fine
                    c.send(b"1000\r\n" + b"a" * 4096 + b"\r\n")
                    time.sleep(0.01)
                else:
                    c.send(b"0\r\n\r\n")
            except OSError:
                pass
            self.expect_refusal(c, 413)
        self.no_request_reached_the_models(*m)

    def test_body_at_limit_accepted(self):
        # The positive control of the two above: just under 64K goes through.
        m_int = self.internal.mark()
        text = "x" * (60 * 1024)
        with Client(self.gw.port) as c:
            r = c.request("POST", "/v1/chat/completions", chat_body(text, model="local-model"),
                          auth())
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(self.internal.requests(m_int)), 1)

    def test_request_line_too_long_414(self):
        m = self.marks()
        with Client(self.gw.port) as c:
            c.send(b"GET /v1/models?" + b"a" * 1100 + b" HTTP/1.1\r\nHost: gw\r\n\r\n")
            self.expect_refusal(c, 414)
        self.no_request_reached_the_models(*m)

    def test_header_section_too_large_431(self):
        m = self.marks()
        with Client(self.gw.port) as c:
            c.send(P + b"X-Big: " + b"v" * 5000 + b"\r\nContent-Length: 0\r\n\r\n")
            self.expect_refusal(c, 431)
        self.no_request_reached_the_models(*m)

    def test_too_many_header_fields_431(self):
        m = self.marks()
        with Client(self.gw.port) as c:
            c.send(P + b"".join(b"X-%d: v\r\n" % i for i in range(20))
                   + b"Content-Length: 0\r\n\r\n")
            self.expect_refusal(c, 431)
        self.no_request_reached_the_models(*m)

    def test_slow_head_is_cut(self):
        # Byte by byte, slower than `timeouts.head` (1s) allows for the whole
        # head: the contract says "close, 408 first".
        m = self.marks()
        head = P + b"X-Pad: " + b"p" * 200 + b"\r\nContent-Length: 0\r\n\r\n"
        c = Client(self.gw.port)
        sent = 0
        deadline = time.time() + 60
        try:
            for b in head:
                if answered(c) or time.time() > deadline:
                    break
                c.send(bytes([b]))
                sent += 1
                time.sleep(0.2)
        except OSError:
            pass
        self.assertLess(sent, len(head), "the whole head went through byte by byte")
        try:
            r = c.read_response()
        except Closed:
            self.fail("closed without the 408 the contract announces")
        self.assertEqual(r.status, 408, r)
        self.assertTrue(c.closed_by_peer(10))
        c.close()
        self.no_request_reached_the_models(*m)

    def test_slow_body_408(self):
        m = self.marks()
        with Client(self.gw.port) as c:
            c.send(P + b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"mod")
            r = c.read_response()  # nothing more is sent: `timeouts.body` (1s) ends it
            self.assertEqual(r.status, 408, r)
            self.assertTrue(c.closed_by_peer(10))
        self.no_request_reached_the_models(*m)

    def test_keepalive_idle_closed(self):
        with Client(self.gw.port) as c:
            for _ in range(2):  # the connection is kept alive between requests...
                r = c.request("GET", "/v1/models", None, auth())
                self.assertEqual(r.status, 200, r)
                self.assertNotEqual((r.header("connection") or "").lower(), "close")
            # ...and closed once idle longer than `timeouts.keepalive` (2s).
            self.assertTrue(c.closed_by_peer(20), "idle keep-alive connection never closed")
            self.assertEqual(c.buf, b"")

    def test_expect_100_continue(self):
        m_int = self.internal.mark()
        body = json.dumps(chat_body("Bonjour", model="local-model")).encode()
        with Client(self.gw.port) as c:
            c.send(P + b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
                   b"Content-Length: %d\r\n\r\n" % len(body))
            r = c.read_response()
            self.assertEqual(r.status, 100, r)
            self.assertEqual(self.internal.requests(m_int), [])
            c.send(body)
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
        reqs = self.internal.requests(m_int)
        self.assertEqual(len(reqs), 1)
        self.assertEqual(body_json(reqs[0])["messages"][0]["content"], "Bonjour")
        self.assertFalse(any(n.lower() == "expect" for n, _ in reqs[0]["headers"]))

    def test_expect_refused_head_gets_no_100(self):
        m = self.marks()
        cases = [
            (P + b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % (64 * 1024 + 1), 413),
            (P + b"Expect: 100-continue\r\nContent-Length: 5\r\nTransfer-Encoding: chunked"
             b"\r\n\r\n", 400),
            (P + b"Expect: 100-continue\r\nContent-Length: 5\r\nX : y\r\n\r\n", 400),
        ]
        for req, status in cases:
            with self.subTest(status=status):
                with Client(self.gw.port) as c:
                    c.send(req)
                    r = c.read_response()
                    self.assertEqual(r.status, status, "got %r before the final status" % r)
                    self.assertTrue(c.closed_by_peer(10))
        self.no_request_reached_the_models(*m)


if __name__ == "__main__":
    unittest.main()
