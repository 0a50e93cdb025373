#!/usr/bin/env python3
"""tools/fileserver-stats against the real server on loopback.

usage: stats_tool_test.py FILESERVER STATS_TOOL

Starts FILESERVER on a free loopback port with a temporary document root
(eBPF kernel path on when run as root, -n otherwise), makes a few keep-alive
requests (kernel hits when the kernel path is on), then checks
`STATS_TOOL -p PORT --once --json --interval 0.5`, the text report, the live
view (ended with SIGINT: status 0), and the messages and status 1 for a port
nobody listens on and for an HTTP server that is not a fileserver.
Exits 0 when every check passes, 1 otherwise.
"""
import http.server
import json
import os
import shutil
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from harness import Server, free_port

TIMEOUT = 5.0
BODY = b"hello from the stats tool test\n" * 4


class Checks:
    def __init__(self):
        self.failed = 0

    def check(self, ok, what, detail=""):
        print("%s: %s%s" % ("ok" if ok else "FAIL", what,
                            "" if ok or not detail else " -- %s" % detail))
        if not ok:
            self.failed += 1
        return ok


def read_response(sock, buf):
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by server")
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    length = 0
    for line in lines[1:]:
        name, value = line.split(":", 1)
        if name.strip().lower() == "content-length":
            length = int(value)
    while len(buf) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by server")
        buf += chunk
    return status, buf[:length], buf[length:]


def keep_alive_requests(port, paths):
    """GETs on one connection, one at a time; returns (status, body is
    BODY) for each."""
    statuses = []
    with socket.create_connection(("127.0.0.1", port), TIMEOUT) as s:
        s.settimeout(TIMEOUT)
        # let the server put the socket into the sockhash first, as a
        # browser's later requests would find it
        time.sleep(0.05)
        buf = b""
        for path in paths:
            s.sendall(("GET %s HTTP/1.1\r\nHost: test\r\n\r\n"
                       % path).encode())
            status, body, buf = read_response(s, buf)
            statuses.append((status, body == BODY))
    return statuses


def metric(port, name):
    with socket.create_connection(("127.0.0.1", port), TIMEOUT) as s:
        s.settimeout(TIMEOUT)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: test\r\n"
                  b"Connection: close\r\n\r\n")
        _, body, _ = read_response(s, b"")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def wait_idle(port):
    """Until the server has closed our keep-alive connection: only the
    metrics request's own connection is open. Returns how many /metrics
    requests it made, or 0 on timeout."""
    deadline = time.monotonic() + TIMEOUT
    n = 0
    while time.monotonic() < deadline:
        n += 1
        if metric(port, "fileserver_connections_active") == 1:
            return n
        time.sleep(0.05)
    return 0


def run_tool(tool, *args, timeout=30):
    return subprocess.run([tool] + list(args), capture_output=True,
                          text=True, timeout=timeout)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_json(c, tool, port, expect_kernel, user_min):
    r = run_tool(tool, "-p", str(port), "--once", "--json",
                 "--interval", "0.5")
    if not c.check(r.returncode == 0, "--once --json exits 0",
                   "status %d, stderr %r" % (r.returncode, r.stderr)):
        return
    try:
        j = json.loads(r.stdout)
    except ValueError as e:
        c.check(False, "--once --json prints one JSON object",
                "%s: %r" % (e, r.stdout))
        return
    c.check(isinstance(j, dict), "--once --json prints one JSON object")
    print(json.dumps(j, indent=2))
    keys = ["kernel_path", "uptime_seconds", "kernel_responses_per_second",
            "user_responses_per_second", "hit_ratio", "hit_ratio_total",
            "rx_bytes_per_second", "tx_bytes_per_second",
            "connections_active", "cache_entries", "cache_bytes", "passes",
            "fallbacks", "totals"]
    missing = [k for k in keys if k not in j]
    c.check(not missing, "JSON has every documented key", missing)
    totals = j.get("totals", {})
    c.check(j.get("kernel_path") == ("on" if expect_kernel else "off"),
            "kernel_path is %s" % ("on" if expect_kernel else "off"),
            j.get("kernel_path"))
    c.check(is_number(totals.get("user_responses")) and
            totals["user_responses"] >= 1, "totals.user_responses >= 1",
            totals)
    # the 404, our /metrics requests and the tool's first one (counted
    # once sent); the kernel may have handed a GET back to userspace too
    c.check(is_number(totals.get("user_responses")) and
            totals["user_responses"] >= user_min,
            "totals.user_responses >= %d (404 and /metrics requests)"
            % user_min, totals)
    c.check(is_number(j.get("connections_active")),
            "connections_active is a number", j.get("connections_active"))
    c.check(is_number(j.get("uptime_seconds")) and
            0 <= j["uptime_seconds"] < 3600, "uptime_seconds is plausible",
            j.get("uptime_seconds"))
    for k in ("kernel_responses_per_second", "user_responses_per_second",
              "rx_bytes_per_second", "tx_bytes_per_second"):
        c.check(is_number(j.get(k)) and j[k] >= 0, k + " is a rate", j.get(k))
    # nothing but the tool itself talked to the server during the interval,
    # and the tool leaves its own requests out of the rates
    c.check(j.get("user_responses_per_second") == 0 and
            j.get("kernel_responses_per_second") == 0 and
            j.get("connections_active") == 0,
            "the tool's own scrapes are not counted as traffic",
            {k: j.get(k) for k in ("user_responses_per_second",
                                   "kernel_responses_per_second",
                                   "connections_active")})
    if expect_kernel:
        c.check(is_number(totals.get("kernel_responses")) and
                totals["kernel_responses"] >= 1,
                "totals.kernel_responses >= 1", totals)
        c.check(is_number(j.get("cache_entries")) and
                j["cache_entries"] >= 1, "cache_entries >= 1",
                j.get("cache_entries"))
        c.check(is_number(j.get("cache_bytes")) and j["cache_bytes"] > 0,
                "cache_bytes > 0", j.get("cache_bytes"))
        c.check("cache_miss" in j.get("passes", {}) and
                "stale" in j.get("fallbacks", {}),
                "passes and fallbacks by reason", (j.get("passes"),
                                                   j.get("fallbacks")))
        c.check(is_number(j.get("hit_ratio_total")) and
                0 < j["hit_ratio_total"] <= 1, "hit_ratio_total in (0, 1]",
                j.get("hit_ratio_total"))
    else:
        c.check(totals.get("kernel_responses") == 0,
                "totals.kernel_responses is 0 with -n", totals)
        c.check(j.get("passes") == {} and j.get("fallbacks") == {},
                "no passes or fallbacks with -n",
                (j.get("passes"), j.get("fallbacks")))


def check_text(c, tool, port, expect_kernel):
    r = run_tool(tool, "-p", str(port), "--once", "--interval", "0.3")
    c.check(r.returncode == 0 and
            ("kernel path %s" % ("on" if expect_kernel else "off"))
            in r.stdout and "responses" in r.stdout and
            "\x1b[" not in r.stdout,
            "--once prints a plain text report",
            "status %d, stdout %r, stderr %r"
            % (r.returncode, r.stdout, r.stderr))
    print(r.stdout)


def check_live(c, tool, port):
    """The live view on a pipe: plain blocks, Ctrl-C ends it with 0."""
    p = subprocess.Popen([tool, "-p", str(port), "--interval", "0.3"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    # Ctrl-C once two blocks are out, not after a fixed time: a slow
    # machine (an emulated VM) may still be importing Python modules.
    out = ""
    deadline = time.monotonic() + 4 * TIMEOUT
    while out.count("rates over the last") < 2:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([p.stdout], [], [], left)[0]:
            break
        line = p.stdout.readline()
        if not line:
            break
        out += line
    p.send_signal(signal.SIGINT)
    try:
        rest, err = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        rest, err = p.communicate()
    out += rest
    c.check(p.returncode == 0, "live view: SIGINT exits 0",
            "status %s, stderr %r" % (p.returncode, err))
    c.check("Traceback" not in err, "live view: no traceback on SIGINT", err)
    c.check(out.count("rates over the last") >= 2 and "\x1b[" not in out,
            "live view on a pipe: appended plain blocks", out)


def check_no_server(c, tool):
    port = free_port()          # bound and released: nobody listens
    r = run_tool(tool, "-p", str(port), "--once", "--json",
                 "--interval", "0.5")
    want = "no fileserver at 127.0.0.1:%d (connection refused)" % port
    c.check(r.returncode == 1, "no server: exit status 1",
            "status %d" % r.returncode)
    c.check(want in r.stderr and ("fileserver -p %d" % port) in r.stderr
            and len(r.stderr.strip().splitlines()) == 1,
            "no server: one clear line on stderr", r.stderr)
    c.check(r.stdout == "", "no server: nothing on stdout", r.stdout)
    r = run_tool(tool, "-p", str(port))     # the live view too
    c.check(r.returncode == 1 and want in r.stderr,
            "no server, live view: status 1 and the message",
            "status %d, stderr %r" % (r.returncode, r.stderr))


class NotFound(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_error(404)

    def log_message(self, *args):
        pass


def check_other_server(c, tool):
    httpd = http.server.HTTPServer(("127.0.0.1", 0), NotFound)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        r = run_tool(tool, "-p", str(httpd.server_address[1]), "--once")
    finally:
        httpd.shutdown()
        httpd.server_close()
    c.check(r.returncode == 1 and "not a fileserver" in r.stderr,
            "another HTTP server: status 1, 'not a fileserver'",
            "status %d, stderr %r" % (r.returncode, r.stderr))


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    binary, tool = sys.argv[1], os.path.abspath(sys.argv[2])
    root = os.geteuid() == 0
    c = Checks()
    tmp = tempfile.mkdtemp(prefix="fileserver-stats-test-")
    server = None
    try:
        with open(os.path.join(tmp, "small.txt"), "wb") as f:
            f.write(BODY)
        server = Server(binary, tmp, kernel=root)
        kernel = server.kernel_on()
        print("server on port %d, pid %d, kernel path %s"
              % (server.port, server.proc.pid, "on" if kernel else "off"))
        if root and not kernel:
            print("NOTE: running as root but the eBPF kernel path is "
                  "unavailable (%s); checking the tool against the "
                  "userspace server only" % " / ".join(server.log))
        # kernel hits when the kernel path is on; the 404 is userspace's
        statuses = keep_alive_requests(server.port,
                                       ["/small.txt"] * 6 + ["/missing"])
        c.check(statuses == [(200, True)] * 6 + [(404, False)],
                "7 keep-alive GETs answered (6 x 200, 404)", statuses)
        probes = wait_idle(server.port)
        c.check(probes > 0, "the server closed the connection")
        check_json(c, tool, server.port, kernel, 1 + probes + 1)
        check_text(c, tool, server.port, kernel)
        check_live(c, tool, server.port)
        check_no_server(c, tool)
        check_other_server(c, tool)
        c.check(server.proc.poll() is None, "the server is still running")
    finally:
        if server:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("FAIL: %d check(s) failed" % c.failed if c.failed else "PASS")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
