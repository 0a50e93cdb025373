#!/usr/bin/env python3
"""Integration tests: the real fileserver on loopback, on a free port.

usage: integration.py FILESERVER kernel|user

"kernel" runs the server with the eBPF path on and checks, through the
stats map, that the kernel really answers; it exits 77 (SKIP) with a loud
message when BPF is unavailable. "user" runs the same binary with -n.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import (HOST, DocrootTest, Server, free_port,
                     run_mode_suite)

SERVER = None
TIMEOUT = 2.0   # every response must arrive within this

SIZES = [0, 1, 100, 4095, 4096, 4097, 65536, 100000, 1048576 - 300,
         1048576, 1048577, 4 * 1048576]


def content(size, seed):
    """Deterministic, position-dependent bytes: a shifted or reordered
    response cannot compare equal."""
    block = bytes((i * 31 + seed) & 0xFF for i in range(251))
    return (block * (size // 251 + 1))[:size]


class Response:
    def __init__(self, status, reason, headers, raw_head, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.raw_head = raw_head
        self.body = body


class Client:
    """A raw HTTP/1.1 connection: we need byte-level control over what is
    sent and see exactly what comes back."""

    def __init__(self, port, host=HOST):
        self.sock = socket.create_connection((host, port), TIMEOUT)
        self.sock.settimeout(TIMEOUT)
        # appended to in place: a 16 MiB body in 1 MiB reads stays linear
        # (slow VMs with MALLOC_PERTURB_ made copying it a drain timeout)
        self.buf = bytearray()

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def get(self, path, method="GET", headers=()):
        self.send(request(path, method, headers))
        return self.read(head=(method == "HEAD"))

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("connection closed by server")
        self.buf += chunk

    def read(self, head=False):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        end = self.buf.index(b"\r\n\r\n")
        raw_head = bytes(self.buf[:end])
        del self.buf[:end + 4]
        lines = raw_head.decode("latin-1").split("\r\n")
        version, status, reason = lines[0].split(" ", 2)
        assert version == "HTTP/1.1", lines[0]
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            assert name.lower() not in headers, "duplicate " + name
            headers[name.lower()] = value.strip()
        length = 0 if head or status == "304" else \
            int(headers.get("content-length", 0))
        while len(self.buf) < length:
            self._fill()
        body = bytes(self.buf[:length])
        del self.buf[:length]
        return Response(int(status), reason, headers, raw_head, body)

    def closed_by_server(self):
        try:
            return self.sock.recv(1) == b""
        except OSError:
            return True


def request(path, method="GET", headers=(), version="HTTP/1.1"):
    lines = ["%s %s %s" % (method, path, version), "Host: test"]
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Base(DocrootTest):
    kernel = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        os.makedirs(os.path.join(cls.root, "dir", "sub"))
        os.makedirs(os.path.join(cls.root, "noindex"))
        for i, size in enumerate(SIZES):
            cls.put("/f%d.bin" % size, content(size, i))
        cls.put("/a.txt", b"alpha\n" * 50)
        cls.put("/b.txt", b"bravo\n" * 70)
        cls.put("/style.css", b"body{}\n")
        cls.put("/dir/index.html", b"<p>dir index</p>\n")
        cls.put("/dir/sub/deep.json", b'{"deep": true}\n')
        cls.put("/mid.bin", content(100000, 99))
        # something outside the root that must never be served
        cls.secret = os.path.join(cls.tmp, "secret.txt")
        with open(cls.secret, "wb") as f:
            f.write(b"TOP-SECRET-OUTSIDE-ROOT\n")
        os.symlink(cls.secret, os.path.join(cls.root, "link-out"))
        os.symlink(cls.tmp, os.path.join(cls.root, "linkdir"))
        os.symlink("a.txt", os.path.join(cls.root, "link-in"))
        cls.server = Server(SERVER, cls.root, cls.kernel)
        if cls.kernel and not cls.server.kernel_on():
            cls.server.stop()
            raise unittest.SkipTest("kernel path unavailable")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        super().tearDownClass()

    def client(self):
        c = Client(self.server.port)
        self.addCleanup(c.close)
        return c

    def check_file_response(self, r, path, head=False):
        data = self.files[path]
        self.assertEqual(r.status, 200, path)
        self.assertEqual(int(r.headers["content-length"]), len(data))
        self.assertEqual(r.body, b"" if head else data, path)
        self.assertRegex(r.headers["date"],
                         r"^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} "
                         r"\d\d:\d\d:\d\d GMT$")
        self.assertRegex(r.headers["etag"], r'^"[0-9a-f-]+"$')
        self.assertIn("last-modified", r.headers)
        self.assertEqual(r.headers["accept-ranges"], "bytes")
        self.assertEqual(r.headers["connection"], "keep-alive")


class Common:
    """Behaviour that must not depend on whether the kernel path is on."""

    def test_docroot_byte_exact(self):
        c = self.client()
        for path in sorted(self.files):
            first = c.get(path)
            self.check_file_response(first, path)
            second = c.get(path)       # a kernel hit where cacheable
            self.check_file_response(second, path)
            # the same header block apart from Date
            strip = lambda h: re.sub(rb"Date: [^\r]*", b"", h)
            self.assertEqual(strip(first.raw_head), strip(second.raw_head))
            head = c.get(path, "HEAD")
            self.check_file_response(head, path, head=True)
            self.assertEqual(strip(head.raw_head), strip(first.raw_head))

    def test_content_types(self):
        c = self.client()
        self.assertEqual(c.get("/style.css").headers["content-type"],
                         "text/css; charset=utf-8")
        self.assertEqual(c.get("/dir/").headers["content-type"],
                         "text/html; charset=utf-8")
        self.assertEqual(c.get("/dir/sub/deep.json").headers["content-type"],
                         "application/json")

    def test_directories(self):
        c = self.client()
        r = c.get("/dir")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.headers["location"], "/dir/")
        r = c.get("/dir/")
        self.assertEqual(r.body, self.files["/dir/index.html"])
        self.assertEqual(c.get("/noindex/").status, 403)
        self.assertEqual(c.get("/missing.txt").status, 404)

    def test_query_and_normalisation(self):
        c = self.client()
        for path in ("/a.txt?x=1", "/dir/../a.txt", "//a.txt", "/%61.txt",
                     "/./a.txt", "/dir/sub/../../a.txt#frag"):
            r = c.get(path)
            self.assertEqual(r.status, 200, path)
            self.assertEqual(r.body, self.files["/a.txt"], path)

    def test_conditional_and_range(self):
        c = self.client()
        full = c.get("/mid.bin")
        etag, lm = full.headers["etag"], full.headers["last-modified"]
        r = c.get("/mid.bin", headers=["If-None-Match: " + etag])
        self.assertEqual(r.status, 304)
        self.assertEqual(r.headers["etag"], etag)
        self.assertNotIn("content-length", r.headers)
        r = c.get("/mid.bin", headers=["If-Modified-Since: " + lm])
        self.assertEqual(r.status, 304)
        r = c.get("/mid.bin", headers=['If-None-Match: "other"'])
        self.assertEqual(r.status, 200)
        r = c.get("/mid.bin", headers=["Range: bytes=10-19"])
        self.assertEqual(r.status, 206)
        self.assertEqual(r.body, self.files["/mid.bin"][10:20])
        self.assertEqual(r.headers["content-range"], "bytes 10-19/100000")
        r = c.get("/mid.bin", headers=["Range: bytes=-5"])
        self.assertEqual(r.body, self.files["/mid.bin"][-5:])
        r = c.get("/mid.bin", headers=["Range: bytes=99990-"])
        self.assertEqual(r.body, self.files["/mid.bin"][99990:])
        r = c.get("/mid.bin", headers=["Range: bytes=200000-"])
        self.assertEqual(r.status, 416)
        self.assertEqual(r.headers["content-range"], "bytes */100000")
        r = c.get("/mid.bin", headers=["Range: bytes=0-1",
                                       'If-Range: "stale"'])
        self.assertEqual(r.status, 200)
        self.assertEqual(len(r.body), 100000)

    def test_methods_and_errors(self):
        c = self.client()
        r = c.get("/a.txt", "POST")
        self.assertEqual(r.status, 405)
        self.assertEqual(r.headers["allow"], "GET, HEAD")
        self.assertEqual(c.get("/a.txt").status, 200)    # still usable
        cases = [
            (b"BREW /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 501),
            (b"GET /a.txt HTTP/2.0\r\nHost: x\r\n\r\n", 505),
            (b"GET /a.txt HTTP/1.1\r\n\r\n", 400),
            (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
            (b"GET /a.txt HTTP/1.1\r\nHost: x\r\n" +
             b"X-Big: " + b"b" * 20000 + b"\r\n\r\n", 431),
            (b"GET /a.txt HTTP/1.1\r\nHost: x\r\n"
             b"Transfer-Encoding: gzip\r\n\r\n", 501),
            (b"GET /a.txt HTTP/1.1\r\nHost: x\r\n"
             b"Transfer-Encoding: chunked\r\n\r\nZZ\r\n", 400),
            (b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999\r\n"
             b"\r\n", 413),
            (b"\x16\x03\x01\x02\x00garbage\r\n\r\n", 400),
        ]
        for raw, status in cases:
            g = self.client()
            g.send(raw)
            r = g.read()
            self.assertEqual(r.status, status, raw[:40])
            self.assertEqual(r.headers["connection"], "close")
            self.assertTrue(g.closed_by_server())

    def test_connection_per_request(self):
        for i in range(300):
            c = Client(self.server.port)
            try:
                c.send(request("/a.txt" if i % 2 else "/b%2etxt",
                               headers=["Connection: close"]))
                r = c.read()
                self.assertEqual(r.body, self.files["/a.txt" if i % 2
                                                    else "/b.txt"], i)
                self.assertTrue(c.closed_by_server(), i)
            finally:
                c.close()

    def test_http10_closes(self):
        c = self.client()
        c.send(request("/a.txt", version="HTTP/1.0"))
        r = c.read()
        self.assertEqual(r.body, self.files["/a.txt"])
        self.assertEqual(r.headers["connection"], "close")
        self.assertTrue(c.closed_by_server())

    def test_both_families(self):
        """By default one server answers 127.0.0.1 and ::1 alike, byte for
        byte, and with the kernel path on, the kernel answers a warm
        connection of either family."""
        before = self.server.stats()["kernel_hits"] if self.kernel else 0
        seen = []
        for host in ("127.0.0.1", "::1"):
            c = Client(self.server.port, host)
            self.addCleanup(c.close)
            for i in range(3):
                r = c.get("/a.txt")
                self.check_file_response(r, "/a.txt")
                head = re.sub(rb"\r\nDate: [^\r]*", b"", r.raw_head)
                seen.append(head + r.body)
        self.assertEqual(len(set(seen)), 1, seen)
        if self.kernel:
            # the first request of each connection is userspace's
            self.assertEqual(self.server.stats()["kernel_hits"] - before, 4)

    def test_http10_keep_alive(self):
        """What ab -k sends: HTTP/1.0 with Connection: keep-alive stays
        open, gets the HTTP/1.1 keep-alive response, and in kernel mode
        every one of them is a kernel hit."""
        before = self.server.stats()["kernel_hits"] if self.kernel else 0
        c = self.client()
        for i in range(20):
            c.send(request("/a.txt", version="HTTP/1.0",
                           headers=["Connection: Keep-Alive"]))
            r = c.read()
            self.assertEqual(r.status, 200, i)
            self.assertEqual(r.body, self.files["/a.txt"], i)
            self.assertEqual(r.headers["connection"], "keep-alive", i)
        if self.kernel:
            # the first request of a connection is userspace's
            self.assertEqual(self.server.stats()["kernel_hits"] - before, 19)

    def test_alternating_hits_and_misses(self):
        """2,000 keep-alive requests alternating a cacheable path and one
        only userspace answers (percent-encoded), in order, none stalled."""
        c = self.client()
        for i in range(2000):
            path, name = ("/a.txt", "/a.txt") if i % 2 == 0 else \
                ("/b%2etxt", "/b.txt")
            c.send(request(path))
            r = c.read()      # TIMEOUT bounds each response
            self.assertEqual(r.body, self.files[name], "request %d" % i)

    def test_pipelined_in_one_write(self):
        c = self.client()
        for _ in range(100):
            c.send(request("/a.txt") + request("/b%2etxt") + request("/a.txt"))
            for name in ("/a.txt", "/b.txt", "/a.txt"):
                self.assertEqual(c.read().body, self.files[name])

    def test_split_over_three_writes(self):
        c = self.client()
        raw = request("/a.txt", headers=["User-Agent: split-test"])
        for _ in range(20):
            for part in (raw[:7], raw[7:30], raw[30:]):
                c.send(part)
                time.sleep(0.01)
            self.assertEqual(c.read().body, self.files["/a.txt"])

    def test_rewrite_and_delete(self):
        c = self.client()
        self.put("/changing.txt", b"version one\n")
        self.assertEqual(c.get("/changing.txt").body, b"version one\n")
        self.assertEqual(c.get("/changing.txt").body, b"version one\n")
        for n, how in enumerate(("in-place", "rename", "in-place")):
            new = ("version %d %s\n" % (n + 2, how)).encode()
            if how == "rename":
                tmp = self.root + "/.changing.tmp"
                with open(tmp, "wb") as f:
                    f.write(new)
                os.rename(tmp, self.root + "/changing.txt")
            else:
                with open(self.root + "/changing.txt", "wb") as f:
                    f.write(new)
            time.sleep(0.1)
            self.assertEqual(c.get("/changing.txt").body, new, how)
            self.assertEqual(c.get("/changing.txt").body, new, how)
        os.unlink(self.root + "/changing.txt")
        time.sleep(0.1)
        self.assertEqual(c.get("/changing.txt").status, 404)

    def test_directory_moved(self):
        os.makedirs(self.root + "/moving/inner")
        with open(self.root + "/moving/inner/x.txt", "wb") as f:
            f.write(b"x before\n")
        c = self.client()
        self.assertEqual(c.get("/moving/inner/x.txt").body, b"x before\n")
        self.assertEqual(c.get("/moving/inner/x.txt").body, b"x before\n")
        os.rename(self.root + "/moving", self.root + "/moved")
        time.sleep(0.1)
        self.assertEqual(c.get("/moving/inner/x.txt").status, 404)
        self.assertEqual(c.get("/moved/inner/x.txt").body, b"x before\n")
        os.makedirs(self.root + "/moving/inner")
        with open(self.root + "/moving/inner/x.txt", "wb") as f:
            f.write(b"x after\n")
        time.sleep(0.1)
        self.assertEqual(c.get("/moving/inner/x.txt").body, b"x after\n")
        self.assertEqual(c.get("/moving/inner/x.txt").body, b"x after\n")

    def test_no_escape(self):
        c = self.client()
        for path in ("/../secret.txt", "/%2e%2e/secret.txt",
                     "/..%2fsecret.txt", "/dir/../../secret.txt",
                     "/link-out", "/linkdir/secret.txt",
                     "/%2e%2e%2fsecret.txt", "/dir/%2e%2e/%2e%2e/secret.txt"):
            try:
                r = c.get(path)
            except ConnectionError:
                c = self.client()
                continue
            self.assertIn(r.status, (400, 403, 404), path)
            self.assertNotIn(b"TOP-SECRET", r.body, path)
            if r.headers.get("connection") == "close":
                c = self.client()
        # a symlink that stays inside the root is fine
        self.assertEqual(c.get("/link-in").body, self.files["/a.txt"])

    def test_bad_clients_do_not_disturb_others(self):
        good = self.client()
        self.assertEqual(good.get("/a.txt").status, 200)
        for _ in range(5):
            quitter = Client(self.server.port)
            quitter.send(request("/f4194304.bin"))
            quitter.sock.recv(1000)
            quitter.close()          # mid-response
            garbage = Client(self.server.port)
            garbage.send(os.urandom(3000))
            garbage.close()
            half = Client(self.server.port)
            half.send(b"GET /a.txt HTTP/1.1\r\nHo")
            half.close()             # mid-request
            self.assertEqual(good.get("/b.txt").body, self.files["/b.txt"])
            self.assertEqual(good.get("/a.txt").body, self.files["/a.txt"])
        self.assertTrue(self.server.alive())
        big = self.client()
        self.assertEqual(big.get("/f4194304.bin").body,
                         self.files["/f4194304.bin"])


class Limits:
    """Limits each need a server of their own."""

    def own_server(self, *extra, user=None, caps=()):
        s = Server(SERVER, self.root, self.kernel, extra, user=user,
                   caps=caps)
        self.addCleanup(s.stop)
        return s

    def test_connection_limit(self):
        s = self.own_server("--max-connections", "2")
        a, b = Client(s.port), Client(s.port)
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        # answered first, so both are surely accepted: two workers accept
        # from their own queues, not in the order the clients connected
        self.assertEqual(a.get("/a.txt").status, 200)
        self.assertEqual(b.get("/b.txt").status, 200)
        third = Client(s.port)
        self.addCleanup(third.close)
        self.assertTrue(third.closed_by_server())
        self.assertEqual(b.get("/b.txt").status, 200)
        a.close()
        time.sleep(0.1)
        again = Client(s.port)
        self.addCleanup(again.close)
        self.assertEqual(again.get("/a.txt").status, 200)
        self.assertTrue(any("connection limit (2)" in l for l in s.log))

    def test_restart_on_same_port(self):
        first = self.own_server()
        c = Client(first.port)
        self.assertEqual(c.get("/a.txt").status, 200)
        c.close()
        first.stop()
        again = Server(SERVER, self.root, self.kernel, port=first.port)
        self.addCleanup(again.stop)
        c = Client(again.port)
        self.addCleanup(c.close)
        self.assertEqual(c.get("/a.txt").status, 200)

    def test_workers_share_the_load(self):
        """--workers 3: three rings behind a SO_REUSEPORT group, one slot
        table and one cache; every worker gets connections and answers them
        right, and the counters add up."""
        s = self.own_server("--workers", "3")
        self.assertEqual(len(os.listdir("/proc/%d/task" % s.proc.pid)), 4,
                         "three workers and the signal thread")
        clients = [Client(s.port) for _ in range(48)]
        for c in clients:
            self.addCleanup(c.close)
        for i, c in enumerate(clients):
            path = ("/a.txt", "/mid.bin", "/dir/sub/deep.json")[i % 3]
            for _ in range(2):
                r = c.get(path)
                self.assertEqual(r.status, 200, path)
                self.assertEqual(r.body, self.files[path], path)
        m = self.metrics(s.port)
        opened = [m['fileserver_worker_connections_opened_total'
                    '{worker="%d"}' % i] for i in range(3)]
        # 48 connections hashed over 3 listeners: none gets nothing
        # (chance 3 * (2/3)^48, about 1e-8)
        self.assertTrue(all(n > 0 for n in opened), opened)
        self.assertEqual(sum(opened), m["fileserver_connections_opened_total"])
        self.assertEqual(m["fileserver_connections_active"], 49)
        # a response is counted once its send completes, which its worker
        # may see after the client has it: look again until all are in
        # (each look is a response too, counted from the next one on)
        total = lambda m: (m["fileserver_kernel_responses_total"] +
                           m["fileserver_user_responses_total"])
        looks = [m]
        while total(looks[-1]) < 96 and len(looks) < 20:
            time.sleep(0.05)
            looks.append(self.metrics(s.port))
        self.assertTrue(96 <= total(looks[-1]) <= 96 + len(looks) - 1,
                        [total(x) for x in looks])
        if self.kernel:
            # each connection's second request
            self.assertEqual(m["fileserver_kernel_responses_total"], 48)

    def test_port_taken_by_another_server(self):
        """SO_REUSEPORT would let a second server share the port silently:
        it must fail as it would without."""
        s = self.own_server()
        r = subprocess.run([SERVER, "-p", str(s.port), "-d", self.root, "-n"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"binding (\[::\]|0\.0\.0\.0):%d: "
                                   r"Address already in use" % s.port)
        c = Client(s.port)
        self.addCleanup(c.close)
        self.assertEqual(c.get("/a.txt").status, 200)

    def test_slow_header_timeout(self):
        s = self.own_server("--header-timeout", "1")
        slow = Client(s.port)
        self.addCleanup(slow.close)
        slow.send(b"GET /a.txt HTTP/1.1\r\n")
        slow.sock.settimeout(5)
        start = time.monotonic()
        self.assertTrue(slow.closed_by_server())
        # closed by the timeout, not at once
        self.assertGreater(time.monotonic() - start, 0.8)
        self.assertLess(time.monotonic() - start, 4)
        fast = Client(s.port)
        self.addCleanup(fast.close)
        self.assertEqual(fast.get("/a.txt").status, 200)


class Lifecycle:
    """SIGTERM drains; nothing the server made outlives it, even a SIGKILL."""

    def map_exists(self, map_id):
        return subprocess.run(["bpftool", "map", "show", "id", str(map_id)],
                              capture_output=True).returncode == 0

    def assert_bpf_gone(self, map_id):
        if map_id is None:
            return
        for _ in range(40):             # freed once the last fd closes
            if not self.map_exists(map_id):
                return
            time.sleep(0.05)
        self.fail("BPF map %d outlived the server" % map_id)

    def big_file(self):
        """A response too big to sit whole in a kernel-path socket's send
        buffer (4 MiB there), so it is still ours to send."""
        self.put("/big.bin", content(16 << 20, 7))
        self.addCleanup(os.unlink, self.root + "/big.bin")
        return "/big.bin"

    def test_sigterm_drains(self):
        big = self.big_file()
        s = self.own_server()
        map_id = s.stats_map_id()
        if self.kernel:
            self.assertTrue(self.map_exists(map_id))
        idle = Client(s.port)
        self.addCleanup(idle.close)
        self.assertEqual(idle.get("/a.txt").status, 200)
        slow = Client(s.port)
        self.addCleanup(slow.close)
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        slow.send(request(big))
        slow.buf = bytearray(slow.sock.recv(65536))
        s.proc.terminate()
        # no new connections, the idle one closed at once ...
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                socket.create_connection((HOST, s.port), 0.2).close()
                time.sleep(0.05)
            except OSError:
                break
        else:
            self.fail("still accepting after SIGTERM")
        self.assertTrue(idle.closed_by_server())
        # ... the response under way finished whole, then closed
        slow.sock.settimeout(10)
        r = slow.read()
        self.assertEqual(r.body, self.files[big])
        self.assertTrue(slow.closed_by_server())
        self.assertEqual(s.proc.wait(5), 0)
        self.assertTrue(any("draining: 1 connection(s) busy" in l for l in s.log),
                        s.log)
        self.assert_bpf_gone(map_id)

    def test_sigterm_deadline(self):
        big = self.big_file()
        s = self.own_server("--shutdown-timeout", "1")
        stuck = Client(s.port)
        self.addCleanup(stuck.close)
        stuck.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.send(request(big))                # and never read
        time.sleep(0.2)
        start = time.monotonic()
        s.proc.terminate()
        self.assertEqual(s.proc.wait(5), 0)
        self.assertLess(time.monotonic() - start, 3)
        time.sleep(0.1)                          # the log reader catches up
        self.assertTrue(any("1 connection(s) cut short" in l for l in s.log),
                        s.log)

    def wait_for(self, what, timeout=3):
        deadline = time.monotonic() + timeout
        while not what():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def test_revalidation(self):
        """A browser's revalidation of a cached file, by If-None-Match
        (the ETag, W/ of it, *) or by If-Modified-Since (the Last-Modified
        date): the kernel answers it with a 304 byte for byte userspace's,
        Date aside; what it cannot judge with certainty (another ETag, a
        list, another date) userspace does."""
        s = self.own_server()
        c = Client(s.port)
        self.addCleanup(c.close)
        first = c.get("/b.txt")
        etag, lm = first.headers["etag"], first.headers["last-modified"]
        # the same 304, from userspace (a connection's first request)
        u = Client(s.port)
        self.addCleanup(u.close)
        user_304 = u.get("/b.txt", headers=["If-None-Match: " + etag])
        self.assertEqual(user_304.status, 304)
        nodate = lambda r: re.sub(rb"\r\nDate: [^\r]*", b"", r.raw_head)
        before = s.stats() if self.kernel else {}
        for h, status, kernel in (("If-None-Match: " + etag, 304, 1),
                                  ("If-None-Match: W/" + etag, 304, 1),
                                  ("If-None-Match: *", 304, 1),
                                  ("If-Modified-Since: " + lm, 304, 1),
                                  ('If-None-Match: "other"', 200, 0),
                                  ('If-None-Match: "x", ' + etag, 304, 0),
                                  ("If-Modified-Since: Fri, 01 Jan 2100 "
                                   "00:00:00 GMT", 304, 0)):
            hits = s.stats()["kernel_hits"] if self.kernel else 0
            r = c.get("/b.txt", headers=[h])
            self.assertEqual(r.status, status, h)
            if status == 304:
                self.assertEqual(r.body, b"")
                self.assertEqual(nodate(r), nodate(user_304), h)
            else:
                self.assertEqual(r.body, self.files["/b.txt"])
            if self.kernel:
                self.assertEqual(s.stats()["kernel_hits"] - hits, kernel, h)
        if self.kernel:
            after = s.stats()
            self.assertEqual(after["kernel_not_modified"] -
                             before["kernel_not_modified"], 4)
            m = self.metrics(s.port)
            self.assertGreaterEqual(
                m['fileserver_requests_total{path="kernel",method="GET",'
                  'code="3xx"}'], 4)

    def test_error_page_and_fallback(self):
        """--error-page: a 404 answered with a file of the root, status
        kept; --fallback: a path that names nothing answered with the file
        as a 200 (a single-page app), files that exist as ever."""
        os.makedirs(self.root + "/errors", exist_ok=True)
        self.put("/errors/404.html", b"<h1>not here</h1>\n")
        self.addCleanup(os.unlink, self.root + "/errors/404.html")
        s = self.own_server("--error-page", "404=/errors/404.html",
                            "--error-page", "403=/errors/none.html")
        c = Client(s.port)
        self.addCleanup(c.close)
        for _ in range(2):
            r = c.get("/no/such/file")
            self.assertEqual((r.status, r.body),
                             (404, b"<h1>not here</h1>\n"))
            self.assertEqual(r.headers["content-type"],
                             "text/html; charset=utf-8")
            self.assertNotIn("etag", r.headers)
        r = c.get("/no/such/file", method="HEAD")
        self.assertEqual((r.status, r.headers["content-length"]), (404, "18"))
        r = c.get("/noindex/")          # its page is missing: built-in
        self.assertEqual(r.status, 403)
        self.assertIn(b"403", r.body)
        s.stop()
        s = self.own_server("--fallback", "/dir/index.html")
        before = s.stats()["kernel_hits"] if self.kernel else 0
        c = Client(s.port)
        self.addCleanup(c.close)
        for path in ("/app/route", "/app/route", "/x.js"):
            r = c.get(path)
            self.assertEqual((r.status, r.body),
                             (200, self.files["/dir/index.html"]), path)
        if self.kernel:     # what the fallback answers stays userspace's
            self.assertEqual(s.stats()["kernel_hits"], before)
        for _ in range(2):
            self.assertEqual(c.get("/a.txt").body, self.files["/a.txt"])
        if self.kernel:
            self.assertGreater(s.stats()["kernel_hits"], before)
        self.assertEqual(c.get("/noindex/").status, 403)

    def test_chunked_request_body(self):
        """A request with a chunked body (RFC 9112 7.1): the body is read
        and dropped, the request answered and the one pipelined after it
        too, however the bytes arrive, also on a connection the kernel
        path had taken; a malformed or oversized body is refused with its
        status and the connection closed."""
        c = self.client()
        for _ in range(2):      # the second is the kernel's, in kernel mode
            self.assertEqual(c.get("/a.txt").body, self.files["/a.txt"])
        head = request("/a.txt", headers=["Transfer-Encoding: chunked"])
        body = (b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n"
                b"X-Trailer: t\r\n\r\n")
        c.send(head + body + request("/b.txt"))
        self.check_file_response(c.read(), "/a.txt")
        self.check_file_response(c.read(), "/b.txt")
        # in pieces, cut inside the size line, the data and the trailer
        pieces = [head + body[:2], body[2:12], body[12:40],
                  body[40:] + request("/b.txt")]
        for p in pieces:
            c.send(p)
            time.sleep(0.05)
        self.check_file_response(c.read(), "/a.txt")
        self.check_file_response(c.read(), "/b.txt")
        for bad, status in ((b"5\r\nhelloXX\r\n", 400),
                            (b"100001\r\n", 413),     # 1 MiB + 1
                            (b"zz\r\n", 400)):
            g = self.client()
            g.send(head + bad)
            r = g.read()
            self.assertEqual(r.status, status, bad)
            self.assertTrue(g.closed_by_server(), bad)
        self.assertEqual(c.get("/a.txt").body, self.files["/a.txt"])

    def test_precompressed_variants(self):
        """FILE.gz and FILE.br beside FILE: a client that accepts them gets
        their bytes with Content-Encoding, every response for FILE carries
        Vary, Range and conditionals apply to the variant sent. The kernel
        answers the representation userspace would choose for a list of
        bare codings (what browsers send), byte for byte; q-values stay
        userspace's; a variant appearing beside a cached file is seen."""
        s = self.own_server("--precompressed", "br,gzip")
        plain, gz, br = b"v{color:red}\n" * 40, b"GZIP-BYTES", b"BR-BYTES"
        self.put("/v.css", plain)
        self.put("/v.css.gz", gz)
        self.put("/v.css.br", br)
        self.addCleanup(lambda: [os.unlink(self.root + p) for p in
                                 ("/v.css", "/v.css.gz", "/v.css.br")])
        c = Client(s.port)
        self.addCleanup(c.close)
        cases = ((None, plain, None, 1),
                 ("gzip, deflate", gz, "gzip", 1),
                 ("gzip, deflate, br, zstd", br, "br", 1),
                 ("br;q=0, gzip;q=0.5", gz, "gzip", 0),
                 ("identity", plain, None, 1))
        heads = {}
        for rnd in range(3):
            for ae, body, coding, kernel in cases:
                hits = s.stats()["kernel_hits"] if self.kernel else 0
                r = c.get("/v.css", headers=["Accept-Encoding: " + ae]
                          if ae else [])
                self.assertEqual((r.status, r.body), (200, body), ae)
                self.assertEqual(r.headers.get("content-encoding"), coding)
                self.assertEqual(r.headers.get("vary"), "Accept-Encoding")
                self.assertEqual(r.headers["content-type"],
                                 "text/css; charset=utf-8")
                # the same head, Date aside, whoever answered
                head = re.sub(rb"\r\nDate: [^\r]*", b"", r.raw_head)
                self.assertEqual(heads.setdefault(ae, head), head, ae)
                if self.kernel and rnd == 2:    # cached in round 1
                    self.assertEqual(s.stats()["kernel_hits"] - hits,
                                     kernel, ae)
        etag = r.headers["etag"]
        r = c.get("/v.css", headers=["Accept-Encoding: gzip"])
        self.assertNotEqual(r.headers["etag"], etag)
        r = c.get("/v.css", headers=["Accept-Encoding: gzip",
                                     "If-None-Match: " + r.headers["etag"]])
        self.assertEqual(r.status, 304)
        self.assertNotIn("content-encoding", r.headers)
        r = c.get("/v.css", headers=["Accept-Encoding: gzip",
                                     "Range: bytes=5-"])
        self.assertEqual((r.status, r.body), (206, gz[5:]))
        # a file the kernel answers, until a variant appears beside it
        self.put("/w.css", plain)
        self.addCleanup(os.unlink, self.root + "/w.css")
        for _ in range(3):
            r = c.get("/w.css", headers=["Accept-Encoding: gzip"])
            self.assertEqual(r.body, plain)
            self.assertNotIn("vary", r.headers)
        self.put("/w.css.gz", gz)
        self.addCleanup(os.unlink, self.root + "/w.css.gz")
        self.assertTrue(self.wait_for(
            lambda: c.get("/w.css").headers.get("vary") == "Accept-Encoding"))
        for _ in range(3):
            r = c.get("/w.css", headers=["Accept-Encoding: gzip"])
            self.assertEqual((r.body, r.headers.get("content-encoding")),
                             (gz, "gzip"))
        # off (the default): variants are plain files, and FILE is FILE
        s.stop()
        s = self.own_server()
        c2 = Client(s.port)
        self.addCleanup(c2.close)
        r = c2.get("/v.css", headers=["Accept-Encoding: gzip"])
        self.assertEqual(r.body, plain)
        self.assertNotIn("vary", r.headers)
        self.assertEqual(c2.get("/v.css.gz").body, gz)

    def test_cache_control(self):
        """--cache-control: the first rule that matches a file's path gives
        its responses' Cache-Control, the same bytes whether userspace or
        the kernel answers; no rule, no field."""
        s = self.own_server("--cache-control", "/dir/=public, max-age=60",
                            "--cache-control", "*.txt=no-cache")
        before = s.stats()["kernel_hits"] if self.kernel else 0
        c = Client(s.port)
        self.addCleanup(c.close)
        for path, want in (("/a.txt", "no-cache"),
                           ("/dir/", "public, max-age=60"),
                           ("/style.css", None)):
            seen = set()
            for _ in range(3):
                r = c.get(path)
                self.assertEqual(r.status, 200, path)
                self.assertEqual(r.headers.get("cache-control"), want, path)
                seen.add(re.sub(rb"\r\nDate: [^\r]*", b"", r.raw_head))
            self.assertEqual(len(seen), 1, seen)
        if self.kernel:
            # all but the connection's first request
            self.assertEqual(s.stats()["kernel_hits"] - before, 8)

    def test_sighup_reopens_log_and_rescans(self):
        log = os.path.join(self.tmp, "access.log")
        os.chmod(self.tmp, 0o755)   # nobody reopens the log by its path
        s = self.own_server("--access-log", log)
        c = Client(s.port)
        self.addCleanup(c.close)
        self.assertEqual(c.get("/missing-before").status, 404)
        read = lambda path: open(path).read() if os.path.exists(path) else ""
        self.assertTrue(self.wait_for(lambda: "missing-before" in read(log)))
        # logrotate's "create": rename, then a new file for the server's user
        os.rename(log, log + ".1")
        self.addCleanup(os.unlink, log + ".1")
        open(log, "w").close()
        self.addCleanup(os.unlink, log)
        if os.geteuid() == 0:
            os.chown(log, 65534, 65534)
        self.put("/new.txt", b"new file\n")
        self.addCleanup(os.unlink, self.root + "/new.txt")
        before = s.stats()["kernel_hits"] if self.kernel else 0
        s.proc.send_signal(signal.SIGHUP)
        self.assertTrue(self.wait_for(
            lambda: any("reloading" in l for l in s.log)), s.log)
        # the connection lived through it; its next miss goes to the new log
        self.assertEqual(c.get("/missing-after").status, 404)
        self.assertTrue(self.wait_for(lambda: "missing-after" in read(log)),
                        s.log)
        self.assertNotIn("missing-after", read(log + ".1"))
        # the new small file was cached by the scan: even its first request
        # is the kernel's
        self.assertEqual(c.get("/new.txt").body, b"new file\n")
        if self.kernel:
            self.assertEqual(s.stats()["kernel_hits"], before + 1)
        self.assertTrue(s.alive())

    def test_sighup_rereads_settings(self):
        """Timeouts change at once; a changed connection limit is reported,
        not taken (the command line's -p and -d win over the file)."""
        os.chmod(self.tmp, 0o755)
        conf = os.path.join(self.tmp, "reload.conf")
        with open(conf, "w") as f:
            f.write("idle-timeout = 60\n")
        s = self.own_server("-c", conf)
        idle = Client(s.port)
        self.addCleanup(idle.close)
        self.assertEqual(idle.get("/a.txt").status, 200)
        with open(conf, "w") as f:
            f.write("idle-timeout = 1\nmax-connections = 50\n")
        s.proc.send_signal(signal.SIGHUP)
        self.assertTrue(self.wait_for(
            lambda: any("need a restart" in l for l in s.log)), s.log)
        idle.sock.settimeout(4)
        self.assertTrue(idle.closed_by_server())    # after 1 s, not 60
        c = Client(s.port)
        self.addCleanup(c.close)
        self.assertEqual(c.get("/a.txt").status, 200)
        # an invalid file changes nothing, and the server keeps serving
        with open(conf, "w") as f:
            f.write("idle-timeout = soon\n")
        s.proc.send_signal(signal.SIGHUP)
        self.assertTrue(self.wait_for(
            lambda: any("settings unchanged" in l for l in s.log)), s.log)
        self.assertEqual(c.get("/a.txt").status, 200)

    def test_systemd_notify(self):
        """Type=notify: READY once serving, RELOADING and READY around a
        SIGHUP, STOPPING when a SIGTERM starts the drain."""
        os.chmod(self.tmp, 0o755)   # the server, as nobody, reaches it
        path = os.path.join(self.tmp, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        sock.bind(path)
        self.addCleanup(os.unlink, path)
        os.chmod(path, 0o777)
        sock.settimeout(5)
        s = Server(SERVER, self.root, self.kernel,
                   env={"NOTIFY_SOCKET": path})
        self.addCleanup(s.stop)
        got = [sock.recv(4096).decode()]
        s.proc.send_signal(signal.SIGHUP)
        got += [sock.recv(4096).decode(), sock.recv(4096).decode()]
        s.proc.terminate()
        got.append(sock.recv(4096).decode())
        self.assertEqual(s.proc.wait(5), 0)
        self.assertEqual(got, ["READY=1", "RELOADING=1", "READY=1",
                               "STOPPING=1"])

    def test_sigkill_leaves_nothing(self):
        s = self.own_server()
        map_id = s.stats_map_id()
        c = Client(s.port)
        self.addCleanup(c.close)
        self.assertEqual(c.get("/a.txt").status, 200)
        s.proc.kill()
        s.proc.wait(5)
        self.assert_bpf_gone(map_id)
        again = Server(SERVER, self.root, self.kernel, port=s.port)
        self.addCleanup(again.stop)
        self.assertEqual(again.kernel_on(), self.kernel)
        c = Client(again.port)
        self.addCleanup(c.close)
        for _ in range(2):
            self.assertEqual(c.get("/a.txt").body, self.files["/a.txt"])
        if self.kernel:
            self.assertGreater(again.stats()["kernel_hits"], 0)


CAP_NET_ADMIN, CAP_BPF = 12, 39


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)


class Privilege:
    """Started as root, the server gives root up once set up."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")

    def test_drops_to_nobody_and_keeps_serving(self):
        private = os.path.join(self.root, "private.txt")
        with open(private, "wb") as f:
            f.write(b"root only\n")
        os.chmod(private, 0o600)
        self.addCleanup(os.unlink, private)
        s = self.own_server()
        st = proc_status(s.proc.pid)
        self.assertEqual(st["Uid"].split(), ["65534"] * 4)
        self.assertEqual(st["Gid"].split(), ["65534"] * 4)
        self.assertEqual(st["NoNewPrivs"], "1")
        caps = int(st["CapEff"], 16)
        self.assertEqual(int(st["CapPrm"], 16), caps)
        if self.kernel:
            # SO_SNDBUFFORCE; CAP_BPF only on kernels that want it
            self.assertTrue(caps & (1 << CAP_NET_ADMIN), st["CapEff"])
            self.assertEqual(caps & ~(1 << CAP_NET_ADMIN | 1 << CAP_BPF),
                             0, st["CapEff"])
        else:
            self.assertEqual(caps, 0, st["CapEff"])
        c = Client(s.port)
        self.addCleanup(c.close)
        # a file nobody cannot read is refused, and never cached for later
        for _ in range(3):
            self.assertEqual(c.get("/private.txt").status, 403)
            self.assertEqual(c.get("/a.txt").body, self.files["/a.txt"])
        if self.kernel:
            self.assertGreater(s.stats()["kernel_hits"], 0)

    def test_user_root_keeps_root(self):
        s = self.own_server("--user", "root")
        self.assertEqual(proc_status(s.proc.pid)["Uid"].split()[1], "0")
        self.assertTrue(any("running as root" in l for l in s.log), s.log)

    def test_bad_user_or_unreadable_root(self):
        private = tempfile.mkdtemp(prefix="fileserver-private-")
        self.addCleanup(os.rmdir, private)
        for args, msg in ((["-d", self.root, "--user", "nosuchuser"],
                           "user 'nosuchuser': no such user"),
                          (["-d", private], "is not readable by uid 65534")):
            r = subprocess.run([SERVER, "-p", str(free_port())] + args,
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(msg, r.stderr)


def parse_metrics(text):
    """Prometheus text format, checked as it is parsed: every sample belongs
    to the family declared just before it, counters end in _total, and no
    family appears twice."""
    samples, families, current = {}, set(), None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name not in families, "family twice: " + name
            assert kind in ("counter", "gauge"), line
            assert (kind == "counter") == name.endswith("_total"), line
            families.add(name)
            current = name
            continue
        # whole numbers, but for the _seconds_ families
        m = re.match(r'^([a-z_]+)(\{[^}]*\})? (\d+(\.\d+)?)$', line)
        assert m, "bad sample line: " + line
        assert m.group(1) == current, "sample outside its family: " + line
        assert not m.group(4) or "_seconds" in current, line
        samples[m.group(1) + (m.group(2) or "")] = (
            float(m.group(3)) if m.group(4) else int(m.group(3)))
    return samples


class Observability:
    def metrics(self, port=None):
        c = Client(port or self.server.port)
        try:
            r = c.get("/metrics")
        finally:
            c.close()
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["content-type"].startswith("text/plain"))
        return parse_metrics(r.body.decode())

    def test_metrics_count_both_paths(self):
        before = self.metrics()
        c = self.client()
        for _ in range(3):
            self.assertEqual(c.get("/a.txt").status, 200)
        self.assertEqual(c.get("/missing-file").status, 404)
        after = self.metrics()
        kernel = after["fileserver_kernel_responses_total"] - \
            before["fileserver_kernel_responses_total"]
        user = after["fileserver_user_responses_total"] - \
            before["fileserver_user_responses_total"]
        if self.kernel:
            # /a.txt is cached at start-up: all but the connection's
            # first request (userspace's) are kernel hits
            self.assertEqual(kernel, 2)
            self.assertEqual(self.server.stats()["kernel_hits"],
                             after["fileserver_kernel_responses_total"])
            self.assertGreater(after["fileserver_cache_entries"], 0)
        else:
            self.assertEqual(kernel, 0)
        # misses of /a.txt, the 404, and the /metrics that measured
        # "before": a response is counted once its send completes, which
        # its worker may see only after another worker rendered "after"
        self.assertIn(user, ((3 - kernel) + 1, (3 - kernel) + 1 + 1))
        key = 'fileserver_requests_total{path="userspace",method="GET",code="4xx"}'
        self.assertEqual(after[key] - before.get(key, 0), 1)
        self.assertIn('fileserver_build_info{version="0.1.0",kernel_path="%s"}'
                      % ("on" if self.kernel else "off"), after)
        self.assertGreaterEqual(after["fileserver_connections_active"], 1)

    def test_metrics_port_and_access_log(self):
        log = os.path.join(self.tmp, "access.log")
        mport = free_port()
        s = self.own_server("--metrics-port", str(mport), "--access-log", log)
        c = Client(s.port)
        self.addCleanup(c.close)
        self.assertEqual(c.get("/metrics").status, 404)   # a file path here
        ua = 'evil "agent"\xe9'
        # percent-encoded: always answered by userspace, so always logged
        r = c.get("/b%2etxt", headers=["User-Agent: " + ua,
                                       "Referer: http://ref.example/"])
        self.assertEqual(r.status, 200)
        self.assertEqual(c.get("/b.txt").status, 200)
        m = self.metrics(mport)
        self.assertGreaterEqual(
            m['fileserver_requests_total{path="userspace",method="GET",code="2xx"}'], 1)
        s.stop()
        with open(log) as f:
            lines = f.read().splitlines()
        pattern = (re.escape(HOST) + r' - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d '
                   r'[+-]\d{4}\] "GET /b%%2etxt HTTP/1\.1" 200 %d '
                   r'"http://ref\.example/" "evil \\x22agent\\x22\\xE9"$'
                   % len(self.files["/b.txt"]))
        self.assertTrue(any(re.match(pattern, l) for l in lines), lines)
        self.assertTrue(any('"GET /metrics HTTP/1.1" 404 ' in l for l in lines))
        # kernel-answered or not, every request has its line
        self.assertEqual(len([l for l in lines if '"GET /b.txt ' in l]), 1,
                         lines)

    def log_lines(self, path):
        return open(path).read().splitlines() if os.path.exists(path) else []

    def test_access_log_every_request(self):
        """With --access-log, every request on a keep-alive connection has
        its line within a second, in request order, whoever answered it:
        a kernel-answered request's line is byte for byte the line
        userspace writes for the same request, time aside."""
        log = os.path.join(self.tmp, "every.log")
        s = self.own_server("--access-log", log)
        before = s.stats()["kernel_hits"] if self.kernel else 0
        c = Client(s.port)
        self.addCleanup(c.close)
        ua = ['User-Agent: agent "quoted" \xe9',
              "Referer:  http://ref.example/p?x=1 "]
        sent = []
        # the same requests twice: the first is userspace's (a connection's
        # first request always is), the second the kernel's; misses between
        for i in range(2):
            for path, method, status in (("/b.txt", "GET", 200),
                                         ("/missing", "GET", 404),
                                         ("/style.css", "HEAD", 200),
                                         ("/b.txt?v=%d" % i, "GET", 200)):
                r = c.get(path, method=method, headers=ua)
                self.assertEqual(r.status, status)
                sent.append((method, path))
        if self.kernel:
            # the second round's three cached requests, and the first
            # round's two after its first
            self.assertEqual(s.stats()["kernel_hits"] - before, 5)
        self.assertTrue(self.wait_for(
            lambda: len(self.log_lines(log)) >= len(sent), timeout=1.5),
            self.log_lines(log))
        lines = self.log_lines(log)
        self.assertEqual([tuple(l.split('"')[1].split()[:2]) for l in lines],
                         sent)
        stamp = lambda l: re.sub(r"\[[^]]*\]", "[-]", l)
        self.assertEqual(stamp(lines[0]), stamp(lines[4]))
        self.assertEqual(stamp(lines[2]), stamp(lines[6]))
        self.assertRegex(lines[0], r'^%s - - \[\d\d/[A-Z][a-z]{2}/\d{4}(:\d\d){3} '
                         r'[+-]\d{4}\] "GET /b\.txt HTTP/1\.1" 200 %d '
                         r'"http://ref\.example/p\?x=1" '
                         r'"agent \\x22quoted\\x22 \\xE9"$'
                         % (re.escape(HOST), len(self.files["/b.txt"])))
        self.assertRegex(lines[2], r'"HEAD /style\.css HTTP/1\.1" 200 0 ')


class UserspaceTests(Lifecycle, Privilege, Observability, Limits, Common, Base):
    kernel = False

    def test_no_kernel_path(self):
        self.assertTrue(any("kernel cache disabled" in l
                            for l in self.server.log))
        self.assertIsNone(self.server.stats_map_id())
        self.assertEqual(self.server.bpf_map_fds(), 0)

    def test_command_line(self):
        for args, msg in ((["--bogus"], "unrecognized option"),
                          (["-p", "0"], "invalid port"),
                          (["-p", "70000"], "invalid port"),
                          (["--cache-size", "12Q"], "invalid cache size"),
                          (["--cache-max-file", "2M"], "invalid cache max"),
                          (["-i", "nosuch0"], "no IPv4 or IPv6 address"),
                          (["--listen", "::1"], "invalid listen address"),
                          (["--listen", "[::1]:80", "-i", "lo"],
                           "--listen and --interface"),
                          (["extra"], "unexpected argument")):
            r = subprocess.run([SERVER] + args, capture_output=True,
                               text=True, timeout=5)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(msg, r.stderr, args)
        r = subprocess.run([SERVER, "-h"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        for flag in ("--port", "--document-root", "--no-kernel-cache",
                     "--verbose", "--interface", "--cache-size"):
            self.assertIn(flag, r.stdout)
        r = subprocess.run([SERVER], capture_output=True, text=True,
                           env=dict(os.environ,
                                    FILESERVER_KERNEL_PROCESSING="maybe"))
        self.assertEqual(r.returncode, 2)
        r = subprocess.run([SERVER, "-d", "/nonexistent-root"],
                           capture_output=True, text=True, timeout=5)
        self.assertEqual(r.returncode, 1)
        self.assertIn("/nonexistent-root", r.stderr)

    def check_config(self, *args, env=None, conf=None):
        """--check-config's settings, as a dict, for args, environment
        variables env and config file text conf."""
        env = dict(os.environ, **(env or {}))
        if conf is not None:
            path = os.path.join(self.tmp, "fileserver.conf")
            with open(path, "w") as f:       # removed with tmp
                f.write(conf)
            args = ("-c", path) + args
        r = subprocess.run([SERVER, "--check-config"] + list(args), env=env,
                           capture_output=True, text=True, timeout=5)
        self.assertEqual(r.returncode, 0, r.stderr)
        return dict(l.split(" = ", 1) for l in r.stdout.splitlines())

    def test_config_file_environment_and_flags(self):
        conf = ("# a comment\n\nport = 9001\ndocument-root = %s\n"
                "idle-timeout = 30\nheader-timeout = 5\n"
                "no-kernel-cache = true\ncache-size = 2M\n" % self.root)
        got = self.check_config(conf=conf)
        self.assertEqual((got["port"], got["document-root"],
                          got["idle-timeout"], got["kernel-processing"],
                          got["cache-size"]),
                         ("9001", self.root, "30", "off", str(2 << 20)))
        # the environment wins over the file, the command line over both
        got = self.check_config("--idle-timeout", "40", conf=conf,
                                env={"FILESERVER_IDLE_TIMEOUT": "20",
                                     "FILESERVER_HEADER_TIMEOUT": "7",
                                     "FILESERVER_KERNEL_PROCESSING": "on",
                                     "FILESERVER_KERNEL_PASS": "direct"})
        self.assertEqual((got["idle-timeout"], got["header-timeout"],
                          got["kernel-processing"], got["port"],
                          got["kernel-pass"]),
                         ("40", "7", "on", "9001", "direct"))
        # what --check-config prints is a config file that says the same
        again = self.check_config(conf="".join(
            "%s = %s\n" % kv for kv in got.items()))
        self.assertEqual(again, got)
        # FILESERVER_CONFIG names the file; the server runs from it alone
        port = free_port()
        path = os.path.join(self.tmp, "run.conf")
        with open(path, "w") as f:
            f.write("port = %d\ndocument-root = %s\nno-kernel-cache = on\n"
                    % (port, self.root))
        self.serves_a_txt([], dict(os.environ, FILESERVER_CONFIG=path), port)

    def test_bad_config(self):
        path = os.path.join(self.tmp, "bad.conf")
        for text, msg in (("port = 0\n", "bad.conf:1: invalid port '0'"),
                          ("\nbogus = 1\n",
                           "bad.conf:2: unknown setting 'bogus'"),
                          ("port 80\n", "bad.conf:1: expected 'name = value'"),
                          ("verbose = perhaps\n", "invalid verbose"),
                          ("kernel-pass = sometimes\n",
                           "invalid kernel pass (auto, backlog or direct) "
                           "'sometimes'")):
            with open(path, "w") as f:
                f.write(text)
            r = subprocess.run([SERVER, "-c", path, "--check-config"],
                               capture_output=True, text=True, timeout=5)
            self.assertEqual(r.returncode, 2, text)
            self.assertIn(msg, r.stderr)
        r = subprocess.run([SERVER, "-c", "/nonexistent.conf"],
                           capture_output=True, text=True, timeout=5)
        self.assertEqual(r.returncode, 2)
        self.assertIn("config file '/nonexistent.conf'", r.stderr)
        r = subprocess.run([SERVER, "--check-config", "-d", "/nonexistent"],
                           capture_output=True, text=True, timeout=5)
        self.assertEqual(r.returncode, 2)
        r = subprocess.run([SERVER, "--check-config"], capture_output=True,
                           text=True, timeout=5,
                           env=dict(os.environ, FILESERVER_PORT="x"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("FILESERVER_PORT: invalid port 'x'", r.stderr)

    def test_listen_addresses(self):
        """--listen, repeatable: each address answers, and only those (an
        explicit [::1] is IPv6 only, as nginx's listen); -i lo takes both
        of lo's addresses."""
        p4, p6 = free_port(), free_port()
        s = self.own_server("--listen", "127.0.0.1:%d" % p4,
                            "--listen", "[::1]:%d" % p6)
        for host, port in (("127.0.0.1", p4), ("::1", p6)):
            c = Client(port, host)
            self.addCleanup(c.close)
            self.assertEqual(c.get("/a.txt").body, self.files["/a.txt"])
        for host, port in (("::1", p4), ("127.0.0.1", p6),
                           ("127.0.0.1", s.port), ("::1", s.port)):
            with self.assertRaises(ConnectionRefusedError, msg=(host, port)):
                socket.create_connection((host, port), TIMEOUT).close()
        s.stop()
        s = self.own_server("-i", "lo")
        self.assertTrue(any("[::1]:%d" % s.port in l and
                            "127.0.0.1:%d" % s.port in l for l in s.log),
                        s.log)
        for host in ("127.0.0.1", "::1"):
            c = Client(s.port, host)
            self.addCleanup(c.close)
            self.assertEqual(c.get("/a.txt").body, self.files["/a.txt"])

    def test_environment_and_interface(self):
        port = free_port()
        env = dict(os.environ, FILESERVER_DOCROOT=self.root,
                   FILESERVER_INTERFACE="lo",
                   FILESERVER_KERNEL_PROCESSING="0")
        log = self.serves_a_txt(["-p", str(port)], env, port)
        self.assertIn("kernel cache disabled", log)

    def serves_a_txt(self, args, env, port):
        """A server started from args and env alone answers on port; its
        log."""
        p = subprocess.Popen([SERVER] + args, env=env,
                             stderr=subprocess.PIPE, text=True)
        try:
            for _ in range(100):
                try:
                    c = Client(port)
                    break
                except OSError:
                    time.sleep(0.05)
            self.assertEqual(c.get("/a.txt").body, self.files["/a.txt"])
            c.close()
        finally:
            p.terminate()
            p.wait(5)
        return p.stderr.read()


class KernelTests(Lifecycle, Privilege, Observability, Limits, Common, Base):
    kernel = True

    def test_access_log_ring_full_is_counted(self):
        """Kernel log records that find the ring full are not silently
        lost: every request has its line or is counted in /metrics, and
        the error log says so."""
        log = os.path.join(self.tmp, "ring-full.log")
        # 4 KiB: three records; the kernel answers a burst of pipelined
        # requests (as many as it queues at once) faster than the drain
        # wakes up, now and then
        s = self.own_server("--access-log", log, "--access-log-buffer", "4K")
        c = Client(s.port)
        self.addCleanup(c.close)
        sent = 1
        self.assertEqual(c.get("/a.txt").status, 200)
        for i in range(500):
            c.send(request("/a.txt") * 8)
            for _ in range(8):
                self.assertEqual(c.read().body, self.files["/a.txt"])
            sent += 8
            if i % 10 == 9 and s.stats().get("log_lost", 0):
                break
        lost = s.stats()["log_lost"]
        self.assertGreater(lost, 0)
        self.assertEqual(self.metrics(s.port)["fileserver_access_log_lost_total"],
                         lost)
        sent += 1   # /metrics
        self.assertTrue(self.wait_for(
            lambda: len(self.log_lines(log)) + lost >= sent, timeout=1.5))
        self.assertEqual(len(self.log_lines(log)) + lost, sent)
        self.assertTrue(self.wait_for(
            lambda: any("have no line" in l for l in s.log), timeout=2),
            s.log)

    def test_minimum_capabilities_without_root(self):
        """What the systemd unit gives: no root, three capabilities; after
        loading only CAP_NET_ADMIN is left (CAP_BPF on older kernels)."""
        os.chmod(self.tmp, 0o755)
        s = self.own_server(user="nobody",
                            caps=("bpf", "perfmon", "net_admin"))
        self.assertTrue(s.kernel_on(), s.log)
        st = proc_status(s.proc.pid)
        caps = int(st["CapEff"], 16)
        self.assertEqual(caps & ~(1 << CAP_NET_ADMIN | 1 << CAP_BPF), 0,
                         st["CapEff"])
        self.assertEqual(int(st["CapAmb"], 16), 0)
        c = Client(s.port)
        self.addCleanup(c.close)
        for _ in range(2):
            self.assertEqual(c.get("/a.txt").body, self.files["/a.txt"])
        self.assertGreater(s.stats()["kernel_hits"], 0)

    def test_bpf_refused_falls_back_once(self):
        """Without privilege the same binary serves from userspace and
        says so once."""
        os.chmod(self.tmp, 0o755)
        os.chmod(self.root, 0o755)
        s = self.own_server(user="nobody")
        c = Client(s.port)
        self.addCleanup(c.close)
        self.assertEqual(c.get("/a.txt").body, self.files["/a.txt"])
        unavailable = [l for l in s.log if "kernel path is unavailable" in l]
        self.assertEqual(len(unavailable), 1, s.log)
        self.assertFalse(s.kernel_on())

    def test_second_get_is_a_kernel_hit(self):
        c = self.client()
        self.assertEqual(c.get("/mid.bin").body, self.files["/mid.bin"])
        before = self.server.stats()
        self.assertEqual(c.get("/mid.bin").body, self.files["/mid.bin"])
        after = self.server.stats()
        self.assertEqual(after["kernel_hits"], before["kernel_hits"] + 1)
        self.assertEqual(after["user_requests"], before["user_requests"])
        self.assertGreater(after["kernel_bytes"],
                           before["kernel_bytes"] + 100000)

    def test_burst_of_new_connections(self):
        """A burst of new connections, each sending its request at once:
        many requests are queued before their socket joins the sockhash.
        Userspace answers each connection's first request and only then
        lets the socket join; none may stall, and each connection's next
        request is a kernel hit."""
        before = self.server.stats()
        for _ in range(5):
            clients = [Client(self.server.port)
                       for _ in range(50)]
            try:
                for c in clients:
                    c.send(request("/a.txt"))
                for c in clients:
                    self.assertEqual(c.read().body, self.files["/a.txt"])
                for c in clients:
                    c.send(request("/a.txt"))
                for c in clients:
                    self.assertEqual(c.read().body, self.files["/a.txt"])
            finally:
                for c in clients:
                    c.close()
        after = self.server.stats()
        self.assertEqual(after["kernel_hits"] - before["kernel_hits"], 250,
                         {k: after[k] - before[k] for k in after
                          if after[k] != before[k]})

    def mount(self, *args):
        subprocess.run(["mount"] + list(args), check=True)
        self.addCleanup(subprocess.run, ["umount", args[-1]], check=True)

    def test_preload_on_an_overlay_of_two_filesystems(self):
        """Files of an overlayfs over layers on different filesystems
        (xino off) report their layer's device, not the mount's: start-up
        caching must still find them (it skipped them all once)."""
        base = tempfile.mkdtemp(dir=self.tmp)
        lower, ufs, merged = (os.path.join(base, d)
                              for d in ("lower", "ufs", "merged"))
        for d in (lower, ufs, merged):
            os.mkdir(d)
        self.mount("-t", "tmpfs", "tmpfs", lower)
        self.mount("-t", "tmpfs", "tmpfs", ufs)
        os.mkdir(ufs + "/upper")
        os.mkdir(ufs + "/work")
        with open(lower + "/low.txt", "wb") as f:
            f.write(b"from the lower layer\n")
        self.mount("-t", "overlay", "overlay", "-o",
                   "lowerdir=%s,upperdir=%s/upper,workdir=%s/work,xino=off"
                   % (lower, ufs, ufs), merged)
        if os.stat(merged + "/low.txt").st_dev == os.stat(merged).st_dev:
            self.skipTest("this kernel's overlayfs reports one device")
        s = Server(SERVER, merged, True)
        self.addCleanup(s.stop)
        before = s.stats()
        c = Client(s.port)
        self.addCleanup(c.close)
        for _ in range(2):      # the first is userspace's
            self.assertEqual(c.get("/low.txt").body,
                             b"from the lower layer\n")
        self.assertEqual(s.stats()["kernel_hits"] - before["kernel_hits"], 1,
                         "not cached at start-up: " + " | ".join(s.log))

    def test_alternating_uses_both_paths(self):
        before = self.server.stats()
        self.test_alternating_hits_and_misses()
        after = self.server.stats()
        self.assertGreaterEqual(after["kernel_hits"] - before["kernel_hits"],
                                990)
        self.assertGreaterEqual(after["user_requests"] -
                                before["user_requests"], 1000)

    def test_how_requests_reach_userspace(self):
        """On this kernel the requests userspace answers reach it through
        the socket's backlog, never with SK_PASS (which stalls now and
        then: see conformance's stall check); --kernel-pass direct
        forces SK_PASS, and both keep order across 200 requests."""
        self.assertTrue(any("passed through the backlog" in l
                            for l in self.server.log), self.server.log)
        before = self.server.stats()
        for name, server in (("backlog", self.server),
                             ("direct", self.own_server("--kernel-pass",
                                                        "direct"))):
            start = server.stats()
            c = Client(server.port)
            self.addCleanup(c.close)
            for i in range(200):
                path, file = ("/a.txt", "/a.txt") if i % 2 == 0 else \
                    ("/b%2etxt", "/b.txt")
                self.assertEqual(c.get(path).body, self.files[file],
                                 "%s: request %d" % (name, i))
            end = server.stats()
            self.assertGreaterEqual(end["kernel_hits"] - start["kernel_hits"],
                                    99, name)
            users = end["user_requests"] - start["user_requests"]
            self.assertGreaterEqual(users, 100, name)
            self.assertEqual(end["user_direct"] - start["user_direct"],
                             users if name == "direct" else 0, name)
        self.assertTrue(any("passed directly" in l for l in server.log),
                        server.log)
        self.assertEqual(self.server.stats()["user_direct"],
                         before["user_direct"])

    def test_slow_reader_of_a_large_file(self):
        slow = self.client()
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        slow.send(request("/f4194304.bin") + request("/a.txt"))
        other = self.client()
        got = b""
        while len(got) < 1 << 20:
            got += slow.sock.recv(65536)
            time.sleep(0.005)
            self.assertEqual(other.get("/a.txt").body, self.files["/a.txt"])
        slow.buf = bytearray(got)
        self.assertEqual(slow.read().body, self.files["/f4194304.bin"])
        self.assertEqual(slow.read().body, self.files["/a.txt"])

    def test_cache_budget_and_eviction(self):
        s = self.own_server("--cache-size", "1056K")
        names = []
        for i in range(20):
            name = "/evict%d.bin" % i
            self.put(name, content(100000, 200 + i))
            names.append(name)
        c = Client(s.port)
        self.addCleanup(c.close)
        for _ in range(2):
            for name in names:
                self.assertEqual(c.get(name).body, self.files[name], name)
        fc = [int(m.group(1)) for m in
              (re.search(r"BPF map file_cache id (\d+)", l) for l in s.log)
              if m][0]
        out = subprocess.run(["bpftool", "-j", "map", "dump", "id", str(fc)],
                             check=True, capture_output=True, text=True)
        cached = sum(1 for e in json.loads(out.stdout)
                     if e["formatted"]["key"]["path"].startswith("/evict"))
        # 1056 KiB holds ten 100 kB responses at most
        self.assertGreater(cached, 0)
        self.assertLessEqual(cached, 10)

    def test_large_files_through_kernel_sockets(self):
        """Userspace's own big sends pass through the sk_msg program."""
        clients = [self.client() for _ in range(4)]
        for c in clients:
            c.send(request("/f4194304.bin"))
        for c in clients:
            self.assertEqual(c.read().body, self.files["/f4194304.bin"])


def set_server(binary):
    global SERVER
    SERVER = binary


if __name__ == "__main__":
    sys.exit(run_mode_suite(__doc__, "integration tests",
                            {"kernel": KernelTests, "user": UserspaceTests},
                            set_server))
