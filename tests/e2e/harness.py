"""Helpers of vigie's end-to-end tests: mock models, a gateway under test, a raw
HTTP/1.1 client.

Everything runs on 127.0.0.1. A test class typically starts two mocks (an
internal and an external model) and one `vigie serve` with a policy written
from policy.yaml.in and a configuration written here, then asserts both on what
the client got and on what the mocks recorded (mock_model.py's JSONL file).

Environment, set by run.py: VIGIE (the binary), E2E_RUN_DIR (scratch folder of
the run: every gateway's stderr is kept there, for the privacy test),
E2E_PKI (folder of the test PKI, made by pki.sh on first use).
"""

import base64
import hashlib
import glob
import json
import os
import re
import select
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MOCK = os.path.join(HERE, "mock_model.py")
RULES = os.path.join(REPO, "rules")

EXT_KEY = "sk-test-upstream"  # the external upstream's credential (VIGIE_TEST_EXT_KEY)
KEYS = {"agent": "e2e-agent-key", "indexer": "e2e-indexer-key", "dev": "e2e-dev-key"}
AGENT = KEYS["agent"]
CERT_SUBJECT = "CN=Service juridique,OU=Bureau JC,O=DGDDI,C=FR"

# How long a test waits for something that must happen (a process ready, an
# answer). Generous: a shared 2-core machine, ASan builds. Never asserted on.
WAIT = float(os.environ.get("E2E_WAIT", "30"))


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer")


def sha256(s):
    return hashlib.sha256(s.encode()).hexdigest()


def run_dir():
    d = os.environ.get("E2E_RUN_DIR")
    if not d:
        d = tempfile.mkdtemp(prefix="vigie-e2e-")
        os.environ["E2E_RUN_DIR"] = d
    os.makedirs(d, exist_ok=True)
    return d


def scratch(name):
    return tempfile.mkdtemp(prefix=name + "-", dir=run_dir())


def vigie_path():
    v = os.environ.get("VIGIE")
    if not v:
        raise unittest.SkipTest("VIGIE is not set (run through run.py --vigie PATH)")
    return v


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pki_dir():
    """The test PKI (pki.sh), generated once per run; SkipTest without pki.sh."""
    d = os.environ.get("E2E_PKI") or os.path.join(run_dir(), "pki")
    os.environ["E2E_PKI"] = d
    script = os.path.join(HERE, "pki.sh")
    if not os.path.exists(script):
        raise unittest.SkipTest("tests/e2e/pki.sh is not there yet")
    r = subprocess.run(["sh", script, d], capture_output=True, text=True, timeout=120)
    if r.returncode != 0 or not os.path.exists(os.path.join(d, "ca.crt")):
        raise RuntimeError("pki.sh failed: %s%s" % (r.stdout, r.stderr))
    return d


def settle(seconds=0.3):
    """Give a misbehaving gateway the chance to show (bytes sent late upstream)
    before asserting that something did NOT happen."""
    time.sleep(seconds)


# --- the mock model -----------------------------------------------------------

class Mock:
    """mock_model.py in a subprocess. `records()` reads what it recorded."""

    def __init__(self, name, sink=False, cert=None, key=None, models=(), model_modes=None):
        self.name = name
        self.dir = scratch("mock-" + name)
        self.record = os.path.join(self.dir, "record.jsonl")
        open(self.record, "w").close()
        cmd = [sys.executable, MOCK, "--record", self.record, "--port", "0"]
        if sink:
            cmd.append("--sink")
        if cert:
            cmd += ["--cert", cert, "--key", key]
        if models:
            cmd += ["--models", ",".join(models)]
        for m, mode in (model_modes or {}).items():
            cmd += ["--model-mode", "%s=%s" % (m, mode)]
        self.tls = cert is not None
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(
            os.path.join(self.dir, "stderr"), "w"))
        r, _, _ = select.select([self.proc.stdout], [], [], WAIT)
        if not r:
            self.stop()
            raise RuntimeError("mock %s did not start" % name)
        line = self.proc.stdout.readline()
        self.port = json.loads(line)["port"]

    @property
    def url(self):
        if self.tls:
            return "https://localhost:%d" % self.port
        return "http://127.0.0.1:%d" % self.port

    def records(self, since=0):
        out = []
        with open(self.record, encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i < since or not line.endswith("\n"):
                    continue
                out.append(json.loads(line))
        return out

    def mark(self):
        with open(self.record, encoding="utf-8") as f:
            return sum(1 for _ in f)

    def requests(self, since=0):
        return [r for r in self.records(since) if r["event"] == "request"]

    def events(self, kind, since=0):
        return [r for r in self.records(since) if r["event"] == kind]

    def sink_bytes(self, since=0):
        """Sink mode: bytes received so far (recorded as they arrive)."""
        return sum(r["bytes"] for r in self.records(since) if r["event"] == "sink_data")

    def closed_bytes_in(self, since=0):
        """Bytes read (decrypted, for TLS) on the connections closed so far."""
        return sum(r.get("bytes_in", 0) for r in self.records(since) if r["event"] == "close")

    def wait_for(self, pred, since=0, timeout=None):
        """Polls the record until pred(records) is true; returns the records."""
        end = time.time() + (timeout or WAIT)
        while True:
            recs = self.records(since)
            if pred(recs) or time.time() > end:
                return recs
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


def header_values(headers, name):
    return [v for n, v in headers if n.lower() == name.lower()]


def body_text(rec):
    return rec.get("body_text") or base64.b64decode(rec["body_b64"]).decode("utf-8", "replace")


def body_json(rec):
    return json.loads(body_text(rec))


# --- the gateway ---------------------------------------------------------------

def render_policy(path, internal_url, external_url, version="1", internal_extra="",
                  external_extra="", extra_callers="", policy_extra=""):
    with open(os.path.join(HERE, "policy.yaml.in"), encoding="utf-8") as f:
        t = f.read()
    d = dict(version=version, rules=RULES, internal_url=internal_url,
             external_url=external_url, internal_extra=internal_extra,
             external_extra=external_extra, extra_callers=extra_callers,
             policy_extra=policy_extra,
             agent_sha=sha256(KEYS["agent"]), indexer_sha=sha256(KEYS["indexer"]),
             dev_sha=sha256(KEYS["dev"]))
    text = re.sub(r"@([a-z_]+)@", lambda m: d[m.group(1)], t)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)  # a reload never reads half a file


def yaml_str(s):
    return json.dumps(s)  # JSON strings are YAML double-quoted strings


class Gateway:
    """`vigie serve -c config.yaml` with the test policy, in a scratch folder.

    timeouts/limits: dicts written under `timeouts:` / `limits:` of the config.
    tls_listen: dict for a TLS listener (certificates, client_ca,
    client_certificate), or None. policy_args: keyword arguments of
    render_policy besides the URLs.
    """

    def __init__(self, name, internal_url, external_url, timeouts=None, limits=None,
                 tls_listen=None, policy_args=None, workers=2, log_level="info",
                 env=None, upstream_ca_file=None, start=True, args=(), audit=None):
        self.name = name
        self.dir = scratch("gw-" + name)
        self.internal_url, self.external_url = internal_url, external_url
        self.policy = os.path.join(self.dir, "policy.yaml")
        self.policy_args = dict(policy_args or {})
        render_policy(self.policy, internal_url, external_url, **self.policy_args)
        self.config = os.path.join(self.dir, "config.yaml")
        # Every gateway keeps an audit log (vigie serve requires one): audit.log
        # and its key in the scratch folder; `audit` adds or overrides keys.
        self.audit_log = os.path.join(self.dir, "audit.log")
        self.audit_key = os.path.join(self.dir, "audit.key")
        if not os.path.exists(self.audit_key):
            fd = os.open(self.audit_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, os.urandom(32))
            os.close(fd)
        self.conf = dict(tls_listen=tls_listen, workers=workers,
                         upstream_ca_file=upstream_ca_file, timeouts=timeouts,
                         limits=limits, log_level=log_level, audit=audit)
        self.write_config()
        self.stderr_path = os.path.join(self.dir, "vigie.stderr")
        self.env = dict(os.environ)
        self.env["VIGIE_TEST_EXT_KEY"] = EXT_KEY
        self.env.update(env or {})
        self.args = list(args)  # more command-line arguments after -c config.yaml
        self.proc = None
        if start:
            self.start()

    def write_config(self):
        """config.yaml with fresh free ports (again after a port was taken)."""
        c = self.conf
        tls_listen = c["tls_listen"]
        self.port = free_port()
        self.admin = free_port()
        self.tls_port = free_port() if tls_listen else None
        lines = ["listen:", "  - address: 127.0.0.1:%d" % self.port]
        if tls_listen:
            lines.append("  - address: 127.0.0.1:%d" % self.tls_port)
            lines.append("    tls:")
            lines.append("      certificates:")
            for crt, key in tls_listen["certificates"]:
                lines.append("        - { cert: %s, key: %s }" % (yaml_str(crt), yaml_str(key)))
            if tls_listen.get("client_ca"):
                lines.append("      client_ca: %s" % yaml_str(tls_listen["client_ca"]))
            if tls_listen.get("client_certificate"):
                lines.append("      client_certificate: %s" % tls_listen["client_certificate"])
        lines.append("admin: 127.0.0.1:%d" % self.admin)
        lines.append("policy: policy.yaml")
        lines.append("workers: %d" % c["workers"])
        if c["upstream_ca_file"]:
            lines.append("upstream_ca_file: %s" % yaml_str(c["upstream_ca_file"]))
        t = {"head": "10s", "body": "10s", "keepalive": "30s", "upstream_connect": "5s",
             "upstream_first_byte": "30s", "upstream_idle": "30s", "drain": "10s"}
        t.update(c["timeouts"] or {})
        lines.append("timeouts:")
        lines += ["  %s: %s" % kv for kv in t.items()]
        if c["limits"]:
            lines.append("limits:")
            lines += ["  %s: %s" % kv for kv in c["limits"].items()]
        lines += ["log:", "  level: %s" % c["log_level"]]
        a = {"file": "audit.log", "key_file": "audit.key"}
        a.update(c["audit"] or {})
        lines.append("audit:")
        lines += ["  %s: %s" % kv for kv in a.items()]
        with open(self.config, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        for attempt in (1, 2, 3):
            # a restart appends to the same log: wait for a new "ready" line
            self.ready_before = (len(self.log_events("ready"))
                                 if os.path.exists(self.stderr_path) else 0)
            self.stderr_f = open(self.stderr_path, "ab")
            self.proc = subprocess.Popen([vigie_path(), "serve", "-c", self.config] + self.args,
                                         stdin=subprocess.DEVNULL, stdout=self.stderr_f,
                                         stderr=self.stderr_f, env=self.env, cwd=self.dir)
            try:
                self.wait_ready()
                return
            except RuntimeError:
                # SIGTERM before a single log line: not vigie's doing but another
                # script's stale-pid kill on this shared machine (pid_max 32768
                # wraps fast). Once, start again; anything else is a failure.
                # Or a free port taken meanwhile by another process: new ports.
                self.stderr_f.close()
                if attempt == 3:
                    raise
                if "already in use" in self.stderr():
                    self.write_config()
                    continue
                if self.proc.returncode != -15 or self.stderr().strip():
                    raise

    def wait_ready(self):
        end = time.time() + WAIT
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("vigie serve exited with %s before ready:\n%s" %
                                   (self.proc.returncode, self.stderr()[-3000:]))
            if len(self.log_events("ready")) > self.ready_before:
                return
            time.sleep(0.05)
        self.proc.kill()
        self.proc.wait()
        raise RuntimeError("vigie serve not ready after %ss:\n%s" % (WAIT, self.stderr()[-3000:]))

    def stderr(self):
        with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def log(self):
        """vigie's JSON log lines (lines that do not parse are skipped)."""
        out = []
        for line in self.stderr().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def log_events(self, event):
        return [e for e in self.log() if e.get("event") == event]

    def signal(self, sig):
        self.proc.send_signal(sig)

    def sighup(self):
        self.signal(signal.SIGHUP)

    def sigterm(self):
        self.term_sent = True
        self.signal(signal.SIGTERM)

    def wait_exit(self, timeout=None):
        try:
            return self.proc.wait(timeout or WAIT)
        except subprocess.TimeoutExpired:
            return None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, check=True):
        """SIGTERM, wait, and (check) raise if vigie did not exit 0 or a
        sanitizer reported anything in its log."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            if not getattr(self, "term_sent", False):  # never a second SIGTERM
                self.proc.terminate()
            if self.wait_exit() is None:
                self.proc.kill()
                self.proc.wait()
        if not self.stderr_f.closed:
            self.stderr_f.close()
        rc = self.proc.returncode
        if check:
            text = self.stderr()
            bad = [m for m in SANITIZER_MARKS if m in text]
            if rc != 0 or bad:
                raise AssertionError("vigie serve (%s) exited with %s%s:\n%s" % (
                    self.name, rc, " and a sanitizer report" if bad else "", text[-4000:]))
        return rc

    def client(self, **kw):
        return Client(self.port, **kw)

    def audit_files(self):
        """The audit log and its rotated files (not the checkpoint file)."""
        return sorted(f for f in glob.glob(self.audit_log + "*")
                      if not f.endswith(".checkpoints"))

    def audit_records(self, type_=None):
        """Every audit record, in seq order, parsed."""
        recs = []
        for path in self.audit_files():
            with open(path, encoding="utf-8") as f:
                recs += [json.loads(line) for line in f if line.strip()]
        recs.sort(key=lambda r: r["seq"])
        return [r for r in recs if type_ is None or r["type"] == type_]

    def audit_verify(self, *extra):
        """`vigie verify` over the audit files with the key: (exit code, stdout)."""
        p = subprocess.run([vigie_path(), "verify", "--key-file", self.audit_key] +
                           list(extra) + self.audit_files(), capture_output=True, text=True,
                           timeout=60)
        return p.returncode, p.stdout + p.stderr

    def admin_get(self, path):
        with Client(self.admin) as c:
            return c.request("GET", path)

    def metrics(self):
        return parse_metrics(self.admin_get("/metrics").body.decode())


def parse_metrics(text):
    """Prometheus text -> {(name, frozenset(labels.items())): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)', line)
        if not m:
            continue
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        try:
            out[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
        except ValueError:
            pass
    return out


def metric(metrics, name, **labels):
    """Sum of the samples of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in metrics.items() if n == name and want <= set(ls))


# --- a raw HTTP/1.1 client ---------------------------------------------------

class Response:
    def __init__(self):
        self.version = self.reason = ""
        self.status = 0
        self.headers = []
        self.body = b""
        self.chunks = []        # each chunk's data, for chunked answers
        self.complete = False   # the message ended as its framing says
        self.raw_head = b""

    def header(self, name):
        v = header_values(self.headers, name)
        return v[0] if v else None

    def header_all(self, name):
        return header_values(self.headers, name)

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def sse_data(self):
        """The `data:` payloads of an SSE body, in order."""
        out = []
        for block in self.body.decode("utf-8").replace("\r\n", "\n").split("\n\n"):
            data = [ln[5:].lstrip(" ") for ln in block.split("\n") if ln.startswith("data:")]
            if data:
                out.append("\n".join(data))
        return out

    def __repr__(self):
        return "<Response %s %r %r>" % (self.status, self.headers, self.body[:300])


class Closed(Exception):
    pass


class Client:
    """One connection; send raw bytes or requests, read responses exactly."""

    def __init__(self, port, host="127.0.0.1", tls=None, server_hostname="localhost",
                 timeout=None, rcvbuf=None):
        if rcvbuf is None:
            self.sock = socket.create_connection((host, port), timeout=timeout or WAIT)
        else:
            # a small receive window, set before connecting: a slow reader
            # whose kernel does not absorb the answer
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout or WAIT)
            self.sock.connect((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname=server_hostname)
        self.buf = b""
        self.eof = False
        self.port = port

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def _more(self):
        if self.eof:
            raise Closed()
        try:
            d = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
            d = b""
        if not d:
            self.eof = True
            raise Closed()
        self.buf += d

    def _line(self, limit=1 << 20):
        while b"\r\n" not in self.buf:
            if len(self.buf) > limit:
                raise ValueError("line too long")
            self._more()
        i = self.buf.index(b"\r\n")
        line, self.buf = self.buf[:i], self.buf[i + 2:]
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, method="POST", on_chunk=None):
        """The next response (a 1xx is returned by itself). Raises Closed if the
        connection closes before a status line; a body cut short gives
        complete=False."""
        r = Response()
        line = self._line()
        r.raw_head = line + b"\r\n"
        parts = line.decode("latin-1").split(" ", 2)
        r.version = parts[0]
        r.status = int(parts[1])
        r.reason = parts[2] if len(parts) > 2 else ""
        while True:
            ln = self._line()
            r.raw_head += ln + b"\r\n"
            if ln == b"":
                break
            n, _, v = ln.decode("latin-1").partition(":")
            r.headers.append((n, v.strip()))
        if 100 <= r.status < 200 or r.status in (204, 304) or method == "HEAD":
            r.complete = True
            return r
        te = r.header("transfer-encoding")
        try:
            if te and "chunked" in te.lower():
                while True:
                    size = int(self._line().split(b";")[0], 16)
                    if size == 0:
                        while self._line() != b"":
                            pass
                        break
                    data = self._exact(size)
                    if self._exact(2) != b"\r\n":
                        raise ValueError("bad chunk end")
                    r.chunks.append(data)
                    r.body += data
                    if on_chunk:
                        on_chunk(data)
                r.complete = True
            elif r.header("content-length") is not None:
                r.body = self._exact(int(r.header("content-length")))
                r.complete = True
            else:
                while True:
                    try:
                        self._more()
                    except Closed:
                        break
                r.body, self.buf = self.buf, b""
                r.complete = True
        except Closed:
            r.body += self.buf
            self.buf = b""
        return r

    def request(self, method, path, body=None, headers=None, host="gw.test", on_chunk=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode("utf-8")
        head = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, path, host)
        hs = list((headers or {}).items()) if isinstance(headers, dict) else list(headers or [])
        if body is not None:
            if not any(n.lower() == "content-type" for n, _ in hs):
                hs.append(("Content-Type", "application/json"))
            hs.append(("Content-Length", str(len(body))))
        for n, v in hs:
            head += "%s: %s\r\n" % (n, v)
        self.send(head.encode("utf-8") + b"\r\n" + (body or b""))
        return self.read_response(method, on_chunk=on_chunk)

    def closed_by_peer(self, timeout=None):
        """Waits until the peer closes (True) or `timeout` passes (False).
        Bytes received meanwhile are kept in self.buf (and mean "not closed")."""
        if self.eof:
            return not self.buf
        self.sock.settimeout(timeout or WAIT)
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
            d = b""
        finally:
            self.sock.settimeout(WAIT)
        if d:
            self.buf += d
            return False
        self.eof = True
        return not self.buf


def auth(key=AGENT):
    return {"Authorization": "Bearer " + key}


def chat_body(text, model="cloud-model", stream=False, **extra):
    b = {"model": model, "messages": [{"role": "user", "content": text}]}
    if stream:
        b["stream"] = True
    b.update(extra)
    return b


def chat(port, text, key=AGENT, model="cloud-model", stream=False, headers=None, **extra):
    """One chat request on a fresh connection; returns the Response."""
    h = auth(key) if key else {}
    h.update(headers or {})
    with Client(port) as c:
        return c.request("POST", "/v1/chat/completions", chat_body(text, model, stream, **extra),
                         h)


def content_of(resp):
    """The assistant text of a chat answer, streamed or not."""
    if resp.header("content-type", ) and "event-stream" in resp.header("content-type"):
        out = ""
        for d in resp.sse_data():
            if d == "[DONE]":
                continue
            for ch in json.loads(d).get("choices", []):
                out += (ch.get("delta") or {}).get("content") or ""
        return out
    return resp.json()["choices"][0]["message"]["content"]


def raw_exchange(port, data, timeout=None, tls=None, check_close=True):
    """Sends data on a fresh connection; returns (first response or None, closed
    afterwards (None when not checked), the client) - the client still open for
    more checks."""
    c = Client(port, tls=tls)
    c.send(data)
    try:
        r = c.read_response()
    except Closed:
        return None, True, c
    return r, (c.closed_by_peer(timeout or 10) if check_close else None), c


class GatewayTest(unittest.TestCase):
    """Base class: an internal and an external mock, one gateway; subclasses
    set GATEWAY_ARGS / MOCK_ARGS."""
    GATEWAY_ARGS = {}
    INTERNAL_ARGS = {}
    EXTERNAL_ARGS = {}

    @classmethod
    def setUpClass(cls):
        vigie_path()
        cls.internal = Mock("internal", models=("local-model", "local-embed"),
                            **cls.INTERNAL_ARGS)
        cls.external = Mock("external", models=("cloud-model",), **cls.EXTERNAL_ARGS)
        try:
            cls.gw = Gateway(cls.__name__, cls.internal.url, cls.external.url,
                             **cls.gateway_args())
        except Exception:
            cls.internal.stop()
            cls.external.stop()
            raise

    @classmethod
    def gateway_args(cls):
        """Gateway keyword arguments; override when they need computing."""
        return cls.GATEWAY_ARGS

    @classmethod
    def tearDownClass(cls):
        try:
            cls.gw.stop()
        finally:
            cls.internal.stop()
            cls.external.stop()

    def assertOpenAIError(self, resp, status, code=None, type_=None):
        self.assertEqual(resp.status, status, resp)
        body = resp.json()
        self.assertIn("error", body, body)
        err = body["error"]
        self.assertIsInstance(err.get("message"), str, body)
        self.assertTrue(err["message"], body)
        self.assertIn("type", err, body)
        self.assertIn("code", err, body)
        if code is not None:
            self.assertEqual(err["code"], code, body)
        if type_ is not None:
            self.assertEqual(err["type"], type_, body)
        self.assertIsNotNone(resp.header("x-request-id"), resp)
        return err


def in_thread(fn, *a, **kw):
    """Runs fn in a thread; returns (thread, result dict with 'value'/'error')."""
    res = {}

    def run():
        try:
            res["value"] = fn(*a, **kw)
        except BaseException as e:  # reported by the test
            res["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, res
