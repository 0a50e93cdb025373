#!/usr/bin/env python3
"""Browser test: the demo page in headless Chromium against the real server.

usage: browser_test.py FILESERVER DOCROOT

Starts FILESERVER on a free loopback port serving DOCROOT (eBPF path on when
run as root, -n otherwise), drives headless Chromium through the DevTools
protocol over its remote-debugging WebSocket (a minimal RFC 6455 client on
the standard library: no pip packages), and checks demo.html:

  * the live stats from /metrics render (#stats gets data-ready="1");
  * the comparison (#compare, with #count = 20) finishes (#results gets
    data-done="1") with two numeric medians;
  * a screenshot is saved as browser-demo.png in $MESON_BUILD_ROOT (or the
    current directory) and its path printed.

The checks are independent: all run, each prints PASS/FAIL, and the test
exits 1 if any failed. Exits 77 (SKIP) when Chromium is not installed.
"""
import base64
import hashlib
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from harness import Server

SKIP = 77
STATS_TIMEOUT = 15.0
COMPARE_TIMEOUT = 90.0
COUNT = 20


def find_chromium():
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


class Failure(Exception):
    pass


# ---- server ---------------------------------------------------------------

def check_demo_served(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /demo.html HTTP/1.1\r\nHost: t\r\n"
                  b"Connection: close\r\n\r\n")
        head = s.recv(64)
    if not head.startswith(b"HTTP/1.1 200"):
        raise Failure("server answers /demo.html with %r"
                      % head.split(b"\r\n")[0])


def stop_process(proc, group=False):
    """Stops a child we started, by its PID (or its own process group when
    it was started in a new session, for Chromium's helper processes)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass
    if group:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if proc.poll() is None:
        proc.kill()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass


# ---- minimal RFC 6455 WebSocket client -------------------------------------

class WebSocket:
    GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, url, timeout=10.0):
        u = urllib.parse.urlsplit(url)
        if u.scheme != "ws":
            raise Failure("unsupported WebSocket URL %s" % url)
        self.sock = socket.create_connection((u.hostname, u.port or 80),
                                             timeout=timeout)
        key = base64.b64encode(os.urandom(16))
        path = u.path + ("?" + u.query if u.query else "")
        self.sock.sendall(
            b"GET " + path.encode() + b" HTTP/1.1\r\n"
            b"Host: " + u.netloc.encode() + b"\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n")
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise Failure("WebSocket handshake: connection closed")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if not re.match(r"HTTP/1\.1 101\b", lines[0]):
            raise Failure("WebSocket handshake refused: %s" % lines[0])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        accept = base64.b64encode(hashlib.sha1(key + self.GUID).digest())
        if fields.get("sec-websocket-accept", "").encode() != accept:
            raise Failure("WebSocket handshake: bad Sec-WebSocket-Accept")

    def _send_frame(self, opcode, payload):
        head = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        # XOR with the repeated mask, fast for large payloads
        m = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
        masked = (int.from_bytes(payload, "big") ^ m).to_bytes(n, "big")
        self.sock.sendall(head + mask + masked)

    def send_text(self, text):
        self._send_frame(0x1, text.encode("utf-8"))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise Failure("DevTools WebSocket closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def recv_text(self):
        """The next complete text message (control frames handled)."""
        parts = []
        while True:
            b0, b1 = self._read(2)
            fin, opcode = b0 & 0x80, b0 & 0x0F
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
            if opcode == 0x8:
                raise Failure("DevTools WebSocket closed by the browser")
            if opcode == 0x9:
                self._send_frame(0xA, payload)
                continue
            if opcode == 0xA:
                continue
            parts.append(payload)
            if fin:
                return b"".join(parts).decode("utf-8")

    def settimeout(self, t):
        self.sock.settimeout(t)

    def close(self):
        try:
            self._send_frame(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()


# ---- Chrome DevTools protocol ----------------------------------------------

class Browser:
    def __init__(self, chromium):
        self.profile = tempfile.mkdtemp(prefix="fileserver-browser-")
        self.proc = None
        self.ws = None
        self.stderr = []
        self.next_id = 0
        self.session = None
        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars",
                "--user-data-dir=" + self.profile,
                "--remote-debugging-port=0", "about:blank"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE,
                                     start_new_session=True)
        try:
            url = self._devtools_url(30.0)
            threading.Thread(target=self._drain, daemon=True).start()
            self.ws = WebSocket(url)
        except BaseException:
            self.close()
            raise

    def _devtools_url(self, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stderr.fileno()
        pending = b""
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    line = line.decode("utf-8", "replace")
                    self.stderr.append(line)
                    m = re.search(r"DevTools listening on (ws://\S+)", line)
                    if m:
                        return m.group(1)
            elif self.proc.poll() is not None:
                break
        raise Failure("Chromium did not report its DevTools URL: %s"
                      % " | ".join(self.stderr[-10:]))

    def _drain(self):
        # keep the pipe from filling up; os.read on the raw fd, since
        # _devtools_url already read from it without a buffer
        fd = self.proc.stderr.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.stderr.extend(chunk.decode("utf-8", "replace").splitlines())
            del self.stderr[:-200]

    def call(self, method, params=None, timeout=30.0, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        self.ws.send_text(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("DevTools %s: no answer within %.0f s"
                              % (method, timeout))
            self.ws.settimeout(left)
            try:
                reply = json.loads(self.ws.recv_text())
            except socket.timeout:
                raise Failure("DevTools %s: no answer within %.0f s"
                              % (method, timeout)) from None
            if reply.get("id") != self.next_id:
                continue        # an event or a stale reply
            if "error" in reply:
                raise Failure("DevTools %s: %s" % (method, reply["error"]))
            return reply.get("result", {})

    def open_page(self, width, height):
        target = self.call("Target.createTarget", {"url": "about:blank"},
                           session=False)["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height,
                   "deviceScaleFactor": 1, "mobile": False})

    def evaluate(self, expr, timeout=30.0):
        r = self.call("Runtime.evaluate",
                      {"expression": expr, "returnByValue": True,
                       "awaitPromise": True}, timeout=timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            text = d.get("exception", {}).get("description") or d.get("text")
            raise Failure("JavaScript exception: %s" % text)
        return r.get("result", {}).get("value")

    def wait_for(self, expr, timeout, interval=0.2):
        """Polls expr until it is truthy; returns its last value."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.evaluate(expr)
            if value:
                return value
            time.sleep(interval)
        return value

    def navigate(self, url, timeout=15.0):
        r = self.call("Page.navigate", {"url": url})
        if r.get("errorText"):
            raise Failure("navigating to %s: %s" % (url, r["errorText"]))
        if not self.wait_for("document.readyState === 'complete' && "
                             "location.href === %s" % json.dumps(url),
                             timeout):
            raise Failure("%s did not finish loading within %.0f s"
                          % (url, timeout))

    def click(self, selector):
        """A real mouse click at the element's centre."""
        box = self.evaluate(
            "(() => { const e = document.querySelector(%s);"
            " if (!e) return null;"
            " e.scrollIntoView({block: 'center'});"
            " const r = e.getBoundingClientRect();"
            " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()"
            % json.dumps(selector))
        if not box:
            raise Failure("no element %s to click" % selector)
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent",
                      {"type": kind, "x": box["x"], "y": box["y"],
                       "button": "left", "clickCount": 1})

    def screenshot(self, path):
        height = self.evaluate(
            "Math.ceil(document.documentElement.scrollHeight)")
        width = self.evaluate("document.documentElement.clientWidth")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": int(height),
                   "deviceScaleFactor": 1, "mobile": False})
        self.evaluate("window.scrollTo(0, 0); "
                      "new Promise(r => requestAnimationFrame("
                      "() => requestAnimationFrame(r)))")
        data = self.call("Page.captureScreenshot", {"format": "png"},
                         timeout=60)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        if self.ws:
            try:
                self.call("Browser.close", session=False, timeout=5)
            except Exception:
                pass
            self.ws.close()
        stop_process(self.proc, group=True)
        shutil.rmtree(self.profile, ignore_errors=True)


# ---- the checks -------------------------------------------------------------

STATS_STATE = """(() => {
  const s = document.getElementById('stats');
  const e = document.getElementById('stats-error');
  return {ready: !!s && s.dataset.ready === '1',
          error: e && !e.hidden ? e.textContent.trim() : ''};
})()"""

RESULTS_STATE = """(() => {
  const r = document.getElementById('results');
  if (!r || r.dataset.done !== '1') return null;
  return {error: r.dataset.error || '',
          medians: Array.from(r.querySelectorAll('td.median'),
                              td => td.textContent.trim()),
          p90s: Array.from(r.querySelectorAll('td.p90'),
                           td => td.textContent.trim()),
          text: r.innerText};
})()"""


def check_stats(b):
    state = b.evaluate(STATS_STATE)
    deadline = time.monotonic() + STATS_TIMEOUT
    while not state["ready"] and time.monotonic() < deadline:
        time.sleep(0.25)
        state = b.evaluate(STATS_STATE)
    if not state["ready"]:
        raise Failure("stats never rendered within %.0f s: %s"
                      % (STATS_TIMEOUT, state["error"] or
                         "no #stats-error message shown either"))
    return "stats rendered (#stats data-ready=1)"


def check_compare(b):
    b.evaluate("(() => { const c = document.getElementById('count');"
               " c.value = '%d';"
               " c.dispatchEvent(new Event('input', {bubbles: true}));"
               " return true; })()" % COUNT)
    b.click("#compare")
    state = b.wait_for(RESULTS_STATE, COMPARE_TIMEOUT, interval=0.25)
    if not state:
        raise Failure("#results never got data-done=1 within %.0f s"
                      % COMPARE_TIMEOUT)
    if state["error"]:
        raise Failure("comparison failed: %s" % state["error"])
    medians = []
    for text in state["medians"]:
        try:
            v = float(text)
        except ValueError:
            v = float("nan")
        if v != v or v < 0 or v == float("inf"):
            raise Failure("median %r is not a number" % text)
        medians.append(v)
    if len(medians) != 2:
        raise Failure("expected 2 medians in #results, found %d: %r"
                      % (len(medians), state["text"]))
    return ("comparison of %d requests each: medians %s ms, p90 %s ms"
            % (COUNT, " / ".join(state["medians"]),
               " / ".join(state["p90s"])))


def main():
    if len(sys.argv) != 3:
        print("usage: browser_test.py FILESERVER DOCROOT", file=sys.stderr)
        return 2
    binary, docroot = sys.argv[1], sys.argv[2]
    chromium = find_chromium()
    if not chromium:
        print("SKIP: browser test not run: chromium not installed "
              "(apt-get install chromium)")
        return SKIP

    out_dir = os.environ.get("MESON_BUILD_ROOT") or os.getcwd()
    shot = os.path.abspath(os.path.join(out_dir, "browser-demo.png"))
    server = browser = None
    failures = []
    try:
        server = Server(binary, docroot, kernel=os.geteuid() == 0)
        check_demo_served(server.port)
        print("server on port %d (%s)" % (server.port, "eBPF path on"
              if server.kernel_on() else "user space only"))
        browser = Browser(chromium)
        browser.open_page(1000, 900)
        url = "http://127.0.0.1:%d/demo.html" % server.port
        browser.navigate(url)
        print("loaded", url)
        for name, check in (("stats", check_stats),
                            ("compare", check_compare)):
            try:
                print("PASS %s: %s" % (name, check(browser)))
            except Failure as e:
                failures.append("%s: %s" % (name, e))
                print("FAIL %s: %s" % (name, e))
        if not failures:
            # two more polls, so that the screenshot's chart shows the
            # comparison's burst of requests
            time.sleep(2.2)
        try:
            browser.screenshot(shot)
            print("PASS screenshot: %s" % shot)
        except (Failure, OSError) as e:
            failures.append("screenshot: %s" % e)
            print("FAIL screenshot: %s" % e)
    except (Failure, OSError, RuntimeError) as e:
        failures.append(str(e))
        print("FAIL: %s" % e)
    finally:
        if browser:
            browser.close()
        if server:
            server.stop()
    sys.stdout.flush()
    if failures:
        print("browser test failed:\n  " + "\n  ".join(failures))
        return 1
    print("browser test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
