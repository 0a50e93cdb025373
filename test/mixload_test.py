#!/usr/bin/env python3
"""tools/mixload (the bench's client for mixes wrk cannot send) against the
real server on loopback.

usage: mixload_test.py FILESERVER MIXLOAD

Starts FILESERVER -n on a free loopback port and runs MIXLOAD with the
bench's browser mix for one file: a GET with Accept-Encoding, revalidations
by If-None-Match and If-Modified-Since (304s), an HTTP/1.0 keep-alive GET
and a HEAD. MIXLOAD must count exactly the responses asked for with -n, in
the mix's proportions, with no errors or timeouts (a client that waited
for a body after a HEAD or a 304 would time out), and the server's own
counters must agree: as many HEADs and 304s as the mix sends. Then the
messages and statuses for a port nobody listens on and a bad request file.
Exits 0 when every check passes, 1 otherwise.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

from harness import HOST, URL_HOST, Server, free_port

TOTAL = 1000
CONNS = 8


def fetch(port, request):
    """All the server sends for request, which closes the connection."""
    data = b""
    with socket.create_connection((HOST, port), timeout=5) as s:
        s.sendall(request)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data.decode()
            data += chunk


def head_fields(port, path):
    """The ETag and Last-Modified the server gives path."""
    head = fetch(port, b"HEAD /%s HTTP/1.1\r\nHost: t\r\n"
                       b"Connection: close\r\n\r\n" % path.encode())
    fields = dict((m.group(1).lower(), m.group(2).strip()) for m in
                  re.finditer(r"(?m)^([A-Za-z-]+):(.*)\r$", head))
    return fields["etag"], fields["last-modified"]


def browser_mix(path, etag, last_modified):
    """The five requests of tools/bench's browser mode."""
    line = ("GET /%s HTTP/1.1\r\nHost: t\r\nUser-Agent: mixload-test\r\n"
            % path)
    return [line + "Accept-Encoding: gzip, deflate, br, zstd\r\n\r\n",
            line + "If-None-Match: %s\r\n\r\n" % etag,
            line + "If-Modified-Since: %s\r\n\r\n" % last_modified,
            "GET /%s HTTP/1.0\r\nHost: t\r\nConnection: keep-alive\r\n\r\n"
            % path,
            "HEAD /%s HTTP/1.1\r\nHost: t\r\n\r\n" % path]


def user_count(metrics, method, code):
    m = re.search(r'fileserver_requests_total\{path="userspace",'
                  r'method="%s",code="%s"\} (\d+)' % (method, code), metrics)
    return int(m.group(1)) if m else 0


def metrics_text(port):
    return fetch(port, b"GET /metrics HTTP/1.1\r\nHost: t\r\n"
                       b"Connection: close\r\n\r\n")


def main():
    binary, mixload = sys.argv[1], sys.argv[2]
    failed = []

    def check(ok, what, detail=""):
        print("%s: %s%s" % ("ok" if ok else "FAIL", what,
                            "" if ok or not detail else " -- %s" % detail))
        if not ok:
            failed.append(what)

    tmp = tempfile.mkdtemp()
    docroot = os.path.join(tmp, "www")
    os.mkdir(docroot)
    with open(os.path.join(docroot, "f.css"), "wb") as f:
        f.write(os.urandom(4096))
    reqs = os.path.join(tmp, "mix.req")
    server = Server(binary, docroot, kernel=False)
    try:
        mix = browser_mix("f.css", *head_fields(server.port, "f.css"))
        with open(reqs, "w") as f:
            f.write("".join(mix))
        before = metrics_text(server.port)
        out = subprocess.run([mixload, "-c", str(CONNS), "-n", str(TOTAL),
                              "http://%s:%d/" % (URL_HOST, server.port), reqs],
                             capture_output=True, text=True, timeout=60)
        after = metrics_text(server.port)
        print(out.stdout, end="")
        check(out.returncode == 0, "mixload exits 0", out.stderr)
        check(re.search(r"^\s*%d requests in" % TOTAL, out.stdout, re.M),
              "exactly %d responses counted" % TOTAL)
        check("Socket errors" not in out.stdout, "no errors or timeouts")
        statuses = dict((int(a), int(b)) for a, b in re.findall(
            r"(\d+) (\d+)", out.stdout.split("Statuses:")[-1]))
        # each connection stops where its share ends: within one round
        # of the mix of the exact proportions
        check(set(statuses) == {200, 304} and
              abs(statuses[200] - TOTAL * 3 // 5) <= CONNS * 3 and
              abs(statuses[304] - TOTAL * 2 // 5) <= CONNS * 2,
              "3/5 answered 200 and 2/5 304", str(statuses))
        heads = (user_count(after, "HEAD", "2xx") -
                 user_count(before, "HEAD", "2xx"))
        nm = (user_count(after, "GET", "3xx") - user_count(before, "GET", "3xx"))
        check(abs(heads - TOTAL // 5) <= CONNS, "the server answered "
              "a fifth as HEADs", "%d HEADs" % heads)
        # and the server may have answered the requests in flight at the
        # end, one per connection at most
        check(0 <= nm - statuses.get(304, 0) < CONNS,
              "the server's 304s are mixload's",
              "%d vs %s" % (nm, statuses.get(304)))

        out = subprocess.run([mixload, "-c", "2", "-d", "1",
                              "http://%s:%d/" % (URL_HOST, free_port()), reqs],
                             capture_output=True, text=True, timeout=30)
        check(out.returncode == 1 and "connect" in out.stderr,
              "nobody listening: connect errors, exit 1", out.stderr)
        with open(reqs, "w") as f:
            f.write("GET / HTTP/1.1\r\nHost: t\r\n")
        out = subprocess.run([mixload, "-c", "1", "-n", "1",
                              "http://%s:%d/" % (URL_HOST, server.port), reqs],
                             capture_output=True, text=True, timeout=30)
        check(out.returncode == 2 and out.stderr,
              "an unfinished request in the file: a message, exit 2",
              out.stderr)
    finally:
        server.stop()
        shutil.rmtree(tmp)
    print("%d check(s) failed" % len(failed) if failed else "all passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
