#!/usr/bin/env python3
"""A mock of an OpenAI-compatible model server, for vigie's end-to-end tests.

Python standard library only. HTTP/1.1 with keep-alive, optionally over TLS.
Every event is appended, one JSON object per line, to the record file, so that
a test asserts on what the model *received*, not only on what the client got:

  {"event":"connect","conn":3,"tls":false}
  {"event":"tls","conn":3,"ok":false,"error":"..."}           (TLS mode only)
  {"event":"request","conn":3,"seq":1,"method":"POST","path":"/v1/chat/completions",
   "version":"HTTP/1.1","headers":[["Host","127.0.0.1:40001"],...],
   "chunked":false,"body_b64":"...","body_text":"..." (null unless UTF-8),"mode":"..."}
  {"event":"abort","conn":3,"where":"stream","sent":4}        (the peer went away mid-answer)
  {"event":"close","conn":3,"bytes_in":1234,"by":"peer"|"mock"}
  {"event":"sink_data","conn":3,"bytes":17}                   (--sink mode)

`bytes_in` counts decrypted bytes (TLS) or raw bytes (plain) read on the
connection: 0 after a refused TLS handshake means no request byte reached us.

Answers:
  POST /v1/chat/completions  content = the last user message (so a test can see
                             pseudonyms restored); a tool call of the first tool
                             (arguments {"echo": last user text}) when the request
                             has `tools` and its last message is from the user;
                             "stream": true gives SSE in small pieces
  POST /v1/completions       text = the prompt
  POST /v1/embeddings        one 8-float vector per input
  GET  /v1/models            the models given by --models
  anything else              404

Behaviours, chosen by the request header `x-mock-mode` or by the model name
(--model-mode NAME=MODES), several separated by ';':
  delay=S        wait S seconds before the first byte of the answer
  stall=S        wait S seconds between two streamed events (or body pieces)
  die-after=N    streamed: close the connection after N events (no last chunk);
                 not streamed: send the head and half the body, then close
  split=A,B,...  streamed: cut the content (or tool arguments) at these character
                 positions, one event per piece (default: pieces of `piece`)
  piece=N        streamed: pieces of N characters (default 4)
  wire=N         write the answer body as HTTP chunks of at most N bytes, each
                 flushed on its own (so SSE events are cut across reads)
  bad-chunk      chunked answer with a malformed chunk size
  te-cl          answer with both Transfer-Encoding: chunked and Content-Length
  cl-dup         answer with two different Content-Length fields
  bad-status     malformed status line
  bare-lf        answer head lines ended by LF only
  truncate       Content-Length larger than the body sent, then close
  error=STATUS   answer STATUS with an OpenAI-shaped JSON error
  close          Connection: close after the answer
  tool           answer with a tool call even without `tools`
  say=HEX        answer (chat) with this text, hex-encoded UTF-8, instead of the echo
  repeat=N       answer (chat) with the last user message repeated N times
  gate=PATH      streamed: after the first two events, wait (at most 60 s) until the
                 file PATH exists before sending the rest (a test sees the first
                 events arrive while the model is still "thinking")

Usage: mock_model.py --record FILE [--port 0] [--cert C --key K] [--sink]
                     [--models a,b] [--model-mode NAME=MODES]...
Prints {"port": N} on stdout once listening.
"""

import argparse
import base64
import hashlib
import json
import os
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time

MAX_HEAD = 256 * 1024
MAX_BODY = 64 * 1024 * 1024


class Recorder:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.f = open(path, "a", encoding="utf-8")

    def write(self, obj):
        obj.setdefault("t", round(time.time(), 6))
        line = json.dumps(obj, ensure_ascii=False) + "\n"
        with self.lock:
            self.f.write(line)
            self.f.flush()


class PeerGone(Exception):
    pass


class Conn:
    def __init__(self, sock, cid):
        self.sock = sock
        self.cid = cid
        self.buf = b""
        self.bytes_in = 0

    def recv_more(self):
        try:
            data = self.sock.recv(65536)
        except (ConnectionError, ssl.SSLError, OSError):
            data = b""
        if not data:
            raise PeerGone()
        self.bytes_in += len(data)
        self.buf += data

    def read_until(self, sep, limit):
        while True:
            i = self.buf.find(sep)
            if i >= 0:
                out = self.buf[:i]
                self.buf = self.buf[i + len(sep):]
                return out
            if len(self.buf) > limit:
                raise ValueError("line too long")
            self.recv_more()

    def read_exact(self, n):
        while len(self.buf) < n:
            self.recv_more()
        out = self.buf[:n]
        self.buf = self.buf[n:]
        return out

    def send(self, data):
        try:
            self.sock.sendall(data)
        except (ConnectionError, ssl.SSLError, OSError) as e:
            raise PeerGone() from e

    def peer_closed(self):
        """Whether the peer has closed its side (readable with EOF), without blocking."""
        if self.buf:
            return False
        try:
            r, _, _ = select.select([self.sock], [], [], 0)
            if not r:
                return False
            if isinstance(self.sock, ssl.SSLSocket):
                data = self.sock.recv(1)
            else:
                data = self.sock.recv(1, socket.MSG_PEEK)
                if data:
                    return False
            if data:
                self.buf += data
                self.bytes_in += len(data)
                return False
            return True
        except (ssl.SSLWantReadError,):
            return False
        except (ConnectionError, ssl.SSLError, OSError):
            return True


def parse_modes(s):
    modes = {}
    for part in (s or "").split(";"):
        part = part.strip()
        if not part:
            continue
        if "=" in part:
            k, v = part.split("=", 1)
            modes[k.strip().lower()] = v.strip()
        else:
            modes[part.lower()] = True
    return modes


def text_of(content):
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for p in content:
            if isinstance(p, dict) and isinstance(p.get("text"), str):
                parts.append(p["text"])
            elif isinstance(p, str):
                parts.append(p)
        return " ".join(parts)
    return ""


def tokens(n_bytes):
    return (n_bytes + 3) // 4


class Mock:
    def __init__(self, args):
        self.args = args
        self.rec = Recorder(args.record)
        self.models = [m for m in (args.models or "").split(",") if m]
        self.model_modes = {}
        for mm in args.model_mode or []:
            name, _, modes = mm.partition("=")
            self.model_modes[name] = modes
        self.next_cid = 0
        self.lock = threading.Lock()
        self.ctx = None
        if args.cert:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(args.cert, args.key)
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind((args.host, args.port))
        self.ls.listen(128)

    def serve(self):
        print(json.dumps({"port": self.ls.getsockname()[1]}), flush=True)
        while True:
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            with self.lock:
                self.next_cid += 1
                cid = self.next_cid
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            target = self.sink if self.args.sink else self.handle
            threading.Thread(target=target, args=(s, cid), daemon=True).start()

    # --- sink: count bytes, never answer -------------------------------------
    def sink(self, s, cid):
        self.rec.write({"event": "connect", "conn": cid, "tls": False, "sink": True})
        total = 0
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                total += len(data)
                self.rec.write({"event": "sink_data", "conn": cid, "bytes": len(data)})
        except OSError:
            pass
        self.rec.write({"event": "close", "conn": cid, "bytes_in": total, "by": "peer"})
        s.close()

    # --- HTTP ------------------------------------------------------------------
    def handle(self, s, cid):
        self.rec.write({"event": "connect", "conn": cid, "tls": self.ctx is not None})
        if self.ctx is not None:
            s.settimeout(10)
            try:
                s = self.ctx.wrap_socket(s, server_side=True)
                self.rec.write({"event": "tls", "conn": cid, "ok": True, "version": s.version()})
            except (ssl.SSLError, OSError) as e:
                self.rec.write({"event": "tls", "conn": cid, "ok": False, "error": str(e)})
                self.rec.write({"event": "close", "conn": cid, "bytes_in": 0, "by": "peer"})
                try:
                    s.close()
                except OSError:
                    pass
                return
            s.settimeout(None)
        c = Conn(s, cid)
        by = "peer"
        seq = 0
        try:
            while True:
                try:
                    head = c.read_until(b"\r\n\r\n", MAX_HEAD)
                except PeerGone:
                    break
                seq += 1
                keep = self.one_request(c, head, seq)
                if not keep:
                    by = "mock"
                    break
        except PeerGone:
            pass
        except Exception as e:  # a bug in the mock must show, not hang a test
            self.rec.write({"event": "mock_error", "conn": cid, "error": repr(e)})
            by = "mock"
        self.rec.write({"event": "close", "conn": cid, "bytes_in": c.bytes_in, "by": by})
        try:
            s.close()
        except OSError:
            pass

    def one_request(self, c, head, seq):
        lines = head.split(b"\r\n")
        start = lines[0].decode("latin-1")
        parts = start.split(" ", 2)
        method = parts[0] if parts else ""
        path = parts[1] if len(parts) > 1 else ""
        version = parts[2] if len(parts) > 2 else ""
        headers = []
        for ln in lines[1:]:
            name, _, value = ln.decode("latin-1").partition(":")
            headers.append([name, value.strip()])
        hmap = {}
        for n, v in headers:
            hmap.setdefault(n.lower(), v)
        chunked = any(n.lower() == "transfer-encoding" and "chunked" in v.lower()
                      for n, v in headers)
        body = b""
        if chunked:
            while True:
                line = c.read_until(b"\r\n", 4096)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while c.read_until(b"\r\n", MAX_HEAD) != b"":
                        pass
                    break
                body += c.read_exact(size)
                c.read_exact(2)
        elif "content-length" in hmap:
            n = int(hmap["content-length"])
            if n > MAX_BODY:
                raise ValueError("body too large")
            body = c.read_exact(n)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        obj = None
        if text:
            try:
                obj = json.loads(text)
            except ValueError:
                obj = None
        model = obj.get("model") if isinstance(obj, dict) else None
        mode_s = hmap.get("x-mock-mode")
        if mode_s is None and isinstance(model, str):
            mode_s = self.model_modes.get(model)
        modes = parse_modes(mode_s)
        self.rec.write({
            "event": "request", "conn": c.cid, "seq": seq, "method": method, "path": path,
            "version": version, "headers": headers, "chunked": chunked,
            "body_b64": base64.b64encode(body).decode("ascii"), "body_text": text,
            "mode": mode_s,
        })
        if "delay" in modes:
            time.sleep(float(modes["delay"]))
        keep = "close" not in modes and hmap.get("connection", "").lower() != "close"
        return self.answer(c, method, path.split("?")[0], obj, modes, keep)

    # --- answers -------------------------------------------------------------
    def answer(self, c, method, path, obj, modes, keep):
        if "error" in modes:
            st = int(modes["error"])
            body = json.dumps({"error": {"message": "mock error %d" % st, "type": "mock_error",
                                         "code": "mock_%d" % st}}).encode()
            return self.send_plain(c, st, body, modes, keep)
        if method == "GET" and path == "/v1/models":
            body = json.dumps({"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "mock"}
                for m in self.models]}).encode()
            return self.send_plain(c, 200, body, modes, keep)
        if method != "POST" or not isinstance(obj, dict):
            body = json.dumps({"error": {"message": "not found", "type": "invalid_request_error",
                                         "code": "unknown_url"}}).encode()
            return self.send_plain(c, 404 if method != "POST" else 400, body, modes, keep)
        model = obj.get("model", "mock")
        stream = obj.get("stream") is True
        usage_in_stream = bool((obj.get("stream_options") or {}).get("include_usage"))
        if path == "/v1/chat/completions":
            msgs = obj.get("messages") or []
            last_user = ""
            for m in msgs:
                if isinstance(m, dict) and m.get("role") == "user":
                    last_user = text_of(m.get("content"))
            last_role = msgs[-1].get("role") if msgs and isinstance(msgs[-1], dict) else None
            tools = obj.get("tools") or []
            tool_name = None
            if ("tool" in modes or tools) and last_role == "user":
                if tools and isinstance(tools[0], dict):
                    tool_name = (tools[0].get("function") or {}).get("name")
                tool_name = tool_name or "echo_tool"
            in_bytes = len(json.dumps(msgs, ensure_ascii=False).encode())
            if tool_name:
                args = json.dumps({"echo": last_user}, ensure_ascii=False)
                out = args
            elif "repeat" in modes:
                # a long answer: the last user message repeated N times
                out = last_user * int(modes["repeat"])
            elif "say" in modes:
                # answer with a fixed text (hex-encoded UTF-8), whatever was asked:
                # lets a test put in an answer what the request could not carry
                out = bytes.fromhex(modes["say"]).decode("utf-8")
            else:
                out = last_user
            usage = {"prompt_tokens": tokens(in_bytes),
                     "completion_tokens": tokens(len(out.encode())),
                     "total_tokens": tokens(in_bytes) + tokens(len(out.encode()))}
            if stream:
                return self.send_chat_stream(c, model, out, tool_name, usage if usage_in_stream
                                             else None, modes, keep)
            if tool_name:
                message = {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_mock_1", "type": "function",
                     "function": {"name": tool_name, "arguments": out}}]}
                finish = "tool_calls"
            else:
                message = {"role": "assistant", "content": out}
                finish = "stop"
            body = {"id": "chatcmpl-mock", "object": "chat.completion",
                    "created": int(time.time()), "model": model,
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": usage}
            return self.send_plain(c, 200, json.dumps(body, ensure_ascii=False).encode(),
                                   modes, keep)
        if path == "/v1/completions":
            prompt = obj.get("prompt", "")
            if isinstance(prompt, list):
                prompt = "\n".join(p for p in prompt if isinstance(p, str))
            usage = {"prompt_tokens": tokens(len(prompt.encode())),
                     "completion_tokens": tokens(len(prompt.encode())),
                     "total_tokens": 2 * tokens(len(prompt.encode()))}
            if stream:
                events = [{"id": "cmpl-mock", "object": "text_completion", "model": model,
                           "choices": [{"index": 0, "text": p, "finish_reason": None}]}
                          for p in self.pieces(prompt, modes)]
                events.append({"id": "cmpl-mock", "object": "text_completion", "model": model,
                               "choices": [{"index": 0, "text": "", "finish_reason": "stop"}]})
                return self.send_events(c, events, modes, keep)
            body = {"id": "cmpl-mock", "object": "text_completion", "created": int(time.time()),
                    "model": model, "choices": [{"index": 0, "text": prompt,
                                                 "finish_reason": "stop"}], "usage": usage}
            return self.send_plain(c, 200, json.dumps(body, ensure_ascii=False).encode(),
                                   modes, keep)
        if path == "/v1/embeddings":
            inp = obj.get("input", "")
            inputs = inp if isinstance(inp, list) else [inp]
            data = []
            for i, x in enumerate(inputs):
                h = hashlib.sha256(json.dumps(x, ensure_ascii=False).encode()).digest()
                vec = [round(v / 2 ** 32, 6) for v in struct.unpack(">8I", h)]
                data.append({"object": "embedding", "index": i, "embedding": vec})
            n = sum(len(json.dumps(x, ensure_ascii=False).encode()) for x in inputs)
            body = {"object": "list", "data": data, "model": model,
                    "usage": {"prompt_tokens": tokens(n), "total_tokens": tokens(n)}}
            return self.send_plain(c, 200, json.dumps(body).encode(), modes, keep)
        body = json.dumps({"error": {"message": "not found", "type": "invalid_request_error",
                                     "code": "unknown_url"}}).encode()
        return self.send_plain(c, 404, body, modes, keep)

    @staticmethod
    def pieces(text, modes):
        if "split" in modes:
            cuts = sorted({int(x) for x in str(modes["split"]).split(",") if x.strip() != ""})
            cuts = [x for x in cuts if 0 < x < len(text)]
            out, prev = [], 0
            for x in cuts + [len(text)]:
                out.append(text[prev:x])
                prev = x
            return [p for p in out if p] or [""]
        n = max(1, int(modes.get("piece", 4)))
        return [text[i:i + n] for i in range(0, len(text), n)] or [""]

    def send_chat_stream(self, c, model, out, tool_name, usage, modes, keep):
        base = {"id": "chatcmpl-mock", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": model}

        def ev(delta, finish=None):
            d = dict(base)
            d["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
            return d
        if tool_name:
            events = [ev({"role": "assistant", "content": None, "tool_calls": [
                {"index": 0, "id": "call_mock_1", "type": "function",
                 "function": {"name": tool_name, "arguments": ""}}]})]
            events += [ev({"tool_calls": [{"index": 0, "function": {"arguments": p}}]})
                       for p in self.pieces(out, modes)]
            events.append(ev({}, "tool_calls"))
        else:
            events = [ev({"role": "assistant", "content": ""})]
            events += [ev({"content": p}) for p in self.pieces(out, modes)]
            events.append(ev({}, "stop"))
        if usage is not None:
            u = dict(base)
            u["choices"] = []
            u["usage"] = usage
            events.append(u)
        return self.send_events(c, events, modes, keep)

    def head(self, status, fields, modes):
        eol = b"\n" if "bare-lf" in modes else b"\r\n"
        line = ("HTTP/1.1 %d %s" % (status, "OK" if status < 400 else "Error")).encode()
        if "bad-status" in modes:
            line = b"HTTP/1.1 2x0 Okay"
        out = line + eol
        for n, v in fields:
            out += ("%s: %s" % (n, v)).encode("latin-1") + eol
        return out + eol

    def send_plain(self, c, status, body, modes, keep):
        fields = [("Content-Type", "application/json")]
        if "te-cl" in modes:
            fields += [("Transfer-Encoding", "chunked"), ("Content-Length", str(len(body)))]
            data = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        elif "bad-chunk" in modes:
            fields += [("Transfer-Encoding", "chunked")]
            data = b"zz\r\n" + body + b"\r\n0\r\n\r\n"
        elif "cl-dup" in modes:
            fields += [("Content-Length", str(len(body))), ("Content-Length", str(len(body) + 1))]
            data = body
        elif "truncate" in modes:
            fields += [("Content-Length", str(len(body) + 100))]
            data = body
            keep = False
        elif "wire" in modes:
            fields += [("Transfer-Encoding", "chunked")]
            data = None
        else:
            fields += [("Content-Length", str(len(body)))]
            data = body
        if not keep:
            fields.append(("Connection", "close"))
        if "die-after" in modes:
            c.send(self.head(status, [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))], modes))
            c.send(body[:len(body) // 2])
            return False
        c.send(self.head(status, fields, modes))
        if data is None:
            n = max(1, int(modes["wire"]))
            for i in range(0, len(body), n):
                c.send(b"%x\r\n%s\r\n" % (len(body[i:i + n]), body[i:i + n]))
                time.sleep(0.002)
            c.send(b"0\r\n\r\n")
        else:
            c.send(data)
        return keep

    def send_events(self, c, events, modes, keep):
        fields = [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")]
        if "te-cl" in modes:
            fields += [("Content-Length", "100000")]
        fields += [("Transfer-Encoding", "chunked")]
        if not keep:
            fields.append(("Connection", "close"))
        c.send(self.head(200, fields, modes))
        stall = float(modes.get("stall", 0))
        die_after = int(modes["die-after"]) if "die-after" in modes else None
        wire = int(modes["wire"]) if "wire" in modes else None
        payloads = [("data: " + json.dumps(e, ensure_ascii=False) + "\n\n").encode()
                    for e in events] + [b"data: [DONE]\n\n"]
        sent = 0
        for i, p in enumerate(payloads):
            if die_after is not None and sent >= die_after:
                self.rec.write({"event": "died", "conn": c.cid, "sent": sent})
                try:
                    c.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return False
            if i > 0 and stall > 0:
                time.sleep(stall)
            if i == 2 and "gate" in modes:
                end = time.time() + 60
                while not os.path.exists(modes["gate"]) and time.time() < end:
                    time.sleep(0.02)
                self.rec.write({"event": "gate_opened", "conn": c.cid,
                                "opened": os.path.exists(modes["gate"])})
            if c.peer_closed():
                self.rec.write({"event": "abort", "conn": c.cid, "where": "stream", "sent": sent})
                raise PeerGone()
            try:
                if "bad-chunk" in modes and i == 1:
                    c.send(b"-%x\r\n%s\r\n" % (len(p), p))
                elif wire:
                    for j in range(0, len(p), wire):
                        c.send(b"%x\r\n%s\r\n" % (len(p[j:j + wire]), p[j:j + wire]))
                        time.sleep(0.002)
                else:
                    c.send(b"%x\r\n%s\r\n" % (len(p), p))
            except PeerGone:
                self.rec.write({"event": "abort", "conn": c.cid, "where": "stream", "sent": sent})
                raise
            sent += 1
        c.send(b"0\r\n\r\n")
        return keep


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--record", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--sink", action="store_true")
    ap.add_argument("--models", default="")
    ap.add_argument("--model-mode", action="append")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    Mock(args).serve()


if __name__ == "__main__":
    main()
