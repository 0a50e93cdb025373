#!/usr/bin/env python3
"""HTTPS: the real fileserver with --tls-port on loopback, on free ports.

usage: tls.py FILESERVER kernel|user

Covers: TLS 1.2 and 1.3 accepted, 1.0 and 1.1 refused; ALPN (http/1.1
chosen, h2 alone refused); the chain sent after the leaf; session
resumption for both versions; responses over TLS byte for byte those over
plain HTTP (GET, HEAD, Range, 304, 404, keep-alive, pipelining, sizes
around a TLS record and 1 MiB); the handshake bounded by --header-timeout;
plain HTTP on the TLS port answered 400; SIGHUP loading a new certificate,
and keeping the old one when the new files are bad; the /metrics TLS
counters of each; the access log; and in user mode, start-up errors, the
config file and environment forms and the listen addresses. In kernel mode,
TLS is answered by userspace while plain HTTP on the same server still gets
kernel hits. Where the kernel has kTLS (the tls module, which tools/vmtest
loads on Debian's kernels), the kernel encrypts the sends, files included;
elsewhere that test says SKIP.

Certificates are made by the openssl CLI in a temporary directory: a root
CA the clients trust, an intermediate that signs the leaves (so a server
that does not send the chain fails verification).

"kernel" runs the server with the eBPF path on (root and BPF needed: exits
77, SKIP, with the reason otherwise); "user" runs the same binary with -n.
"""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import warnings

from harness import (HOST, URL_HOST, DocrootTest, Server, free_port,
                     run_mode_suite)
from integration import TIMEOUT, Client, content, parse_metrics, request

SERVER = None

# the TLS counters of /metrics, by the names the tests use
# the kernel's TLS counters, where it has kTLS
TLS_STAT = "/proc/net/tls_stat"


def tls_stat():
    with open(TLS_STAT) as f:
        return {k: int(v) for k, v in (line.split() for line in f)}


COUNTERS = {
    "handshakes": "fileserver_tls_handshakes_total",
    "handshake": 'fileserver_tls_failures_total{reason="handshake"}',
    "plain_http": 'fileserver_tls_failures_total{reason="plain_http"}',
    "timeout": 'fileserver_tls_failures_total{reason="timeout"}',
}

CA_CONFIG = """\
[ca]
default_ca = test
[test]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
[ca_ext]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
[leaf_ext]
basicConstraints = CA:false
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
"""


class Certs:
    """Made with the openssl CLI (EC P-256) in directory d: root.crt, the
    CA clients trust; inter, the intermediate CA it signs, which signs the
    leaves; for each leaf (leaf and second: valid for localhost, 127.0.0.1
    and ::1, second with another serial and subject; expired: January 2020)
    NAME.pem, the leaf then the intermediate, and NAME.key; other.key, a key
    of no certificate; garbage.txt, no PEM at all. der[NAME]: the leaf's
    DER, as a client sees it."""

    def __init__(self, d):
        os.makedirs(d)
        self.dir = d
        with open(self.path("ca.cnf"), "w") as f:
            f.write(CA_CONFIG)
        open(self.path("index.txt"), "w").close()
        with open(self.path("serial"), "w") as f:
            f.write("1000\n")
        self.sign("root", "test root CA", None, "ca_ext")
        self.sign("inter", "test intermediate CA", "root", "ca_ext")
        self.der = {}
        for name, cn, dates in (
                ("leaf", "localhost", ()),
                ("second", "second leaf", ()),
                ("expired", "localhost", ("-startdate", "20200101000000Z",
                                          "-enddate", "20200201000000Z"))):
            self.sign(name, cn, "inter", "leaf_ext", dates)
            with open(self.path(name + ".crt")) as f:
                leaf = f.read()
            self.der[name] = ssl.PEM_cert_to_DER_cert(leaf)
            with open(self.path("inter.crt")) as f:
                chain = f.read()
            with open(self.path(name + ".pem"), "w") as f:
                f.write(leaf + chain)
        self.key("other")
        with open(self.path("garbage.txt"), "w") as f:
            f.write("not a certificate, not a key\n")

    def path(self, name):
        return os.path.join(self.dir, name)

    def openssl(self, *args):
        subprocess.run(["openssl"] + list(args), cwd=self.dir, check=True,
                       capture_output=True)

    def key(self, name):
        self.openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                     "ec_paramgen_curve:P-256", "-out", name + ".key")

    def sign(self, name, cn, issuer, ext, dates=()):
        """NAME.key and NAME.crt for CN cn, signed by issuer (None: by
        itself); dates: openssl ca's, 30 days from now if none."""
        self.key(name)
        self.openssl("req", "-new", "-key", name + ".key", "-subj",
                     "/CN=" + cn, "-out", name + ".csr")
        by = ["-cert", issuer + ".crt", "-keyfile", issuer + ".key"] \
            if issuer else ["-selfsign", "-keyfile", name + ".key"]
        self.openssl("ca", "-batch", "-config", "ca.cnf", "-notext",
                     "-in", name + ".csr", "-out", name + ".crt",
                     "-extensions", ext, *by, *(dates or ("-days", "30")))


class TLSClient(Client):
    """integration.py's Client, through TLS: the handshake is done (or has
    failed, ssl.SSLError) once constructed."""

    def __init__(self, port, ctx, host=HOST):
        raw = socket.create_connection((host, port), TIMEOUT)
        try:
            self.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        except BaseException:
            raw.close()
            raise
        self.sock.settimeout(TIMEOUT)
        self.buf = bytearray()

    def peer_der(self):
        return self.sock.getpeercert(binary_form=True)


def client_hello(ctx):
    """The bytes of the ClientHello ctx sends."""
    theirs, ours = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(theirs, ours, server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:        # waiting for the ServerHello
        return ours.read()
    raise AssertionError("a handshake without a server")


def no_date(r):
    return re.sub(rb"\r\nDate: [^\r]*", b"", r.raw_head)


def start(root, kernel, cert, key, extra=()):
    """A server with --tls-port on a free port (its tls_port) besides the
    plain one."""
    tls_port = free_port()
    port = free_port()
    while port == tls_port:
        port = free_port()
    s = Server(SERVER, root, kernel,
               ("--tls-port", str(tls_port), "--tls-cert", cert,
                "--tls-key", key) + tuple(extra), port=port)
    s.tls_port = tls_port
    return s


class Base(DocrootTest):
    kernel = False
    prefix = "fileserver-tls-"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the server, as nobody, reads the document root below it
        os.chmod(cls.tmp, 0o755)
        cls.certs = Certs(os.path.join(cls.tmp, "certs"))
        os.makedirs(os.path.join(cls.root, "dir"))
        cls.put("/a.txt", b"alpha\n" * 50)
        cls.put("/b.txt", b"bravo\n" * 70)
        cls.put("/style.css", b"body{}\n")
        cls.put("/dir/index.html", b"<p>dir index</p>\n")
        cls.put("/mid.bin", content(100000, 99))
        for i, size in enumerate((0, 16383, 16384, 16385, 1 << 20,
                                  (1 << 20) + 1)):
            cls.put("/f%d.bin" % size, content(size, i))
        cls.server = start(cls.root, cls.kernel, cls.certs.path("leaf.pem"),
                           cls.certs.path("leaf.key"))
        if cls.kernel and not cls.server.kernel_on():
            cls.server.stop()
            raise unittest.SkipTest("kernel path unavailable")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        super().tearDownClass()

    def own_server(self, *extra, cert=None, key=None):
        s = start(self.root, self.kernel, cert or self.certs.path("leaf.pem"),
                  key or self.certs.path("leaf.key"), extra)
        self.addCleanup(s.stop)
        return s

    def context(self, version=None, alpn=None):
        """A client context trusting the test root CA; version: the only
        one it offers (1.0 and 1.1 allowed at security level 0, so that a
        refusal is the server's); alpn: the protocols it offers."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(self.certs.path("root.crt"))
        if version:
            with warnings.catch_warnings():     # TLSv1 and TLSv1_1
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ctx.maximum_version = version
            if version < ssl.TLSVersion.TLSv1_2:
                ctx.set_ciphers("DEFAULT@SECLEVEL=0")
        if alpn:
            ctx.set_alpn_protocols(alpn)
        return ctx

    def tls_client(self, server=None, ctx=None, host=HOST):
        c = TLSClient((server or self.server).tls_port, ctx or self.context(),
                      host)
        self.addCleanup(c.close)
        return c

    def client(self, server=None):
        c = Client((server or self.server).port)
        self.addCleanup(c.close)
        return c

    def refused(self, ctx, server=None):
        """The handshake with ctx fails: what the client saw."""
        with self.assertRaises(ssl.SSLError) as cm:
            TLSClient((server or self.server).tls_port, ctx).close()
        return str(cm.exception)

    def s_client(self, port, *args, send=b""):
        """openssl s_client's output for a connection that sends send and
        reads until the server closes."""
        r = subprocess.run(["openssl", "s_client", "-connect",
                            "%s:%d" % (URL_HOST, port), "-servername",
                            "localhost", "-CAfile",
                            self.certs.path("root.crt"),
                            "-verify_return_error", "-ign_eof"] + list(args),
                           input=send, capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.decode("latin-1")

    def wait_for(self, what, timeout=3):
        deadline = time.monotonic() + timeout
        while not what():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def closed_after(self, sock, limit):
        """Seconds until the server closes sock (EOF or reset), reading
        what it sends; fails if it has not after limit seconds."""
        sock.settimeout(limit)
        start = time.monotonic()
        try:
            while sock.recv(4096):
                pass
        except ConnectionResetError:
            pass
        except socket.timeout:
            self.fail("not closed by the server within %s s" % limit)
        return time.monotonic() - start

    def counters(self, server=None):
        c = Client((server or self.server).port)
        try:
            r = c.get("/metrics")
        finally:
            c.close()
        self.assertEqual(r.status, 200)
        m = parse_metrics(r.body.decode())
        return {k: m[name] for k, name in COUNTERS.items()}

    def assert_counted(self, before, server=None, **moved):
        """The TLS counters are before's moved by moved (counted once the
        server has seen the end of a connection: looked at until they are,
        for 2 s)."""
        want = {k: v + moved.get(k, 0) for k, v in before.items()}
        self.wait_for(lambda: self.counters(server) == want, timeout=2)
        self.assertEqual(self.counters(server), want)


class Common:
    """Behaviour that must not depend on whether the kernel path is on."""

    def test_tls12_and_tls13_accepted(self):
        before = self.counters()
        for version, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"),
                              (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
            c = self.tls_client(ctx=self.context(version))
            self.assertEqual(c.sock.version(), name)
            # the chain was sent: the intermediate verified, the leaf ours
            self.assertEqual(c.peer_der(), self.certs.der["leaf"])
            self.assertEqual(c.get("/a.txt").body, self.files["/a.txt"])
            c.close()
        self.assert_counted(before, handshakes=2)

    def test_tls10_and_tls11_refused(self):
        before = self.counters()
        for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            # the alert came from the server: the client offered the version
            self.assertRegex(self.refused(self.context(version)),
                             "alert (protocol version|handshake failure)",
                             version)
        self.assert_counted(before, handshake=2)

    def test_alpn(self):
        """http/1.1 chosen when offered, no ALPN is fine too, h2 alone
        refused with no_application_protocol as nginx does."""
        before = self.counters()
        for offered, chosen in ((["h2", "http/1.1"], "http/1.1"),
                                (["http/1.1"], "http/1.1"),
                                (None, None)):
            c = self.tls_client(ctx=self.context(alpn=offered))
            self.assertEqual(c.sock.selected_alpn_protocol(), chosen,
                             offered)
            self.assertEqual(c.get("/a.txt").body, self.files["/a.txt"])
            c.close()
        self.assertIn("alert no application protocol",
                      self.refused(self.context(alpn=["h2"])))
        self.assert_counted(before, handshakes=3, handshake=1)

    def test_session_resumption(self):
        """openssl s_client -sess_out then -sess_in: Reused, in TLS 1.2
        and 1.3, on every try (whichever worker takes the connection)."""
        before = self.counters()
        req = request("/a.txt", headers=["Connection: close"])
        for version in ("1.2", "1.3"):
            flag = "-tls" + version.replace(".", "_")
            session = os.path.join(self.tmp, "session" + version)
            out = self.s_client(self.server.tls_port, flag,
                                "-sess_out", session, send=req)
            self.assertIn("New, TLSv" + version, out)
            self.assertNotIn("Reused", out)
            self.assertIn(self.files["/a.txt"].decode(), out)
            for i in range(3):
                out = self.s_client(self.server.tls_port, flag, "-sess_in",
                                    session, "-sess_out", session, send=req)
                self.assertIn("Reused, TLSv" + version, out, i)
                self.assertNotIn("New, ", out, i)
                self.assertIn(self.files["/a.txt"].decode(), out)
        self.assert_counted(before, handshakes=8)

    def test_same_responses_as_plain(self):
        """The same request over either port: the same status, head (Date
        aside) and body."""
        plain, tls = self.client(), self.tls_client()
        first = plain.get("/mid.bin")
        etag, lm = first.headers["etag"], first.headers["last-modified"]
        for path, method, headers, status in (
                ("/a.txt", "GET", [], 200),
                ("/a.txt", "HEAD", [], 200),
                ("/mid.bin", "GET", ["Range: bytes=16000-50000"], 206),
                ("/mid.bin", "GET", ["If-None-Match: " + etag], 304),
                ("/mid.bin", "GET", ["If-Modified-Since: " + lm], 304),
                ("/missing.txt", "GET", [], 404),
                ("/dir", "GET", [], 301),
                ("/dir/", "GET", [], 200)):
            p = plain.get(path, method, headers)
            t = tls.get(path, method, headers)
            what = (method, path, headers)
            self.assertEqual(t.status, status, what)
            self.assertEqual(no_date(t), no_date(p), what)
            self.assertEqual(t.body, p.body, what)
        self.assertEqual(t.body, self.files["/dir/index.html"])

    def test_sizes_byte_exact(self):
        """Bodies around the 16 KiB record size and of 1 MiB."""
        c = self.tls_client()
        for size in (0, 16383, 16384, 16385, 1 << 20, (1 << 20) + 1):
            path = "/f%d.bin" % size
            r = c.get(path)
            self.assertEqual(r.status, 200, path)
            self.assertEqual(int(r.headers["content-length"]), size)
            self.assertEqual(r.body, self.files[path], path)

    def test_ktls_where_the_kernel_has_it(self):
        """With the kernel's TLS (CONFIG_TLS, the tls module loaded, as
        tools/vmtest does on Debian's kernels), the kernel encrypts the
        server's sends: files go out by sendfile(), byte for byte, the
        kernel counts them, and so does fileserver_tls_ktls_total."""
        if not os.path.exists(TLS_STAT):
            self.skipTest("SKIP: no kTLS in this kernel (CONFIG_TLS, or "
                          "the tls module not loaded)")
        before, kernel_before = self.ktls_connections(), tls_stat()
        c = self.tls_client()
        try:
            for path in ("/f%d.bin" % ((1 << 20) + 1), "/mid.bin", "/a.txt"):
                self.assertEqual(c.get(path).body, self.files[path], path)
        finally:
            c.close()
        self.assertEqual(self.ktls_connections(), before + 1)
        self.assertGreater(tls_stat().get("TlsTxSw", 0) +
                           tls_stat().get("TlsTxDevice", 0),
                           kernel_before.get("TlsTxSw", 0) +
                           kernel_before.get("TlsTxDevice", 0))

    def ktls_connections(self):
        c = Client(self.server.port)
        try:
            m = parse_metrics(c.get("/metrics").body.decode())
        finally:
            c.close()
        return m["fileserver_tls_ktls_total"]

    def test_keep_alive(self):
        c = self.tls_client()
        for i in range(50):
            path = ("/a.txt", "/b.txt", "/mid.bin")[i % 3]
            r = c.get(path)
            self.assertEqual(r.headers["connection"], "keep-alive", i)
            self.assertEqual(r.body, self.files[path], i)

    def test_pipelined(self):
        c = self.tls_client()
        for i in range(20):
            c.send(request("/a.txt") + request("/f16385.bin") +
                   request("/b.txt", "HEAD") + request("/b.txt"))
            self.assertEqual(c.read().body, self.files["/a.txt"], i)
            self.assertEqual(c.read().body, self.files["/f16385.bin"], i)
            head = c.read(head=True)
            self.assertEqual(head.headers["content-length"],
                             str(len(self.files["/b.txt"])), i)
            self.assertEqual(c.read().body, self.files["/b.txt"], i)

    def test_both_families(self):
        for host in ("127.0.0.1", "::1"):
            c = self.tls_client(host=host)
            self.assertEqual(c.get("/a.txt").body, self.files["/a.txt"],
                             host)

    def test_plain_http_to_tls_port(self):
        """Answered with a plain 400 and closed, as a failure of its
        own."""
        before = self.counters()
        c = Client(self.server.tls_port)      # plain TCP
        self.addCleanup(c.close)
        r = c.get("/a.txt")
        self.assertEqual((r.status, r.reason), (400, "Bad Request"))
        self.assertNotIn(b"alpha", r.body)
        self.closed_after(c.sock, 3)
        self.assert_counted(before, plain_http=1)
        # and the port still speaks TLS
        self.assertEqual(self.tls_client().get("/a.txt").status, 200)

    def test_handshake_timeout(self):
        """With --header-timeout 1, a client that sends nothing and one
        that sends half a ClientHello are closed after about a second."""
        s = self.own_server("--header-timeout", "1")
        before = self.counters(s)
        silent = socket.create_connection((HOST, s.tls_port), TIMEOUT)
        self.addCleanup(silent.close)
        silent_start = time.monotonic()
        half = socket.create_connection((HOST, s.tls_port), TIMEOUT)
        self.addCleanup(half.close)
        hello = client_hello(self.context())
        half.sendall(hello[:len(hello) // 2])
        half_start = time.monotonic()
        for sock, started in ((silent, silent_start), (half, half_start)):
            self.closed_after(sock, 5)
            took = time.monotonic() - started
            self.assertGreater(took, 0.8)       # by the timeout, not at once
            self.assertLess(took, 3)
        self.assert_counted(before, s, timeout=2)
        self.assertEqual(self.tls_client(s).get("/a.txt").status, 200)

    def install(self, d, cert, key):
        """Certificate and key files cert and key of the test set, copied
        to d's cert.pem and key.pem, readable by root alone, as keys
        usually are: the server, by then the user nobody, reads them
        again with CAP_DAC_READ_SEARCH, which it keeps for this."""
        for name, dest in ((cert, "cert.pem"), (key, "key.pem")):
            shutil.copyfile(self.certs.path(name), os.path.join(d, dest))
            os.chmod(os.path.join(d, dest), 0o600)

    def served_der(self, s):
        c = TLSClient(s.tls_port, self.context())
        try:
            self.assertEqual(c.get("/a.txt").status, 200)
            return c.peer_der()
        finally:
            c.close()

    def test_sighup_reloads_certificate(self):
        """New connections get the new certificate, one opened before keeps
        working; bad new files leave the last good certificate in use."""
        d = tempfile.mkdtemp(dir=self.tmp)     # 0700, root's
        self.install(d, "leaf.pem", "leaf.key")
        s = self.own_server(cert=os.path.join(d, "cert.pem"),
                            key=os.path.join(d, "key.pem"))
        old = self.tls_client(s)
        self.assertEqual(old.get("/a.txt").status, 200)
        self.assertEqual(old.peer_der(), self.certs.der["leaf"])
        self.install(d, "second.pem", "second.key")
        s.proc.send_signal(signal.SIGHUP)
        self.assertTrue(self.wait_for(
            lambda: self.served_der(s) == self.certs.der["second"]), s.log)
        self.assertEqual(old.get("/b.txt").body, self.files["/b.txt"])
        reloads = lambda: sum("reloading" in l for l in s.log)
        for cert, key in (("garbage.txt", "second.key"),     # not PEM
                          ("leaf.pem", "second.key"),        # not a pair
                          ("expired.pem", "expired.key")):
            self.install(d, cert, key)
            n = reloads()
            s.proc.send_signal(signal.SIGHUP)
            self.assertTrue(self.wait_for(lambda: reloads() > n), s.log)
            for _ in range(5):
                self.assertEqual(self.served_der(s), self.certs.der["second"],
                                 (cert, key))
                time.sleep(0.05)
            self.assertTrue(s.alive(), s.log)

    def test_access_log(self):
        """A line for each request over TLS, the line a plain request
        gets, time aside."""
        log = os.path.join(self.tmp, "access.log")
        s = self.own_server("--access-log", log)
        headers = ['User-Agent: agent "tls"', "Referer: http://ref.example/"]
        sent = (("/b.txt", "GET", 200), ("/missing", "GET", 404),
                ("/style.css", "HEAD", 200))
        lines = lambda: open(log).read().splitlines() \
            if os.path.exists(log) else []
        for n, c in enumerate((self.tls_client(s), self.client(s))):
            for path, method, status in sent:
                self.assertEqual(c.get(path, method, headers).status, status)
            want = 3 * (n + 1)
            self.assertTrue(self.wait_for(lambda: len(lines()) >= want,
                                          timeout=1.5), lines())
        got = lines()
        self.assertEqual(len(got), 6, got)
        stamp = lambda l: re.sub(r"\[[^]]*\]", "[-]", l)
        self.assertEqual([stamp(l) for l in got[:3]],
                         [stamp(l) for l in got[3:]])
        self.assertRegex(got[0], r'^%s - - \[\d\d/[A-Z][a-z]{2}/\d{4}'
                         r'(:\d\d){3} [+-]\d{4}\] "GET /b\.txt HTTP/1\.1" '
                         r'200 %d "http://ref\.example/" '
                         r'"agent \\x22tls\\x22"$'
                         % (re.escape(HOST), len(self.files["/b.txt"])))


class KernelTests(Common, Base):
    kernel = True

    def test_tls_is_userspace_plain_is_kernel(self):
        """The same warm request over both ports of one server: the plain
        one a kernel hit, the TLS one not; the same bytes, Date aside."""
        plain, tls = self.client(), self.tls_client()
        for c in (plain, tls):      # a connection's first is userspace's
            self.assertEqual(c.get("/a.txt").body, self.files["/a.txt"])
        before = self.server.stats()
        p = plain.get("/a.txt")
        between = self.server.stats()
        t = tls.get("/a.txt")
        after = self.server.stats()
        self.assertEqual(between["kernel_hits"] - before["kernel_hits"], 1)
        self.assertEqual(after["kernel_hits"], between["kernel_hits"])
        self.assertEqual(after["kernel_bytes"], between["kernel_bytes"])
        self.assertEqual(t.body, p.body)
        self.assertEqual(no_date(t), no_date(p))


class UserspaceTests(Common, Base):
    kernel = False

    def test_start_up_errors(self):
        """Exit status 2 and a message naming the file."""
        path = self.certs.path
        missing = os.path.join(self.tmp, "missing.pem")
        pair = lambda cert, key: ("--tls-cert", cert, "--tls-key", key)
        needs = "--tls-port needs --tls-cert and --tls-key"
        for args, msg, named in (
                ((), needs, ()),
                (("--tls-cert", path("leaf.pem")), needs, ()),
                (("--tls-key", path("leaf.key")), needs, ()),
                (pair(missing, path("leaf.key")), "No such file or directory",
                 (missing,)),
                (pair(path("leaf.pem"), missing), "No such file or directory",
                 (missing,)),
                (pair(path("garbage.txt"), path("leaf.key")),
                 "not a PEM certificate", (path("garbage.txt"),)),
                (pair(path("other.key"), path("leaf.key")),
                 "not a PEM certificate", (path("other.key"),)),
                (pair(path("leaf.pem"), path("garbage.txt")),
                 "not a PEM private key", (path("garbage.txt"),)),
                (pair(path("leaf.pem"), path("second.pem")),
                 "not a PEM private key", (path("second.pem"),)),
                # either file may be named
                (pair(path("leaf.pem"), path("other.key")), "does not match",
                 (path("leaf.pem"), path("other.key"))),
                (pair(path("expired.pem"), path("expired.key")), "expired",
                 (path("expired.pem"),))):
            r = subprocess.run([SERVER, "-n", "-p", str(free_port()), "-d",
                                self.root, "--tls-port", str(free_port())] +
                               list(args), capture_output=True, text=True,
                               timeout=5)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(msg, r.stderr, args)
            if named:
                self.assertTrue(any(p in r.stderr for p in named),
                                (named, r.stderr))

    def test_config_file_and_environment(self):
        """tls-port, tls-cert and tls-key lines of a config file, and
        FILESERVER_TLS_PORT, _CERT and _KEY, as the flags."""
        conf = os.path.join(self.tmp, "tls.conf")
        port = free_port()
        with open(conf, "w") as f:
            f.write("tls-port = %d\ntls-cert = %s\ntls-key = %s\n"
                    % (port, self.certs.path("leaf.pem"),
                       self.certs.path("leaf.key")))
        s = Server(SERVER, self.root, False, ("-c", conf))
        self.addCleanup(s.stop)
        c = TLSClient(port, self.context())
        self.addCleanup(c.close)
        self.assertEqual(c.get("/a.txt").body, self.files["/a.txt"])
        port = free_port()
        s = Server(SERVER, self.root, False, env={
            "FILESERVER_TLS_PORT": str(port),
            "FILESERVER_TLS_CERT": self.certs.path("second.pem"),
            "FILESERVER_TLS_KEY": self.certs.path("second.key")})
        self.addCleanup(s.stop)
        c = TLSClient(port, self.context())
        self.addCleanup(c.close)
        self.assertEqual(c.peer_der(), self.certs.der["second"])
        self.assertEqual(c.get("/a.txt").body, self.files["/a.txt"])

    def test_listen_addresses(self):
        """The TLS port is on the addresses of the plain one: with --listen
        127.0.0.1:PORT, 127.0.0.1 only."""
        s = self.own_server("--listen", "127.0.0.1:%d" % free_port())
        c = self.tls_client(s, host="127.0.0.1")
        self.assertEqual(c.get("/a.txt").body, self.files["/a.txt"])
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("::1", s.tls_port), TIMEOUT).close()


def set_server(binary):
    global SERVER
    SERVER = binary


if __name__ == "__main__":
    sys.exit(run_mode_suite(__doc__, "TLS tests",
                            {"kernel": KernelTests, "user": UserspaceTests},
                            set_server))
