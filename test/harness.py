"""What the Python tests share: a fileserver they start and stop, found by
its log, and a free loopback port for it."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import unittest


# The loopback address the suites talk to: 127.0.0.1, or ::1 for their
# IPv6 runs (FILESERVER_TEST_HOST=::1). The server listens on both families
# by default either way.
HOST = os.environ.get("FILESERVER_TEST_HOST", "127.0.0.1")
FAMILY = socket.AF_INET6 if ":" in HOST else socket.AF_INET
# HOST as a URL or a Host field writes it
URL_HOST = "[%s]" % HOST if FAMILY == socket.AF_INET6 else HOST


def free_port():
    with socket.socket(FAMILY) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Process:
    """A child process the test started (self.proc), stopped by PID."""

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Server(Process):
    def __init__(self, binary, docroot, kernel, extra=(), user=None,
                 port=None, caps=(), env=None):
        self.port = port or free_port()
        # started as root, the server drops to nobody, who must be able to
        # read the docroot (tempfile.mkdtemp makes it 0700); a needless
        # chmod would make running servers drop their caches
        if os.stat(docroot).st_mode & 0o005 != 0o005:
            os.chmod(docroot, 0o755)
        args = [binary, "-p", str(self.port), "-d", docroot, "-v"]
        if user:
            # caps: given as ambient capabilities, as a systemd unit would
            given = ",".join("+" + c for c in caps) or "-all"
            args = ["setpriv", "--reuid=" + user, "--regid=nogroup",
                    "--clear-groups", "--inh-caps=" + given] + \
                (["--ambient-caps=" + given] if caps else []) + args
        if not kernel:
            args.append("-n")
        self.proc = subprocess.Popen(list(args) + list(extra),
                                     env=dict(os.environ, **(env or {})),
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.log = []
        self.ready = threading.Event()
        threading.Thread(target=self._read_log, daemon=True).start()
        if not self.ready.wait(10):
            self.stop()
            raise RuntimeError("server did not start: %s" % self.log)

    def _read_log(self):
        for line in self.proc.stderr:
            self.log.append(line.rstrip("\n"))
            if re.search(r"serving .* on port", line):
                self.ready.set()
        self.ready.set()        # exited: do not wait for nothing

    def stats_map_id(self):
        for line in self.log:
            m = re.search(r"BPF map stats id (\d+)", line)
            if m:
                return int(m.group(1))
        return None

    def kernel_on(self):
        return any("eBPF kernel path on" in l for l in self.log)

    def stats(self):
        """The per-CPU stats map, summed, read with bpftool."""
        out = subprocess.run(["bpftool", "-j", "map", "dump", "id",
                              str(self.stats_map_id())],
                             check=True, capture_output=True, text=True)
        total = {}
        for cpu in json.loads(out.stdout)[0]["formatted"]["values"]:
            for k, v in cpu["value"].items():
                total[k] = total.get(k, 0) + v
        return total

    def bpf_map_fds(self):
        n = 0
        for fd in os.listdir("/proc/%d/fd" % self.proc.pid):
            try:
                if "bpf-map" in os.readlink("/proc/%d/fd/%s" %
                                            (self.proc.pid, fd)):
                    n += 1
            except OSError:
                pass
        return n


def kernel_path_unavailable(binary):
    """Why binary cannot run its eBPF path here, or None if it can."""
    if os.geteuid() != 0:
        return "not running as root"
    if shutil.which("bpftool") is None:
        return "bpftool not found"
    probe = tempfile.mkdtemp()
    try:
        s = Server(binary, probe, True)
        on = s.kernel_on()
        s.stop()
    finally:
        shutil.rmtree(probe)
    if not on:
        return "the server could not load its BPF programs: " + \
            " | ".join(s.log)
    return None


# meson's exit status for a test that did not run
SKIP = 77


def run_mode_suite(doc, what, classes, set_server):
    """main() of a suite run as SUITE.py FILESERVER kernel|user: the mode's
    TestCase class (classes[mode]) against the binary, which set_server
    hands the suite first; SKIP, said loudly, when the kernel path cannot
    run here. Returns the exit status."""
    if len(sys.argv) < 3 or sys.argv[2] not in classes:
        print(doc)
        return 2
    binary, mode = sys.argv[1], sys.argv[2]
    del sys.argv[1:3]
    set_server(binary)
    if mode == "kernel":
        why = kernel_path_unavailable(binary)
        if why:
            print("SKIP: kernel-path %s not run: %s" % (what, why),
                  flush=True)
            return SKIP
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(classes[mode])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    return 0 if result.wasSuccessful() else 1


class DocrootTest(unittest.TestCase):
    """A test class with a document root of its own: root, below tmp, and
    files, path -> bytes of what put() wrote."""
    prefix = "fileserver-test-"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix=cls.prefix)
        cls.root = os.path.join(cls.tmp, "root")
        os.makedirs(cls.root)
        cls.files = {}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    @classmethod
    def put(cls, path, data):
        with open(cls.root + path, "wb") as f:
            f.write(data)
        cls.files[path] = data
