"""TLS on both sides, with the test PKI of pki.sh.

Client side: TLS 1.2 and 1.3 accepted, TLS 1.1 refused, the RSA and the ECDSA
certificate both served, a client certificate identifies its caller (mTLS), an
unknown one is refused. Upstream side: a mock model over HTTPS with a good
certificate works; expired, wrong name, unknown CA and self-signed certificates
each give 502 upstream_tls and not one request byte at the model."""

import os
import socket
import ssl
import threading
import unittest

import data
from harness import (Client, Closed, Gateway, GatewayTest, Mock, WAIT, auth, body_text, chat,
                     chat_body, content_of, metric, pki_dir, settle)


def client_ctx(pki, version=None, cert=None, ciphers=None):
    ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.crt"))
    if version is not None:
        ctx.minimum_version = version
        ctx.maximum_version = version
    if cert:
        ctx.load_cert_chain(os.path.join(pki, cert + ".crt"), os.path.join(pki, cert + ".key"))
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def tls11_ctx(pki):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(pki, "ca.crt"))
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ssl.TLSVersion.TLSv1_1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    return ctx


class ClientTLSTest(GatewayTest):

    @classmethod
    def gateway_args(cls):
        cls.pki = pki = pki_dir()
        return {"tls_listen": {
            "certificates": [(os.path.join(pki, "rsa.crt"), os.path.join(pki, "rsa.key")),
                             (os.path.join(pki, "ecdsa.crt"), os.path.join(pki, "ecdsa.key"))],
            "client_ca": os.path.join(pki, "client-ca.crt"),
            "client_certificate": "optional"}}

    def connect(self, ctx):
        return Client(self.gw.tls_port, tls=ctx, server_hostname="localhost")

    def test_tls12_and_tls13_accepted(self):
        for v, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
            with self.subTest(version=name):
                with self.connect(client_ctx(self.pki, v)) as c:
                    self.assertEqual(c.sock.version(), name)
                    r = c.request("POST", "/v1/chat/completions",
                                  chat_body("Bonjour " + data.EMAIL, model="local-model"), auth())
                    self.assertEqual(r.status, 200, r)
                    self.assertEqual(content_of(r), "Bonjour " + data.EMAIL)

    def test_rsa_and_ecdsa_certificates_served(self):
        for suite in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"):
            with self.subTest(suite=suite):
                ctx = client_ctx(self.pki, ssl.TLSVersion.TLSv1_2, ciphers=suite)
                with self.connect(ctx) as c:
                    self.assertEqual(c.sock.cipher()[0], suite)
                    r = c.request("GET", "/v1/models", None, auth())
                    self.assertEqual(r.status, 200, r)

    def test_tls11_refused(self):
        ctx = tls11_ctx(self.pki)
        # Positive control: this client can speak TLS 1.1 to a server that allows it,
        # so a failure against vigie is vigie's refusal, not the client's.
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(os.path.join(self.pki, "rsa.crt"), os.path.join(self.pki, "rsa.key"))
        sctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        sctx.minimum_version = ssl.TLSVersion.TLSv1_1

        def serve():
            s, _ = ls.accept()
            try:
                sctx.wrap_socket(s, server_side=True).close()
            except (ssl.SSLError, OSError):
                s.close()
        t = threading.Thread(target=serve, daemon=True)
        t.start()
        try:
            with socket.create_connection(ls.getsockname(), timeout=WAIT) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                    control = s.version()
        except ssl.SSLError as e:
            control = None
            why = str(e)
        finally:
            t.join(WAIT)
            ls.close()
        if control != "TLSv1.1":
            self.skipTest("this OpenSSL cannot speak TLS 1.1 at all (%s)" % why)
        with self.assertRaises((ssl.SSLError, ConnectionResetError)):
            with self.connect(ctx) as c:
                c.request("GET", "/v1/models", None, auth())

    def test_client_certificate_identifies_caller(self):
        m = self.internal.mark()
        with self.connect(client_ctx(self.pki, cert="client")) as c:
            r = c.request("GET", "/v1/models")  # no key: the certificate says who
            self.assertEqual(r.status, 200, r)
            self.assertEqual({x["id"] for x in r.json()["data"]}, {"local-model"})
            text = "Le dossier de M. %s." % data.NAME
            r = c.request("POST", "/v1/chat/completions", chat_body(text, model="local-model"))
            self.assertEqual(r.status, 200, r)
            rid = r.header("x-request-id")
        reqs = self.internal.requests(m)
        self.assertEqual(len(reqs), 1)
        self.assertIn(data.NAME, body_text(reqs[0]))  # group legal allows names
        settle()
        lines = [e for e in self.gw.log_events("request") if e.get("id") == rid]
        self.assertEqual([e.get("caller") for e in lines], ["juriste-paris"])

    def test_unknown_client_certificate_refused(self):
        m = (self.internal.mark(), self.external.mark())
        try:
            with self.connect(client_ctx(self.pki, cert="client-unknown")) as c:
                r = c.request("POST", "/v1/chat/completions",
                              chat_body("Bonjour", model="local-model"))
            self.assertEqual(r.status, 401, r)
            self.assertEqual(r.json()["error"]["code"], "unknown_caller")
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError, Closed):
            pass  # refused in the handshake: fine too
        settle()
        self.assertEqual(self.internal.requests(m[0]), [])
        self.assertEqual(self.external.requests(m[1]), [])

    def test_no_certificate_no_key_401(self):
        with self.connect(client_ctx(self.pki)) as c:
            r = c.request("POST", "/v1/chat/completions", chat_body("Bonjour", model="local-model"))
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.json()["error"]["code"], "unknown_caller")

    def test_required_client_certificate(self):
        gw = Gateway("tls-required", self.internal.url, self.external.url, tls_listen={
            "certificates": [(os.path.join(self.pki, "ecdsa.crt"),
                              os.path.join(self.pki, "ecdsa.key"))],
            "client_ca": os.path.join(self.pki, "client-ca.crt"),
            "client_certificate": "required"})
        self.addCleanup(gw.stop)
        with Client(gw.tls_port, tls=client_ctx(self.pki, cert="client"),
                    server_hostname="localhost") as c:
            r = c.request("GET", "/v1/models")
            self.assertEqual(r.status, 200, r)
        for ctx in (client_ctx(self.pki), client_ctx(self.pki, cert="client-unknown")):
            # TLS 1.3: the client finishes its handshake first, then reads the
            # server's alert and the close (Closed) instead of an answer.
            with self.assertRaises((ssl.SSLError, ConnectionResetError, BrokenPipeError, Closed)):
                with Client(gw.tls_port, tls=ctx, server_hostname="localhost") as c:
                    c.request("GET", "/v1/models", None, auth())

    def test_plain_listener_still_plain(self):
        with Client(self.gw.port) as c:
            r = c.request("GET", "/v1/models", None, auth())
        self.assertEqual(r.status, 200, r)


class UpstreamTLSTest(unittest.TestCase):
    """One gateway per upstream certificate; the internal upstream is the HTTPS mock."""

    @classmethod
    def setUpClass(cls):
        cls.pki = pki_dir()
        cls.external = Mock("external", models=("cloud-model",))

    @classmethod
    def tearDownClass(cls):
        cls.external.stop()

    def with_upstream_cert(self, name):
        mock = Mock("tls-" + name, cert=os.path.join(self.pki, name + ".crt"),
                    key=os.path.join(self.pki, name + ".key"), models=("local-model",))
        self.addCleanup(mock.stop)
        gw = Gateway("up-" + name, mock.url, self.external.url, policy_args={
            "internal_extra": "    ca_file: %s" % os.path.join(self.pki, "ca.crt")})
        self.addCleanup(gw.stop)
        with Client(gw.port) as c:
            r = c.request("POST", "/v1/chat/completions",
                          chat_body("Bonjour " + data.EMAIL, model="local-model"), auth())
        return mock, gw, r

    def test_good_certificate(self):
        mock, gw, r = self.with_upstream_cert("upstream-good")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(content_of(r), "Bonjour " + data.EMAIL)
        reqs = mock.requests()
        self.assertEqual(len(reqs), 1)
        self.assertNotIn(data.EMAIL, body_text(reqs[0]))
        self.assertTrue(any(e["ok"] for e in mock.events("tls")))

    def test_global_upstream_ca_file(self):
        # No ca_file on the upstream: the configuration's upstream_ca_file is used.
        mock = Mock("tls-global", cert=os.path.join(self.pki, "upstream-good.crt"),
                    key=os.path.join(self.pki, "upstream-good.key"))
        self.addCleanup(mock.stop)
        gw = Gateway("up-global", mock.url, self.external.url,
                     upstream_ca_file=os.path.join(self.pki, "ca.crt"))
        self.addCleanup(gw.stop)
        r = chat(gw.port, "Bonjour", model="local-model")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(mock.requests()), 1)

    def test_bad_certificates_502(self):
        for name in ("upstream-expired", "upstream-wrongname", "upstream-unknownca",
                     "upstream-selfsigned"):
            with self.subTest(cert=name):
                mock, gw, r = self.with_upstream_cert(name)
                self.assertEqual(r.status, 502, r)
                err = r.json()["error"]
                self.assertEqual(err["code"], "upstream_tls")
                self.assertEqual(err["type"], "upstream_error")
                recs = mock.wait_for(lambda rs: any(x["event"] == "tls" for x in rs))
                tls = [x for x in recs if x["event"] == "tls"]
                self.assertTrue(tls, "the gateway never tried the upstream")
                self.assertFalse(any(x["ok"] for x in tls), tls)
                settle()
                self.assertEqual(mock.requests(), [])
                self.assertEqual(mock.closed_bytes_in(), 0)
                self.assertGreaterEqual(metric(gw.metrics(), "vigie_upstream_errors_total",
                                               upstream="internal", kind="tls"), 1)


if __name__ == "__main__":
    unittest.main()
