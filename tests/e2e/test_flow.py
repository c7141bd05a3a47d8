"""Flow control and connection limits: paths that only load reaches.

- A client that stops reading a long streamed answer: vigie stops reading the
  model once 1 MiB waits for the client, resumes when it drains, and the client
  gets every byte in order (nothing dropped, nothing duplicated, no deadlock).
- limits.connections: past the limit, new connections wait in the kernel's
  backlog and are served as soon as another closes.
"""
import json
import socket
import time

import data
from harness import WAIT, Client, GatewayTest, auth, chat_body, content_of


class FlowTest(GatewayTest):
    GATEWAY_ARGS = {"workers": 1, "limits": {"connections": 2}, "log_level": "debug"}

    def test_slow_reader_gets_every_byte(self):
        unit = "Ligne %s de la réponse, assez longue pour remplir. " % data.EMAIL
        n = 60000  # about 4 MB of answer text, streamed in 4 KB events
        m = self.external.mark()
        log_before = len(self.gw.log())
        with Client(self.gw.port, rcvbuf=4096) as c:
            raw = json.dumps(chat_body(unit, stream=True)).encode()
            head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: gw.test\r\n"
                    "Authorization: %s\r\nContent-Type: application/json\r\n"
                    "x-mock-mode: repeat=%d;piece=4096\r\nContent-Length: %d\r\n\r\n"
                    % (auth()["Authorization"], n, len(raw))).encode()
            c.send(head + raw)
            # Do not read for a while: the model has sent everything it can by
            # then, and vigie must have stopped reading it (1 MiB buffered).
            time.sleep(1.5)
            r = c.read_response("POST")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.complete)
        got = content_of(r)
        self.assertEqual(len(got), len(unit) * n)
        self.assertEqual(got, unit * n)
        self.assertEqual(r.sse_data()[-1], "[DONE]")
        # The model saw the pseudonym, never the address.
        self.assertNotIn(data.EMAIL, json.dumps(self.external.requests(m)[0]))
        events = [e.get("event") for e in self.gw.log()[log_before:]]
        self.assertIn("upstream_paused", events)
        self.assertIn("upstream_resumed", events)

    def test_connection_limit_waits_in_backlog(self):
        # Two idle keep-alive connections fill the worker's limit.
        a = socket.create_connection(("127.0.0.1", self.gw.port), timeout=WAIT)
        b = socket.create_connection(("127.0.0.1", self.gw.port), timeout=WAIT)
        try:
            time.sleep(0.3)  # both accepted by the worker
            with Client(self.gw.port, timeout=WAIT) as c:
                c.send(b"GET /v1/models HTTP/1.1\r\nHost: gw.test\r\nAuthorization: "
                       + auth()["Authorization"].encode() + b"\r\n\r\n")
                c.sock.settimeout(0.8)
                try:
                    early = c.sock.recv(1)
                except socket.timeout:
                    early = None
                self.assertIsNone(early, "served past limits.connections")
                a.close()  # one slot frees: the waiting connection is taken
                c.sock.settimeout(WAIT)
                r = c.read_response("GET")
            self.assertEqual(r.status, 200, r)
        finally:
            a.close()
            b.close()
