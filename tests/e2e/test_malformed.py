"""Every row of the malformed-request table (research/reliability.md §3.2) over
the wire to `vigie serve`: the exact status and code of proxy/http/http.h, the
connection closed afterwards, and not one byte at the upstream (both upstreams
are sinks that count what they receive). Then request smuggling pairs and
pipelining after a refusal."""

import json
import unittest

from harness import (AGENT, Client, Closed, Gateway, Mock, raw_exchange, settle)

KEY = AGENT.encode()
P = b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + KEY + b"\r\n"
# Chunked requests that are right in every way but their framing (a
# Content-Type the gateway accepts, so it reads on into the chunks).
CH = P + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
BODY = json.dumps({"model": "cloud-model", "messages": [{"role": "user", "content": "Bonjour"}]}
                  ).encode()


def post_json(body, ctype=b"application/json", extra=b""):
    return (P + b"Content-Type: " + ctype + b"\r\nContent-Length: %d\r\n" % len(body) + extra
            + b"\r\n" + body)


def get(extra=b"", target=b"/v1/models", version=b"HTTP/1.1", host=b"Host: gw\r\n"):
    return (b"GET " + target + b" " + version + b"\r\n" + host + b"Authorization: Bearer " + KEY
            + b"\r\n" + extra + b"\r\n")


# (row, what, request bytes, status, code). Codes: http_error_code() of http.h.
TABLE = [
    (1, "CL then TE", P + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     400, "te_and_content_length"),
    (1, "TE then CL", P + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
     400, "te_and_content_length"),
    (2, "two different CL", P + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400,
     "duplicate_content_length"),
    (3, "two equal CL", P + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400,
     "duplicate_content_length"),
    (3, "CL list", P + b"Content-Length: 42, 42\r\n\r\n", 400, "bad_content_length"),
] + [
    (4, "CL %r" % v, P + b"Content-Length: " + v + b"\r\n\r\n", 400, "bad_content_length")
    for v in (b"", b"+1", b"-1", b"0x10", b"1Z", b"1_0", b" 1 2", b"1.0", b"1000,1000",
              b"9223372036854775808", b"99999999999999999999999")
] + [
    (row, "TE %r" % te, P + b"Transfer-Encoding: " + te + b"\r\n\r\n0\r\n\r\n", st, code)
    for row, te, st, code in [
        (6, b"gzip", 400, "te_not_chunked"),
        (7, b"chunked, gzip", 400, "te_not_chunked"),
        (8, b"chunked, chunked", 400, "duplicate_transfer_encoding"),
        (9, b"gzip, chunked", 501, "te_unsupported"),
        (10, b"identity", 400, "te_not_chunked"),
        (10, b"xchunked", 400, "te_not_chunked"),
        (10, b"chunk", 400, "te_not_chunked"),
        (10, b"\"chunked\"", 400, "te_not_chunked"),
        (10, b"chunked;x=1", 400, "te_not_chunked"),
        (10, b",chunked", 400, "te_not_chunked"),
        (10, b"chunked\x0b", 400, "bad_field_value"),
        (10, b"cow, chunked", 501, "te_unsupported"),
    ]
] + [
    (8, "two TE lines",
     P + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
     "duplicate_transfer_encoding"),
    (11, "TE in HTTP/1.0",
     b"POST /v1/chat/completions HTTP/1.0\r\nAuthorization: Bearer " + KEY
     + b"\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "te_in_http10"),
    (12, "space before colon", P + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400,
     "space_before_colon"),
    (12, "tab before colon", P + b"Content-Length\t: 0\r\n\r\n", 400, "space_before_colon"),
    (13, "obs-fold SP", P + b"X-A: a\r\n b\r\nContent-Length: 0\r\n\r\n", 400, "obs_fold"),
    (13, "obs-fold HTAB", P + b"X-A: a\r\n\tb\r\nContent-Length: 0\r\n\r\n", 400, "obs_fold"),
    (14, "whitespace line", b"GET /v1/models HTTP/1.1\r\n \r\nHost: gw\r\n\r\n", 400,
     "leading_whitespace"),
    (15, "bare CR in head", b"GET /v1/models HTTP/1.1\r\nHost: gw\rX-A: b\r\n\r\n", 400,
     "bare_cr"),
    (15, "bare CR in line", b"GET /v1/models\r HTTP/1.1\r\nHost: gw\r\n\r\n", 400, "bare_cr"),
    (16, "bare LF request line", b"GET /v1/models HTTP/1.1\nHost: gw\r\n\r\n", 400, "bare_lf"),
    (16, "bare LF field", b"GET /v1/models HTTP/1.1\r\nHost: gw\n\r\n", 400, "bare_lf"),
    (16, "bare LF end of head", b"GET /v1/models HTTP/1.1\r\nHost: gw\r\n\n", 400, "bare_lf"),
    (16, "bare LF chunk size", CH + b"5\nhello\r\n0\r\n\r\n", 400, "bare_lf"),
    (16, "bare LF after chunk data", CH + b"5\r\nhello\n0\r\n\r\n", 400, "bare_lf"),
    (17, "NUL in value", P + b"X-User: admin\x00evil\r\nContent-Length: 0\r\n\r\n", 400,
     "bad_field_value"),
    (17, "CTL in value", P + b"X-User: admin\x01\r\nContent-Length: 0\r\n\r\n", 400,
     "bad_field_value"),
    (17, "DEL in value", P + b"X-User: admin\x7f\r\nContent-Length: 0\r\n\r\n", 400,
     "bad_field_value"),
] + [
    (18, "field name %r" % n, P + n + b": v\r\nContent-Length: 0\r\n\r\n", 400, "bad_field_name")
    for n in (b"X\"A", b"X(A", b"X/A", b"X;A", b"X@A", b"X\x80A", b"\xa0Host", b"X=A", b"X\x00A",
              b"")
] + [
    (18, "space in field name", P + b"X A: v\r\n\r\n", 400, "space_before_colon"),
    (19, "no colon", P + b"X-Name value\r\n\r\n", 400, "no_colon"),
    (20, "Host missing", b"GET /v1/models HTTP/1.1\r\nAuthorization: Bearer " + KEY + b"\r\n\r\n",
     400, "host_missing"),
    (20, "two Host", get(host=b"Host: gw\r\nHost: gw\r\n"), 400, "host_duplicate"),
    (20, "empty Host", get(host=b"Host:\r\n"), 400, "host_invalid"),
] + [
    (20, "Host %r" % h, get(host=b"Host: " + h + b"\r\n"), 400, "host_invalid")
    for h in (b"a b", b"a/b", b"u@a", b"a:99999", b"[::1", b"a%00", b"a?b")
] + [
    (21, "absolute-form", get(target=b"http://evil.example/v1/models"), 400, "absolute_form"),
    (22, "CONNECT", b"CONNECT gw:443 HTTP/1.1\r\nHost: gw\r\n\r\n", 405, "method_not_allowed"),
    (22, "TRACE", b"TRACE / HTTP/1.1\r\nHost: gw\r\n\r\n", 405, "method_not_allowed"),
    (22, "unknown method", b"BREW /v1/models HTTP/1.1\r\nHost: gw\r\n\r\n", 501,
     "unknown_method"),
    (22, "lower-case method", b"get /v1/models HTTP/1.1\r\nHost: gw\r\n\r\n", 501,
     "unknown_method"),
    (23, "method not a token", b"G=\":<>(e) / HTTP/1.1\r\nHost: gw\r\n\r\n", 400, "bad_method"),
    (24, "HTTP/1.32", get(version=b"HTTP/1.32"), 400, "bad_version"),
    (24, "HTTP/4294967295.255", get(version=b"HTTP/4294967295.255"), 400, "bad_version"),
    (24, "http/1.1", get(version=b"http/1.1"), 400, "bad_version"),
    (24, "HTTP/2.0", get(version=b"HTTP/2.0"), 505, "version_not_supported"),
    (24, "HTTP/0.9 line", get(version=b"HTTP/0.9"), 505, "version_not_supported"),
    (24, "no version", b"GET /v1/models\r\n", 400, "bad_request_line"),
    (0, "two spaces", b"GET  /v1/models HTTP/1.1\r\nHost: gw\r\n\r\n", 400, "bad_request_line"),
    (0, "dot segment", get(target=b"/v1/../admin"), 400, "bad_target"),
    (0, "encoded dot segment", get(target=b"/v1/%2e%2e/admin"), 400, "bad_target"),
    (0, "%00 in target", get(target=b"/v1/models%00"), 400, "bad_target"),
    (25, "request line 9000 bytes", get(target=b"/v1/" + b"a" * 9000), 414,
     "request_line_too_long"),
    (26, "header section 33 KiB", get(extra=b"X-Big: " + b"v" * (33 * 1024) + b"\r\n"), 431,
     "header_section_too_large"),
    (26, "101 fields", get(extra=b"".join(b"X-%d: v\r\n" % i for i in range(100))), 431,
     "too_many_fields"),
] + [
    (27, "chunk size %r" % s, CH + s + b"\r\nx\r\n0\r\n\r\n", 400, "bad_chunk_size")
    for s in (b"0x1", b"+1", b"-0", b" 1", b"1_0", b"Z", b"1 ")
] + [
    (28, "chunk size 17 digits", CH + b"00000000000000001\r\nx\r\n0\r\n\r\n", 400,
     "chunk_size_overflow"),
    (28, "chunk size 16 f", CH + b"ffffffffffffffff\r\n", 413, "body_too_large"),
    (29, "chunk data overrun", CH + b"5\r\nhelloXX\r\n0\r\n\r\n", 400, "bad_chunk_data"),
    (30, "NUL in chunk ext", CH + b"5;\x00ext\r\nhello\r\n0\r\n\r\n", 400, "bad_chunk_extension"),
    (30, "bare CR in chunk line", CH + b"2\r\r;a\r\nab\r\n0\r\n\r\n", 400, "bare_cr"),
    (30, "CTL in quoted ext", CH + b"2;a=\"x\x01\"\r\nab\r\n0\r\n\r\n", 400,
     "bad_chunk_extension"),
    (31, "17 chunk extensions", CH + b"1;a;b;c;d;e;f;g;h;i;j;k;l;m;n;o;p;q\r\nx\r\n0\r\n\r\n",
     400, "chunk_extension_too_long"),
    (31, "4 KiB chunk extension", CH + b"1;a=" + b"v" * 4096 + b"\r\nx\r\n0\r\n\r\n", 400,
     "chunk_extension_too_long"),
    (32, "missing last chunk", CH + b"5\r\nhello\r\n\r\n", 400, "bad_chunk_size"),
    (35, "CL over the body limit", P + b"Content-Length: 4194305\r\n\r\n", 413, "body_too_large"),
    (36, "GET with a body", get(extra=b"Content-Length: 5\r\n")[:-2] + b"\r\nhello", 400,
     "body_not_allowed"),
    (36, "HEAD with TE", b"HEAD /v1/models HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: "
     b"chunked\r\n\r\n0\r\n\r\n", 400, "body_not_allowed"),
    (38, "Expect other", P + b"Expect: 200-ok\r\nContent-Length: 0\r\n\r\n", 417,
     "expectation_failed"),
    (38, "Expect list", P + b"Expect: 100-continue, foo\r\nContent-Length: 0\r\n\r\n", 417,
     "expectation_failed"),
    (39, "Connection not tokens", P + b"Connection: close, \"x\"\r\nContent-Length: 0\r\n\r\n",
     400, "bad_connection"),
    (41, "Content-Encoding", P + b"Content-Encoding: gzip\r\nContent-Length: 0\r\n\r\n", 415,
     "content_encoding"),
    (46, "Transfer_Encoding", P + b"Transfer_Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
     400, "field_name_lookalike"),
    (46, "content_length", P + b"content_length: 5\r\n\r\nhello", 400, "field_name_lookalike"),
    (46, "long s", P + "Tranſfer-Encoding: chunked".encode() + b"\r\n\r\n0\r\n\r\n", 400,
     "bad_field_name"),
]

# Body-level rows (42-45): refused by the API layer, not the parser; the
# contract fixes the status only.
DEEP = b"[" * 100 + b"]" * 100
BODY_ROWS = [
    (42, "text/plain", post_json(BODY, b"text/plain"), 415),
    (42, "charset latin-1", post_json(BODY, b"application/json; charset=iso-8859-1"), 415),
    (43, "not JSON", post_json(b"{\"model\": "), 400),
    (43, "invalid UTF-8", post_json(BODY.replace(b"Bonjour", b"Bon\xffjour")), 400),
    (43, "lone surrogate", post_json(BODY.replace(b"Bonjour", b"Bon\\ud800jour")), 400),
    (43, "NUL escape", post_json(BODY.replace(b"Bonjour", b"Bon\\u0000jour")), 400),
    (43, "trailing garbage", post_json(BODY + b"xx"), 400),
    (44, "duplicate keys", post_json(BODY[:-1] + b", \"model\": \"local-model\"}"), 400),
    (45, "depth 100", post_json(b"{\"model\": \"cloud-model\", \"x\": " + DEEP + b", "
                                b"\"messages\": [{\"role\": \"user\", \"content\": \"a\"}]}"),
     400),
    (45, "number of 80 digits", post_json(b"{\"model\": \"cloud-model\", \"x\": " + b"1" * 80
                                          + b", \"messages\": [{\"role\": \"user\", "
                                          b"\"content\": \"a\"}]}"), 400),
    (45, "200k elements", post_json(b"{\"model\": \"cloud-model\", \"x\": [" + b"0," * 200000
                                    + b"0], \"messages\": [{\"role\": \"user\", "
                                    b"\"content\": \"a\"}]}"), 400),
]


class MalformedTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.sink_int = Mock("sink-internal", sink=True)
        cls.sink_ext = Mock("sink-external", sink=True)
        try:
            cls.gw = Gateway("malformed", "http://127.0.0.1:%d" % cls.sink_int.port,
                             "http://127.0.0.1:%d" % cls.sink_ext.port,
                             # a request wrongly forwarded to a sink fails fast
                             timeouts={"upstream_first_byte": "2s"})
        except Exception:
            cls.sink_int.stop()
            cls.sink_ext.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.gw.stop()
        finally:
            cls.sink_int.stop()
            cls.sink_ext.stop()

    def setUp(self):
        self.marks = (self.sink_int.mark(), self.sink_ext.mark())

    def upstream_bytes(self):
        """Bytes the upstreams received since this test started."""
        return self.sink_int.sink_bytes(self.marks[0]) + self.sink_ext.sink_bytes(self.marks[1])

    def refused(self, req, status, code=None, what=""):
        r, closed, c = raw_exchange(self.gw.port, req)
        c.close()
        self.assertIsNotNone(r, "%s: connection closed without an answer" % what)
        self.assertEqual(r.status, status, "%s: %r" % (what, r))
        self.assertIsNotNone(r.header("x-request-id"), what)
        err = json.loads(r.body)["error"]
        if code is not None:
            self.assertEqual(err.get("code"), code, "%s: %r" % (what, r.body))
        if status < 500:
            self.assertEqual(err.get("type"), "invalid_request_error", what)
        self.assertTrue(closed, "%s: connection still open after %d" % (what, status))
        return r

    def test_table(self):
        for row, what, req, status, code in TABLE:
            with self.subTest(row=row, what=what):
                self.refused(req, status, code, "row %d %s" % (row, what))
        settle()
        self.assertEqual(self.upstream_bytes(), 0)

    def test_body_rows(self):
        for row, what, req, status in BODY_ROWS:
            with self.subTest(row=row, what=what):
                r, _, c = raw_exchange(self.gw.port, req, check_close=False)
                c.close()
                self.assertIsNotNone(r, what)
                self.assertEqual(r.status, status, "row %d %s: %r" % (row, what, r))
                self.assertIn("error", json.loads(r.body))
        settle()
        self.assertEqual(self.upstream_bytes(), 0)

    def test_truncated_body_then_close(self):
        # Row 32, second form: the client half-closes inside a chunked body.
        c = Client(self.gw.port)
        c.send(CH + b"5\r\nhello\r\n")
        c.sock.shutdown(1)
        try:
            r = c.read_response()
            self.assertEqual(r.status, 400, r)
        except Closed:
            pass
        self.assertTrue(c.closed_by_peer(10))
        c.close()
        settle()
        self.assertEqual(self.upstream_bytes(), 0)

    def test_leading_zeros_are_decimal(self):
        # Row 5: "010" is 10, never 8: with 10 body bytes then a pipelined GET,
        # an octal reading would make "89" the start of the next request.
        req = (P + b"Content-Type: application/json\r\nContent-Length: 010\r\n\r\n0123456789"
               + get())
        with Client(self.gw.port) as c:
            c.send(req)
            first = c.read_response()
            if first.status != 400 or c.closed_by_peer(2) is False:
                second = c.read_response(method="GET")
                self.assertEqual(second.status, 200, second)
                self.assertIn("data", second.json())
        settle()
        self.assertEqual(self.upstream_bytes(), 0)

    def test_upgrade_is_stripped(self):
        # Row 39: Upgrade is never honoured (no 101); /v1/models is answered by vigie.
        with Client(self.gw.port) as c:
            r = c.request("GET", "/v1/models", None,
                          [("Authorization", "Bearer " + AGENT),
                           ("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"),
                           ("HTTP2-Settings", "AAMAAABkAAQAAP__")])
        self.assertEqual(r.status, 200, r)

    def test_smuggling_pairs_one_answer_then_close(self):
        smuggled = get()
        smuggled_post = post_json(BODY)
        pairs = [
            ("CL+TE", P + b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
             % (5 + len(smuggled)) + smuggled),
            ("TE+CL", P + b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
             b"%x\r\n%s\r\n0\r\n\r\n" % (len(smuggled_post), smuggled_post)),
            ("duplicate CL", P + b"Content-Length: 0\r\nContent-Length: %d\r\n\r\n"
             % len(smuggled) + smuggled),
            ("obs-fold TE", P + b"Content-Length: %d\r\nX-Pad: a\r\n Transfer-Encoding: chunked"
             b"\r\n\r\n0\r\n\r\n" % (5 + len(smuggled)) + smuggled),
            ("bare LF", P.replace(b"\r\nAuthorization", b"\nAuthorization")
             + b"Content-Length: 0\r\n\r\n" + smuggled),
            ("refused then pipelined", get(extra=b"X : y\r\n") + smuggled + smuggled_post),
        ]
        for what, req in pairs:
            with self.subTest(what=what):
                with Client(self.gw.port) as c:
                    c.send(req)
                    r = c.read_response()
                    self.assertEqual(r.status, 400, "%s: %r" % (what, r))
                    self.assertTrue(c.closed_by_peer(10), "%s: a second answer or no close: %r"
                                    % (what, c.buf[:200]))
        settle()
        self.assertEqual(self.upstream_bytes(), 0)


if __name__ == "__main__":
    unittest.main()
